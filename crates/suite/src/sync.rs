//! The sync family: the classic primitives, each made a task whose answer proves it held.
//!
//! Five primitives, five tasks, and for each the work done with it, the check that it did its
//! job, and the reference answer:
//!
//! - [`lock`]: W workers share `increments` entries into one critical section. Inside, an entry
//!   reads the counter, derives its contribution from that value and writes both back, so a lost
//!   update changes the answer. The lock-free contrast takes a ticket with `fetch_add` and moves
//!   the work out of the section.
//! - [`semaphore`]: `entries` entries into a section at most `permits` may occupy at once. A
//!   [`semaphore::Gauge`] counts who is inside: more than `permits` fails the cell, and so does
//!   fewer – the first workers in hold their permits until the section is full once, so a
//!   correct semaphore reaches exactly its limit, deterministically.
//! - [`barrier`]: W workers step a ring of cells through `phases` phases of a stencil, each
//!   phase reading what every worker wrote in the last one. A [`barrier::PhaseLog`] records each
//!   worker's phase and fails the cell if two phases ever overlap.
//! - [`event`]: one setter releases W waiters, `rounds` times. Every waiter folds the rounds it
//!   saw, in order, and all of them must agree ([`event::agree`]); latency runs from the set to
//!   each wake-up.
//! - [`condition`]: two parties pass a ball through a monitor, `trips` round trips; latency is
//!   the round trip.
//!
//! Shared state that a checker needs lives in atomics, so that the process backend can put the
//! very same structures in shared memory.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::outcome::Failure;
use crate::rng::mix;

/// How many of `total` units worker `worker` of `workers` does: an even split, the remainder
/// going to the first workers.
pub fn share(total: u64, workers: usize, worker: usize) -> u64 {
    let workers = workers as u64;
    let worker = worker as u64;
    total / workers + u64::from(worker < total % workers)
}

/// The work a section does: one mix of `seed` – its contribution – and `rounds` more.
///
/// The first mix is not optional: with `rounds = 0` a section that only added its ticket would
/// sum `0..n`, which the compiler turns into a closed form, and the sequential reference (and
/// rayon's `reduce`) would report billions of entries per second.
#[inline]
pub fn work(seed: u64, rounds: u32) -> u64 {
    let mut x = mix(seed);
    for _ in 0..rounds {
        x = mix(x);
    }
    x
}

/// `sync/lock`: the state a lock protects, and the reference.
pub mod lock {
    use super::work;
    use crate::rng::mix;

    /// The shared state: how many entries so far, and the sum of their contributions.
    ///
    /// Entry `t` (the `t`-th to get in, whoever it is) contributes `work(t, section)`, so the
    /// final state is the same in every interleaving – as long as no two entries ever see the
    /// same `count`.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct Counter {
        /// Entries so far.
        pub count: u64,
        /// The wrapping sum of every entry's contribution.
        pub sum: u64,
    }

    impl Counter {
        /// One entry of the critical section: read, work `section` rounds, write back.
        #[inline]
        pub fn increment(&mut self, section: u32) {
            let ticket = self.count;
            self.sum = self.sum.wrapping_add(work(ticket, section));
            self.count = ticket + 1;
        }

        /// The one number the harness compares.
        pub fn checksum(&self) -> u64 {
            mix(mix(self.count) ^ self.sum)
        }
    }

    /// The state after `increments` entries, one after another.
    pub fn reference(increments: u64, section: u32) -> Counter {
        let mut counter = Counter::default();
        (0..increments).for_each(|_| counter.increment(section));
        counter
    }
}

/// `sync/semaphore`: who is inside, and the reference.
pub mod semaphore {
    use super::*;
    use crate::Tally;

    /// The contribution of entry number `entry`: `section` rounds of work.
    #[inline]
    pub fn contribution(entry: u64, section: u32) -> u64 {
        work(entry ^ 0x5E3A_900E, section)
    }

    /// The entries worker `worker` of `workers` makes: `worker, worker + W, …` below `entries`.
    pub fn entries_of(worker: usize, workers: usize, entries: u64) -> impl Iterator<Item = u64> {
        (worker as u64..entries).step_by(workers)
    }

    /// The tally of every entry's contribution.
    pub fn reference(entries: u64, section: u32) -> Tally {
        let mut tally = Tally::new();
        (0..entries).for_each(|e| tally.add(contribution(e, section)));
        tally
    }

    /// How many are inside the section, the most there ever were, and whether it has been full.
    ///
    /// Every entry calls [`Gauge::enter`] after acquiring a permit and [`Gauge::leave`] before
    /// releasing it. Until the section has once held `target` = min(permits, workers, entries)
    /// at the same time, a worker that got in waits inside ([`Gauge::full`] is false), holding
    /// its permit: no worker can finish an entry before then, so all of them are either inside
    /// or queued at the semaphore, and a correct semaphore fills up to exactly `target`. The
    /// wait happens once per run, at the start; after it entries come and go freely. (A broken
    /// semaphore that never admits `target` at once keeps the first workers waiting: the cell's
    /// timeout ends it, and it is recorded as failed.)
    #[derive(Debug, Default)]
    #[repr(C)]
    pub struct Gauge {
        inside: AtomicU64,
        most: AtomicU64,
        target: AtomicU64,
    }

    impl Gauge {
        /// A gauge for a run with these sizes.
        pub fn new(permits: usize, workers: usize, entries: u64) -> Self {
            let gauge = Gauge::default();
            gauge.reset(permits, workers, entries);
            gauge
        }

        /// Readies the gauge for a run (for a gauge that lives in shared memory).
        pub fn reset(&self, permits: usize, workers: usize, entries: u64) {
            let target = (permits as u64).min(workers as u64).min(entries);
            self.inside.store(0, Ordering::SeqCst);
            self.most.store(0, Ordering::SeqCst);
            self.target.store(target, Ordering::SeqCst);
        }

        /// Counts one more inside.
        #[inline]
        pub fn enter(&self) {
            let now = self.inside.fetch_add(1, Ordering::SeqCst) + 1;
            // `most` only grows: once it is at least `now`, the update would change nothing,
            // and skipping it keeps a second read-modify-write off the shared line.
            if now > self.most.load(Ordering::SeqCst) {
                self.most.fetch_max(now, Ordering::SeqCst);
            }
        }

        /// Whether the section has held `target` workers at once: until then, wait inside.
        #[inline]
        pub fn full(&self) -> bool {
            self.most.load(Ordering::SeqCst) >= self.target.load(Ordering::SeqCst)
        }

        /// Counts one fewer inside.
        #[inline]
        pub fn leave(&self) {
            self.inside.fetch_sub(1, Ordering::SeqCst);
        }

        /// Fails unless the most ever inside at once was exactly the target.
        pub fn verify(&self, permits: usize) -> Result<(), Failure> {
            let most = self.most.load(Ordering::SeqCst);
            let target = self.target.load(Ordering::SeqCst);
            if most > permits as u64 {
                Err(Failure::new(format!(
                    "the semaphore let {most} in at once; it has {permits} permits"
                )))
            } else if most != target {
                Err(Failure::new(format!(
                    "at most {most} were inside at once; a semaphore of {permits} permits should have admitted {target}"
                )))
            } else {
                Ok(())
            }
        }
    }
}

/// `sync/barrier`: the stencil the phases compute, the phase log, and the reference.
pub mod barrier {
    use std::ops::Range;

    use super::*;

    /// The starting values of the ring of `width` cells.
    pub fn initial(width: usize) -> Vec<AtomicU64> {
        (0..width as u64)
            .map(|i| AtomicU64::new(mix(i ^ 0xBA77_1E55)))
            .collect()
    }

    /// The cells worker `worker` of `workers` computes every phase: a contiguous chunk.
    pub fn chunk(width: usize, workers: usize, worker: usize) -> Range<usize> {
        let start = |w: usize| w * width / workers;
        start(worker)..start(worker + 1)
    }

    /// Phase `phase` reads from `a` when even and from `b` when odd, and writes the other.
    pub fn buffers<'a, T: ?Sized>(phase: u32, a: &'a T, b: &'a T) -> (&'a T, &'a T) {
        if phase % 2 == 0 { (a, b) } else { (b, a) }
    }

    /// One phase of the stencil over `range`: each cell from itself and its two neighbours on
    /// the ring, as the last phase left them.
    ///
    /// Relaxed atomics suffice: the barrier between phases is what orders them.
    pub fn step(src: &[AtomicU64], dst: &[AtomicU64], range: Range<usize>, phase: u32) {
        let n = src.len();
        for i in range {
            let left = src[(i + n - 1) % n].load(Ordering::Relaxed);
            let here = src[i].load(Ordering::Relaxed);
            let right = src[(i + 1) % n].load(Ordering::Relaxed);
            let value = mix(left.rotate_left(17) ^ here ^ right.rotate_left(43) ^ u64::from(phase));
            dst[i].store(value, Ordering::Relaxed);
        }
    }

    /// The cells after the last phase: `a` after an even number of phases, `b` after an odd.
    pub fn result<'a>(phases: u32, a: &'a [AtomicU64], b: &'a [AtomicU64]) -> &'a [AtomicU64] {
        buffers(phases, a, b).0
    }

    /// The checksum of the final cells.
    pub fn checksum(cells: &[AtomicU64]) -> u64 {
        cells.iter().enumerate().fold(0, |acc, (i, v)| {
            mix(acc ^ mix(v.load(Ordering::Relaxed) ^ i as u64))
        })
    }

    /// The checksum after `phases` phases on a ring of `width`, on one thread.
    pub fn reference(width: usize, phases: u32) -> u64 {
        let (a, b) = (initial(width), initial(width));
        for phase in 0..phases {
            let (src, dst) = buffers(phase, &a[..], &b[..]);
            step(src, dst, 0..width, phase);
        }
        checksum(result(phases, &a, &b))
    }

    /// Each worker's current phase, checked on every entry: a barrier that lets phases overlap
    /// fails the cell.
    ///
    /// When worker `w` starts phase `p`, every worker has finished phase `p - 1` (the barrier
    /// waited for them all), and none can have started `p + 1` (that barrier waits for `w`), so
    /// every recorded phase is `p - 1` or `p`. Anything else is an overlap.
    #[derive(Debug)]
    pub struct PhaseLog<'a> {
        slots: &'a [AtomicU64],
    }

    impl<'a> PhaseLog<'a> {
        /// A log over one slot per worker (which may live in shared memory). Every slot must
        /// read 0 when the run starts: fresh atomics do, reused ones need [`PhaseLog::reset`].
        ///
        /// A log is only a view, so each worker may make its own over the same slots.
        pub fn new(slots: &'a [AtomicU64]) -> Self {
            Self { slots }
        }

        /// Puts every worker back at phase 0, for slots reused from an earlier run.
        pub fn reset(&self) {
            self.slots.iter().for_each(|s| s.store(0, Ordering::SeqCst));
        }

        /// Records that `worker` starts `phase`, and checks everyone else's.
        pub fn enter(&self, worker: usize, phase: u32) -> Result<(), Failure> {
            let phase = u64::from(phase);
            self.slots[worker].store(phase, Ordering::SeqCst);
            for (other, slot) in self.slots.iter().enumerate() {
                let theirs = slot.load(Ordering::SeqCst);
                if theirs > phase || theirs + 1 < phase {
                    return Err(Failure::new(format!(
                        "phases overlapped: worker {worker} started phase {phase} while worker {other} was in phase {theirs}"
                    )));
                }
            }
            Ok(())
        }
    }
}

/// `sync/event`: what waiters fold, and how their answers are combined.
pub mod event {
    use super::*;
    use crate::outcome::{Answer, Outcome, Placement, Whereabouts};
    use crate::wake::Handoff;

    /// A waiter's running answer after it sees round `round` (rounds count from 1).
    #[inline]
    pub fn fold(acc: u64, round: u64) -> u64 {
        mix(acc ^ mix(round))
    }

    /// The answer of a waiter that saw every round from 1 to `rounds`, in order.
    pub fn reference(rounds: u32) -> u64 {
        (1..=u64::from(rounds)).fold(0, fold)
    }

    /// The outcome of a repetition from each waiter's answer, latencies and wake-up placement:
    /// the answers must [`agree`], and a cross-thread variant's wake-ups must all have crossed
    /// ([`Placement::check`](crate::wake::Placement::check)).
    pub fn outcome(
        waiters: impl IntoIterator<Item = (u64, Vec<u64>, Placement)>,
        handoff: Handoff,
    ) -> Result<Outcome, Failure> {
        let (mut answers, mut latencies, mut placement) =
            (Vec::new(), Vec::new(), Placement::default());
        for (answer, waited, placed) in waiters {
            answers.push(answer);
            latencies.extend(waited);
            placement.merge(placed);
        }
        let answer = agree(answers)?;
        placement.check(handoff)?;
        let outcome = Outcome::with_latencies(Answer::Value(answer), latencies);
        Ok(outcome.placed(Whereabouts::Wakes(placement)))
    }

    /// The answer every waiter gave, or a failure if any two differ (a waiter missed a round,
    /// or saw one twice) or there were none.
    pub fn agree(answers: impl IntoIterator<Item = u64>) -> Result<u64, Failure> {
        let mut answers = answers.into_iter();
        let first = answers
            .next()
            .ok_or_else(|| Failure::new("the event had no waiters"))?;
        match answers.position(|a| a != first) {
            None => Ok(first),
            Some(i) => Err(Failure::new(format!(
                "waiters disagree: waiter {} saw a different sequence of rounds from waiter 0",
                i + 1
            ))),
        }
    }
}

/// `sync/condition`: the ball two parties pass through a monitor.
pub mod condition {
    use super::*;

    /// The ball before the first trip.
    pub const SERVE: u64 = 0xC0_4D17_1015;

    /// The pinger's stroke, before it hands the ball over.
    #[inline]
    pub fn ping(ball: u64) -> u64 {
        mix(ball.wrapping_add(1))
    }

    /// The ponger's stroke, before it hands the ball back.
    #[inline]
    pub fn pong(ball: u64) -> u64 {
        mix(ball ^ 0x9090)
    }

    /// The ball after `trips` round trips.
    pub fn reference(trips: u32) -> u64 {
        (0..trips).fold(SERVE, |ball, _| pong(ping(ball)))
    }

    /// Whose stroke is next.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Turn {
        /// The pinger's.
        Ping,
        /// The ponger's.
        Pong,
    }

    /// The state a condition variable's monitor guards: whose turn it is, and the ball.
    #[derive(Debug)]
    pub struct Rally {
        /// Whose stroke is next.
        pub turn: Turn,
        /// The ball, struck once per stroke.
        pub ball: u64,
        /// The [`thread_tag`](crate::wake::thread_tag) of the thread that played the last
        /// stroke: the party it wakes compares it with its own.
        pub striker: u64,
    }

    impl Rally {
        /// The serve: the pinger to play, the ball at [`SERVE`].
        pub fn new() -> Self {
            Self {
                turn: Turn::Ping,
                ball: SERVE,
                striker: 0,
            }
        }

        /// Plays `stroke` and passes the turn to `next`.
        #[inline]
        pub fn strike(&mut self, stroke: fn(u64) -> u64, next: Turn) {
            self.ball = stroke(self.ball);
            self.turn = next;
            self.striker = crate::wake::thread_tag();
        }
    }

    impl Default for Rally {
        fn default() -> Self {
            Self::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    #[test]
    fn shares_add_up() {
        for total in [0, 1, 7, 100] {
            for workers in 1..6 {
                let sum: u64 = (0..workers).map(|w| share(total, workers, w)).sum();
                assert_eq!(sum, total);
                let entries: u64 = (0..workers)
                    .map(|w| semaphore::entries_of(w, workers, total).count() as u64)
                    .sum();
                assert_eq!(entries, total);
            }
        }
    }

    #[test]
    fn a_lost_update_changes_the_lock_answer() {
        let good = lock::reference(100, 3);
        assert_eq!(good.count, 100);
        // Entries 99 and 100 both read count = 98 and write 99: one update is lost.
        let mut racy = lock::reference(98, 3);
        racy.sum = racy.sum.wrapping_add(work(98, 3).wrapping_mul(2));
        racy.count = 99;
        assert_ne!(racy.checksum(), good.checksum());
        // Even if the count were right, the sum would not be.
        racy.count = 100;
        assert_ne!(racy.checksum(), good.checksum());
    }

    #[test]
    fn the_gauge_wants_exactly_the_target() {
        let gauge = semaphore::Gauge::new(2, 4, 100);
        gauge.enter();
        assert!(!gauge.full());
        gauge.enter();
        assert!(gauge.full());
        gauge.leave();
        gauge.leave();
        gauge.verify(2).unwrap();

        let too_many = semaphore::Gauge::new(2, 4, 100);
        (0..3).for_each(|_| too_many.enter());
        assert!(
            too_many
                .verify(2)
                .unwrap_err()
                .to_string()
                .contains("let 3 in")
        );

        let too_few = semaphore::Gauge::new(3, 4, 100);
        too_few.enter();
        assert!(
            too_few
                .verify(3)
                .unwrap_err()
                .to_string()
                .contains("at most 1")
        );

        // One worker, or fewer entries than permits, can only fill it that far.
        assert!(!semaphore::Gauge::new(3, 1, 100).full());
        let lone = semaphore::Gauge::new(3, 1, 100);
        lone.enter();
        assert!(lone.full());
        lone.verify(3).unwrap();
    }

    #[test]
    fn the_phase_log_catches_overlap() {
        let slots: Vec<AtomicU64> = (0..3).map(|_| AtomicU64::new(9)).collect();
        let log = barrier::PhaseLog::new(&slots);
        log.reset();
        for w in 0..3 {
            log.enter(w, 0).unwrap();
        }
        log.enter(0, 1).unwrap(); // others still at 0: fine
        log.enter(1, 1).unwrap();
        assert!(
            log.enter(0, 2)
                .unwrap_err()
                .to_string()
                .contains("overlapped")
        );
    }

    #[test]
    fn barrier_chunks_cover_the_ring_in_parallel_as_in_sequence() {
        for workers in 1..7 {
            let covered: usize = (0..workers)
                .map(|w| barrier::chunk(10, workers, w).len())
                .sum();
            assert_eq!(covered, 10);
        }
        // Chunked steps give the reference answer.
        let (width, phases) = (37, 5);
        let (a, b) = (barrier::initial(width), barrier::initial(width));
        for phase in 0..phases {
            let (src, dst) = barrier::buffers(phase, &a[..], &b[..]);
            for w in 0..3 {
                barrier::step(src, dst, barrier::chunk(width, 3, w), phase);
            }
        }
        assert_eq!(
            barrier::checksum(barrier::result(phases, &a, &b)),
            barrier::reference(width, phases)
        );
        assert_ne!(
            barrier::reference(width, phases),
            barrier::reference(width, phases + 1)
        );
    }

    #[test]
    fn waiters_must_agree() {
        assert_eq!(event::agree([5, 5, 5]), Ok(5));
        assert!(event::agree([5, 6]).is_err());
        assert!(event::agree([]).is_err());
        let skipped = [1, 3].into_iter().fold(0, event::fold);
        assert_ne!(skipped, event::reference(3));
        assert_ne!(event::reference(2), event::reference(3));
    }

    #[test]
    fn the_ball_depends_on_every_trip() {
        assert_ne!(condition::reference(10), condition::reference(11));
        assert_eq!(condition::reference(0), condition::SERVE);
    }
}
