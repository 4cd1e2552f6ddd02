//! The sync family, thread per core: cores meeting at a barrier, one thread releasing the
//! cores, two cores passing a ball. Lock and semaphore are `n/a`.
//!
//! A thread-per-core program's answer to shared state is not to share it: a counter every core
//! updates is sharded, a core per shard, and a lock the cores contend for is the design the
//! model exists to avoid (the threads backend's rows measure that lock). So the lock and
//! semaphore tasks are declared not applicable. What the cores do have to do together is wait
//! for each other and signal each other, and those three tasks run here, each party a future
//! on its own core's runtime, every wake-up a cross-thread one:
//!
//! - barrier: W cores step the stencil, meeting at one [`async_lock::Barrier`] for W between
//!   phases (a suspended core's runtime sleeps until the last arrival's wake-up reaches it).
//! - event: W waiter cores and one more thread, the setter's, also a compio runtime. The
//!   setter waits until all W are ready, bumps a generation number and notifies an
//!   [`event_listener::Event`]; each waiter waits with [`until`]. Every wake-up crosses threads
//!   (checked): as the in-process async backends' natural event, whose setter is the calling
//!   thread, the setter's thread is one besides the W.
//! - condition: the pinger on core 0 and the ponger on core 1, whatever W is asked (the task
//!   fixes two parties), each handing the ball over through a monitor (a std `Mutex` locked
//!   only outside `.await`s, an `Event` per direction): every hand-over a wake-up of the other
//!   core (checked).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError};
use std::time::Instant;

use shootout_suite::sync::barrier::{self, PhaseLog, buffers, chunk, step};
use shootout_suite::sync::condition::{Rally, Turn, ping, pong};
use shootout_suite::sync::event;
use shootout_suite::task::{Barrier, Condition, Event};
use shootout_suite::time::nanos;
use shootout_suite::wake::{Handoff, Placement, Whereabouts, thread_tag};
use shootout_suite::{Answer, Cell, Failure, Outcome, Runner};

use crate::runtime::{self, noted};

/// Waits on `event` until `check` finds what it looks for, and returns it: check, listen,
/// check again, await the listener (event-listener's own idiom, as in the smol backend).
pub async fn until<T>(event: &event_listener::Event, mut check: impl FnMut() -> Option<T>) -> T {
    loop {
        if let Some(found) = check() {
            return found;
        }
        event_listener::listener!(event => listener);
        if let Some(found) = check() {
            return found;
        }
        listener.await;
    }
}

// ---------------------------------------------------------------------------------------------
// barrier: W cores, phases separated by an async barrier.
// ---------------------------------------------------------------------------------------------

/// What the cores of `barrier` share: the stencil's two buffers, the phase log's slots and
/// the barrier.
struct Ring {
    a: Vec<AtomicU64>,
    b: Vec<AtomicU64>,
    slots: Vec<AtomicU64>,
    barrier: async_lock::Barrier,
}

/// Sets up `async-lock` barrier: W cores, one [`async_lock::Barrier`] for W.
pub fn setup_barrier(cell: &Cell) -> Result<Runner, Failure> {
    let p: Barrier = cell.params()?;
    let workers = cell.workers;
    let (cores, driver) = runtime::start(workers, |_, _| Ok(()))?;
    noted(driver, move |_| {
        let ring = Arc::new(Ring {
            a: barrier::initial(p.width),
            b: barrier::initial(p.width),
            slots: (0..workers).map(|_| AtomicU64::new(0)).collect(),
            barrier: async_lock::Barrier::new(workers),
        });
        let shared = Arc::clone(&ring);
        let ran_on = cores.each(move |worker, core| {
            core.rt.block_on(async {
                let log = PhaseLog::new(&shared.slots);
                let mut checked = Ok(());
                let mut ran_on = Vec::with_capacity(p.phases as usize);
                for phase in 0..p.phases {
                    // After an overlap the core stops computing but still meets the others at
                    // every barrier, so that none of them waits forever.
                    if checked.is_ok() {
                        checked = log.enter(worker, phase);
                    }
                    if checked.is_ok() {
                        let (src, dst) = buffers(phase, &shared.a[..], &shared.b[..]);
                        step(src, dst, chunk(p.width, workers, worker), phase);
                    }
                    ran_on.push(thread_tag());
                    shared.barrier.wait().await;
                }
                checked.map(|()| ran_on)
            })
        });
        let ran_on = ran_on.into_iter().collect::<Result<Vec<_>, Failure>>()?;
        let cells = barrier::result(p.phases, &ring.a, &ring.b);
        Ok(Outcome::value(barrier::checksum(cells)).placed(Whereabouts::Phases(ran_on)))
    })
}

// ---------------------------------------------------------------------------------------------
// event: one setter thread releases W waiter cores.
// ---------------------------------------------------------------------------------------------

/// What the setter and the waiters share.
struct Signal {
    /// The last round set (0 before the first).
    generation: AtomicU64,
    /// When it was set, in nanoseconds since `epoch`.
    set_at: AtomicU64,
    /// The [`thread_tag`] of the setter's thread.
    set_by: AtomicU64,
    /// Notified, every listener at once, when `generation` moves.
    set: event_listener::Event,
    /// How many times a waiter has got ready, over all rounds: W·r when all are ready for r.
    ready: AtomicU64,
    /// Notified by the last waiter to get ready for a round.
    all_ready: event_listener::Event,
    epoch: Instant,
}

/// Sets up `event-listener` event: W waiter cores and a setter on a thread (and runtime) of
/// its own.
pub fn setup_event(cell: &Cell) -> Result<Runner, Failure> {
    let p: Event = cell.params()?;
    let workers = cell.workers;
    let (cores, driver) = runtime::start(workers + 1, |_, _| Ok(()))?;
    noted(driver, move |_| {
        let (rounds, w) = (u64::from(p.rounds), workers as u64);
        let signal = Arc::new(Signal {
            generation: AtomicU64::new(0),
            set_at: AtomicU64::new(0),
            set_by: AtomicU64::new(0),
            set: event_listener::Event::new(),
            ready: AtomicU64::new(0),
            all_ready: event_listener::Event::new(),
            epoch: Instant::now(),
        });
        let results = cores.each(move |i, core| {
            let s = &*signal;
            if i == workers {
                core.rt.block_on(set_rounds(s, rounds, w));
                return None;
            }
            Some(core.rt.block_on(async {
                let (mut seen, mut acc) = (0, 0);
                let mut latencies = Vec::with_capacity(p.rounds as usize);
                let mut placement = Placement::default();
                while seen < rounds {
                    // Ready for round `seen + 1`: the last of the W to say so wakes the setter.
                    if s.ready.fetch_add(1, Ordering::SeqCst) + 1 == w * (seen + 1) {
                        s.all_ready.notify(1);
                    }
                    let round = until(&s.set, || {
                        let generation = s.generation.load(Ordering::SeqCst);
                        (generation > seen).then_some(generation)
                    })
                    .await;
                    let set_at = s.set_at.load(Ordering::Relaxed);
                    latencies.push(nanos(s.epoch.elapsed()).saturating_sub(set_at));
                    placement.note(s.set_by.load(Ordering::Relaxed));
                    acc = event::fold(acc, round);
                    seen = round;
                }
                (acc, latencies, placement)
            }))
        });
        event::outcome(results.into_iter().flatten(), Handoff::CrossThread)
    })
}

/// The setter: `rounds` times, waits until all `w` waiters are ready, then sets the next round.
async fn set_rounds(s: &Signal, rounds: u64, w: u64) {
    for round in 1..=rounds {
        until(&s.all_ready, || {
            (s.ready.load(Ordering::SeqCst) >= w * round).then_some(())
        })
        .await;
        s.set_by.store(thread_tag(), Ordering::Relaxed);
        s.set_at.store(nanos(s.epoch.elapsed()), Ordering::Relaxed);
        s.generation.store(round, Ordering::SeqCst);
        s.set.notify(usize::MAX);
    }
}

// ---------------------------------------------------------------------------------------------
// condition: two cores pass a ball through a monitor.
// ---------------------------------------------------------------------------------------------

/// The monitor: the state under a std `Mutex`, locked only in the non-async methods below, and
/// an event for each direction.
struct Table {
    rally: std::sync::Mutex<Rally>,
    to_ponger: event_listener::Event,
    to_pinger: event_listener::Event,
}

impl Table {
    fn rally(&self) -> std::sync::MutexGuard<'_, Rally> {
        self.rally.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Plays a stroke and passes the turn.
    fn strike(&self, stroke: fn(u64) -> u64, next: Turn) {
        self.rally().strike(stroke, next);
    }

    /// Whether the turn is `mine`, with the tag of the thread that passed it.
    fn turn_is(&self, mine: Turn) -> Option<u64> {
        let rally = self.rally();
        (rally.turn == mine).then_some(rally.striker)
    }
}

/// Sets up `event-listener` condition: the pinger on core 0, the ponger on core 1.
pub fn setup_condition(cell: &Cell) -> Result<Runner, Failure> {
    let p: Condition = cell.params()?;
    let (cores, driver) = runtime::start(2, |_, _| Ok(()))?;
    noted(driver, move |_| {
        let table = Arc::new(Table {
            rally: std::sync::Mutex::new(Rally::new()),
            to_ponger: event_listener::Event::new(),
            to_pinger: event_listener::Event::new(),
        });
        let shared = Arc::clone(&table);
        let parties = cores.each(move |i, core| {
            let t = &*shared;
            core.rt.block_on(async {
                let mut placement = Placement::default();
                let mut round_trips = Vec::new();
                for _ in 0..p.trips {
                    if i == 0 {
                        let start = Instant::now();
                        t.strike(ping, Turn::Pong);
                        t.to_ponger.notify(1);
                        placement.note(until(&t.to_pinger, || t.turn_is(Turn::Ping)).await);
                        round_trips.push(nanos(start.elapsed()));
                    } else {
                        placement.note(until(&t.to_ponger, || t.turn_is(Turn::Pong)).await);
                        t.strike(pong, Turn::Ping);
                        t.to_pinger.notify(1);
                    }
                }
                (placement, round_trips)
            })
        });
        let mut placement = Placement::default();
        let mut round_trips = Vec::new();
        for (placed, trips) in parties {
            placement.merge(placed);
            round_trips.extend(trips);
        }
        placement.check(Handoff::CrossThread)?;
        let ball = table.rally().ball;
        let outcome = Outcome::with_latencies(Answer::Value(ball), round_trips);
        Ok(outcome.placed(Whereabouts::Wakes(placement)))
    })
}
