//! Divide and conquer on async-std: recursive `task::spawn` on the global executor, and the same
//! tree with its CPU work sent to `task::spawn_blocking`.
//!
//! An executor is a thread pool without preemption. A task runs until it reaches an `.await`
//! that is not ready; a computation that never awaits holds its thread until it returns.
//! async-std's executor is async-executor (through async-global-executor), which gives each
//! thread a local queue and lets idle threads steal from the others, so a tree of spawned tasks
//! balances much as it does on rayon. This file measures what a spawn costs next to a fork on
//! rayon or threads, and what the usual advice for CPU work in async code costs. Both variants
//! cut the tree at the task's grain (or split depth), exactly as rayon's `join` does, and run
//! the suite's sequential kernels below it.
//!
//! # `spawn`: the natural async form
//!
//! The recursion of the sequential kernel with one branch spawned as a task and the other
//! awaited inline, then the task's handle awaited: the shape of `rayon::join`. Awaiting a
//! handle that is not finished suspends the parent, and its thread runs other tasks meanwhile.
//! Three things differ from `std::thread::scope` and `rayon::join`, all from the runtime:
//!
//! - **`'static`.** `task::spawn` takes only `'static` futures: a spawned task may outlive the
//!   frame that spawned it (an async-std task whose handle is dropped runs on, detached), so it
//!   can borrow nothing, and async-std has no scoped spawn at all. So data moves in and results
//!   move out. `fib` and `nqueens` pass small `Copy` values. Merge sort shares its input
//!   read-only in an `Arc<Vec<u64>>`: each leaf copies its run out and sorts it, and each merge
//!   consumes its children's sorted `Vec`s and returns a new one. That is as much copying as the
//!   ping-pong between two buffers (one copy at the leaves, one merge per level), plus an
//!   allocation per node of the tree.
//! - **No parallel merge.** threads and rayon cut the top merges in two with `merge_split`,
//!   writing into disjoint `&mut` halves of one output. An owned output cannot be cut into
//!   `'static` parts without `unsafe`, and merging into two `Vec`s to concatenate them copies as
//!   much as the split saves. So every merge is sequential, the last one over all n keys on one
//!   thread: the price of `'static`.
//! - **Naming the future.** A recursive `async fn` that spawns itself does not compile: to check
//!   `spawn`'s `Send` bound the compiler would need the future's type while still inferring it.
//!   The recursion is declared as `fn … -> impl Future<Output = T> + Send + 'static` around an
//!   `async move` block, and the inline branch is `Box::pin`ned, since a future cannot contain
//!   itself. The executor is global, so nothing is passed down to spawn on; each spawn instead
//!   allocates async-std's task-locals frame around the future.
//!
//! This is CPU-bound work on executor threads, which async guides call a mistake: a leaf holds
//! its thread for the whole leaf, and every socket, timer and task queued on that thread waits
//! until it is done. It is measured anyway because it is what async code looks like before
//! anyone profiles it, and because here nothing else runs on the executor, so the mistake
//! costs no latency and the numbers show the scheduler alone. When it is right: the executor
//! does nothing but this computation, or the leaves are short (well under the ~100 µs of a slow
//! system call). When it is a trap: in a server, where a long leaf stalls every connection
//! that shares its thread.
//!
//! # `spawn-blocking`: the CPU work on blocking's pool
//!
//! "Do not block the executor: move CPU-heavy work to `spawn_blocking`." The task tree is the
//! one of `spawn`; every piece of CPU work, a leaf and for merge sort every merge, goes to
//! blocking's pool. The two variants share their code and differ only in [`Cpu`].
//!
//! [`async_std::task::spawn_blocking`]`(f)` is
//! `task::spawn(async_global_executor::spawn_blocking(f))`, and
//! `async_global_executor::spawn_blocking` is blocking's `unblock`, the function smol calls
//! `smol::unblock`. So `f` goes to the pool at once, as in smol, and one more task is spawned
//! on the executor only to await it: two executor hops per piece. That task is scheduled and
//! polled once, to wait on the pool, and when the pool is done it is woken and scheduled again,
//! to finish and only then wake the task that awaits the piece; smol's `unblock` wakes that
//! task straight from the pool. It is the runtime's real cost of `spawn_blocking`, what every
//! async-std program that follows the advice pays, so it is measured as it is.
//!
//! The pool is sized for blocking IO, not for cores: it grows to 500 threads (the
//! `BLOCKING_MAX_THREADS` variable, read once, at first use; async-std has no API for it), and
//! an idle thread lingers 500 ms before it exits. Sent there unbounded, the thousands of leaves
//! of `fib` would run on hundreds of threads on two cores: oversubscription, not parallelism.
//! So the pieces are bounded by an [`async_lock::Semaphore`] of N permits: at most N run at
//! once, a piece waiting for a permit is a suspended task (not a blocked thread), and the N
//! executor threads only spawn and await. The pool may still start a few more threads than N
//! (it adds one when work arrives before a finished thread is back to idle), but at most N have
//! work.
//!
//! When it is right: now and then a long blocking or CPU-heavy call in async code that must
//! stay responsive (a file read, a password hash, a large parse). When it is a trap: in bulk.
//! Every piece is two hand-offs between threads (to the pool and back, each a wake-up of a
//! parked thread, tens of microseconds across cores on the reference machine), the pool's queue
//! is one FIFO under a mutex with no work stealing, and without a bound like this one it
//! oversubscribes the cores.
//!
//! The file goes from the simplest tree to the most irregular one: `fib`, `mergesort`,
//! `nqueens`.

use std::future::Future;
use std::ops::Range;
use std::sync::Arc;

use async_lock::Semaphore;
use async_std::task::{self, JoinHandle};
use shootout_suite::dnc::nqueens::Board;
use shootout_suite::dnc::{fib, mergesort};

// ---------------------------------------------------------------------------------------------
// Where the sequential work runs: inline for `spawn`, on blocking's pool for `spawn-blocking`.
// ---------------------------------------------------------------------------------------------

/// Where a piece of sequential work (a leaf, a merge) runs; the task tree above it is the same.
#[derive(Clone, Debug)]
pub enum Cpu {
    /// On the executor thread that polls the task, which does not yield until it is done:
    /// `spawn`.
    Inline,
    /// On blocking's pool while the task waits for it, at most as many pieces at once as the
    /// semaphore has permits: `spawn-blocking`. Each piece also spawns the task that
    /// `task::spawn_blocking` wraps around it: two executor hops (see the module docs).
    SpawnBlocking(Arc<Semaphore>),
}

impl Cpu {
    /// `SpawnBlocking` with `workers` permits.
    pub fn spawn_blocking(workers: usize) -> Cpu {
        Cpu::SpawnBlocking(Arc::new(Semaphore::new(workers.max(1))))
    }

    /// Runs `work` where this says, and returns its result.
    pub async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> T {
        match self {
            Cpu::Inline => work(),
            Cpu::SpawnBlocking(permits) => {
                // Held until the result is back, so that at most N pieces are on the pool.
                let _permit = permits.acquire().await;
                task::spawn_blocking(work).await
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// fib: spawn one branch, await the other.
// ---------------------------------------------------------------------------------------------

/// `spawn`: `fib(n)` as a tree of tasks down to the grain, the leaves computed on the executor
/// threads.
pub async fn fib_spawn(n: u32, grain: u32) -> u64 {
    fib_tasks(n, grain, Cpu::Inline).await
}

/// `spawn-blocking`: the tree of [`fib_spawn`], the leaves computed on blocking's pool, at most
/// `workers` at once.
pub async fn fib_spawn_blocking(n: u32, grain: u32, workers: usize) -> u64 {
    fib_tasks(n, grain, Cpu::spawn_blocking(workers)).await
}

/// `fib(n)`: `fib(n - 1)` spawned, `fib(n - 2)` awaited inline, sequential for `k <= grain`.
#[allow(
    clippy::manual_async_fn,
    reason = "an `async fn` that spawns itself cannot prove its future `Send` (E0283)"
)]
fn fib_tasks(n: u32, grain: u32, cpu: Cpu) -> impl Future<Output = u64> + Send + 'static {
    async move {
        if n < 2 || n <= grain {
            return cpu.run(move || fib::sequential(n)).await;
        }
        let a = task::spawn(fib_tasks(n - 1, grain, cpu.clone()));
        let b = Box::pin(fib_tasks(n - 2, grain, cpu)).await;
        a.await + b
    }
}

// ---------------------------------------------------------------------------------------------
// mergesort: owned runs in, owned runs out.
// ---------------------------------------------------------------------------------------------

/// `spawn`: sorts `keys` as a tree of tasks over runs of at most `grain` keys; leaves and merges
/// run on the executor threads.
pub async fn mergesort_spawn(keys: Vec<u64>, grain: usize) -> Vec<u64> {
    let n = keys.len();
    sort_tasks(Arc::new(keys), 0..n, grain.max(1), Cpu::Inline).await
}

/// `spawn-blocking`: the tree of [`mergesort_spawn`], every leaf sort and every merge run on
/// blocking's pool, at most `workers` at once.
pub async fn mergesort_spawn_blocking(keys: Vec<u64>, grain: usize, workers: usize) -> Vec<u64> {
    let n = keys.len();
    sort_tasks(
        Arc::new(keys),
        0..n,
        grain.max(1),
        Cpu::spawn_blocking(workers),
    )
    .await
}

/// The keys of `run`, sorted into a new `Vec`: the back half spawned, the front half awaited
/// inline, then the two merged. `keys` is only read; every task holds the `Arc` it reads from,
/// and the input is freed when the last leaf has copied its run out.
#[allow(
    clippy::manual_async_fn,
    reason = "an `async fn` that spawns itself cannot prove its future `Send` (E0283)"
)]
fn sort_tasks(
    keys: Arc<Vec<u64>>,
    run: Range<usize>,
    grain: usize,
    cpu: Cpu,
) -> impl Future<Output = Vec<u64>> + Send + 'static {
    async move {
        if run.len() <= grain {
            return cpu
                .run(move || {
                    let mut leaf = keys[run].to_vec();
                    mergesort::sort_leaf(&mut leaf);
                    leaf
                })
                .await;
        }
        let mid = run.start + run.len() / 2;
        let back = task::spawn(sort_tasks(
            Arc::clone(&keys),
            mid..run.end,
            grain,
            cpu.clone(),
        ));
        let front = Box::pin(sort_tasks(keys, run.start..mid, grain, cpu.clone())).await;
        let back = back.await;
        cpu.run(move || merged(&front, &back)).await
    }
}

/// The merge of two sorted runs, in a new `Vec`.
fn merged(front: &[u64], back: &[u64]) -> Vec<u64> {
    let mut out = vec![0; front.len() + back.len()];
    mergesort::merge(front, back, &mut out);
    out
}

// ---------------------------------------------------------------------------------------------
// nqueens: a task per child board.
// ---------------------------------------------------------------------------------------------

/// `spawn`: counts the n-queens solutions with a task per board while fewer than `split` rows
/// are filled; the boards at the split are counted on the executor threads.
pub async fn nqueens_spawn(n: u32, split: u32) -> u64 {
    queens_tasks(Board::empty(n), split, Cpu::Inline).await
}

/// `spawn-blocking`: the tree of [`nqueens_spawn`], the boards at the split counted on
/// blocking's pool, at most `workers` at once.
pub async fn nqueens_spawn_blocking(n: u32, split: u32, workers: usize) -> u64 {
    queens_tasks(Board::empty(n), split, Cpu::spawn_blocking(workers)).await
}

/// The solutions below `board`. A board has from zero to n children, so the fan-out is the
/// async one: spawn a task per child, then await their handles in order.
#[allow(
    clippy::manual_async_fn,
    reason = "an `async fn` that spawns itself cannot prove its future `Send` (E0283)"
)]
fn queens_tasks(board: Board, split: u32, cpu: Cpu) -> impl Future<Output = u64> + Send + 'static {
    async move {
        if board.depth() >= split {
            return cpu.run(move || board.count()).await;
        }
        let children: Vec<JoinHandle<u64>> = board
            .children()
            .map(|child| task::spawn(queens_tasks(child, split, cpu.clone())))
            .collect();
        let mut count = 0;
        for child in children {
            count += child.await;
        }
        count
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::thread;
    use std::time::Duration;

    use super::*;
    use crate::runtime::{run_task, runtime};

    #[test]
    fn spawn_blocking_runs_at_most_n_pieces_at_once() {
        // Three executor threads (the only size this test binary uses) and many pieces that
        // each block for a moment: only the two permits' worth may be on the pool at any time.
        let rt = runtime(3).unwrap();
        let (running, most) = run_task(&rt, async move {
            let cpu = Cpu::spawn_blocking(2);
            let running = Arc::new(AtomicUsize::new(0));
            let most = Arc::new(AtomicUsize::new(0));
            let pieces: Vec<JoinHandle<()>> = (0..12)
                .map(|_| {
                    let (cpu, running, most) = (cpu.clone(), running.clone(), most.clone());
                    task::spawn(async move {
                        cpu.run(move || {
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
