//! Divide and conquer on smol: recursive `spawn` on the runtime's executor, and the same tree
//! with its CPU work sent to `unblock`.
//!
//! The trees, the grain, the `'static` data flow and the advice each variant follows are
//! `shootout-async-common`'s ([`shootout_async_common::dnc`]), shared with async-std. What is
//! smol's:
//!
//! - **`spawn`** spawns on the runtime's `StaticExecutor` ([`crate::Runtime`]), which takes only
//!   `'static` futures: a spawned task may outlive the frame that spawned it (a detached task
//!   runs on). async-executor also has scoped executors (`Executor<'a>` takes futures that
//!   borrow for `'a`), but the threads that run one must end within `'a`, so they would be
//!   started inside every repetition, N thread spawns in the timed region. The executor goes
//!   down the recursion as the [`Spawner`], a `&'static StaticExecutor` copied into each task.
//! - **`unblock`** sends each piece of CPU work to [`blocking::unblock`] (`smol::unblock` is the
//!   same function): the closure goes to blocking's thread pool and the returned future is
//!   woken straight from the pool when it is done. At most N pieces are on the pool at once
//!   (an `async_lock::Semaphore`, [`Cpu::Pool`](shootout_async_common::dnc::Cpu::Pool)).

use std::future::Future;

use shootout_async_common::dnc::Offload;

use crate::runtime::Spawner;

impl Offload for Spawner {
    fn offload<T: Send + 'static>(
        work: impl FnOnce() -> T + Send + 'static,
    ) -> impl Future<Output = T> + Send {
        blocking::unblock(work)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::thread;
    use std::time::Duration;

    use async_executor::Task;
    use shootout_async_common::dnc::Cpu;
    use shootout_async_common::{Runtime as _, Spawn};

    use crate::runtime::{run_task, runtime};

    #[test]
    fn unblock_runs_at_most_n_pieces_at_once() {
        // Three executor threads and many pieces that each block for a moment: only the two
        // permits' worth may be on blocking's pool at any time.
        let rt = runtime(3).unwrap();
        let s = rt.spawner();
        let (running, most) = run_task(&rt, async move {
            let cpu = Cpu::pool(2);
            let running = Arc::new(AtomicUsize::new(0));
            let most = Arc::new(AtomicUsize::new(0));
            let pieces: Vec<Task<()>> = (0..12)
                .map(|_| {
                    let (cpu, running, most) = (cpu.clone(), running.clone(), most.clone());
                    s.spawn(async move {
                        cpu.run::<crate::runtime::Spawner, _>(move || {
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
