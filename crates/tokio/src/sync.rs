//! The sync family on tokio: the classic primitives as tasks wait for them – `tokio::sync`'s
//! `Mutex`, `Semaphore` and `Barrier`, and the std `Mutex` that tokio itself recommends for
//! plain data. (`Notify` and `watch`, for event and condition, are in [`wake`](crate::wake).)
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
//!
//! The event and condition tasks, where what matters is which thread a wake-up lands on, are in
//! [`wake`](crate::wake).
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
//! # The semaphore's gauge
//!
//! Until the section has once held as many as it can, a task that got in waits inside with
//! `tokio::task::yield_now().await` (see [`sync::semaphore::Gauge`]). Yielding, not spinning,
//! is what lets the tasks queued behind it on the same worker reach the semaphore at all.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, PoisonError};

use shootout_suite::sync::{self, lock::Counter};
use shootout_suite::task;
use shootout_suite::wake::{Whereabouts, thread_tag};
use shootout_suite::{Cell, Failure, Outcome, Runner, Tally, Task};
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
            // The thread this task ran each phase on: did the W parties really run at once?
            let mut ran_on = Vec::with_capacity(p.phases as usize);
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
                ran_on.push(thread_tag());
                shared.barrier.wait().await;
            }
            failure.map_or(Ok(ran_on), Err)
        })
    });
    let ran_on = join_all(tasks.collect())
        .await
        .into_iter()
        .collect::<Result<Vec<_>, Failure>>()?;
    let cells = sync::barrier::result(p.phases, &shared.a, &shared.b);
    Ok(Outcome::value(sync::barrier::checksum(cells)).placed(Whereabouts::Phases(ran_on)))
}

/// Awaits every task, passing on a panic.
pub(crate) async fn join_all<T>(tasks: Vec<JoinHandle<T>>) -> Vec<T> {
    let mut outputs = Vec::with_capacity(tasks.len());
    for task in tasks {
        outputs.push(joined(task.await));
    }
    outputs
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
