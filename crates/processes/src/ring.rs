//! A bounded multi-producer, multi-consumer ring of items in shared memory, with futexes to
//! sleep on: the queue that needs no system call while it is neither full nor empty.
//!
//! # The design: tickets and turns
//!
//! This is the queue of Dmitry Vyukov's bounded MPMC design and folly's `MPMCQueue`, which
//! suits processes because it has no locks (a process killed while holding a lock would stop
//! everybody; here it only stops the slot it held):
//!
//! - A producer takes a ticket `t` from the shared `tail` counter (`fetch_add`), a consumer a
//!   ticket `h` from `head`. Ticket `t` goes to slot `t % capacity`, on lap `t / capacity`.
//! - Each slot has a `turn` word saying whose turn it is, counted in laps: on lap `L` the
//!   slot's producer may write when `turn == 2L` and then sets `2L + 1`; its consumer may read
//!   when `turn == 2L + 1` and then sets `2L + 2`, the next lap's producer turn. Zero-filled
//!   memory is an empty ring. (Vyukov's original counts turns in tickets, `t + 1` after a write
//!   and `t + capacity` after a read, which collide when the capacity is 1; counting laps
//!   twice, as folly's `TurnSequencer` does, works for every capacity.)
//! - Whoever finds it is not their turn spins briefly, then sleeps in `futex(FUTEX_WAIT)` on
//!   the turn word; whoever changes a turn word wakes its sleepers (`FUTEX_WAKE`), but only if
//!   the slot's `waiters` count says there are any, so the uncontended path is two atomic
//!   operations and no system call.
//!
//! The futexes are *shared* ones (no `FUTEX_PRIVATE_FLAG`): the kernel keys them by the
//! page's file and offset, so a process that mapped the `memfd` at another address still
//! wakes the right sleepers.
//!
//! Every field in the mapping is an atomic, so another process writing concurrently is never a
//! data race; the item's fields are written and read `Relaxed` and published by the turn
//! word's `Release` store and `Acquire` load. Turn words are 32 bits (a futex word is), the low
//! bits of twice the 64-bit lap; a waiter is never more than a few laps from its turn, so the
//! wrap-around at 2^32 is harmless (a test crosses it).
//!
//! # Closing
//!
//! Consumers cannot tell "empty for now" from "empty for good", so the last producer to finish
//! (the `producers_left` counter reaches zero) pushes one [`PILL`] per consumer after its
//! items. Tickets are handed out in order, so every item's ticket comes before every pill's,
//! and each consumer stops at the first pill it takes: every item is consumed exactly once
//! and every consumer stops.
//!
//! The header and slots are declared in `shm.rs`, with every other layout in shared memory (the
//! crate's one place of `unsafe` code, which views them); the futex calls are `futex.rs`'s. This
//! file holds the algorithm, and its tests.

use std::sync::atomic::Ordering;

use shootout_suite::Failure;
use shootout_suite::pipeline::Item;

use crate::futex::{futex_wait, futex_wake};
use crate::shm::{RingHeader, RingSlot, SharedMemory};

/// The sequence number of the item that tells a consumer to stop.
pub(crate) const PILL: u64 = u64::MAX;

/// How many times a waiter checks its turn before it sleeps in the kernel.
const SPINS: u32 = 64;

/// A view of a ring laid out in shared memory (the layout is in [`crate::shm`]).
pub(crate) struct Ring<'a> {
    header: &'a RingHeader,
    slots: &'a [RingSlot],
}

impl<'a> Ring<'a> {
    /// The bytes of shared memory a ring of `capacity` items needs.
    pub(crate) fn bytes_for(capacity: usize) -> usize {
        size_of::<RingHeader>() + capacity * size_of::<RingSlot>()
    }

    /// Lays out an empty ring of `capacity` items in `mem`, which must be freshly created
    /// (zero-filled) and not yet shared.
    pub(crate) fn create(mem: &'a SharedMemory, capacity: usize) -> Result<Ring<'a>, Failure> {
        Ring::create_at(mem, capacity, 0)
    }

    /// Lays out an empty ring whose first ticket is `first` (tests start near the 2^32 wrap).
    fn create_at(mem: &'a SharedMemory, capacity: usize, first: u64) -> Result<Ring<'a>, Failure> {
        let cap = u32::try_from(capacity)
            .ok()
            .filter(|&c| c > 0)
            .ok_or_else(|| Failure::new(format!("a ring of {capacity} slots")))?;
        if mem.len() < Ring::bytes_for(capacity) {
            return Err(Failure::new("the shared memory is too small for the ring"));
        }
        let ring = view(mem, capacity);
        ring.header.capacity.store(cap, Ordering::Relaxed);
        ring.header.tail.0.store(first, Ordering::Relaxed);
        ring.header.head.0.store(first, Ordering::Relaxed);
        for (s, slot) in ring.slots.iter().enumerate() {
            // The lap of the first ticket at or after `first` that lands on slot `s`.
            let cap = capacity as u64;
            let lap = first / cap + u64::from((s as u64) < first % cap);
            slot.turn.store(producer_turn(lap), Ordering::Relaxed);
        }
        Ok(ring)
    }

    /// Views the ring that another process laid out in `mem`.
    pub(crate) fn attach(mem: &'a SharedMemory) -> Result<Ring<'a>, Failure> {
        if mem.len() < size_of::<RingHeader>() {
            return Err(Failure::new("the shared memory is too small for a ring"));
        }
        let capacity = view(mem, 0).header.capacity.load(Ordering::Relaxed) as usize;
        if capacity == 0 || mem.len() < Ring::bytes_for(capacity) {
            return Err(Failure::new("the shared memory holds no ring"));
        }
        Ok(view(mem, capacity))
    }

    /// Starts a repetition with `producers` producers (while nobody uses the ring).
    pub(crate) fn begin(&self, producers: usize) {
        let producers = u32::try_from(producers).expect("fewer than 2^32 producers");
        self.header
            .producers_left
            .0
            .store(producers, Ordering::SeqCst);
    }

    /// Records that a producer has pushed all its items; true for the last one, which must
    /// then push one [`PILL`] per consumer.
    pub(crate) fn producer_done(&self) -> bool {
        self.header.producers_left.0.fetch_sub(1, Ordering::AcqRel) == 1
    }

    /// Adds `item`, waiting while the ring is full.
    pub(crate) fn push(&self, item: Item) {
        let ticket = self.header.tail.0.fetch_add(1, Ordering::Relaxed);
        let (slot, lap) = self.slot(ticket);
        slot.wait_for(producer_turn(lap));
        slot.seq.store(item.seq, Ordering::Relaxed);
        slot.born_ns.store(item.born_ns, Ordering::Relaxed);
        slot.work.store(item.work, Ordering::Relaxed);
        slot.hand_over(consumer_turn(lap));
    }

    /// Takes the oldest item, waiting while the ring is empty.
    pub(crate) fn pop(&self) -> Item {
        let ticket = self.header.head.0.fetch_add(1, Ordering::Relaxed);
        let (slot, lap) = self.slot(ticket);
        slot.wait_for(consumer_turn(lap));
        let item = Item {
            seq: slot.seq.load(Ordering::Relaxed),
            work: slot.work.load(Ordering::Relaxed),
            born_ns: slot.born_ns.load(Ordering::Relaxed),
        };
        slot.hand_over(producer_turn(lap + 1));
        item
    }

    /// The slot of `ticket`, and its lap.
    fn slot(&self, ticket: u64) -> (&RingSlot, u64) {
        let capacity = self.slots.len() as u64;
        (&self.slots[(ticket % capacity) as usize], ticket / capacity)
    }
}

/// The turn at which lap `lap`'s producer may write its slot (the low 32 bits).
fn producer_turn(lap: u64) -> u32 {
    lap.wrapping_mul(2) as u32
}

/// The turn at which lap `lap`'s consumer may read its slot.
fn consumer_turn(lap: u64) -> u32 {
    lap.wrapping_mul(2).wrapping_add(1) as u32
}

impl RingSlot {
    /// Returns once the slot's turn is `turn`: spinning a little, then sleeping on the futex.
    fn wait_for(&self, turn: u32) {
        for _ in 0..SPINS {
            if self.turn.load(Ordering::Acquire) == turn {
                return;
            }
            std::hint::spin_loop();
        }
        loop {
            // Announce the sleeper before the last look, so that a `hand_over` after that look
            // sees it (both sides use SeqCst, so one of them sees the other's store).
            self.waiters.fetch_add(1, Ordering::SeqCst);
            let seen = self.turn.load(Ordering::SeqCst);
            if seen != turn {
                // Sleeps only if the word still holds `seen`; any wake-up or signal returns,
                // and the loop looks again.
                futex_wait(&self.turn, seen, None);
            }
            self.waiters.fetch_sub(1, Ordering::SeqCst);
            if self.turn.load(Ordering::Acquire) == turn {
                return;
            }
        }
    }

    /// Passes the slot to whoever's turn `turn` is, waking the sleepers if there are any.
    fn hand_over(&self, turn: u32) {
        self.turn.store(turn, Ordering::SeqCst);
        if self.waiters.load(Ordering::SeqCst) > 0 {
            // A producer and a consumer of different laps may sleep on the same slot: wake all,
            // and each looks again at whose turn it is.
            futex_wake(&self.turn, i32::MAX as u32);
        }
    }
}

/// The ring in `mem`, with `capacity` slots after the header.
fn view(mem: &SharedMemory, capacity: usize) -> Ring<'_> {
    assert!(
        mem.len() >= Ring::bytes_for(capacity),
        "the mapping holds the ring"
    );
    let (header, slots) = mem.view::<RingHeader, RingSlot>();
    Ring {
        header,
        slots: &slots[..capacity],
    }
}

#[cfg(test)]
mod tests {
    use std::thread;

    use shootout_suite::pipeline::produced_by;

    use super::*;

    fn item(seq: u64) -> Item {
        Item {
            seq,
            work: seq as u32,
            born_ns: seq.wrapping_mul(3),
        }
    }

    #[test]
    fn the_layout_is_as_documented() {
        assert_eq!(size_of::<RingSlot>(), 32);
        assert_eq!(size_of::<RingHeader>() % 64, 0);
        assert_eq!(Ring::bytes_for(2), size_of::<RingHeader>() + 64);
    }

    #[test]
    fn one_thread_gets_its_items_back_in_order() {
        let mem = SharedMemory::create("test", Ring::bytes_for(3)).unwrap();
        let ring = Ring::create(&mem, 3).unwrap();
        for round in 0..4 {
            for seq in 0..3 {
                ring.push(item(round * 10 + seq));
            }
            for seq in 0..3 {
                assert_eq!(ring.pop(), item(round * 10 + seq));
            }
        }
    }

    #[test]
    fn attach_sees_the_ring_another_mapping_created() {
        let mem = SharedMemory::create("test", Ring::bytes_for(5)).unwrap();
        let ring = Ring::create(&mem, 5).unwrap();
        let other = SharedMemory::open(mem.fd().try_clone_to_owned().unwrap()).unwrap();
        let attached = Ring::attach(&other).unwrap();
        assert_eq!(attached.slots.len(), 5);
        ring.push(item(7));
        assert_eq!(attached.pop(), item(7));
        let empty = SharedMemory::create("test", 4096).unwrap();
        assert!(Ring::attach(&empty).is_err(), "zeroes are not a ring");
        assert!(Ring::create(&empty, 0).is_err());
        assert!(Ring::create(&empty, 1 << 20).is_err(), "too small");
    }

    /// `producers` threads push `items` items through a ring of `capacity` starting at ticket
    /// `first`; `consumers` threads pop until their pill, through a second mapping of the same
    /// memory (as another process would). Every item must arrive exactly once.
    fn stress(producers: usize, consumers: usize, capacity: usize, items: u64, first: u64) {
        let mem = SharedMemory::create("test", Ring::bytes_for(capacity)).unwrap();
        let ring = Ring::create_at(&mem, capacity, first).unwrap();
        let other = SharedMemory::open(mem.fd().try_clone_to_owned().unwrap()).unwrap();
        let far = Ring::attach(&other).unwrap();
        for _repetition in 0..2 {
            ring.begin(producers);
            let mut seen: Vec<u64> = thread::scope(|s| {
                let takers: Vec<_> = (0..consumers)
                    .map(|_| {
                        s.spawn(|| {
                            let mut got = Vec::new();
                            loop {
                                let it = far.pop();
                                if it.seq == PILL {
                                    return got;
                                }
                                assert_eq!(it, item(it.seq), "an item arrives intact");
                                got.push(it.seq);
                            }
                        })
                    })
                    .collect();
                for p in 0..producers {
                    let ring = &ring;
                    s.spawn(move || {
                        for seq in produced_by(p, producers, items) {
                            ring.push(item(seq));
                        }
                        if ring.producer_done() {
                            for _ in 0..consumers {
                                ring.push(item(PILL));
                            }
                        }
                    });
                }
                takers.into_iter().flat_map(|t| t.join().unwrap()).collect()
            });
            seen.sort_unstable();
            assert_eq!(
                seen,
                (0..items).collect::<Vec<_>>(),
                "{producers}x{consumers}, capacity {capacity}: every item exactly once"
            );
        }
    }

    #[test]
    fn stress_many_producers_and_consumers() {
        stress(3, 3, 1, 20_000, 0);
        stress(3, 2, 3, 20_000, 0);
        stress(2, 4, 64, 50_000, 0);
        stress(1, 1, 2, 10_000, 0);
    }

    #[test]
    fn stress_across_the_turn_wrap_around() {
        // Laps cross 2^31, where the 32-bit turn words (twice the lap) wrap.
        for capacity in [1, 3, 7] {
            let first = ((1u64 << 31) - 700) * capacity as u64 + 1;
            stress(2, 2, capacity, 5_000, first);
        }
    }
}
