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
//! - `crossbeam-batched` (restructured): the same channel carrying `Vec`s of up to
//!   [`BATCH_ITEMS`](shootout_suite::pipeline::BATCH_ITEMS) items, the batch the processes' pipe and socket write per system call, so
//!   that batching is compared with batching.
//! - `mutex-condvar`: the textbook monitor, what every channel is made of: a `VecDeque` under a
//!   `Mutex`, one `Condvar` for "not empty" (consumers wait on it) and one for "not full"
//!   (producers wait on it), and a count of producers still running so that consumers know when
//!   the queue is closed. The state also counts the threads waiting on each `Condvar`, and a
//!   push or pop signals only when somebody waits: std's futex `Condvar` makes a `futex_wake`
//!   system call on every `notify_one`, waiter or not, and a queue that is rarely empty or full
//!   would otherwise pay one per item for nothing.

use std::collections::VecDeque;
use std::sync::mpsc;
use std::sync::{Condvar, Mutex, PoisonError};
use std::thread::{self, Scope};
use std::time::Instant;

use shootout_suite::pipeline::{Consumed, Item, batches_of, batching, produced_by};
use shootout_suite::task::Bounded;
use shootout_suite::{Cell, Failure, Outcome, Runner};

use crate::plumbing::{each, joined, lock};

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
        // The channel closes when the last producer's sender is dropped.
        spawn_producers(s, p, epoch, tx, |tx, item| tx.send(item).is_ok());
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
        spawn_producers(s, p, epoch, tx, |tx, item| tx.send(item).is_ok());
        consumers.into_iter().map(joined).collect()
    });
    outcome(consumed)
}

/// `crossbeam-batched`: a `crossbeam_channel::bounded` of `Vec<Item>` batches of
/// [`BATCH_ITEMS`](shootout_suite::pipeline::BATCH_ITEMS) items, as many batches as hold `capacity` items ([`batching`]).
///
/// The usual remedy for a channel that costs more per item than the work: one hand-off, and at
/// most one wake-up, per batch instead of per item – what the processes' pipe and socket do
/// with one system call per batch. A producer's last, partial batch is sent when it ends.
pub fn crossbeam_batched(p: Bounded) -> Outcome {
    let epoch = Instant::now();
    let (batch, batches) = batching(p.capacity);
    let (tx, rx) = crossbeam_channel::bounded::<Vec<Item>>(batches);
    let consumed = thread::scope(|s| {
        let consumers: Vec<_> = (0..p.consumers)
            .map(|_| {
                let rx = rx.clone();
                s.spawn(move || {
                    let mut consumed = Consumed::default();
                    for items in rx {
                        items
                            .into_iter()
                            .for_each(|item| consumed.take(item, epoch));
                    }
                    consumed
                })
            })
            .collect();
        drop(rx);
        for producer in 0..p.producers {
            let tx = tx.clone();
            s.spawn(move || {
                for items in batches_of(producer, p.producers, p.items, p.work, batch, epoch) {
                    if tx.send(items).is_err() {
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
///
/// A thread that must wait counts itself in the state before it sleeps and uncounts itself when
/// it wakes, both under the lock, so the other side reads under the same lock whether anybody
/// waits and signals only then. No wake-up is lost: a waiter is counted before it releases the
/// lock, so whoever changes the state after that sees the count and signals. (A waiter that was
/// signalled but has not run yet still counts, so it may get a spare signal: harmless.) The
/// signal itself is sent after unlocking, so that the woken thread does not wake only to block
/// on the mutex.
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
    /// Consumers asleep on `not_empty`.
    waiting_consumers: usize,
    /// Producers asleep on `not_full`.
    waiting_producers: usize,
}

impl Monitor {
    /// An empty queue of `capacity` items, open until `producers` producers are done.
    pub fn new(capacity: usize, producers: usize) -> Self {
        Self {
            state: Mutex::new(Queue {
                items: VecDeque::with_capacity(capacity),
                producers_left: producers,
                waiting_consumers: 0,
                waiting_producers: 0,
            }),
            capacity: capacity.max(1),
            not_empty: Condvar::new(),
            not_full: Condvar::new(),
        }
    }

    /// Adds an item, waiting while the queue is full.
    pub fn push(&self, item: Item) {
        let mut queue = lock(&self.state);
        while queue.items.len() >= self.capacity {
            queue.waiting_producers += 1;
            queue = self
                .not_full
                .wait(queue)
                .unwrap_or_else(PoisonError::into_inner);
            queue.waiting_producers -= 1;
        }
        queue.items.push_back(item);
        // Whether a consumer sleeps is read under the lock; it is woken after the unlock.
        let wake = queue.waiting_consumers > 0;
        drop(queue);
        if wake {
            self.not_empty.notify_one();
        }
    }

    /// Takes the oldest item, waiting while the queue is empty; `None` once it is empty and
    /// every producer is done.
    pub fn pop(&self) -> Option<Item> {
        let mut queue = lock(&self.state);
        while queue.items.is_empty() && queue.producers_left > 0 {
            queue.waiting_consumers += 1;
            queue = self
                .not_empty
                .wait(queue)
                .unwrap_or_else(PoisonError::into_inner);
            queue.waiting_consumers -= 1;
        }
        let item = queue.items.pop_front();
        let wake = item.is_some() && queue.waiting_producers > 0;
        drop(queue);
        if wake {
            self.not_full.notify_one();
        }
        item
    }

    /// Records that one producer is done; the last one wakes every waiting consumer, which then
    /// drain the queue and stop.
    pub fn producer_done(&self) {
        let mut queue = lock(&self.state);
        queue.producers_left -= 1;
        let wake = queue.producers_left == 0 && queue.waiting_consumers > 0;
        drop(queue);
        if wake {
            self.not_empty.notify_all();
        }
    }
}

/// Starts the P producers of a channel on scoped threads, each with a clone of `tx` (dropped
/// when it is done, as `tx` itself is on return): producer `p` sends its items with `send`
/// until they are all sent or `send` says that every consumer is gone.
fn spawn_producers<'scope, S: Clone + Send + 'scope>(
    s: &'scope Scope<'scope, '_>,
    p: Bounded,
    epoch: Instant,
    tx: S,
    send: impl Fn(&S, Item) -> bool + Copy + Send + 'scope,
) {
    for producer in 0..p.producers {
        let tx = tx.clone();
        s.spawn(move || {
            for seq in produced_by(producer, p.producers, p.items) {
                if !send(&tx, Item::new(seq, p.work, epoch)) {
                    break; // Every consumer is gone; only a panic does that.
                }
            }
        });
    }
}

fn outcome(consumed: Consumed) -> Outcome {
    consumed.into_outcome()
}

// ---------------------------------------------------------------------------------------------
// Setup: nothing to build; every repetition starts its P + C threads.
// ---------------------------------------------------------------------------------------------

/// Sets up `std-mpsc`: [`std_mpsc`] every repetition.
pub fn setup_std_mpsc(cell: &Cell) -> Result<Runner, Failure> {
    each(cell, |p, _| Ok(std_mpsc(p)))
}

/// Sets up `crossbeam`: [`crossbeam`] every repetition.
pub fn setup_crossbeam(cell: &Cell) -> Result<Runner, Failure> {
    each(cell, |p, _| Ok(crossbeam(p)))
}

/// Sets up `crossbeam-batched`: [`crossbeam_batched`] every repetition.
pub fn setup_crossbeam_batched(cell: &Cell) -> Result<Runner, Failure> {
    each(cell, |p, _| Ok(crossbeam_batched(p)))
}

/// Sets up `mutex-condvar`: [`mutex_condvar`] every repetition.
pub fn setup_mutex_condvar(cell: &Cell) -> Result<Runner, Failure> {
    each(cell, |p, _| Ok(mutex_condvar(p)))
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use shootout_suite::Task;

    use super::*;

    fn item(seq: u64) -> Item {
        Item {
            seq,
            work: 0,
            born_ns: 0,
        }
    }

    /// Polls until the monitor's state satisfies `ready`; a thread that never gets there fails
    /// the test instead of hanging it.
    fn wait_for(monitor: &Monitor, ready: impl Fn(&Queue) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !ready(&lock(&monitor.state)) {
            assert!(Instant::now() < deadline, "the state never got there");
            thread::sleep(Duration::from_millis(1));
        }
    }

    fn waiting(monitor: &Monitor) -> (usize, usize) {
        let queue = lock(&monitor.state);
        (queue.waiting_consumers, queue.waiting_producers)
    }

    #[test]
    fn only_sleeping_threads_are_counted_as_waiting() {
        let monitor = Monitor::new(1, 1);
        thread::scope(|s| {
            // A consumer on an empty queue sleeps, counted; the push that feeds it wakes it.
            let consumer = s.spawn(|| monitor.pop());
            wait_for(&monitor, |q| q.waiting_consumers == 1);
            monitor.push(item(1));
            assert_eq!(joined(consumer), Some(item(1)));
            assert_eq!(waiting(&monitor), (0, 0));

            // Pushes and pops that never wait leave the counts at zero: nobody to signal.
            monitor.push(item(2));
            assert_eq!(monitor.pop(), Some(item(2)));
            assert_eq!(waiting(&monitor), (0, 0));

            // A producer on a full queue sleeps, counted; the pop that frees a slot wakes it.
            monitor.push(item(3));
            let producer = s.spawn(|| monitor.push(item(4)));
            wait_for(&monitor, |q| q.waiting_producers == 1);
            assert_eq!(monitor.pop(), Some(item(3)));
            joined(producer);
            assert_eq!(monitor.pop(), Some(item(4)));
            assert_eq!(waiting(&monitor), (0, 0));

            // Consumers asleep on an empty queue are all woken when the last producer is done.
            let consumers: Vec<_> = (0..3).map(|_| s.spawn(|| monitor.pop())).collect();
            wait_for(&monitor, |q| q.waiting_consumers == 3);
            monitor.producer_done();
            for consumer in consumers {
                assert_eq!(joined(consumer), None);
            }
            assert_eq!(waiting(&monitor), (0, 0));
        });
    }

    #[test]
    fn no_wake_up_is_lost_under_contention() {
        // Many threads on a queue of one item: every hand-off waits on one side or the other.
        // A lost wake-up would leave a thread asleep forever; the watchdog turns that into a
        // failure.
        let p = Bounded {
            producers: 4,
            consumers: 4,
            capacity: 1,
            items: 20_000,
            work: 0,
        };
        let (done, outcome) = mpsc::channel();
        thread::spawn(move || done.send(mutex_condvar(p)));
        let outcome = outcome
            .recv_timeout(Duration::from_secs(120))
            .expect("mutex-condvar hung: a wake-up was lost");
        let task = Task::Bounded(p);
        assert_eq!(task.checksum(&outcome.answer), task.expected_checksum());
    }
}
