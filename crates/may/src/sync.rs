//! The classic primitives on may: its own `Mutex`, `Semphore`, `Barrier` and `Condvar`.
//!
//! may ships the thread primitives again, made for coroutines (`may::sync`): a coroutine that
//! must wait parks, and its worker runs another coroutine; the same primitive called from a
//! plain thread blocks the thread. They are written like std's, guard, `LockResult` and all.
//!
//! | task | variant | the idiom |
//! |---|---|---|
//! | lock | `mutex` | [`may::sync::Mutex`] around the counter, one `lock()` per entry |
//! | semaphore | `semphore` | [`may::sync::Semphore`] (may's spelling) of S permits: `wait`, `post` |
//! | barrier | `barrier` | [`may::sync::Barrier`] for W coroutines between phases |
//! | event | `condvar` | a generation under a may `Mutex` and a may `Condvar`, `notify_all`: Python's `threading.Event`; the setter on the calling thread, so every wake-up crosses threads (checked) |
//! | condition | `condvar` | the textbook monitor on may's `Mutex` + `Condvar`; the pinger on the calling thread, the ponger a coroutine (checked) |
//!
//! may's `SyncFlag` is an event that is set once and never reset, so a task of many rounds
//! would need a fresh one per round and a way to hand it to every waiter: the `Condvar`
//! monitor is the event a may program writes.
//!
//! # Who runs
//!
//! Lock, semaphore and barrier run W coroutines on W workers; the calling thread waits.
//! Event runs W waiter coroutines, and the calling thread, outside the scheduler, is the
//! setter; condition runs the ponger as a coroutine and the pinger on the calling thread. So
//! every wake-up of those two is a thread waking a coroutine on a worker, or a worker waking
//! the parked calling thread: a cross-thread wake-up, which [`Handoff::CrossThread`] checks.
//!
//! The work inside each section, the semaphore's `Gauge`, the barrier's `PhaseLog` and the
//! reference answers are the suite's ([`shootout_suite::sync`]). Every party that records which
//! thread it ran on reads it through `coroutine::thread_tag`, and the
//! condition's strokes are played here rather than with `Rally::strike`, which reads the tag
//! inline (see `src/coroutine.rs`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex as StdMutex, PoisonError};
use std::time::Instant;

use may::sync::{Barrier, Condvar, Mutex, MutexGuard, Semphore};
use shootout_suite::sync::condition::{self, Rally, Turn};
use shootout_suite::sync::lock::Counter;
use shootout_suite::sync::semaphore::{Gauge, contribution, entries_of};
use shootout_suite::sync::{self, barrier, event};
use shootout_suite::task::{self, Lock};
use shootout_suite::time::nanos_since;
use shootout_suite::wake::{Handoff, Placement, Whereabouts};
use shootout_suite::{Answer, Cell, Failure, Outcome, Runner, Tally, Task};

use crate::coroutine::{self, thread_tag};
use crate::runtime;

// ---------------------------------------------------------------------------------------------
// lock, semaphore, barrier: W coroutines.
// ---------------------------------------------------------------------------------------------

/// `mutex`: W coroutines, each taking a [`may::sync::Mutex`] once per entry.
pub fn lock_mutex(p: Lock, workers: usize) -> Outcome {
    let counter = Mutex::new(Counter::default());
    let counter = &counter;
    coroutine::all((0..workers).map(|w| {
        move || {
            for _ in 0..sync::share(p.increments, workers, w) {
                lock(counter).increment(p.section);
            }
        }
    }));
    Outcome::value(lock(counter).checksum())
}

/// `semphore`: W coroutines, each taking one of the [`Semphore`]'s permits per entry.
pub fn semaphore_semphore(p: task::Semaphore, workers: usize) -> Result<Outcome, Failure> {
    let permits = Semphore::new(p.permits);
    let gauge = Gauge::new(p.permits, workers, p.entries);
    let (permits, gauge) = (&permits, &gauge);
    let tallies = coroutine::all((0..workers).map(|w| {
        move || {
            let mut tally = Tally::new();
            for entry in entries_of(w, workers, p.entries) {
                permits.wait();
                gauge.enter();
                // The first ones in hold their permits until the section has been full once
                // (see `Gauge`). Scheduling is cooperative: the wait must yield its worker, or
                // on W = 1 nobody else could ever get in.
                while !gauge.full() {
                    may::coroutine::yield_now();
                }
                tally.add(contribution(entry, p.section));
                gauge.leave();
                permits.post();
            }
            tally
        }
    }));
    gauge.verify(p.permits)?;
    let mut total = Tally::new();
    tallies.into_iter().for_each(|tally| total.merge(tally));
    Ok(Outcome::tally(total))
}

/// `barrier`: W coroutines stepping the stencil, a [`may::sync::Barrier`] after each phase.
pub fn barrier_barrier(p: task::Barrier, workers: usize) -> Result<Outcome, Failure> {
    let (a, b) = (barrier::initial(p.width), barrier::initial(p.width));
    let slots: Vec<AtomicU64> = (0..workers).map(|_| AtomicU64::new(0)).collect();
    let log = barrier::PhaseLog::new(&slots);
    let phase_end = Barrier::new(workers);
    let (a, b, log, phase_end) = (&a, &b, &log, &phase_end);
    let parties = coroutine::all((0..workers).map(|w| {
        move || {
            let mut failure = None;
            // The worker each phase ran on: a coroutine may resume on another after a wait.
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
        }
    }));
    let ran_on = parties.into_iter().collect::<Result<Vec<_>, Failure>>()?;
    let answer = barrier::checksum(barrier::result(p.phases, a, b));
    Ok(Outcome::value(answer).placed(Whereabouts::Phases(ran_on)))
}

// ---------------------------------------------------------------------------------------------
// event: the calling thread sets, W coroutines wait.
// ---------------------------------------------------------------------------------------------

/// `condvar` event: the generation and the ready count each under a may `Mutex` with a
/// `Condvar`; the calling thread sets each round once all W waiters are ready.
pub fn event_condvar(p: task::Event, workers: usize) -> Result<Outcome, Failure> {
    let rounds = u64::from(p.rounds);
    let (generation, ready) = (&Monitor::default(), &Monitor::default());
    let epoch = Instant::now();
    let (set_at_ns, set_by) = (&AtomicU64::new(0), &AtomicU64::new(0));
    // Each waiter's answer, latencies and placement, pushed once at its end.
    let waiters = &StdMutex::new(Vec::with_capacity(workers));
    coroutine::spawning(|spawn| {
        for _ in 0..workers {
            spawn(Box::new(move || {
                let (mut seen, mut acc) = (0, 0);
                let mut latencies = Vec::with_capacity(p.rounds as usize);
                let mut placement = Placement::default();
                while seen < rounds {
                    ready.count_up(workers as u64);
                    let round = generation.wait_past(seen);
                    // Both were stored before the set, which the wait synchronises with.
                    latencies
                        .push(nanos_since(epoch).saturating_sub(set_at_ns.load(Ordering::Relaxed)));
                    placement.note(set_by.load(Ordering::Relaxed));
                    acc = event::fold(acc, round);
                    seen = round;
                }
                let mut waiters = waiters.lock().unwrap_or_else(PoisonError::into_inner);
                waiters.push((acc, latencies, placement));
            }));
        }
        // This thread is the setter: every waiter is ready before each round is set.
        for round in 1..=rounds {
            ready.wait_past(workers as u64 * round - 1);
            set_by.store(thread_tag(), Ordering::Relaxed);
            set_at_ns.store(nanos_since(epoch), Ordering::Relaxed);
            generation.set(round);
        }
    });
    let waiters = std::mem::take(&mut *waiters.lock().unwrap_or_else(PoisonError::into_inner));
    event::outcome(waiters, Handoff::CrossThread)
}

/// A number under a may `Mutex`, and a `Condvar` to wait for it to pass a value.
#[derive(Default)]
struct Monitor {
    value: Mutex<u64>,
    changed: Condvar,
}

impl Monitor {
    /// Sets the number and wakes every waiter (after the unlock, so that the woken do not wake
    /// only to wait for the lock).
    fn set(&self, to: u64) {
        *lock(&self.value) = to;
        self.changed.notify_all();
    }

    /// Adds one, and wakes the one waiter (the setter) when the count reaches a multiple of
    /// `every`.
    fn count_up(&self, every: u64) {
        let mut value = lock(&self.value);
        *value += 1;
        let wake = *value % every == 0;
        drop(value);
        if wake {
            self.changed.notify_one();
        }
    }

    /// Waits until the number is past `seen`, and returns it.
    fn wait_past(&self, seen: u64) -> u64 {
        *self
            .changed
            .wait_while(lock(&self.value), |value| *value <= seen)
            .unwrap_or_else(PoisonError::into_inner)
    }
}

// ---------------------------------------------------------------------------------------------
// condition: the calling thread pings, a coroutine pongs.
// ---------------------------------------------------------------------------------------------

/// `condvar` condition: the ball in a [`Rally`] under a may `Mutex`, one `Condvar` for "the
/// turn changed"; each party strikes, notifies, and waits for its turn.
pub fn condition_condvar(p: task::Condition) -> Result<Outcome, Failure> {
    let court = &Mutex::new(Rally::new());
    let turn_changed = &Condvar::new();
    let ponger_placed = &StdMutex::new(Placement::default());
    let mut round_trips = Vec::with_capacity(p.trips as usize);
    let mut placement = Placement::default();
    coroutine::spawning(|spawn| {
        spawn(Box::new(move || {
            let mut placed = Placement::default();
            let mut court = lock(court);
            for _ in 0..p.trips {
                court = turn_changed
                    .wait_while(court, |c| c.turn != Turn::Pong)
                    .unwrap_or_else(PoisonError::into_inner);
                placed.note(court.striker);
                strike(&mut court, condition::pong, Turn::Ping);
                turn_changed.notify_one();
            }
            drop(court);
            *ponger_placed.lock().unwrap_or_else(PoisonError::into_inner) = placed;
        }));
        // This thread is the pinger.
        let mut court = lock(court);
        for _ in 0..p.trips {
            let start = Instant::now();
            strike(&mut court, condition::ping, Turn::Pong);
            turn_changed.notify_one();
            court = turn_changed
                .wait_while(court, |c| c.turn != Turn::Ping)
                .unwrap_or_else(PoisonError::into_inner);
            placement.note(court.striker);
            round_trips.push(nanos_since(start));
        }
    });
    placement.merge(*ponger_placed.lock().unwrap_or_else(PoisonError::into_inner));
    placement.check(Handoff::CrossThread)?;
    let ball = lock(court).ball;
    let outcome = Outcome::with_latencies(Answer::Value(ball), round_trips);
    Ok(outcome.placed(Whereabouts::Wakes(placement)))
}

/// `Rally::strike`, with the striker's tag read through [`thread_tag`].
fn strike(rally: &mut Rally, stroke: fn(u64) -> u64, next: Turn) {
    rally.ball = stroke(rally.ball);
    rally.turn = next;
    rally.striker = thread_tag();
}

// ---------------------------------------------------------------------------------------------
// Plumbing and setup.
// ---------------------------------------------------------------------------------------------

/// Locks a may `Mutex`, ignoring poisoning (a panicking party fails the repetition anyway).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The runner of a sync variant: `run(p, W)` once per repetition.
fn each<P: TryFrom<Task> + Copy + 'static>(
    cell: &Cell,
    mut run: impl FnMut(P, usize) -> Result<Outcome, Failure> + 'static,
) -> Result<Runner, Failure> {
    let (p, workers) = (cell.params()?, cell.workers);
    runtime::runner(cell, move |_| run(p, workers))
}

/// Sets up `mutex` lock: [`lock_mutex`].
pub fn setup_lock_mutex(cell: &Cell) -> Result<Runner, Failure> {
    each(cell, |p, w| Ok(lock_mutex(p, w)))
}

/// Sets up `semphore` semaphore: [`semaphore_semphore`].
pub fn setup_semaphore_semphore(cell: &Cell) -> Result<Runner, Failure> {
    each(cell, semaphore_semphore)
}

/// Sets up `barrier` barrier: [`barrier_barrier`].
pub fn setup_barrier_barrier(cell: &Cell) -> Result<Runner, Failure> {
    each(cell, barrier_barrier)
}

/// Sets up `condvar` event: [`event_condvar`].
pub fn setup_event_condvar(cell: &Cell) -> Result<Runner, Failure> {
    each(cell, event_condvar)
}

/// Sets up `condvar` condition: [`condition_condvar`].
pub fn setup_condition_condvar(cell: &Cell) -> Result<Runner, Failure> {
    each(cell, |p, _| condition_condvar(p))
}
