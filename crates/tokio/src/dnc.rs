//! Divide and conquer on tokio: recursive `tokio::spawn`, the same tree with its CPU work on
//! `spawn_blocking`, and the whole job handed to a rayon pool – the three answers a tokio user
//! is given for CPU-bound work.
//!
//! Tokio's scheduler is built for IO. A worker runs a task until the task reaches an `.await`
//! that is not ready, then runs the next one; nothing preempts a task that computes. Tokio's
//! docs say it plainly: "code that spends a long time without reaching an `.await` will prevent
//! other tasks from running". They send CPU-bound work to `spawn_blocking` or, better, to a
//! dedicated pool such as rayon. This file measures all three, on the same tree and with the
//! same cutoff as the other backends, so that the tables show what the advice is worth.
//!
//! # `spawn`: the natural async form
//!
//! The recursion of the sequential kernel with one branch spawned as a task and the other
//! awaited inline, the shape of `rayon::join` and the threads backend's `fork`; below the grain
//! the suite's kernel runs on the worker that polls the task. Three things differ from
//! `std::thread::scope` and `rayon::join`, and all three come from the runtime:
//!
//! - **`'static`.** A spawned task may outlive the frame that spawned it (nothing joins it the
//!   way a scope does), so it can borrow nothing: data moves in and results move out. `fib` and
//!   `nqueens` pass small `Copy` values. Merge sort cannot hand out `&mut` halves of the keys,
//!   so it shares the input read-only in an `Arc<Vec<u64>>`; each leaf copies its run out and
//!   sorts it, each merge consumes its children's sorted `Vec`s and returns a new one.
//! - **No parallel merge.** The threads and rayon backends cut the top merges in two with
//!   `merge_split` and write both halves into disjoint `&mut` parts of one output. An owned
//!   output cannot be cut into `'static` parts without `unsafe`. The halves could be merged
//!   into two `Vec`s in parallel, but then they must be copied into one: a sequential copy on
//!   the critical path of every merge cut this way. So every merge here is sequential.
//! - **Naming the future.** A recursive `async fn` that spawns itself does not compile: to
//!   check `tokio::spawn`'s `Send` bound the compiler must know whether the future is `Send`
//!   while it is still inferring that future's type (error E0283). The expert form declares it:
//!   `fn … -> impl Future<Output = T> + Send + 'static` around an `async move` block. The branch
//!   awaited inline is `Box::pin`ned, since a future cannot contain itself.
//!
//! What that costs merge sort, plainly:
//!
//! - **A fresh `Vec` at every node.** The merges read and write as much as the ping-pong
//!   between two buffers that the other backends use (one copy at the leaves, one merge per
//!   level), but every merge writes into a new, zero-filled `Vec` of its run's length, and
//!   every leaf copies into one of its own. That is about log2(n / grain) × 8n bytes allocated
//!   and freed per repetition, against the ping-pong's one scratch buffer of 8n: at the full
//!   profile (n = 10 million, grain 32 768) nine levels of merge outputs of 80 MB each, 720 MB,
//!   and 80 MB more for the leaves. The largest outputs – the 80 MB of the final merge and the
//!   two 40 MB ones below it – are above 32 MiB, the most to which glibc's malloc (Rust's
//!   allocator on Linux) raises its `mmap` threshold. It serves them with a fresh `mmap` and
//!   unmaps them when they are freed, so every repetition takes a page fault on the first write
//!   to each of their 4 KiB pages.
//! - **The final merge of all n keys runs on one core**, while the other workers have nothing
//!   to do; the two merges below it run on two, and so on. Whatever N is, the critical path
//!   merges n + n/2 + n/4 + … ≈ 2n keys one at a time, and that caps the speedup.
//!
//! Why not the ping-pong with owned buffers? Splitting an owned `Vec` is not free:
//! `Vec::split_off` allocates the back half and copies it out, and `append` copies it back, so
//! splitting keys and scratch at every node would allocate as much as this form and copy each
//! level twice more. Cutting one allocation into two owned `'static` halves and joining them
//! again without a copy takes `unsafe` (it is what `bytes::BytesMut` does for bytes), which this
//! workspace denies. This form is what a tokio user writes with `spawn`; its cost is the price
//! of `'static`, and part of the reason `scope`, `join` and the rayon bridge below exist.
//!
//! When it is right: the runtime does nothing but this computation and the leaves are short.
//! Then tokio is a work-stealing scheduler like rayon's, with a heap-allocated task per fork,
//! and it balances the irregular trees as well. When it is a trap: almost always in a real
//! program. A leaf holds its worker for the grain's worth of CPU time without an `.await`, and
//! every socket, timer and task queued on that worker waits for it: this is exactly the pattern
//! tokio warns about, and that is why it is measured.
//!
//! # `spawn-blocking`: the CPU work on the blocking pool
//!
//! The same task tree, but every piece of CPU work – a leaf, and for merge sort every merge – is
//! passed to [`tokio::task::spawn_blocking`] and awaited. The workers only spawn and await; the
//! blocking pool computes. The two variants share their code, and differ only in [`Cpu`].
//!
//! When it is right: now and then a blocking or CPU-heavy call in an async program (hashing a
//! password, compressing a file), so that the workers stay free for IO. When it is a trap: in
//! bulk. The pool is sized for blocking IO, 512 threads by default, and starts a new thread
//! whenever a job finds none idle, so a burst of CPU work becomes hundreds of threads fighting
//! over the cores. Its queue is one FIFO under a mutex, with no work stealing, and every job is
//! a hand-off to another thread and a wake-up back (tens of microseconds each on the reference
//! machine). This backend caps the pool at `workers` threads (`max_blocking_threads`), so that
//! N threads do the work here as everywhere; the default would not.
//!
//! # `rayon-bridge`: the whole job on a rayon pool
//!
//! Tokio's own advice for CPU-bound work: "you should use a separate thread pool dedicated to
//! CPU bound tasks. For example, you could consider using the rayon library", with a `oneshot`
//! channel "to send the result back to Tokio when the rayon task finishes". The task hands the
//! whole job to a rayon pool of N threads with [`ThreadPool::spawn`] and awaits its result on a
//! [`tokio::sync::oneshot`] channel (see [`on_rayon`]). Inside the job the data may be borrowed
//! again, so rayon runs the recursion with `rayon::join` down to the same grain, parallel merge
//! included: the rayon backend's `join` variants, copied function for function. The N rayon threads are the workers of this variant: they do all the computing,
//! while the tokio runtime's N workers are parked for the whole run, present in the thread count
//! and absent from the CPU time.
//!
//! One hand-off per job, not per leaf: sending each leaf over separately would cost a wake-up
//! across pools per leaf, and rayon balances only what it can split itself. When it is right:
//! CPU-heavy work in an async program – the standard answer. When it is a trap: a rayon job
//! cannot `.await`, so work that mixes IO and computation has to be cut at every IO; and with
//! both pools busy, 2N threads share N cores. A panic in a rayon `spawn` aborts the process
//! unless it is caught: it is caught here and raised again in the awaiting task, as a
//! `JoinHandle` would.
//!
//! The file goes from the simplest tree to the most irregular one: `fib`, then `mergesort`,
//! then `nqueens`, then the rayon bridge for all three.

use std::future::Future;
use std::ops::Range;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;

use rayon::ThreadPool;
use shootout_suite::dnc::nqueens::Board;
use shootout_suite::dnc::{fib, mergesort};
use tokio::sync::oneshot;
use tokio::task::{self, JoinHandle};

use crate::joined;

// ---------------------------------------------------------------------------------------------
// Where the sequential work runs: inline for `spawn`, on the blocking pool for `spawn-blocking`.
// ---------------------------------------------------------------------------------------------

/// Where a piece of sequential work (a leaf, a merge) runs; the task tree above it is the same.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cpu {
    /// On the worker that polls the task, which does not yield until it is done: `spawn`.
    Inline,
    /// On tokio's blocking pool, while the task waits for it: `spawn-blocking`.
    Blocking,
}

impl Cpu {
    /// Runs `work` where this says, and returns its result.
    pub async fn run<T: Send + 'static>(self, work: impl FnOnce() -> T + Send + 'static) -> T {
        match self {
            Cpu::Inline => work(),
            Cpu::Blocking => joined(task::spawn_blocking(work).await),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// fib: spawn one branch, await the other.
// ---------------------------------------------------------------------------------------------

/// `spawn`: `fib(n)` as a tree of tasks down to the grain, the leaves computed on the workers.
pub async fn fib_spawn(n: u32, grain: u32) -> u64 {
    fib_tasks(n, grain, Cpu::Inline).await
}

/// `spawn-blocking`: the tree of [`fib_spawn`], the leaves computed on the blocking pool.
pub async fn fib_spawn_blocking(n: u32, grain: u32) -> u64 {
    fib_tasks(n, grain, Cpu::Blocking).await
}

/// `fib(n)`: `fib(n - 1)` spawned, `fib(n - 2)` awaited inline, sequential for `k <= grain`.
#[allow(
    clippy::manual_async_fn,
    reason = "an async fn that spawns itself cannot be proven Send (E0283): see the module docs"
)]
fn fib_tasks(n: u32, grain: u32, cpu: Cpu) -> impl Future<Output = u64> + Send + 'static {
    async move {
        if n < 2 || n <= grain {
            return cpu.run(move || fib::sequential(n)).await;
        }
        let a = tokio::spawn(fib_tasks(n - 1, grain, cpu));
        let b = Box::pin(fib_tasks(n - 2, grain, cpu)).await;
        joined(a.await) + b
    }
}

// ---------------------------------------------------------------------------------------------
// mergesort: owned runs in, owned runs out.
// ---------------------------------------------------------------------------------------------

/// `spawn`: sorts `keys` as a tree of tasks over runs of at most `grain` keys; leaves and merges
/// run on the workers.
///
/// The tasks are `'static`, so every node allocates a fresh `Vec` for its output (about 8n
/// bytes per level of the tree, the top levels mapped fresh and page-faulted every time), and
/// every merge is sequential: the last one, over all n keys, runs on one core (see the module
/// docs).
pub async fn mergesort_spawn(keys: Vec<u64>, grain: usize) -> Vec<u64> {
    let n = keys.len();
    sort_tasks(Arc::new(keys), 0..n, grain.max(1), Cpu::Inline).await
}

/// `spawn-blocking`: the tree of [`mergesort_spawn`], every leaf sort and every merge run on the
/// blocking pool: the same allocations, and the same sequential final merge.
pub async fn mergesort_spawn_blocking(keys: Vec<u64>, grain: usize) -> Vec<u64> {
    let n = keys.len();
    sort_tasks(Arc::new(keys), 0..n, grain.max(1), Cpu::Blocking).await
}

/// The keys of `run`, sorted into a new `Vec`: the back half spawned, the front half awaited
/// inline, then the two merged. `keys` is only read; every task holds the `Arc` it reads from,
/// and the input is freed when the last leaf has copied its run out.
#[allow(
    clippy::manual_async_fn,
    reason = "an async fn that spawns itself cannot be proven Send (E0283): see the module docs"
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
        let back = tokio::spawn(sort_tasks(Arc::clone(&keys), mid..run.end, grain, cpu));
        let front = Box::pin(sort_tasks(keys, run.start..mid, grain, cpu)).await;
        let back = joined(back.await);
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
/// are filled; the boards at the split are counted on the workers.
pub async fn nqueens_spawn(n: u32, split: u32) -> u64 {
    queens_tasks(Board::empty(n), split, Cpu::Inline).await
}

/// `spawn-blocking`: the tree of [`nqueens_spawn`], the boards at the split counted on the
/// blocking pool.
pub async fn nqueens_spawn_blocking(n: u32, split: u32) -> u64 {
    queens_tasks(Board::empty(n), split, Cpu::Blocking).await
}

/// The solutions below `board`. A board has from zero to n children, so the fan-out is the
/// async one: spawn a task per child, then await their handles in order.
#[allow(
    clippy::manual_async_fn,
    reason = "an async fn that spawns itself cannot be proven Send (E0283): see the module docs"
)]
fn queens_tasks(board: Board, split: u32, cpu: Cpu) -> impl Future<Output = u64> + Send + 'static {
    async move {
        if board.depth() >= split {
            return cpu.run(move || board.count()).await;
        }
        let children: Vec<JoinHandle<u64>> = board
            .children()
            .map(|child| tokio::spawn(queens_tasks(child, split, cpu)))
            .collect();
        let mut count = 0;
        for child in children {
            count += joined(child.await);
        }
        count
    }
}

// ---------------------------------------------------------------------------------------------
// rayon-bridge: the whole job on a rayon pool, the result back through a oneshot.
// ---------------------------------------------------------------------------------------------

/// Runs `work` on `pool` and awaits its result: the bridge from async code to a CPU pool.
///
/// The awaiting task is parked like any task waiting for IO; its worker is free meanwhile. A
/// panic in `work` is raised again here.
pub async fn on_rayon<T: Send + 'static>(
    pool: &ThreadPool,
    work: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (result_tx, result_rx) = oneshot::channel();
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

/// `rayon-bridge`: `fib(n)` by `rayon::join` on `pool`, sequential for `k <= grain`.
pub async fn fib_rayon_bridge(pool: Arc<ThreadPool>, n: u32, grain: u32) -> u64 {
    on_rayon(&pool, move || fib_join(n, grain)).await
}

/// `rayon-bridge`: sorts `keys` on `pool` by the ping-pong merge sort with `rayon::join`, on the
/// halves and in the merges, sequential for runs of at most `grain` keys.
pub async fn mergesort_rayon_bridge(
    pool: Arc<ThreadPool>,
    mut keys: Vec<u64>,
    grain: usize,
) -> Vec<u64> {
    on_rayon(&pool, move || {
        // The job owns the keys, so inside it they may be borrowed again.
        mergesort_join(&mut keys, grain);
        keys
    })
    .await
}

/// `rayon-bridge`: counts the n-queens solutions on `pool`, forking with `rayon::join` over
/// halves of each board's children while fewer than `split` rows are filled.
pub async fn nqueens_rayon_bridge(pool: Arc<ThreadPool>, n: u32, split: u32) -> u64 {
    on_rayon(&pool, move || nqueens_join(n, split)).await
}

// What runs inside the rayon job mirrors the `join` variants of the rayon backend
// (crates/rayon/src/dnc.rs): the same functions under the same names, with the same bodies, so
// that the two files diff cleanly and `rayon-bridge` differs from rayon's `join` only by the
// bridge. A backend depends on nothing but `suite` and its runtime, hence a copy and not a
// dependency: a change to those functions there must be made here too.

/// `fib(n)` by recursive `rayon::join`, sequential for `k <= grain` (rayon's `fib_join`).
fn fib_join(n: u32, grain: u32) -> u64 {
    if n < 2 || n <= grain {
        return fib::sequential(n);
    }
    let (a, b) = rayon::join(|| fib_join(n - 1, grain), || fib_join(n - 2, grain));
    a + b
}

/// The suite's ping-pong merge sort with `rayon::join` on both halves and in the merges
/// (rayon's `mergesort_join`).
fn mergesort_join(keys: &mut [u64], grain: usize) {
    let mut buf = vec![0; keys.len()];
    sort_to(keys, &mut buf, false, grain.max(1));
}

/// Sorts `keys`, leaving the result in `buf` if `into_buf`.
fn sort_to(keys: &mut [u64], buf: &mut [u64], into_buf: bool, grain: usize) {
    if keys.len() <= grain {
        return mergesort::leaf(keys, buf, into_buf);
    }
    let mid = keys.len() / 2;
    let (keys_left, keys_right) = keys.split_at_mut(mid);
    let (buf_left, buf_right) = buf.split_at_mut(mid);
    rayon::join(
        || sort_to(keys_left, buf_left, !into_buf, grain),
        || sort_to(keys_right, buf_right, !into_buf, grain),
    );
    let (src, dst) = mergesort::merge_ends(keys, buf, into_buf);
    merge_join(&src[..mid], &src[mid..], dst, grain);
}

/// Merges two sorted runs into `out`, cut in two independent parts by `merge_split` and joined,
/// sequential for at most `grain` keys.
fn merge_join(left: &[u64], right: &[u64], out: &mut [u64], grain: usize) {
    // Two keys are merged sequentially whatever the grain: with one key in each run, the cut
    // falls at the middle of a one-key run, which may leave one part empty and never finish.
    if out.len() <= grain.max(2) {
        return mergesort::merge(left, right, out);
    }
    let (i, j) = mergesort::merge_split(left, right);
    let (out_front, out_back) = out.split_at_mut(i + j);
    rayon::join(
        || merge_join(&left[..i], &right[..j], out_front, grain),
        || merge_join(&left[i..], &right[j..], out_back, grain),
    );
}

/// The n-queens count, each board's children halved with `rayon::join` down to one board
/// (rayon's `nqueens_join`).
fn nqueens_join(n: u32, split: u32) -> u64 {
    count_join(Board::empty(n), split)
}

fn count_join(board: Board, split: u32) -> u64 {
    if board.depth() >= split {
        return board.count();
    }
    let children: Vec<Board> = board.children().collect();
    count_all_join(&children, split)
}

fn count_all_join(boards: &[Board], split: u32) -> u64 {
    match boards {
        [] => 0,
        [board] => count_join(*board, split),
        _ => {
            let (front, back) = boards.split_at(boards.len() / 2);
            let (a, b) = rayon::join(
                || count_all_join(front, split),
                || count_all_join(back, split),
            );
            a + b
        }
    }
}

#[cfg(test)]
mod tests {
    use std::thread;

    use super::*;

    fn block_on<T>(future: impl Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn cpu_inline_stays_on_the_task_thread_and_blocking_leaves_it() {
        block_on(async {
            let here = thread::current().id();
            assert_eq!(Cpu::Inline.run(|| thread::current().id()).await, here);
            assert_ne!(Cpu::Blocking.run(|| thread::current().id()).await, here);
        });
    }

    #[test]
    fn on_rayon_runs_on_the_pool_and_passes_panics_back() {
        let pool = crate::rayon_pool(2).unwrap();
        block_on(async {
            let name = on_rayon(&pool, || thread::current().name().map(str::to_owned)).await;
            assert!(name.is_some_and(|name| name.starts_with("rayon-bridge-")));
            let panicked = AssertUnwindSafe(on_rayon(&pool, || panic!("boom")));
            let caught = futures::FutureExt::catch_unwind(panicked).await;
            assert!(caught.is_err());
        });
    }
}
