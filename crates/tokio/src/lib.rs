//! The suite on tokio: a multi-thread runtime of N workers, and a current-thread one where it
//! teaches something.
//!
//! A thread that waits for a socket is a whole thread: a stack, a spawn and a wake-up per
//! reply, and a machine holds only so many. Async Rust compiles a function that waits into a
//! state machine that can be parked at every `.await` and resumed when its IO is ready. Tokio,
//! the most used runtime, drives those machines (tasks). It has a work-stealing scheduler of N
//! worker threads, an epoll reactor that says which sockets are ready, a timer wheel, and a
//! blocking pool for calls that cannot be made async. Where threads are expensive, tokio is
//! cheap: ten thousand connections are ten thousand small tasks, and a hand-off between tasks
//! on one worker is a function call. Where threads are free, tokio costs something: the
//! scheduler is cooperative, so a task that computes without reaching an `.await` holds its
//! worker, and everything queued behind it waits. This crate writes each task the way a tokio
//! expert would. It writes the CPU-bound tasks in the three ways tokio users are told to, so
//! that the tables show what each piece of advice is worth.
//!
//! # Variants
//!
//! | task | variant | what it shows |
//! |---|---|---|
//! | mergesort, fib, nqueens | `spawn` | recursive `tokio::spawn` down to the grain, leaves on the workers: CPU work in async, the pattern tokio warns about. Merge sort's tasks are `'static`: every node allocates a fresh `Vec` (about 8n bytes per level, the top levels mapped fresh and page-faulted every repetition), and the merges are sequential, the final one over all n keys on one core |
//! | mergesort, fib, nqueens | `spawn-blocking` | the same task tree, every leaf (and merge) on `spawn_blocking`: the blocking pool, capped at N, computes; merge sort pays the same allocations and sequential merges |
//! | mergesort, fib, nqueens | `rayon-bridge` | tokio's advice: the whole job on a rayon pool of N threads, the result awaited on a `oneshot` |
//! | scatter | `spawn` | a task per connection per round in a `JoinSet`, each moving its connection in and out |
//! | scatter | `join-all` | a round's K calls as futures of one task (`try_join_all`): concurrency without parallelism |
//! | scatter | `join-all-unconstrained` | `join-all` with tokio's cooperative budget off for its task: the budget costs a sub-executor up to K polls per forced yield |
//! | scatter | `current-thread` | `spawn` on a current-thread runtime: 10 000 connections on one OS thread |
//! | crawl | `spawn` | an owned `Semaphore` permit, then a task per request on a fresh connection |
//! | crawl | `current-thread` | `spawn` on a current-thread runtime: one OS thread |
//! | bounded | `mpsc` | `tokio::sync::mpsc::channel(capacity)`; consumers share its one receiver behind an async `Mutex` |
//! | bounded | `async-channel` | `async_channel::bounded(capacity)`, every consumer with its own receiver: the multi-consumer channel tokio's tutorial points to |
//! | bounded | `current-thread` | `mpsc` on a current-thread runtime: hand-offs are task switches, never wake-ups |
//! | lock | `tokio-mutex` | `tokio::sync::Mutex`, `.lock().await`: FIFO-fair, the lock for a guard held across an `.await` |
//! | lock | `std-mutex` | a `std::sync::Mutex` inside the tasks: tokio's own advice for plain data, the guard never held across an `.await` |
//! | semaphore | `semaphore` | `tokio::sync::Semaphore`, a permit from `acquire().await` per entry |
//! | barrier | `barrier` | `tokio::sync::Barrier`, `wait().await` at the end of every phase |
//! | event | `notify` | `Notify::notify_waiters()` and the generation in an `AtomicU64`; a setter task |
//! | event | `watch` | a `watch` channel carrying the generation, waiters on `changed().await`; a setter task |
//! | condition | `notify` | a std `Mutex` monitor with a `Notify` per direction (`notify_one`): the async `Condvar` |
//!
//! `cell.workers` = N means N worker threads: the multi-thread runtime has N workers, and its
//! blocking pool at most N threads. Where the idiom puts the work elsewhere it is said in the
//! variant's docs. `rayon-bridge` computes on a rayon pool of N threads while the N tokio
//! workers are parked. `spawn-blocking` computes on the blocking pool's N threads while the
//! workers coordinate. A `current-thread` variant runs everything on the calling thread, and
//! ignores N.
//!
//! # Examples
//!
//! ```
//! use shootout_suite::{Backend, Cell, Profile, Task, TaskId};
//! use shootout_tokio::Tokio;
//!
//! let task = Task::new(TaskId::Fib, Profile::Smoke);
//! let cell = Cell { task, variant: "spawn".into(), workers: 2, server: None };
//! let mut run = Tokio.setup(&cell).unwrap();
//! let outcome = run(task.input()).unwrap();
//! assert_eq!(task.checksum(&outcome.answer), task.expected_checksum());
//! ```
//!
//! # Implementation
//!
//! [`Backend::setup`] builds the cell's runtime ([`runtime`] or [`current_thread_runtime`]),
//! and for `rayon-bridge` its rayon pool ([`rayon_pool`]), and opens a scatter's connections.
//! Every repetition reuses them through one `Runtime::block_on` from the calling thread (see
//! [`run_task`]). `block_on` polls its future on the calling thread, which is not one of the
//! runtime's workers. A root future that computed there would make N + 1 threads work, so the
//! root is spawned as a task and the calling thread only waits for it. Dropping the runner
//! drops the runtime, which stops and joins its threads.
//!
//! Each family lives in its own file ([`dnc`], [`fanout`], [`pipeline`], [`sync`]), named as in every
//! other backend crate, so that two backends diff cleanly. The sequential kernels (leaf sort,
//! merge, `fib`, the queens search, the wire codec, per-item work) come from `shootout-suite`;
//! these files hold only the concurrency structure.

pub mod dnc;
pub mod fanout;
pub mod pipeline;
pub mod sync;

use std::future::Future;
use std::panic;
use std::sync::Arc;

use rayon::{ThreadPool, ThreadPoolBuilder};
use shootout_suite::{
    Answer, Backend, Cell, Failure, Input, Outcome, Runner, Support, Task, TaskId, Variant, runner,
};
use tokio::runtime::{Builder, Runtime};
use tokio::task::JoinError;

/// The tokio backend.
pub struct Tokio;

/// The variants of `dnc/mergesort`, `dnc/fib` and `dnc/nqueens`.
pub const DNC: &[Variant] = &[
    Variant {
        name: "spawn",
        about: "recursive tokio::spawn to the grain, leaves on the workers: the CPU-in-async pattern tokio warns about (mergesort: a Vec per node, sequential merges)",
    },
    Variant {
        name: "spawn-blocking",
        about: "the same task tree, every leaf (and merge) on spawn_blocking: the blocking pool (capped at N) computes",
    },
    Variant {
        name: "rayon-bridge",
        about: "tokio's advice: the whole job on a rayon pool of N threads, its result awaited on a oneshot",
    },
];

/// The variants of `fanout/scatter`.
pub const SCATTER: &[Variant] = &[
    Variant {
        name: "spawn",
        about: "a task per connection per round in a JoinSet, each moving its connection in and out",
    },
    Variant {
        name: "join-all",
        about: "a round's K calls as futures of one task (try_join_all): concurrency without parallelism",
    },
    Variant {
        name: "join-all-unconstrained",
        about: "join-all with tokio's cooperative budget off for its task: what the budget costs a sub-executor",
    },
    Variant {
        name: "current-thread",
        about: "the spawn form on a current-thread runtime: every connection on one OS thread",
    },
];

/// The variants of `fanout/crawl`.
pub const CRAWL: &[Variant] = &[
    Variant {
        name: "spawn",
        about: "acquire an owned Semaphore permit, then spawn a task per request on a fresh connection",
    },
    Variant {
        name: "current-thread",
        about: "the spawn form on a current-thread runtime: every request on one OS thread",
    },
];

/// The variants of `pipeline/bounded`.
pub const BOUNDED: &[Variant] = &[
    Variant {
        name: "mpsc",
        about: "tokio::sync::mpsc::channel; consumers take turns at its one Receiver behind an async Mutex: right for one consumer",
    },
    Variant {
        name: "async-channel",
        about: "async_channel::bounded, every consumer with its own receiver: the multi-consumer queue tokio's tutorial points to",
    },
    Variant {
        name: "current-thread",
        about: "the mpsc form on a current-thread runtime: hand-offs are task switches, never wake-ups",
    },
];

/// The variants of `sync/lock`.
pub const LOCK: &[Variant] = &[
    Variant {
        name: "tokio-mutex",
        about: "tokio::sync::Mutex, .lock().await: FIFO-fair, the lock a guard held across an .await needs",
    },
    Variant {
        name: "std-mutex",
        about: "std::sync::Mutex inside the tasks: tokio's advice for plain data when no guard is held across an .await",
    },
];

/// The variants of `sync/semaphore`.
pub const SEMAPHORE: &[Variant] = &[Variant {
    name: "semaphore",
    about: "tokio::sync::Semaphore, a permit from acquire().await per entry: tokio's way to bound concurrency",
}];

/// The variants of `sync/barrier`.
pub const BARRIER: &[Variant] = &[Variant {
    name: "barrier",
    about: "tokio::sync::Barrier, wait().await at the end of every phase; waiting tasks free their workers",
}];

/// The variants of `sync/event`.
pub const EVENT: &[Variant] = &[
    Variant {
        name: "notify",
        about: "Notify::notify_waiters() beside an AtomicU64 generation: tokio's bare wake-everyone, a setter task",
    },
    Variant {
        name: "watch",
        about: "a watch channel carrying the generation, waiters on changed().await: tokio's broadcast-the-latest-value",
    },
];

/// The variants of `sync/condition`.
pub const CONDITION: &[Variant] = &[Variant {
    name: "notify",
    about: "a std Mutex monitor with one Notify per direction (notify_one stores a permit): the async Condvar",
}];

impl Backend for Tokio {
    fn name(&self) -> &'static str {
        "tokio"
    }

    fn about(&self) -> &'static str {
        "tokio: tasks on a multi-thread runtime of N workers, spawn_blocking, a rayon bridge, current-thread"
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
                    sorted(dnc::mergesort_spawn_blocking(input.into_keys(), p.grain).await)
                })
            }
            (Task::Mergesort(p), "rayon-bridge") => {
                bridged(workers, move |pool, input| async move {
                    sorted(dnc::mergesort_rayon_bridge(pool, input.into_keys(), p.grain).await)
                })
            }
            (Task::Fib(p), "spawn") => tasks_on(runtime(workers)?, move |_| async move {
                value(dnc::fib_spawn(p.n, p.grain).await)
            }),
            (Task::Fib(p), "spawn-blocking") => tasks_on(runtime(workers)?, move |_| async move {
                value(dnc::fib_spawn_blocking(p.n, p.grain).await)
            }),
            (Task::Fib(p), "rayon-bridge") => bridged(workers, move |pool, _| async move {
                value(dnc::fib_rayon_bridge(pool, p.n, p.grain).await)
            }),
            (Task::Nqueens(p), "spawn") => tasks_on(runtime(workers)?, move |_| async move {
                value(dnc::nqueens_spawn(p.n, p.split).await)
            }),
            (Task::Nqueens(p), "spawn-blocking") => {
                tasks_on(runtime(workers)?, move |_| async move {
                    value(dnc::nqueens_spawn_blocking(p.n, p.split).await)
                })
            }
            (Task::Nqueens(p), "rayon-bridge") => bridged(workers, move |pool, _| async move {
                value(dnc::nqueens_rayon_bridge(pool, p.n, p.split).await)
            }),
            (Task::Scatter(p), "spawn") => fanout::scatter_spawn(p, cell.server()?, workers),
            (Task::Scatter(p), "join-all") => fanout::scatter_join_all(p, cell.server()?, workers),
            (Task::Scatter(p), "join-all-unconstrained") => {
                fanout::scatter_join_all_unconstrained(p, cell.server()?, workers)
            }
            (Task::Scatter(p), "current-thread") => {
                fanout::scatter_current_thread(p, cell.server()?)
            }
            (Task::Crawl(p), "spawn") => fanout::crawl_spawn(p, cell.server()?, workers),
            (Task::Crawl(p), "current-thread") => fanout::crawl_current_thread(p, cell.server()?),
            (Task::Bounded(p), _) if p.producers == 0 || p.consumers == 0 => Err(Failure::new(
                "bounded: producers and consumers must each be at least 1",
            )),
            (Task::Bounded(p), "mpsc") => tasks_on(runtime(workers)?, move |_| pipeline::mpsc(p)),
            (Task::Bounded(p), "async-channel") => {
                tasks_on(runtime(workers)?, move |_| pipeline::async_channel(p))
            }
            (Task::Bounded(p), "current-thread") => {
                tasks_on(current_thread_runtime()?, move |_| pipeline::mpsc(p))
            }
            (Task::Lock(p), "tokio-mutex") => tasks_on(runtime(workers)?, move |_| {
                sync::lock_tokio_mutex(p, workers)
            }),
            (Task::Lock(p), "std-mutex") => {
                tasks_on(runtime(workers)?, move |_| sync::lock_std_mutex(p, workers))
            }
            (Task::Semaphore(p), _) if p.permits == 0 => {
                Err(Failure::new("semaphore: permits must be at least 1"))
            }
            (Task::Semaphore(p), _) if p.permits > tokio::sync::Semaphore::MAX_PERMITS => {
                Err(Failure::new(format!(
                    "semaphore: tokio's Semaphore holds at most {} permits",
                    tokio::sync::Semaphore::MAX_PERMITS
                )))
            }
            (Task::Semaphore(p), "semaphore") => {
                checked_tasks_on(runtime(workers)?, move |_| sync::semaphore(p, workers))
            }
            (Task::Barrier(p), "barrier") => {
                checked_tasks_on(runtime(workers)?, move |_| sync::barrier(p, workers))
            }
            (Task::Event(p), "notify") => {
                checked_tasks_on(runtime(workers)?, move |_| sync::event_notify(p, workers))
            }
            (Task::Event(p), "watch") => {
                checked_tasks_on(runtime(workers)?, move |_| sync::event_watch(p, workers))
            }
            (Task::Condition(p), "notify") => {
                tasks_on(runtime(workers)?, move |_| sync::condition_notify(p))
            }
            _ => Err(cell.unsupported(self)),
        }
    }
}

/// Builds the runtime of a cell: a multi-thread runtime with `workers` worker threads and at
/// most `workers` blocking threads, all named `tokio-worker`, with IO and timers enabled.
///
/// Tokio names every thread of a runtime alike, so the blocking pool's threads carry the same
/// name. The workers are started here, so a repetition never pays for them. The blocking
/// threads start on first use and stay until they have been idle for ten seconds.
pub fn runtime(workers: usize) -> Result<Runtime, Failure> {
    if workers == 0 {
        // Tokio panics on zero workers; a cell must say what it measures.
        return Err(Failure::new("tokio needs at least one worker thread"));
    }
    Builder::new_multi_thread()
        .worker_threads(workers)
        .max_blocking_threads(workers)
        .thread_name("tokio-worker")
        .enable_all()
        .build()
        .map_err(|err| Failure::context("building the tokio runtime", err))
}

/// Builds a current-thread runtime: no worker threads at all, the thread that calls
/// `block_on` runs every task. Its blocking pool (unused here) is named like [`runtime`]'s.
pub fn current_thread_runtime() -> Result<Runtime, Failure> {
    Builder::new_current_thread()
        .thread_name("tokio-worker")
        .enable_all()
        .build()
        .map_err(|err| Failure::context("building the tokio current-thread runtime", err))
}

/// Builds the pool of a `rayon-bridge` cell: exactly `threads` threads, named `rayon-bridge-N`.
pub fn rayon_pool(threads: usize) -> Result<ThreadPool, Failure> {
    if threads == 0 {
        // Rayon reads 0 as "one per core"; a cell must say what it measures.
        return Err(Failure::new("rayon needs at least one worker thread"));
    }
    ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("rayon-bridge-{i}"))
        .build()
        .map_err(|err| Failure::context("building the rayon pool", err))
}

/// Runs `future` as a task of `runtime` while the calling thread waits for it: one repetition.
///
/// On a multi-thread runtime the task runs on the workers; on a current-thread runtime the
/// waiting thread runs it. A panic in the task is raised again here.
pub fn run_task<T: Send + 'static>(
    runtime: &Runtime,
    future: impl Future<Output = T> + Send + 'static,
) -> T {
    joined(runtime.block_on(runtime.spawn(future)))
}

/// A runner that runs `work`'s future as a task of `runtime`, built once per cell.
fn tasks_on<Fut>(
    runtime: Runtime,
    mut work: impl FnMut(Input) -> Fut + 'static,
) -> Result<Runner, Failure>
where
    Fut: Future<Output = Outcome> + Send + 'static,
{
    runner(move |input| Ok(run_task(&runtime, work(input))))
}

/// A runner like [`tasks_on`] for a task whose repetition checks itself and may fail.
fn checked_tasks_on<Fut>(
    runtime: Runtime,
    mut work: impl FnMut(Input) -> Fut + 'static,
) -> Result<Runner, Failure>
where
    Fut: Future<Output = Result<Outcome, Failure>> + Send + 'static,
{
    runner(move |input| run_task(&runtime, work(input)))
}

/// A runner for `rayon-bridge`: an N-worker runtime whose task hands the job to a rayon pool
/// of N threads, both built once per cell.
fn bridged<Fut>(
    workers: usize,
    mut work: impl FnMut(Arc<ThreadPool>, Input) -> Fut + 'static,
) -> Result<Runner, Failure>
where
    Fut: Future<Output = Outcome> + Send + 'static,
{
    let pool = Arc::new(rayon_pool(workers)?);
    tasks_on(runtime(workers)?, move |input| {
        work(Arc::clone(&pool), input)
    })
}

/// Wraps sorted keys as the answer.
fn sorted(keys: Vec<u64>) -> Outcome {
    Outcome::new(Answer::Sorted(keys))
}

/// Wraps a single number as the answer.
fn value(v: u64) -> Outcome {
    Outcome::new(Answer::Value(v))
}

/// The output of a finished task, passing on its panic if it had one.
///
/// A task is cancelled only when its runtime shuts down or it is aborted, and this crate joins
/// no task after either; a cancellation here is a bug, reported as a panic.
pub(crate) fn joined<T>(result: Result<T, JoinError>) -> T {
    match result {
        Ok(value) => value,
        Err(err) => match err.try_into_panic() {
            Ok(payload) => panic::resume_unwind(payload),
            Err(err) => panic!("a task was cancelled while it was awaited: {err}"),
        },
    }
}
