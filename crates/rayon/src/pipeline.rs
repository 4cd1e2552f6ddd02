//! The bounded pipeline on rayon: producer threads, a crossbeam channel, and `par_bridge`.
//!
//! Rayon does not produce items; it consumes them. Producers here stand for anything that
//! makes work outside the pool, like a reader or a network loop, so they are plain threads and
//! not pool jobs. A rayon job that blocks on a full channel would hold a worker the consumers
//! need. The producers send into a [`crossbeam_channel::bounded`] channel, whose capacity is
//! the back-pressure. The consumer side is one expression: the receiver's blocking iterator,
//! turned into a parallel iterator by [`par_bridge`](rayon::iter::ParallelBridge::par_bridge),
//! folded into one [`Consumed`] per worker and reduced. Rayon documents `par_bridge` for
//! exactly this: "iterators that are difficult to parallelize by other means, like channels".
//!
//! The bridge keeps the iterator behind a mutex. A worker locks it and receives one item
//! (blocking while the channel is empty), then unlocks and does the item's work. So the C
//! consumers take turns at `recv` and do their work in parallel: the more work per item, the
//! less the turn-taking matters. With `work = 0` the measurement is mostly that mutex.
//!
//! Threads: the pool has C threads (`consumers`), and the P producers (`producers`) are
//! P more threads, started for each repetition, as a producer thread is in a real program.

use std::thread;
use std::time::Instant;

use rayon::ThreadPool;
use rayon::prelude::*;
use shootout_suite::pipeline::{Consumed, Item, produced_by};
use shootout_suite::task::Bounded;
use shootout_suite::{Answer, Outcome};

/// Runs `pipeline/bounded`: `p.producers` threads send through a bounded channel of
/// `p.capacity` items to the workers of `consumers`, which do the per-item work.
pub fn bounded_par_bridge(consumers: &ThreadPool, p: Bounded) -> Outcome {
    let epoch = Instant::now();
    let (sender, receiver) = crossbeam_channel::bounded(p.capacity);
    let consumed = thread::scope(|s| {
        for producer in 0..p.producers {
            let sender = sender.clone();
            s.spawn(move || {
                for seq in produced_by(producer, p.producers, p.items) {
                    if sender.send(Item::new(seq, p.work, epoch)).is_err() {
                        // The receiver is gone: a consumer panicked, and `install` re-raises it.
                        return;
                    }
                }
            });
        }
        // Only the producers hold senders now, so the stream ends when the last one finishes.
        drop(sender);
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
    Outcome::with_latencies(Answer::Tally(consumed.tally), consumed.latencies_ns)
}
