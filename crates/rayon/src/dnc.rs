//! Divide and conquer on rayon: `rayon::join` down to a cutoff, then the sequential kernel.
//!
//! `join(a, b)` is rayon's primitive: it runs `a` on the calling worker and leaves `b` on that
//! worker's deque as a job that lives on the stack. An idle worker may steal `b`; otherwise
//! the caller pops it back and runs it itself. So a fork that finds no idle core costs a deque
//! push and pop, and recursion may fork at every level down to a small cutoff. Rayon's own
//! parallel iterators and sorts are `join` recursions too, with cutoffs they choose themselves.
//!
//! Every function here names no pool. Like any rayon library code, it runs in the pool that
//! calls it (the backend's, through `ThreadPool::install`). The kernels below the cutoff are the
//! suite's, shared with every backend, so only the way of forking and joining differs.
//!
//! The file goes from the simplest tree to the most irregular one: `fib`, then `mergesort`,
//! then `nqueens`.

use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;
use shootout_suite::dnc::nqueens::Board;
use shootout_suite::dnc::{fib, mergesort};
use shootout_suite::task;
use shootout_suite::{Answer, Cell, Failure, Runner, Task};

use crate::pool::on_pool;

/// `fib(n)` by recursive [`rayon::join`], sequential for `k <= grain`.
///
/// The shape of the sequential recursion, with `+` replaced by a join: the two calls may run
/// in parallel, and both results come back on the stack.
pub fn fib_join(n: u32, grain: u32) -> u64 {
    if n < 2 || n <= grain {
        return fib::sequential(n);
    }
    let (a, b) = rayon::join(|| fib_join(n - 1, grain), || fib_join(n - 2, grain));
    a + b
}

/// `fib(n)` by [`rayon::scope`] and `spawn`, sequential for `k <= grain`.
///
/// The same tree and the same number of forks as [`fib_join`]: one branch is spawned and the
/// other runs inline. But a spawned job is boxed on the heap and counted by the scope. It cannot
/// return a value, so the leaves add into one shared atomic. `scope` is the tool for a fan-out
/// whose width is known only at run time, or for jobs that outlive their spawner's stack frame;
/// this variant measures what that generality costs on a tree that `join` handles.
pub fn fib_scope(n: u32, grain: u32) -> u64 {
    let sum = AtomicU64::new(0);
    rayon::scope(|s| fib_spawn(s, n, grain, &sum));
    // `scope` returns only after every spawned job has finished, and that also makes their
    // writes visible here: `Relaxed` additions are enough.
    sum.into_inner()
}

fn fib_spawn<'scope>(s: &rayon::Scope<'scope>, n: u32, grain: u32, sum: &'scope AtomicU64) {
    if n < 2 || n <= grain {
        sum.fetch_add(fib::sequential(n), Ordering::Relaxed);
        return;
    }
    s.spawn(move |s| fib_spawn(s, n - 1, grain, sum));
    fib_spawn(s, n - 2, grain, sum);
}

/// Sorts `keys` by merge sort with [`rayon::join`], sequential for runs of at most `grain` keys.
///
/// This is the ping-pong recursion of the suite's `mergesort::sort`: each level sorts its two
/// halves into the other buffer and merges them back, so no level copies. Both halves are
/// forked with `join`, and so is the merge (see [`merge_join`]). A sort that merges
/// sequentially can never be faster than its final merge of all `n` keys on one core.
pub fn mergesort_join(keys: &mut [u64], grain: usize) {
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

/// Merges two sorted runs into `out` with [`rayon::join`], sequential for at most `grain` keys.
///
/// `merge_split` cuts both runs so that everything in the front parts belongs before everything
/// in the back parts. The two parts then merge independently into the two ends of `out`.
pub fn merge_join(left: &[u64], right: &[u64], out: &mut [u64], grain: usize) {
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

/// Sorts `keys` with rayon's [`par_sort`](rayon::slice::ParallelSliceMut::par_sort).
///
/// This is a stable merge sort: runs sorted in parallel, then merged in parallel, with rayon's
/// own cutoffs. It is what a practitioner calls instead of writing [`mergesort_join`].
pub fn mergesort_par_sort(keys: &mut [u64]) {
    keys.par_sort();
}

/// Sorts `keys` with rayon's [`par_sort_unstable`](rayon::slice::ParallelSliceMut::par_sort_unstable).
///
/// This is pattern-defeating quicksort with the two sides of each partition joined. It needs
/// no buffer, but the partition of the whole slice is sequential.
pub fn mergesort_par_sort_unstable(keys: &mut [u64]) {
    keys.par_sort_unstable();
}

/// Counts the `n`-queens solutions, forking with [`rayon::join`] while fewer than `split` rows
/// are filled.
///
/// A board has anywhere from zero to `n` children, so the fork is not binary: the children are
/// collected and the list is halved with `join` until one board is left. The result is the
/// same balanced tree of forks that a parallel iterator builds, but it forks on every child.
pub fn nqueens_join(n: u32, split: u32) -> u64 {
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

/// Counts the `n`-queens solutions with a parallel iterator over each board's children, while
/// fewer than `split` rows are filled.
///
/// The children are collected into a `Vec` and `into_par_iter()` splits it. A `Vec` is an
/// indexed producer, which rayon splits in halves, and only as far as there are threads to
/// use the pieces. `children().par_bridge()` would avoid the allocation but not help. The
/// bridge hands items out one `next()` at a time behind a mutex and is meant for sources that
/// cannot be split (channels, files). With at most `n` cheap children, collecting them is
/// the better trade.
pub fn nqueens_par_iter(n: u32, split: u32) -> u64 {
    count_par_iter(Board::empty(n), split)
}

fn count_par_iter(board: Board, split: u32) -> u64 {
    if board.depth() >= split {
        return board.count();
    }
    let children: Vec<Board> = board.children().collect();
    children
        .into_par_iter()
        .map(|child| count_par_iter(child, split))
        .sum()
}

// ---------------------------------------------------------------------------------------------
// Setup: each variant on a pool of W threads.
// ---------------------------------------------------------------------------------------------

/// Sets up `join`, the variant of all three tasks: [`mergesort_join`], [`fib_join`] or
/// [`nqueens_join`] on the cell's pool.
pub fn setup_join(cell: &Cell) -> Result<Runner, Failure> {
    match cell.task {
        Task::Mergesort(p) => setup_sort(cell, move |keys| mergesort_join(keys, p.grain)),
        Task::Fib(p) => on_pool(cell.workers, move |_| Answer::Value(fib_join(p.n, p.grain))),
        Task::Nqueens(p) => on_pool(cell.workers, move |_| {
            Answer::Value(nqueens_join(p.n, p.split))
        }),
        _ => Err(cell.unsupported()),
    }
}

/// Sets up mergesort's `par-sort`: [`mergesort_par_sort`] on the cell's pool.
pub fn setup_par_sort(cell: &Cell) -> Result<Runner, Failure> {
    setup_sort(cell, mergesort_par_sort)
}

/// Sets up mergesort's `par-sort-unstable`: [`mergesort_par_sort_unstable`] on the cell's pool.
pub fn setup_par_sort_unstable(cell: &Cell) -> Result<Runner, Failure> {
    setup_sort(cell, mergesort_par_sort_unstable)
}

/// Sets up fib's `scope`: [`fib_scope`] on the cell's pool.
pub fn setup_scope(cell: &Cell) -> Result<Runner, Failure> {
    let p: task::Fib = cell.params()?;
    on_pool(cell.workers, move |_| {
        Answer::Value(fib_scope(p.n, p.grain))
    })
}

/// Sets up nqueens' `par-iter`: [`nqueens_par_iter`] on the cell's pool.
pub fn setup_par_iter(cell: &Cell) -> Result<Runner, Failure> {
    let p: task::Nqueens = cell.params()?;
    on_pool(cell.workers, move |_| {
        Answer::Value(nqueens_par_iter(p.n, p.split))
    })
}

/// A mergesort runner: each repetition's keys sorted in place by `sort` on the cell's pool.
fn setup_sort(cell: &Cell, sort: impl Fn(&mut [u64]) + Send + 'static) -> Result<Runner, Failure> {
    let Task::Mergesort(_) = cell.task else {
        return Err(cell.unsupported());
    };
    on_pool(cell.workers, move |input| {
        let mut keys = input.into_keys();
        sort(&mut keys);
        Answer::Sorted(keys)
    })
}
