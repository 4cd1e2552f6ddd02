//! Time as the records keep it: whole nanoseconds in a `u64`.

use std::time::{Duration, Instant};

/// `d` in nanoseconds, saturating (a `u64` of nanoseconds lasts 584 years).
#[inline]
pub fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The nanoseconds since `epoch`.
#[inline]
pub fn nanos_since(epoch: Instant) -> u64 {
    nanos(epoch.elapsed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nanos_saturate() {
        assert_eq!(nanos(Duration::from_micros(3)), 3_000);
        assert_eq!(nanos(Duration::MAX), u64::MAX);
    }
}
