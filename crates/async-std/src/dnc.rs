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
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::thread;
    use std::time::Duration;

    use async_std::task::JoinHandle;
    use shootout_async_common::Spawn;
    use shootout_async_common::dnc::Cpu;

    use super::*;
    use crate::runtime::{run_task, runtime};

    #[test]
    fn spawn_blocking_runs_at_most_n_pieces_at_once() {
        // Three executor threads (the only size this test binary uses) and many pieces that
        // each block for a moment: only the two permits' worth may be on the pool at any time.
        let rt = runtime(3).unwrap();
        let (running, most) = run_task(&rt, async move {
            let cpu = Cpu::pool(2);
            let running = Arc::new(AtomicUsize::new(0));
            let most = Arc::new(AtomicUsize::new(0));
            let pieces: Vec<JoinHandle<()>> = (0..12)
                .map(|_| {
                    let (cpu, running, most) = (cpu.clone(), running.clone(), most.clone());
                    Spawner.spawn(async move {
                        cpu.run::<Spawner, _>(move || {
                            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                            most.fetch_max(now, Ordering::SeqCst);
                            thread::sleep(Duration::from_millis(5));
                            running.fetch_sub(1, Ordering::SeqCst);
                        })
                        .await
                    })
                })
                .collect();
            for piece in pieces {
                piece.await;
            }
            (running.load(Ordering::SeqCst), most.load(Ordering::SeqCst))
        });
        assert_eq!(running, 0);
        assert!((1..=2).contains(&most), "{most} pieces ran at once");
    }
}
