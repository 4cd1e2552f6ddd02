//! The classic primitives on OS threads: std's, parking_lot's, and the blocking side of the
//! smol-rs crates.
//!
//! These are the primitives Python's `threading` module teaches – `Lock`, `Semaphore`,
//! `Barrier`, `Event`, `Condition` – and with threads each is what it says: a thread that must
//! wait sleeps in the kernel (a futex on Linux) until another one wakes it, and that wake-up,
//! tens of microseconds when the sleeper is on another core, is most of what these tasks
//! measure. Where two idioms are both common, both are here.
//!
//! | task | variant | the idiom |
//! |---|---|---|
//! | lock | `std-mutex` | [`std::sync::Mutex`]: a futex lock that spins briefly, then sleeps; the default |
//! | lock | `parking-lot` | [`parking_lot::Mutex`]: one byte, a few spins before it parks, no poisoning, eventually fair |
//! | lock | `atomic` | no lock: a ticket from `fetch_add`, the work moved out of the critical section |
//! | semaphore | `mutex-condvar` | a count under a `Mutex` and a `Condvar` to wait for a permit: std has no semaphore |
//! | semaphore | `async-lock` | [`async_lock::Semaphore`] through its blocking API, `acquire_blocking` |
//! | barrier | `std` | [`std::sync::Barrier`] |
//! | event | `condvar` | Python's `threading.Event`: a generation under a `Mutex`, `Condvar::notify_all` |
//! | event | `event-listener` | an atomic generation and an [`event_listener::Event`]: listen, re-check, wait |
//! | condition | `condvar` | the textbook monitor: std `Mutex` + `Condvar` |
//! | condition | `parking-lot` | the same monitor on parking_lot, whose `notify` moves the waiter onto the mutex |
//!
//! # Who runs
//!
//! Lock, semaphore and barrier run W = `workers` workers, the calling thread counted as one of
//! them (W − 1 scoped threads are spawned), as everywhere in this crate. Event runs W waiters on
//! W scoped threads, and the calling thread is the setter: W + 1 threads. Condition always has
//! two parties, whatever W: the calling thread pings and one scoped thread pongs. Threads are
//! spawned per repetition; a spawn costs tens of microseconds against repetitions of
//! milliseconds.
//!
//! # Implementation
//!
//! The work inside each section, the semaphore's [`Gauge`], the barrier's [`PhaseLog`] and the
//! reference answers are the suite's ([`shootout_suite::sync`]); this file holds only the
//! synchronisation. State that a checker reads, or that crosses threads beside the primitive
//! (the event's set time, the barrier's cells), lives in atomics; `Relaxed` where the
//! primitive's own acquire and release already order it.
//!
//! [`Gauge`]: shootout_suite::sync::semaphore::Gauge
//! [`PhaseLog`]: shootout_suite::sync::barrier::PhaseLog

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Barrier, Condvar, Mutex, PoisonError};
use std::thread;
use std::time::Instant;

use event_listener::Listener;
use shootout_suite::sync::condition::{self, Rally, Turn};
use shootout_suite::sync::lock::Counter;
use shootout_suite::sync::semaphore::{Gauge, contribution, entries_of};
use shootout_suite::sync::{self, barrier, event};
use shootout_suite::task::{self, Lock};
use shootout_suite::time::nanos_since;
use shootout_suite::wake::{Whereabouts, thread_tag};
use shootout_suite::{Answer, Cell, Failure, Outcome, Runner, Tally};

use crate::plumbing::{each, joined, lock};
use crate::semaphore::Semaphore;

// ---------------------------------------------------------------------------------------------
// lock: W workers, `increments` entries into one critical section.
// ---------------------------------------------------------------------------------------------

/// `std-mutex`: the shared [`Counter`] in a [`std::sync::Mutex`], locked once per entry.
///
/// The default, and what to reach for first: since Rust 1.62 a futex-based lock on Linux that
/// spins a little before it sleeps, and poisons if a holder panics.
pub fn lock_std_mutex(p: Lock, workers: usize) -> Outcome {
    let counter = Mutex::new(Counter::default());
    on_workers(workers, |w| {
        for _ in 0..sync::share(p.increments, workers, w) {
            lock(&counter).increment(p.section);
        }
    });
    Outcome::value(
        counter
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
            .checksum(),
    )
}

/// `parking-lot`: the shared [`Counter`] in a [`parking_lot::Mutex`], locked once per entry.
///
/// The common alternative: one byte, no poisoning (so no `unwrap`), a few spins before a thread
/// parks, and "eventual fairness" – about every 0.5 ms an unlock hands the lock straight to a
/// waiter, so that one thread cannot keep retaking it.
pub fn lock_parking_lot(p: Lock, workers: usize) -> Outcome {
    let counter = parking_lot::Mutex::new(Counter::default());
    on_workers(workers, |w| {
        for _ in 0..sync::share(p.increments, workers, w) {
            counter.lock().increment(p.section);
        }
    });
    Outcome::value(counter.into_inner().checksum())
}

/// `atomic`: no lock at all; each entry takes a ticket with `fetch_add` and adds its work to the
/// sum with another, outside any critical section.
///
/// The lock-free restructuring an expert makes when the state allows it: the section's work
/// depends only on the ticket, so only the ticket needs to be unique, and the work runs in
/// parallel. Two contended cache lines remain. `Relaxed` suffices: nothing else is published
/// through them, and the join makes the totals visible.
pub fn lock_atomic(p: Lock, workers: usize) -> Outcome {
    let (count, sum) = (AtomicU64::new(0), AtomicU64::new(0));
    on_workers(workers, |w| {
        for _ in 0..sync::share(p.increments, workers, w) {
            let ticket = count.fetch_add(1, Ordering::Relaxed);
            sum.fetch_add(sync::work(ticket, p.section), Ordering::Relaxed);
        }
    });
    let counter = Counter {
        count: count.into_inner(),
        sum: sum.into_inner(),
    };
    Outcome::value(counter.checksum())
}

// ---------------------------------------------------------------------------------------------
// semaphore: at most `permits` of W workers inside a section at once.
// ---------------------------------------------------------------------------------------------

/// `mutex-condvar`: the hand-written [`Semaphore`].
///
/// std has no semaphore: `std::sync::Semaphore` never left unstable, was deprecated in Rust 1.7
/// and then removed (rust-lang/rust#27798), user-space primitives being left to crates. So this
/// is what std-only code writes, and what Python's `threading.Semaphore` is inside.
pub fn semaphore_mutex_condvar(p: task::Semaphore, workers: usize) -> Result<Outcome, Failure> {
    let semaphore = Line(Semaphore::new(p.permits));
    semaphore_run(p, workers, || semaphore.0.acquire())
}

/// `async-lock`: [`async_lock::Semaphore`] through its blocking API, `acquire_blocking`, the
/// guard giving the permit back when dropped.
///
/// The crate's choice when one semaphore serves threads and async tasks alike: permits are an
/// atomic count, and a thread that finds none parks on an `event_listener::Event`.
pub fn semaphore_async_lock(p: task::Semaphore, workers: usize) -> Result<Outcome, Failure> {
    let semaphore = Line(async_lock::Semaphore::new(p.permits));
    semaphore_run(p, workers, || semaphore.0.acquire_blocking())
}

/// One repetition of the semaphore task: W workers making their entries, each inside the
/// section between `acquire` and the drop of what it returned; then the gauge's verdict.
fn semaphore_run<P>(
    p: task::Semaphore,
    workers: usize,
    acquire: impl Fn() -> P + Sync,
) -> Result<Outcome, Failure> {
    // On a line of its own, away from the semaphore (also on one of its own) and the stack.
    let Line(gauge) = &Line(Gauge::new(p.permits, workers, p.entries));
    let tallies = on_workers(workers, |w| {
        let mut tally = Tally::new();
        for entry in entries_of(w, workers, p.entries) {
            let permit = acquire();
            gauge.enter();
            // The first ones in hold their permits until the section has been full once: see
            // `Gauge`. The only busy wait in this file.
            while !gauge.full() {
                thread::yield_now();
            }
            tally.add(contribution(entry, p.section));
            gauge.leave();
            drop(permit);
        }
        tally
    });
    gauge.verify(p.permits)?;
    let mut total = Tally::new();
    tallies.into_iter().for_each(|tally| total.merge(tally));
    Ok(Outcome::tally(total))
}

// ---------------------------------------------------------------------------------------------
// barrier: W workers, `phases` phases of a stencil, a barrier after each.
// ---------------------------------------------------------------------------------------------

/// `std`: a [`std::sync::Barrier`] for W parties ends every phase.
///
/// std's barrier is a count and a generation under a `Mutex`, with a `Condvar` that the last
/// arrival `notify_all`s: every phase wakes W − 1 sleepers. A worker whose [`PhaseLog`] check
/// fails stops working but still waits at every remaining barrier, so that nobody is left
/// waiting for it; the failure is returned after the join.
///
/// [`PhaseLog`]: shootout_suite::sync::barrier::PhaseLog
pub fn barrier_std(p: task::Barrier, workers: usize) -> Result<Outcome, Failure> {
    let (a, b) = (barrier::initial(p.width), barrier::initial(p.width));
    let slots: Vec<AtomicU64> = (0..workers).map(|_| AtomicU64::new(0)).collect();
    let log = barrier::PhaseLog::new(&slots);
    let phase_end = Barrier::new(workers);
    let parties = on_workers(workers, |w| {
        let mut failure = None;
        // The thread each phase ran on: one per party here, by construction; recorded as the
        // other models record it.
        let mut ran_on = Vec::with_capacity(p.phases as usize);
        for phase in 0..p.phases {
            if failure.is_none() {
                match log.enter(w, phase) {
                    Ok(()) => {
                        let (src, dst) = barrier::buffers(phase, &a[..], &b[..]);
                        barrier::step(src, dst, barrier::chunk(p.width, workers, w), phase);
                    }
                    Err(e) => failure = Some(e),
                }
            }
            ran_on.push(thread_tag());
            phase_end.wait();
        }
        failure.map_or(Ok(ran_on), Err)
    });
    let ran_on = parties.into_iter().collect::<Result<Vec<_>, Failure>>()?;
    let answer = barrier::checksum(barrier::result(p.phases, &a, &b));
    Ok(Outcome::value(answer).placed(Whereabouts::Phases(ran_on)))
}

// ---------------------------------------------------------------------------------------------
// event: one setter releases W waiters, `rounds` times.
// ---------------------------------------------------------------------------------------------

/// `condvar`: Python's `threading.Event` – a generation number under a `Mutex` and a `Condvar`
/// that the setter `notify_all`s; the waiters' ready count is a second such pair.
///
/// The generation, not a flag, is what makes the event reusable: a flag would have to be
/// cleared again, and a waiter that woke late could miss a set and clear. (Python code that
/// releases waiters over and over hits the same problem with `Event` and reaches for a
/// `Condition` or a `Barrier`.)
pub fn event_condvar(p: task::Event, workers: usize) -> Result<Outcome, Failure> {
    event_run::<Monitor>(p, workers)
}

/// `event-listener`: an [`AtomicU64`] generation and an [`event_listener::Event`]; the ready
/// count is a second such pair.
///
/// The smol-rs building block that turns any atomic state into something to wait on, blocking
/// or async: check the state, create a listener, check again (a set between the two is then
/// not missed), and only then `wait`. The setter stores and calls `notify(usize::MAX)`; no
/// thread ever takes a lock of its own.
pub fn event_listener(p: task::Event, workers: usize) -> Result<Outcome, Failure> {
    event_run::<Signal>(p, workers)
}

/// One repetition of the event task on either primitive: W waiter threads, this thread the
/// setter.
fn event_run<W: Waitable>(p: task::Event, workers: usize) -> Result<Outcome, Failure> {
    let rounds = u64::from(p.rounds);
    // The ready count, written by every waiter, on a cache line of its own: away from the
    // generation, which they all read.
    let (generation, Line(ready)) = (W::default(), &Line(W::default()));
    let epoch = Instant::now();
    let set_at_ns = AtomicU64::new(0);
    let since_epoch = || nanos_since(epoch);
    let waiters = thread::scope(|s| {
        let waiters: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let (mut seen, mut acc) = (0, 0);
                    let mut latencies = Vec::with_capacity(p.rounds as usize);
                    while seen < rounds {
                        ready.count_up(workers as u64);
                        let round = generation.wait_past(seen);
                        let woke = since_epoch();
                        // The set time was stored before the set, which the wait synchronises with.
                        latencies.push(woke.saturating_sub(set_at_ns.load(Ordering::Relaxed)));
                        acc = event::fold(acc, round);
                        seen = round;
                    }
                    (acc, latencies)
                })
            })
            .collect();
        for round in 1..=rounds {
            // Every waiter is ready for this round: none can miss it, or be still busy with
            // the last one when it is set.
            ready.wait_past(workers as u64 * round - 1);
            set_at_ns.store(since_epoch(), Ordering::Relaxed);
            generation.set(round);
        }
        waiters.into_iter().map(joined).collect::<Vec<_>>()
    });
    let (accs, latencies): (Vec<u64>, Vec<Vec<u64>>) = waiters.into_iter().unzip();
    Ok(Outcome::with_latencies(
        Answer::Value(event::agree(accs)?),
        latencies.concat(),
    ))
}

/// A number that only grows, which threads can sleep on until it passes a value: the event's
/// generation, and the count of waiters ready.
trait Waitable: Default + Sync {
    /// Sets the number to `to` and wakes every thread waiting on it.
    fn set(&self, to: u64);

    /// Adds one, waking the thread that waits on it when the sum reaches a multiple of
    /// `every` (the ready count: only the last of W waiters wakes the setter).
    fn count_up(&self, every: u64);

    /// Sleeps until the number is above `seen`, and returns it.
    fn wait_past(&self, seen: u64) -> u64;
}

/// The number under a `Mutex`, with a `Condvar` to wait on.
#[derive(Default)]
struct Monitor {
    value: Mutex<u64>,
    changed: Condvar,
}

impl Waitable for Monitor {
    fn set(&self, to: u64) {
        *lock(&self.value) = to;
        // After the unlock, so that the woken do not wake only to block on the mutex.
        self.changed.notify_all();
    }

    fn count_up(&self, every: u64) {
        let mut value = lock(&self.value);
        *value += 1;
        let wake = *value % every == 0;
        drop(value);
        if wake {
            self.changed.notify_one();
        }
    }

    fn wait_past(&self, seen: u64) -> u64 {
        *self
            .changed
            .wait_while(lock(&self.value), |value| *value <= seen)
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// The number in an atomic, with an [`event_listener::Event`] to wait on.
#[derive(Default)]
struct Signal {
    value: AtomicU64,
    changed: event_listener::Event,
}

impl Waitable for Signal {
    fn set(&self, to: u64) {
        self.value.store(to, Ordering::Release);
        self.changed.notify(usize::MAX);
    }

    fn count_up(&self, every: u64) {
        if (self.value.fetch_add(1, Ordering::Release) + 1) % every == 0 {
            self.changed.notify(1);
        }
    }

    fn wait_past(&self, seen: u64) -> u64 {
        loop {
            let value = self.value.load(Ordering::Acquire);
            if value > seen {
                return value;
            }
            // On the stack: no allocation per wait, unlike `Event::listen`.
            event_listener::listener!(self.changed => listener);
            // A change made before the listener was registered would not wake it: look again.
            let value = self.value.load(Ordering::Acquire);
            if value > seen {
                return value;
            }
            listener.wait();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// condition: two parties, a ball, `trips` round trips through a monitor.
// ---------------------------------------------------------------------------------------------

/// `condvar`: the textbook monitor – whose turn it is and the ball under a std `Mutex`, and one
/// `Condvar` that both parties wait on for their turn.
///
/// Written as Python's `with condition:` is: each party holds the lock throughout and lets go
/// only inside `wait`, notifying while it holds the lock. With two parties only one of them
/// ever waits, so `notify_one` and a single `Condvar` suffice.
pub fn condition_condvar(p: task::Condition) -> Outcome {
    let court = Mutex::new(Rally::new());
    let turn_changed = Condvar::new();
    let wait_for = |court, turn| {
        turn_changed
            .wait_while(court, |c: &mut Rally| c.turn != turn)
            .unwrap_or_else(PoisonError::into_inner)
    };
    let rtts = thread::scope(|s| {
        s.spawn(|| {
            let mut court = lock(&court);
            for _ in 0..p.trips {
                court = wait_for(court, Turn::Pong);
                court.strike(condition::pong, Turn::Ping);
                turn_changed.notify_one();
            }
        });
        let mut rtts = Vec::with_capacity(p.trips as usize);
        let mut court = lock(&court);
        for _ in 0..p.trips {
            let start = Instant::now();
            court.strike(condition::ping, Turn::Pong);
            turn_changed.notify_one();
            court = wait_for(court, Turn::Ping);
            rtts.push(nanos_since(start));
        }
        rtts
    });
    let ball = court
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner)
        .ball;
    Outcome::with_latencies(Answer::Value(ball), rtts)
}

/// `parking-lot`: the same monitor on [`parking_lot::Mutex`] and [`parking_lot::Condvar`].
///
/// The shape is identical; what differs is underneath. parking_lot's `notify_one` under the
/// lock does not wake the waiter only for it to block on the mutex: it moves it onto the
/// mutex's queue, to be woken by the unlock inside the notifier's `wait`.
pub fn condition_parking_lot(p: task::Condition) -> Outcome {
    let court = parking_lot::Mutex::new(Rally::new());
    let turn_changed = parking_lot::Condvar::new();
    let rtts = thread::scope(|s| {
        s.spawn(|| {
            let mut court = court.lock();
            for _ in 0..p.trips {
                turn_changed.wait_while(&mut court, |c| c.turn != Turn::Pong);
                court.strike(condition::pong, Turn::Ping);
                turn_changed.notify_one();
            }
        });
        let mut rtts = Vec::with_capacity(p.trips as usize);
        let mut court = court.lock();
        for _ in 0..p.trips {
            let start = Instant::now();
            court.strike(condition::ping, Turn::Pong);
            turn_changed.notify_one();
            turn_changed.wait_while(&mut court, |c| c.turn != Turn::Ping);
            rtts.push(nanos_since(start));
        }
        rtts
    });
    Outcome::with_latencies(Answer::Value(court.into_inner().ball), rtts)
}

// ---------------------------------------------------------------------------------------------
// Plumbing.
// ---------------------------------------------------------------------------------------------

/// Runs `work(w)` for every worker `w` of `workers`: worker 0 on this thread, the others on
/// scoped threads. Returns the results in worker order.
fn on_workers<R: Send>(workers: usize, work: impl Fn(usize) -> R + Sync) -> Vec<R> {
    let work = &work;
    thread::scope(|s| {
        let others: Vec<_> = (1..workers).map(|w| s.spawn(move || work(w))).collect();
        let mine = work(0);
        std::iter::once(mine)
            .chain(others.into_iter().map(joined))
            .collect()
    })
}

/// A value alone on its cache line, so that threads writing it do not slow down those that read
/// its neighbours (false sharing), as `shootout-processes` lays out its shared boards.
#[repr(align(64))]
struct Line<T>(T);

// ---------------------------------------------------------------------------------------------
// Setup: nothing to build; every repetition starts its threads.
// ---------------------------------------------------------------------------------------------

/// Sets up lock's `std-mutex`: [`lock_std_mutex`] every repetition.
pub fn setup_lock_std_mutex(cell: &Cell) -> Result<Runner, Failure> {
    each(cell, |p, w| Ok(lock_std_mutex(p, w)))
}

/// Sets up lock's `parking-lot`: [`lock_parking_lot`] every repetition.
pub fn setup_lock_parking_lot(cell: &Cell) -> Result<Runner, Failure> {
    each(cell, |p, w| Ok(lock_parking_lot(p, w)))
}

/// Sets up lock's `atomic`: [`lock_atomic`] every repetition.
pub fn setup_lock_atomic(cell: &Cell) -> Result<Runner, Failure> {
    each(cell, |p, w| Ok(lock_atomic(p, w)))
}

/// Sets up semaphore's `mutex-condvar`: [`semaphore_mutex_condvar`] every repetition.
pub fn setup_semaphore_mutex_condvar(cell: &Cell) -> Result<Runner, Failure> {
    each(cell, semaphore_mutex_condvar)
}

/// Sets up semaphore's `async-lock`: [`semaphore_async_lock`] every repetition.
pub fn setup_semaphore_async_lock(cell: &Cell) -> Result<Runner, Failure> {
    each(cell, semaphore_async_lock)
}

/// Sets up barrier's `std`: [`barrier_std`] every repetition.
pub fn setup_barrier_std(cell: &Cell) -> Result<Runner, Failure> {
    each(cell, barrier_std)
}

/// Sets up event's `condvar`: [`event_condvar`] every repetition.
pub fn setup_event_condvar(cell: &Cell) -> Result<Runner, Failure> {
    each(cell, event_condvar)
}

/// Sets up event's `event-listener`: [`event_listener()`] every repetition.
pub fn setup_event_listener(cell: &Cell) -> Result<Runner, Failure> {
    each(cell, event_listener)
}

/// Sets up condition's `condvar`: [`condition_condvar`] every repetition.
pub fn setup_condition_condvar(cell: &Cell) -> Result<Runner, Failure> {
    each(cell, |p, _| Ok(condition_condvar(p)))
}

/// Sets up condition's `parking-lot`: [`condition_parking_lot`] every repetition.
pub fn setup_condition_parking_lot(cell: &Cell) -> Result<Runner, Failure> {
    each(cell, |p, _| Ok(condition_parking_lot(p)))
}
