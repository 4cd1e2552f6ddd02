//! The bounded pipeline on tokio: P producer tasks, a bounded channel, and C consumer tasks –
//! through tokio's own `mpsc`, whose one receiver the consumers share, or through
//! `async-channel`, which gives every consumer a receiver of its own.
//!
//! Each repetition spawns P + C tasks on the runtime: producer `p` sends the items
//! `produced_by(p, P, items)`, and each consumer takes items until the channel is closed and
//! empty, doing the item's work with [`Consumed::take`] and keeping its own [`Consumed`]. The
//! consumers' tallies are merged once they are joined. The channel is bounded, so a producer's
//! `send(..).await` parks the producer task while the channel is full. That back-pressure, and
//! what waking the other side costs, is what the task measures. A parked task frees its worker
//! for another task; it does not hold a thread the way a blocked `send` does.
//!
//! # Which channel
//!
//! [`tokio::sync::mpsc::channel`] is multi-producer, *single*-consumer: there is one
//! `Receiver`, and `recv` takes it by `&mut`. That is the shape of most tokio programs – many
//! tasks send to one task that owns a resource (an actor) – and for it `mpsc` is the channel
//! to choose. Several consumers can only share it the way tokio users do, as
//! `Arc<tokio::sync::Mutex<Receiver>>`. The mutex is tokio's async one, because its guard is
//! held across `recv().await`: a `std::sync::MutexGuard` held across an `.await` would block the
//! worker while another task waits for the lock, and makes the future `!Send` anyway. The cost
//! is the one the threads backend's `std-mpsc` pays: the consumer holding the lock waits in
//! `recv` while the others wait for the lock, so consumers take turns at the queue, and a
//! hand-off may wake two tasks (the lock's next waiter and the channel's). The work runs
//! outside the lock.
//!
//! For a work queue with several consumers, tokio's tutorial sends its readers elsewhere: "If
//! you need a multi-producer multi-consumer channel where only one consumer sees each message,
//! you can use the async-channel crate." [`async_channel::bounded`] is that channel (smol's,
//! and runtime-agnostic: its wakers are plain `Waker`s, which tokio's tasks provide). Every
//! consumer owns a clone of the receiver and they all wait on the queue itself, so there is no
//! second queue in front of it. One difference is tokio's own: its `mpsc` and `Mutex` take
//! part in the cooperative budget (a task that has done 128 operations on them is made to
//! yield), and `async-channel` does not. A consumer that always finds an item waiting never
//! yields through the channel: it holds its worker until the queue runs empty, and the tasks
//! queued behind it wait for another worker to steal them. That is part of what the variant
//! measures.
//!
//! The per-item work is done in the consumer task, on a worker, exactly as the threads backend
//! does it: `work` rounds of hashing are well under a microsecond per item at the profiles'
//! settings, far less than tokio's guideline for time between `.await`s.
//!
//! # The variants
//!
//! - `mpsc`: tokio's `mpsc`, the tasks on the N-worker runtime. Items cross between workers,
//!   and a hand-off to a parked worker is a thread wake-up, as with threads.
//! - `async-channel`: `async_channel::bounded`, the tasks on the same N-worker runtime, every
//!   consumer with its own receiver: the multi-consumer channel tokio points to.
//! - `async-channel-batched` (restructured): `async-channel` carrying `Vec` batches of up to
//!   128 items, the batch the processes' pipe and socket write per system call.
//! - `current-thread`: the `mpsc` tasks on a current-thread runtime. Every hand-off is a task
//!   switch on one thread, so nothing ever waits for another core, and the consumers' work is
//!   never done in parallel.

use std::future::Future;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Instant;

use shootout_suite::pipeline::{Consumed, Item, batches_of, batching, produced_by};
use shootout_suite::task::Bounded;
use shootout_suite::{Cell, Failure, Outcome, Runner, Task, runner};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use crate::runtime::{current_thread_runtime, joined, per_core, runtime, tasks_on};

/// `mpsc` (and `current-thread`): a `tokio::sync::mpsc::channel(capacity)` between producer and
/// consumer tasks, the consumers sharing its receiver through an async `Mutex`.
pub async fn mpsc(p: Bounded) -> Outcome {
    let epoch = Instant::now();
    let (tx, rx) = tokio::sync::mpsc::channel(p.capacity.max(1));
    let rx = Arc::new(Mutex::new(rx));
    let consumers: Vec<JoinHandle<Consumed>> = (0..p.consumers)
        .map(|_| {
            let rx = Arc::clone(&rx);
            tokio::spawn(async move {
                let mut consumed = Consumed::default();
                loop {
                    // The guard is a temporary of this statement: the lock is held while
                    // waiting in `recv` and released before the work.
                    let next = rx.lock().await.recv().await;
                    let Some(item) = next else { break };
                    consumed.take(item, epoch);
                }
                consumed
            })
        })
        .collect();
    // The channel closes when the last producer's sender is dropped.
    let producers = spawn_producers(p, epoch, tx);
    collect(producers, consumers).await
}

/// `async-channel`: an `async_channel::bounded(capacity)` between producer and consumer tasks,
/// every consumer with its own clone of the receiver.
pub async fn async_channel(p: Bounded) -> Outcome {
    let epoch = Instant::now();
    let (tx, rx) = async_channel::bounded(p.capacity.max(1));
    let consumers: Vec<JoinHandle<Consumed>> = (0..p.consumers)
        .map(|_| {
            let rx = rx.clone();
            tokio::spawn(async move {
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
    // The channel closes when the last producer's sender is dropped.
    let producers = spawn_producers(p, epoch, tx);
    collect(producers, consumers).await
}

/// `async-channel-batched`: the channel of [`async_channel()`] carrying `Vec`s of up to
/// [`BATCH_ITEMS`](shootout_suite::pipeline::BATCH_ITEMS) items, as many batches as hold
/// `capacity` items ([`batching`]): one hand-off, and at most one wake-up, per batch – the
/// batching the processes' pipe and socket do per system call. A producer's last, partial batch
/// is sent when it ends.
pub async fn async_channel_batched(p: Bounded) -> Outcome {
    let epoch = Instant::now();
    let (batch, batches) = batching(p.capacity);
    let (tx, rx) = async_channel::bounded::<Vec<Item>>(batches);
    let consumers: Vec<JoinHandle<Consumed>> = (0..p.consumers)
        .map(|_| {
            let rx = rx.clone();
            tokio::spawn(async move {
                let mut consumed = Consumed::default();
                while let Ok(items) = rx.recv().await {
                    items
                        .into_iter()
                        .for_each(|item| consumed.take(item, epoch));
                }
                consumed
            })
        })
        .collect();
    drop(rx);
    let producers = (0..p.producers)
        .map(|producer| {
            let tx = tx.clone();
            tokio::spawn(async move {
                for items in batches_of(producer, p.producers, p.items, p.work, batch, epoch) {
                    if tx.send(items).await.is_err() {
                        break; // Every consumer is gone; only a panic does that.
                    }
                }
            })
        })
        .collect();
    drop(tx);
    collect(producers, consumers).await
}

/// The sending side of a channel, as a producer uses it.
trait Sender: Clone + Send + 'static {
    /// Sends `item`, waiting while the channel is full; `false` once every receiver is gone.
    fn put(&self, item: Item) -> impl Future<Output = bool> + Send;
}

impl Sender for tokio::sync::mpsc::Sender<Item> {
    async fn put(&self, item: Item) -> bool {
        self.send(item).await.is_ok()
    }
}

impl Sender for async_channel::Sender<Item> {
    async fn put(&self, item: Item) -> bool {
        self.send(item).await.is_ok()
    }
}

/// Spawns the P producer tasks, each with a clone of `tx` (dropped when it is done, as `tx`
/// itself is on return): producer `p` sends its items until they are all sent or every
/// consumer is gone.
fn spawn_producers(p: Bounded, epoch: Instant, tx: impl Sender) -> Vec<JoinHandle<()>> {
    (0..p.producers)
        .map(|producer| {
            let tx = tx.clone();
            tokio::spawn(async move {
                for seq in produced_by(producer, p.producers, p.items) {
                    if !tx.put(Item::new(seq, p.work, epoch)).await {
                        break; // Every consumer is gone; only a panic does that.
                    }
                }
            })
        })
        .collect()
}

/// Joins the producers, then the consumers, and merges what the consumers kept.
async fn collect(producers: Vec<JoinHandle<()>>, consumers: Vec<JoinHandle<Consumed>>) -> Outcome {
    for producer in producers {
        joined(producer.await);
    }
    let mut all = Consumed::default();
    for consumer in consumers {
        all.merge(joined(consumer.await));
    }
    all.into_outcome()
}

/// Sets up `mpsc`: [`mpsc`] on a W-worker runtime.
pub fn setup_mpsc(cell: &Cell) -> Result<Runner, Failure> {
    let p = bounded(cell)?;
    tasks_on(runtime(cell.workers)?, move |_| mpsc(p))
}

/// Sets up `async-channel`: [`async_channel()`] on a W-worker runtime.
pub fn setup_async_channel(cell: &Cell) -> Result<Runner, Failure> {
    let p = bounded(cell)?;
    tasks_on(runtime(cell.workers)?, move |_| async_channel(p))
}

/// Sets up `async-channel-batched`: [`async_channel_batched`] on a W-worker runtime.
pub fn setup_async_channel_batched(cell: &Cell) -> Result<Runner, Failure> {
    let p = bounded(cell)?;
    tasks_on(runtime(cell.workers)?, move |_| async_channel_batched(p))
}

/// Sets up `current-thread`: [`mpsc`] on a current-thread runtime.
pub fn setup_current_thread(cell: &Cell) -> Result<Runner, Failure> {
    let p = bounded(cell)?;
    tasks_on(current_thread_runtime()?, move |_| mpsc(p))
}

/// Sets up `per-core`: P + C current-thread runtimes, one per core, the first P each running
/// one producer and the rest one consumer, joined by one `async_channel::bounded(capacity)`:
/// every item crosses from a producer's core to a consumer's, as thread per core would have it.
pub fn setup_per_core(cell: &Cell) -> Result<Runner, Failure> {
    let p = bounded(cell)?;
    let cores = per_core(p.producers + p.consumers, |_, _| Ok(()))?;
    runner(move |_| {
        let epoch = Instant::now();
        let (tx, rx) = async_channel::bounded(p.capacity.max(1));
        // Each core takes its end out of its slot, so that the channel closes when the last
        // producer's job ends, not when this closure is dropped.
        let ends: Arc<Vec<StdMutex<Option<End>>>> = Arc::new(
            (0..p.producers + p.consumers)
                .map(|i| match i < p.producers {
                    true => Some(End::Producer(tx.clone())),
                    false => Some(End::Consumer(rx.clone())),
                })
                .map(StdMutex::new)
                .collect(),
        );
        drop((tx, rx));
        let parts = cores.each(move |i, core| {
            let end = ends[i].lock().map(|mut slot| slot.take()).ok().flatten();
            match end.expect("each core takes its own end once") {
                End::Producer(tx) => core.runtime.block_on(async move {
                    for seq in produced_by(i, p.producers, p.items) {
                        if tx.send(Item::new(seq, p.work, epoch)).await.is_err() {
                            break; // Every consumer is gone; only a panic does that.
                        }
                    }
                    None
                }),
                End::Consumer(rx) => core.runtime.block_on(async move {
                    let mut consumed = Consumed::default();
                    while let Ok(item) = rx.recv().await {
                        consumed.take(item, epoch);
                    }
                    Some(consumed)
                }),
            }
        });
        let mut all = Consumed::default();
        parts.into_iter().flatten().for_each(|part| all.merge(part));
        Ok(all.into_outcome())
    })
}

/// A per-core pipeline's end of the channel: what one core runs.
enum End {
    Producer(async_channel::Sender<Item>),
    Consumer(async_channel::Receiver<Item>),
}

/// The cell's pipeline, refused when a side has no task.
fn bounded(cell: &Cell) -> Result<Bounded, Failure> {
    match cell.task {
        Task::Bounded(p) if p.producers == 0 || p.consumers == 0 => Err(Failure::new(
            "bounded: producers and consumers must each be at least 1",
        )),
        Task::Bounded(p) => Ok(p),
        _ => Err(cell.unsupported()),
    }
}
