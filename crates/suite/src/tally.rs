//! An order-independent checksum for tasks whose pieces finish in any order.

use crate::rng::mix;

/// Counts values and sums their mixed bits, so that the total does not depend on the order in
/// which concurrent workers add them, yet a lost, duplicated or corrupted value changes it.
///
/// Each worker keeps its own `Tally` and the results are [`merge`](Tally::merge)d at the end,
/// so no worker ever contends on a shared counter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// How many values were added.
    pub count: u64,
    /// The wrapping sum of the mixed values.
    pub sum: u64,
}

impl Tally {
    /// An empty tally.
    pub const fn new() -> Self {
        Self { count: 0, sum: 0 }
    }

    /// Adds one value.
    #[inline]
    pub fn add(&mut self, value: u64) {
        self.count += 1;
        self.sum = self.sum.wrapping_add(mix(value));
    }

    /// Adds everything another tally saw.
    #[inline]
    pub fn merge(&mut self, other: Tally) {
        self.count += other.count;
        self.sum = self.sum.wrapping_add(other.sum);
    }

    /// The one number the harness compares with the reference.
    pub fn checksum(&self) -> u64 {
        mix(self.sum ^ mix(self.count))
    }
}

impl std::iter::Sum for Tally {
    fn sum<I: Iterator<Item = Tally>>(iter: I) -> Self {
        iter.fold(Tally::new(), |mut acc, t| {
            acc.merge(t);
            acc
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(values: &[u64]) -> Tally {
        let mut t = Tally::new();
        values.iter().for_each(|&v| t.add(v));
        t
    }

    #[test]
    fn order_does_not_matter() {
        assert_eq!(tally(&[1, 2, 3]).checksum(), tally(&[3, 1, 2]).checksum());
    }

    #[test]
    fn merging_equals_adding() {
        let mut a = tally(&[1, 2]);
        a.merge(tally(&[3]));
        assert_eq!(a, tally(&[1, 2, 3]));
    }

    #[test]
    fn a_lost_or_duplicated_value_changes_the_checksum() {
        let good = tally(&[1, 2, 3]).checksum();
        assert_ne!(good, tally(&[1, 2]).checksum());
        assert_ne!(good, tally(&[1, 2, 2]).checksum());
        assert_ne!(good, tally(&[1, 2, 3, 3]).checksum());
    }
}
