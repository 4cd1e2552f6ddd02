//! The rayon side of the `rayon-bridge` hybrid that tokio, smol and async-std offer: a whole
//! divide-and-conquer job handed from an async task to a rayon pool, its result awaited.
//!
//! Tokio's docs give the recipe for CPU-bound work in async code: "consider using the rayon
//! library", with a `oneshot` channel "to send the result back to Tokio when the rayon task
//! finishes". [`on_rayon`] is that recipe, with `futures`' oneshot, which any runtime can await
//! (its waker is a plain `Waker`), so the three runtimes share it. Inside the job the data is
//! the job's own, so it may be borrowed again, and rayon runs the rayon backend's own `join`
//! kernels ([`crate::dnc`]), parallel merge included: the hybrid hands its work to the other
//! model's own code.

use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;

use rayon::ThreadPool;

use crate::dnc::{fib_join, mergesort_join, nqueens_join};

/// Runs `work` on `pool` and awaits its result: the bridge from async code to a CPU pool.
///
/// The awaiting task is parked like any task waiting for IO; its executor thread is free
/// meanwhile. A panic in `work` is raised again here.
pub async fn on_rayon<T: Send + 'static>(
    pool: &ThreadPool,
    work: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (result_tx, result_rx) = futures::channel::oneshot::channel();
    pool.spawn(move || {
        // Nobody may be waiting any more (the task was cancelled): then the result is dropped.
        let _ = result_tx.send(panic::catch_unwind(AssertUnwindSafe(work)));
    });
    match result_rx.await {
        Ok(Ok(value)) => value,
        Ok(Err(panic)) => panic::resume_unwind(panic),
        Err(_) => unreachable!("a rayon job sends its result before it ends"),
    }
}

/// `fib(n)` by `rayon::join` on `pool`, sequential for `k <= grain`.
pub async fn fib(pool: Arc<ThreadPool>, n: u32, grain: u32) -> u64 {
    on_rayon(&pool, move || fib_join(n, grain)).await
}

/// Sorts `keys` on `pool` by the ping-pong merge sort with `rayon::join`, on the halves and in
/// the merges, sequential for runs of at most `grain` keys.
pub async fn mergesort(pool: Arc<ThreadPool>, mut keys: Vec<u64>, grain: usize) -> Vec<u64> {
    on_rayon(&pool, move || {
        // The job owns the keys, so inside it they may be borrowed again.
        mergesort_join(&mut keys, grain);
        keys
    })
    .await
}

/// Counts the n-queens solutions on `pool`, forking with `rayon::join` over halves of each
/// board's children while fewer than `split` rows are filled.
pub async fn nqueens(pool: Arc<ThreadPool>, n: u32, split: u32) -> u64 {
    on_rayon(&pool, move || nqueens_join(n, split)).await
}

#[cfg(test)]
mod tests {
    use std::thread;

    use futures_lite::future::block_on;

    use super::*;

    #[test]
    fn on_rayon_runs_on_the_pool_and_passes_panics_back() {
        let pool = crate::pool::named(2, "rayon-bridge").unwrap();
        block_on(async {
            let name = on_rayon(&pool, || thread::current().name().map(str::to_owned)).await;
            assert!(name.is_some_and(|name| name.starts_with("rayon-bridge-")));
            let panicked = AssertUnwindSafe(on_rayon(&pool, || panic!("boom")));
            let caught = futures_lite::FutureExt::catch_unwind(panicked).await;
            assert!(caught.is_err());
        });
    }
}
