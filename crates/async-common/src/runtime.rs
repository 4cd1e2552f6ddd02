//! The two pieces of a runtime the shared code needs: a handle to spawn tasks with
//! ([`Spawn`]), and the owner of the executor threads that runs one repetition's root task
//! ([`Runtime`]).
//!
//! smol and async-std each implement both in a few lines (their `runtime.rs`): a smol handle is
//! the `&'static StaticExecutor` the runtime leaked, an async-std handle is nothing at all
//! (its executor is global). The shared code is generic over them, so each backend compiles its
//! own copy, calling its runtime's functions directly: no dynamic dispatch, no extra allocation.

use std::future::Future;

use shootout_suite::wake::Handoff;
use shootout_suite::{Failure, Input, Outcome, Runner, runner};

/// A handle to spawn tasks on: copied into every task that spawns more.
pub trait Spawn: Copy + Send + Sync + 'static {
    /// A spawned task's handle, awaited for its output.
    type Task<T: Send + 'static>: Future<Output = T> + Send + Unpin + 'static;

    /// Spawns `future` as a task of the runtime's executor.
    fn spawn<T: Send + 'static>(
        self,
        future: impl Future<Output = T> + Send + 'static,
    ) -> Self::Task<T>;

    /// Cancels every task of `tasks` that a failed repetition gives up on, so that nothing of it
    /// outlives it. Dropping a smol `Task` cancels it; dropping an async-std `JoinHandle` only
    /// detaches it, so async-std awaits each handle's `cancel`.
    fn cancel_all<T: Send + 'static>(
        tasks: impl IntoIterator<Item = Self::Task<T>, IntoIter: Send> + Send,
    ) -> impl Future<Output = ()> + Send;
}

/// The executor threads of one cell, made in setup: each repetition runs as one root task on
/// them while the calling thread waits.
pub trait Runtime: Sized + 'static {
    /// The handle its tasks spawn with.
    type Spawner: Spawn;

    /// Starts (or sizes) an executor run by `workers` threads.
    fn start(workers: usize) -> Result<Self, Failure>;

    /// The handle to spawn on.
    fn spawner(&self) -> Self::Spawner;

    /// Runs `future` as a task of the executor while the calling thread waits for it: one
    /// repetition. A panic in the task is raised again here.
    fn run<T: Send + 'static>(&self, future: impl Future<Output = T> + Send + 'static) -> T;

    /// Runs `future` on the calling thread, which is none of the executor's threads, until it
    /// finishes (the runtime's `block_on`); the tasks it spawns run on the executor. Where the
    /// wake-up tasks put the waking party to make every wake-up cross threads.
    fn run_here<T>(&self, future: impl Future<Output = T>) -> T;
}

/// A runner that runs `work`'s future as a task of `runtime`, built once per cell; `work` gets
/// the handle to spawn on.
pub fn tasks_on<R: Runtime, Fut>(
    runtime: R,
    mut work: impl FnMut(R::Spawner, Input) -> Fut + 'static,
) -> Result<Runner, Failure>
where
    Fut: Future<Output = Outcome> + Send + 'static,
{
    runner(move |input| Ok(runtime.run(work(runtime.spawner(), input))))
}

/// A runner for a wake-up task whose root future is the waking party: run on the calling
/// thread ([`Runtime::run_here`]) for [`Handoff::CrossThread`], as a task of the executor like
/// the parties it wakes ([`Runtime::run`]) for [`Handoff::Spawned`].
pub fn rooted<R: Runtime, Fut>(
    runtime: R,
    handoff: Handoff,
    mut root: impl FnMut(R::Spawner) -> Fut + 'static,
) -> Result<Runner, Failure>
where
    Fut: Future<Output = Result<Outcome, Failure>> + Send + 'static,
{
    runner(move |_| {
        let root = root(runtime.spawner());
        match handoff {
            Handoff::CrossThread => runtime.run_here(root),
            Handoff::Spawned => runtime.run(root),
        }
    })
}

/// [`tasks_on`] for work that can fail: the repetition fails with the task's failure.
pub fn try_tasks_on<R: Runtime, Fut>(
    runtime: R,
    mut work: impl FnMut(R::Spawner, Input) -> Fut + 'static,
) -> Result<Runner, Failure>
where
    Fut: Future<Output = Result<Outcome, Failure>> + Send + 'static,
{
    runner(move |input| runtime.run(work(runtime.spawner(), input)))
}
