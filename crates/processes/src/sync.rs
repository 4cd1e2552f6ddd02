//! The sync family on processes: the classic primitives, built where processes can share them –
//! on futexes in a `memfd` that the parent and every worker map.
//!
//! Threads take their locks from `std::sync`. Processes get nothing of the kind from Rust's
//! standard library, and C's answer – a `pthread_mutex_t` marked `PTHREAD_PROCESS_SHARED`, or
//! `sem_init(&sem, 1, n)`, placed in shared memory – is a futex underneath; so are Python's
//! `multiprocessing.Lock`, `Semaphore`, `Barrier`, `Event` and `Condition`, which are POSIX
//! semaphores in shared memory. So this crate writes each primitive on the futex itself, the
//! way std writes its own Linux `Mutex` ([`crate::futex`]): a 32-bit word that every party maps,
//! changed with atomic instructions while nobody has to wait, and `futex(FUTEX_WAIT)` to sleep
//! while the word holds a given value, `futex(FUTEX_WAKE)` to wake sleepers after changing it.
//!
//! This file holds the task drivers of lock, semaphore, barrier and event – each variant's
//! parent side and worker side – and the plumbing the condition task (`condition.rs`)
//! shares with them. The primitives are in [`crate::futex`], the boards they sit on in the
//! crate's `shm` module.
//!
//! # Variants
//!
//! | task | variant | the idiom |
//! |---|---|---|
//! | lock | `futex` | a [`Mutex`] – std's Linux futex lock, Drepper's three states and a short spin – next to the counter it guards, both in shared memory |
//! | lock | `atomic` | `fetch_add` on the shared counter and the work moved out of any lock: the lock-free restructuring |
//! | semaphore | `futex` | a [`Semaphore`] whose futex word is the number of free permits |
//! | barrier | `futex` | a [`Barrier`] counting arrivals; the last one bumps the generation and wakes all |
//! | event | `futex` | an [`Event`]: a generation word that the parent sets, waking every waiter process |
//! | condition | `futex` | the textbook monitor: whose turn it is and the ball under a [`Mutex`], each side waiting on a [`Condvar`] for its turn |
//! | condition | `futex-turn` | a [`Turn`] word on a futex and the ball beside it, no monitor: the lower bound a monitor compiles down to |
//! | condition | `pipe` | the ball ping-pongs through two pipes, as with `multiprocessing.Pipe()` |
//!
//! W = `cell.workers` worker processes, started in setup, do the work; the parent (not counted)
//! resets the shared memory, starts each repetition, collects the answers and measures. In
//! `event` the parent is also the setter: it waits until the W waiters are ready, takes the time
//! and sets the event. `condition` always runs two workers, whatever W: worker 0 pings and times
//! the round trips, worker 1 pongs.
//!
//! # Shared memory
//!
//! Each task's state is a *board*, a `#[repr(C)]` structure at the start of one `memfd`,
//! followed for the barrier by the phase log and the two stencil buffers. Everything on it is an
//! atomic – the primitives' words, the `lock::Counter`'s fields, the `semaphore::Gauge` itself,
//! the cells – so another process writing it is never a data race; the suite's checkers work on
//! it unchanged. Data a primitive protects is read and written `Relaxed`, ordered by the
//! primitive's own `Acquire` and `Release`. The event carries its set time as a raw
//! `CLOCK_MONOTONIC` reading, the one clock every process shares.
//!
//! # Dead workers
//!
//! A worker that dies can leave the others asleep for good: holding the lock (or the monitor's
//! mutex), short of the barrier, owed the ball. As elsewhere in this crate the parent is the one
//! that notices – it waits on every worker's link, sees the death as end-of-file, fails the
//! repetition (the pool stays failed) – and the sleepers are killed with the pool. Where the
//! parent itself waits on shared memory (the event's setter, waiting for its waiters to be
//! ready) it sleeps on the futex at most [`PATIENCE`] at a time and then looks at the links. A
//! failure that is not a death (the barrier's phase log catching an overlap) is carried to the
//! end of the run, so that the other workers are never left at a barrier.
//!
//! [`Mutex`]: crate::futex::Mutex
//! [`Condvar`]: crate::futex::Condvar
//! [`Semaphore`]: crate::futex::Semaphore
//! [`Barrier`]: crate::futex::Barrier
//! [`Event`]: crate::futex::Event
//! [`Turn`]: crate::futex::Turn

use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use shootout_suite::sync::barrier::{self, PhaseLog};
use shootout_suite::sync::semaphore;
use shootout_suite::sync::{event, share, work};
use shootout_suite::task;
use shootout_suite::{Answer, Cell, Failure, Outcome, Runner, Tally, Task, TaskId, runner};

use crate::clock::monotonic_ns;
use crate::frame::{Dec, Enc, Link, ok};
use crate::futex::{futex_wait, futex_wake};
use crate::pool::{LinkKind, Pool, Spec};
use crate::role::{Part, Role};
use crate::shm::{BarrierBoard, EventBoard, Layout, LockBoard, SemaphoreBoard, SharedMemory};

/// The longest a parent sleeps on a futex before it checks that its workers are alive.
pub const PATIENCE: Duration = Duration::from_secs(1);

/// The worker's side of each variant (the condition's are in `condition.rs`).
pub(crate) const PARTS: &[Part] = &[
    Part {
        tasks: &[TaskId::Lock],
        variants: &["futex", "atomic"],
        serve: serve_lock,
    },
    Part {
        tasks: &[TaskId::Semaphore],
        variants: &["futex"],
        serve: serve_semaphore,
    },
    Part {
        tasks: &[TaskId::Barrier],
        variants: &["futex"],
        serve: serve_barrier,
    },
    Part {
        tasks: &[TaskId::Event],
        variants: &["futex"],
        serve: serve_event,
    },
];

// ---------------------------------------------------------------------------------------------
// sync/lock
// ---------------------------------------------------------------------------------------------

/// `futex` lock: W processes make their entries under a [`Mutex`] in shared memory, beside the
/// counter it guards – a process-shared `pthread_mutex_t`, or `multiprocessing.Lock`, without
/// the library around it.
///
/// [`Mutex`]: crate::futex::Mutex
pub fn lock_futex(cell: &Cell) -> Result<Runner, Failure> {
    lock(cell)
}

/// `atomic` lock: each entry takes a ticket with `fetch_add` on the shared count and adds its
/// work to the shared sum with another, outside any lock – the restructuring that removes the
/// lock where the state allows it. (Python has no counterpart: `multiprocessing.Value` offers
/// only its lock.)
pub fn lock_atomic(cell: &Cell) -> Result<Runner, Failure> {
    lock(cell)
}

/// Both lock variants' parent side: the workers take the idiom from the variant's name.
fn lock(cell: &Cell) -> Result<Runner, Failure> {
    if !matches!(cell.task, Task::Lock(_)) {
        return Err(cell.unsupported());
    }
    let mem = SharedMemory::for_layout::<LockBoard, AtomicU64>("shootout-lock", 0)?;
    let mut pool = start(cell, cell.workers, &mem)?;
    runner(move |_| {
        pool.run(|pool| {
            let (board, _) = view::<LockBoard>(&mem);
            board.count.store(0, Ordering::SeqCst);
            board.sum.store(0, Ordering::SeqCst);
            pool.everyone()?;
            Ok(Outcome::value(board.counter().checksum()))
        })
    })
}

/// A lock worker: its share of the entries, under the lock (`futex`) or with none (`atomic`),
/// once per repetition.
fn serve_lock(role: &Role, link: &mut Link, mut fds: Vec<OwnedFd>) -> Result<(), Failure> {
    let Task::Lock(p) = role.task else {
        return Err(role.unexpected());
    };
    let entries = match role.variant.as_str() {
        "futex" => lock_futex_worker,
        "atomic" => lock_atomic_worker,
        _ => return Err(role.unexpected()),
    };
    let mem = SharedMemory::handed_over(&mut fds)?;
    link.serve(|_| {
        entries(view(&mem).0, p, role.index, role.count);
        Ok(Some(ok()))
    })
}

/// A `futex` lock worker: its share of the entries, each one under the lock.
fn lock_futex_worker(board: &LockBoard, p: task::Lock, me: usize, workers: usize) {
    for _ in 0..share(p.increments, workers, me) {
        let _guard = board.mutex.lock();
        let mut counter = board.counter();
        counter.increment(p.section);
        board.count.store(counter.count, Ordering::Relaxed);
        board.sum.store(counter.sum, Ordering::Relaxed);
    }
}

/// An `atomic` lock worker: a ticket, then the work, then the sum, with no lock.
fn lock_atomic_worker(board: &LockBoard, p: task::Lock, me: usize, workers: usize) {
    for _ in 0..share(p.increments, workers, me) {
        let ticket = board.count.fetch_add(1, Ordering::Relaxed);
        board
            .sum
            .fetch_add(work(ticket, p.section), Ordering::Relaxed);
    }
}

// ---------------------------------------------------------------------------------------------
// sync/semaphore
// ---------------------------------------------------------------------------------------------

/// `futex` semaphore: W processes enter the section under a [`Semaphore`] of `permits` in
/// shared memory, with the suite's [`Gauge`] beside it counting who is inside – a process-shared
/// `sem_t`, or `multiprocessing.Semaphore`.
///
/// [`Semaphore`]: crate::futex::Semaphore
/// [`Gauge`]: shootout_suite::sync::semaphore::Gauge
pub fn semaphore_futex(cell: &Cell) -> Result<Runner, Failure> {
    let Task::Semaphore(p) = cell.task else {
        return Err(cell.unsupported());
    };
    let workers = cell.workers;
    let permits =
        u32::try_from(p.permits).map_err(|_| Failure::new("permits must fit a futex word"))?;
    let mem = SharedMemory::for_layout::<SemaphoreBoard, AtomicU64>("shootout-semaphore", 0)?;
    let mut pool = start(cell, workers, &mem)?;
    runner(move |_| {
        pool.run(|pool| {
            let (board, _) = view::<SemaphoreBoard>(&mem);
            board.semaphore.0.reset(permits);
            board.gauge.0.reset(p.permits, workers, p.entries);
            let mut tally = Tally::new();
            for reply in pool.everyone()? {
                tally.merge(Dec::new(&reply).tally()?);
            }
            board.gauge.0.verify(p.permits)?;
            Ok(Outcome::tally(tally))
        })
    })
}

/// A semaphore worker: its entries, each holding a permit while inside.
fn semaphore_worker(board: &SemaphoreBoard, p: task::Semaphore, me: usize, workers: usize) -> Enc {
    let gauge = &board.gauge.0;
    let mut tally = Tally::new();
    for entry in semaphore::entries_of(me, workers, p.entries) {
        let _permit = board.semaphore.0.acquire();
        gauge.enter();
        while !gauge.full() {
            std::thread::yield_now();
        }
        tally.add(semaphore::contribution(entry, p.section));
        gauge.leave();
    }
    ok().tally(&tally)
}

/// A semaphore worker process: its entries once per repetition.
fn serve_semaphore(role: &Role, link: &mut Link, mut fds: Vec<OwnedFd>) -> Result<(), Failure> {
    let Task::Semaphore(p) = role.task else {
        return Err(role.unexpected());
    };
    let mem = SharedMemory::handed_over(&mut fds)?;
    link.serve(|_| {
        let board = view(&mem).0;
        Ok(Some(semaphore_worker(board, p, role.index, role.count)))
    })
}

// ---------------------------------------------------------------------------------------------
// sync/barrier
// ---------------------------------------------------------------------------------------------

/// `futex` barrier: W processes step the stencil in shared memory, a [`Barrier`] in the same
/// memory between phases – a process-shared `pthread_barrier_t`, or `multiprocessing.Barrier`.
///
/// [`Barrier`]: crate::futex::Barrier
pub fn barrier_futex(cell: &Cell) -> Result<Runner, Failure> {
    let Task::Barrier(p) = cell.task else {
        return Err(cell.unsupported());
    };
    let workers = cell.workers;
    let parties = u32::try_from(workers).map_err(|_| Failure::new("too many workers"))?;
    let words = (p.width.checked_mul(2)).and_then(|cells| cells.checked_add(workers));
    let words = words.ok_or_else(|| Failure::new("the ring is too wide"))?;
    let mem = SharedMemory::for_layout::<BarrierBoard, AtomicU64>("shootout-barrier", words)?;
    let mut pool = start(cell, workers, &mem)?;
    runner(move |_| {
        pool.run(|pool| {
            let (board, tail) = view::<BarrierBoard>(&mem);
            let Stencil { slots, a, b } = Stencil::split(tail, workers, p.width)?;
            for (cell, value) in a.iter().chain(b).zip(
                barrier::initial(p.width)
                    .into_iter()
                    .chain(barrier::initial(p.width)),
            ) {
                cell.store(value.into_inner(), Ordering::Relaxed);
            }
            PhaseLog::new(slots).reset();
            board.barrier.reset(parties);
            pool.everyone()?;
            let cells = barrier::result(p.phases, a, b);
            Ok(Outcome::value(barrier::checksum(cells)))
        })
    })
}

/// A barrier worker: every phase, its chunk of the ring, then the barrier. After a phase-log
/// failure it skips the work but still meets every barrier, so the others are not left there;
/// the failure is its answer.
fn barrier_worker(
    board: &BarrierBoard,
    log: &PhaseLog<'_>,
    Stencil { a, b, .. }: Stencil<'_>,
    p: task::Barrier,
    me: usize,
    workers: usize,
) -> Result<Enc, Failure> {
    let mut failure = None;
    for phase in 0..p.phases {
        if failure.is_none() {
            match log.enter(me, phase) {
                Ok(()) => {
                    let (src, dst) = barrier::buffers(phase, a, b);
                    barrier::step(src, dst, barrier::chunk(p.width, workers, me), phase);
                }
                Err(overlap) => failure = Some(overlap),
            }
        }
        board.barrier.wait();
    }
    failure.map_or(Ok(ok()), Err)
}

/// A barrier worker process: maps the board and the stencil once, then steps its chunk through
/// every phase once per repetition.
fn serve_barrier(role: &Role, link: &mut Link, mut fds: Vec<OwnedFd>) -> Result<(), Failure> {
    let Task::Barrier(p) = role.task else {
        return Err(role.unexpected());
    };
    let mem = SharedMemory::handed_over(&mut fds)?;
    let (board, tail) = view::<BarrierBoard>(&mem);
    let stencil = Stencil::split(tail, role.count, p.width)?;
    // A view made once; the parent resets the slots before each repetition.
    let log = PhaseLog::new(stencil.slots);
    link.serve(|_| barrier_worker(board, &log, stencil, p, role.index, role.count).map(Some))
}

/// What follows the barrier board: W phase-log slots, then the two buffers of `width` cells.
#[derive(Clone, Copy)]
struct Stencil<'a> {
    slots: &'a [AtomicU64],
    a: &'a [AtomicU64],
    b: &'a [AtomicU64],
}

impl<'a> Stencil<'a> {
    fn split(tail: &'a [AtomicU64], workers: usize, width: usize) -> Result<Self, Failure> {
        if tail.len() / 2 < width || tail.len() - 2 * width < workers {
            return Err(Failure::new(
                "the shared memory is too small for the stencil",
            ));
        }
        let (slots, cells) = tail.split_at(workers);
        let (a, rest) = cells.split_at(width);
        Ok(Stencil {
            slots,
            a,
            b: &rest[..width],
        })
    }
}

// ---------------------------------------------------------------------------------------------
// sync/event
// ---------------------------------------------------------------------------------------------

/// `futex` event: the parent sets an [`Event`] in shared memory for W waiter processes, once a
/// round; each waiter subtracts the set time (in the same memory) from its wake-up time.
///
/// The waiters count themselves ready in a futex word too; the last one wakes the parent, which
/// sleeps on that word until the count reaches W × round.
///
/// [`Event`]: crate::futex::Event
pub fn event_futex(cell: &Cell) -> Result<Runner, Failure> {
    let Task::Event(p) = cell.task else {
        return Err(cell.unsupported());
    };
    let workers = cell.workers;
    let parties = u32::try_from(workers).map_err(|_| Failure::new("too many workers"))?;
    if u64::from(parties) * u64::from(p.rounds) > u64::from(u32::MAX) {
        return Err(Failure::new(
            "workers × rounds must fit the 32-bit futex word that counts ready waiters",
        ));
    }
    let mem = SharedMemory::for_layout::<EventBoard, AtomicU64>("shootout-event", 0)?;
    let mut pool = start(cell, workers, &mem)?;
    runner(move |_| {
        pool.run(|pool| {
            let (board, _) = view::<EventBoard>(&mem);
            board.event.reset();
            board.ready.0.store(0, Ordering::SeqCst);
            pool.broadcast(&Enc::new().finish())?;
            for round in 1..=p.rounds {
                wait_for_count(&board.ready.0, parties * round, pool)?;
                board.set_ns.store(monotonic_ns(), Ordering::Relaxed);
                board.event.set(round);
            }
            let (mut answers, mut latencies) = (Vec::new(), Vec::new());
            for reply in pool.replies()? {
                let mut reply = Dec::new(&reply);
                answers.push(reply.u64()?);
                latencies.extend(reply.u64s()?);
            }
            let answer = Answer::Value(event::agree(answers)?);
            Ok(Outcome::with_latencies(answer, latencies))
        })
    })
}

/// An event waiter: ready, wait for the next generation, note the latency and the round.
fn event_waiter(board: &EventBoard, p: task::Event, workers: u32) -> Enc {
    let mut latencies = Vec::with_capacity(p.rounds as usize);
    let (mut seen, mut answer) = (0, 0);
    while seen < p.rounds {
        // Ready for round `seen + 1`; the last waiter to say so wakes the setter.
        if board.ready.0.fetch_add(1, Ordering::SeqCst) + 1 == workers * (seen + 1) {
            futex_wake(&board.ready.0, 1);
        }
        let round = board.event.wait_past(seen);
        let set_ns = board.set_ns.load(Ordering::Relaxed);
        latencies.push(monotonic_ns().saturating_sub(set_ns));
        answer = event::fold(answer, u64::from(round));
        seen = round;
    }
    ok().u64(answer).u64s(&latencies)
}

/// An event waiter process: waits through every round once per repetition.
fn serve_event(role: &Role, link: &mut Link, mut fds: Vec<OwnedFd>) -> Result<(), Failure> {
    let Task::Event(p) = role.task else {
        return Err(role.unexpected());
    };
    let parties = u32::try_from(role.count).map_err(|_| Failure::new("too many workers"))?;
    let mem = SharedMemory::handed_over(&mut fds)?;
    link.serve(|_| Ok(Some(event_waiter(view(&mem).0, p, parties))))
}

/// Sleeps until `word` reaches `target`, checking every [`PATIENCE`] that the workers that
/// should bring it there are alive.
fn wait_for_count(word: &AtomicU32, target: u32, pool: &mut Pool) -> Result<(), Failure> {
    loop {
        let now = word.load(Ordering::SeqCst);
        if now >= target {
            return Ok(());
        }
        if futex_wait(word, now, Some(PATIENCE)) {
            pool.check()?;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Plumbing.
// ---------------------------------------------------------------------------------------------

/// Starts `workers` workers set up for `cell`, each handed the shared memory.
pub(crate) fn start(cell: &Cell, workers: usize, mem: &SharedMemory) -> Result<Pool, Failure> {
    Pool::start(Spec::each_with_fd(
        cell,
        workers,
        LinkKind::Socket,
        mem.fd(),
    )?)
}

/// The layout `B` at the start of `mem`, and the words after it.
pub(crate) fn view<B: Layout>(mem: &SharedMemory) -> (&B, &[AtomicU64]) {
    mem.view::<B, AtomicU64>()
}

#[cfg(test)]
mod tests {
    use std::thread;

    use super::*;

    /// Both lock workers on a board in a memfd, used by threads through two mappings (as
    /// processes would use them).
    #[test]
    fn lock_workers_count_every_entry_across_two_mappings() {
        let p = task::Lock {
            increments: 20_000,
            section: 2,
        };
        let expected = shootout_suite::sync::lock::reference(p.increments, p.section);
        for entries in [lock_futex_worker, lock_atomic_worker] {
            let here = SharedMemory::for_layout::<LockBoard, AtomicU64>("test", 0).unwrap();
            let there = SharedMemory::open(here.fd().try_clone_to_owned().unwrap()).unwrap();
            thread::scope(|s| {
                s.spawn(|| entries(view(&here).0, p, 0, 3));
                s.spawn(|| entries(view(&there).0, p, 1, 3));
                entries(view(&here).0, p, 2, 3);
            });
            assert_eq!(view::<LockBoard>(&there).0.counter(), expected);
            assert!(!view::<LockBoard>(&there).0.mutex.is_locked());
        }
    }
}
