//! The `sequential` backend: one thread, no concurrency – the baseline every speedup divides.
//!
//! It runs the suite's own sequential kernels exactly as the parallel backends run them below
//! their split points, so a speedup measures the concurrency structure and nothing else.

use std::sync::atomic::AtomicU64;
use std::time::Instant;

use crate::backend::{
    Answer, Backend, Cell, Failure, Form, NotApplicable, Outcome, Runner, Variant, Workers, runner,
};
use crate::dnc::{fib, mergesort, nqueens};
use crate::pipeline::{Consumed, Item};
use crate::sync;
use crate::tally::Tally;
use crate::task::{Barrier, Semaphore, Task, TaskId};

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
        // The semaphore and the barrier also pay for the self-checks every parallel backend
        // runs in its timed region, for one worker, so that a speedup leaves only the primitive.
        Task::Lock(p) => runner(move |_| {
            let counter = sync::lock::reference(p.increments, p.section);
            Ok(Outcome::new(Answer::Value(counter.checksum())))
        }),
        Task::Semaphore(p) => runner(move |_| semaphore(p)),
        Task::Barrier(p) => runner(move |_| barrier(p)),
        Task::Scatter(_) | Task::Crawl(_) | Task::Event(_) | Task::Condition(_) => {
            Err(cell.unsupported())
        }
    }
}

/// `sync/semaphore` on one thread: every entry, with the [`Gauge`] the parallel backends keep
/// around each entry (`enter`, `full`, `leave`, and `verify` at the end), for one worker.
///
/// [`Gauge`]: sync::semaphore::Gauge
fn semaphore(p: Semaphore) -> Result<Outcome, Failure> {
    let gauge = sync::semaphore::Gauge::new(p.permits, 1, p.entries);
    let mut tally = Tally::new();
    for entry in 0..p.entries {
        gauge.enter();
        // One worker fills the section by itself, so it is full at once; it is asked all the
        // same, as the parallel backends ask it on every entry.
        if !gauge.full() {
            return Err(Failure::new("one worker inside did not fill the gauge"));
        }
        tally.add(sync::semaphore::contribution(entry, p.section));
        gauge.leave();
    }
    gauge.verify(p.permits)?;
    Ok(Outcome::new(Answer::Tally(tally)))
}

/// `sync/barrier` on one thread: every phase over the whole ring, each recorded in a
/// one-slot [`PhaseLog`] as every parallel worker records (and checks) its phase.
///
/// [`PhaseLog`]: sync::barrier::PhaseLog
fn barrier(p: Barrier) -> Result<Outcome, Failure> {
    use sync::barrier::{PhaseLog, buffers, checksum, initial, result, step};
    let (a, b) = (initial(p.width), initial(p.width));
    let slots = [AtomicU64::new(0)];
    let log = PhaseLog::new(&slots);
    for phase in 0..p.phases {
        log.enter(0, phase)?;
        let (src, dst) = buffers(phase, &a[..], &b[..]);
        step(src, dst, 0..p.width, phase);
    }
    Ok(Outcome::new(Answer::Value(checksum(result(
        p.phases, &a, &b,
    )))))
}
