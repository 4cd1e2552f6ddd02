//! The runtime smol leaves to the program: one `async_executor` executor, leaked to `'static`,
//! run by N threads, and the calling thread's wait for one repetition's root task.
//!
//! smol has no runtime object of its own (see the crate docs), so this is the one every cell
//! builds. [`Spawner`] and the [`Runtime`] are what `shootout-async-common` asks of a runtime:
//! a handle to spawn with, and the threads a repetition runs on. It is a leaf of the crate.

use std::future::{self, Future};
use std::thread::{self, JoinHandle};

use async_executor::{Executor, StaticExecutor, Task};
use shootout_async_common::Spawn;
use shootout_suite::Failure;

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

/// The handle tasks spawn with: the runtime's leaked executor, a pointer copied into each task
/// that spawns more (every `dnc` recursion does).
#[derive(Clone, Copy, Debug)]
pub struct Spawner(&'static StaticExecutor);

impl Spawn for Spawner {
    type Task<T: Send + 'static> = Task<T>;

    fn spawn<T: Send + 'static>(self, future: impl Future<Output = T> + Send + 'static) -> Task<T> {
        self.0.spawn(future)
    }

    /// Dropping a smol `Task` cancels it: a failed repetition only drops what it gave up on.
    fn cancel_all<T: Send + 'static>(
        tasks: impl IntoIterator<Item = Task<T>, IntoIter: Send> + Send,
    ) -> impl Future<Output = ()> + Send {
        drop(tasks);
        future::ready(())
    }
}

impl shootout_async_common::Runtime for Runtime {
    type Spawner = Spawner;

    fn start(workers: usize) -> Result<Self, Failure> {
        runtime(workers)
    }

    fn spawner(&self) -> Spawner {
        Spawner(self.executor)
    }

    fn run<T: Send + 'static>(&self, future: impl Future<Output = T> + Send + 'static) -> T {
        run_task(self, future)
    }

    /// Parks the calling thread between polls (`futures_lite`'s `block_on`), as [`run_task`]
    /// waits: the root future does no IO, and waiting with `async_io::block_on` would make the
    /// calling thread compete for the reactor (see the crate docs).
    fn run_here<T>(&self, future: impl Future<Output = T>) -> T {
        futures_lite::future::block_on(future)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cross-thread check bites on smol too: every party a task of a one-thread executor
    /// shares the thread, so the cross-thread forms must fail and the spawned forms pass.
    #[test]
    fn a_cross_thread_cell_that_woke_on_the_wakers_thread_fails() {
        use shootout_async_common::Runtime as _;
        use shootout_async_common::sync::{condition_event_listener, event_event_listener};
        use shootout_suite::Profile;
        use shootout_suite::task::{Condition, Event};
        use shootout_suite::wake::Handoff;

        let rt = runtime(1).unwrap();
        let (event, condition) = (
            Event::profile(Profile::Smoke),
            Condition::profile(Profile::Smoke),
        );
        let s = rt.spawner();
        let failures = [
            run_task(&rt, event_event_listener(s, event, 2, Handoff::CrossThread)).err(),
            run_task(
                &rt,
                condition_event_listener(s, condition, Handoff::CrossThread),
            )
            .err(),
        ];
        for failure in failures {
            let message = failure
                .expect("the check let a same-thread wake-up pass")
                .to_string();
            assert!(message.contains("ran on the waker's thread"), "{message}");
        }
        run_task(&rt, event_event_listener(s, event, 2, Handoff::Spawned)).unwrap();
        run_task(
            &rt,
            condition_event_listener(s, condition, Handoff::Spawned),
        )
        .unwrap();
    }

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
