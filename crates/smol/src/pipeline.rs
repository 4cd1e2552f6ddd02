//! The bounded pipeline on smol: producer and consumer tasks around an `async-channel`.
//!
//! [`async_channel::bounded`] is smol's channel, and the one most async code outside tokio
//! uses: multi-producer and multi-consumer, so every consumer owns a clone of the receiver and
//! they wait on the queue together, as with crossbeam. The difference from a blocking channel is
//! what waiting costs: a producer that finds the queue full, or a consumer that finds it
//! empty, is a task that suspends (its future returns `Pending` and the thread runs another
//! task) instead of a thread that parks. A hand-off between two tasks on the same executor
//! thread is a function call away; only when the other side sleeps on another thread does it
//! cost a thread wake-up.
//!
//! Each repetition spawns P producer tasks and C consumer tasks on the runtime's N threads
//! (`workers`, whatever P and C are). Producer `p` sends the items `produced_by(p, P, items)`;
//! each consumer receives until the channel is closed and empty, does the item's work with
//! `Consumed::take` and keeps its own [`Consumed`]; the consumers' tallies are merged when they
//! are awaited. The channel closes when the last sender is dropped, which is when the last
//! producer task ends.
//!
//! The per-item work runs inside the consumer task, on an executor thread: it is a few hundred
//! nanoseconds of hashing per item at most, the kind of short CPU work a task may do between
//! awaits without holding its thread from anyone for long.

use std::time::Instant;

use async_executor::{StaticExecutor, Task};
use shootout_suite::pipeline::{Consumed, Item, produced_by};
use shootout_suite::task::Bounded;
use shootout_suite::{Answer, Outcome};

/// `async-channel`: an `async_channel::bounded(capacity)` between P producer and C consumer
/// tasks on `ex`, every consumer with its own receiver.
pub async fn async_channel(ex: &'static StaticExecutor, p: Bounded) -> Outcome {
    let epoch = Instant::now();
    let (tx, rx) = async_channel::bounded(p.capacity.max(1));
    let consumers: Vec<Task<Consumed>> = (0..p.consumers)
        .map(|_| {
            let rx = rx.clone();
            ex.spawn(async move {
                let mut consumed = Consumed::default();
                // Ends when every sender is dropped and the queue is empty.
                while let Ok(item) = rx.recv().await {
                    consumed.take(item, epoch);
                }
                consumed
            })
        })
        .collect();
    drop(rx);
    let producers: Vec<Task<()>> = (0..p.producers)
        .map(|producer| {
            let tx = tx.clone();
            ex.spawn(async move {
                for seq in produced_by(producer, p.producers, p.items) {
                    if tx.send(Item::new(seq, p.work, epoch)).await.is_err() {
                        break; // Every consumer is gone; only a panic does that.
                    }
                }
            })
        })
        .collect();
    drop(tx); // The channel closes when the last producer's sender is dropped.
    for producer in producers {
        producer.await;
    }
    let mut consumed = Consumed::default();
    for consumer in consumers {
        consumed.merge(consumer.await);
    }
    Outcome::with_latencies(Answer::Tally(consumed.tally), consumed.latencies_ns)
}
