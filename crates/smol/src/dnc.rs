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
    use shootout_async_common::Runtime as _;
    use shootout_async_common::dnc::{Cpu, mergesort, pieces_at_once};

    use crate::runtime::{run_task, runtime};

    #[test]
    fn mergesort_sorts_ties_and_odd_sizes_inline_and_on_the_pool() {
        let rt = runtime(2).unwrap();
        for cpu in [Cpu::Inline, Cpu::pool(2)] {
            for (keys, grain, expected) in shootout_testkit::mergesort_ties_and_odd_sizes() {
                let n = keys.len();
                let sorted = run_task(&rt, mergesort(rt.spawner(), keys, grain, cpu.clone()));
                assert_eq!(sorted, expected, "n = {n}, grain = {grain}, {cpu:?}");
            }
        }
    }

    #[test]
    fn unblock_runs_at_most_n_pieces_at_once() {
        // Three executor threads and many pieces that each block for a moment: only the two
        // permits' worth may be on blocking's pool at any time.
        let rt = runtime(3).unwrap();
        let (running, most) = run_task(&rt, pieces_at_once(rt.spawner(), 2, 12));
        assert_eq!(running, 0);
        assert!((1..=2).contains(&most), "{most} pieces ran at once");
    }
}
