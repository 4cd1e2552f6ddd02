//! The `sequential` backend: one thread, no concurrency – the baseline every speedup divides.
//!
//! It runs the suite's own sequential kernels exactly as the parallel backends run them below
//! their split points, so a speedup measures the concurrency structure and nothing else.

use std::time::Instant;

use crate::backend::{Answer, Backend, Cell, Failure, Outcome, Runner, Support, Variant, runner};
use crate::dnc::{fib, mergesort, nqueens};
use crate::pipeline::{Consumed, Item};
use crate::sync;
use crate::task::{Task, TaskId};

/// The one-thread baseline.
pub struct Sequential;

const REFERENCE: &[Variant] = &[Variant {
    name: "reference",
    about: "the suite's sequential kernel on one thread: the baseline for speedups",
}];

const INLINE: &[Variant] = &[Variant {
    name: "inline",
    about: "produce and consume in one loop, no queue: the cost of the work alone",
}];

impl Backend for Sequential {
    fn name(&self) -> &'static str {
        "sequential"
    }

    fn about(&self) -> &'static str {
        "one thread, no concurrency: the baseline for speedups"
    }

    fn support(&self, task: TaskId) -> Support {
        match task {
            TaskId::Mergesort
            | TaskId::Fib
            | TaskId::Nqueens
            | TaskId::Lock
            | TaskId::Semaphore
            | TaskId::Barrier => Support::Variants(REFERENCE),
            TaskId::Bounded => Support::Variants(INLINE),
            TaskId::Scatter | TaskId::Crawl => Support::NotApplicable(
                "one blocking request at a time measures only K x delay; fan-out backends are compared with each other",
            ),
            TaskId::Event | TaskId::Condition => Support::NotApplicable(
                "waking another party needs another party: there is no one-thread version to compare with",
            ),
        }
    }

    fn setup(&self, cell: &Cell) -> Result<Runner, Failure> {
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
                Err(cell.unsupported(self))
            }
        }
    }
}
