//! Divide and conquer, thread per core: the work divided before it starts, because no core
//! can take work from another.
//!
//! A per-core runtime has no work stealing and no shared scheduler: a future spawned on core
//! 0 runs on core 0. So a CPU-bound job is divided up front, and how well it is divided is the
//! whole performance story. Both variants run every piece on a core's thread, inside its
//! runtime's `block_on` (the future a thread-per-core program runs on each core), with the
//! suite's sequential kernels below the split.
//!
//! # `static`: one share per core
//!
//! What the model implies when nothing is added: N shares, one per core, decided by the
//! calling thread and handed out with one [`Cores::each`].
//!
//! - fib: the subtrees of the recursion at the deepest cut that still gives at least N of them
//!   (`fib(k)` for k at the cut), each core given a set of them whose total cost (`fib(k)`,
//!   known exactly in advance) is as even as a greedy largest-first assignment makes it.
//! - nqueens: the boards of the first rows (one row at a time, until there are at least N or
//!   the task's `split` is reached), divided among the cores in contiguous shares. The subtrees
//!   below two boards differ a lot, so some cores finish early and wait: the cost of no
//!   stealing on an irregular tree, which this variant is here to show.
//! - mergesort: each core sorts its contiguous share with the suite's sequential merge sort
//!   (ping-pong, leaves of `grain` keys), then the sorted shares are merged in `⌈log₂ N⌉`
//!   rounds of pairwise merges. A round's merges are not given one per core – the last round
//!   has one merge, and a final merge on one core would run for as long as all the sorting:
//!   instead the round's output is cut into N equal ranges, one per core, each range's inputs
//!   found by a co-rank binary search in the two runs it comes from, so that every core merges
//!   exactly n/N keys every round (the parallel merge an expert writes; the rayon and threads
//!   backends split merges with the same idea). A round reads one buffer and writes the
//!   other, which is the one copy of the keys the sort allocates.
//!
//! # `chunked`: many chunks, pulled from a channel
//!
//! The usual remedy for an uneven static split: cut the work into many more chunks than cores
//! and let each core pull the next one when it is done with the last, through one
//! cross-core [`async_channel`] filled before the cores start and closed (each core's runtime
//! awaits `recv` until it fails). The chunks are the task's own grain, as in the threads
//! backend's `task-queue`: fib's leaves at `grain`, the boards at `split` rows, and for
//! mergesort runs of at most `grain` keys sorted as chunks, then each round of pairwise merges
//! cut into pieces of about `grain` keys. The channel's `recv` is the one shared write per
//! chunk. Handing work to cores through a channel is how thread-per-core programs balance
//! uneven work (the threads backend's `task-queue` is the same decomposition, and natural
//! there too), so both variants are the model's own idiom and the tables' compio row shows
//! the better of the two.

use std::ops::Range;
use std::sync::Arc;

use shootout_suite::dnc::nqueens::Board;
use shootout_suite::dnc::{fib, mergesort};
use shootout_suite::percore::Cores;
use shootout_suite::region::Region;
use shootout_suite::{Cell, Failure, Outcome, Runner, Task};

use crate::runtime::{self, Core, Parcels, noted, share};

/// The most memory a chunk list may take, as in the threads backend's task queue: a grain so
/// small that more chunks are needed is all overhead anyway, and the cut rises until it fits.
pub const MAX_TASK_BYTES: usize = 64 << 20;

/// The cores of a divide-and-conquer cell: nothing kept on them but their runtimes.
type Crew = Cores<Core<()>>;

// ---------------------------------------------------------------------------------------------
// How work reaches the cores: dealt up front, or pulled from a channel.
// ---------------------------------------------------------------------------------------------

/// `static`: core `i` runs `work` on every item of `shares[i]`, on its runtime; each core's
/// results, in core order.
fn dealt<T, R, F>(cores: &Crew, shares: Vec<Vec<T>>, work: F) -> Vec<Vec<R>>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(T) -> R + Send + Sync + 'static,
{
    let shares = Parcels::new(shares);
    cores.each(move |i, core| {
        let mine = shares.take(i).unwrap_or_default();
        core.rt
            .block_on(async { mine.into_iter().map(&work).collect::<Vec<R>>() })
    })
}

/// `chunked`: every core pulls chunks from one channel and runs `work` on each until the
/// channel is empty; each core's results, in core order.
fn pulled<T, R, F>(cores: &Crew, chunks: impl IntoIterator<Item = T>, work: F) -> Vec<Vec<R>>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(T) -> R + Send + Sync + 'static,
{
    let (tx, rx) = async_channel::unbounded();
    for chunk in chunks {
        tx.try_send(chunk)
            .expect("an open unbounded channel takes every chunk");
    }
    // Closed: a core's `recv` fails once the queue is empty.
    drop(tx);
    cores.each(move |_, core| {
        core.rt.block_on(async {
            let mut done = Vec::new();
            while let Ok(chunk) = rx.recv().await {
                done.push(work(chunk));
            }
            done
        })
    })
}

// ---------------------------------------------------------------------------------------------
// fib and nqueens.
// ---------------------------------------------------------------------------------------------

/// `fib(n)`, static: the subtrees at the deepest cut giving at least one per core, dealt
/// largest first to the least loaded core.
pub fn fib_static(cores: &Crew, n: u32) -> u64 {
    let parts = cores.len();
    let cut = (1..=n.max(1))
        .rev()
        .find(|&cut| fib::leaf_count(n, cut) >= parts as u64)
        .unwrap_or(1);
    let mut leaves = Vec::new();
    fib::leaves(n, cut, &mut leaves);
    leaves.sort_unstable_by(|a, b| b.cmp(a));
    let mut shares: Vec<Vec<u8>> = vec![Vec::new(); parts];
    let mut loads = vec![0u64; parts];
    for k in leaves {
        let least = (0..parts).min_by_key(|&i| loads[i]).expect("a core");
        loads[least] += fib::closed(u32::from(k));
        shares[least].push(k);
    }
    sum(dealt(cores, shares, |k| fib::sequential(u32::from(k))))
}

/// `fib(n)`, chunked: every leaf at the cutoff (`grain`, raised until the list fits) a chunk.
pub fn fib_chunked(cores: &Crew, n: u32, grain: u32) -> u64 {
    let mut leaves = Vec::new();
    fib::leaves(
        n,
        fib::cut_within(n, grain, MAX_TASK_BYTES as u64),
        &mut leaves,
    );
    sum(pulled(cores, leaves, |k| fib::sequential(u32::from(k))))
}

/// The n-queens count, static: the boards of the first rows, at least one per core where the
/// board and `split` allow it, in contiguous shares.
pub fn nqueens_static(cores: &Crew, n: u32, split: u32) -> u64 {
    let parts = cores.len();
    let mut boards = vec![Board::empty(n)];
    while boards.len() < parts && boards.first().is_some_and(|b| b.depth() < split) {
        boards = boards.into_iter().flat_map(Board::children).collect();
    }
    let shares = (0..parts)
        .map(|i| boards[share(boards.len(), parts, i)].to_vec())
        .collect();
    sum(dealt(cores, shares, Board::count))
}

/// The n-queens count, chunked: every board with `split` queens placed a chunk (fewer rows
/// where the list would not fit).
pub fn nqueens_chunked(cores: &Crew, n: u32, split: u32) -> u64 {
    let most = MAX_TASK_BYTES / size_of::<Board>();
    let mut boards = vec![Board::empty(n)];
    while boards.first().is_some_and(|b| b.depth() < split) && boards.len() * n as usize <= most {
        boards = boards.into_iter().flat_map(Board::children).collect();
    }
    sum(pulled(cores, boards, Board::count))
}

fn sum(results: Vec<Vec<u64>>) -> u64 {
    results.into_iter().flatten().sum()
}

// ---------------------------------------------------------------------------------------------
// mergesort: sorted runs, then rounds of pairwise merges cut at co-rank points.
// ---------------------------------------------------------------------------------------------

/// How a merge sort's work is handed out: a share per core, or chunks of about `grain` keys.
#[derive(Clone, Copy, Debug)]
enum Handout {
    Static,
    Chunked,
}

/// Sorts `keys`, static: core `i` sorts `share(n, N, i)` sequentially, then the merge rounds
/// give each core n/N keys of every round's output.
pub fn mergesort_static(cores: &Crew, keys: Vec<u64>, grain: usize) -> Vec<u64> {
    let parts = cores.len();
    let runs: Vec<Range<usize>> = (0..parts).map(|i| share(keys.len(), parts, i)).collect();
    let grain = grain.max(1);
    let keys = sorted_runs(cores, keys, &runs, Handout::Static, move |keys| {
        mergesort::sort(keys, grain);
    });
    merge_rounds(cores, keys, runs, Handout::Static, grain)
}

/// Sorts `keys`, chunked: runs of at most `grain` keys sorted as chunks, then every merge
/// round cut into pieces of about `grain` keys, all pulled from a channel.
pub fn mergesort_chunked(cores: &Crew, keys: Vec<u64>, grain: usize) -> Vec<u64> {
    let most = MAX_TASK_BYTES / size_of::<(usize, Region)>();
    let leaves = keys.len().div_ceil(grain.max(1)).clamp(1, most.max(1));
    let runs: Vec<Range<usize>> = (0..leaves).map(|i| share(keys.len(), leaves, i)).collect();
    let keys = sorted_runs(cores, keys, &runs, Handout::Chunked, mergesort::sort_leaf);
    merge_rounds(cores, keys, runs, Handout::Chunked, grain.max(1))
}

/// Sorts every run of `keys` in place with `sort`: run `i` on core `i` (static), or each run
/// a chunk (chunked).
fn sorted_runs(
    cores: &Crew,
    keys: Vec<u64>,
    runs: &[Range<usize>],
    handout: Handout,
    sort: impl Fn(&mut [u64]) + Send + Sync + 'static,
) -> Vec<u64> {
    let mut rest = Region::whole(keys);
    let mut regions = Vec::with_capacity(runs.len());
    for run in runs {
        let (region, back) = rest.split_at(run.len());
        regions.push((run.start, region));
        rest = back;
    }
    drop(rest);
    let work = move |(at, mut region): (usize, Region)| {
        sort(region.as_mut_slice());
        (at, region)
    };
    let done = match handout {
        Handout::Static => dealt(cores, regions.into_iter().map(|r| vec![r]).collect(), work),
        Handout::Chunked => pulled(cores, regions, work),
    };
    reassembled(done)
}

/// One piece of a merge round: the keys `src[a]` and `src[b]` merged into `out`, which starts
/// at `at` in the round's output. Each piece holds the source, read-only, until it is merged.
struct Piece {
    at: usize,
    a: Range<usize>,
    b: Range<usize>,
    out: Region,
    src: Arc<Vec<u64>>,
}

impl Piece {
    fn merge(mut self) -> (usize, Region) {
        let (a, b) = (&self.src[self.a.clone()], &self.src[self.b.clone()]);
        mergesort::merge(a, b, self.out.as_mut_slice());
        (self.at, self.out)
    }
}

/// Merges the sorted `runs` of `keys` pairwise, round after round, until one run is left; an
/// odd run out is carried into the next round (a merge with nothing, a copy).
fn merge_rounds(
    cores: &Crew,
    mut keys: Vec<u64>,
    mut runs: Vec<Range<usize>>,
    handout: Handout,
    grain: usize,
) -> Vec<u64> {
    let n = keys.len();
    runs.retain(|run| !run.is_empty());
    let mut spare = if runs.len() > 1 {
        vec![0; n]
    } else {
        Vec::new()
    };
    while runs.len() > 1 {
        let merges: Vec<(Range<usize>, Range<usize>)> = runs
            .chunks(2)
            .map(|pair| match pair {
                [a, b] => (a.clone(), b.clone()),
                [a] => (a.clone(), a.end..a.end),
                _ => unreachable!("chunks of two"),
            })
            .collect();
        let src = Arc::new(keys);
        let cuts = pieces(&src, &merges, handout, cores.len(), grain);
        let mut rest = Region::whole(spare);
        let mut shares: Vec<Vec<Piece>> = (0..cores.len()).map(|_| Vec::new()).collect();
        let mut chunks = Vec::with_capacity(cuts.len());
        for (owner, at, a, b) in cuts {
            let (out, back) = rest.split_at(a.len() + b.len());
            rest = back;
            let piece = Piece {
                at,
                a,
                b,
                out,
                src: Arc::clone(&src),
            };
            match handout {
                Handout::Static => shares[owner].push(piece),
                Handout::Chunked => chunks.push(piece),
            }
        }
        drop(rest);
        let done = match handout {
            Handout::Static => dealt(cores, shares, Piece::merge),
            Handout::Chunked => pulled(cores, chunks, Piece::merge),
        };
        keys = reassembled(done);
        // Every piece, and with it every other reference to the source, was dropped on its
        // core before the core answered.
        spare = Arc::try_unwrap(src).expect("the merged pieces no longer hold the source");
        runs = merges.iter().map(|(a, b)| a.start..b.end).collect();
    }
    keys
}

/// The pieces of one round, in output order, as `(owner, at, a, b)`: `src[a]` and `src[b]`
/// merge into the `a.len() + b.len()` keys of the output from `at`. Static: core `i` owns the output's
/// `share(n, N, i)`, cut out of whichever merges it spans; chunked: each merge cut into pieces
/// of about `grain` keys (owner unused).
fn pieces(
    src: &[u64],
    merges: &[(Range<usize>, Range<usize>)],
    handout: Handout,
    parts: usize,
    grain: usize,
) -> Vec<(usize, usize, Range<usize>, Range<usize>)> {
    let n = src.len();
    let mut out = Vec::new();
    for (a, b) in merges {
        let (start, len) = (a.start, a.len() + b.len());
        let bounds: Vec<(usize, usize, usize)> = match handout {
            Handout::Static => (0..parts)
                .filter_map(|i| {
                    let mine = share(n, parts, i);
                    let (lo, hi) = (mine.start.max(start), mine.end.min(start + len));
                    (lo < hi).then(|| (i, lo - start, hi - start))
                })
                .collect(),
            Handout::Chunked => {
                let count = len.div_ceil(grain).max(1);
                (0..count)
                    .map(|t| share(len, count, t))
                    .map(|r| (0, r.start, r.end))
                    .collect()
            }
        };
        let (left, right) = (&src[a.clone()], &src[b.clone()]);
        for (owner, k0, k1) in bounds {
            let (i0, i1) = (corank(k0, left, right), corank(k1, left, right));
            out.push((
                owner,
                start + k0,
                a.start + i0..a.start + i1,
                b.start + (k0 - i0)..b.start + (k1 - i1),
            ));
        }
    }
    out
}

/// How many of the first `k` keys of the merge of `a` and `b` come from `a` (ties from `a`
/// first, as `mergesort::merge` takes them): a binary search over the split of `k`.
fn corank(k: usize, a: &[u64], b: &[u64]) -> usize {
    let (mut lo, mut hi) = (k.saturating_sub(b.len()), k.min(a.len()));
    while lo < hi {
        let i = lo + (hi - lo) / 2;
        // `a[i]` would be taken before `b[k - i - 1]`: more of `a` belongs in the first `k`.
        if a[i] <= b[k - i - 1] {
            lo = i + 1;
        } else {
            hi = i;
        }
    }
    lo
}

/// The whole buffer again from the regions the cores handed back, each with where it starts.
fn reassembled(done: Vec<Vec<(usize, Region)>>) -> Vec<u64> {
    let mut parts: Vec<(usize, Region)> = done.into_iter().flatten().collect();
    parts.sort_unstable_by_key(|(at, _)| *at);
    let whole = parts
        .into_iter()
        .map(|(_, region)| region)
        .reduce(Region::unsplit)
        .expect("at least one region");
    whole.into_vec()
}

// ---------------------------------------------------------------------------------------------
// Setup: N cores, each with its runtime, per cell.
// ---------------------------------------------------------------------------------------------

/// Sets up `static`.
pub fn setup_static(cell: &Cell) -> Result<Runner, Failure> {
    setup(cell, Handout::Static)
}

/// Sets up `chunked`.
pub fn setup_chunked(cell: &Cell) -> Result<Runner, Failure> {
    setup(cell, Handout::Chunked)
}

fn setup(cell: &Cell, handout: Handout) -> Result<Runner, Failure> {
    let task = cell.task;
    if !matches!(task, Task::Mergesort(_) | Task::Fib(_) | Task::Nqueens(_)) {
        return Err(cell.unsupported());
    }
    let (cores, driver) = runtime::start(cell.workers, |_, _| Ok(()))?;
    noted(driver, move |input| {
        Ok(match (task, handout) {
            (Task::Mergesort(p), Handout::Static) => {
                Outcome::sorted(mergesort_static(&cores, input.into_keys(), p.grain))
            }
            (Task::Mergesort(p), Handout::Chunked) => {
                Outcome::sorted(mergesort_chunked(&cores, input.into_keys(), p.grain))
            }
            (Task::Fib(p), Handout::Static) => Outcome::value(fib_static(&cores, p.n)),
            (Task::Fib(p), Handout::Chunked) => Outcome::value(fib_chunked(&cores, p.n, p.grain)),
            (Task::Nqueens(p), Handout::Static) => {
                Outcome::value(nqueens_static(&cores, p.n, p.split))
            }
            (Task::Nqueens(p), Handout::Chunked) => {
                Outcome::value(nqueens_chunked(&cores, p.n, p.split))
            }
            _ => unreachable!("checked above"),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_merge_sorts_sort_ties_and_odd_sizes_on_uneven_cores() {
        for workers in [1, 2, 3, 5] {
            let (cores, _) = runtime::start(workers, |_, _| Ok(())).unwrap();
            for (keys, grain, expected) in shootout_testkit::mergesort_ties_and_odd_sizes() {
                let n = keys.len();
                let what = format!("n = {n}, grain = {grain}, W = {workers}");
                assert_eq!(
                    mergesort_static(&cores, keys.clone(), grain),
                    expected,
                    "{what}"
                );
                assert_eq!(mergesort_chunked(&cores, keys, grain), expected, "{what}");
            }
        }
    }

    #[test]
    fn corank_splits_a_merge_with_ties_from_the_left_first() {
        let (a, b) = ([1, 2, 2, 5], [2, 3]);
        assert_eq!(
            (0..=6).map(|k| corank(k, &a, &b)).collect::<Vec<_>>(),
            [0, 1, 2, 3, 3, 3, 4]
        );
    }
}
