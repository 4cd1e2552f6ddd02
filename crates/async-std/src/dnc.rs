//! Divide and conquer on async-std: recursive `task::spawn` on the global executor, and the same
//! tree with its CPU work sent to `task::spawn_blocking`.
//!
//! The trees, the grain, the `'static` data flow and the advice each variant follows are
//! `shootout-async-common`'s ([`shootout_async_common::dnc`]), shared with smol: async-std's
//! executor is async-executor too (through async-global-executor). What is async-std's:
//!
//! - **`spawn`** is `task::spawn`, which takes only `'static` futures: a spawned task may
//!   outlive the frame that spawned it (an async-std task whose handle is dropped runs on,
//!   detached), and async-std has no scoped spawn at all. The executor is global, so the
//!   [`Spawner`] passed down the recursion is empty; each spawn instead allocates async-std's
//!   task-locals frame around the future.
//! - **`spawn-blocking`** sends each piece of CPU work to [`async_std::task::spawn_blocking`],
//!   at most N at once (an `async_lock::Semaphore`,
//!   [`Cpu::Pool`](shootout_async_common::dnc::Cpu::Pool)). `task::spawn_blocking(f)` is
//!   `task::spawn(async_global_executor::spawn_blocking(f))`, and
//!   `async_global_executor::spawn_blocking` is blocking's `unblock`, the function smol calls
//!   `smol::unblock`. So `f` goes to the pool at once, as in smol, and one more task is spawned
//!   on the executor only to await it: two executor hops per piece. That task is scheduled and
//!   polled once, to wait on the pool, and when the pool is done it is woken and scheduled
//!   again, to finish and only then wake the task that awaits the piece; smol's `unblock` wakes
//!   that task straight from the pool. It is the runtime's real cost of `spawn_blocking`, what
//!   every async-std program that follows the advice pays, so it is measured as it is. Like
//!   smol, async-std has no API for the pool's size (`BLOCKING_MAX_THREADS`).

use std::future::Future;

use async_std::task;
use shootout_async_common::dnc::Offload;

use crate::runtime::Spawner;

impl Offload for Spawner {
    fn offload<T: Send + 'static>(
        work: impl FnOnce() -> T + Send + 'static,
    ) -> impl Future<Output = T> + Send {
        task::spawn_blocking(work)
    }
}

#[cfg(test)]
mod tests {
    use shootout_async_common::dnc::pieces_at_once;

    use crate::runtime::{Spawner, run_task, runtime};

    #[test]
    fn spawn_blocking_runs_at_most_n_pieces_at_once() {
        // Three executor threads (the only size this test binary uses) and many pieces that
        // each block for a moment: only the two permits' worth may be on the pool at any time.
        let rt = runtime(3).unwrap();
        let (running, most) = run_task(&rt, pieces_at_once(Spawner, 2, 12));
        assert_eq!(running, 0);
        assert!((1..=2).contains(&most), "{most} pieces ran at once");
    }
}
