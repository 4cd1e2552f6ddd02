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
//!   so it hands out owned ones: the keys and the scratch buffer are each a [`Region`], an
//!   owned part of one shared allocation that `split_at` cuts in two and `unsplit` joins again
//!   without a copy, as `bytes::BytesMut::split_to`/`unsplit` do for bytes. A task takes its
//!   halves in and hands them back when it finishes.
//! - **Naming the future.** A recursive `async fn` that spawns itself does not compile: to
//!   check `tokio::spawn`'s `Send` bound the compiler must know whether the future is `Send`
//!   while it is still inferring that future's type (error E0283). The expert form declares it:
//!   `fn … -> impl Future<Output = T> + Send + 'static` around an `async move` block. The branch
//!   awaited inline is `Box::pin`ned, since a future cannot contain itself.
//! - **A heap task per fork.** Each fork is a task allocated on the heap and scheduled, where
//!   `rayon::join` pushes a job that lives on the stack onto its deque.
//!
//! So merge sort is the algorithm of the rayon and threads backends: the ping-pong between the
//! keys and one scratch buffer of n, allocated in each repetition, every level merging from one
//! into the other without copying back; and the parallel merge, every merge of more than the
//! grain cut at `merge_split`'s co-rank point into two, one spawned and one done inline, down
//! to the grain, so the final merge of all n keys is not left to one core. A fork costs a
//! spawned task and an `Arc` count up and down for each region it cuts; nothing is copied or
//! allocated per node but the task.
//!
//! Why `Region`? Safe Rust has no owned, `'static` split of one allocation: `Vec::split_off`
//! allocates the back half and copies it out, and `append` copies it back; a fresh `Vec` per
//! node allocates about 8n bytes per level and leaves the merges sequential, since merging
//! into two owned halves means copying them into one afterwards. Measured that way, the tables
//! would show the workaround, not tokio. Cutting one allocation into owned halves takes
//! `unsafe`, which the workspace allows only in audited leaf modules with a safe API (see
//! "Unsafe code" in ARCHITECTURE.md): `Region` is one, in the suite, shared by every async
//! backend.
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
//! The same task tree, but every piece of CPU work – a leaf, and for merge sort every piece of a
//! merge down to the grain – is passed to [`tokio::task::spawn_blocking`] and awaited. The
//! workers only spawn, split and await; the blocking pool computes. The two variants share
//! their code, and differ only in [`Cpu`].
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
//! whole job to a rayon pool of N threads with [`rayon::ThreadPool::spawn`] and awaits its
//! result on a oneshot channel – `futures`', which every runtime can await, so smol and
//! async-std share the bridge ([`shootout_rayon::bridge`]). Inside the job the data may be
//! borrowed again, so rayon runs the recursion with `rayon::join` down to the same grain, parallel merge
//! included: the rayon backend's `join` variants, whose functions ([`shootout_rayon::dnc`]) it
//! calls. The N rayon threads are the workers of this variant: they do all the computing,
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

use shootout_rayon::bridge;
use shootout_suite::dnc::nqueens::Board;
use shootout_suite::dnc::{fib, mergesort};
use shootout_suite::region::Region;
use shootout_suite::{Cell, Failure, Outcome, Runner, Task};
use tokio::task::{self, JoinHandle};

use crate::runtime::{bridged, joined, runtime, tasks_on};

// ---------------------------------------------------------------------------------------------
// Where the sequential work runs: inline for `spawn`, on the blocking pool for `spawn-blocking`.
// ---------------------------------------------------------------------------------------------

/// Where a piece of sequential work (a leaf, a piece of a merge) runs; the task tree above it
/// is the same.
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

/// `fib(n)` as a tree of tasks down to the grain: `fib(n - 1)` spawned, `fib(n - 2)` awaited
/// inline, sequential for `k <= grain`, the leaves computed where `cpu` says (`spawn`: on the
/// workers; `spawn-blocking`: on the blocking pool).
#[allow(
    clippy::manual_async_fn,
    reason = "an async fn that spawns itself cannot be proven Send (E0283): see the module docs"
)]
pub fn fib_tasks(n: u32, grain: u32, cpu: Cpu) -> impl Future<Output = u64> + Send + 'static {
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
// mergesort: the ping-pong between keys and one scratch buffer, as owned `Region`s of them.
// ---------------------------------------------------------------------------------------------

/// Sorts `keys` as a tree of tasks over runs of at most `grain` keys, with the parallel merge;
/// the leaf sorts and merge pieces run where `cpu` says (`spawn`: on the workers;
/// `spawn-blocking`: on the blocking pool).
///
/// The ping-pong merge sort of the rayon and threads backends, on [`Region`]s: the keys and one
/// scratch buffer of n, allocated here as `mergesort_join` allocates its own, each cut into
/// owned `'static` halves that the spawned tasks take and hand back (see the module docs).
pub async fn mergesort_tasks(keys: Vec<u64>, grain: usize, cpu: Cpu) -> Vec<u64> {
    let buf = Region::whole(vec![0; keys.len()]);
    let (keys, _buf) = sort_tasks(Region::whole(keys), buf, false, grain.max(1), cpu).await;
    keys.into_vec()
}

/// Sorts `keys`, leaving the result in `buf` if `into_buf` (as the suite's `mergesort::sort`
/// does): the back halves of both spawned, the front halves sorted inline into the other array,
/// then the two runs merged back by [`merge_tasks`]. Both regions are handed back.
#[allow(
    clippy::manual_async_fn,
    reason = "an async fn that spawns itself cannot be proven Send (E0283): see the module docs"
)]
fn sort_tasks(
    keys: Region,
    buf: Region,
    into_buf: bool,
    grain: usize,
    cpu: Cpu,
) -> impl Future<Output = (Region, Region)> + Send + 'static {
    async move {
        if keys.len() <= grain {
            return cpu
                .run(move || {
                    let (mut keys, mut buf) = (keys, buf);
                    mergesort::leaf(keys.as_mut_slice(), buf.as_mut_slice(), into_buf);
                    (keys, buf)
                })
                .await;
        }
        let mid = keys.len() / 2;
        let (keys_front, keys_back) = keys.split_at(mid);
        let (buf_front, buf_back) = buf.split_at(mid);
        let back = tokio::spawn(sort_tasks(keys_back, buf_back, !into_buf, grain, cpu));
        let (keys_front, buf_front) =
            Box::pin(sort_tasks(keys_front, buf_front, !into_buf, grain, cpu)).await;
        let (keys_back, buf_back) = joined(back.await);
        let (keys, buf) = (keys_front.unsplit(keys_back), buf_front.unsplit(buf_back));
        // The halves are sorted in the other array: merge from it into this level's.
        let (src, dst) = if into_buf { (keys, buf) } else { (buf, keys) };
        let (front, back) = src.split_at(mid);
        let (front, back, dst) = merge_tasks(front, back, dst, grain, cpu).await;
        let src = front.unsplit(back);
        if into_buf { (src, dst) } else { (dst, src) }
    }
}

/// Merges the sorted runs `left` and `right` into `out` as a tree of tasks, sequential for at
/// most `grain` keys: cut at `merge_split`'s co-rank point, the back parts spawned, the front
/// parts merged inline, as the rayon backend's `merge_join` does. All three are handed back.
#[allow(
    clippy::manual_async_fn,
    reason = "an async fn that spawns itself cannot be proven Send (E0283): see the module docs"
)]
fn merge_tasks(
    left: Region,
    right: Region,
    out: Region,
    grain: usize,
    cpu: Cpu,
) -> impl Future<Output = (Region, Region, Region)> + Send + 'static {
    async move {
        // Two keys are merged sequentially whatever the grain (see `merge_split`).
        if out.len() <= grain.max(2) {
            return cpu
                .run(move || {
                    let mut out = out;
                    mergesort::merge(left.as_slice(), right.as_slice(), out.as_mut_slice());
                    (left, right, out)
                })
                .await;
        }
        let (i, j) = mergesort::merge_split(left.as_slice(), right.as_slice());
        let (left_front, left_back) = left.split_at(i);
        let (right_front, right_back) = right.split_at(j);
        let (out_front, out_back) = out.split_at(i + j);
        let back = tokio::spawn(merge_tasks(left_back, right_back, out_back, grain, cpu));
        let (left_front, right_front, out_front) =
            Box::pin(merge_tasks(left_front, right_front, out_front, grain, cpu)).await;
        let (left_back, right_back, out_back) = joined(back.await);
        (
            left_front.unsplit(left_back),
            right_front.unsplit(right_back),
            out_front.unsplit(out_back),
        )
    }
}

// ---------------------------------------------------------------------------------------------
// nqueens: a task per child board.
// ---------------------------------------------------------------------------------------------

/// The n-queens solutions below `board` as a tree of tasks while fewer than `split` rows are
/// filled, the boards at the split counted where `cpu` says (`spawn`: on the workers;
/// `spawn-blocking`: on the blocking pool). A board has from zero to n children, so the fan-out
/// is the async one: spawn a task per child, then await their handles in order.
#[allow(
    clippy::manual_async_fn,
    reason = "an async fn that spawns itself cannot be proven Send (E0283): see the module docs"
)]
pub fn queens_tasks(
    board: Board,
    split: u32,
    cpu: Cpu,
) -> impl Future<Output = u64> + Send + 'static {
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
// Setup: a runtime of W workers (and for `rayon-bridge` a rayon pool of W threads) per cell.
// ---------------------------------------------------------------------------------------------

/// Sets up `spawn`: the task trees, the leaves (and merges) computed on the workers.
pub fn setup_spawn(cell: &Cell) -> Result<Runner, Failure> {
    setup_trees(cell, Cpu::Inline)
}

/// Sets up `spawn-blocking`: the task trees, the leaves (and merges) on the blocking pool.
pub fn setup_spawn_blocking(cell: &Cell) -> Result<Runner, Failure> {
    setup_trees(cell, Cpu::Blocking)
}

/// The runner of a task tree on a W-worker runtime, its sequential work where `cpu` says.
fn setup_trees(cell: &Cell, cpu: Cpu) -> Result<Runner, Failure> {
    let workers = cell.workers;
    match cell.task {
        Task::Mergesort(p) => tasks_on(runtime(workers)?, move |input| async move {
            Outcome::sorted(mergesort_tasks(input.into_keys(), p.grain, cpu).await)
        }),
        Task::Fib(p) => tasks_on(runtime(workers)?, move |_| async move {
            Outcome::value(fib_tasks(p.n, p.grain, cpu).await)
        }),
        Task::Nqueens(p) => tasks_on(runtime(workers)?, move |_| async move {
            Outcome::value(queens_tasks(Board::empty(p.n), p.split, cpu).await)
        }),
        _ => Err(cell.unsupported()),
    }
}

/// Sets up `rayon-bridge`: a W-worker runtime whose task hands the whole job to a rayon pool of
/// W threads.
pub fn setup_rayon_bridge(cell: &Cell) -> Result<Runner, Failure> {
    let workers = cell.workers;
    match cell.task {
        Task::Mergesort(p) => bridged(workers, move |pool, input| async move {
            Outcome::sorted(bridge::mergesort(pool, input.into_keys(), p.grain).await)
        }),
        Task::Fib(p) => bridged(workers, move |pool, _| async move {
            Outcome::value(bridge::fib(pool, p.n, p.grain).await)
        }),
        Task::Nqueens(p) => bridged(workers, move |pool, _| async move {
            Outcome::value(bridge::nqueens(pool, p.n, p.split).await)
        }),
        _ => Err(cell.unsupported()),
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
    fn mergesort_tasks_sort_ties_and_odd_sizes_in_both_cpus() {
        let rt = runtime(2).unwrap();
        for cpu in [Cpu::Inline, Cpu::Blocking] {
            for (keys, grain, expected) in shootout_testkit::mergesort_ties_and_odd_sizes() {
                let n = keys.len();
                let sorted = rt.block_on(mergesort_tasks(keys, grain, cpu));
                assert_eq!(sorted, expected, "n = {n}, grain = {grain}, {cpu:?}");
            }
        }
    }
}
