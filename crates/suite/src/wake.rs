//! Where a wake-up ran: on the waker's own thread, or on another.
//!
//! An async runtime that wakes a task from one of its own workers usually runs the woken task
//! on that same worker (tokio's LIFO slot; async-executor pushes it to its shared queue, where
//! the waker's own thread may well be the first to pop it):
//! a task switch of a fraction of a microsecond. A thread woken by another thread, or a task
//! woken from outside the runtime, is a wake-up across CPUs: a futex and a scheduler decision,
//! tens of microseconds on a VM. The two are different measurements, so the event and
//! condition variants say which one they make ([`Handoff`]), every party tags the thread it
//! woke on ([`thread_tag`]), and a variant that claims the cross-thread wake-up fails the cell
//! if one ran on its waker's thread ([`Placement::check`]).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::outcome::Failure;
pub use crate::outcome::{Placement, Whereabouts};

/// A number for the calling thread, distinct from every other thread's in this process: a few
/// nanoseconds to read (a thread-local set on first use), and it fits in an atomic, which
/// `ThreadId` does not.
pub fn thread_tag() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    thread_local!(static TAG: u64 = NEXT.fetch_add(1, Relaxed));
    TAG.with(|tag| *tag)
}

/// Which wake-up an event or condition variant measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handoff {
    /// The waker runs outside the runtime (the thread that called `block_on`), so every wake
    /// crosses threads, as between OS threads: checked, a same-thread wake fails the cell.
    CrossThread,
    /// The waker is a task on the runtime like the parties it wakes, so the runtime decides
    /// where the woken task runs (usually on the waker's own worker, a task switch): tallied,
    /// not checked.
    Spawned,
}

impl Placement {
    /// Counts one wake-up by the thread tagged `waker`, seen from the woken thread.
    #[inline]
    pub fn note(&mut self, waker: u64) {
        self.wakes += 1;
        self.same_thread += u64::from(waker == thread_tag());
    }

    /// Refuses a same-thread wake-up where the variant claims to cross threads.
    pub fn check(self, handoff: Handoff) -> Result<(), Failure> {
        if handoff == Handoff::CrossThread && self.same_thread > 0 {
            return Err(Failure::new(format!(
                "{} of {} wake-ups ran on the waker's thread: a same-thread hand-off, not the \
                 cross-thread wake-up this variant measures",
                self.same_thread, self.wakes
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phase_threads_count_distinct_threads_per_phase() {
        // Two parties: on one thread in phase 0, on two in phases 1 and 2.
        let w = Whereabouts::Phases(vec![vec![7, 7, 8], vec![7, 9, 7]]);
        assert_eq!(w.phase_threads(), Some((5, 3)));
        assert_eq!(
            Whereabouts::Wakes(Placement::default()).phase_threads(),
            None
        );
    }

    #[test]
    fn tags_are_stable_within_a_thread_and_distinct_across() {
        let here = thread_tag();
        assert_eq!(here, thread_tag());
        let there = std::thread::spawn(thread_tag).join().unwrap();
        assert_ne!(here, there);
    }

    #[test]
    fn a_cross_thread_variant_fails_on_a_same_thread_wake() {
        let mut p = Placement::default();
        let other = std::thread::spawn(thread_tag).join().unwrap();
        p.note(other);
        p.check(Handoff::CrossThread).unwrap();
        p.note(thread_tag());
        assert_eq!(
            p,
            Placement {
                same_thread: 1,
                wakes: 2
            }
        );
        let err = p.check(Handoff::CrossThread).unwrap_err().to_string();
        assert!(
            err.contains("1 of 2 wake-ups ran on the waker's thread"),
            "{err}"
        );
        p.check(Handoff::Spawned).unwrap();
    }
}
