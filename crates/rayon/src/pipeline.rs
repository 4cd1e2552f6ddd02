//! The bounded pipeline on rayon: producer threads, a crossbeam channel, and `par_bridge` or
//! `broadcast` on the consumer side.
//!
//! Rayon does not produce items; it consumes them. Producers here stand for anything that
//! makes work outside the pool, like a reader or a network loop, so they are plain threads and
//! not pool jobs. A rayon job that blocks on a full channel would hold a worker the consumers
//! need. The producers send into a [`crossbeam_channel::bounded`] channel, whose capacity is
//! the back-pressure. In `par-bridge` the consumer side is one expression: the receiver's blocking iterator,
//! turned into a parallel iterator by [`par_bridge`](rayon::iter::ParallelBridge::par_bridge),
//! folded into one [`Consumed`] per worker and reduced. Rayon documents `par_bridge` for
//! exactly this: "iterators that are difficult to parallelize by other means, like channels".
//!
//! The bridge keeps the iterator behind a mutex. A worker locks it and receives one item
//! (blocking while the channel is empty), then unlocks and does the item's work. So the C
//! consumers take turns at `recv` and do their work in parallel: the more work per item, the
//! less the turn-taking matters. With `work = 0` the measurement is mostly that mutex, and a
//! hand-off can cost two wake-ups: the channel wakes the worker that holds the lock, and its
//! unlock wakes the next worker waiting for the lock.
//!
//! `broadcast` is what a rayon user writes once that mutex shows up in a profile, when the
//! pool's job is to drain one stream: [`ThreadPool::broadcast`] runs one closure on every
//! thread of the pool, here a plain consumer loop over the channel's receiver. The crossbeam
//! channel is multi-consumer already, so the C loops wait in `recv` together and a send wakes
//! one of them directly, with no lock around it. Nothing is left for rayon to schedule: each
//! pool thread is one long-lived consumer, as in the threads backend's `crossbeam` variant, and
//! while the loops run the pool can do nothing else (with `par_bridge` its workers are just as
//! busy, blocked in `recv` or waiting for the lock). The broadcast returns one [`Consumed`] per
//! thread, merged afterwards.
//!
//! Threads: the pool has C threads (`consumers`), and the P producers (`producers`) are
//! P more threads, started for each repetition, as a producer thread is in a real program.

use std::thread;
use std::time::Instant;

use crossbeam_channel::Sender;
use rayon::ThreadPool;
use rayon::prelude::*;
use shootout_suite::pipeline::{Consumed, Item, produced_by};
use shootout_suite::task::Bounded;
use shootout_suite::{Cell, Failure, Outcome, Runner, runner};

use crate::pool;

/// `par-bridge`: `p.producers` threads send through a bounded channel of `p.capacity` items to
/// the workers of `consumers`, which take the items through `par_bridge` and do their work.
pub fn bounded_par_bridge(consumers: &ThreadPool, p: Bounded) -> Outcome {
    let epoch = Instant::now();
    let (sender, receiver) = crossbeam_channel::bounded(p.capacity);
    let consumed = thread::scope(|s| {
        spawn_producers(s, sender, p, epoch);
        consumers.install(|| {
            receiver
                .into_iter()
                .par_bridge()
                .fold(Consumed::default, |mut consumed, item| {
                    consumed.take(item, epoch);
                    consumed
                })
                .reduce(Consumed::default, |mut all, consumed| {
                    all.merge(consumed);
                    all
                })
        })
    });
    outcome(consumed)
}

/// `broadcast`: the same producers and channel, and one consumer loop on every thread of
/// `consumers`, started by [`ThreadPool::broadcast`].
pub fn bounded_broadcast(consumers: &ThreadPool, p: Bounded) -> Outcome {
    let epoch = Instant::now();
    let consumed = thread::scope(|s| {
        // Made inside the scope's closure, so that if every consumer panics, the unwinding drops
        // the receiver and the producers' sends fail instead of blocking the scope's join.
        let (sender, receiver) = crossbeam_channel::bounded(p.capacity);
        spawn_producers(s, sender, p, epoch);
        // `recv` takes `&self` and a `Receiver` is `Sync`: the loops share this one, which
        // is the same as a clone each.
        let per_thread = consumers.broadcast(|_| {
            let mut consumed = Consumed::default();
            // Ends when every sender is dropped and the channel is empty.
            for item in receiver.iter() {
                consumed.take(item, epoch);
            }
            consumed
        });
        per_thread.into_iter().collect::<Consumed>()
    });
    outcome(consumed)
}

/// Sets up `par-bridge`: [`bounded_par_bridge`] on a pool of C threads.
pub fn setup_par_bridge(cell: &Cell) -> Result<Runner, Failure> {
    setup(cell, bounded_par_bridge)
}

/// Sets up `broadcast`: [`bounded_broadcast`] on a pool of C threads.
pub fn setup_broadcast(cell: &Cell) -> Result<Runner, Failure> {
    setup(cell, bounded_broadcast)
}

/// A pipeline runner: the pool is the consumers (C threads, whatever W is); the producers are
/// threads of their own, started by `run` every repetition.
fn setup(
    cell: &Cell,
    run: impl Fn(&ThreadPool, Bounded) -> Outcome + 'static,
) -> Result<Runner, Failure> {
    let p: Bounded = cell.params()?;
    let consumers = pool::build(p.consumers)?;
    runner(move |_| Ok(run(&consumers, p)))
}

/// Starts the `p.producers` producer threads in scope `s`, each with a clone of `sender`; the
/// original is dropped, so the stream ends when the last producer finishes.
fn spawn_producers<'scope>(
    s: &'scope thread::Scope<'scope, '_>,
    sender: Sender<Item>,
    p: Bounded,
    epoch: Instant,
) {
    for producer in 0..p.producers {
        let sender = sender.clone();
        s.spawn(move || {
            for seq in produced_by(producer, p.producers, p.items) {
                if sender.send(Item::new(seq, p.work, epoch)).is_err() {
                    // The receiver is gone: every consumer panicked, and the pool re-raises it.
                    return;
                }
            }
        });
    }
}

fn outcome(consumed: Consumed) -> Outcome {
    consumed.into_outcome()
}
