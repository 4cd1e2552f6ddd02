//! The sync family on tokio: the classic primitives as tasks wait for them – `tokio::sync`'s
//! `Mutex`, `Semaphore`, `Barrier`, `Notify` and `watch`, and the std `Mutex` that tokio itself
//! recommends for plain data.
//!
//! A blocking primitive parks a thread; an async one parks a task. When a task waits for a
//! `tokio::sync` primitive, the primitive keeps the task's `Waker` in a queue, the task returns
//! `Pending`, and its worker thread goes on to another task. The party that releases the
//! primitive wakes the task. Woken from a worker, the task goes into that worker's LIFO slot, to
//! run next, so a woken task usually runs on the thread that woke it and runs when the waker's
//! task yields; only a task pushed out of the LIFO slot into the run queue can be stolen (the
//! LIFO slot cannot be, and filling it wakes no parked worker). No thread sleeps while a task
//! waits, unless its worker has nothing else to run.
//!
//! Every task here runs W = `cell.workers` tasks on the runtime of W workers that the crate
//! builds for every cell ([`runtime`]). The root task spawns them and
//! joins them; the calling thread only waits (see [`run_task`](crate::runtime::run_task)). The shared state lives in one `Arc`,
//! since a spawned task is `'static` and can borrow nothing from the task that spawns it.
//!
//! # The idioms
//!
//! | task | variant | idiom | when a tokio user picks it |
//! |---|---|---|---|
//! | lock | `tokio-mutex` | `tokio::sync::Mutex`, `.lock().await` | a guard held across an `.await` (an IO resource); FIFO-fair |
//! | lock | `std-mutex` | `std::sync::Mutex` inside the tasks | plain data, a guard never held across an `.await`: tokio's own advice |
//! | semaphore | `semaphore` | `tokio::sync::Semaphore`, `acquire().await` | bounding how many tasks do something at once |
//! | barrier | `barrier` | `tokio::sync::Barrier`, `wait().await` | tasks that must all finish a phase before any starts the next |
//! | event | `notify` | `Notify::notify_waiters` and a generation in an `AtomicU64` | waking every waiting task, with no value to pass |
//! | event | `watch` | a `watch` channel carrying the generation | broadcasting the latest value (a config, a shutdown): tokio's idiomatic form |
//! | condition | `notify` | a std `Mutex` monitor, one `Notify` per direction (`notify_one`) | the async counterpart of a `Condvar` monitor |
//!
//! # Which mutex
//!
//! Tokio's docs answer this themselves, in [`tokio::sync::Mutex`]'s: "Contrary to popular
//! belief, it is ok and often preferred to use the ordinary `Mutex` from the standard library in
//! asynchronous code. The feature that the async mutex offers over the blocking mutex is the
//! ability to keep it locked across an `.await` point. This makes the async mutex more expensive
//! than the blocking mutex, so the blocking mutex should be preferred in the cases where it can
//! be used." The critical section here is plain computation on plain data, so `std-mutex` is
//! what that advice asks for, and `tokio-mutex` is what many write anyway – and what a section
//! that awaits (a database call under the lock) needs. They differ under contention. A task
//! that finds the async mutex taken parks, and its worker runs something else; the mutex hands
//! the lock to the first waiter in line (it is fair), so every contended entry is a task
//! wake-up. A task that finds the std mutex taken blocks its whole worker thread (spinning
//! briefly, then in a futex), exactly as a thread would. That is harmless while sections are
//! short, which is the case tokio's advice is about. They differ uncontended too: tokio's
//! `Mutex::lock` and `Semaphore::acquire` consume the cooperative budget even when they succeed
//! at once, so a `tokio-mutex` task yields its worker at least every 128 locks, while a
//! `std-mutex` task (and async-lock's primitives, on smol and async-std) never does.
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
//! In both, the setter is a task of its own on the runtime (W + 1 tasks in all), and it waits
//! for the waiters to be ready with the same primitive: a `Notify` whose stored permit
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
//! single-consumer example in `Notify`'s docs). The pinger and the ponger are two tasks on the
//! runtime of W workers, whatever W is.
//!
//! # The semaphore's gauge
//!
//! Until the section has once held as many as it can, a task that got in waits inside with
//! `tokio::task::yield_now().await` (see [`sync::semaphore::Gauge`]). Yielding, not spinning,
//! is what lets the tasks queued behind it on the same worker reach the semaphore at all.

use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::{Arc, PoisonError};
use std::time::Instant;

use shootout_suite::sync::condition::{Rally, Turn};
use shootout_suite::sync::{self, lock::Counter};
use shootout_suite::task;
use shootout_suite::time::nanos_since;
use shootout_suite::{Answer, Cell, Failure, Outcome, Runner, Tally, Task};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::runtime::{checked_tasks_on, joined, runtime, tasks_on};

/// `lock`, `tokio-mutex`: a `tokio::sync::Mutex<Counter>`, each entry a `.lock().await`.
///
/// The lock a task needs when it holds the guard across an `.await`. It is fair: tasks get the
/// lock in the order they asked for it, each hand-off waking the next in line. `lock` consumes
/// the cooperative budget even uncontended, so a task yields its worker at least every 128
/// locks, which a `std-mutex` or async-lock task never does.
pub async fn lock_tokio_mutex(p: task::Lock, workers: usize) -> Outcome {
    let counter = Arc::new(tokio::sync::Mutex::new(Counter::default()));
    let tasks = (0..workers).map(|worker| {
        let counter = Arc::clone(&counter);
        tokio::spawn(async move {
            for _ in 0..sync::share(p.increments, workers, worker) {
                counter.lock().await.increment(p.section);
            }
        })
    });
    join_all(tasks.collect()).await;
    let checksum = counter.lock().await.checksum();
    Outcome::value(checksum)
}

/// `lock`, `std-mutex`: a `std::sync::Mutex<Counter>` locked inside the tasks, the guard never
/// held across an `.await`.
///
/// Tokio's advice for plain data: "the feature that the async mutex offers over the blocking
/// mutex is the ability to keep it locked across an `.await` point", and this section has no
/// `.await`. A contended lock blocks the worker thread, briefly. The tasks reach no `.await`
/// between entries either, so each holds its worker for its whole share, like a thread.
pub async fn lock_std_mutex(p: task::Lock, workers: usize) -> Outcome {
    let counter = Arc::new(std::sync::Mutex::new(Counter::default()));
    let tasks = (0..workers).map(|worker| {
        let counter = Arc::clone(&counter);
        tokio::spawn(async move {
            for _ in 0..sync::share(p.increments, workers, worker) {
                counter
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .increment(p.section);
            }
        })
    });
    join_all(tasks.collect()).await;
    let checksum = counter
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .checksum();
    Outcome::value(checksum)
}

/// `semaphore`, `semaphore`: a `tokio::sync::Semaphore` of `permits`, each entry holding a
/// permit from `acquire().await` until it is dropped.
///
/// Tokio's way to bound how many tasks do something at once (the crawl's in-flight limit is
/// the same semaphore). Waiters are served in FIFO order.
pub async fn semaphore(p: task::Semaphore, workers: usize) -> Result<Outcome, Failure> {
    struct Shared {
        semaphore: tokio::sync::Semaphore,
        gauge: sync::semaphore::Gauge,
    }
    let shared = Arc::new(Shared {
        semaphore: tokio::sync::Semaphore::new(p.permits),
        gauge: sync::semaphore::Gauge::new(p.permits, workers, p.entries),
    });
    let tasks = (0..workers).map(|worker| {
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let mut tally = Tally::new();
            for entry in sync::semaphore::entries_of(worker, workers, p.entries) {
                let permit = shared.semaphore.acquire().await;
                let permit = permit.expect("the semaphore is never closed");
                shared.gauge.enter();
                while !shared.gauge.full() {
                    tokio::task::yield_now().await;
                }
                tally.add(sync::semaphore::contribution(entry, p.section));
                shared.gauge.leave();
                drop(permit); // Gives the permit back.
            }
            tally
        })
    });
    let tally: Tally = join_all(tasks.collect()).await.into_iter().sum();
    shared.gauge.verify(p.permits)?;
    Ok(Outcome::tally(tally))
}

/// `barrier`, `barrier`: a `tokio::sync::Barrier` for W tasks, awaited at the end of every
/// phase.
///
/// Tokio's barrier for tasks: the last task to arrive releases the others through a `watch`
/// channel inside it, and the waiting tasks free their workers meanwhile.
pub async fn barrier(p: task::Barrier, workers: usize) -> Result<Outcome, Failure> {
    struct Shared {
        a: Vec<AtomicU64>,
        b: Vec<AtomicU64>,
        slots: Vec<AtomicU64>,
        barrier: tokio::sync::Barrier,
    }
    let shared = Arc::new(Shared {
        a: sync::barrier::initial(p.width),
        b: sync::barrier::initial(p.width),
        slots: (0..workers).map(|_| AtomicU64::new(0)).collect(),
        barrier: tokio::sync::Barrier::new(workers),
    });
    let tasks = (0..workers).map(|worker| {
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            // Each task makes its own view of the one log: a spawned task cannot borrow one
            // made by the root.
            let log = sync::barrier::PhaseLog::new(&shared.slots);
            let chunk = sync::barrier::chunk(p.width, workers, worker);
            let mut failure = None;
            for phase in 0..p.phases {
                // After a failure the task skips the work but still meets every barrier, so
                // that the others are not left waiting for it.
                if failure.is_none() {
                    match log.enter(worker, phase) {
                        Ok(()) => {
                            let (src, dst) =
                                sync::barrier::buffers(phase, &shared.a[..], &shared.b[..]);
                            sync::barrier::step(src, dst, chunk.clone(), phase);
                        }
                        Err(err) => failure = Some(err),
                    }
                }
                shared.barrier.wait().await;
            }
            failure.map_or(Ok(()), Err)
        })
    });
    for result in join_all(tasks.collect()).await {
        result?;
    }
    let cells = sync::barrier::result(p.phases, &shared.a, &shared.b);
    Ok(Outcome::value(sync::barrier::checksum(cells)))
}

/// `event`, `notify`: the setter stores the generation in an `AtomicU64` and wakes every
/// waiting task with `Notify::notify_waiters()`.
///
/// Tokio's bare "wake everyone": no value, no queue of past events, so a waiter registers
/// (`notified()`) before it re-checks the generation. The setter is a task of its own.
pub async fn event_notify(p: task::Event, workers: usize) -> Result<Outcome, Failure> {
    struct Shared {
        epoch: Instant,
        // The round last set, and when (ns since `epoch`).
        generation: AtomicU64,
        set_at_ns: AtomicU64,
        event: Notify,
        // Waiters ready, over all rounds; the last of a round tells the setter.
        ready: AtomicU64,
        all_ready: Notify,
    }
    let shared = Arc::new(Shared {
        epoch: Instant::now(),
        generation: AtomicU64::new(0),
        set_at_ns: AtomicU64::new(0),
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
                acc = sync::event::fold(acc, round);
                seen = round;
            }
            (acc, latencies_ns)
        })
    });
    let tasks: Vec<_> = tasks.collect();
    let setter = {
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            for round in 1..=rounds {
                // One waiter (this task) per `Notify`: the permit `notify_one` stores when the
                // setter is not waiting yet is what makes a plain `notified().await` safe.
                while shared.ready.load(Relaxed) < waiters * round {
                    shared.all_ready.notified().await;
                }
                shared.set_at_ns.store(nanos_since(shared.epoch), Relaxed);
                shared.generation.store(round, Release);
                shared.event.notify_waiters();
            }
        })
    };
    joined(setter.await);
    event_outcome(join_all(tasks).await)
}

/// `event`, `watch`: the setter sends each round, with its set time, on a `watch` channel;
/// every waiter's `changed().await` returns when the value moves past what it saw.
///
/// Tokio's channel for broadcasting the latest value: it keeps the value and a version,
/// so no wake-up can be lost and no separate state is needed. The setter is a task of its own.
pub async fn event_watch(p: task::Event, workers: usize) -> Result<Outcome, Failure> {
    /// What the setter broadcasts: the round, and when it was set (ns since the epoch).
    #[derive(Clone, Copy)]
    struct Set {
        round: u64,
        at_ns: u64,
    }
    let epoch = Instant::now();
    let (set_tx, set_rx) = watch::channel(Set { round: 0, at_ns: 0 });
    // The waiters ready, over all rounds: the setter is told only when a round's last arrives.
    let (ready_tx, mut ready_rx) = watch::channel(0u64);
    let (rounds, waiters) = (u64::from(p.rounds), workers as u64);
    let tasks = (0..workers).map(|_| {
        let (mut set_rx, ready_tx) = (set_rx.clone(), ready_tx.clone());
        tokio::spawn(async move {
            let (mut seen, mut acc) = (0, 0);
            let mut latencies_ns = Vec::with_capacity(p.rounds as usize);
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
                acc = sync::event::fold(acc, set.round);
                seen = set.round;
            }
            (acc, latencies_ns)
        })
    });
    let tasks: Vec<_> = tasks.collect();
    drop((set_rx, ready_tx));
    let setter = tokio::spawn(async move {
        for round in 1..=rounds {
            if ready_rx
                .wait_for(|&ready| ready >= waiters * round)
                .await
                .is_err()
            {
                return; // Every waiter is gone; only a panic does that.
            }
            let at_ns = nanos_since(epoch);
            set_tx.send_replace(Set { round, at_ns });
        }
    });
    joined(setter.await);
    event_outcome(join_all(tasks).await)
}

/// `condition`, `notify`: the ball and whose turn it is under a std `Mutex`, a `Notify` per
/// direction for the hand-over; the pinger and the ponger are tasks.
///
/// The async form of the `Mutex` + `Condvar` monitor: the lock is never held while waiting,
/// and `notify_one()` stores a permit if its party is not waiting yet, so no hand-over is lost.
pub async fn condition_notify(p: task::Condition) -> Outcome {
    let table = Arc::new(Table {
        rally: std::sync::Mutex::new(Rally::new()),
        to_ponger: Notify::new(),
        to_pinger: Notify::new(),
    });
    let ponger = {
        let table = Arc::clone(&table);
        tokio::spawn(async move {
            for _ in 0..p.trips {
                table.wait_for(Turn::Pong, &table.to_ponger).await;
                table.strike(sync::condition::pong, Turn::Ping);
                table.to_pinger.notify_one();
            }
        })
    };
    let pinger = {
        let table = Arc::clone(&table);
        tokio::spawn(async move {
            let mut rtts_ns = Vec::with_capacity(p.trips as usize);
            for _ in 0..p.trips {
                let start = Instant::now();
                table.strike(sync::condition::ping, Turn::Pong);
                table.to_ponger.notify_one();
                table.wait_for(Turn::Ping, &table.to_pinger).await;
                rtts_ns.push(nanos_since(start));
            }
            rtts_ns
        })
    };
    let rtts_ns = joined(pinger.await);
    joined(ponger.await);
    let ball = table.rally().ball;
    Outcome::with_latencies(Answer::Value(ball), rtts_ns)
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

    /// Waits until the turn is `mine`, woken through `bell`. A permit left from an earlier
    /// hand-over at worst costs one more look at the state.
    async fn wait_for(&self, mine: Turn, bell: &Notify) {
        while self.rally().turn != mine {
            bell.notified().await;
        }
    }
}

/// Awaits every task, passing on a panic.
async fn join_all<T>(tasks: Vec<JoinHandle<T>>) -> Vec<T> {
    let mut outputs = Vec::with_capacity(tasks.len());
    for task in tasks {
        outputs.push(joined(task.await));
    }
    outputs
}

/// The outcome of `event` from the waiters' answers and latencies: they must all agree.
fn event_outcome(waiters: Vec<(u64, Vec<u64>)>) -> Result<Outcome, Failure> {
    let (answers, latencies): (Vec<u64>, Vec<Vec<u64>>) = waiters.into_iter().unzip();
    let answer = sync::event::agree(answers)?;
    Ok(Outcome::with_latencies(
        Answer::Value(answer),
        latencies.concat(),
    ))
}

// ---------------------------------------------------------------------------------------------
// Setup: a runtime of W workers per cell.
// ---------------------------------------------------------------------------------------------

/// Sets up lock's `tokio-mutex`: [`lock_tokio_mutex`] on a W-worker runtime.
pub fn setup_tokio_mutex(cell: &Cell) -> Result<Runner, Failure> {
    let (Task::Lock(p), workers) = (cell.task, cell.workers) else {
        return Err(cell.unsupported());
    };
    tasks_on(runtime(workers)?, move |_| lock_tokio_mutex(p, workers))
}

/// Sets up lock's `std-mutex`: [`lock_std_mutex`] on a W-worker runtime.
pub fn setup_std_mutex(cell: &Cell) -> Result<Runner, Failure> {
    let (Task::Lock(p), workers) = (cell.task, cell.workers) else {
        return Err(cell.unsupported());
    };
    tasks_on(runtime(workers)?, move |_| lock_std_mutex(p, workers))
}

/// Sets up `semaphore`: [`semaphore()`] on a W-worker runtime, for a number of permits tokio's
/// `Semaphore` can hold.
pub fn setup_semaphore(cell: &Cell) -> Result<Runner, Failure> {
    let (Task::Semaphore(p), workers) = (cell.task, cell.workers) else {
        return Err(cell.unsupported());
    };
    if p.permits == 0 {
        return Err(Failure::new("semaphore: permits must be at least 1"));
    }
    if p.permits > tokio::sync::Semaphore::MAX_PERMITS {
        return Err(Failure::new(format!(
            "semaphore: tokio's Semaphore holds at most {} permits",
            tokio::sync::Semaphore::MAX_PERMITS
        )));
    }
    checked_tasks_on(runtime(workers)?, move |_| semaphore(p, workers))
}

/// Sets up `barrier`: [`barrier()`] on a W-worker runtime.
pub fn setup_barrier(cell: &Cell) -> Result<Runner, Failure> {
    let (Task::Barrier(p), workers) = (cell.task, cell.workers) else {
        return Err(cell.unsupported());
    };
    checked_tasks_on(runtime(workers)?, move |_| barrier(p, workers))
}

/// Sets up event's `notify`: [`event_notify`] on a W-worker runtime.
pub fn setup_event_notify(cell: &Cell) -> Result<Runner, Failure> {
    let (Task::Event(p), workers) = (cell.task, cell.workers) else {
        return Err(cell.unsupported());
    };
    checked_tasks_on(runtime(workers)?, move |_| event_notify(p, workers))
}

/// Sets up event's `watch`: [`event_watch`] on a W-worker runtime.
pub fn setup_event_watch(cell: &Cell) -> Result<Runner, Failure> {
    let (Task::Event(p), workers) = (cell.task, cell.workers) else {
        return Err(cell.unsupported());
    };
    checked_tasks_on(runtime(workers)?, move |_| event_watch(p, workers))
}

/// Sets up condition's `notify`: [`condition_notify`] on a W-worker runtime.
pub fn setup_condition_notify(cell: &Cell) -> Result<Runner, Failure> {
    let p: task::Condition = cell.params()?;
    tasks_on(runtime(cell.workers)?, move |_| condition_notify(p))
}
