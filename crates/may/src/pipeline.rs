//! The bounded pipeline on may: P producer and C consumer coroutines around one of may's
//! channels, bounded with a semaphore.
//!
//! may's channels (`may::sync::{mpsc, mpmc, spsc}`) are all unbounded: a send never blocks.
//! The task needs a bounded queue, whose back-pressure on fast producers is what it measures,
//! so `mpmc` here carries the items and a [`Semphore`] of `capacity` permits bounds it: a
//! producer takes a permit before each send, a consumer gives one back after each receive. That
//! is how a may program bounds a channel; the permit is one more atomic and, when the queue is
//! full or empty, one more park and wake-up, which the numbers include.
//!
//! `mpmc` is multi-consumer: every consumer owns a clone of the receiver and they wait on the
//! queue together. The queue is closed by a marker per consumer (`None`), sent by the caller
//! once every producer has been joined, rather than by dropping the last sender: may's `mpmc`
//! wakes one waiting receiver when its last sender goes, and the markers wake each. The
//! markers take no permit, so the queue holds at most `capacity` items and C markers.
//!
//! Producers and consumers are P + C coroutines on W = P + C workers (the task fixes W).
//! Producer `p` sends the items `produced_by(p, P, items)`; each consumer does each item's work
//! and keeps its own [`Consumed`]; the consumers' tallies are merged after the join.

use std::time::Instant;

use may::sync::{Semphore, mpmc};
use shootout_suite::pipeline::{Consumed, Item, produced_by};
use shootout_suite::task::Bounded;
use shootout_suite::{Cell, Failure, Outcome, Runner};

use crate::coroutine;
use crate::runtime;

/// `mpmc-semphore`: an `mpmc` channel of items bounded by a `Semphore` of `capacity` permits.
pub fn mpmc_semphore(p: Bounded) -> Outcome {
    let epoch = Instant::now();
    let (tx, rx) = mpmc::channel::<Option<Item>>();
    let slots = Semphore::new(p.capacity);
    let slots = &slots;
    let consumers = (0..p.consumers).map(|_| {
        let rx = rx.clone();
        Box::new(move || {
            let mut consumed = Consumed::default();
            // Ends at this consumer's marker (or a closed channel: only a panic does that).
            while let Ok(Some(item)) = rx.recv() {
                slots.post();
                consumed.take(item, epoch);
            }
            consumed
        }) as Party<'_>
    });
    // The producers are joined by one more coroutine, which then closes the queue: it is
    // parked in that join while they run, and holds no worker.
    let producers: Party<'_> = Box::new(move || {
        coroutine::all((0..p.producers).map(|producer| {
            let tx = tx.clone();
            move || {
                for seq in produced_by(producer, p.producers, p.items) {
                    slots.wait();
                    if tx.send(Some(Item::new(seq, p.work, epoch))).is_err() {
                        break; // Every consumer is gone; only a panic does that.
                    }
                }
            }
        }));
        for _ in 0..p.consumers {
            let _ = tx.send(None);
        }
        Consumed::default()
    });
    let consumed: Vec<Consumed> = coroutine::all(consumers.chain([producers]));
    consumed.into_iter().collect::<Consumed>().into_outcome()
}

/// A consumer, or the producers' coordinator: each reports what it consumed.
type Party<'a> = Box<dyn FnOnce() -> Consumed + Send + 'a>;

/// Sets up `mpmc-semphore`: nothing to build; every repetition spawns its coroutines.
pub fn setup_mpmc_semphore(cell: &Cell) -> Result<Runner, Failure> {
    let p: Bounded = cell.params()?;
    runtime::runner(cell, move |_| Ok(mpmc_semphore(p)))
}
