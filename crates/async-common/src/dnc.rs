//! Divide and conquer as a tree of tasks: recursive `spawn` down to the grain, and the same tree
//! with its CPU work sent to the runtime's blocking pool.
//!
//! An executor is a thread pool without preemption. A task runs until it reaches an `.await`
//! that is not ready; a computation that never awaits holds its thread until it returns.
//! async-executor (under smol and async-std alike) gives each thread a local queue and lets
//! idle threads steal from the others, so a tree of spawned tasks balances much as it does on
//! rayon. Both variants cut the tree at the task's grain (or split depth), exactly as rayon's
//! `join` does, and run the suite's sequential kernels below it; they differ only in [`Cpu`].
//!
//! # `spawn`: the natural async form
//!
//! The recursion of the sequential kernel with one branch spawned as a task and the other
//! awaited inline, then the task's handle awaited: the shape of `rayon::join`. Three things
//! differ from `std::thread::scope` and `rayon::join`, all from the runtime:
//!
//! - **`'static`.** A spawned task may outlive the frame that spawned it, so it can borrow
//!   nothing: data moves in and results move out. `fib` and `nqueens` pass small `Copy` values.
//!   Merge sort cannot hand out `&mut` halves of the keys, so it hands out owned ones: the keys
//!   and the scratch buffer are each a [`Region`], an owned part of one shared allocation that
//!   `split_at` cuts in two and `unsplit` joins again without a copy (what
//!   `bytes::BytesMut::split_to`/`unsplit` do for bytes). A task takes its halves in and hands
//!   them back when it finishes.
//! - **Naming the future.** A recursive `async fn` that spawns itself does not compile: to
//!   check `spawn`'s `Send` bound the compiler would need the future's type while still
//!   inferring it. The recursion is declared as `fn … -> impl Future<Output = T> + Send +
//!   'static` around an `async move` block, and the inline branch is `Box::pin`ned, since a
//!   future cannot contain itself. The [`Spawn`] handle goes down the recursion by copy.
//! - **A heap task per fork**, scheduled on the executor, where `rayon::join` pushes a job
//!   that lives on the stack onto its deque.
//!
//! So merge sort is the algorithm of threads and rayon: the ping-pong between the keys and one
//! scratch buffer of n, allocated in each repetition, every level merging from one into the
//! other without copying back; and the parallel merge, every merge of more than the grain cut
//! at `merge_split`'s co-rank point into two, one spawned and one done inline, down to the
//! grain, so the final merge of all n keys is not left to one thread. Safe Rust has no owned,
//! `'static` split of one allocation (`Vec::split_off` allocates and copies, `append` copies
//! back; a `Vec` per node leaves every merge sequential), and measured with such a workaround
//! the tables would show the workaround, not the runtime; `Region` is the workspace's audited
//! `unsafe` leaf module for it (see "Unsafe code" in ARCHITECTURE.md).
//!
//! This is CPU-bound work on executor threads, which async guides call a mistake: a leaf holds
//! its thread for the whole leaf, and every socket, timer and task queued on that thread waits
//! until it is done. It is measured anyway because it is what async code looks like before
//! anyone profiles it, and because here nothing else runs on the executor, so the mistake
//! costs no latency and the numbers show the scheduler alone. When it is right: the executor
//! does nothing but this computation, or the leaves are short (well under the ~100 µs of a
//! slow system call). When it is a trap: in a server, where a long leaf stalls every
//! connection that shares its thread.
//!
//! # The pool: `unblock` on smol, `spawn-blocking` on async-std
//!
//! "Do not block the executor: move CPU-heavy work to a blocking pool." The task tree is the
//! one of `spawn`; every piece of CPU work, a leaf and for merge sort every piece of a merge
//! down to the grain, goes to the runtime's pool ([`Offload`]: blocking's thread pool under
//! both runtimes), so the executor thread is free while it runs.
//!
//! The pool is sized for blocking IO, not for cores: it grows to 500 threads (the
//! `BLOCKING_MAX_THREADS` variable, read once, at first use; there is no API), and an idle
//! thread lingers 500 ms before it exits. Sent there unbounded, the thousands of leaves of
//! `fib` would run on hundreds of threads on two cores: oversubscription, not parallelism. So
//! the pieces are bounded by an [`async_lock::Semaphore`] of N permits: at most N run at once,
//! a piece waiting for a permit is a suspended task (not a blocked thread), and the N executor
//! threads only spawn and await. The pool may still start a few more threads than N (it adds
//! one when work arrives before a finished thread is back to idle), but at most N have work.
//!
//! When it is right: now and then a long blocking or CPU-heavy call in async code that must
//! stay responsive (a file read, a password hash, a large parse). When it is a trap: in bulk.
//! Every piece is two hand-offs between threads (to the pool and back, each a wake-up of a
//! parked thread, tens of microseconds across cores on the reference machine), the pool's
//! queue is one FIFO under a mutex with no work stealing, and without a bound like this one it
//! oversubscribes the cores.
//!
//! The file goes from the simplest tree to the most irregular one: `fib`, `mergesort`,
//! `nqueens`; the variants' setups come last.

// The recursions are `fn … -> impl Future` around an `async move` block, not `async fn`.
#![allow(
    clippy::manual_async_fn,
    reason = "an `async fn` that spawns itself cannot prove its future `Send` (E0283)"
)]

use std::future::Future;
use std::sync::Arc;

use async_lock::Semaphore;
use shootout_rayon::bridge;
use shootout_suite::dnc::nqueens::Board;
use shootout_suite::dnc::{fib, mergesort};
use shootout_suite::region::Region;
use shootout_suite::{Cell, Failure, Outcome, Runner, Task};

use crate::runtime::{Runtime, Spawn, tasks_on};

// ---------------------------------------------------------------------------------------------
// Where the sequential work runs: inline for `spawn`, on the runtime's pool for the other.
// ---------------------------------------------------------------------------------------------

/// The runtime's way to run a blocking closure off the executor threads.
pub trait Offload: Spawn {
    /// Runs `work` on the runtime's blocking pool and returns a future of its result.
    fn offload<T: Send + 'static>(
        work: impl FnOnce() -> T + Send + 'static,
    ) -> impl Future<Output = T> + Send;
}

/// Where a piece of sequential work (a leaf, a piece of a merge) runs; the task tree above it
/// is the same.
#[derive(Clone, Debug)]
pub enum Cpu {
    /// On the executor thread that polls the task, which does not yield until it is done:
    /// `spawn`.
    Inline,
    /// On the runtime's blocking pool ([`Offload`]) while the task waits for it, at most as
    /// many pieces at once as the semaphore has permits.
    Pool(Arc<Semaphore>),
}

impl Cpu {
    /// `Pool` with `workers` permits.
    pub fn pool(workers: usize) -> Cpu {
        Cpu::Pool(Arc::new(Semaphore::new(workers.max(1))))
    }

    /// Runs `work` where this says (on `S`'s pool for [`Cpu::Pool`]), and returns its result.
    pub async fn run<S: Offload, T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> T {
        match self {
            Cpu::Inline => work(),
            Cpu::Pool(permits) => {
                // Held until the result is back, so that at most N pieces are on the pool.
                let _permit = permits.acquire().await;
                S::offload(work).await
            }
        }
    }
}

/// The check each backend's tests run on its own pool: spawns `pieces` tasks with `s`, each
/// sending a piece that blocks for a few milliseconds to a `Cpu::pool(permits)`, and returns
/// how many pieces were still running at the end (0) and the most that ran at once, which must
/// not exceed `permits`.
pub async fn pieces_at_once<S: Offload>(s: S, permits: usize, pieces: usize) -> (usize, usize) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let cpu = Cpu::pool(permits);
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<S::Task<()>> = (0..pieces)
        .map(|_| {
            let (cpu, running, most) = (cpu.clone(), running.clone(), most.clone());
            s.spawn(async move {
                cpu.run::<S, _>(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    running.fetch_sub(1, Ordering::SeqCst);
                })
                .await
            })
        })
        .collect();
    for task in tasks {
        task.await;
    }
    (running.load(Ordering::SeqCst), most.load(Ordering::SeqCst))
}

// ---------------------------------------------------------------------------------------------
// fib: spawn one branch, await the other.
// ---------------------------------------------------------------------------------------------

/// `fib(n)` as a tree of tasks spawned with `s` down to the grain, the leaves run as `cpu` says.
pub async fn fib<S: Offload>(s: S, n: u32, grain: u32, cpu: Cpu) -> u64 {
    fib_tasks(s, n, grain, cpu).await
}

/// `fib(n)`: `fib(n - 1)` spawned, `fib(n - 2)` awaited inline, sequential for `k <= grain`.
fn fib_tasks<S: Offload>(
    s: S,
    n: u32,
    grain: u32,
    cpu: Cpu,
) -> impl Future<Output = u64> + Send + 'static {
    async move {
        if n < 2 || n <= grain {
            return cpu.run::<S, _>(move || fib::sequential(n)).await;
        }
        let a = s.spawn(fib_tasks(s, n - 1, grain, cpu.clone()));
        let b = Box::pin(fib_tasks(s, n - 2, grain, cpu)).await;
        a.await + b
    }
}

// ---------------------------------------------------------------------------------------------
// mergesort: the ping-pong between keys and one scratch buffer, as owned `Region`s of them.
// ---------------------------------------------------------------------------------------------

/// Sorts `keys` as a tree of tasks spawned with `s` over runs of at most `grain` keys, with the
/// parallel merge; leaves and merge pieces run as `cpu` says.
///
/// The ping-pong merge sort of the rayon and threads backends, on [`Region`]s: the keys and one
/// scratch buffer of n, allocated here as `mergesort_join` allocates its own, each cut into
/// owned `'static` halves that the spawned tasks take and hand back (see the module docs).
pub async fn mergesort<S: Offload>(s: S, keys: Vec<u64>, grain: usize, cpu: Cpu) -> Vec<u64> {
    let buf = Region::whole(vec![0; keys.len()]);
    let (keys, _buf) = sort_tasks(s, Region::whole(keys), buf, false, grain.max(1), cpu).await;
    keys.into_vec()
}

/// Sorts `keys`, leaving the result in `buf` if `into_buf` (as the suite's `mergesort::sort`
/// does): the back halves of both spawned, the front halves sorted inline into the other array,
/// then the two runs merged back by [`merge_tasks`]. Both regions are handed back.
fn sort_tasks<S: Offload>(
    s: S,
    keys: Region,
    buf: Region,
    into_buf: bool,
    grain: usize,
    cpu: Cpu,
) -> impl Future<Output = (Region, Region)> + Send + 'static {
    async move {
        if keys.len() <= grain {
            return cpu
                .run::<S, _>(move || {
                    let (mut keys, mut buf) = (keys, buf);
                    mergesort::leaf(keys.as_mut_slice(), buf.as_mut_slice(), into_buf);
                    (keys, buf)
                })
                .await;
        }
        let mid = keys.len() / 2;
        let (keys_front, keys_back) = keys.split_at(mid);
        let (buf_front, buf_back) = buf.split_at(mid);
        let back = sort_tasks(s, keys_back, buf_back, !into_buf, grain, cpu.clone());
        let back = s.spawn(back);
        let front = sort_tasks(s, keys_front, buf_front, !into_buf, grain, cpu.clone());
        let (keys_front, buf_front) = Box::pin(front).await;
        let (keys_back, buf_back) = back.await;
        let (keys, buf) = (keys_front.unsplit(keys_back), buf_front.unsplit(buf_back));
        // The halves are sorted in the other array: merge from it into this level's.
        let (src, dst) = if into_buf { (keys, buf) } else { (buf, keys) };
        let (front, back) = src.split_at(mid);
        let (front, back, dst) = merge_tasks(s, front, back, dst, grain, cpu).await;
        let src = front.unsplit(back);
        if into_buf { (src, dst) } else { (dst, src) }
    }
}

/// Merges the sorted runs `left` and `right` into `out` as a tree of tasks, sequential for at
/// most `grain` keys: cut at `merge_split`'s co-rank point, the back parts spawned, the front
/// parts merged inline, as the rayon backend's `merge_join` does. All three are handed back.
fn merge_tasks<S: Offload>(
    s: S,
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
                .run::<S, _>(move || {
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
        let back = merge_tasks(s, left_back, right_back, out_back, grain, cpu.clone());
        let back = s.spawn(back);
        let front = merge_tasks(s, left_front, right_front, out_front, grain, cpu);
        let (left_front, right_front, out_front) = Box::pin(front).await;
        let (left_back, right_back, out_back) = back.await;
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

/// Counts the n-queens solutions with a task per board spawned with `s` while fewer than
/// `split` rows are filled; the boards at the split are counted as `cpu` says.
pub async fn nqueens<S: Offload>(s: S, n: u32, split: u32, cpu: Cpu) -> u64 {
    queens_tasks(s, Board::empty(n), split, cpu).await
}

/// The solutions below `board`. A board has from zero to n children, so the fan-out is the
/// async one: spawn a task per child, then await their handles in order.
fn queens_tasks<S: Offload>(
    s: S,
    board: Board,
    split: u32,
    cpu: Cpu,
) -> impl Future<Output = u64> + Send + 'static {
    async move {
        if board.depth() >= split {
            return cpu.run::<S, _>(move || board.count()).await;
        }
        let children: Vec<S::Task<u64>> = board
            .children()
            .map(|child| s.spawn(queens_tasks(s, child, split, cpu.clone())))
            .collect();
        let mut count = 0;
        for child in children {
            count += child.await;
        }
        count
    }
}

// ---------------------------------------------------------------------------------------------
// The variants' setups.
// ---------------------------------------------------------------------------------------------

/// `spawn`: the tree of tasks on `R`'s N executor threads, the sequential work inline.
pub fn setup_spawn<R: Runtime>(cell: &Cell) -> Result<Runner, Failure>
where
    R::Spawner: Offload,
{
    let rt = R::start(cell.workers)?;
    match cell.task {
        Task::Mergesort(p) => tasks_on(rt, move |s, input| async move {
            Outcome::sorted(mergesort(s, input.into_keys(), p.grain, Cpu::Inline).await)
        }),
        Task::Fib(p) => tasks_on(rt, move |s, _| async move {
            Outcome::value(fib(s, p.n, p.grain, Cpu::Inline).await)
        }),
        Task::Nqueens(p) => tasks_on(rt, move |s, _| async move {
            Outcome::value(nqueens(s, p.n, p.split, Cpu::Inline).await)
        }),
        _ => Err(cell.unsupported()),
    }
}

/// `rayon-bridge`: an N-thread executor whose root task hands the whole job to a rayon pool of
/// N threads ([`bridge::on_rayon`]), where the rayon backend's `join` functions compute it, parallel
/// merge included; both are built once per cell.
pub fn setup_rayon_bridge<R: Runtime>(cell: &Cell) -> Result<Runner, Failure> {
    let workers = cell.workers;
    let pool = Arc::new(shootout_rayon::pool::named(workers, "rayon-bridge")?);
    let rt = R::start(workers)?;
    match cell.task {
        Task::Mergesort(p) => tasks_on(rt, move |_, input| {
            let pool = Arc::clone(&pool);
            async move { Outcome::sorted(bridge::mergesort(pool, input.into_keys(), p.grain).await) }
        }),
        Task::Fib(p) => tasks_on(rt, move |_, _| {
            let pool = Arc::clone(&pool);
            async move { Outcome::value(bridge::fib(pool, p.n, p.grain).await) }
        }),
        Task::Nqueens(p) => tasks_on(rt, move |_, _| {
            let pool = Arc::clone(&pool);
            async move { Outcome::value(bridge::nqueens(pool, p.n, p.split).await) }
        }),
        _ => Err(cell.unsupported()),
    }
}

/// `unblock` (smol) and `spawn-blocking` (async-std): the tree of [`setup_spawn`], every piece
/// of sequential work on `R`'s blocking pool, at most N at once.
pub fn setup_pool<R: Runtime>(cell: &Cell) -> Result<Runner, Failure>
where
    R::Spawner: Offload,
{
    let workers = cell.workers;
    let rt = R::start(workers)?;
    match cell.task {
        Task::Mergesort(p) => tasks_on(rt, move |s, input| async move {
            let keys = input.into_keys();
            Outcome::sorted(mergesort(s, keys, p.grain, Cpu::pool(workers)).await)
        }),
        Task::Fib(p) => tasks_on(rt, move |s, _| async move {
            Outcome::value(fib(s, p.n, p.grain, Cpu::pool(workers)).await)
        }),
        Task::Nqueens(p) => tasks_on(rt, move |s, _| async move {
            Outcome::value(nqueens(s, p.n, p.split, Cpu::pool(workers)).await)
        }),
        _ => Err(cell.unsupported()),
    }
}
