//! async-std's runtime, such as it is: its one global executor, sized to N threads before first
//! use, and the calling thread's wait for one repetition's root task.
//!
//! async-std has no runtime object (see the crate docs); [`Runtime`] is only the proof that
//! [`runtime`] sized the executor. [`Spawner`] and the [`Runtime`] are what
//! `shootout-async-common` asks of a runtime: a handle to spawn with, and the threads a
//! repetition runs on. It is a leaf of the crate.

use std::future::Future;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_global_executor::GlobalExecutorConfig;
use async_std::task::{self, JoinHandle};
use shootout_async_common::Spawn;
use shootout_suite::Failure;

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
/// (another thread may be reading the environment, and nothing here could prove none is), and
/// the workspace keeps `unsafe` to audited leaf modules whose safe API enforces their invariant
/// (see "Unsafe code" in ARCHITECTURE.md). But the executor underneath is
/// async-global-executor's, whose configuration is a write-once global: async-std's first use
/// calls `async_global_executor::init_with_config` with its own settings, and a configuration
/// that is already there wins. So the first call here configures it first
/// (`with_min_threads(n).with_max_threads(n)`, async-std's thread name and variable) and starts
/// its N threads. The thread-name function counts the threads as they start, which verifies the
/// count: it is not N if async-std was used before the first call, or if
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

/// The handle tasks spawn with: nothing at all, since async-std's executor is global and
/// `task::spawn` finds it.
#[derive(Clone, Copy, Debug)]
pub struct Spawner;

impl Spawn for Spawner {
    type Task<T: Send + 'static> = JoinHandle<T>;

    fn spawn<T: Send + 'static>(
        self,
        future: impl Future<Output = T> + Send + 'static,
    ) -> JoinHandle<T> {
        task::spawn(future)
    }

    /// Cancels every task, waiting until each is gone. Dropping an async-std `JoinHandle`
    /// detaches its task: it runs on, unobserved, where dropping a smol `Task` cancels it.
    async fn cancel_all<T: Send + 'static>(
        tasks: impl IntoIterator<Item = JoinHandle<T>, IntoIter: Send> + Send,
    ) {
        for task in tasks {
            task.cancel().await;
        }
    }
}

impl shootout_async_common::Runtime for Runtime {
    type Spawner = Spawner;

    fn start(workers: usize) -> Result<Self, Failure> {
        runtime(workers)
    }

    fn spawner(&self) -> Spawner {
        Spawner
    }

    fn run<T: Send + 'static>(&self, future: impl Future<Output = T> + Send + 'static) -> T {
        run_task(self, future)
    }

    fn run_here<T>(&self, future: impl Future<Output = T>) -> T {
        task::block_on(future)
    }
}
