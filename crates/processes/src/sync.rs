//! The sync family on processes: the classic primitives, built where processes can share them –
//! on futexes in a `memfd` that the parent and every worker map.
//!
//! Threads take their locks from `std::sync`. Processes get nothing of the kind from Rust's
//! standard library, and C's answer – a `pthread_mutex_t` marked `PTHREAD_PROCESS_SHARED`, or
//! `sem_init(&sem, 1, n)`, placed in shared memory – is a futex underneath; so are Python's
//! `multiprocessing.Lock`, `Semaphore`, `Barrier`, `Event` and `Condition`, which are POSIX
//! semaphores in shared memory. So this file writes each primitive on the futex itself, the way
//! std writes its own Linux `Mutex`: a 32-bit word that every party maps, changed with atomic
//! instructions while nobody has to wait, and `futex(FUTEX_WAIT)` to sleep while the word holds
//! a given value, `futex(FUTEX_WAKE)` to wake sleepers after changing it. The futexes are shared
//! ones (no `FUTEX_PRIVATE_FLAG`): the kernel keys them by the `memfd`'s page and offset, so
//! processes that mapped it at different addresses meet on the same word.
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
//! mutex), short of the barrier, owed the ball. As elsewhere in this crate the parent is the one that notices – it
//! waits on every worker's link, sees the death as end-of-file, fails the repetition (the pool
//! stays failed) – and the sleepers are killed with the pool. Where the parent itself waits on
//! shared memory (the event's setter, waiting for its waiters to be ready) it sleeps on the futex
//! at most [`PATIENCE`] at a time and then looks at the links. A failure that is not a death (the
//! barrier's phase log catching an overlap) is carried to the end of the run, so that the other
//! workers are never left at a barrier.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rustix::pipe::PipeFlags;
use rustix::thread::futex;
use shootout_suite::sync::barrier::{self, PhaseLog};
use shootout_suite::sync::lock::Counter;
use shootout_suite::sync::semaphore::{self, Gauge};
use shootout_suite::sync::{condition, event, share, work};
use shootout_suite::task;
use shootout_suite::{Answer, Cell, Failure, Outcome, Runner, Tally, Task, runner};

use crate::shm::SharedMemory;
use crate::worker::{Dec, Enc, Family, Link, LinkKind, Pool, Spec, monotonic_ns, nanos, ok};

/// The longest a parent sleeps on a futex before it checks that its workers are alive.
pub const PATIENCE: Duration = Duration::from_secs(1);

// ---------------------------------------------------------------------------------------------
// The primitives: a futex word each, in memory that processes share.
// ---------------------------------------------------------------------------------------------

/// A mutual-exclusion lock on one futex word, which may live in shared memory: std's Linux
/// `Mutex`, algorithm for algorithm – the three-state mutex of Ulrich Drepper's "Futexes Are
/// Tricky" (in its final form, with `xchg`), which glibc's low-level lock is too, plus std's
/// short spin before sleeping. So the only difference from `threads`' `std-mutex` variant is
/// that this word lies in memory that processes share.
///
/// The word is 0 when unlocked, 1 when locked, 2 when locked and someone may be asleep on it.
/// Locking a free mutex is one compare-exchange and unlocking one nobody waits for is one
/// decrement: no system call without contention. A contender that finds the lock held first
/// spins, as std does: up to a hundred reads (each with [`std::hint::spin_loop`]) while the word
/// says locked-and-uncontended, since a short section is likely over before a sleep would pay
/// off; it stops early once the lock is free or someone already sleeps. Then it swaps in 2
/// before it sleeps, so the holder's unlock sees 2, stores 0 and wakes one sleeper; the woken
/// one spins and swaps in 2 again (it cannot know whether others sleep too), which costs at most
/// one spare wake-up.
#[derive(Debug, Default)]
#[repr(C)]
pub struct Mutex {
    state: AtomicU32,
}

const UNLOCKED: u32 = 0;
const LOCKED: u32 = 1;
const CONTENDED: u32 = 2;
/// How many times a contender reads a held lock before it sleeps: std's number.
const SPINS: u32 = 100;

impl Mutex {
    /// An unlocked mutex (zero-filled shared memory is one too).
    pub const fn new() -> Mutex {
        Mutex {
            state: AtomicU32::new(UNLOCKED),
        }
    }

    /// Waits until the lock is free and takes it; dropping the guard releases it.
    pub fn lock(&self) -> MutexGuard<'_> {
        self.acquire();
        MutexGuard { mutex: self }
    }

    fn acquire(&self) {
        if self
            .state
            .compare_exchange(UNLOCKED, LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.acquire_contended();
        }
    }

    /// std's `lock_contended`: spin, try once more while nobody sleeps, then sleep on 2.
    #[cold]
    fn acquire_contended(&self) {
        let mut state = self.spin();
        if state == UNLOCKED {
            match self.state.compare_exchange(
                UNLOCKED,
                LOCKED,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(now) => state = now,
            }
        }
        loop {
            // Marking the lock contended may take it: then it must be unlocked as contended
            // too, which costs a spare wake-up at most.
            if state != CONTENDED && self.state.swap(CONTENDED, Ordering::Acquire) == UNLOCKED {
                return;
            }
            futex_wait(&self.state, CONTENDED, None);
            state = self.spin();
        }
    }

    /// Reads the word while it says locked-and-uncontended, at most [`SPINS`] times; returns
    /// what it read last.
    fn spin(&self) -> u32 {
        let mut left = SPINS;
        loop {
            let state = self.state.load(Ordering::Relaxed);
            if state != LOCKED || left == 0 {
                return state;
            }
            std::hint::spin_loop();
            left -= 1;
        }
    }

    fn unlock(&self) {
        if self.state.fetch_sub(1, Ordering::Release) != LOCKED {
            self.state.store(UNLOCKED, Ordering::Release);
            futex_wake(&self.state, 1);
        }
    }
}

/// Holds a [`Mutex`] locked until dropped.
#[derive(Debug)]
pub struct MutexGuard<'a> {
    mutex: &'a Mutex,
}

impl Drop for MutexGuard<'_> {
    fn drop(&mut self) {
        self.mutex.unlock();
    }
}

/// A condition variable on one futex word, which may live in shared memory: std's Linux
/// `Condvar`, algorithm for algorithm, which is also what a `pthread_cond_t` marked
/// `PTHREAD_PROCESS_SHARED` and `multiprocessing.Condition` come down to.
///
/// The word is a sequence number. Notifying bumps it and wakes one sleeper (or all). Waiting
/// reads it *before* unlocking the mutex, unlocks, and sleeps only while the word still holds
/// what was read: a notification between the unlock and the sleep has changed the word, so the
/// `FUTEX_WAIT` returns at once and nothing is missed. Wake-ups may be spurious, as with every
/// condition variable: a waiter checks its condition again under the lock.
#[derive(Debug, Default)]
#[repr(C)]
pub struct Condvar {
    sequence: AtomicU32,
}

impl Condvar {
    /// A condition variable nobody waits on (zero-filled shared memory is one too).
    pub const fn new() -> Condvar {
        Condvar {
            sequence: AtomicU32::new(0),
        }
    }

    /// Wakes one waiter, if any.
    pub fn notify_one(&self) {
        self.sequence.fetch_add(1, Ordering::Relaxed);
        futex_wake(&self.sequence, 1);
    }

    /// Wakes every waiter.
    pub fn notify_all(&self) {
        self.sequence.fetch_add(1, Ordering::Relaxed);
        futex_wake(&self.sequence, i32::MAX as u32);
    }

    /// Unlocks `guard`'s mutex and sleeps until notified (or spuriously woken), then locks it
    /// again.
    pub fn wait<'a>(&self, guard: MutexGuard<'a>) -> MutexGuard<'a> {
        let mutex = guard.mutex;
        let sequence = self.sequence.load(Ordering::Relaxed);
        drop(guard);
        futex_wait(&self.sequence, sequence, None);
        mutex.lock()
    }
}

/// A counting semaphore on one futex word, which may live in shared memory: the word is the
/// number of free permits, as in glibc's `sem_t` – what `sem_init(&sem, 1, n)` gives C, and
/// `multiprocessing.Semaphore` gives Python.
///
/// Acquiring takes a permit with a compare-exchange while there is one, and otherwise sleeps
/// while the count is zero; releasing adds one back and wakes one sleeper, but only if the
/// `sleepers` count says there is one, so the uncontended path makes no system call. (glibc
/// keeps its sleeper count in the high half of a 64-bit word; two words do the same job as long
/// as both sides order them `SeqCst` around the sleep: either the releaser sees the sleeper, or
/// the sleeper's `FUTEX_WAIT` sees the new permit and does not sleep.)
#[derive(Debug, Default)]
#[repr(C)]
pub struct Semaphore {
    permits: AtomicU32,
    sleepers: AtomicU32,
}

impl Semaphore {
    /// A semaphore of `permits` permits.
    pub const fn new(permits: u32) -> Semaphore {
        Semaphore {
            permits: AtomicU32::new(permits),
            sleepers: AtomicU32::new(0),
        }
    }

    /// Readies the semaphore with `permits` permits (for one in shared memory, while unused).
    pub fn reset(&self, permits: u32) {
        self.sleepers.store(0, Ordering::SeqCst);
        self.permits.store(permits, Ordering::SeqCst);
    }

    /// Waits for a permit and takes it; dropping the permit gives it back.
    pub fn acquire(&self) -> Permit<'_> {
        let mut free = self.permits.load(Ordering::Relaxed);
        loop {
            if free == 0 {
                self.sleepers.fetch_add(1, Ordering::SeqCst);
                futex_wait(&self.permits, 0, None);
                self.sleepers.fetch_sub(1, Ordering::SeqCst);
                free = self.permits.load(Ordering::Relaxed);
                continue;
            }
            match self.permits.compare_exchange_weak(
                free,
                free - 1,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Permit { semaphore: self },
                Err(now) => free = now,
            }
        }
    }

    fn release(&self) {
        self.permits.fetch_add(1, Ordering::SeqCst);
        if self.sleepers.load(Ordering::SeqCst) > 0 {
            futex_wake(&self.permits, 1);
        }
    }
}

/// One of a [`Semaphore`]'s permits, given back when dropped.
#[derive(Debug)]
pub struct Permit<'a> {
    semaphore: &'a Semaphore,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.semaphore.release();
    }
}

/// A barrier for a fixed number of parties on two futex words, which may live in shared memory:
/// what `pthread_barrier_t` marked `PTHREAD_PROCESS_SHARED` and `multiprocessing.Barrier` are.
///
/// Each arrival counts itself in `arrived`; the last one resets the count for the next phase,
/// bumps `generation` and wakes everyone asleep on it (`FUTEX_WAKE` of `i32::MAX`). The others
/// sleep until the generation differs from the one they read before they arrived – a
/// generation, not a flag, so nobody can take one phase's release for another's.
#[derive(Debug, Default)]
#[repr(C)]
pub struct Barrier {
    arrived: AtomicU32,
    generation: AtomicU32,
    parties: AtomicU32,
}

impl Barrier {
    /// A barrier for `parties` parties.
    pub const fn new(parties: u32) -> Barrier {
        Barrier {
            arrived: AtomicU32::new(0),
            generation: AtomicU32::new(0),
            parties: AtomicU32::new(parties),
        }
    }

    /// Readies the barrier for `parties` parties (for one in shared memory, while unused).
    pub fn reset(&self, parties: u32) {
        self.arrived.store(0, Ordering::SeqCst);
        self.parties.store(parties, Ordering::SeqCst);
    }

    /// Waits until every party has arrived.
    pub fn wait(&self) {
        // Read before arriving: the generation cannot move on until this party has arrived.
        let generation = self.generation.load(Ordering::Acquire);
        let parties = self.parties.load(Ordering::Relaxed);
        if self.arrived.fetch_add(1, Ordering::AcqRel) + 1 == parties {
            self.arrived.store(0, Ordering::Relaxed);
            self.generation
                .store(generation.wrapping_add(1), Ordering::Release);
            futex_wake(&self.generation, i32::MAX as u32);
        } else {
            while self.generation.load(Ordering::Acquire) == generation {
                futex_wait(&self.generation, generation, None);
            }
        }
    }
}

/// An event that one setter raises for any number of waiters, on a futex word that may live in
/// shared memory.
///
/// The word counts the times the event has been set, so a waiter waits for a generation past
/// the last one it saw and can neither miss a set nor see one twice (Python's `Event` is a flag,
/// which needs a `clear` and a lock around both). Setting stores the new generation and wakes
/// every sleeper with one `FUTEX_WAKE` of `i32::MAX`: the broadcast that a condition variable's
/// `notify_all` is on Linux.
#[derive(Debug, Default)]
#[repr(C)]
pub struct Event {
    generation: AtomicU32,
}

impl Event {
    /// Sets the event to `generation`, waking every waiter.
    pub fn set(&self, generation: u32) {
        self.generation.store(generation, Ordering::Release);
        futex_wake(&self.generation, i32::MAX as u32);
    }

    /// Waits until the generation is past `seen`, and returns it.
    pub fn wait_past(&self, seen: u32) -> u32 {
        loop {
            let now = self.generation.load(Ordering::Acquire);
            if now > seen {
                return now;
            }
            futex_wait(&self.generation, now, None);
        }
    }

    /// Back to generation 0 (for one in shared memory, while unused).
    pub fn reset(&self) {
        self.generation.store(0, Ordering::SeqCst);
    }
}

/// Whose turn it is, between parties, on a futex word that may live in shared memory: a
/// monitor's condition ("it is my turn") made the futex word itself, with the state it guards
/// stored beside it – no mutex, no condition variable (the `futex-turn` condition variant).
///
/// A party passes the turn by storing the other's number (`Release`: what it wrote before is
/// published) and waking it; it waits for its own turn by sleeping while the word holds anything
/// else.
#[derive(Debug, Default)]
#[repr(C)]
pub struct Turn {
    whose: AtomicU32,
}

impl Turn {
    /// Gives the turn to party `to`, waking it.
    pub fn pass(&self, to: u32) {
        self.whose.store(to, Ordering::Release);
        futex_wake(&self.whose, 1);
    }

    /// Waits until it is party `me`'s turn.
    pub fn wait_for(&self, me: u32) {
        loop {
            let now = self.whose.load(Ordering::Acquire);
            if now == me {
                return;
            }
            futex_wait(&self.whose, now, None);
        }
    }
}

/// Sleeps while `word` holds `expected`, for at most `timeout`; true if the time ran out.
///
/// It returns at once if the word holds something else, and early on any wake-up or signal:
/// every caller looks at the word again.
fn futex_wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) -> bool {
    let timeout = timeout.and_then(|t| futex::Timespec::try_from(t).ok());
    let result = futex::wait(word, futex::Flags::empty(), expected, timeout.as_ref());
    result == Err(rustix::io::Errno::TIMEDOUT)
}

/// Wakes up to `count` sleepers on `word`.
fn futex_wake(word: &AtomicU32, count: u32) {
    let _ = futex::wake(word, futex::Flags::empty(), count);
}

// ---------------------------------------------------------------------------------------------
// sync/lock
// ---------------------------------------------------------------------------------------------

/// `futex` lock: W processes make their entries under a [`Mutex`] in shared memory, beside the
/// counter it guards – a process-shared `pthread_mutex_t`, or `multiprocessing.Lock`, without
/// the library around it.
pub fn lock_futex(cell: &Cell) -> Result<Runner, Failure> {
    let Task::Lock(p) = cell.task else {
        return Err(cell.unsupported());
    };
    let workers = cell.workers;
    lock(Job::LockFutex(p), "lock-futex", workers)
}

/// `atomic` lock: each entry takes a ticket with `fetch_add` on the shared count and adds its
/// work to the shared sum with another, outside any lock – the restructuring that removes the
/// lock where the state allows it. (Python has no counterpart: `multiprocessing.Value` offers
/// only its lock.)
pub fn lock_atomic(cell: &Cell) -> Result<Runner, Failure> {
    let Task::Lock(p) = cell.task else {
        return Err(cell.unsupported());
    };
    let workers = cell.workers;
    lock(Job::LockAtomic(p), "lock-atomic", workers)
}

fn lock(job: Job, name: &'static str, workers: usize) -> Result<Runner, Failure> {
    let mem = create::<LockBoard>("shootout-lock", 0)?;
    let mut pool = start(name, job, workers, &mem)?;
    runner(move |_| {
        pool.run(|pool| {
            let (board, _) = view::<LockBoard>(&mem);
            board.count.store(0, Ordering::SeqCst);
            board.sum.store(0, Ordering::SeqCst);
            everyone(pool)?;
            Ok(Outcome::new(Answer::Value(board.counter().checksum())))
        })
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
pub fn semaphore_futex(cell: &Cell) -> Result<Runner, Failure> {
    let Task::Semaphore(p) = cell.task else {
        return Err(cell.unsupported());
    };
    let workers = cell.workers;
    let permits =
        u32::try_from(p.permits).map_err(|_| Failure::new("permits must fit a futex word"))?;
    let mem = create::<SemaphoreBoard>("shootout-semaphore", 0)?;
    let mut pool = start("semaphore-futex", Job::SemaphoreFutex(p), workers, &mem)?;
    runner(move |_| {
        pool.run(|pool| {
            let (board, _) = view::<SemaphoreBoard>(&mem);
            board.semaphore.0.reset(permits);
            board.gauge.0.reset(p.permits, workers, p.entries);
            let mut tally = Tally::new();
            for reply in everyone(pool)? {
                let mut reply = Dec::new(&reply);
                tally.merge(Tally {
                    count: reply.u64()?,
                    sum: reply.u64()?,
                });
            }
            board.gauge.0.verify(p.permits)?;
            Ok(Outcome::new(Answer::Tally(tally)))
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
    ok().u64(tally.count).u64(tally.sum)
}

// ---------------------------------------------------------------------------------------------
// sync/barrier
// ---------------------------------------------------------------------------------------------

/// `futex` barrier: W processes step the stencil in shared memory, a [`Barrier`] in the same
/// memory between phases – a process-shared `pthread_barrier_t`, or `multiprocessing.Barrier`.
pub fn barrier_futex(cell: &Cell) -> Result<Runner, Failure> {
    let Task::Barrier(p) = cell.task else {
        return Err(cell.unsupported());
    };
    let workers = cell.workers;
    let parties = u32::try_from(workers).map_err(|_| Failure::new("too many workers"))?;
    let words = (p.width.checked_mul(2)).and_then(|cells| cells.checked_add(workers));
    let words = words.ok_or_else(|| Failure::new("the ring is too wide"))?;
    let mem = create::<BarrierBoard>("shootout-barrier", words)?;
    let mut pool = start("barrier-futex", Job::BarrierFutex(p), workers, &mem)?;
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
            everyone(pool)?;
            let cells = barrier::result(p.phases, a, b);
            Ok(Outcome::new(Answer::Value(barrier::checksum(cells))))
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
    let mem = create::<EventBoard>("shootout-event", 0)?;
    let mut pool = start("event-futex", Job::EventFutex(p), workers, &mem)?;
    runner(move |_| {
        pool.run(|pool| {
            let (board, _) = view::<EventBoard>(&mem);
            board.event.reset();
            board.ready.0.store(0, Ordering::SeqCst);
            go(pool)?;
            for round in 1..=p.rounds {
                wait_for_count(&board.ready.0, parties * round, pool)?;
                board.set_ns.store(monotonic_ns(), Ordering::Relaxed);
                board.event.set(round);
            }
            let (mut answers, mut latencies) = (Vec::new(), Vec::new());
            for reply in replies(pool)? {
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
// sync/condition
// ---------------------------------------------------------------------------------------------

/// The pinger: worker 0, which serves, times the round trips and reports the ball.
const PINGER: u32 = 0;
/// The ponger: worker 1.
const PONGER: u32 = 1;

/// `futex` condition: the textbook monitor between two processes – whose turn it is and the
/// ball under a [`Mutex`] in shared memory, and one [`Condvar`] beside them that both parties
/// wait on for their turn: `multiprocessing.Condition` and a shared value, or a process-shared
/// `pthread_mutex_t` and `pthread_cond_t`.
///
/// Written as `threads`' `condvar` variant is: each party holds the lock throughout and lets go
/// only inside `wait`, notifying while it holds the lock. With two parties only one of them ever
/// waits, so `notify_one` and a single condition variable suffice.
pub fn condition_futex(cell: &Cell) -> Result<Runner, Failure> {
    let Task::Condition(p) = cell.task else {
        return Err(cell.unsupported());
    };
    let mem = create::<ConditionBoard>("shootout-condition", 0)?;
    let mut pool = start("condition-futex", Job::ConditionFutex(p), 2, &mem)?;
    runner(move |_| {
        pool.run(|pool| {
            let (board, _) = view::<ConditionBoard>(&mem);
            // Unused between repetitions: nobody holds the mutex or waits.
            board.turn.store(PINGER, Ordering::SeqCst);
            board.ball.store(condition::SERVE, Ordering::SeqCst);
            rally(pool)
        })
    })
}

/// A `futex` condition party: holding the monitor's lock, `trips` times wait on the condition
/// variable for the turn, hit the ball, pass the turn and notify.
fn condition_futex_party(board: &ConditionBoard, p: task::Condition, me: u32) -> Enc {
    let wait_for = |court, turn| board.wait_for(court, turn);
    let mut court = board.mutex.lock();
    if me == PINGER {
        let mut rtts = Vec::with_capacity(p.trips as usize);
        for _ in 0..p.trips {
            let start = Instant::now();
            let ball = condition::ping(board.ball.load(Ordering::Relaxed));
            board.ball.store(ball, Ordering::Relaxed);
            board.turn.store(PONGER, Ordering::Relaxed);
            board.turn_changed.notify_one();
            court = wait_for(court, PINGER);
            rtts.push(nanos(start.elapsed()));
        }
        let ball = board.ball.load(Ordering::Relaxed);
        drop(court);
        ok().u64(ball).u64s(&rtts)
    } else {
        for _ in 0..p.trips {
            court = wait_for(court, PONGER);
            let ball = condition::pong(board.ball.load(Ordering::Relaxed));
            board.ball.store(ball, Ordering::Relaxed);
            board.turn.store(PINGER, Ordering::Relaxed);
            board.turn_changed.notify_one();
        }
        drop(court);
        ok()
    }
}

/// `futex-turn` condition: two processes pass the ball through shared memory, a [`Turn`] word
/// saying whose it is – no mutex and no condition variable, only the futex that every condition
/// variable sleeps on: the lower bound that a monitor compiles down to.
pub fn condition_futex_turn(cell: &Cell) -> Result<Runner, Failure> {
    let Task::Condition(p) = cell.task else {
        return Err(cell.unsupported());
    };
    let mem = create::<TurnBoard>("shootout-condition", 0)?;
    let mut pool = start("condition-futex-turn", Job::ConditionTurn(p), 2, &mem)?;
    runner(move |_| {
        pool.run(|pool| {
            let (board, _) = view::<TurnBoard>(&mem);
            board.turn.whose.store(PINGER, Ordering::SeqCst);
            board.ball.store(condition::SERVE, Ordering::SeqCst);
            rally(pool)
        })
    })
}

/// A `futex-turn` condition party: `trips` times, wait for the turn, hit the ball, pass the
/// turn.
fn condition_turn_party(board: &TurnBoard, p: task::Condition, me: u32) -> Enc {
    let mut ball = condition::SERVE;
    if me == PINGER {
        let mut rtts = Vec::with_capacity(p.trips as usize);
        for _ in 0..p.trips {
            let start = Instant::now();
            ball = condition::ping(ball);
            board.ball.store(ball, Ordering::Relaxed);
            board.turn.pass(PONGER);
            board.turn.wait_for(PINGER);
            ball = board.ball.load(Ordering::Relaxed);
            rtts.push(nanos(start.elapsed()));
        }
        ok().u64(ball).u64s(&rtts)
    } else {
        for _ in 0..p.trips {
            board.turn.wait_for(PONGER);
            ball = condition::pong(board.ball.load(Ordering::Relaxed));
            board.ball.store(ball, Ordering::Relaxed);
            board.turn.pass(PINGER);
        }
        ok()
    }
}

/// `pipe` condition: two processes ping-pong the ball as an 8-byte message through a pair of
/// pipes, each blocked in `read` until it arrives – what `multiprocessing.Pipe()` users write
/// instead of a condition variable.
pub fn condition_pipe(cell: &Cell) -> Result<Runner, Failure> {
    let Task::Condition(p) = cell.task else {
        return Err(cell.unsupported());
    };
    let pipe =
        || rustix::pipe::pipe_with(PipeFlags::CLOEXEC).map_err(|e| Failure::context("pipe", e));
    let (to_pinger_rx, to_pinger_tx) = pipe()?;
    let (to_ponger_rx, to_ponger_tx) = pipe()?;
    let spec = |me: u32| {
        let role = Job::ConditionPipe(p).encode().u64(u64::from(me)).u64(2);
        Spec::new(Family::Sync, role, LinkKind::Socket)
    };
    let specs = vec![
        spec(PINGER).with_fd(to_pinger_rx).with_fd(to_ponger_tx),
        spec(PONGER).with_fd(to_ponger_rx).with_fd(to_pinger_tx),
    ];
    // The pool hands the ends over and closes ours: each pipe is between the two parties only.
    let mut pool = Pool::start("condition-pipe", specs)?;
    runner(move |_| pool.run(rally))
}

/// A `pipe` condition party: `trips` times, read the ball (the ponger), hit it, write it back.
///
/// End-of-file or a broken pipe means the other party died: this one then says nothing, and
/// the parent hears of the death itself.
fn condition_pipe_party(
    (rx, tx): (&mut File, &mut File),
    p: task::Condition,
    me: u32,
) -> io::Result<Enc> {
    let mut ball = condition::SERVE;
    let mut bytes = [0u8; 8];
    if me == PINGER {
        let mut rtts = Vec::with_capacity(p.trips as usize);
        for _ in 0..p.trips {
            let start = Instant::now();
            ball = condition::ping(ball);
            tx.write_all(&ball.to_le_bytes())?;
            rx.read_exact(&mut bytes)?;
            ball = u64::from_le_bytes(bytes);
            rtts.push(nanos(start.elapsed()));
        }
        Ok(ok().u64(ball).u64s(&rtts))
    } else {
        for _ in 0..p.trips {
            rx.read_exact(&mut bytes)?;
            ball = condition::pong(u64::from_le_bytes(bytes));
            tx.write_all(&ball.to_le_bytes())?;
        }
        Ok(ok())
    }
}

/// One condition repetition: both parties go; the pinger's reply is the ball and the round
/// trips.
fn rally(pool: &mut Pool) -> Result<Outcome, Failure> {
    let replies = everyone(pool)?;
    let mut reply = Dec::new(&replies[PINGER as usize]);
    let ball = reply.u64()?;
    let rtts = reply.u64s()?;
    Ok(Outcome::with_latencies(Answer::Value(ball), rtts))
}

// ---------------------------------------------------------------------------------------------
// The parent's plumbing.
// ---------------------------------------------------------------------------------------------

/// Starts `workers` workers on `job`, each handed the shared memory.
fn start(
    name: &'static str,
    job: Job,
    workers: usize,
    mem: &SharedMemory,
) -> Result<Pool, Failure> {
    let specs = (0..workers)
        .map(|me| {
            let role = job.encode().u64(me as u64).u64(workers as u64);
            let spec = Spec::new(Family::Sync, role, LinkKind::Socket);
            Ok(spec.with_fd(mem.fd().try_clone_to_owned()?))
        })
        .collect::<Result<Vec<_>, Failure>>()?;
    Pool::start(name, specs)
}

/// Tells every worker to run the repetition.
fn go(pool: &mut Pool) -> Result<(), Failure> {
    let frame = Enc::new().finish();
    (0..pool.len()).try_for_each(|w| pool.send(w, &frame))
}

/// Every worker's reply to the repetition, in worker order, taken as they come: a worker that
/// fails or dies is seen at once, whichever it is.
fn replies(pool: &mut Pool) -> Result<Vec<Vec<u8>>, Failure> {
    let mut owed = vec![1; pool.len()];
    let mut replies = vec![Vec::new(); pool.len()];
    for _ in 0..pool.len() {
        let (w, reply) = pool.recv_any(&mut owed)?;
        replies[w] = reply;
    }
    Ok(replies)
}

/// A repetition in which the parent only starts the workers and waits for their replies.
fn everyone(pool: &mut Pool) -> Result<Vec<Vec<u8>>, Failure> {
    go(pool)?;
    replies(pool)
}

// ---------------------------------------------------------------------------------------------
// The worker's side.
// ---------------------------------------------------------------------------------------------

/// What a sync worker does, fixed for its life.
#[derive(Clone, Copy, Debug)]
enum Job {
    LockFutex(task::Lock),
    LockAtomic(task::Lock),
    SemaphoreFutex(task::Semaphore),
    BarrierFutex(task::Barrier),
    EventFutex(task::Event),
    ConditionFutex(task::Condition),
    ConditionPipe(task::Condition),
    ConditionTurn(task::Condition),
}

impl Job {
    /// The role's first fields; the worker's index and the number of workers follow.
    fn encode(self) -> Enc {
        let role = Enc::new();
        match self {
            Job::LockFutex(p) => role.u8(1).u64(p.increments).u32(p.section),
            Job::LockAtomic(p) => role.u8(2).u64(p.increments).u32(p.section),
            Job::SemaphoreFutex(p) => role
                .u8(3)
                .u64(p.entries)
                .u64(p.permits as u64)
                .u32(p.section),
            Job::BarrierFutex(p) => role.u8(4).u32(p.phases).u64(p.width as u64),
            Job::EventFutex(p) => role.u8(5).u32(p.rounds),
            Job::ConditionFutex(p) => role.u8(6).u32(p.trips),
            Job::ConditionPipe(p) => role.u8(7).u32(p.trips),
            Job::ConditionTurn(p) => role.u8(8).u32(p.trips),
        }
    }

    fn decode(role: &mut Dec<'_>) -> Result<Job, Failure> {
        let lock = |role: &mut Dec<'_>| -> Result<task::Lock, Failure> {
            Ok(task::Lock {
                increments: role.u64()?,
                section: role.u32()?,
            })
        };
        Ok(match role.u8()? {
            1 => Job::LockFutex(lock(role)?),
            2 => Job::LockAtomic(lock(role)?),
            3 => Job::SemaphoreFutex(task::Semaphore {
                entries: role.u64()?,
                permits: role.usize()?,
                section: role.u32()?,
            }),
            4 => Job::BarrierFutex(task::Barrier {
                phases: role.u32()?,
                width: role.usize()?,
            }),
            5 => Job::EventFutex(task::Event {
                rounds: role.u32()?,
            }),
            6 => Job::ConditionFutex(task::Condition { trips: role.u32()? }),
            7 => Job::ConditionPipe(task::Condition { trips: role.u32()? }),
            8 => Job::ConditionTurn(task::Condition { trips: role.u32()? }),
            other => return Err(Failure::new(format!("unknown sync job {other}"))),
        })
    }
}

/// Serves one sync worker: maps the board, says it is ready, then runs one repetition per
/// message until the parent closes the link.
pub(crate) fn serve(
    mut role: Dec<'_>,
    link: &mut Link,
    mut fds: Vec<OwnedFd>,
) -> Result<(), Failure> {
    let job = Job::decode(&mut role)?;
    let me = role.usize()?;
    let workers = role.usize()?;
    let party = u32::try_from(me).map_err(|_| Failure::new("a malformed role (index)"))?;
    if let Job::ConditionPipe(p) = job {
        let (mut rx, mut tx) = match <[OwnedFd; 2]>::try_from(fds) {
            Ok([rx, tx]) => (File::from(rx), File::from(tx)),
            Err(_) => return Err(Failure::new("a pipe party needs two pipe ends")),
        };
        return each(link, || {
            match condition_pipe_party((&mut rx, &mut tx), p, party) {
                Ok(reply) => Ok(Some(reply)),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::UnexpectedEof | io::ErrorKind::BrokenPipe
                    ) =>
                {
                    Ok(None)
                }
                Err(e) => Err(Failure::context("passing the ball", e)),
            }
        });
    }
    let mem = SharedMemory::open(
        fds.pop()
            .ok_or_else(|| Failure::new("no shared memory came with the role"))?,
    )?;
    let parties = u32::try_from(workers).map_err(|_| Failure::new("too many workers"))?;
    match job {
        Job::LockFutex(p) => each(link, || {
            lock_futex_worker(view(&mem).0, p, me, workers);
            Ok(Some(ok()))
        }),
        Job::LockAtomic(p) => each(link, || {
            lock_atomic_worker(view(&mem).0, p, me, workers);
            Ok(Some(ok()))
        }),
        Job::SemaphoreFutex(p) => each(link, || {
            Ok(Some(semaphore_worker(view(&mem).0, p, me, workers)))
        }),
        Job::BarrierFutex(p) => {
            let (board, tail) = view::<BarrierBoard>(&mem);
            let stencil = Stencil::split(tail, workers, p.width)?;
            // A view made once; the parent resets the slots before each repetition.
            let log = PhaseLog::new(stencil.slots);
            each(link, || {
                barrier_worker(board, &log, stencil, p, me, workers).map(Some)
            })
        }
        Job::EventFutex(p) => each(link, || Ok(Some(event_waiter(view(&mem).0, p, parties)))),
        Job::ConditionFutex(p) => each(link, || {
            Ok(Some(condition_futex_party(view(&mem).0, p, party)))
        }),
        Job::ConditionTurn(p) => each(link, || {
            Ok(Some(condition_turn_party(view(&mem).0, p, party)))
        }),
        Job::ConditionPipe(_) => unreachable!("served above"),
    }
}

/// Says the worker is ready, then runs `repetition` once per message from the parent and
/// replies with its result; `None` is no reply (the repetition was abandoned because another
/// worker died, which the parent sees for itself).
fn each(
    link: &mut Link,
    mut repetition: impl FnMut() -> Result<Option<Enc>, Failure>,
) -> Result<(), Failure> {
    link.reply(Ok(ok()))?;
    let broken = |e: io::Error| Failure::context("talking to the parent", e);
    while link.recv().map_err(broken)?.is_some() {
        match repetition() {
            Ok(None) => {}
            Ok(Some(reply)) => link.reply(Ok(reply))?,
            Err(failure) => link.reply(Err(failure))?,
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The boards: each task's shared state, laid out at the start of its memfd.
// ---------------------------------------------------------------------------------------------

/// A board: `#[repr(C, align(64))]` and made of atomics only, so that every bit pattern –
/// zero-filled memory included – is a valid value, and other processes may change any of it at
/// any time. (Private, and implemented only for the boards below: [`view`] relies on it.)
trait Board {}

/// A value alone on its cache line, so that processes writing it do not slow down readers of
/// its neighbours.
#[derive(Debug, Default)]
#[repr(C, align(64))]
struct Line<T>(T);

/// `lock`: the mutex and the counter it guards, side by side as a C struct would keep them.
#[repr(C, align(64))]
struct LockBoard {
    mutex: Mutex,
    count: AtomicU64,
    sum: AtomicU64,
}

impl LockBoard {
    /// The counter's current value (under the lock, or once every worker is done).
    fn counter(&self) -> Counter {
        Counter {
            count: self.count.load(Ordering::Relaxed),
            sum: self.sum.load(Ordering::Relaxed),
        }
    }
}

/// `semaphore`: the semaphore, and the gauge that its holders hammer.
#[repr(C, align(64))]
struct SemaphoreBoard {
    semaphore: Line<Semaphore>,
    gauge: Line<Gauge>,
}

/// `barrier`: the barrier; W phase-log slots and the two buffers follow the board.
#[repr(C, align(64))]
struct BarrierBoard {
    barrier: Barrier,
}

/// `event`: the event and its set time, written by the setter; the ready count, written by the
/// waiters.
#[repr(C, align(64))]
struct EventBoard {
    event: Event,
    set_ns: AtomicU64,
    ready: Line<AtomicU32>,
}

/// `condition`, `futex`: the monitor – its mutex and condition variable, and the state they
/// guard, whose turn it is and the ball.
#[repr(C, align(64))]
struct ConditionBoard {
    mutex: Mutex,
    turn_changed: Condvar,
    turn: AtomicU32,
    ball: AtomicU64,
}

impl ConditionBoard {
    /// Waits on the condition variable, holding the lock `court` otherwise, until it is
    /// `turn`'s turn.
    fn wait_for<'a>(&'a self, mut court: MutexGuard<'a>, turn: u32) -> MutexGuard<'a> {
        while self.turn.load(Ordering::Relaxed) != turn {
            court = self.turn_changed.wait(court);
        }
        court
    }
}

/// `condition`, `futex-turn`: whose turn it is, and the ball.
#[repr(C, align(64))]
struct TurnBoard {
    turn: Turn,
    ball: AtomicU64,
}

impl Board for LockBoard {}
impl Board for SemaphoreBoard {}
impl Board for BarrierBoard {}
impl Board for EventBoard {}
impl Board for ConditionBoard {}
impl Board for TurnBoard {}

/// Shared memory for a board `B` followed by `words` atomic words, zero-filled.
fn create<B: Board>(name: &str, words: usize) -> Result<SharedMemory, Failure> {
    let bytes = words
        .checked_mul(size_of::<AtomicU64>())
        .and_then(|w| w.checked_add(size_of::<B>()))
        .ok_or_else(|| Failure::new("the shared state is too large"))?;
    SharedMemory::create(name, bytes)
}

/// The board `B` at the start of `mem`, and the words after it.
#[allow(unsafe_code)]
fn view<B: Board>(mem: &SharedMemory) -> (&B, &[AtomicU64]) {
    let head = size_of::<B>();
    assert!(mem.len() >= head, "the mapping holds the board");
    let words = (mem.len() - head) / size_of::<AtomicU64>();
    // SAFETY: the mapping is page-aligned, enough for a board's 64-byte alignment, and a board's
    // size is a multiple of 64, so the words after it are aligned too; board and words lie
    // inside the mapping (asserted and computed above), which stays mapped while `mem` is
    // borrowed, as the returned lifetime says. `Board` is implemented only for structures of
    // atomics, for which every bit pattern is valid and concurrent access from other threads
    // and processes is synchronised by the atomics themselves; no `&mut` to this memory is ever
    // made.
    unsafe {
        let base = mem.as_ptr();
        let board = &*base.cast::<B>();
        let tail = std::slice::from_raw_parts(base.add(head).cast::<AtomicU64>(), words);
        (board, tail)
    }
}

#[cfg(test)]
mod tests {
    use std::thread;

    use super::*;

    #[test]
    fn boards_leave_the_words_after_them_aligned() {
        assert_eq!(size_of::<LockBoard>() % 64, 0);
        assert_eq!(size_of::<SemaphoreBoard>(), 128);
        assert_eq!(size_of::<EventBoard>(), 128);
        let mem = create::<BarrierBoard>("test", 5).unwrap();
        let (_, tail) = view::<BarrierBoard>(&mem);
        assert_eq!(tail.len(), 5);
    }

    /// The primitives on a board in a memfd, used by threads through two mappings (as processes
    /// would use them).
    #[test]
    fn primitives_work_across_two_mappings() {
        let here = create::<LockBoard>("test", 0).unwrap();
        let there = SharedMemory::open(here.fd().try_clone_to_owned().unwrap()).unwrap();
        let p = task::Lock {
            increments: 20_000,
            section: 2,
        };
        thread::scope(|s| {
            s.spawn(|| lock_futex_worker(view(&here).0, p, 0, 3));
            s.spawn(|| lock_futex_worker(view(&there).0, p, 1, 3));
            lock_futex_worker(view(&here).0, p, 2, 3);
        });
        let expected = shootout_suite::sync::lock::reference(p.increments, p.section);
        assert_eq!(view::<LockBoard>(&there).0.counter(), expected);

        let semaphore = Semaphore::new(2);
        let inside = AtomicU32::new(0);
        let most = AtomicU32::new(0);
        thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..2_000 {
                        let _permit = semaphore.acquire();
                        let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        inside.fetch_sub(1, Ordering::SeqCst);
                    }
                });
            }
        });
        assert!(most.load(Ordering::SeqCst) <= 2);
        assert_eq!(semaphore.permits.load(Ordering::SeqCst), 2);

        let barrier = Barrier::new(3);
        let phase = AtomicU32::new(0);
        thread::scope(|s| {
            for _ in 0..3 {
                s.spawn(|| {
                    for p in 0..500 {
                        assert!(phase.load(Ordering::SeqCst) >= p);
                        barrier.wait();
                        phase.fetch_max(p + 1, Ordering::SeqCst);
                        barrier.wait();
                    }
                });
            }
        });
        assert_eq!(phase.load(Ordering::SeqCst), 500);
    }

    /// The monitor and the turn word, used by two threads through two mappings.
    #[test]
    fn both_condition_boards_rally_across_two_mappings() {
        let p = task::Condition { trips: 5_000 };
        let expected = {
            let mut ball = condition::SERVE;
            for _ in 0..p.trips {
                ball = condition::pong(condition::ping(ball));
            }
            ball
        };
        let here = create::<ConditionBoard>("test", 0).unwrap();
        let there = SharedMemory::open(here.fd().try_clone_to_owned().unwrap()).unwrap();
        view::<ConditionBoard>(&here)
            .0
            .ball
            .store(condition::SERVE, Ordering::SeqCst);
        let reply = thread::scope(|s| {
            s.spawn(|| condition_futex_party(view(&there).0, p, PONGER));
            condition_futex_party(view(&here).0, p, PINGER).finish()
        });
        // After the frame's length and the "ok" byte: the ball and the round trips.
        let mut reply = Dec::new(&reply[5..]);
        assert_eq!(reply.u64().unwrap(), expected);
        assert_eq!(reply.u64s().unwrap().len(), p.trips as usize);
        assert_eq!(
            view::<ConditionBoard>(&there)
                .0
                .mutex
                .state
                .load(Ordering::SeqCst),
            0
        );

        let here = create::<TurnBoard>("test", 0).unwrap();
        let there = SharedMemory::open(here.fd().try_clone_to_owned().unwrap()).unwrap();
        let reply = thread::scope(|s| {
            s.spawn(|| condition_turn_party(view(&there).0, p, PONGER));
            condition_turn_party(view(&here).0, p, PINGER).finish()
        });
        assert_eq!(Dec::new(&reply[5..]).u64().unwrap(), expected);
    }

    #[test]
    fn a_parent_waiting_on_a_count_wakes_when_it_is_reached() {
        let word = AtomicU32::new(0);
        thread::scope(|s| {
            s.spawn(|| {
                for _ in 0..3 {
                    thread::sleep(Duration::from_millis(5));
                    word.fetch_add(1, Ordering::SeqCst);
                    futex_wake(&word, 1);
                }
            });
            while word.load(Ordering::SeqCst) < 3 {
                futex_wait(&word, word.load(Ordering::SeqCst), Some(PATIENCE));
            }
        });
        assert!(
            futex_wait(&word, 3, Some(Duration::from_millis(1))),
            "times out"
        );
        assert!(
            !futex_wait(&word, 7, None),
            "returns at once on another value"
        );
    }
}
