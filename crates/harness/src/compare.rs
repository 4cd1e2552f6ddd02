//! `shootout compare A B`: has anything changed between two runs?
//!
//! For every cell both files measured, the ratio of the medians (B / A) and a verdict that
//! respects the noise: a cell is called `slower` or `faster` only if the two sets of
//! repetitions do not overlap at all *and* the medians differ by more than [`MIN_CHANGE`].
//! With six repetitions a side, non-overlap alone would happen by chance with probability
//! 2 / C(12, 6) ≈ 0.2 % (the extreme of a Mann–Whitney U test); the threshold keeps tiny but
//! consistent shifts – a different CPU frequency, say – from being reported as regressions.

use std::collections::BTreeMap;

use crate::record::Record;
use crate::summary::median;

/// The smallest relative change of the median that counts as a change.
pub const MIN_CHANGE: f64 = 0.05;

/// What happened to one cell between A and B.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// B is reliably faster.
    Faster,
    /// B is reliably slower.
    Slower,
    /// The difference is within the noise.
    Same,
    /// One side did not verify: no timing to compare.
    Unverified,
}

/// One compared cell.
#[derive(Clone, Debug)]
pub struct Comparison {
    /// The cell key.
    pub key: String,
    /// Median wall time in A and B, seconds.
    pub median_a: f64,
    /// Median in B.
    pub median_b: f64,
    /// B / A.
    pub ratio: f64,
    /// The verdict.
    pub verdict: Verdict,
}

/// Wall times (seconds) of every verified repetition, per cell key.
fn samples(records: &[Record]) -> BTreeMap<String, Option<Vec<f64>>> {
    let mut out: BTreeMap<String, Option<Vec<f64>>> = BTreeMap::new();
    for r in records {
        let entry = out.entry(r.key.clone()).or_insert_with(|| Some(Vec::new()));
        match (entry.as_mut(), r.status.is_verified()) {
            (Some(walls), true) => walls.extend(
                r.measurement
                    .reps
                    .iter()
                    .map(|rep| rep.wall_ns as f64 / 1e9),
            ),
            _ => *entry = None,
        }
    }
    out
}

/// Compares every cell present in both `a` and `b`, in key order.
pub fn compare(a: &[Record], b: &[Record]) -> Vec<Comparison> {
    let (a, b) = (samples(a), samples(b));
    a.iter()
        .filter_map(|(key, a)| b.get(key).map(|b| (key, a, b)))
        .map(|(key, a, b)| match (a, b) {
            (Some(a), Some(b)) if !a.is_empty() && !b.is_empty() => {
                let (median_a, median_b) = (median(&mut a.clone()), median(&mut b.clone()));
                let ratio = median_b / median_a;
                let max = |v: &[f64]| v.iter().copied().fold(f64::MIN, f64::max);
                let min = |v: &[f64]| v.iter().copied().fold(f64::MAX, f64::min);
                let verdict = if min(b) > max(a) && ratio > 1.0 + MIN_CHANGE {
                    Verdict::Slower
                } else if max(b) < min(a) && ratio < 1.0 / (1.0 + MIN_CHANGE) {
                    Verdict::Faster
                } else {
                    Verdict::Same
                };
                Comparison {
                    key: key.clone(),
                    median_a,
                    median_b,
                    ratio,
                    verdict,
                }
            }
            _ => Comparison {
                key: key.clone(),
                median_a: f64::NAN,
                median_b: f64::NAN,
                ratio: f64::NAN,
                verdict: Verdict::Unverified,
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Measurement, Rep, SCHEMA, Status};

    fn record(key: &str, walls_ms: &[u64]) -> Record {
        Record {
            schema: SCHEMA,
            run_id: "r".into(),
            key: key.into(),
            task: "dnc/fib".into(),
            params: Default::default(),
            backend: "threads".into(),
            variant: "scope".into(),
            workers: 2,
            profile: "smoke".into(),
            round: 0,
            seed: 0,
            status: Status::Verified,
            expected: String::new(),
            units: None,
            measurement: Measurement {
                reps: walls_ms
                    .iter()
                    .map(|ms| Rep {
                        wall_ns: ms * 1_000_000,
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            },
            command: String::new(),
            cell_command: String::new(),
            finished_at: 0,
            machine: Default::default(),
        }
    }

    #[test]
    fn noise_is_not_a_change_and_a_slowdown_is_flagged() {
        let noisy_a = [100, 103, 98, 101, 99, 104];
        let noisy_b = [101, 99, 102, 97, 103, 100];
        let a = vec![
            record("same", &noisy_a),
            record("slowed", &noisy_a),
            record("sped-up", &noisy_a),
        ];
        let b = vec![
            record("same", &noisy_b),
            record("slowed", &[150, 152, 149, 155, 151, 150]),
            record("sped-up", &[60, 61, 59, 62, 60, 61]),
        ];
        let verdicts: Vec<(String, Verdict)> = compare(&a, &b)
            .into_iter()
            .map(|c| (c.key, c.verdict))
            .collect();
        assert_eq!(
            verdicts,
            [
                ("same".into(), Verdict::Same),
                ("slowed".into(), Verdict::Slower),
                ("sped-up".into(), Verdict::Faster)
            ]
        );
    }

    #[test]
    fn a_consistent_shift_below_the_threshold_is_within_noise() {
        let a = vec![record("k", &[100, 100, 100, 100])];
        let b = vec![record("k", &[103, 103, 103, 103])];
        assert_eq!(compare(&a, &b)[0].verdict, Verdict::Same);
    }

    #[test]
    fn unverified_cells_are_not_compared() {
        let a = vec![record("k", &[100])];
        let mut failed = record("k", &[100]);
        failed.status = Status::WrongAnswer;
        assert_eq!(compare(&a, &[failed])[0].verdict, Verdict::Unverified);
    }
}
