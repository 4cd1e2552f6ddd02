//! The suite on smol: one `async-executor` run by N threads, `async-io` sockets and timers,
//! `async-channel` and `async-lock`.
//!
//! A thread per connection costs a stack and a kernel thread for every request in flight; an
//! async task costs a small heap-allocated state machine, polled again when the reactor (epoll
//! here) says its socket is ready. Ten thousand waits become ten thousand futures on a few
//! threads. The price is cooperation: a task runs until it awaits something that is not ready,
//! and nothing can take its thread away before that, so CPU-bound work needs care.
//!
//! smol is not one runtime but a family of small crates, one job each: [`async_executor`] runs
//! tasks, [`async_io`] is the reactor and the timers, [`async_net`] the sockets,
//! [`async_channel`] and [`async_lock`] the synchronization, [`blocking`] a thread pool for
//! blocking calls. The `smol` crate re-exports them (`smol::Executor`, `smol::Timer`,
//! [`smol::net`], [`smol::channel`], [`smol::lock`], [`smol::unblock`]) and adds a global
//! executor for tests and small programs ([`smol::spawn`]). That executor runs on one thread
//! unless the `SMOL_THREADS` variable says otherwise, read once at first use, and smol's own
//! docs advise creating your own `Executor` for anything else. So there is no "smol runtime" to
//! size: a program builds one. This crate shows how, in [`runtime`]: an `Executor` in an `Arc`,
//! run by N threads that each call `async_io::block_on(executor.run(shutdown))`.
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
//!
//! `cell.workers` = N means N executor threads, for every task. Besides them the process has
//! the calling thread, blocked while a repetition runs; async-io's `async-io` thread, which
//! waits on the reactor when no other thread does; and for `unblock`, blocking's pool threads,
//! at most N of them working at once.
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
//! calling thread blocks on the task's handle ([`run_task`]), so the calling thread runs no
//! task: it is not an extra worker. Dropping the runner drops the `Runtime`, which closes its
//! shutdown channel and joins its threads.
//!
//! Every thread blocks with [`async_io::block_on`] (which is `smol::block_on`), not
//! `futures_lite::future::block_on`: while its future is pending, a thread blocked in async-io's
//! `block_on` takes its turn waiting on epoll and processing timers, so an idle executor
//! thread wakes its own tasks' IO without a hop through the `async-io` thread. That is what
//! smol's own global executor and async-std's executor threads do too.
//!
//! Each family lives in its own file ([`dnc`], [`fanout`], [`pipeline`]), named as in every
//! other backend crate, so that two backends diff cleanly; `shootout-async-std` mirrors these
//! files line for line. The sequential kernels and the wire codec come from `shootout-suite`.

pub mod dnc;
pub mod fanout;
pub mod pipeline;

use std::future::Future;
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use async_executor::Executor;
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
            _ => Err(cell.unsupported(self)),
        }
    }
}

/// An `async_executor::Executor` run by a fixed number of threads: what a smol program builds
/// where tokio has its `Runtime` and async-std its global executor. Made by [`runtime`].
///
/// The executor sits in an [`Arc`] because its tasks must be `'static`: a task that spawns
/// more tasks (every `dnc` recursion does) holds a clone of it, and each thread running it
/// holds another. Leaking it as a `&'static Executor` would save the reference counting (an
/// atomic increment per spawn, next to a spawn's few hundred nanoseconds) but could never free
/// it, and the tests build hundreds of runtimes in one process.
///
/// Dropping the `Runtime` stops the threads: it closes the shutdown channel on which every
/// thread's `run` waits, then joins them. A repetition awaits all its tasks, so none is left
/// queued; any that were would be dropped with the last reference to the executor.
pub struct Runtime {
    executor: Arc<Executor<'static>>,
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
        executor: Arc::new(Executor::new()),
        shutdown: Some(shutdown),
        threads: Vec::with_capacity(workers),
    };
    for i in 0..workers {
        let executor = Arc::clone(&runtime.executor);
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
    /// A handle to the executor, for spawning tasks: a clone of its `Arc`.
    pub fn executor(&self) -> Arc<Executor<'static>> {
        Arc::clone(&self.executor)
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
    }
}

/// Runs `future` as a task of `runtime` while the calling thread waits for it: one repetition.
///
/// The calling thread runs no task; like every `async_io::block_on`, it may take its turn
/// waiting on the reactor while the executor threads are busy. A panic in the task is raised
/// again here (async-executor hands it to the task's handle).
pub fn run_task<T: Send + 'static>(
    runtime: &Runtime,
    future: impl Future<Output = T> + Send + 'static,
) -> T {
    async_io::block_on(runtime.executor.spawn(future))
}

/// A runner that runs `work`'s future as a task of `runtime`, built once per cell; `work` gets
/// the executor to spawn on.
fn tasks_on<Fut>(
    runtime: Runtime,
    mut work: impl FnMut(Arc<Executor<'static>>, Input) -> Fut + 'static,
) -> Result<Runner, Failure>
where
    Fut: Future<Output = Outcome> + Send + 'static,
{
    runner(move |input| Ok(run_task(&runtime, work(runtime.executor(), input))))
}

/// Wraps sorted keys as the answer.
fn sorted(keys: Vec<u64>) -> Outcome {
    Outcome::new(Answer::Sorted(keys))
}

/// Wraps a single number as the answer.
fn value(v: u64) -> Outcome {
    Outcome::new(Answer::Value(v))
}
