//! The bounded pipeline on OS threads: three ways to put a bounded queue between P producer and
//! C consumer threads.
//!
//! Each repetition starts P + C scoped threads (whatever `workers` says): producer `p` sends the
//! items `produced_by(p, P, items)`, each consumer takes items until the queue is closed and
//! empty, doing the item's work and keeping its own [`Consumed`]; the consumers' tallies are
//! merged after the join. The queue is bounded, so fast producers block when it is full: that
//! back-pressure, and the wake-ups it costs, is what the task measures.
//!
//! - `std-mpsc`: [`std::sync::mpsc::sync_channel`] is multi-producer, single-consumer. The std
//!   idiom for several consumers (the Rust book's thread pool) shares the one `Receiver` behind
//!   a `Mutex`. Its cost: a consumer holds the lock while it waits in `recv`, so consumers take
//!   turns at the queue and each hand-off may pass through two wake-ups (the channel's and the
//!   mutex's). The work itself runs outside the lock.
//! - `crossbeam`: [`crossbeam_channel::bounded`] is multi-producer, multi-consumer; every
//!   consumer owns a clone of the receiver and they wait on the queue together.
//! - `mutex-condvar`: the textbook monitor, what every channel is made of: a `VecDeque` under a
//!   `Mutex`, one `Condvar` for "not empty" (consumers wait on it) and one for "not full"
//!   (producers wait on it), and a count of producers still running so that consumers know when
//!   the queue is closed.

use std::collections::VecDeque;
use std::panic;
use std::sync::mpsc;
use std::sync::{Condvar, Mutex};
use std::thread::{self, ScopedJoinHandle};
use std::time::Instant;

use shootout_suite::pipeline::{Consumed, Item, produced_by};
use shootout_suite::task::Bounded;
use shootout_suite::{Answer, Outcome};

use crate::lock;

/// `std-mpsc`: a `sync_channel(capacity)`, the consumers sharing its receiver through a `Mutex`.
pub fn std_mpsc(p: Bounded) -> Outcome {
    let epoch = Instant::now();
    let (tx, rx) = mpsc::sync_channel(p.capacity);
    let rx = Mutex::new(rx);
    let consumed = thread::scope(|s| {
        let consumers: Vec<_> = (0..p.consumers)
            .map(|_| {
                s.spawn(|| {
                    let mut consumed = Consumed::default();
                    loop {
                        // The guard is a temporary of this statement: the lock is held while
                        // waiting in `recv` and released before the work. (In a `while let` it
                        // would live through the loop body and serialize the work too.)
                        let next = lock(&rx).recv();
                        let Ok(item) = next else { break };
                        consumed.take(item, epoch);
                    }
                    consumed
                })
            })
            .collect();
        for producer in 0..p.producers {
            let tx = tx.clone();
            s.spawn(move || {
                for seq in produced_by(producer, p.producers, p.items) {
                    if tx.send(Item::new(seq, p.work, epoch)).is_err() {
                        break; // Every consumer is gone; only a panic does that.
                    }
                }
            });
        }
        drop(tx); // The channel closes when the last producer's sender is dropped.
        consumers.into_iter().map(joined).collect()
    });
    outcome(consumed)
}

/// `crossbeam`: a `crossbeam_channel::bounded(capacity)`, every consumer with its own receiver.
pub fn crossbeam(p: Bounded) -> Outcome {
    let epoch = Instant::now();
    let (tx, rx) = crossbeam_channel::bounded(p.capacity);
    let consumed = thread::scope(|s| {
        let consumers: Vec<_> = (0..p.consumers)
            .map(|_| {
                let rx = rx.clone();
                s.spawn(move || {
                    let mut consumed = Consumed::default();
                    // Ends when every sender is dropped and the queue is empty.
                    for item in rx {
                        consumed.take(item, epoch);
                    }
                    consumed
                })
            })
            .collect();
        drop(rx);
        for producer in 0..p.producers {
            let tx = tx.clone();
            s.spawn(move || {
                for seq in produced_by(producer, p.producers, p.items) {
                    if tx.send(Item::new(seq, p.work, epoch)).is_err() {
                        break; // Every consumer is gone; only a panic does that.
                    }
                }
            });
        }
        drop(tx);
        consumers.into_iter().map(joined).collect()
    });
    outcome(consumed)
}

/// `mutex-condvar`: a [`Monitor`] of `capacity` items between the producers and consumers.
pub fn mutex_condvar(p: Bounded) -> Outcome {
    let epoch = Instant::now();
    let queue = Monitor::new(p.capacity, p.producers);
    let consumed = thread::scope(|s| {
        let consumers: Vec<_> = (0..p.consumers)
            .map(|_| {
                s.spawn(|| {
                    let mut consumed = Consumed::default();
                    while let Some(item) = queue.pop() {
                        consumed.take(item, epoch);
                    }
                    consumed
                })
            })
            .collect();
        for producer in 0..p.producers {
            let queue = &queue;
            s.spawn(move || {
                for seq in produced_by(producer, p.producers, p.items) {
                    queue.push(Item::new(seq, p.work, epoch));
                }
                queue.producer_done();
            });
        }
        consumers.into_iter().map(joined).collect()
    });
    outcome(consumed)
}

/// A bounded queue built as a monitor: the state under one `Mutex`, two `Condvar`s to wait on.
pub struct Monitor {
    state: Mutex<Queue>,
    capacity: usize,
    /// Consumers wait here for an item (or for the queue to close).
    not_empty: Condvar,
    /// Producers wait here for a free slot.
    not_full: Condvar,
}

struct Queue {
    items: VecDeque<Item>,
    producers_left: usize,
}

impl Monitor {
    /// An empty queue of `capacity` items, open until `producers` producers are done.
    pub fn new(capacity: usize, producers: usize) -> Self {
        Self {
            state: Mutex::new(Queue {
                items: VecDeque::with_capacity(capacity),
                producers_left: producers,
            }),
            capacity: capacity.max(1),
            not_empty: Condvar::new(),
            not_full: Condvar::new(),
        }
    }

    /// Adds an item, waiting while the queue is full.
    pub fn push(&self, item: Item) {
        let queue = lock(&self.state);
        let mut queue = self
            .not_full
            .wait_while(queue, |q| q.items.len() >= self.capacity)
            .unwrap_or_else(|e| e.into_inner());
        queue.items.push_back(item);
        // Unlock before waking a consumer, so that it does not wake only to block on the mutex.
        drop(queue);
        self.not_empty.notify_one();
    }

    /// Takes the oldest item, waiting while the queue is empty; `None` once it is empty and
    /// every producer is done.
    pub fn pop(&self) -> Option<Item> {
        let queue = lock(&self.state);
        let mut queue = self
            .not_empty
            .wait_while(queue, |q| q.items.is_empty() && q.producers_left > 0)
            .unwrap_or_else(|e| e.into_inner());
        let item = queue.items.pop_front();
        drop(queue);
        if item.is_some() {
            self.not_full.notify_one();
        }
        item
    }

    /// Records that one producer is done; the last one wakes every waiting consumer, which then
    /// drain the queue and stop.
    pub fn producer_done(&self) {
        let mut queue = lock(&self.state);
        queue.producers_left -= 1;
        let closed = queue.producers_left == 0;
        drop(queue);
        if closed {
            self.not_empty.notify_all();
        }
    }
}

/// Joins a consumer, passing on its panic if it had one.
fn joined<T>(handle: ScopedJoinHandle<'_, T>) -> T {
    handle.join().unwrap_or_else(|p| panic::resume_unwind(p))
}

fn outcome(consumed: Consumed) -> Outcome {
    Outcome::with_latencies(Answer::Tally(consumed.tally), consumed.latencies_ns)
}
