//! The wake-up tasks on tokio, `event` and `condition`, each in two forms that differ in where
//! the waking party runs – which decides what the cell measures.
//!
//! Woken from one of the runtime's workers, a task goes into that worker's LIFO slot and runs
//! next on the same thread: a task switch, a fraction of a microsecond, and no other thread is
//! involved (the slot cannot be stolen). Woken from outside the runtime, the task is pushed to
//! the shared queue and a parked worker is unparked: a wake-up across threads, the thing a
//! thread's `Condvar` costs. So each task comes twice ([`Handoff`]):
//!
//! - `notify`, `watch` (natural): the setter, or the pinger, is the root future, run by
//!   `Runtime::block_on` on the calling thread, never a worker; the waiters, or the ponger, are
//!   tasks. Every wake-up crosses threads, as between OS threads, and the cell checks it: a
//!   wake-up that ran on its waker's thread fails the cell.
//! - `notify-spawned` (restructured): every party is a task, so the runtime hands the wake-up
//!   to the waker's own worker, usually; counted, not checked. The fast path an all-async
//!   program gets, and a different measurement from the threads' rows.
//!
//! # Waiting for an event: `Notify` or `watch`
//!
//! [`Notify`] is tokio's bare wake-up, with no data: `notify_waiters()` wakes every task waiting
//! at that moment and stores nothing for later ones, so the state (here the generation) lives
//! beside it and a waiter must register before it checks the state. Tokio guarantees that "the
//! `Notified` future is guaranteed to receive wakeups from `notify_waiters()` as soon as it has
//! been created, even if it has not yet been polled", so the race-free wait is: create
//! `notified()`, re-check the generation, then await. ([`tokio::sync::futures::Notified::enable`]
//! is the extra step that the `notify_one` forms of that pattern need; its docs say it "has no
//! effect on notifications sent using `notify_waiters`".)
//!
//! A [`watch`] channel is the same thing packaged: the sender stores the latest value and bumps
//! a version, every receiver remembers the version it last saw, and `changed().await` returns as
//! soon as they differ. No wake-up can be lost, and the set time travels with the generation in
//! the value itself. It is the channel tokio's docs give for "broadcasting configuration changes
//! or signalling program state changes": only the most recent value is kept. It costs a
//! read-write lock around the value.
//!
//! In both, the setter waits for the waiters to be ready with the same primitive: a `Notify` whose stored permit
//! (`notify_one`) carries the last waiter's "ready" to it, or a second `watch` whose value is the
//! ready count, sent only when a round's last waiter arrives (`send_if_modified`).
//!
//! # The condition variable
//!
//! Tokio has no `Condvar`, and needs none: a condition variable is a wait that lets go of the
//! lock, and an async task never holds a std lock while it waits. The monitor is therefore the
//! state under a std `Mutex`, locked only inside small non-async methods (the pattern tokio's
//! `Mutex` docs point to), and a [`Notify`] per direction in place of the condition variable.
//! `notify_one()` stores a permit when nobody waits yet, so a hand-over made before its party
//! waits is not lost; with one waiter per `Notify` that is the whole protocol (the
//! single-consumer example in `Notify`'s docs). The ponger is a task on a runtime of two
//! workers (the task fixes W = 2).

use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::{Arc, PoisonError};
use std::time::Instant;

use shootout_suite::sync::condition::{Rally, Turn};
use shootout_suite::sync::{self};
use shootout_suite::task;
use shootout_suite::time::nanos_since;
use shootout_suite::wake::{Handoff, Placement, Whereabouts, thread_tag};
use shootout_suite::{Answer, Cell, Failure, Outcome, Runner};
use tokio::sync::{Notify, watch};

use crate::runtime::{joined, rooted, runtime};
use crate::sync::join_all;

/// `event`, `notify`: the setter stores the generation in an `AtomicU64` and wakes every
/// waiting task with `Notify::notify_waiters()`.
///
/// Tokio's bare "wake everyone": no value, no queue of past events, so a waiter registers
/// (`notified()`) before it re-checks the generation. The setter is this future; the W waiters
/// are tasks.
pub async fn event_notify(
    p: task::Event,
    workers: usize,
    handoff: Handoff,
) -> Result<Outcome, Failure> {
    struct Shared {
        epoch: Instant,
        // The round last set, and when (ns since `epoch`) and on which thread.
        generation: AtomicU64,
        set_at_ns: AtomicU64,
        set_by: AtomicU64,
        event: Notify,
        // Waiters ready, over all rounds; the last of a round tells the setter.
        ready: AtomicU64,
        all_ready: Notify,
    }
    let shared = Arc::new(Shared {
        epoch: Instant::now(),
        generation: AtomicU64::new(0),
        set_at_ns: AtomicU64::new(0),
        set_by: AtomicU64::new(0),
        event: Notify::new(),
        ready: AtomicU64::new(0),
        all_ready: Notify::new(),
    });
    let (rounds, waiters) = (u64::from(p.rounds), workers as u64);
    let tasks = (0..workers).map(|_| {
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let (mut seen, mut acc) = (0, 0);
            let mut latencies_ns = Vec::with_capacity(p.rounds as usize);
            let mut placement = Placement::default();
            while seen < rounds {
                if shared.ready.fetch_add(1, Relaxed) + 1 == waiters * (seen + 1) {
                    shared.all_ready.notify_one();
                }
                loop {
                    // Registered from here on: a `notify_waiters` after this line wakes it.
                    let notified = shared.event.notified();
                    if shared.generation.load(Acquire) > seen {
                        break;
                    }
                    notified.await;
                }
                let now = nanos_since(shared.epoch);
                let round = shared.generation.load(Acquire);
                latencies_ns.push(now.saturating_sub(shared.set_at_ns.load(Relaxed)));
                placement.note(shared.set_by.load(Relaxed));
                acc = sync::event::fold(acc, round);
                seen = round;
            }
            (acc, latencies_ns, placement)
        })
    });
    let tasks: Vec<_> = tasks.collect();
    for round in 1..=rounds {
        // One waiter (the setter) per `Notify`: the permit `notify_one` stores when the setter
        // is not waiting yet is what makes a plain `notified().await` safe.
        while shared.ready.load(Relaxed) < waiters * round {
            shared.all_ready.notified().await;
        }
        shared.set_by.store(thread_tag(), Relaxed);
        shared.set_at_ns.store(nanos_since(shared.epoch), Relaxed);
        shared.generation.store(round, Release);
        shared.event.notify_waiters();
    }
    sync::event::outcome(join_all(tasks).await, handoff)
}

/// `event`, `watch`: the setter sends each round, with its set time, on a `watch` channel;
/// every waiter's `changed().await` returns when the value moves past what it saw.
///
/// Tokio's channel for broadcasting the latest value: it keeps the value and a version, so no
/// wake-up can be lost and no separate state is needed. The setter is this future; the W
/// waiters are tasks.
pub async fn event_watch(
    p: task::Event,
    workers: usize,
    handoff: Handoff,
) -> Result<Outcome, Failure> {
    /// What the setter broadcasts: the round, when it was set (ns since the epoch) and by
    /// which thread.
    #[derive(Clone, Copy)]
    struct Set {
        round: u64,
        at_ns: u64,
        by: u64,
    }
    let epoch = Instant::now();
    let first = Set {
        round: 0,
        at_ns: 0,
        by: 0,
    };
    let (set_tx, set_rx) = watch::channel(first);
    // The waiters ready, over all rounds: the setter is told only when a round's last arrives.
    let (ready_tx, mut ready_rx) = watch::channel(0u64);
    let (rounds, waiters) = (u64::from(p.rounds), workers as u64);
    let tasks = (0..workers).map(|_| {
        let (mut set_rx, ready_tx) = (set_rx.clone(), ready_tx.clone());
        tokio::spawn(async move {
            let (mut seen, mut acc) = (0, 0);
            let mut latencies_ns = Vec::with_capacity(p.rounds as usize);
            let mut placement = Placement::default();
            while seen < rounds {
                // Every increment but the round's last modifies the value and returns `false`, so
                // it notifies no one: a silent modification that `send_if_modified`'s docs allow.
                // The round's last returns `true` and notifies, and `wait_for` reads the current
                // value, so the setter misses nothing.
                ready_tx.send_if_modified(|ready| {
                    *ready += 1;
                    *ready == waiters * (seen + 1)
                });
                if set_rx.changed().await.is_err() {
                    break; // The setter is gone; only a panic does that.
                }
                let now = nanos_since(epoch);
                let set = *set_rx.borrow_and_update();
                latencies_ns.push(now.saturating_sub(set.at_ns));
                placement.note(set.by);
                acc = sync::event::fold(acc, set.round);
                seen = set.round;
            }
            (acc, latencies_ns, placement)
        })
    });
    let tasks: Vec<_> = tasks.collect();
    drop((set_rx, ready_tx));
    for round in 1..=rounds {
        if ready_rx
            .wait_for(|&ready| ready >= waiters * round)
            .await
            .is_err()
        {
            break; // Every waiter is gone; only a panic does that, and joining passes it on.
        }
        let (at_ns, by) = (nanos_since(epoch), thread_tag());
        set_tx.send_replace(Set { round, at_ns, by });
    }
    sync::event::outcome(join_all(tasks).await, handoff)
}

/// `condition`, `notify`: the ball and whose turn it is under a std `Mutex`, a `Notify` per
/// direction for the hand-over; the pinger is this future, the ponger a task.
///
/// The async form of the `Mutex` + `Condvar` monitor: the lock is never held while waiting,
/// and `notify_one()` stores a permit if its party is not waiting yet, so no hand-over is lost.
pub async fn condition_notify(p: task::Condition, handoff: Handoff) -> Result<Outcome, Failure> {
    let table = Arc::new(Table {
        rally: std::sync::Mutex::new(Rally::new()),
        to_ponger: Notify::new(),
        to_pinger: Notify::new(),
    });
    let ponger = {
        let table = Arc::clone(&table);
        tokio::spawn(async move {
            let mut placement = Placement::default();
            for _ in 0..p.trips {
                placement.note(table.wait_for(Turn::Pong, &table.to_ponger).await);
                table.strike(sync::condition::pong, Turn::Ping);
                table.to_pinger.notify_one();
            }
            placement
        })
    };
    let mut rtts_ns = Vec::with_capacity(p.trips as usize);
    let mut placement = Placement::default();
    for _ in 0..p.trips {
        let start = Instant::now();
        table.strike(sync::condition::ping, Turn::Pong);
        table.to_ponger.notify_one();
        placement.note(table.wait_for(Turn::Ping, &table.to_pinger).await);
        rtts_ns.push(nanos_since(start));
    }
    placement.merge(joined(ponger.await));
    placement.check(handoff)?;
    let ball = table.rally().ball;
    Ok(Outcome::with_latencies(Answer::Value(ball), rtts_ns).placed(Whereabouts::Wakes(placement)))
}

/// The monitor of `condition`: the state under a std `Mutex`, locked only in the non-async
/// methods below, so that no guard can be held across an `.await`.
struct Table {
    rally: std::sync::Mutex<Rally>,
    to_ponger: Notify,
    to_pinger: Notify,
}

impl Table {
    fn rally(&self) -> std::sync::MutexGuard<'_, Rally> {
        self.rally.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Plays a stroke and passes the turn.
    fn strike(&self, stroke: fn(u64) -> u64, next: Turn) {
        self.rally().strike(stroke, next);
    }

    /// Waits until the turn is `mine`, woken through `bell`, and says which thread passed it.
    /// A permit left from an earlier hand-over at worst costs one more look at the state.
    async fn wait_for(&self, mine: Turn, bell: &Notify) -> u64 {
        loop {
            {
                let rally = self.rally();
                if rally.turn == mine {
                    return rally.striker;
                }
            }
            bell.notified().await;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Setup: a runtime of W workers per cell (two for the condition), the root where `handoff` says.
// ---------------------------------------------------------------------------------------------

/// Sets up event's `notify` (cross-thread) or `notify-spawned` (`handoff`).
pub fn setup_event_notify(cell: &Cell, handoff: Handoff) -> Result<Runner, Failure> {
    let p: task::Event = cell.params()?;
    let workers = cell.workers;
    rooted(runtime(workers)?, handoff, move || {
        event_notify(p, workers, handoff)
    })
}

/// Sets up event's `watch`: the setter on the calling thread.
pub fn setup_event_watch(cell: &Cell) -> Result<Runner, Failure> {
    let p: task::Event = cell.params()?;
    let workers = cell.workers;
    let handoff = Handoff::CrossThread;
    rooted(runtime(workers)?, handoff, move || {
        event_watch(p, workers, handoff)
    })
}

/// Sets up condition's `notify` (cross-thread) or `notify-spawned` (`handoff`).
pub fn setup_condition_notify(cell: &Cell, handoff: Handoff) -> Result<Runner, Failure> {
    let p: task::Condition = cell.params()?;
    rooted(runtime(cell.workers)?, handoff, move || {
        condition_notify(p, handoff)
    })
}

#[cfg(test)]
mod tests {
    use shootout_suite::Profile;

    use super::*;
    use crate::runtime::run_task;

    /// The check bites: with every party a task of a one-worker runtime, setter and waiters
    /// share the thread, so a cell that claims cross-thread wake-ups must fail, and the same
    /// run as the spawned form (tallied only) must pass.
    #[test]
    fn a_cross_thread_cell_that_woke_on_the_wakers_thread_fails() {
        let rt = runtime(1).unwrap();
        let event = task::Event::profile(Profile::Smoke);
        let condition = task::Condition::profile(Profile::Smoke);
        let failures = [
            run_task(&rt, event_notify(event, 2, Handoff::CrossThread)).err(),
            run_task(&rt, event_watch(event, 2, Handoff::CrossThread)).err(),
            run_task(&rt, condition_notify(condition, Handoff::CrossThread)).err(),
        ];
        for failure in failures {
            let message = failure
                .expect("the check let a same-thread wake-up pass")
                .to_string();
            assert!(message.contains("ran on the waker's thread"), "{message}");
        }
        run_task(&rt, event_notify(event, 2, Handoff::Spawned)).unwrap();
        run_task(&rt, condition_notify(condition, Handoff::Spawned)).unwrap();
    }
}
