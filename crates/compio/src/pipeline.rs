//! The bounded pipeline, thread per core: producers on some cores, consumers on the others,
//! one bounded [`async_channel`] between them.
//!
//! The one thing in this backend that is shared on purpose: a queue has to cross cores to do
//! its job. `async_channel::bounded(capacity)` is runtime-agnostic (its wakers are plain
//! `Waker`s, and a compio runtime takes a wake-up from another thread through its own
//! cross-thread queue), multi-producer and multi-consumer, so every consumer owns a receiver
//! and waits on the queue itself.
//!
//! The harness runs this task at W = P + C, and then core `k` runs producer `k` for `k < P`
//! and consumer `k - P` after that: one party per core, every hand-off a wake-up across cores,
//! the back-pressure of a full queue a producer's core parked in its runtime. At any other W
//! (the tests run every W) party `t` of the P + C goes to core `t mod W`, and the parties that
//! share a core are futures of its one task. Producer `p` sends `produced_by(p, P, items)`; each
//! consumer takes items until the channel is closed and empty, doing the item's work with
//! [`Consumed::take`]; the consumers' tallies are merged once every core has answered. The
//! per-item work is done on the consumer's core, as in every backend.

use std::time::Instant;

use futures::future::join_all;
use shootout_suite::pipeline::{Consumed, Item, produced_by};
use shootout_suite::task::Bounded;
use shootout_suite::{Cell, Failure, Runner, Task};

use crate::runtime::{self, Parcels, noted};

/// What one party of the pipeline is given: a producer its index and a sender, a consumer a
/// receiver.
enum Party {
    Producer(usize, async_channel::Sender<Item>),
    Consumer(async_channel::Receiver<Item>),
}

impl Party {
    /// Runs the party on the calling core's runtime; a consumer returns what it consumed.
    async fn run(self, p: Bounded, epoch: Instant) -> Consumed {
        let mut consumed = Consumed::default();
        match self {
            Party::Producer(producer, tx) => {
                for seq in produced_by(producer, p.producers, p.items) {
                    if tx.send(Item::new(seq, p.work, epoch)).await.is_err() {
                        break; // Every consumer is gone; only a panic does that.
                    }
                }
            }
            Party::Consumer(rx) => {
                // Ends when every sender is dropped and the queue is empty.
                while let Ok(item) = rx.recv().await {
                    consumed.take(item, epoch);
                }
            }
        }
        consumed
    }
}

/// Sets up `async-channel`: W cores, the P + C parties dealt to them.
pub fn setup_async_channel(cell: &Cell) -> Result<Runner, Failure> {
    let p = bounded(cell)?;
    let (cores, driver) = runtime::start(cell.workers, |_, _| Ok(()))?;
    noted(driver, move |_| {
        let epoch = Instant::now();
        let (tx, rx) = async_channel::bounded(p.capacity.max(1));
        let mut parties: Vec<Vec<Party>> = (0..cores.len()).map(|_| Vec::new()).collect();
        for t in 0..p.producers + p.consumers {
            let party = if t < p.producers {
                Party::Producer(t, tx.clone())
            } else {
                Party::Consumer(rx.clone())
            };
            parties[t % cores.len()].push(party);
        }
        // Only the producers hold senders now: the channel closes when the last one is done.
        drop((tx, rx));
        // Each core takes its parties out of the parcels, so that no sender outlives its
        // producer (see `Parcels`).
        let parties = Parcels::new(parties);
        let consumed = cores.each(move |i, core| {
            let mine = parties.take(i).unwrap_or_default();
            core.rt
                .block_on(join_all(mine.into_iter().map(|party| party.run(p, epoch))))
        });
        let mut all = Consumed::default();
        consumed.into_iter().flatten().for_each(|c| all.merge(c));
        Ok(all.into_outcome())
    })
}

/// The cell's pipeline, refused when a side has no party.
fn bounded(cell: &Cell) -> Result<Bounded, Failure> {
    match cell.task {
        Task::Bounded(p) if p.producers == 0 || p.consumers == 0 => Err(Failure::new(
            "bounded: producers and consumers must each be at least 1",
        )),
        Task::Bounded(p) => Ok(p),
        _ => Err(cell.unsupported()),
    }
}
