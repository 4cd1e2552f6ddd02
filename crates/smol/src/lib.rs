//! The suite on smol: one `async-executor` run by N threads, `async-io` sockets and timers,
//! `async-channel`, `async-lock` and `event-listener`.
//!
//! A thread per connection costs a stack and a kernel thread for every request in flight; an
//! async task costs a small heap-allocated state machine, polled again when the reactor (epoll
//! here) says its socket is ready. Ten thousand waits become ten thousand futures on a few
//! threads. The price is cooperation: a task runs until it awaits something that is not ready,
//! and nothing can take its thread away before that, so CPU-bound work needs care.
//!
//! smol is not one runtime but a family of small crates, one job each: [`async_executor`] runs
//! tasks, [`async_io`] is the reactor and the timers, [`async_net`] the sockets,
//! [`async_channel`] and [`async_lock`] the synchronization (both built on [`event_listener`],
//! which the sync family also uses directly), [`blocking`] a thread pool for blocking calls.
//! The `smol` crate re-exports them (`smol::Executor`, `smol::Timer`,
//! [`smol::net`], [`smol::channel`], [`smol::lock`], [`smol::unblock`]) and adds a global
//! executor for tests and small programs ([`smol::spawn`]). That executor runs on one thread
//! unless the `SMOL_THREADS` variable says otherwise, read once at first use, and smol's own
//! docs advise creating your own `Executor` for anything else. So there is no "smol runtime" to
//! size: a program builds one. This crate shows how, in [`runtime`]: an `Executor`, leaked into
//! a `&'static StaticExecutor`, run by N threads that each call
//! `async_io::block_on(executor.run(shutdown))`.
//!
//! # Variants
//!
//! | task | variant | what it shows |
//! |---|---|---|
//! | mergesort, fib, nqueens | `spawn` | recursive `Executor::spawn` + `.await` down to the grain: CPU work on the executor threads, the form async code takes first |
//! | mergesort, fib, nqueens | `unblock` | the same recursion, each sequential leaf sent to [`blocking::unblock`], at most N at once (an `async_lock::Semaphore`): the usual advice for CPU work |
//! | scatter | `spawn` | a task per connection per round, all awaited: concurrency and parallelism |
//! | scatter | `join-all` | a round's K calls as K futures joined in one task: concurrency without parallelism |
//! | crawl | `spawn` | a `Semaphore` permit, then a task per request on a fresh connection |
//! | bounded | `async-channel` | [`async_channel::bounded`] (multi-consumer, receivers cloned); producers and consumers are tasks |
//! | lock | `async-lock` | [`async_lock::Mutex`] around the shared counter, one `lock().await` per entry |
//! | lock | `std-mutex` | a [`std::sync::Mutex`] around the shared counter, never held across an `.await` |
//! | semaphore | `async-lock` | [`async_lock::Semaphore`] of S permits, one `acquire().await` per entry |
//! | barrier | `async-lock` | [`async_lock::Barrier`] for W tasks between phases |
//! | event | `event-listener` | an [`event_listener::Event`] beside a generation number: `listen`, check again, `.await`; `notify(usize::MAX)` wakes every waiter |
//! | condition | `event-listener` | the async monitor: turn and ball under a std `Mutex`, one `Event` per direction of the hand-off |
//!
//! `cell.workers` = N means N executor threads, for every task. Besides them the process has
//! the calling thread, parked while a repetition runs; async-io's `async-io` thread, which
//! waits on the reactor when no executor thread does; and for `unblock`, blocking's pool
//! threads, at most N of them working at once.
//!
//! # Examples
//!
//! ```
//! use shootout_smol::Smol;
//! use shootout_suite::{Backend, Cell, Profile, Task, TaskId};
//!
//! let task = Task::new(TaskId::Fib, Profile::Smoke);
//! let cell = Cell { task, variant: "spawn".into(), workers: 2, server: None };
//! let mut run = Smol.setup(&cell).unwrap();
//! let outcome = run(task.input()).unwrap();
//! assert_eq!(task.checksum(&outcome.answer), task.expected_checksum());
//! ```
//!
//! # Implementation
//!
//! [`Backend::setup`] builds the cell's [`Runtime`] (the thread spawns are setup, not work) and
//! opens a scatter's connections. Each repetition spawns its root task on the executor and the
//! calling thread waits for the task's handle ([`run_task`]), so the calling thread runs no
//! task: it is not an extra worker. Dropping the runner drops the `Runtime`, which closes its
//! shutdown channel and joins its threads.
//!
//! The executor threads and the calling thread wait in different ways, each for a reason:
//!
//! - An executor thread runs `async_io::block_on(executor.run(..))` (`smol::block_on` is the
//!   same function). While its future is pending, a thread in async-io's `block_on` takes its
//!   turn waiting on epoll and firing timers, so an idle executor thread wakes its own tasks'
//!   IO without a hop through the `async-io` thread. That is what smol's own global executor
//!   and async-std's executor threads do too.
//! - The calling thread waits with `futures_lite::future::block_on(task)`, which only parks the
//!   thread until the task's handle wakes it. It never touches the reactor, so every IO
//!   readiness and timer of a repetition is handled by an executor thread (or, while they are
//!   all busy, by the `async-io` thread), never by a thread that cannot run the woken task.
//!   Waiting with `async_io::block_on` here would make the calling thread compete for the
//!   reactor, most of all at the start of a repetition, when every executor thread is busy
//!   with the new tasks; the tasks it woke would still have to be run elsewhere.
//!
//! Each family lives in its own file ([`dnc`], [`fanout`], [`pipeline`], [`sync`]), named as in
//! every other backend crate, so that two backends diff cleanly; `shootout-async-std` mirrors
//! these files line for line. The sequential kernels and the wire codec come from
//! `shootout-suite`.

pub mod dnc;
pub mod fanout;
pub mod pipeline;
pub mod sync;

use std::future::Future;
use std::thread::{self, JoinHandle};

use async_executor::{Executor, StaticExecutor};
use shootout_suite::{
    Answer, Backend, Cell, Failure, Input, Outcome, Runner, Support, Task, TaskId, Variant, runner,
};

/// The smol backend: async-executor, async-io, async-net, async-channel, async-lock, blocking.
pub struct Smol;

/// The variants of `dnc/mergesort`, `dnc/fib` and `dnc/nqueens`.
pub const DNC: &[Variant] = &[
    Variant {
        name: "spawn",
        about: "recursive Executor::spawn + await down to the grain: CPU work on the N executor threads",
    },
    Variant {
        name: "unblock",
        about: "async recursion, each leaf sent to blocking::unblock, at most N at once (a Semaphore)",
    },
];

/// The variants of `fanout/scatter`.
pub const SCATTER: &[Variant] = &[
    Variant {
        name: "spawn",
        about: "a task per connection per round, all awaited: concurrency and parallelism",
    },
    Variant {
        name: "join-all",
        about: "a round's K calls as futures joined in ONE task (try_join_all): concurrency without parallelism",
    },
];

/// The variants of `fanout/crawl`.
pub const CRAWL: &[Variant] = &[Variant {
    name: "spawn",
    about: "an async-lock Semaphore permit, then a task per request on a fresh async-net connection",
}];

/// The variants of `pipeline/bounded`.
pub const BOUNDED: &[Variant] = &[Variant {
    name: "async-channel",
    about: "async_channel::bounded, receivers cloned; producers and consumers are tasks on N threads",
}];

/// The variants of `sync/lock`.
pub const LOCK: &[Variant] = &[
    Variant {
        name: "async-lock",
        about: "async_lock::Mutex (smol::lock::Mutex) around the counter: a contended lock().await suspends the task",
    },
    Variant {
        name: "std-mutex",
        about: "std::sync::Mutex inside the tasks, never held across an .await: the cheaper lock when no guard crosses one",
    },
];

/// The variants of `sync/semaphore`.
pub const SEMAPHORE: &[Variant] = &[Variant {
    name: "async-lock",
    about: "async_lock::Semaphore, one acquire().await per entry: the async way to bound concurrency",
}];

/// The variants of `sync/barrier`.
pub const BARRIER: &[Variant] = &[Variant {
    name: "async-lock",
    about: "async_lock::Barrier for W tasks, wait().await between phases (an async Mutex and an Event inside: 2W-1 lock operations a phase, as each woken waiter re-locks)",
}];

/// The variants of `sync/event`.
pub const EVENT: &[Variant] = &[Variant {
    name: "event-listener",
    about: "a generation in an atomic and an event_listener::Event, notify(usize::MAX): what smol's crates use inside",
}];

/// The variants of `sync/condition`.
pub const CONDITION: &[Variant] = &[Variant {
    name: "event-listener",
    about: "the async monitor: turn and ball under a std Mutex, one event_listener::Event per direction",
}];

impl Backend for Smol {
    fn name(&self) -> &'static str {
        "smol"
    }

    fn about(&self) -> &'static str {
        "smol: one async-executor run by N threads, async-io sockets and timers, async-channel, async-lock"
    }

    fn support(&self, task: TaskId) -> Support {
        match task {
            TaskId::Mergesort | TaskId::Fib | TaskId::Nqueens => Support::Variants(DNC),
            TaskId::Scatter => Support::Variants(SCATTER),
            TaskId::Crawl => Support::Variants(CRAWL),
            TaskId::Bounded => Support::Variants(BOUNDED),
            TaskId::Lock => Support::Variants(LOCK),
            TaskId::Semaphore => Support::Variants(SEMAPHORE),
            TaskId::Barrier => Support::Variants(BARRIER),
            TaskId::Event => Support::Variants(EVENT),
            TaskId::Condition => Support::Variants(CONDITION),
        }
    }

    fn setup(&self, cell: &Cell) -> Result<Runner, Failure> {
        let workers = cell.workers;
        if workers == 0 {
            return Err(Failure::new("workers must be at least 1"));
        }
        match (cell.task, cell.variant.as_str()) {
            (Task::Mergesort(p), "spawn") => {
                tasks_on(runtime(workers)?, move |ex, input| async move {
                    sorted(dnc::mergesort_spawn(ex, input.into_keys(), p.grain).await)
                })
            }
            (Task::Mergesort(p), "unblock") => {
                tasks_on(runtime(workers)?, move |ex, input| async move {
                    sorted(dnc::mergesort_unblock(ex, input.into_keys(), p.grain, workers).await)
                })
            }
            (Task::Fib(p), "spawn") => tasks_on(runtime(workers)?, move |ex, _| async move {
                value(dnc::fib_spawn(ex, p.n, p.grain).await)
            }),
            (Task::Fib(p), "unblock") => tasks_on(runtime(workers)?, move |ex, _| async move {
                value(dnc::fib_unblock(ex, p.n, p.grain, workers).await)
            }),
            (Task::Nqueens(p), "spawn") => tasks_on(runtime(workers)?, move |ex, _| async move {
                value(dnc::nqueens_spawn(ex, p.n, p.split).await)
            }),
            (Task::Nqueens(p), "unblock") => tasks_on(runtime(workers)?, move |ex, _| async move {
                value(dnc::nqueens_unblock(ex, p.n, p.split, workers).await)
            }),
            (Task::Scatter(p), "spawn") => fanout::scatter_spawn(p, cell.server()?, workers),
            (Task::Scatter(p), "join-all") => fanout::scatter_join_all(p, cell.server()?, workers),
            (Task::Crawl(p), "spawn") => fanout::crawl_spawn(p, cell.server()?, workers),
            (Task::Bounded(p), "async-channel") => tasks_on(runtime(workers)?, move |ex, _| {
                pipeline::async_channel(ex, p)
            }),
            (Task::Lock(p), "async-lock") => tasks_on(runtime(workers)?, move |ex, _| {
                sync::lock_async_lock(ex, p, workers)
            }),
            (Task::Lock(p), "std-mutex") => tasks_on(runtime(workers)?, move |ex, _| {
                sync::lock_std_mutex(ex, p, workers)
            }),
            (Task::Semaphore(p), "async-lock") => try_tasks_on(runtime(workers)?, move |ex, _| {
                sync::semaphore_async_lock(ex, p, workers)
            }),
            (Task::Barrier(p), "async-lock") => try_tasks_on(runtime(workers)?, move |ex, _| {
                sync::barrier_async_lock(ex, p, workers)
            }),
            (Task::Event(p), "event-listener") => try_tasks_on(runtime(workers)?, move |ex, _| {
                sync::event_event_listener(ex, p, workers)
            }),
            (Task::Condition(p), "event-listener") => tasks_on(runtime(workers)?, move |ex, _| {
                sync::condition_event_listener(ex, p)
            }),
            _ => Err(cell.unsupported(self)),
        }
    }
}

/// An `async_executor` executor run by a fixed number of threads: what a smol program builds
/// where tokio has its `Runtime` and async-std its global executor. Made by [`runtime`].
///
/// Its tasks must be `'static`, and a task that spawns more tasks (every `dnc` recursion does)
/// must hold the executor, so the executor is `'static` too: [`Executor::leak`] turns a new
/// `Executor` into a `&'static StaticExecutor` (async-executor's `static` feature), its own
/// form of `Box::leak(Box::new(executor))`. The reference is a pointer copied into each task.
/// An `Arc<Executor>` would cost an atomic increment and decrement of one shared count per
/// spawn, a cache line every thread writes, and `Box::leak` alone would save only that one:
/// an `Executor` that may be dropped clones its own inner `Arc` twice per spawn and locks its
/// table of live tasks at every spawn and every finish, so that its drop can cancel them. A
/// `StaticExecutor` is never dropped and does neither.
///
/// The price is that the executor is never freed. Dropping the `Runtime` stops the threads: it
/// closes the shutdown channel on which every thread's `run` waits, then joins them. A
/// repetition awaits or cancels every task it spawns, and the drop then runs any cancelled task
/// the threads had not got to (which drops its future and closes its sockets), so what stays
/// behind is an idle executor: about a kilobyte of empty queues per runtime. The harness runs
/// every cell in a process of its own, so there it is one per process.
pub struct Runtime {
    executor: &'static StaticExecutor,
    /// Never sent on: dropping it closes the channel, and every `run` returns.
    shutdown: Option<async_channel::Sender<()>>,
    threads: Vec<JoinHandle<()>>,
}

/// Starts an executor run by `workers` threads, named `smol-worker-N`.
///
/// Each thread calls `async_io::block_on(executor.run(shutdown))`: it runs tasks until the
/// shutdown channel closes, and waits on the reactor whenever it has none.
pub fn runtime(workers: usize) -> Result<Runtime, Failure> {
    if workers == 0 {
        // An executor nobody runs would accept tasks and never finish them.
        return Err(Failure::new("smol needs at least one executor thread"));
    }
    let (shutdown, stopped) = async_channel::bounded::<()>(1);
    // Built up one thread at a time, so that a failed spawn drops (stops and joins) the rest.
    let mut runtime = Runtime {
        executor: Executor::new().leak(),
        shutdown: Some(shutdown),
        threads: Vec::with_capacity(workers),
    };
    for i in 0..workers {
        let executor = runtime.executor;
        let stopped = stopped.clone();
        let thread = thread::Builder::new()
            .name(format!("smol-worker-{i}"))
            .spawn(move || {
                async_io::block_on(executor.run(async move {
                    let _ = stopped.recv().await; // Fails once the sender is dropped.
                }));
            })
            .map_err(|e| Failure::context(&format!("spawning smol executor thread {i}"), e))?;
        runtime.threads.push(thread);
    }
    Ok(runtime)
}

impl Runtime {
    /// The executor, for spawning tasks.
    pub fn executor(&self) -> &'static StaticExecutor {
        self.executor
    }

    /// How many threads run the executor.
    pub fn threads(&self) -> usize {
        self.threads.len()
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        drop(self.shutdown.take());
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
        // A task whose handle was dropped just before (a failed repetition cancels what it
        // spawned) may still be queued, its future alive. Running it now drops the future.
        // Nothing else can be queued: a repetition leaves no task behind that still runs.
        while self.executor.try_tick() {}
    }
}

/// Runs `future` as a task of `runtime` while the calling thread waits for it: one repetition.
///
/// The calling thread runs no task and never waits on the reactor: it parks in
/// `futures_lite::future::block_on` until the task's handle wakes it (see the crate docs). A
/// panic in the task is raised again here (async-executor hands it to the task's handle).
pub fn run_task<T: Send + 'static>(
    runtime: &Runtime,
    future: impl Future<Output = T> + Send + 'static,
) -> T {
    futures_lite::future::block_on(runtime.executor.spawn(future))
}

/// A runner that runs `work`'s future as a task of `runtime`, built once per cell; `work` gets
/// the executor to spawn on.
fn tasks_on<Fut>(
    runtime: Runtime,
    mut work: impl FnMut(&'static StaticExecutor, Input) -> Fut + 'static,
) -> Result<Runner, Failure>
where
    Fut: Future<Output = Outcome> + Send + 'static,
{
    runner(move |input| Ok(run_task(&runtime, work(runtime.executor(), input))))
}

/// [`tasks_on`] for work that can fail: the repetition fails with the task's failure.
fn try_tasks_on<Fut>(
    runtime: Runtime,
    mut work: impl FnMut(&'static StaticExecutor, Input) -> Fut + 'static,
) -> Result<Runner, Failure>
where
    Fut: Future<Output = Result<Outcome, Failure>> + Send + 'static,
{
    runner(move |input| run_task(&runtime, work(runtime.executor(), input)))
}

/// Wraps sorted keys as the answer.
fn sorted(keys: Vec<u64>) -> Outcome {
    Outcome::new(Answer::Sorted(keys))
}

/// Wraps a single number as the answer.
fn value(v: u64) -> Outcome {
    Outcome::new(Answer::Value(v))
}

#[cfg(test)]
mod tests {
    use std::future;

    use super::*;

    #[test]
    fn a_repetition_runs_on_an_executor_thread_not_the_caller() {
        let rt = runtime(2).unwrap();
        let name = run_task(&rt, async { thread::current().name().map(str::to_owned) });
        assert!(name.unwrap().starts_with("smol-worker-"));
        assert_eq!(rt.threads(), 2);
    }

    #[test]
    fn dropping_a_runtime_drops_the_tasks_cancelled_just_before() {
        // A task that would wait forever, holding a sender: its future is dropped, and the
        // channel closed, only once the executor runs the cancelled task (or the drop does).
        for _ in 0..50 {
            let rt = runtime(2).unwrap();
            let (held, closed) = async_channel::bounded::<()>(1);
            let task = rt.executor().spawn(async move {
                let _held = held;
                future::pending::<()>().await
            });
            drop(task);
            drop(rt);
            assert!(closed.is_closed(), "a cancelled task outlived its runtime");
        }
    }
}
