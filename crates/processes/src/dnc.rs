//! Divide and conquer on worker processes: the work goes out through pipes (or shared memory),
//! the answers come back, and the parent puts them together.
//!
//! Threads share an address space, so handing a thread half of a slice costs nothing. Processes
//! share nothing unless told to: whatever a worker works on must be copied to it and its result
//! copied back, or placed in memory mapped by both. That copy, and the start of a process
//! (a fork and an exec, about a millisecond), is the price of isolation – of a worker that
//! cannot corrupt the parent, and of parallelism in languages with a global interpreter lock,
//! which is why Python has `multiprocessing`. The variants here measure that price.
//!
//! # mergesort
//!
//! The keys are cut into one contiguous run per worker; each worker sorts its run with the
//! suite's sequential merge sort (`mergesort::sort` with the task's grain) and the parent merges
//! the sorted runs, pairwise and level by level, sequentially. (The parent's merge is the
//! serial part: with two workers it is one merge of all n keys.)
//!
//! - `pipe`: a pool started in setup. Each run travels as raw `u64` bytes in native byte order
//!   through the worker's request pipe, and back sorted through its reply pipe: two copies
//!   through the kernel each way. Writes are as large as the run; both pipes are enlarged to
//!   [`DATA_PIPE_BYTES`] with `F_SETPIPE_SZ`, so each wake-up moves a megabyte instead of the
//!   default 64 KiB. The parent writes every run before reading any result, which cannot
//!   deadlock: a worker reads its whole run before it writes anything.
//! - `shm`: a pool started in setup, and a `memfd` of n keys mapped by the parent and every
//!   worker. The parent copies the keys in (one `memcpy`), tells each worker its range through
//!   its pipe, the workers sort their ranges in place, and the parent's first merge level reads
//!   straight out of the mapping. No key crosses a pipe.
//! - `spawn-per-task`: like `pipe`, but the N workers are started inside the repetition, one
//!   per run, and killed after it, as `multiprocessing.Process(target=...)` per chunk would:
//!   the process start-up is part of the timed work.
//!
//! # fib and nqueens
//!
//! The tree is cut into tasks as in the threads backend's task queue: the leaves `fib(k)` of
//! the recursion at the cutoff `k <= grain`, or the boards with `split` queens placed. A task
//! travels as a few bytes: `k`, or the board's path from the empty board (the index of the
//! child taken at each row), which the worker replays to rebuild the board.
//!
//! - `pipe`: a pool started in setup, fed dynamically. The tasks are grouped in chunks, about
//!   four per worker (the chunk size `Pool.map` picks in Python), and each worker has up to two
//!   chunks queued in its pipe, so it never waits for the parent between chunks. The parent
//!   `poll`s the reply pipes and gives each worker that answers the next chunk: a worker that
//!   drew small subtrees simply gets more.
//! - `spawn-per-task`: N fresh processes per repetition, each handed one fixed share of the
//!   tasks (task i to process i mod N, which spreads big and small subtrees evenly) and killed
//!   after answering.
//!
//! A worker that dies mid-task shows up as end-of-file on its reply pipe (or `EPIPE` on its
//! request pipe): the repetition fails with the worker's exit status, never hangs, and the
//! pool stays failed for every later repetition.

use std::io::{Read, Write};
use std::os::fd::OwnedFd;

use shootout_suite::dnc::nqueens::Board;
use shootout_suite::dnc::{fib, mergesort};
use shootout_suite::task::{Fib, Nqueens};
use shootout_suite::{Cell, Failure, Outcome, Runner, Task, TaskId, runner};

use crate::frame::{Dec, Enc, Link, broken, ok};
use crate::pool::{LinkKind, Pool, Spec};
use crate::role::{Part, Role};
use crate::shm::{SharedMemory, bytes_of, bytes_of_mut};

/// The buffer of the pipes that carry keys: the unprivileged maximum of
/// `/proc/sys/fs/pipe-max-size`, sixteen times the default.
pub const DATA_PIPE_BYTES: usize = 1 << 20;

/// Chunks of tasks per worker: the `chunksize` Python's `Pool.map` picks.
pub const CHUNKS_PER_WORKER: usize = 4;

/// Chunks queued in a worker's pipe at once, so it never waits for the parent between chunks.
pub const QUEUED_PER_WORKER: usize = 2;

/// The worker's side of each variant: what a worker runs, found from its role.
pub(crate) const PARTS: &[Part] = &[
    Part {
        tasks: &[TaskId::Mergesort],
        variants: &["pipe", "spawn-per-task"],
        serve: serve_sort,
    },
    Part {
        tasks: &[TaskId::Mergesort],
        variants: &["shm"],
        serve: serve_sort_shared,
    },
    Part {
        tasks: &[TaskId::Fib, TaskId::Nqueens],
        variants: &["pipe", "spawn-per-task"],
        serve: serve_tree,
    },
];

// ---------------------------------------------------------------------------------------------
// mergesort
// ---------------------------------------------------------------------------------------------

/// `pipe` mergesort: a pool of `workers` sorters; every run goes to its worker and back through
/// pipes.
pub fn mergesort_pipe(cell: &Cell) -> Result<Runner, Failure> {
    if !matches!(cell.task, Task::Mergesort(_)) {
        return Err(cell.unsupported());
    }
    let mut pool = Pool::start(sorters(cell))?;
    runner(move |input| pool.run(|pool| sort_through_pipes(pool, input.into_keys())))
}

/// `spawn-per-task` mergesort: `workers` fresh sorter processes per repetition, one per run.
pub fn mergesort_spawn_per_task(cell: &Cell) -> Result<Runner, Failure> {
    if !matches!(cell.task, Task::Mergesort(_)) {
        return Err(cell.unsupported());
    }
    let cell = cell.clone();
    runner(move |input| {
        let mut pool = Pool::start(sorters(&cell))?;
        sort_through_pipes(&mut pool, input.into_keys())
        // The pool is dropped here, its processes killed and reaped, inside the timed region.
    })
}

/// `shm` mergesort: a pool of `workers` sorters sharing a `memfd` of the task's `n` keys with
/// the parent; only ranges cross the pipes.
pub fn mergesort_shm(cell: &Cell) -> Result<Runner, Failure> {
    let Task::Mergesort(p) = cell.task else {
        return Err(cell.unsupported());
    };
    let bytes =
        p.n.checked_mul(8)
            .ok_or_else(|| Failure::new("n too large"))?;
    let mut shm = SharedMemory::create("shootout-mergesort", bytes)?;
    let specs = Spec::each_with_fd(cell, cell.workers, LinkKind::Pipes(None), shm.fd())?;
    let mut pool = Pool::start(specs)?;
    runner(move |input| {
        pool.run(|pool| {
            let keys = input.into_keys();
            let n = keys.len();
            if n > shm.word_count() {
                return Err(Failure::new(format!(
                    "{n} keys do not fit the shared memory set up for {}",
                    shm.word_count()
                )));
            }
            // The one copy in: every worker is idle, so the parent may write the whole mapping.
            shm.words_mut(0..n).copy_from_slice(&keys);
            let bounds = split(n, pool.len());
            for w in 0..pool.len() {
                let frame = Enc::new()
                    .u8(SORT_SHARED)
                    .u64(bounds[w] as u64)
                    .u64(bounds[w + 1] as u64)
                    .finish();
                pool.send(w, &frame)?;
            }
            let mut owed = vec![1; pool.len()];
            for _ in 0..pool.len() {
                pool.recv_any(&mut owed)?;
            }
            // Every worker is idle again: the parent reads the sorted runs in place.
            let sorted = merge_out_of(shm.words(0..n), &bounds, keys);
            Ok(Outcome::sorted(sorted))
        })
    })
}

/// Sends run `w` of `keys` to worker `w`, reads the sorted runs back into place, and merges.
fn sort_through_pipes(pool: &mut Pool, mut keys: Vec<u64>) -> Result<Outcome, Failure> {
    let bounds = split(keys.len(), pool.len());
    for w in 0..pool.len() {
        let run = &keys[bounds[w]..bounds[w + 1]];
        pool.send(w, &Enc::new().u8(SORT).u64(run.len() as u64).finish())?;
        pool.write_raw(w, bytes_of(run))?;
    }
    for w in 0..pool.len() {
        let run = &mut keys[bounds[w]..bounds[w + 1]];
        let len = Dec::new(&pool.recv(w)?).usize()?;
        if len != run.len() {
            return Err(Failure::new(format!(
                "sorter {w} returned {len} keys for a run of {}",
                run.len()
            )));
        }
        pool.read_raw(w, bytes_of_mut(run))?;
    }
    Ok(Outcome::sorted(merge_runs(keys, bounds)))
}

/// Specs for W sorters that get their keys through large pipes.
fn sorters(cell: &Cell) -> Vec<Spec> {
    Spec::each(cell, cell.workers, LinkKind::Pipes(Some(DATA_PIPE_BYTES)))
}

// ---------------------------------------------------------------------------------------------
// fib and nqueens
// ---------------------------------------------------------------------------------------------

/// `pipe` fib or nqueens: a pool of W workers started in setup; the leaves `fib(k)`,
/// `k <= grain`, or the boards with `split` queens go out in chunks to whichever worker answers
/// next.
pub fn tree_pipe(cell: &Cell) -> Result<Runner, Failure> {
    let Some(task) = tree(cell) else {
        return Err(cell.unsupported());
    };
    let mut pool = Pool::start(solvers(cell))?;
    runner(move |_| pool.run(|pool| Ok(Outcome::value(deal_out(pool, &tree_tasks(task)?)?))))
}

/// `spawn-per-task` fib or nqueens: W fresh processes per repetition, each with a fixed share
/// of the leaves or boards.
pub fn tree_spawn_per_task(cell: &Cell) -> Result<Runner, Failure> {
    let Some(task) = tree(cell) else {
        return Err(cell.unsupported());
    };
    let cell = cell.clone();
    runner(move |_| {
        let tasks = tree_tasks(task)?;
        let mut pool = Pool::start(solvers(&cell))?;
        Ok(Outcome::value(hand_out(&mut pool, &tasks)?))
    })
}

/// The cell's task if it is a tree to cut into tasks (fib or nqueens).
fn tree(cell: &Cell) -> Option<Task> {
    matches!(cell.task, Task::Fib(_) | Task::Nqueens(_)).then_some(cell.task)
}

/// The tasks of one repetition of `task`: `fib` leaves or board paths.
fn tree_tasks(task: Task) -> Result<Tasks, Failure> {
    match task {
        Task::Fib(p) => Ok(fib_tasks(p)),
        Task::Nqueens(p) => Ok(queens_tasks(p)),
        other => Err(Failure::new(format!("{} is not a tree", other.id()))),
    }
}

/// Deals `tasks` out in chunks, each worker keeping [`QUEUED_PER_WORKER`] chunks queued, the
/// next chunk going to whichever worker answers; returns the sum of the answers.
fn deal_out(pool: &mut Pool, tasks: &Tasks) -> Result<u64, Failure> {
    let size = tasks.len().div_ceil(CHUNKS_PER_WORKER * pool.len()).max(1);
    let mut chunks = (0..tasks.len())
        .step_by(size)
        .map(|start| tasks.frame(start..(start + size).min(tasks.len())));
    let mut owed = vec![0; pool.len()];
    for _ in 0..QUEUED_PER_WORKER {
        for (w, queued) in owed.iter_mut().enumerate() {
            if let Some(chunk) = chunks.next() {
                pool.send(w, &chunk)?;
                *queued += 1;
            }
        }
    }
    let mut total = 0u64;
    while owed.iter().any(|&o| o > 0) {
        let (w, reply) = pool.recv_any(&mut owed)?;
        total = total.wrapping_add(Dec::new(&reply).u64()?);
        if let Some(chunk) = chunks.next() {
            pool.send(w, &chunk)?;
            owed[w] += 1;
        }
    }
    Ok(total)
}

/// Hands worker `w` the tasks `w, w + N, w + 2N, …` in one message; returns the sum of the
/// answers.
fn hand_out(pool: &mut Pool, tasks: &Tasks) -> Result<u64, Failure> {
    let workers = pool.len();
    for w in 0..workers {
        pool.send(w, &tasks.frame((w..tasks.len()).step_by(workers)))?;
    }
    let mut owed = vec![1; workers];
    let mut total = 0u64;
    for _ in 0..workers {
        let (_, reply) = pool.recv_any(&mut owed)?;
        total = total.wrapping_add(Dec::new(&reply).u64()?);
    }
    Ok(total)
}

/// Specs for W workers solving tasks, talking through default-sized pipes.
fn solvers(cell: &Cell) -> Vec<Spec> {
    Spec::each(cell, cell.workers, LinkKind::Pipes(None))
}

/// The tasks of one repetition, as they travel: `fib` leaves or board paths.
enum Tasks {
    /// The `k` of each leaf `fib(k)`.
    Fib(Vec<u8>),
    /// Boards, each as `depth` child indices from the empty board, one after the other.
    Queens { depth: usize, paths: Vec<u8> },
}

impl Tasks {
    fn len(&self) -> usize {
        match self {
            Tasks::Fib(leaves) => leaves.len(),
            Tasks::Queens { depth: 0, paths } => usize::from(paths.is_empty()),
            Tasks::Queens { depth, paths } => paths.len() / depth,
        }
    }

    /// The request frame for the tasks at `indices`.
    fn frame(&self, indices: impl Iterator<Item = usize>) -> Vec<u8> {
        let message = Enc::new().u8(TASKS);
        match self {
            Tasks::Fib(leaves) => {
                let chosen: Vec<u8> = indices.map(|i| leaves[i]).collect();
                message.bytes(&chosen).finish()
            }
            Tasks::Queens { depth, paths } => {
                let mut chosen = Vec::new();
                let mut count = 0u64;
                for i in indices {
                    chosen.extend_from_slice(&paths[i * depth..(i + 1) * depth]);
                    count += 1;
                }
                message.u64(count).bytes(&chosen).finish()
            }
        }
    }
}

/// The leaves of `fib(n)`'s recursion tree cut at the grain (raised if they would not fit
/// [`MAX_TASK_BYTES`]).
fn fib_tasks(p: Fib) -> Tasks {
    let mut leaves = Vec::new();
    fib::leaves(p.n, fib_cut(p.n, p.grain), &mut leaves);
    Tasks::Fib(leaves)
}

/// The cutoff for `fib(n)`'s leaves: `grain`, unless that makes more than [`MAX_TASK_BYTES`]
/// of tasks, in which case the smallest cutoff above it that fits.
fn fib_cut(n: u32, grain: u32) -> u32 {
    fib::cut_within(n, grain, MAX_TASK_BYTES as u64)
}

/// The boards with `split` queens placed (fewer rows if they would not fit
/// [`MAX_TASK_BYTES`]), as paths from the empty board.
fn queens_tasks(p: Nqueens) -> Tasks {
    let most = MAX_TASK_BYTES / (size_of::<Board>() + p.n as usize + 1);
    let mut boards = vec![Board::empty(p.n)];
    let mut paths: Vec<u8> = Vec::new();
    let mut depth = 0;
    // Expand one row at a time; a level is at most n times the one before it.
    // A split deeper than the board (which `validate` refuses) stops at the full board.
    while depth < p.split.min(p.n) as usize && boards.len() * p.n as usize <= most {
        let mut next_boards = Vec::new();
        let mut next_paths = Vec::new();
        for (i, board) in boards.into_iter().enumerate() {
            for (child_index, child) in board.children().enumerate() {
                next_boards.push(child);
                next_paths.extend_from_slice(&paths[i * depth..(i + 1) * depth]);
                next_paths.push(child_index as u8);
            }
        }
        (boards, paths, depth) = (next_boards, next_paths, depth + 1);
    }
    // With `depth` 0 the one task is the empty board, whose path is empty.
    Tasks::Queens { depth, paths }
}

/// The board reached from the empty `n`×`n` board by taking child `path[r]` at each row `r`.
fn board_at(n: u32, path: &[u8]) -> Result<Board, Failure> {
    path.iter().try_fold(Board::empty(n), |board, &child| {
        board
            .children()
            .nth(usize::from(child))
            .ok_or_else(|| Failure::new("a board path leads nowhere"))
    })
}

/// The most memory a repetition's task list may take. A grain so small that more tasks are
/// needed is all overhead anyway; there the cut rises until the list fits (fib: a higher
/// cutoff; nqueens: fewer rows split). No profile comes near it.
pub const MAX_TASK_BYTES: usize = 64 << 20;

// ---------------------------------------------------------------------------------------------
// The worker's side.
// ---------------------------------------------------------------------------------------------

/// A request's first byte: sort the run that follows.
const SORT: u8 = 1;
/// A request's first byte: sort a range of the shared memory.
const SORT_SHARED: u8 = 2;
/// A request's first byte: solve the tasks that follow.
const TASKS: u8 = 3;

/// A `pipe` or `spawn-per-task` sorter: says it is ready, then sorts each run that arrives
/// through its pipe and sends it back, until the parent closes the pipe.
fn serve_sort(role: &Role, link: &mut Link, _fds: Vec<OwnedFd>) -> Result<(), Failure> {
    let Task::Mergesort(p) = role.task else {
        return Err(role.unexpected());
    };
    link.reply(Ok(ok()))?;
    let mut keys: Vec<u64> = Vec::new();
    while let Some(frame) = link.recv().map_err(broken)? {
        let mut request = Dec::new(&frame);
        let len = match request.u8()? {
            SORT => request.usize()?,
            other => return Err(Failure::new(format!("request {other} for a sorter"))),
        };
        keys.clear();
        keys.resize(len, 0);
        link.rx
            .read_exact(bytes_of_mut(&mut keys))
            .map_err(broken)?;
        mergesort::sort(&mut keys, p.grain);
        link.send(&ok().u64(len as u64).finish()).map_err(broken)?;
        link.tx.write_all(bytes_of(&keys)).map_err(broken)?;
    }
    Ok(())
}

/// An `shm` sorter: maps the keys handed over with the role, says it is ready, then sorts the
/// range each request names, in place.
fn serve_sort_shared(role: &Role, link: &mut Link, mut fds: Vec<OwnedFd>) -> Result<(), Failure> {
    let Task::Mergesort(p) = role.task else {
        return Err(role.unexpected());
    };
    let mut shm = SharedMemory::handed_over(&mut fds)?;
    link.serve(|frame| {
        let mut request = Dec::new(frame);
        match request.u8()? {
            SORT_SHARED => {}
            other => return Err(Failure::new(format!("request {other} for a sorter"))),
        }
        let (start, end) = (request.usize()?, request.usize()?);
        if start <= end && end <= shm.word_count() {
            mergesort::sort(shm.words_mut(start..end), p.grain);
            Ok(Some(ok()))
        } else {
            Err(Failure::new(format!(
                "range {start}..{end} is outside the shared keys"
            )))
        }
    })
}

/// A fib or nqueens worker: says it is ready, then answers each chunk of tasks with the sum of
/// their answers.
fn serve_tree(role: &Role, link: &mut Link, _fds: Vec<OwnedFd>) -> Result<(), Failure> {
    let queens = match role.task {
        Task::Fib(_) => None,
        Task::Nqueens(p) if p.n <= 32 => Some(p.n),
        Task::Nqueens(p) => return Err(Failure::new(format!("a board of width {}", p.n))),
        _ => return Err(role.unexpected()),
    };
    link.serve(|frame| {
        let mut request = Dec::new(frame);
        match request.u8()? {
            TASKS => {}
            other => return Err(Failure::new(format!("request {other} for a solver"))),
        }
        let sum = match queens {
            None => request.bytes()?.iter().fold(0u64, |sum, &k| {
                sum.wrapping_add(fib::sequential(u32::from(k)))
            }),
            Some(n) => {
                let count = request.usize()?;
                solve_boards(n, count, request.bytes()?)?
            }
        };
        Ok(Some(ok().u64(sum)))
    })
}

/// The solutions below `count` boards given as paths of equal length.
fn solve_boards(n: u32, count: usize, paths: &[u8]) -> Result<u64, Failure> {
    if count == 0 {
        return Ok(0);
    }
    if paths.len() % count != 0 {
        return Err(Failure::new("board paths of unequal length"));
    }
    let depth = paths.len() / count;
    if depth == 0 {
        return Ok((0..count).map(|_| Board::empty(n).count()).sum());
    }
    paths.chunks_exact(depth).try_fold(0u64, |sum, path| {
        Ok(sum.wrapping_add(board_at(n, path)?.count()))
    })
}

// ---------------------------------------------------------------------------------------------
// Plumbing.
// ---------------------------------------------------------------------------------------------

/// Merges sorted runs into one, pairwise and level by level; run `i` is
/// `keys[bounds[i]..bounds[i + 1]]`. Each level merges into a second buffer and the two swap.
fn merge_runs(mut keys: Vec<u64>, mut bounds: Vec<usize>) -> Vec<u64> {
    let mut spare = Vec::new();
    while bounds.len() > 2 {
        spare.resize(keys.len(), 0);
        bounds = merge_level(&keys, &bounds, &mut spare);
        std::mem::swap(&mut keys, &mut spare);
    }
    keys
}

/// Merges sorted runs that live in `src` (the shared memory) into `out`, which has their
/// length: the first level reads out of `src`, the others ping-pong as in [`merge_runs`].
fn merge_out_of(src: &[u64], bounds: &[usize], mut out: Vec<u64>) -> Vec<u64> {
    if bounds.len() <= 2 {
        out.copy_from_slice(src);
        return out;
    }
    let bounds = merge_level(src, bounds, &mut out);
    merge_runs(out, bounds)
}

/// Merges each pair of neighbouring runs of `src` into the same place in `dst` (an odd last
/// run is copied); returns the bounds of the merged runs.
fn merge_level(src: &[u64], bounds: &[usize], dst: &mut [u64]) -> Vec<usize> {
    let runs = bounds.len() - 1;
    let mut merged = vec![bounds[0]];
    for i in (0..runs).step_by(2) {
        let (start, mid) = (bounds[i], bounds[i + 1]);
        if i + 1 < runs {
            let end = bounds[i + 2];
            mergesort::merge(&src[start..mid], &src[mid..end], &mut dst[start..end]);
            merged.push(end);
        } else {
            dst[start..mid].copy_from_slice(&src[start..mid]);
            merged.push(mid);
        }
    }
    merged
}

/// The bounds of `parts` contiguous runs of `n` keys, as even as can be.
fn split(n: usize, parts: usize) -> Vec<usize> {
    (0..=parts)
        .map(|i| (i as u128 * n as u128 / parts.max(1) as u128) as usize)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_runs_sorts_any_split() {
        for n in [0, 1, 2, 5, 97, 1000] {
            for parts in 1..=7 {
                let mut keys = mergesort::keys(n);
                let bounds = split(n, parts);
                assert_eq!(bounds.len(), parts + 1);
                assert_eq!((bounds[0], bounds[parts]), (0, n));
                for w in 0..parts {
                    keys[bounds[w]..bounds[w + 1]].sort_unstable();
                }
                let mut expected = keys.clone();
                expected.sort_unstable();
                let out = merge_out_of(&keys, &bounds, vec![0; n]);
                assert_eq!(out, expected, "n = {n}, parts = {parts}");
                assert_eq!(
                    merge_runs(keys, bounds),
                    expected,
                    "n = {n}, parts = {parts}"
                );
            }
        }
    }

    #[test]
    fn board_paths_rebuild_the_boards() {
        for n in 0..=7 {
            for split in 0..=n {
                let tasks = queens_tasks(Nqueens { n, split });
                let Tasks::Queens { depth, paths } = &tasks else {
                    unreachable!()
                };
                let count = tasks.len();
                let total = solve_boards(n, count, paths).unwrap();
                assert_eq!(
                    total,
                    shootout_suite::dnc::nqueens::sequential(n),
                    "n = {n}, split = {split}"
                );
                if *depth > 0 {
                    assert_eq!(paths.len(), count * depth);
                }
            }
        }
        assert!(board_at(4, &[9]).is_err());
    }
}
