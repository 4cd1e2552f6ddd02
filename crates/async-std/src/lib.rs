//! The suite on async-std: its global executor sized to N threads, its sockets and timers, its
//! channel and mutex, async-lock's semaphore and barrier, and event-listener.
//!
//! **async-std is discontinued.** Its README opens with "`async-std` has been discontinued;
//! use `smol` instead", and the RustSec advisory RUSTSEC-2025-0052 records it. It is measured
//! here because a great deal of code still runs on it, and because the comparison is
//! instructive: async-std is a std-shaped API (`task::spawn`, `net::TcpStream`, `io::Read`,
//! `task::sleep`) over [`async_global_executor`], which is built on the same `async-executor`
//! and `async-io` that smol is made of. The scheduler, the reactor and the timers are the
//! same code as in `shootout-smol`; what differs is what async-std puts around them, and this
//! crate mirrors `shootout-smol` file for file so that a diff shows exactly that:
//!
//! - **One global executor, sized once.** async-std has no runtime object: its executor is a
//!   process-wide static, started at first use with one thread per logical CPU, or with the
//!   count in `ASYNC_STD_THREAD_COUNT`, read once. smol's own global executor has one thread
//!   (`SMOL_THREADS`), and a smol program normally builds its own `Executor` and picks the
//!   count. Here [`runtime`] sizes async-std's executor to N threads before anything else
//!   touches it (see its docs for how), and every later cell of the process must ask for the
//!   same N. The harness runs every cell in its own process, so that costs nothing there.
//! - **Wrappers.** `task::spawn` wraps every future in a task-locals frame (a task id, an
//!   optional name, and async-std's task-local storage, set around every poll) before handing
//!   it to async-executor. Its `JoinHandle` *detaches* the task when dropped, where smol's
//!   `Task` cancels it, so code that gives up on tasks must cancel them by hand.
//!   `task::spawn_blocking(f)` is `task::spawn(async_global_executor::spawn_blocking(f))`:
//!   blocking's `unblock` inside one more task, spawned only to await it. That task costs two
//!   executor hops per piece (it is scheduled once to start waiting, and again when the pool
//!   is done) before it wakes the task that awaits the piece, which smol's `unblock` wakes
//!   straight from the pool.
//!   `async_std::channel` is async-channel (the older 1.x line), and `async_std::sync::Mutex`
//!   is async-lock's; there is no semaphore, so async-lock's is used. Its `Barrier` (async-lock's
//!   too) and its own `Condvar` exist only with the `unstable` feature, not enabled here.
//!   `io::timeout` and `task::sleep` are async-io timers.
//! - **Threads.** N executor threads named `async-std/runtime`, async-io's `async-io` thread,
//!   and for `spawn-blocking` blocking's pool: the same set as smol's. They are never stopped:
//!   dropping a runner leaves the global executor running, idle.
//!
//! # Variants
//!
//! | task | variant | what it shows |
//! |---|---|---|
//! | mergesort, fib, nqueens | `spawn` | recursive `task::spawn` + `.await` down to the grain: CPU work on the executor threads, the form async code takes first |
//! | mergesort, fib, nqueens | `spawn-blocking` | the same recursion, each sequential leaf sent to `task::spawn_blocking`, at most N at once (an `async_lock::Semaphore`): the usual advice for CPU work. `task::spawn_blocking(f)` is `task::spawn(async_global_executor::spawn_blocking(f))`, two executor hops per piece: the runtime's real cost |
//! | scatter | `spawn` | a task per connection per round, all awaited: concurrency and parallelism |
//! | scatter | `join-all` | a round's K calls as K futures joined in one task: concurrency without parallelism |
//! | crawl | `spawn` | an async-lock `Semaphore` permit, then a task per request on a fresh connection |
//! | bounded | `async-channel` | [`async_std::channel::bounded`], which is async-channel 1.x re-exported (smol's variant of the same name runs 2.x); producers and consumers are tasks |
//! | lock | `mutex` | [`async_std::sync::Mutex`] around the shared counter, one `lock().await` per entry: async-lock's `Mutex` re-exported, the same type as smol's `async-lock` variant |
//! | lock | `std-mutex` | a [`std::sync::Mutex`] around the shared counter, never held across an `.await` |
//! | semaphore | `async-lock` | [`async_lock::Semaphore`] of S permits (async-std has none), one `acquire().await` per entry |
//! | barrier | `async-lock` | [`async_lock::Barrier`] for W tasks between phases: `async_std::sync::Barrier` is the same type re-exported, but only with the `unstable` feature |
//! | event | `event-listener` | an [`event_listener::Event`] beside a generation number: `listen`, check again, `.await`; `notify(usize::MAX)` wakes every waiter |
//! | condition | `event-listener` | the async monitor: turn and ball under a std `Mutex`, one `Event` per direction of the hand-off. async-std's `Condvar` would be the literal counterpart, but it exists only with the `unstable` feature |
//!
//! `cell.workers` = N means N executor threads, for every task.
//!
//! # Examples
//!
//! ```
//! use shootout_async_std::AsyncStd;
//! use shootout_suite::{Backend, Cell, Profile, Task, TaskId};
//!
//! let task = Task::new(TaskId::Fib, Profile::Smoke);
//! let cell = Cell { task, variant: "spawn".into(), workers: 2, server: None };
//! let mut run = AsyncStd.setup(&cell).unwrap();
//! let outcome = run(task.input()).unwrap();
//! assert_eq!(task.checksum(&outcome.answer), task.expected_checksum());
//! ```
//!
//! # Implementation
//!
//! [`Backend::setup`] sizes the global executor ([`runtime`]; its threads start on the first
//! call in the process, as setup) and opens a scatter's connections. Each repetition is
//! `task::block_on(task::spawn(root))` ([`run_task`]): the root is a task on the executor
//! threads, and the calling thread only waits for it. async-std's `block_on` is
//! `async_io::block_on` around a thread-local executor (for `spawn_local`, unused here): it
//! runs no task of the global executor, so the calling thread is not an extra worker, but
//! while it waits it takes its turn waiting on the reactor, so IO readiness and timers may be
//! handled on it and the tasks they wake run elsewhere. `shootout-smol` parks its calling
//! thread with `futures_lite::future::block_on` instead; async-std offers no other `block_on`,
//! and this crate uses async-std's own API, so that difference is the runtime's.
//!
//! Each family lives in its own file ([`dnc`], [`fanout`], [`pipeline`], [`sync`]), named as in
//! every other backend crate, so that two backends diff cleanly. The sequential kernels and the
//! wire codec come from `shootout-suite`.

pub mod dnc;
pub mod fanout;
pub mod pipeline;
pub mod sync;

use std::future::Future;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_global_executor::GlobalExecutorConfig;
use async_std::task;
use shootout_suite::{
    Answer, Backend, Cell, Failure, Input, Outcome, Runner, Support, Task, TaskId, Variant, runner,
};

/// The async-std backend: its global executor, `net`, `io`, `task` and `channel`, with
/// async-lock's semaphore.
pub struct AsyncStd;

/// The variants of `dnc/mergesort`, `dnc/fib` and `dnc/nqueens`.
pub const DNC: &[Variant] = &[
    Variant {
        name: "spawn",
        about: "recursive task::spawn + await down to the grain: CPU work on the N executor threads",
    },
    Variant {
        name: "spawn-blocking",
        about: "async recursion, each leaf sent to task::spawn_blocking, at most N at once (a Semaphore): two executor hops per piece",
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
    about: "an async-lock Semaphore permit (async-std has none), then a task per request on a fresh connection",
}];

/// The variants of `pipeline/bounded`.
pub const BOUNDED: &[Variant] = &[Variant {
    name: "async-channel",
    about: "async_std::channel::bounded, which is async-channel 1.x re-exported, receivers cloned; tasks on N threads",
}];

/// The variants of `sync/lock`.
pub const LOCK: &[Variant] = &[
    Variant {
        name: "mutex",
        about: "async_std::sync::Mutex (async-lock's Mutex re-exported) around the counter: a contended lock().await suspends the task",
    },
    Variant {
        name: "std-mutex",
        about: "std::sync::Mutex inside the tasks, never held across an .await: the cheaper lock when no guard crosses one",
    },
];

/// The variants of `sync/semaphore`.
pub const SEMAPHORE: &[Variant] = &[Variant {
    name: "async-lock",
    about: "async_lock::Semaphore (async-std has none), one acquire().await per entry: the async way to bound concurrency",
}];

/// The variants of `sync/barrier`.
pub const BARRIER: &[Variant] = &[Variant {
    name: "async-lock",
    about: "async_lock::Barrier for W tasks, wait().await between phases (async_std::sync::Barrier is this type, but unstable-only)",
}];

/// The variants of `sync/event`.
pub const EVENT: &[Variant] = &[Variant {
    name: "event-listener",
    about: "a generation in an atomic and an event_listener::Event, notify(usize::MAX): what async-lock and async-channel use inside",
}];

/// The variants of `sync/condition`.
pub const CONDITION: &[Variant] = &[Variant {
    name: "event-listener",
    about: "the async monitor: turn and ball under a std Mutex, one event_listener::Event per direction (async-std's Condvar is unstable-only)",
}];

impl Backend for AsyncStd {
    fn name(&self) -> &'static str {
        "async-std"
    }

    fn about(&self) -> &'static str {
        "async-std (discontinued upstream, RUSTSEC-2025-0052): its global executor sized to N threads"
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
            (Task::Mergesort(p), "spawn") => tasks_on(runtime(workers)?, move |input| async move {
                sorted(dnc::mergesort_spawn(input.into_keys(), p.grain).await)
            }),
            (Task::Mergesort(p), "spawn-blocking") => {
                tasks_on(runtime(workers)?, move |input| async move {
                    sorted(dnc::mergesort_spawn_blocking(input.into_keys(), p.grain, workers).await)
                })
            }
            (Task::Fib(p), "spawn") => tasks_on(runtime(workers)?, move |_| async move {
                value(dnc::fib_spawn(p.n, p.grain).await)
            }),
            (Task::Fib(p), "spawn-blocking") => tasks_on(runtime(workers)?, move |_| async move {
                value(dnc::fib_spawn_blocking(p.n, p.grain, workers).await)
            }),
            (Task::Nqueens(p), "spawn") => tasks_on(runtime(workers)?, move |_| async move {
                value(dnc::nqueens_spawn(p.n, p.split).await)
            }),
            (Task::Nqueens(p), "spawn-blocking") => {
                tasks_on(runtime(workers)?, move |_| async move {
                    value(dnc::nqueens_spawn_blocking(p.n, p.split, workers).await)
                })
            }
            (Task::Scatter(p), "spawn") => fanout::scatter_spawn(p, cell.server()?, workers),
            (Task::Scatter(p), "join-all") => fanout::scatter_join_all(p, cell.server()?, workers),
            (Task::Crawl(p), "spawn") => fanout::crawl_spawn(p, cell.server()?, workers),
            (Task::Bounded(p), "async-channel") => {
                tasks_on(runtime(workers)?, move |_| pipeline::async_channel(p))
            }
            (Task::Lock(p), "mutex") => {
                tasks_on(runtime(workers)?, move |_| sync::lock_mutex(p, workers))
            }
            (Task::Lock(p), "std-mutex") => {
                tasks_on(runtime(workers)?, move |_| sync::lock_std_mutex(p, workers))
            }
            (Task::Semaphore(p), "async-lock") => try_tasks_on(runtime(workers)?, move |_| {
                sync::semaphore_async_lock(p, workers)
            }),
            (Task::Barrier(p), "async-lock") => try_tasks_on(runtime(workers)?, move |_| {
                sync::barrier_async_lock(p, workers)
            }),
            (Task::Event(p), "event-listener") => try_tasks_on(runtime(workers)?, move |_| {
                sync::event_event_listener(p, workers)
            }),
            (Task::Condition(p), "event-listener") => tasks_on(runtime(workers)?, move |_| {
                sync::condition_event_listener(p)
            }),
            _ => Err(cell.unsupported(self)),
        }
    }
}

/// The name async-std gives its executor threads, kept here (Linux shows its first 15 bytes,
/// `async-std/runti`).
pub const THREAD_NAME: &str = "async-std/runtime";

/// async-std's own variable for its thread count. It is still honoured, as async-std's docs
/// promise; a value other than the cell's worker count makes [`runtime`] fail.
pub const THREAD_COUNT_VAR: &str = "ASYNC_STD_THREAD_COUNT";

/// The thread count the first [`runtime`] call of this process gave the global executor.
static THREADS: OnceLock<usize> = OnceLock::new();

/// How many threads the global executor has started: counted as it names them.
static STARTED: AtomicUsize = AtomicUsize::new(0);

/// async-std's global executor, sized for this process. Made by [`runtime`].
///
/// It owns nothing: the executor is a process-wide static that is never stopped, so dropping a
/// `Runtime` (and the runner that holds it) leaves its threads running, idle. It is the proof
/// that [`runtime`] sized the executor before [`run_task`] uses it.
#[derive(Clone, Copy, Debug)]
pub struct Runtime {
    threads: usize,
}

/// Sizes async-std's global executor to `workers` threads, or checks that it already has them.
///
/// async-std starts its executor at its first spawn or `block_on`, with the thread count from
/// `ASYNC_STD_THREAD_COUNT` or one per logical CPU, and never resizes it. Setting the variable
/// from the program is not an option here: `std::env::set_var` is `unsafe` in edition 2024
/// (another thread may be reading the environment) and this workspace denies unsafe code. But
/// the executor underneath is async-global-executor's, whose configuration is a write-once
/// global: async-std's first use calls `async_global_executor::init_with_config` with its own
/// settings, and a configuration that is already there wins. So the first call here configures
/// it first (`with_min_threads(n).with_max_threads(n)`, async-std's thread name and variable)
/// and starts its N threads. The thread-name function counts the threads as they start, which
/// verifies the count: it is not N if async-std was used before the first call, or if
/// `ASYNC_STD_THREAD_COUNT` says otherwise, and then this fails rather than measure a different
/// number of threads than the cell says.
///
/// Once started, the size is fixed for the life of the process: a later call asking for a
/// different count fails. The harness runs every cell in its own process; the tests use one
/// worker count per test binary.
pub fn runtime(workers: usize) -> Result<Runtime, Failure> {
    if workers == 0 {
        return Err(Failure::new("async-std needs at least one executor thread"));
    }
    let threads = *THREADS.get_or_init(|| {
        async_global_executor::init_with_config(
            GlobalExecutorConfig::default()
                .with_env_var(THREAD_COUNT_VAR)
                .with_min_threads(workers)
                .with_max_threads(workers)
                .with_thread_name_fn(|| {
                    STARTED.fetch_add(1, Ordering::Relaxed);
                    THREAD_NAME.to_owned()
                }),
        );
        workers
    });
    // The threads were started (and counted) inside `get_or_init`, which every caller has seen
    // complete by now.
    let started = STARTED.load(Ordering::Relaxed);
    if started != threads {
        return Err(Failure::new(format!(
            "async-std's executor started {started} threads, not {threads}: it was started before \
             this backend could size it, or {THREAD_COUNT_VAR} asks for another count"
        )));
    }
    if threads != workers {
        return Err(Failure::new(format!(
            "async-std's executor is global and sized once per process: it runs {threads} \
             threads, this cell asks for {workers}"
        )));
    }
    Ok(Runtime { threads })
}

impl Runtime {
    /// How many threads run the executor.
    pub fn threads(&self) -> usize {
        self.threads
    }
}

/// Runs `future` as a task of async-std's executor while the calling thread waits for it: one
/// repetition, `task::block_on(task::spawn(future))`.
///
/// The calling thread runs no task of the global executor, though it may take its turn
/// waiting on the reactor (see the crate docs). A panic in the task is raised again here.
pub fn run_task<T: Send + 'static>(
    _sized: &Runtime,
    future: impl Future<Output = T> + Send + 'static,
) -> T {
    task::block_on(task::spawn(future))
}

/// A runner that runs `work`'s future as a task of the executor, sized once per cell.
fn tasks_on<Fut>(
    runtime: Runtime,
    mut work: impl FnMut(Input) -> Fut + 'static,
) -> Result<Runner, Failure>
where
    Fut: Future<Output = Outcome> + Send + 'static,
{
    runner(move |input| Ok(run_task(&runtime, work(input))))
}

/// [`tasks_on`] for work that can fail: the repetition fails with the task's failure.
fn try_tasks_on<Fut>(
    runtime: Runtime,
    mut work: impl FnMut(Input) -> Fut + 'static,
) -> Result<Runner, Failure>
where
    Fut: Future<Output = Result<Outcome, Failure>> + Send + 'static,
{
    runner(move |input| run_task(&runtime, work(input)))
}

/// Wraps sorted keys as the answer.
fn sorted(keys: Vec<u64>) -> Outcome {
    Outcome::new(Answer::Sorted(keys))
}

/// Wraps a single number as the answer.
fn value(v: u64) -> Outcome {
    Outcome::new(Answer::Value(v))
}
