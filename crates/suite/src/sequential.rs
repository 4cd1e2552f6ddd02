//! The `sequential` backend: one thread, no concurrency – the baseline every speedup divides.
//!
//! It runs the suite's own sequential kernels exactly as the parallel backends run them below
//! their split points, so a speedup measures the concurrency structure and nothing else.

use std::time::Instant;

use crate::backend::{
    Answer, Backend, Cell, Failure, Form, NotApplicable, Outcome, Runner, Variant, Workers, runner,
};
use crate::dnc::{fib, mergesort, nqueens};
use crate::pipeline::{Consumed, Item};
use crate::sync;
use crate::task::{Task, TaskId};

/// The baseline's name: every speedup divides its median by this backend's.
pub const NAME: &str = "sequential";

/// The one-thread baseline.
pub static BACKEND: Backend = Backend {
    name: NAME,
    about: "one thread, no concurrency: the baseline for speedups",
    variants: &[
        Variant {
            name: "reference",
            about: "the suite's sequential kernel on one thread: the baseline for speedups",
            tasks: &[
                TaskId::Mergesort,
                TaskId::Fib,
                TaskId::Nqueens,
                TaskId::Lock,
                TaskId::Semaphore,
                TaskId::Barrier,
            ],
            form: Form::Natural,
            workers: Workers::Ignored,
            setup,
        },
        Variant {
            name: "inline",
            about: "produce and consume in one loop, no queue: the cost of the work alone",
            tasks: &[TaskId::Bounded],
            form: Form::Natural,
            workers: Workers::Ignored,
            setup,
        },
    ],
    not_applicable: &[
        NotApplicable {
            tasks: &[TaskId::Scatter, TaskId::Crawl],
            reason: "one blocking request at a time measures only K x delay; fan-out backends are compared with each other",
        },
        NotApplicable {
            tasks: &[TaskId::Event, TaskId::Condition],
            reason: "waking another party needs another party: there is no one-thread version to compare with",
        },
    ],
};

/// Both variants: the task's own sequential kernel.
fn setup(cell: &Cell) -> Result<Runner, Failure> {
    match cell.task {
        Task::Mergesort(p) => runner(move |input| {
            let mut keys = input.into_keys();
            mergesort::sort(&mut keys, p.grain);
            Ok(Outcome::new(Answer::Sorted(keys)))
        }),
        Task::Fib(p) => runner(move |_| Ok(Outcome::new(Answer::Value(fib::sequential(p.n))))),
        Task::Nqueens(p) => {
            runner(move |_| Ok(Outcome::new(Answer::Value(nqueens::sequential(p.n)))))
        }
        Task::Bounded(p) => runner(move |_| {
            let epoch = Instant::now();
            let mut consumed = Consumed::default();
            (0..p.items).for_each(|seq| consumed.take(Item::new(seq, p.work, epoch), epoch));
            Ok(Outcome::new(Answer::Tally(consumed.tally)))
        }),
        // The work of the sync tasks with nobody to synchronise with: what the primitives add.
        Task::Lock(p) => runner(move |_| {
            let counter = sync::lock::reference(p.increments, p.section);
            Ok(Outcome::new(Answer::Value(counter.checksum())))
        }),
        Task::Semaphore(p) => runner(move |_| {
            let tally = sync::semaphore::reference(p.entries, p.section);
            Ok(Outcome::new(Answer::Tally(tally)))
        }),
        Task::Barrier(p) => runner(move |_| {
            Ok(Outcome::new(Answer::Value(sync::barrier::reference(
                p.width, p.phases,
            ))))
        }),
        Task::Scatter(_) | Task::Crawl(_) | Task::Event(_) | Task::Condition(_) => {
            Err(cell.unsupported())
        }
    }
}
