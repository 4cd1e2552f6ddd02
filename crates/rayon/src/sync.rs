//! The sync family on rayon: a lock inside a parallel loop, the loop's own join as the barrier,
//! and why the waiting primitives have no place in the pool.
//!
//! Rayon is a fork-join library, and fork-join has one synchronisation primitive built in:
//! the join. Everything a parallel call spawned has finished when it returns. What the other
//! backends need a barrier for, rayon writes as one parallel loop per phase (`fork-join`): the
//! end of the loop is the barrier, and no thread can run ahead into the next phase because the
//! next phase has not been forked yet.
//!
//! Shared mutable state in a parallel loop is legal (a `Mutex` is `Sync`) and common, so
//! `lock` has the version people write first (`mutex`: `for_each` taking a `std::sync::Mutex`)
//! and the one rayon's documentation steers them to (`reduce`: no shared state at all – each
//! entry's ticket is its index, every thread sums its own part and the parts are added up).
//!
//! The waiting primitives – a semaphore, an event, a condition variable – block a thread until
//! another party acts. A blocked rayon worker is a core the pool counts on doing nothing, and
//! the party it waits for may be a job queued behind it on the same worker: rayon's docs warn
//! that blocking in the pool performs badly and can deadlock. Rayon bounds parallelism with
//! the pool's size (its semaphore), and a job that must wait for an event belongs on a thread
//! or an async runtime, so those three tasks are `n/a` here.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use rayon::prelude::*;
use shootout_suite::sync::{barrier, lock::Counter, work};
use shootout_suite::task::{Barrier, Lock};
use shootout_suite::wake::{Whereabouts, thread_tag};
use shootout_suite::{Answer, Cell, Failure, Outcome, Runner, Task, runner};

use crate::pool::{self, on_pool};

/// Why rayon does not run `sync/semaphore`.
pub const SEMAPHORE_NOT_APPLICABLE: &str = "a permit wait blocks a pool thread (rayon warns \
     against blocking in the pool); rayon bounds parallelism by the pool's size instead";

/// Why rayon does not run `sync/event` and `sync/condition`.
pub const WAIT_NOT_APPLICABLE: &str = "waiting for another party blocks a pool thread and can \
     deadlock when that party is a job queued behind it; use threads or an async runtime";

/// `lock`, `mutex`: a parallel loop over the entries, each taking a `std::sync::Mutex`.
///
/// The first thing people write when a parallel loop must update shared state. Every pool
/// thread contends for the one lock, so the loop is as parallel as its critical section allows.
pub fn lock_mutex(p: Lock) -> u64 {
    let counter = Mutex::new(Counter::default());
    (0..p.increments).into_par_iter().for_each(|_| {
        counter
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .increment(p.section);
    });
    counter
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner)
        .checksum()
}

/// `lock`, `reduce`: no lock – entry `t`'s contribution computed from its index, the parts
/// summed by `reduce`.
///
/// What rayon's design asks for: instead of serialising threads on shared state, give each
/// thread its own and combine at the join. It gives the same answer because the `t`-th entry
/// of a correct lock always sees `count = t`.
pub fn lock_reduce(p: Lock) -> u64 {
    let sum = (0..p.increments)
        .into_par_iter()
        .map(|ticket| work(ticket, p.section))
        .reduce(|| 0, u64::wrapping_add);
    Counter {
        count: p.increments,
        sum,
    }
    .checksum()
}

/// `barrier`, `fork-join`: one parallel loop over the `workers` chunks per phase.
///
/// The loop's join is the barrier between phases. The phase log still checks it: a chunk
/// records its phase as it starts, and no chunk of the last phase may still be running.
pub fn barrier_fork_join(p: Barrier, workers: usize) -> Result<Outcome, Failure> {
    let (a, b) = (barrier::initial(p.width), barrier::initial(p.width));
    let slots: Vec<AtomicU64> = (0..workers).map(|_| AtomicU64::new(0)).collect();
    let log = barrier::PhaseLog::new(&slots);
    // The thread each chunk ran on in each phase (chunk-major): did the W parties really run
    // at once, or did one pool thread run several chunks of a phase?
    let phases = p.phases as usize;
    let ran_on: Vec<AtomicU64> = (0..workers * phases).map(|_| AtomicU64::new(0)).collect();
    for phase in 0..p.phases {
        let (src, dst) = barrier::buffers(phase, &a[..], &b[..]);
        (0..workers).into_par_iter().try_for_each(|w| {
            log.enter(w, phase)?;
            ran_on[w * phases + phase as usize].store(thread_tag(), Ordering::Relaxed);
            barrier::step(src, dst, barrier::chunk(p.width, workers, w), phase);
            Ok::<(), Failure>(())
        })?;
    }
    let answer = barrier::checksum(barrier::result(p.phases, &a, &b));
    let parties = ran_on
        .chunks(phases.max(1))
        .map(|party| party.iter().map(|t| t.load(Ordering::Relaxed)).collect())
        .collect();
    Ok(Outcome::value(answer).placed(Whereabouts::Phases(parties)))
}

// ---------------------------------------------------------------------------------------------
// Setup: each variant on a pool of W threads.
// ---------------------------------------------------------------------------------------------

/// Sets up lock's `mutex`: [`lock_mutex`] on the cell's pool.
pub fn setup_mutex(cell: &Cell) -> Result<Runner, Failure> {
    setup_lock(cell, lock_mutex)
}

/// Sets up lock's `reduce`: [`lock_reduce`] on the cell's pool.
pub fn setup_reduce(cell: &Cell) -> Result<Runner, Failure> {
    setup_lock(cell, lock_reduce)
}

/// A lock runner: `lock(p)` on the cell's pool, its checksum the answer.
fn setup_lock(cell: &Cell, lock: impl Fn(Lock) -> u64 + Send + 'static) -> Result<Runner, Failure> {
    let p: Lock = cell.params()?;
    on_pool(cell.workers, move |_| Answer::Value(lock(p)))
}

/// Sets up barrier's `fork-join`: [`barrier_fork_join`] on the cell's pool.
pub fn setup_fork_join(cell: &Cell) -> Result<Runner, Failure> {
    let (Task::Barrier(p), workers) = (cell.task, cell.workers) else {
        return Err(cell.unsupported());
    };
    let pool = pool::build(workers)?;
    runner(move |_| pool.install(|| barrier_fork_join(p, workers)))
}
