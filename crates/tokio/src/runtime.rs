//! The runtimes a cell runs on, built in setup, and the runners that run a repetition as a task
//! of one: see the crate docs' Implementation section.

use std::future::Future;
use std::panic;
use std::sync::Arc;

use rayon::ThreadPool;
use shootout_suite::percore::Cores;
use shootout_suite::wake::Handoff;
use shootout_suite::{Failure, Input, Outcome, Runner, runner};
use tokio::runtime::{Builder, Runtime};
use tokio::task::JoinError;

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

/// One core of a `per-core` cell: a current-thread runtime on a thread of its own, and what
/// the variant keeps on that core (its share of the connections).
pub(crate) struct Core<S> {
    /// The core's runtime: every task of this core runs on its thread, and only there.
    pub runtime: Runtime,
    /// The variant's per-core state, built on the core's thread.
    pub state: S,
}

/// Builds the cores of a `per-core` cell: `workers` threads named `tokio-core-N`, pinned one
/// per core where the OS allows, each with its own current-thread runtime and the state
/// `make(i, runtime)` builds on it – the shape tokio users build for thread per core.
pub(crate) fn per_core<S: 'static>(
    workers: usize,
    make: impl Fn(usize, &Runtime) -> Result<S, Failure> + Send + Sync + 'static,
) -> Result<Cores<Core<S>>, Failure> {
    Cores::start(workers, "tokio-core", move |i| {
        let runtime = current_thread_runtime()?;
        let state = make(i, &runtime)?;
        Ok(Core { runtime, state })
    })
}

/// Builds the pool of a `rayon-bridge` cell: exactly `threads` threads, named `rayon-bridge-N`.
pub fn rayon_pool(threads: usize) -> Result<ThreadPool, Failure> {
    shootout_rayon::pool::named(threads, "rayon-bridge")
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
pub(crate) fn tasks_on<Fut>(
    runtime: Runtime,
    mut work: impl FnMut(Input) -> Fut + 'static,
) -> Result<Runner, Failure>
where
    Fut: Future<Output = Outcome> + Send + 'static,
{
    runner(move |input| Ok(run_task(&runtime, work(input))))
}

/// A runner like [`tasks_on`] for a task whose repetition checks itself and may fail.
pub(crate) fn checked_tasks_on<Fut>(
    runtime: Runtime,
    mut work: impl FnMut(Input) -> Fut + 'static,
) -> Result<Runner, Failure>
where
    Fut: Future<Output = Result<Outcome, Failure>> + Send + 'static,
{
    runner(move |input| run_task(&runtime, work(input)))
}

/// A runner for a wake-up task whose root future is the waking party: run by `block_on` on
/// the calling thread, outside the workers, for [`Handoff::CrossThread`]; spawned as a task
/// like the parties it wakes for [`Handoff::Spawned`].
pub(crate) fn rooted<Fut>(
    runtime: Runtime,
    handoff: Handoff,
    mut root: impl FnMut() -> Fut + 'static,
) -> Result<Runner, Failure>
where
    Fut: Future<Output = Result<Outcome, Failure>> + Send + 'static,
{
    runner(move |_| match handoff {
        Handoff::CrossThread => runtime.block_on(root()),
        Handoff::Spawned => run_task(&runtime, root()),
    })
}

/// A runner for `rayon-bridge`: an N-worker runtime whose task hands the job to a rayon pool
/// of N threads, both built once per cell.
pub(crate) fn bridged<Fut>(
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
