//! The divide-and-conquer family: the sequential kernels every backend shares.
//!
//! A backend's `dnc.rs` holds only its concurrency structure – where it splits, how it joins.
//! Everything below the split (sorting a leaf, merging two runs, computing `fib` under the
//! cutoff, searching the queens below a board) is here, written once, so that the backends
//! differ in nothing but the model they demonstrate.

/// Merge sort: seeded input, leaf sort, merge, and the sequential reference.
pub mod mergesort {
    use crate::rng::{SplitMix64, mix};

    /// The seed of the keys; every backend sorts the same keys.
    pub const SEED: u64 = 0x5EED_0001;

    /// `n` seeded keys, the input of every repetition.
    pub fn keys(n: usize) -> Vec<u64> {
        let mut rng = SplitMix64::new(SEED);
        (0..n).map(|_| rng.next_u64()).collect()
    }

    /// The checksum of a sorted output: a position-dependent hash of every key.
    ///
    /// It only equals the reference if the output holds the same keys in the same order.
    pub fn checksum(sorted: &[u64]) -> u64 {
        sorted
            .iter()
            .enumerate()
            .fold(mix(sorted.len() as u64), |acc, (i, &k)| {
                acc.wrapping_add(mix(k ^ mix(i as u64)))
            })
    }

    /// Sorts a leaf sequentially (`sort_unstable`: pdqsort, the fastest sequential sort in std).
    #[inline]
    pub fn sort_leaf(leaf: &mut [u64]) {
        leaf.sort_unstable();
    }

    /// Merges two sorted runs into `out`, which must be exactly as long as both together.
    pub fn merge(left: &[u64], right: &[u64], out: &mut [u64]) {
        assert_eq!(
            left.len() + right.len(),
            out.len(),
            "merge output has the wrong length"
        );
        let (mut i, mut j) = (0, 0);
        for slot in out.iter_mut() {
            // Take from the left run unless it is exhausted or the right head is smaller:
            // this keeps the merge stable, which the checksum does not need but a reader expects.
            let take_left = j == right.len() || (i < left.len() && left[i] <= right[j]);
            if take_left {
                *slot = left[i];
                i += 1;
            } else {
                *slot = right[j];
                j += 1;
            }
        }
    }

    /// Where to cut two sorted runs so that both halves of their merge can be done in parallel.
    ///
    /// Returns `(i, j)` such that every key in `left[..i]` and `right[..j]` is `<=` every key in
    /// `left[i..]` and `right[j..]`; the first `i + j` outputs are the merge of the two prefixes.
    /// The longer run is cut at its middle, the shorter one by binary search. Both halves are
    /// non-empty whenever the longer run has at least two keys, so a parallel merge must merge
    /// sequentially below two keys (any grain of at least 2 guarantees progress).
    pub fn merge_split(left: &[u64], right: &[u64]) -> (usize, usize) {
        if left.len() >= right.len() {
            let i = left.len() / 2;
            let j = right.partition_point(|&k| k < left[i]);
            (i, j)
        } else {
            let j = right.len() / 2;
            let i = left.partition_point(|&k| k <= right[j]);
            (i, j)
        }
    }

    /// Sorts a leaf of the ping-pong recursion: the sorted keys end in `buf` if `into_buf`.
    ///
    /// The recursion alternates between the keys and a scratch buffer of the same length, so
    /// every level merges from one into the other without copying back.
    pub fn leaf(keys: &mut [u64], buf: &mut [u64], into_buf: bool) {
        sort_leaf(keys);
        if into_buf {
            buf.copy_from_slice(keys);
        }
    }

    /// After both halves are sorted into the other array, the `(source, destination)` to merge.
    pub fn merge_ends<'a>(
        keys: &'a mut [u64],
        buf: &'a mut [u64],
        into_buf: bool,
    ) -> (&'a [u64], &'a mut [u64]) {
        if into_buf { (keys, buf) } else { (buf, keys) }
    }

    /// The sequential merge sort: split to `grain`, sort leaves, merge back up.
    pub fn sort(keys: &mut [u64], grain: usize) {
        let mut buf = vec![0; keys.len()];
        sort_to(keys, &mut buf, false, grain.max(1));
    }

    fn sort_to(keys: &mut [u64], buf: &mut [u64], into_buf: bool, grain: usize) {
        if keys.len() <= grain {
            return leaf(keys, buf, into_buf);
        }
        let mid = keys.len() / 2;
        let (kl, kr) = keys.split_at_mut(mid);
        let (bl, br) = buf.split_at_mut(mid);
        sort_to(kl, bl, !into_buf, grain);
        sort_to(kr, br, !into_buf, grain);
        let (src, dst) = merge_ends(keys, buf, into_buf);
        merge(&src[..mid], &src[mid..], dst);
    }
}

/// Recursive Fibonacci: the purest measure of task-spawn overhead.
pub mod fib {
    /// `fib(n)` by naive recursion – deliberately exponential, it is the unit of work.
    pub fn sequential(n: u32) -> u64 {
        if n < 2 {
            u64::from(n)
        } else {
            sequential(n - 1) + sequential(n - 2)
        }
    }

    /// Appends the leaves of `fib(n)`'s recursion tree cut at `cut` – every `k` with `k <= cut`
    /// (or `k < 2`) that the recursion reaches – in order; their `sequential` values sum to
    /// `fib(n)`. The task list of a backend that hands out the work up front.
    pub fn leaves(n: u32, cut: u32, out: &mut Vec<u8>) {
        if n < 2 || n <= cut {
            out.push(u8::try_from(n).expect("fib(n) fits u64 only for n < 94"));
        } else {
            leaves(n - 1, cut, out);
            leaves(n - 2, cut, out);
        }
    }

    /// How many leaves `fib(n)`'s recursion tree has when cut at `cut` (saturating).
    pub fn leaf_count(n: u32, cut: u32) -> u64 {
        let floor = cut.max(1); // fib(0) and fib(1) are leaves whatever the cutoff
        if n <= floor {
            return 1;
        }
        // leaves(k) = leaves(k - 1) + leaves(k - 2) above the floor, 1 at and just below it.
        let (mut below, mut at) = (1u64, 1u64);
        for _ in floor..n {
            (below, at) = (at, at.saturating_add(below));
        }
        at
    }

    /// The cutoff for `fib(n)`'s leaves: `grain`, unless that makes more than `most` leaves,
    /// in which case the smallest cutoff above it that does not.
    pub fn cut_within(n: u32, grain: u32, most: u64) -> u32 {
        (grain..)
            .find(|&cut| leaf_count(n, cut) <= most)
            .expect("a cutoff of n has one leaf")
    }

    /// `fib(n)` by iteration, for the reference checksum (instant for any `n` that fits `u64`).
    pub fn closed(n: u32) -> u64 {
        let (mut a, mut b) = (0u64, 1u64);
        for _ in 0..n {
            // `b` runs one step ahead and may wrap on the last step; `a` never does for n <= 93.
            (a, b) = (b, a.wrapping_add(b));
        }
        a
    }
}

/// Counting n-queens solutions with bitboards: an irregular tree.
pub mod nqueens {
    /// A partial board: the first `row` rows hold one queen each.
    #[derive(Clone, Copy, Debug)]
    pub struct Board {
        n: u32,
        row: u32,
        cols: u32,
        diag: u32,
        anti: u32,
    }

    impl Board {
        /// The empty `n`×`n` board.
        pub fn empty(n: u32) -> Self {
            assert!(n <= 32, "a board is at most 32 wide");
            Self {
                n,
                row: 0,
                cols: 0,
                diag: 0,
                anti: 0,
            }
        }

        /// How many rows are already filled.
        pub fn depth(&self) -> u32 {
            self.row
        }

        /// The boards with one more queen placed safely on the next row.
        pub fn children(self) -> impl Iterator<Item = Board> {
            let full = if self.n == 32 {
                u32::MAX
            } else {
                (1u32 << self.n) - 1
            };
            let mut free = if self.row == self.n {
                0
            } else {
                full & !(self.cols | self.diag | self.anti)
            };
            std::iter::from_fn(move || {
                if free == 0 {
                    return None;
                }
                let bit = free & free.wrapping_neg();
                free ^= bit;
                Some(Board {
                    n: self.n,
                    row: self.row + 1,
                    cols: self.cols | bit,
                    diag: (self.diag | bit) << 1,
                    anti: (self.anti | bit) >> 1,
                })
            })
        }

        /// Counts the complete boards below this one, sequentially.
        pub fn count(self) -> u64 {
            if self.row == self.n {
                return 1;
            }
            self.children().map(Board::count).sum()
        }
    }

    /// The number of solutions for an `n`×`n` board (1 for `n` = 0: the empty board, as in
    /// OEIS A000170).
    pub fn sequential(n: u32) -> u64 {
        Board::empty(n).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_sort(n: usize, grain: usize) {
        let mut keys = mergesort::keys(n);
        let mut expected = keys.clone();
        expected.sort_unstable();
        mergesort::sort(&mut keys, grain);
        assert_eq!(keys, expected, "n = {n}, grain = {grain}");
    }

    #[test]
    fn mergesort_sorts_edge_sizes() {
        for n in [0, 1, 2, 3, 17, 97, 1000, 4099] {
            for grain in [1, 2, 7, 64, 10_000] {
                check_sort(n, grain);
            }
        }
    }

    #[test]
    fn merge_split_cuts_consistently() {
        let mut a = mergesort::keys(101);
        let mut b: Vec<u64> = mergesort::keys(57).iter().map(|k| k / 3).collect();
        a.sort_unstable();
        b.sort_unstable();
        for (l, r) in [
            (&a[..], &b[..]),
            (&b[..], &a[..]),
            (&a[..1], &b[..0]),
            (&a[..0], &b[..3]),
        ] {
            if l.is_empty() && r.is_empty() {
                continue;
            }
            let (i, j) = mergesort::merge_split(l, r);
            let low = l[..i].iter().chain(&r[..j]).max();
            let high = l[i..].iter().chain(&r[j..]).min();
            if let (Some(low), Some(high)) = (low, high) {
                assert!(low <= high);
            }
        }
    }

    #[test]
    fn checksum_sees_order_and_content() {
        let sorted = [1, 2, 3];
        assert_ne!(
            mergesort::checksum(&sorted),
            mergesort::checksum(&[2, 1, 3])
        );
        assert_ne!(
            mergesort::checksum(&sorted),
            mergesort::checksum(&[1, 2, 4])
        );
        assert_ne!(mergesort::checksum(&[]), mergesort::checksum(&[0]));
    }

    #[test]
    fn fib_recursion_matches_iteration() {
        for n in 0..25 {
            assert_eq!(fib::sequential(n), fib::closed(n), "fib({n})");
        }
        assert_eq!(fib::closed(93), 12_200_160_415_121_876_738);
    }

    #[test]
    fn fib_leaves_sum_to_fib_and_are_counted() {
        for n in 0..=20 {
            for cut in 0..=22 {
                let mut leaves = Vec::new();
                fib::leaves(n, cut, &mut leaves);
                assert_eq!(
                    fib::leaf_count(n, cut),
                    leaves.len() as u64,
                    "n = {n}, cut = {cut}"
                );
                let sum: u64 = leaves.iter().map(|&k| fib::sequential(u32::from(k))).sum();
                assert_eq!(sum, fib::closed(n), "n = {n}, cut = {cut}");
            }
        }
    }

    #[test]
    fn fib_cut_is_the_grain_unless_the_leaves_would_not_fit() {
        let most = 64 << 20;
        assert_eq!(fib::cut_within(38, 20, most), 20);
        assert_eq!(fib::cut_within(30, 1, most), 1);
        let cut = fib::cut_within(50, 1, most);
        assert!(cut > 1 && fib::leaf_count(50, cut) <= most);
        assert!(fib::leaf_count(50, cut - 1) > most);
    }

    #[test]
    fn nqueens_matches_the_known_counts() {
        // OEIS A000170, from n = 1.
        let known = [1, 0, 0, 2, 10, 4, 40, 92, 352, 724, 2680];
        for (i, &count) in known.iter().enumerate() {
            assert_eq!(nqueens::sequential(i as u32 + 1), count, "n = {}", i + 1);
        }
        assert_eq!(nqueens::sequential(0), 1);
    }
}
