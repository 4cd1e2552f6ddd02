//! The bounded pipeline: producer and consumer tasks around an async-channel.
//!
//! async-channel is the channel of the smol family and the one most async code outside tokio
//! uses (`async_std::channel` is async-channel too, of the 1.x line where smol uses 2.x, the
//! same design; [`Channel`] names each backend's). It is multi-producer and multi-consumer, so
//! every consumer owns a clone of the receiver and they wait on the queue together, as with
//! crossbeam. The difference from a blocking channel is what waiting costs: a producer that
//! finds the queue full, or a consumer that finds it empty, is a task that suspends (its future
//! returns `Pending` and the thread runs another task) instead of a thread that parks. A
//! hand-off between two tasks on the same executor thread is a function call away; only when
//! the other side sleeps on another thread does it cost a thread wake-up.
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

use std::future::Future;
use std::time::Instant;

use shootout_suite::pipeline::{Consumed, Item, batches_of, batching, produced_by};
use shootout_suite::task::Bounded;
use shootout_suite::{Cell, Failure, Outcome, Runner};

use crate::runtime::{Runtime, Spawn, tasks_on};

/// The runtime's bounded multi-producer, multi-consumer channel, of items or of batches.
pub trait Channel: Spawn {
    /// The sending side, cloned per producer.
    type Sender<T: Send + 'static>: Clone + Send + 'static;
    /// The receiving side, cloned per consumer.
    type Receiver<T: Send + 'static>: Clone + Send + 'static;

    /// A channel that holds at most `capacity` messages.
    fn bounded<T: Send + 'static>(capacity: usize) -> (Self::Sender<T>, Self::Receiver<T>);

    /// Sends `message`, waiting while the channel is full; `false` once every receiver is gone.
    fn send<T: Send + 'static>(
        tx: &Self::Sender<T>,
        message: T,
    ) -> impl Future<Output = bool> + Send + '_;

    /// The next message, waiting while the channel is empty; `None` once it is closed and
    /// empty.
    fn recv<T: Send + 'static>(
        rx: &Self::Receiver<T>,
    ) -> impl Future<Output = Option<T>> + Send + '_;
}

/// `async-channel`: a bounded channel of `capacity` between P producer and C consumer tasks
/// spawned with `s`, every consumer with its own receiver.
pub async fn async_channel<C: Channel>(s: C, p: Bounded) -> Outcome {
    let epoch = Instant::now();
    let (tx, rx) = C::bounded(p.capacity.max(1));
    let consumers: Vec<C::Task<Consumed>> = (0..p.consumers)
        .map(|_| {
            let rx = rx.clone();
            s.spawn(async move {
                let mut consumed = Consumed::default();
                // Ends when every sender is dropped and the queue is empty.
                while let Some(item) = C::recv(&rx).await {
                    consumed.take(item, epoch);
                }
                consumed
            })
        })
        .collect();
    drop(rx);
    let producers: Vec<C::Task<()>> = (0..p.producers)
        .map(|producer| {
            let tx = tx.clone();
            s.spawn(async move {
                for seq in produced_by(producer, p.producers, p.items) {
                    if !C::send(&tx, Item::new(seq, p.work, epoch)).await {
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
    consumed.into_outcome()
}

/// `async-channel-batched`: the channel of [`async_channel`] carrying `Vec`s of up to
/// [`BATCH_ITEMS`](shootout_suite::pipeline::BATCH_ITEMS) items, as many batches as hold
/// `capacity` items ([`batching`]): one hand-off, and at most one wake-up, per batch – the
/// batching the processes' pipe and socket do per system call. A producer's last, partial batch
/// is sent when it ends.
pub async fn async_channel_batched<C: Channel>(s: C, p: Bounded) -> Outcome {
    let epoch = Instant::now();
    let (batch, batches) = batching(p.capacity);
    let (tx, rx) = C::bounded::<Vec<Item>>(batches);
    let consumers: Vec<C::Task<Consumed>> = (0..p.consumers)
        .map(|_| {
            let rx = rx.clone();
            s.spawn(async move {
                let mut consumed = Consumed::default();
                while let Some(items) = C::recv(&rx).await {
                    items
                        .into_iter()
                        .for_each(|item| consumed.take(item, epoch));
                }
                consumed
            })
        })
        .collect();
    drop(rx);
    let producers: Vec<C::Task<()>> = (0..p.producers)
        .map(|producer| {
            let tx = tx.clone();
            s.spawn(async move {
                for items in batches_of(producer, p.producers, p.items, p.work, batch, epoch) {
                    if !C::send(&tx, items).await {
                        break; // Every consumer is gone; only a panic does that.
                    }
                }
            })
        })
        .collect();
    drop(tx);
    for producer in producers {
        producer.await;
    }
    let mut consumed = Consumed::default();
    for consumer in consumers {
        consumed.merge(consumer.await);
    }
    consumed.into_outcome()
}

/// `async-channel`: [`async_channel`] as one task of `R`'s N threads per repetition.
pub fn setup_async_channel<R: Runtime>(cell: &Cell) -> Result<Runner, Failure>
where
    R::Spawner: Channel,
{
    let p: Bounded = cell.params()?;
    tasks_on(R::start(cell.workers)?, move |s, _| async_channel(s, p))
}

/// `async-channel-batched`: [`async_channel_batched`] as one task of `R`'s N threads per
/// repetition.
pub fn setup_async_channel_batched<R: Runtime>(cell: &Cell) -> Result<Runner, Failure>
where
    R::Spawner: Channel,
{
    let p: Bounded = cell.params()?;
    tasks_on(R::start(cell.workers)?, move |s, _| {
        async_channel_batched(s, p)
    })
}
