//! The machine-wide clock that timestamps crossing a process boundary are read from.
//!
//! An [`Instant`](std::time::Instant) reads `CLOCK_MONOTONIC` but keeps its value private, so
//! it cannot cross a process boundary; timestamps that travel between processes (the fan-out's
//! start of a repetition, a pipeline item's birth, the event's set time) are raw readings of the
//! same clock, which every process on the machine shares. A leaf module: fanout, pipeline and
//! sync all read it.

use std::thread;
use std::time::Duration;

/// `CLOCK_MONOTONIC` in nanoseconds.
pub(crate) fn monotonic_ns() -> u64 {
    let now = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64
}

/// The nanoseconds from `began_ns` (an earlier [`monotonic_ns`]) until now, as a duration.
pub(crate) fn since(began_ns: u64) -> Duration {
    Duration::from_nanos(monotonic_ns().saturating_sub(began_ns))
}

/// Sleeps until [`monotonic_ns`] reads `due_ns`.
pub(crate) fn sleep_until(due_ns: u64) {
    let now = monotonic_ns();
    if due_ns > now {
        thread::sleep(Duration::from_nanos(due_ns - now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_monotonic_clock_moves_forward() {
        let a = monotonic_ns();
        thread::sleep(Duration::from_millis(2));
        assert!(monotonic_ns() >= a + 2_000_000);
        assert!(since(a) >= Duration::from_millis(2));
        sleep_until(monotonic_ns() + 1_000_000);
        assert!(since(a) >= Duration::from_millis(3));
    }
}
