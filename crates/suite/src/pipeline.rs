//! The pipeline family: items, the per-item work consumers do, and who produces what.
//!
//! P producers push items through one bounded queue to C consumers. Producer `p` makes the
//! items whose sequence numbers are `p, p + P, p + 2P, …` below the item count; a consumer does
//! [`Item::work`] on each item it takes and adds the result to its own [`Tally`](crate::Tally). The checksum
//! covers every item consumed exactly once, whatever the interleaving.

use std::time::Instant;

use crate::time::nanos_since;

use crate::outcome::Collected;
use crate::rng::mix;

/// One item in every [`LATENCY_SAMPLE`] carries a timestamp, for the queueing-latency histogram.
///
/// Reading the clock on every item would cost as much as moving it through a fast queue, so
/// the latency is sampled; the sample is the same for every backend.
pub const LATENCY_SAMPLE: u64 = 64;

/// The most items a batched variant moves in one hand-off: the processes' pipe and socket
/// (128 items of 24 bytes fit the 4 KiB `PIPE_BUF`) and the in-process batched channels alike,
/// so batching is compared with batching.
pub const BATCH_ITEMS: usize = 128;

/// The batch size and how many batches a queue of `capacity` items holds when it moves
/// batches: `min(capacity, BATCH_ITEMS)` items a batch, `ceil(capacity / batch)` batches.
pub fn batching(capacity: usize) -> (usize, usize) {
    let batch = capacity.clamp(1, BATCH_ITEMS);
    (batch, capacity.max(1).div_ceil(batch))
}

/// What moves through the queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Item {
    /// The sequence number; the item's value is derived from it.
    pub seq: u64,
    /// Rounds of hashing a consumer spends on this item: the per-item CPU work.
    pub work: u32,
    /// Nanoseconds since the run's epoch when it was produced, for sampled items; 0 otherwise.
    pub born_ns: u64,
}

impl Item {
    /// Item `seq`, stamped against `epoch` if it is a latency sample.
    #[inline]
    pub fn new(seq: u64, work: u32, epoch: Instant) -> Self {
        let born_ns = if seq % LATENCY_SAMPLE == 0 {
            nanos_since(epoch).max(1)
        } else {
            0
        };
        Self { seq, work, born_ns }
    }

    /// The consumer's job: `work` rounds of mixing, starting from the item's value.
    #[inline]
    pub fn work(&self) -> u64 {
        let mut x = mix(self.seq ^ 0x1234_5678_9ABC_DEF0);
        for _ in 0..self.work {
            x = mix(x);
        }
        x
    }

    /// The queueing latency in nanoseconds, if this item is a latency sample.
    #[inline]
    pub fn latency_ns(&self, epoch: Instant) -> Option<u64> {
        (self.born_ns != 0).then(|| nanos_since(epoch).saturating_sub(self.born_ns))
    }
}

/// The sequence numbers producer `producer` of `producers` makes, for `items` items in all.
pub fn produced_by(producer: usize, producers: usize, items: u64) -> impl Iterator<Item = u64> {
    (producer as u64..items).step_by(producers.max(1))
}

/// Producer `producer`'s items, stamped against `epoch` as they are made, in batches of
/// `batch` (the last one may be shorter): what a batched variant's producer sends, one batch per
/// hand-off. The iterator is lazy: a batch is made only when the one before it has been sent,
/// so an item's latency counts from when it was made, as in the per-item variants.
pub fn batches_of(
    producer: usize,
    producers: usize,
    items: u64,
    work: u32,
    batch: usize,
    epoch: Instant,
) -> impl Iterator<Item = Vec<Item>> {
    let mut seqs = produced_by(producer, producers, items).peekable();
    std::iter::from_fn(move || {
        seqs.peek()?;
        Some(
            seqs.by_ref()
                .take(batch.max(1))
                .map(|seq| Item::new(seq, work, epoch))
                .collect(),
        )
    })
}

/// What a consumer keeps: the tally of work results and the queueing latencies of the sampled
/// items.
pub type Consumed = Collected;

impl Collected {
    /// Does the consumer's work on one item and records it.
    #[inline]
    pub fn take(&mut self, item: Item, epoch: Instant) {
        // The queueing latency ends when the item is taken, before its work begins.
        if let Some(ns) = item.latency_ns(epoch) {
            self.latencies_ns.push(ns);
        }
        self.tally.add(item.work());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_cover_the_capacity() {
        for (capacity, batch, batches) in [
            (1, 1, 1),
            (4, 4, 1),
            (128, 128, 1),
            (200, 128, 2),
            (1024, 128, 8),
        ] {
            assert_eq!(batching(capacity), (batch, batches), "capacity {capacity}");
        }
    }

    #[test]
    fn batches_hold_a_producers_items_in_order() {
        let epoch = Instant::now();
        let sizes: Vec<usize> = batches_of(1, 2, 11, 0, 2, epoch).map(|b| b.len()).collect();
        assert_eq!(sizes, [2, 2, 1], "items 1, 3, 5, 7, 9");
        let seqs: Vec<u64> = batches_of(1, 2, 11, 0, 2, epoch)
            .flatten()
            .map(|i| i.seq)
            .collect();
        assert_eq!(seqs, [1, 3, 5, 7, 9]);
        assert_eq!(batches_of(0, 1, 0, 0, 4, epoch).count(), 0);
    }

    #[test]
    fn producers_cover_every_item_once() {
        for (producers, items) in [(1, 10), (3, 10), (4, 3), (7, 0)] {
            let mut seen: Vec<u64> = (0..producers)
                .flat_map(|p| produced_by(p, producers, items))
                .collect();
            seen.sort_unstable();
            assert_eq!(seen, (0..items).collect::<Vec<_>>());
        }
    }

    #[test]
    fn work_depends_on_rounds_and_seq() {
        let epoch = Instant::now();
        let a = Item::new(5, 0, epoch);
        let b = Item { work: 3, ..a };
        assert_ne!(a.work(), b.work());
        assert_ne!(a.work(), Item::new(6, 0, epoch).work());
    }

    #[test]
    fn only_sampled_items_carry_a_timestamp() {
        let epoch = Instant::now();
        assert!(Item::new(0, 0, epoch).latency_ns(epoch).is_some());
        assert!(Item::new(1, 0, epoch).latency_ns(epoch).is_none());
        assert!(
            Item::new(LATENCY_SAMPLE, 0, epoch)
                .latency_ns(epoch)
                .is_some()
        );
    }
}
