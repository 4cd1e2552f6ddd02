//! Divide and conquer on may: a coroutine per split, joined, down to the task's grain.
//!
//! A stackful coroutine is written like a thread, so the `go` variant is the threads backend's
//! recursive fork with a coroutine where a thread was, and without the thread budget: a
//! coroutine costs a pooled stack and a queue push, not a kernel thread, so the recursion
//! splits all the way down to the grain, as tokio's and smol's `spawn` do with tasks, and the
//! W workers balance the pieces between them (may's workers steal from each other). Each split
//! runs one half on a new scoped coroutine and the other inline, then joins
//! (`coroutine::join`): `rayon::join`'s shape, with a spawn for every call instead
//! of rayon's lazy stealing.
//!
//! - mergesort: the suite's ping-pong merge sort; both halves' sorts are forked, and so is the
//!   merge above them, cut in two with `merge_split` down to the grain, so that the top levels
//!   are parallel too.
//! - fib: `fib(n - 1)` on a new coroutine, `fib(n - 2)` inline, sequential from the grain down.
//! - nqueens: the children of every board shallower than `split` queens are shared out by
//!   halving the list of them, one half forked, the other inline; boards at `split` are
//!   searched sequentially.
//!
//! Scoped spawns let the coroutines borrow disjoint `&mut` halves of the keys, as
//! `std::thread::scope` does: no `Arc`, no copy. A repetition's root runs on a coroutine too
//! (`coroutine::run`), so the calling thread only waits and W workers compute.

use shootout_suite::dnc::nqueens::Board;
use shootout_suite::dnc::{fib, mergesort};
use shootout_suite::{Cell, Failure, Outcome, Runner, Task};

use crate::coroutine::{join, run};
use crate::runtime;

/// Sorts `keys`, a coroutine per split and per merge half down to `grain` keys.
pub fn mergesort_go(keys: &mut [u64], grain: usize) {
    let mut buf = vec![0; keys.len()];
    sort_to(keys, &mut buf, false, grain.max(1));
}

/// The suite's ping-pong merge sort with a fork at every split: the sorted keys end in `buf`
/// if `into_buf`, in `keys` otherwise.
fn sort_to(keys: &mut [u64], buf: &mut [u64], into_buf: bool, grain: usize) {
    if keys.len() <= grain {
        return mergesort::leaf(keys, buf, into_buf);
    }
    let mid = keys.len() / 2;
    let (keys_lo, keys_hi) = keys.split_at_mut(mid);
    let (buf_lo, buf_hi) = buf.split_at_mut(mid);
    join(
        || sort_to(keys_lo, buf_lo, !into_buf, grain),
        || sort_to(keys_hi, buf_hi, !into_buf, grain),
    );
    let (src, dst) = mergesort::merge_ends(keys, buf, into_buf);
    merge_to(&src[..mid], &src[mid..], dst, grain);
}

/// Merges two sorted runs into `out`, cut in two independent halves with `merge_split`, one
/// forked, while the merge is longer than `grain` and its longer run has two keys.
fn merge_to(left: &[u64], right: &[u64], out: &mut [u64], grain: usize) {
    if left.len() + right.len() <= grain || left.len().max(right.len()) < 2 {
        return mergesort::merge(left, right, out);
    }
    let (i, j) = mergesort::merge_split(left, right);
    let (out_lo, out_hi) = out.split_at_mut(i + j);
    join(
        || merge_to(&left[..i], &right[..j], out_lo, grain),
        || merge_to(&left[i..], &right[j..], out_hi, grain),
    );
}

/// `fib(n)`: `fib(n - 1)` on a new coroutine, `fib(n - 2)` inline; sequential for every
/// `fib(k)` with `k <= grain`.
pub fn fib_go(n: u32, grain: u32) -> u64 {
    if n < 2 || n <= grain {
        return fib::sequential(n);
    }
    let (a, b) = join(|| fib_go(n - 1, grain), || fib_go(n - 2, grain));
    a + b
}

/// The n-queens count: the boards of the first `split` rows shared out between coroutines,
/// each board at `split` searched sequentially.
pub fn nqueens_go(n: u32, split: u32) -> u64 {
    queens_below(Board::empty(n), split)
}

/// The solutions below `board`: its children forked while it is shallower than `split`.
fn queens_below(board: Board, split: u32) -> u64 {
    if board.depth() >= split {
        return board.count();
    }
    let children: Vec<Board> = board.children().collect();
    queens_among(&children, split)
}

/// The solutions below all of `boards`: half of them on a new coroutine, half inline.
fn queens_among(boards: &[Board], split: u32) -> u64 {
    match boards {
        [] => 0,
        [board] => queens_below(*board, split),
        _ => {
            let (lo, hi) = boards.split_at(boards.len() / 2);
            let (a, b) = join(|| queens_among(lo, split), || queens_among(hi, split));
            a + b
        }
    }
}

/// Sets up `go`: [`mergesort_go`], [`fib_go`], [`nqueens_go`], each repetition's root on a
/// coroutine.
pub fn setup_go(cell: &Cell) -> Result<Runner, Failure> {
    match cell.task {
        Task::Mergesort(p) => runtime::runner(cell, move |input| {
            let mut keys = input.into_keys();
            run(|| mergesort_go(&mut keys, p.grain));
            Ok(Outcome::sorted(keys))
        }),
        Task::Fib(p) => runtime::runner(cell, move |_| {
            Ok(Outcome::value(run(|| fib_go(p.n, p.grain))))
        }),
        Task::Nqueens(p) => runtime::runner(cell, move |_| {
            Ok(Outcome::value(run(|| nqueens_go(p.n, p.split))))
        }),
        _ => Err(cell.unsupported()),
    }
}
