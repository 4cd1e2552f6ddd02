//! The sync family on async-lock and event-listener: a `Mutex`, a `Semaphore` and a `Barrier`
//! from async-lock, and event-listener's `Event` for the event and the monitor.
//!
//! A blocking primitive parks a thread until another thread wakes it. An async one suspends a
//! task: the future returns `Pending`, leaving its waker behind, and the thread runs whatever
//! task is ready next. smol and async-std take their primitives from the same two small crates
//! (async-std's own `sync::Mutex` is async-lock's, re-exported), so the whole family is written
//! once, here, generic only over how a task is spawned ([`Spawn`]) and how it yields
//! ([`Yield`]):
//!
//! - [`event_listener`] is the mechanism underneath everything. An [`event_listener::Event`]
//!   is a list of listeners, and waiting for a condition is always the same steps ([`until`]):
//!   check it, start listening (`event.listen()`), check it again, then await the listener.
//!   Whoever changes the condition calls `event.notify(n)`. The second check closes the window
//!   in which a notification sent between the first check and `listen` would be lost. It is to
//!   async code what a futex is to thread primitives.
//! - [`async_lock`] builds each primitive on it: an atomic fast path, and an `Event` to sleep on
//!   when the fast path fails.
//!
//! The lock, the semaphore and the barrier use async-lock's types. The event and the monitor
//! have no ready-made type in either crate (tokio has `Notify`; async-std's `Condvar` is behind
//! its `unstable` feature), so they are written with event-listener directly, the way
//! async-lock writes its own primitives.
//!
//! # Tasks, threads and waiting
//!
//! Every repetition runs W worker tasks on the runtime's W executor threads. The event's setter
//! and the condition's pinger are the repetition's root future: run on the calling thread,
//! outside the executor, in the natural variants, so that every wake-up crosses threads as it
//! does between OS threads (each party checks the thread it woke on:
//! [`shootout_suite::wake`]); spawned as one more task in the `-spawned` variants, where the
//! executor may run a woken task on its waker's thread. Tasks are `'static`, so what the
//! workers share lives in an `Arc`, allocated per repetition.
//!
//! With as many tasks as threads, a task that suspends usually leaves its thread with nothing
//! else to run, and the thread sleeps in the executor until a wake-up schedules a task for it.
//! So a hand-off between tasks on two threads still costs a thread wake-up, as on the threads
//! backend, plus the executor's scheduling; a hand-off between two tasks that happen to share
//! a thread is a queue push and a poll.
//!
//! Waiting is cooperative: an `.await` on a primitive that is free returns at once, without
//! yielding. A task that keeps finding the lock free keeps its thread, which is what makes the
//! uncontended path cheap, and also why the gauge's wait must yield by hand. None of the
//! critical sections here awaits anything; an async guard may be held across an `.await`,
//! which is what the async primitives exist for, but the tasks do not need it.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError};
use std::time::Instant;

use async_lock::Mutex;
use shootout_suite::sync::barrier::{self, PhaseLog, buffers, chunk, step};
use shootout_suite::sync::condition::{Rally, Turn, ping, pong};
use shootout_suite::sync::lock::Counter;
use shootout_suite::sync::semaphore::{Gauge, contribution, entries_of};
use shootout_suite::sync::{event, share};
use shootout_suite::task::{Barrier, Condition, Event, Lock, Semaphore};
use shootout_suite::time::nanos;
use shootout_suite::wake::{Handoff, Placement, Whereabouts, thread_tag};
use shootout_suite::{Answer, Cell, Failure, Outcome, Runner, Tally, Task};

use crate::runtime::{Runtime, Spawn, rooted, tasks_on, try_tasks_on};

/// The runtime's way for a task to let the others run: the gauge's wait in `semaphore`.
pub trait Yield: Spawn {
    /// Returns `Pending` once, after waking its own task: the task goes to the back of the
    /// queue.
    fn yield_now() -> impl Future<Output = ()> + Send;
}

// ---------------------------------------------------------------------------------------------
// lock: W tasks, one async mutex.
// ---------------------------------------------------------------------------------------------

/// `async-lock` (smol) and `mutex` (async-std, whose `sync::Mutex` is this type): W tasks share
/// one [`async_lock::Mutex`]`<Counter>`; every entry is a `lock().await`, an increment and the
/// guard's drop.
///
/// The mutex to reach for when a critical section may await, or when a task must not block its
/// thread while it waits for the lock. A free lock is one compare-and-swap and never yields; a
/// taken one makes the task listen on the mutex's `Event` and suspend, and each unlock wakes one
/// listener. It is not strictly fair (the task that unlocks may take the lock again before the
/// woken one runs), but a lock operation starved for more than half a millisecond forces a fair
/// hand-off.
pub async fn lock_async_lock<S: Spawn>(s: S, p: Lock, workers: usize) -> Outcome {
    let counter = Arc::new(Mutex::new(Counter::default()));
    let tasks = spawn_workers(s, workers, |worker| {
        let counter = Arc::clone(&counter);
        async move {
            for _ in 0..share(p.increments, workers, worker) {
                // The guard is a temporary: the lock is released at the end of the statement.
                counter.lock().await.increment(p.section);
            }
        }
    });
    join(tasks).await;
    let counter = *counter.lock().await;
    Outcome::value(counter.checksum())
}

/// `std-mutex`: the same W tasks around a [`std::sync::Mutex`]`<Counter>`, locked and released
/// within one statement, never across an `.await`.
///
/// The advice tokio's documentation gives holds for any runtime: when the guard never crosses
/// an `.await`, a blocking mutex is the cheaper lock – it is never awaited, so there is no
/// waker to register and no task to wake. A task that finds it taken blocks its worker thread
/// (std's lock spins briefly, then sleeps on a futex) rather than yielding it, which is harmless
/// while sections are short.
pub async fn lock_std_mutex<S: Spawn>(s: S, p: Lock, workers: usize) -> Outcome {
    let counter = Arc::new(std::sync::Mutex::new(Counter::default()));
    let tasks = spawn_workers(s, workers, |worker| {
        let counter = Arc::clone(&counter);
        async move {
            for _ in 0..share(p.increments, workers, worker) {
                counter
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .increment(p.section);
            }
        }
    });
    join(tasks).await;
    let checksum = counter
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .checksum();
    Outcome::value(checksum)
}

// ---------------------------------------------------------------------------------------------
// semaphore: at most S tasks inside.
// ---------------------------------------------------------------------------------------------

/// `async-lock`: W tasks, an [`async_lock::Semaphore`] of S permits; every entry holds a permit
/// (an RAII guard) while it is inside.
///
/// The async way to bound concurrency, and the smol family's one semaphore (the crawl uses it
/// too; async-std has none of its own): `acquire().await` takes a permit or suspends the task
/// until a guard's drop frees one. While the section is not yet full once, a task inside yields
/// its thread with the runtime's `yield_now().await` ([`Yield`]), holding its permit, so that
/// the others can get in (see [`Gauge`]).
pub async fn semaphore_async_lock<S: Yield>(
    s: S,
    p: Semaphore,
    workers: usize,
) -> Result<Outcome, Failure> {
    let permits = Arc::new(async_lock::Semaphore::new(p.permits));
    let gauge = Arc::new(Gauge::new(p.permits, workers, p.entries));
    let tasks = spawn_workers(s, workers, |worker| {
        let (permits, gauge) = (Arc::clone(&permits), Arc::clone(&gauge));
        async move {
            let mut tally = Tally::new();
            for entry in entries_of(worker, workers, p.entries) {
                let permit = permits.acquire().await;
                gauge.enter();
                while !gauge.full() {
                    S::yield_now().await;
                }
                tally.add(contribution(entry, p.section));
                gauge.leave();
                drop(permit);
            }
            tally
        }
    });
    let tally = join(tasks).await.into_iter().sum();
    gauge.verify(p.permits)?;
    Ok(Outcome::tally(tally))
}

// ---------------------------------------------------------------------------------------------
// barrier: W tasks, phases separated by an async barrier.
// ---------------------------------------------------------------------------------------------

/// What the workers of `barrier` share: the stencil's two buffers, the phase log's slots and
/// the barrier.
struct Ring {
    a: Vec<AtomicU64>,
    b: Vec<AtomicU64>,
    slots: Vec<AtomicU64>,
    barrier: async_lock::Barrier,
}

/// `async-lock`: W tasks step the stencil, an [`async_lock::Barrier`] for W ending each phase.
///
/// The async barrier: `wait().await` suspends every task but the last to arrive, which wakes
/// them all. Inside it is an async `Mutex` around the arrival count and an `Event`: every
/// arrival takes the lock, and every woken waiter takes it again before `wait` returns (its
/// `Reacquiring` state), so a phase costs 2W − 1 lock operations and one broadcast, and the
/// W − 1 re-locks contend with each other right after the broadcast.
pub async fn barrier_async_lock<S: Spawn>(
    s: S,
    p: Barrier,
    workers: usize,
) -> Result<Outcome, Failure> {
    let ring = Arc::new(Ring {
        a: barrier::initial(p.width),
        b: barrier::initial(p.width),
        slots: (0..workers).map(|_| AtomicU64::new(0)).collect(),
        barrier: async_lock::Barrier::new(workers),
    });
    let tasks = spawn_workers(s, workers, |worker| {
        let ring = Arc::clone(&ring);
        async move {
            // A `'static` task cannot borrow a log made outside it, so each worker makes its own
            // view of the shared slots.
            let log = PhaseLog::new(&ring.slots);
            let mut checked = Ok(());
            // The thread this task ran each phase on: did the W parties really run at once?
            let mut ran_on = Vec::with_capacity(p.phases as usize);
            for phase in 0..p.phases {
                // After an overlap the worker stops computing, but it still meets the others at
                // every barrier, so that none of them waits forever.
                if checked.is_ok() {
                    checked = log.enter(worker, phase);
                }
                if checked.is_ok() {
                    let (src, dst) = buffers(phase, &ring.a[..], &ring.b[..]);
                    step(src, dst, chunk(p.width, workers, worker), phase);
                }
                ran_on.push(thread_tag());
                ring.barrier.wait().await;
            }
            checked.map(|()| ran_on)
        }
    });
    let ran_on = join(tasks)
        .await
        .into_iter()
        .collect::<Result<Vec<_>, Failure>>()?;
    let cells = barrier::result(p.phases, &ring.a, &ring.b);
    Ok(Outcome::value(barrier::checksum(cells)).placed(Whereabouts::Phases(ran_on)))
}

// ---------------------------------------------------------------------------------------------
// event and condition: waiting for a condition on an event-listener `Event`.
// ---------------------------------------------------------------------------------------------

/// Waits on `event` until `check` finds what it looks for, and returns it: check, listen,
/// check again, await the listener, and again from the top.
///
/// event-listener's own idiom. A notification reaches only the listeners that exist when it is
/// sent, so the check after listening is what catches a change made between the first check
/// and the listener's creation. The listener lives on this future's stack
/// ([`event_listener::listener!`]), so a wait allocates nothing; `Event::listen` would box one
/// on the heap per wait. (async-lock's primitives call `listen`, because their futures are
/// hand-written structs that cannot hold a pinned stack slot; an `async fn` can.) The state
/// `check` reads is written before the `notify` that announces it, with `SeqCst` as
/// event-listener's docs do, or under a lock.
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

/// What the setter and the waiters of `event` share.
struct Signal {
    /// The last round set (0 before the first).
    generation: AtomicU64,
    /// When it was set, in nanoseconds since `epoch`.
    set_at: AtomicU64,
    /// The [`thread_tag`] of the thread that set it.
    set_by: AtomicU64,
    /// Notified, every listener at once, when `generation` moves.
    set: event_listener::Event,
    /// How many times a waiter has got ready, over all rounds: W·r when all are ready for r.
    ready: AtomicU64,
    /// Notified by the last waiter to get ready for a round.
    all_ready: event_listener::Event,
    epoch: Instant,
}

/// `event-listener`: the repetition's root future sets a generation number and wakes W waiter
/// tasks with [`event_listener::Event::notify`]`(usize::MAX)`, R times; each waiter waits with
/// [`until`].
///
/// The async event: there is no `Notify` here, and an `Event` with a value beside it is what
/// async-lock and async-channel use inside for the same job. Before each round the setter waits
/// on a second `Event` until all W waiters are ready, which the last of them to get ready
/// notifies. The setter is this future: on the calling thread for [`Handoff::CrossThread`]
/// (every wake-up crosses threads, checked), a task sharing the W threads with the waiters for
/// [`Handoff::Spawned`].
pub async fn event_event_listener<S: Spawn>(
    s: S,
    p: Event,
    workers: usize,
    handoff: Handoff,
) -> Result<Outcome, Failure> {
    let rounds = u64::from(p.rounds);
    let w = workers as u64;
    let signal = Arc::new(Signal {
        generation: AtomicU64::new(0),
        set_at: AtomicU64::new(0),
        set_by: AtomicU64::new(0),
        set: event_listener::Event::new(),
        ready: AtomicU64::new(0),
        all_ready: event_listener::Event::new(),
        epoch: Instant::now(),
    });
    let waiters = spawn_workers(s, workers, |_| {
        let s = Arc::clone(&signal);
        async move {
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
        }
    });
    // This future is the setter.
    for round in 1..=rounds {
        until(&signal.all_ready, || {
            (signal.ready.load(Ordering::SeqCst) >= w * round).then_some(())
        })
        .await;
        signal.set_by.store(thread_tag(), Ordering::Relaxed);
        signal
            .set_at
            .store(nanos(signal.epoch.elapsed()), Ordering::Relaxed);
        signal.generation.store(round, Ordering::SeqCst);
        signal.set.notify(usize::MAX);
    }
    event::outcome(join(waiters).await, handoff)
}

/// `event-listener`: the async monitor. This future pings, a spawned task pongs; each hands
/// the ball over by striking it under the lock and notifying the other's
/// [`event_listener::Event`], and waits for its own turn with [`until`].
///
/// What a condition variable becomes in async code without one: the state under a lock (a
/// std `Mutex` here, locked only inside small non-async methods), one `Event` per condition a
/// party waits for, and "wait until the predicate holds" written as [`until`]. Two `Event`s,
/// so that a notification only ever goes to the party that can go on. The pinger runs on the
/// calling thread for [`Handoff::CrossThread`], so each hand-over is a thread wake-up (checked);
/// as a task for [`Handoff::Spawned`], where the executor may run both parties on one thread
/// and a hand-over is then a task switch.
pub async fn condition_event_listener<S: Spawn>(
    s: S,
    p: Condition,
    handoff: Handoff,
) -> Result<Outcome, Failure> {
    let table = Arc::new(Table {
        rally: std::sync::Mutex::new(Rally::new()),
        to_ponger: event_listener::Event::new(),
        to_pinger: event_listener::Event::new(),
    });
    let ponger = s.spawn({
        let table = Arc::clone(&table);
        async move {
            let mut placement = Placement::default();
            for _ in 0..p.trips {
                placement.note(until(&table.to_ponger, || table.turn_is(Turn::Pong)).await);
                table.strike(pong, Turn::Ping);
                table.to_pinger.notify(1);
            }
            placement
        }
    });
    // This future is the pinger.
    let mut round_trips = Vec::with_capacity(p.trips as usize);
    let mut placement = Placement::default();
    for _ in 0..p.trips {
        let start = Instant::now();
        table.strike(ping, Turn::Pong);
        table.to_ponger.notify(1);
        placement.note(until(&table.to_pinger, || table.turn_is(Turn::Ping)).await);
        round_trips.push(nanos(start.elapsed()));
    }
    placement.merge(ponger.await);
    placement.check(handoff)?;
    let ball = table.rally().ball;
    let outcome = Outcome::with_latencies(Answer::Value(ball), round_trips);
    Ok(outcome.placed(Whereabouts::Wakes(placement)))
}

/// The monitor of `condition`: the state under a std `Mutex`, locked only in the non-async
/// methods below, so that no guard can be held across an `.await`, and an event for each
/// direction.
struct Table {
    rally: std::sync::Mutex<Rally>,
    /// Notified when the ball goes to the ponger.
    to_ponger: event_listener::Event,
    /// Notified when it comes back.
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

    /// Whether the turn is `mine`, as [`until`] asks it, with the tag of the thread that
    /// passed it.
    fn turn_is(&self, mine: Turn) -> Option<u64> {
        let rally = self.rally();
        (rally.turn == mine).then_some(rally.striker)
    }
}

// ---------------------------------------------------------------------------------------------
// Plumbing.
// ---------------------------------------------------------------------------------------------

/// Spawns `worker(w)` with `s` for each of the `workers` workers.
fn spawn_workers<S: Spawn, T, F>(
    s: S,
    workers: usize,
    worker: impl FnMut(usize) -> F,
) -> Vec<S::Task<T>>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    (0..workers).map(worker).map(|f| s.spawn(f)).collect()
}

/// Awaits every task, in order, and returns their results. (An async-std `JoinHandle` dropped
/// unawaited would detach its task, not cancel it; every handle here is awaited.)
async fn join<F: Future>(tasks: Vec<F>) -> Vec<F::Output> {
    let mut results = Vec::with_capacity(tasks.len());
    for task in tasks {
        results.push(task.await);
    }
    results
}

// ---------------------------------------------------------------------------------------------
// The variants' setups: each repetition is one root task of `R`'s W threads.
// ---------------------------------------------------------------------------------------------

/// `async-lock` (smol), `mutex` (async-std): [`lock_async_lock`].
pub fn setup_lock_async_lock<R: Runtime>(cell: &Cell) -> Result<Runner, Failure> {
    let (Task::Lock(p), workers) = (cell.task, cell.workers) else {
        return Err(cell.unsupported());
    };
    tasks_on(R::start(workers)?, move |s, _| {
        lock_async_lock(s, p, workers)
    })
}

/// `std-mutex`: [`lock_std_mutex`].
pub fn setup_lock_std_mutex<R: Runtime>(cell: &Cell) -> Result<Runner, Failure> {
    let (Task::Lock(p), workers) = (cell.task, cell.workers) else {
        return Err(cell.unsupported());
    };
    tasks_on(R::start(workers)?, move |s, _| {
        lock_std_mutex(s, p, workers)
    })
}

/// `async-lock`, semaphore: [`semaphore_async_lock`].
pub fn setup_semaphore_async_lock<R: Runtime>(cell: &Cell) -> Result<Runner, Failure>
where
    R::Spawner: Yield,
{
    let (Task::Semaphore(p), workers) = (cell.task, cell.workers) else {
        return Err(cell.unsupported());
    };
    try_tasks_on(R::start(workers)?, move |s, _| {
        semaphore_async_lock(s, p, workers)
    })
}

/// `async-lock`, barrier: [`barrier_async_lock`].
pub fn setup_barrier_async_lock<R: Runtime>(cell: &Cell) -> Result<Runner, Failure> {
    let (Task::Barrier(p), workers) = (cell.task, cell.workers) else {
        return Err(cell.unsupported());
    };
    try_tasks_on(R::start(workers)?, move |s, _| {
        barrier_async_lock(s, p, workers)
    })
}

/// `event-listener` (the setter on the calling thread) or `event-listener-spawned`, event:
/// [`event_event_listener`].
pub fn setup_event_event_listener<R: Runtime>(
    cell: &Cell,
    handoff: Handoff,
) -> Result<Runner, Failure> {
    let (Task::Event(p), workers) = (cell.task, cell.workers) else {
        return Err(cell.unsupported());
    };
    rooted(R::start(workers)?, handoff, move |s| {
        event_event_listener(s, p, workers, handoff)
    })
}

/// `event-listener` (the pinger on the calling thread) or `event-listener-spawned`, condition:
/// [`condition_event_listener`].
pub fn setup_condition_event_listener<R: Runtime>(
    cell: &Cell,
    handoff: Handoff,
) -> Result<Runner, Failure> {
    let p: Condition = cell.params()?;
    rooted(R::start(cell.workers)?, handoff, move |s| {
        condition_event_listener(s, p, handoff)
    })
}
