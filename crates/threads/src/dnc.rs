//! Divide and conquer on OS threads: a static split with `std::thread::scope`, and a task queue
//! that balances the load dynamically.
//!
//! Since Rust 1.63 the way to share borrowed data with threads is [`std::thread::scope`]: every
//! thread spawned in a scope is joined before the scope returns, so a thread may borrow the
//! caller's slice, and disjoint `&mut` halves from `split_at_mut` go to different threads with
//! no `Arc`, no copying and no `unsafe`.
//!
//! # `scope`: static splitting
//!
//! The classic recursive fork, with a budget of threads handed down the recursion. A call with
//! a budget of `w >= 2` threads splits its problem in two, runs one part on a new scoped
//! thread with a budget of `w - w/2` and the other inline with `w/2`; a call with a budget of 1
//! splits no more and runs on its thread. The caller starts with `workers`, so exactly `workers`
//! threads do the work, the calling thread counted as one (fewer only when the problem runs out
//! of pieces first). Below that – and wherever the problem is already under the task's grain –
//! the suite's sequential kernels take over. A spawn costs tens of microseconds, so nobody
//! splits further than there are cores.
//!
//! An odd budget is shared unevenly, so the work is too where the problem allows it: mergesort
//! cuts its keys and nqueens its boards in proportion to the two budgets, and fib gives the
//! larger budget to `fib(n - 1)`, the larger call. A merge is cut where `merge_split` cuts it,
//! near the middle, so with an odd budget one half of a merge has a thread more than it needs.
//!
//! The split is decided before anything runs, and that is its weakness: it cannot balance an
//! irregular tree. `fib(n - 1)` is 1.618 times `fib(n - 2)`, so with two threads one finishes
//! early and idles while the other works on 62% of the total; n-queens subtrees differ even
//! more. Merge sort splits evenly and is the case static splitting suits.
//!
//! # `task-queue`: dynamic balancing by hand
//!
//! The expert's answer to that imbalance, without a work-stealing library: cut the problem into
//! many more tasks than threads before starting, then let N scoped threads claim them one at a
//! time from a shared [`AtomicUsize`] index. A thread that drew small tasks simply claims more.
//! One `fetch_add` per task is the whole scheduler.
//!
//! - fib: the tasks are the leaves of the recursion tree at the cutoff, `fib(k)` for `k <= grain`.
//! - nqueens: the tasks are all the boards with `split` queens placed.
//! - mergesort: the leaves (runs of at most `grain` keys) are sorted as tasks; then the tree is
//!   merged level by level, each level's merges being the tasks of one more round. Near the top,
//!   where a level has fewer merges than threads, merges are cut in two with `merge_split` until
//!   every thread has one (a merge of at most `grain` keys is never cut).
//!
//! Unlike a work-stealing pool (see the `rayon` backend), the cut is made up front and
//! sequentially, and each merge level is a fork-join round of its own.
//!
//! # `gil` and `gil-switch`: the task queue under one global lock
//!
//! Not an idiom but an experiment: what CPython's global interpreter lock does to CPU-bound
//! threads. The tasks, the N threads and the atomic index are `task-queue`'s; every unit of work
//! runs while its thread holds one lock shared by all N threads. [`gil`](crate::gil) holds that
//! lock and says how each variant takes it.

use std::iter::Sum;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use shootout_suite::dnc::nqueens::Board;
use shootout_suite::dnc::{fib, mergesort};
use shootout_suite::{Cell, Failure, Outcome, Runner, Task, runner};

use crate::gil::Gil;
use crate::plumbing::{joined, lock};

// ---------------------------------------------------------------------------------------------
// `scope`: split in two on scoped threads, sharing out a budget of threads.
// ---------------------------------------------------------------------------------------------

/// Runs `a` and `b`, each given its share of a budget of `threads` threads, and returns both
/// results: with `threads >= 2`, `a` runs on a new scoped thread with a budget of
/// `threads - threads/2` and `b` on this one with `threads/2`; with one thread, both run here
/// with a budget of 1.
///
/// This is `rayon::join` built from `std::thread::scope`, with a real thread per call. Each
/// thread is counted once, by the budget it runs on, so a recursion that hands its budgets on
/// uses exactly as many threads as it started with.
fn fork<A: Send, B>(
    threads: usize,
    a: impl FnOnce(usize) -> A + Send,
    b: impl FnOnce(usize) -> B,
) -> (A, B) {
    if threads <= 1 {
        return (a(1), b(1));
    }
    let (for_a, for_b) = split_budget(threads);
    thread::scope(|s| {
        let a = s.spawn(move || a(for_a));
        let b = b(for_b);
        (joined(a), b)
    })
}

/// How [`fork`] shares a budget of `threads >= 2` threads: `(spawned, inline)`, the spawned side
/// taking the larger half of an odd budget.
fn split_budget(threads: usize) -> (usize, usize) {
    (threads - threads / 2, threads / 2)
}

/// Where to cut `len` items before a [`fork`] with a budget of `threads`, so that the front part
/// (which goes to `a`) matches `a`'s share of the threads; the middle when nothing is forked.
fn cut(len: usize, threads: usize) -> usize {
    if threads <= 1 {
        return len / 2;
    }
    let (for_a, _) = split_budget(threads);
    (len as u128 * for_a as u128 / threads as u128) as usize
}

/// Sorts `keys` on exactly `workers` threads, splitting in two on scoped threads with a budget
/// of threads; runs of at most `grain` keys are sorted sequentially, and the merges above them
/// are split in parallel too.
pub fn mergesort_scope(keys: &mut [u64], grain: usize, workers: usize) {
    let mut buf = vec![0; keys.len()];
    sort_to(keys, &mut buf, false, grain.max(1), workers);
}

/// The suite's ping-pong merge sort with a fork wherever the budget has `threads >= 2`: the
/// sorted keys end in `buf` if `into_buf`, in `keys` otherwise.
fn sort_to(keys: &mut [u64], buf: &mut [u64], into_buf: bool, grain: usize, threads: usize) {
    if keys.len() <= grain {
        return mergesort::leaf(keys, buf, into_buf);
    }
    // Both parts are non-empty: `keys` has at least two keys, and the front part's share of
    // the budget is between a half and two thirds.
    let mid = cut(keys.len(), threads);
    let (keys_lo, keys_hi) = keys.split_at_mut(mid);
    let (buf_lo, buf_hi) = buf.split_at_mut(mid);
    fork(
        threads,
        |w| sort_to(keys_lo, buf_lo, !into_buf, grain, w),
        |w| sort_to(keys_hi, buf_hi, !into_buf, grain, w),
    );
    let (src, dst) = mergesort::merge_ends(keys, buf, into_buf);
    merge_to(&src[..mid], &src[mid..], dst, grain, threads);
}

/// Merges two sorted runs into `out` on a budget of `threads`, cutting the merge in two
/// independent halves with `merge_split` while the budget has two threads and the merge is
/// longer than `grain`.
fn merge_to(left: &[u64], right: &[u64], out: &mut [u64], grain: usize, threads: usize) {
    if threads <= 1 || !can_cut(left, right, grain) {
        return mergesort::merge(left, right, out);
    }
    let (i, j) = mergesort::merge_split(left, right);
    let (out_lo, out_hi) = out.split_at_mut(i + j);
    fork(
        threads,
        |w| merge_to(&left[..i], &right[..j], out_lo, grain, w),
        |w| merge_to(&left[i..], &right[j..], out_hi, grain, w),
    );
}

/// `fib(n)` on exactly `workers` threads: `fib(n - 1)` is forked onto a new thread with the
/// larger share of the budget; sequential once the budget is one thread, and for every
/// `fib(k)` with `k <= grain`.
pub fn fib_scope(n: u32, grain: u32, workers: usize) -> u64 {
    fib_to(n, grain, workers)
}

fn fib_to(n: u32, grain: u32, threads: usize) -> u64 {
    if threads <= 1 || n < 2 || n <= grain {
        return fib::sequential(n);
    }
    let (a, b) = fork(
        threads,
        |w| fib_to(n - 1, grain, w),
        |w| fib_to(n - 2, grain, w),
    );
    a + b
}

/// Counts the n-queens solutions on exactly `workers` threads, sharing the candidate boards of
/// the first `split` rows out between them in proportion to their budgets; sequential below.
pub fn nqueens_scope(n: u32, split: u32, workers: usize) -> u64 {
    queens_below(Board::empty(n), split, workers)
}

/// The solutions below `board`: its children are shared out between threads while the board is
/// shallower than `split` and the budget has threads to spare.
fn queens_below(board: Board, split: u32, threads: usize) -> u64 {
    if threads <= 1 || board.depth() >= split {
        return board.count();
    }
    let children: Vec<Board> = board.children().collect();
    queens_among(&children, split, threads)
}

/// The solutions below all of `boards`: a share of them on a new thread, the rest inline.
fn queens_among(boards: &[Board], split: u32, threads: usize) -> u64 {
    match boards {
        [] => 0,
        [board] => queens_below(*board, split, threads),
        _ if threads <= 1 => boards.iter().map(|board| board.count()).sum(),
        _ => {
            // Both parts are non-empty, as in `sort_to`.
            let (lo, hi) = boards.split_at(cut(boards.len(), threads));
            let (a, b) = fork(
                threads,
                |w| queens_among(lo, split, w),
                |w| queens_among(hi, split, w),
            );
            a + b
        }
    }
}

/// Whether a merge of `left` and `right` is worth cutting in two: it is longer than the grain,
/// and its longer run has two keys, so that `merge_split` leaves both halves non-empty.
fn can_cut(left: &[u64], right: &[u64], grain: usize) -> bool {
    left.len() + right.len() > grain && left.len().max(right.len()) >= 2
}

// ---------------------------------------------------------------------------------------------
// `task-queue`: many tasks up front, claimed from an atomic counter.
// ---------------------------------------------------------------------------------------------

/// Runs every task of `tasks` on `workers` scoped threads (this one included), each claiming
/// the next unclaimed task from one shared atomic index, and returns the sum of the results;
/// with a [`Gil`], every task runs while its thread holds the global lock.
///
/// This is the whole scheduler: a thread that drew short tasks just claims more. Each thread
/// sums its own results, so the only shared write is the `fetch_add`. `Relaxed` is enough:
/// the counter only hands out indices; the tasks are published by the spawn and the results by
/// the join.
fn work_through<T: Sync, R: Send + Sum>(
    tasks: &[T],
    workers: usize,
    gil: &Gil,
    run: impl Fn(&T) -> R + Sync,
) -> R {
    let next = AtomicUsize::new(0);
    let claim = || tasks.get(next.fetch_add(1, Ordering::Relaxed));
    let worker = || gil.work(claim, &run);
    thread::scope(|s| {
        let others: Vec<_> = (1..workers).map(|_| s.spawn(worker)).collect();
        let mine = worker();
        others.into_iter().map(joined).chain([mine]).sum()
    })
}

/// `fib(n)` as a task queue: every leaf `fib(k)` of the recursion tree at the cutoff is a task.
pub fn fib_task_queue(n: u32, grain: u32, workers: usize) -> u64 {
    fib_queue(n, grain, workers, &Gil::Off)
}

/// `fib(n)` as [`fib_task_queue`], every leaf computed under one global lock.
pub fn fib_gil(n: u32, grain: u32, workers: usize) -> u64 {
    fib_queue(n, grain, workers, &Gil::PerUnit(Mutex::new(())))
}

/// `fib(n)` as [`fib_task_queue`], each thread keeping the global lock for
/// [`GIL_SWITCH_UNITS`](crate::gil::GIL_SWITCH_UNITS) leaves at a time.
pub fn fib_gil_switch(n: u32, grain: u32, workers: usize) -> u64 {
    fib_queue(
        n,
        grain,
        workers,
        &Gil::Switching(parking_lot::Mutex::new(())),
    )
}

fn fib_queue(n: u32, grain: u32, workers: usize, gil: &Gil) -> u64 {
    let mut leaves = Vec::new();
    fib::leaves(n, fib_cut(n, grain), &mut leaves);
    work_through(&leaves, workers, gil, |&k| fib::sequential(u32::from(k)))
}

/// The cutoff for `fib(n)`'s leaves: `grain`, unless that makes more than [`MAX_TASK_BYTES`]
/// of tasks, in which case the smallest cutoff above it that fits.
fn fib_cut(n: u32, grain: u32) -> u32 {
    fib::cut_within(n, grain, (MAX_TASK_BYTES / size_of::<u8>()) as u64)
}

/// The n-queens count as a task queue: every board with `split` queens placed is a task.
pub fn nqueens_task_queue(n: u32, split: u32, workers: usize) -> u64 {
    nqueens_queue(n, split, workers, &Gil::Off)
}

/// The n-queens count as [`nqueens_task_queue`], every board searched under one global lock.
pub fn nqueens_gil(n: u32, split: u32, workers: usize) -> u64 {
    nqueens_queue(n, split, workers, &Gil::PerUnit(Mutex::new(())))
}

/// The n-queens count as [`nqueens_task_queue`], each thread keeping the global lock for
/// [`GIL_SWITCH_UNITS`](crate::gil::GIL_SWITCH_UNITS) boards at a time.
pub fn nqueens_gil_switch(n: u32, split: u32, workers: usize) -> u64 {
    nqueens_queue(
        n,
        split,
        workers,
        &Gil::Switching(parking_lot::Mutex::new(())),
    )
}

fn nqueens_queue(n: u32, split: u32, workers: usize, gil: &Gil) -> u64 {
    let most = MAX_TASK_BYTES / size_of::<Board>();
    let mut boards = vec![Board::empty(n)];
    // Expand one row at a time; a level is at most n times the one before it.
    while boards.first().is_some_and(|b| b.depth() < split) && boards.len() * n as usize <= most {
        boards = boards.into_iter().flat_map(Board::children).collect();
    }
    work_through(&boards, workers, gil, |board| board.count())
}

/// Sorts `keys` as rounds of tasks: the leaves, then each level of merges, claimed by `workers`
/// threads from an atomic index.
///
/// The tree is the balanced one of the sequential sort (node `i` of level `d` holds keys
/// `i·n/2^d .. (i+1)·n/2^d`), cut at the first level whose runs all have at most `grain` keys.
/// Each task owns a disjoint `&mut` piece of the output; the pieces sit in `Mutex`es because
/// that is how safe Rust hands a `&mut` to whichever thread claims the index. Each lock is
/// taken exactly once, uncontended, per task of thousands of keys: noise.
pub fn mergesort_task_queue(keys: &mut [u64], grain: usize, workers: usize) {
    mergesort_queue(keys, grain, workers, &Gil::Off);
}

/// Sorts `keys` as [`mergesort_task_queue`], every leaf sort and every merge under one global
/// lock.
pub fn mergesort_gil(keys: &mut [u64], grain: usize, workers: usize) {
    mergesort_queue(keys, grain, workers, &Gil::PerUnit(Mutex::new(())));
}

/// Sorts `keys` as [`mergesort_task_queue`], each thread keeping the global lock for
/// [`GIL_SWITCH_UNITS`](crate::gil::GIL_SWITCH_UNITS) leaf sorts or merges at a time (the lock is shared by all the rounds).
pub fn mergesort_gil_switch(keys: &mut [u64], grain: usize, workers: usize) {
    mergesort_queue(
        keys,
        grain,
        workers,
        &Gil::Switching(parking_lot::Mutex::new(())),
    );
}

fn mergesort_queue(keys: &mut [u64], grain: usize, workers: usize, gil: &Gil) {
    let n = keys.len();
    let leaf_level = leaf_level(n, grain.max(1));
    let mut buf = vec![0; n];

    // Round 1: sort every leaf, into whichever array the ping-pong of the levels above needs.
    let into_buf = leaf_level % 2 == 1;
    let leaves: Vec<_> = carve(keys, leaf_level)
        .into_iter()
        .zip(carve(&mut buf, leaf_level))
        .map(Mutex::new)
        .collect();
    let sorted = work_through(&leaves, workers, gil, |leaf| {
        let mut leaf = lock(leaf);
        let (keys, buf) = &mut *leaf;
        mergesort::leaf(keys, buf, into_buf);
        keys.len()
    });
    debug_assert_eq!(sorted, n);

    // Then one round per level, bottom-up: merge the two children of every node.
    for level in (0..leaf_level).rev() {
        let (src, dst) = mergesort::merge_ends(keys, &mut buf, level % 2 == 1);
        let mut merges: Vec<(&[u64], &[u64], &mut [u64])> = carve(dst, level)
            .into_iter()
            .enumerate()
            .map(|(node, out)| {
                let (start, mid, end) = (
                    bound(node, level, n),
                    bound(2 * node + 1, level + 1, n),
                    bound(node + 1, level, n),
                );
                (&src[start..mid], &src[mid..end], out)
            })
            .collect();
        split_merges(&mut merges, workers, grain.max(1));
        let merges: Vec<_> = merges.into_iter().map(Mutex::new).collect();
        let merged = work_through(&merges, workers, gil, |merge| {
            let mut merge = lock(merge);
            let (left, right, out) = &mut *merge;
            mergesort::merge(left, right, out);
            out.len()
        });
        debug_assert_eq!(merged, n);
    }
}

/// Cuts the biggest merges in two with `merge_split` until there is one per thread, so that
/// the top levels (one merge, two merges, …) still keep every thread busy.
fn split_merges<'a>(
    merges: &mut Vec<(&'a [u64], &'a [u64], &'a mut [u64])>,
    workers: usize,
    grain: usize,
) {
    while merges.len() < workers {
        let biggest = merges
            .iter()
            .enumerate()
            .filter(|(_, (left, right, _))| can_cut(left, right, grain))
            .max_by_key(|(_, (_, _, out))| out.len());
        let Some((biggest, _)) = biggest else { break };
        let (left, right, out) = merges.swap_remove(biggest);
        let (i, j) = mergesort::merge_split(left, right);
        let (out_lo, out_hi) = out.split_at_mut(i + j);
        merges.push((&left[..i], &right[..j], out_lo));
        merges.push((&left[i..], &right[j..], out_hi));
    }
}

/// The level at which every run of the balanced tree over `n` keys has at most `grain` keys,
/// limited so that the leaf tasks fit in [`MAX_TASK_BYTES`].
fn leaf_level(n: usize, grain: usize) -> u32 {
    let most = MAX_TASK_BYTES / size_of::<Mutex<(&mut [u64], &mut [u64])>>();
    (0..usize::BITS - 1)
        .find(|&level| n.div_ceil(1 << level) <= grain || 1 << (level + 1) > most)
        .unwrap_or(usize::BITS - 1)
}

/// Where node `node` of level `level` starts in a balanced tree over `n` keys.
fn bound(node: usize, level: u32, n: usize) -> usize {
    ((node as u128 * n as u128) >> level) as usize
}

/// Cuts `keys` into the `2^level` consecutive runs of the balanced tree's level `level`.
fn carve(mut keys: &mut [u64], level: u32) -> Vec<&mut [u64]> {
    let n = keys.len();
    (0..1usize << level)
        .map(|node| {
            let (run, rest) = std::mem::take(&mut keys)
                .split_at_mut(bound(node + 1, level, n) - bound(node, level, n));
            keys = rest;
            run
        })
        .collect()
}

/// The most memory a task list may take. A grain so small that more tasks are needed is all
/// overhead anyway; there the cut rises until the list fits (mergesort: larger leaves; fib: a
/// higher cutoff; nqueens: fewer rows split). No profile comes near it.
pub const MAX_TASK_BYTES: usize = 64 << 20;

// ---------------------------------------------------------------------------------------------
// Setup: each variant is its three functions, one per task.
// ---------------------------------------------------------------------------------------------

/// Sets up `scope`: [`mergesort_scope`], [`fib_scope`], [`nqueens_scope`].
pub fn setup_scope(cell: &Cell) -> Result<Runner, Failure> {
    setup(cell, mergesort_scope, fib_scope, nqueens_scope)
}

/// Sets up `task-queue`: [`mergesort_task_queue`], [`fib_task_queue`], [`nqueens_task_queue`].
pub fn setup_task_queue(cell: &Cell) -> Result<Runner, Failure> {
    setup(
        cell,
        mergesort_task_queue,
        fib_task_queue,
        nqueens_task_queue,
    )
}

/// Sets up `gil`: [`mergesort_gil`], [`fib_gil`], [`nqueens_gil`].
pub fn setup_gil(cell: &Cell) -> Result<Runner, Failure> {
    setup(cell, mergesort_gil, fib_gil, nqueens_gil)
}

/// Sets up `gil-switch`: [`mergesort_gil_switch`], [`fib_gil_switch`], [`nqueens_gil_switch`].
pub fn setup_gil_switch(cell: &Cell) -> Result<Runner, Failure> {
    setup(
        cell,
        mergesort_gil_switch,
        fib_gil_switch,
        nqueens_gil_switch,
    )
}

/// The runner of a dnc variant on W threads: `sort(keys, grain, W)`, `fib(n, grain, W)` or
/// `queens(n, split, W)` once per repetition, as the cell's task says.
fn setup(
    cell: &Cell,
    sort: impl Fn(&mut [u64], usize, usize) + 'static,
    fib: impl Fn(u32, u32, usize) -> u64 + 'static,
    queens: impl Fn(u32, u32, usize) -> u64 + 'static,
) -> Result<Runner, Failure> {
    let workers = cell.workers;
    match cell.task {
        Task::Mergesort(p) => runner(move |input| {
            let mut keys = input.into_keys();
            sort(&mut keys, p.grain, workers);
            Ok(Outcome::sorted(keys))
        }),
        Task::Fib(p) => runner(move |_| Ok(Outcome::value(fib(p.n, p.grain, workers)))),
        Task::Nqueens(p) => runner(move |_| Ok(Outcome::value(queens(p.n, p.split, workers)))),
        _ => Err(cell.unsupported()),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::thread::ThreadId;

    use super::*;

    /// Forks a binary tree `levels` deep on a budget of `threads`, recording every thread that
    /// runs a node of it.
    fn record_threads(threads: usize, levels: u32, seen: &Mutex<HashSet<ThreadId>>) {
        lock(seen).insert(thread::current().id());
        if levels > 0 {
            fork(
                threads,
                |w| record_threads(w, levels - 1, seen),
                |w| record_threads(w, levels - 1, seen),
            );
        }
    }

    #[test]
    fn a_budget_of_n_threads_runs_on_exactly_n_threads() {
        // Deep enough for every budget to be spent: N = 3 runs on 3 threads, not 4.
        for workers in 1..=9 {
            let seen = Mutex::new(HashSet::new());
            record_threads(workers, 6, &seen);
            let used = seen.into_inner().unwrap().len();
            assert_eq!(used, workers, "workers = {workers}");
        }
    }

    #[test]
    fn a_fork_shares_the_whole_budget_and_cuts_in_proportion() {
        for threads in 2..=64 {
            let (spawned, inline) = split_budget(threads);
            assert_eq!(spawned + inline, threads);
            assert!(spawned >= inline && inline >= 1, "threads = {threads}");
        }
        // Two parts, both non-empty, whatever the budget; the spawned part's share of 3 is 2/3.
        for len in 2..=40 {
            for threads in 1..=12 {
                let mid = cut(len, threads);
                assert!(0 < mid && mid < len, "len = {len}, threads = {threads}");
            }
        }
        assert_eq!(cut(300, 3), 200);
        assert_eq!(cut(300, 2), 150);
        assert_eq!(cut(301, 1), 150);
    }

    #[test]
    fn leaf_level_respects_the_grain_and_the_cap() {
        for (n, grain, level) in [
            (0, 1, 0),
            (1, 1, 0),
            (2, 1, 1),
            (3, 1, 2),
            (1000, 1000, 0),
            (1001, 1000, 1),
            (4000, 1000, 2),
        ] {
            assert_eq!(leaf_level(n, grain), level, "n = {n}, grain = {grain}");
        }
        let capped = leaf_level(1 << 40, 1);
        assert!(capped < 40 && (1usize << capped) <= MAX_TASK_BYTES);
    }

    #[test]
    fn carve_cuts_the_balanced_tree_in_order() {
        for n in [0, 1, 5, 97] {
            for level in 0..5 {
                let mut keys: Vec<u64> = (0..n as u64).collect();
                let runs = carve(&mut keys, level);
                assert_eq!(runs.len(), 1 << level);
                let lens: Vec<usize> = runs.iter().map(|run| run.len()).collect();
                assert_eq!(lens.iter().sum::<usize>(), n);
                assert!(
                    lens.iter().max().unwrap() - lens.iter().min().unwrap() <= 1,
                    "{lens:?}"
                );
                let joined: Vec<u64> = runs.into_iter().flat_map(|run| run.to_vec()).collect();
                assert_eq!(joined, (0..n as u64).collect::<Vec<_>>());
            }
        }
    }

    #[test]
    fn split_merges_gives_every_thread_a_merge() {
        let mut left = mergesort::keys(500);
        let mut right = mergesort::keys(501);
        left.sort_unstable();
        right.sort_unstable();
        let mut out = vec![0; 1001];
        let mut merges = vec![(&left[..], &right[..], &mut out[..])];
        split_merges(&mut merges, 7, 10);
        assert_eq!(merges.len(), 7);
        // A merge of single keys cannot be cut, however many threads there are.
        let mut out = [0; 2];
        let mut merges = vec![(&left[..1], &right[..1], &mut out[..])];
        split_merges(&mut merges, 4, 1);
        assert_eq!(merges.len(), 1);
    }
}
