//! `shootout compare A B`: has anything changed between two runs, as far as the models go?
//!
//! For every cell both files measured, the ratio of the medians B / A three ways – raw;
//! *calibrated*, each repetition divided by the machine speed index its own process measured
//! (see [`crate::calibration`]); and *baseline-normalised*, each cell divided by the same
//! file's sequential reference of the same task – each with a 95 % interval from the cluster
//! bootstrap of [`crate::stats`] (processes are the independent samples, on both sides).
//!
//! The verdict is read from the calibrated ratio where both files have the index, else from
//! the raw one (METHODOLOGY.md says why calibration and not the baseline), at [`VERDICT_LEVEL`]
//! confidence – stricter than the tables' 95 %, because a compare makes hundreds of calls at
//! once: `slower` or `faster` only when the whole interval is on one side of 1 *and* the ratio
//! and the interval's far end are more than [`MIN_CHANGE`] away from it, `same` when the whole
//! interval lies within [`MIN_CHANGE`] of 1 (in ratio: 1/1.05 to 1.05), and `inconclusive`
//! otherwise – including every cell with fewer than [`MIN_PROCESSES`] processes on a side,
//! whose interval would rest on repetitions that are not independent.

use std::collections::BTreeMap;

use crate::record::Record;
use crate::registry::BASELINE;
use crate::stats::{self, Interval};

/// The smallest relative change of the median that counts as a change.
pub const MIN_CHANGE: f64 = 0.05;

/// The confidence of the intervals verdicts are read from.
pub const VERDICT_LEVEL: f64 = 0.99;

/// The fewest processes a side needs for a verdict other than `inconclusive`.
pub const MIN_PROCESSES: usize = 3;

/// Two files' machine speed indexes further apart than this are called different speeds.
pub const SPEED_DIFFERENCE: f64 = 0.05;

/// What happened to one cell between A and B.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    /// B is reliably faster, by more than [`MIN_CHANGE`].
    Faster,
    /// B is reliably slower, by more than [`MIN_CHANGE`].
    Slower,
    /// The interval lies within ±[`MIN_CHANGE`]: no change that matters.
    Same,
    /// The interval is too wide to tell.
    Inconclusive,
    /// One side did not verify: no timing to compare.
    Unverified,
}

impl Verdict {
    /// Its word in the output.
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Faster => "faster",
            Verdict::Slower => "SLOWER",
            Verdict::Same => "same",
            Verdict::Inconclusive => "inconclusive",
            Verdict::Unverified => "not verified",
        }
    }

    /// The verdict an interval of B / A gives, around the point estimate `ratio`.
    pub fn of(ratio: f64, ci: Interval) -> Verdict {
        let (up, down) = (1.0 + MIN_CHANGE, 1.0 / (1.0 + MIN_CHANGE));
        if ci.lo > 1.0 && ratio > up && ci.hi > up {
            Verdict::Slower
        } else if ci.hi < 1.0 && ratio < down && ci.lo < down {
            Verdict::Faster
        } else if ci.lo >= down && ci.hi <= up {
            Verdict::Same
        } else {
            Verdict::Inconclusive
        }
    }
}

/// Which ratio a verdict was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Basis {
    /// Wall times divided by each process's machine speed index.
    Calibrated,
    /// Wall times as measured (a file lacks the index).
    Raw,
}

/// A ratio B / A with its intervals.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ratio {
    /// The ratio of the medians.
    pub value: f64,
    /// Its 95 % interval.
    pub ci: Interval,
    /// Its [`VERDICT_LEVEL`] interval, which verdicts are read from.
    pub strict: Interval,
}

impl Ratio {
    fn of(value: f64, distribution: &[f64]) -> Ratio {
        Ratio {
            value,
            ci: Interval::of(distribution),
            strict: Interval::at(distribution, VERDICT_LEVEL),
        }
    }
}

/// One compared cell.
#[derive(Clone, Debug)]
pub struct Comparison {
    /// The cell key.
    pub key: String,
    /// Median wall time in A, seconds.
    pub median_a: f64,
    /// Median in B.
    pub median_b: f64,
    /// B / A as measured.
    pub raw: Option<Ratio>,
    /// B / A with every repetition divided by its process's speed index.
    pub calibrated: Option<Ratio>,
    /// B / A of each cell relative to its own file's sequential reference of the task.
    pub baseline: Option<Ratio>,
    /// Which ratio the verdict comes from.
    pub basis: Basis,
    /// The verdict.
    pub verdict: Verdict,
}

/// What the two files are, beside their cells.
#[derive(Clone, Debug, PartialEq)]
pub struct Machines {
    /// `cpu (cores)` of A and of B, where they differ.
    pub different: Option<(String, String)>,
    /// B's speed index over A's (above 1: B's machine ran the kernel slower), when both have it.
    pub speed: Option<f64>,
    /// Whether that ratio is further from 1 than [`SPEED_DIFFERENCE`].
    pub different_speed: bool,
    /// B's parallel speed index over A's, when both have it.
    pub parallel_speed: Option<f64>,
    /// The median one-minute load average before A's and before B's processes of the cells both
    /// measured, when both recorded it: a sustained load that the indexes, timing milliseconds,
    /// do not see (METHODOLOGY.md).
    pub load: Option<(f64, f64)>,
}

/// One side's samples of one cell.
struct Side {
    /// Wall seconds per repetition, per process.
    raw: Vec<Vec<f64>>,
    /// The same divided by each process's speed index; `None` if a process lacks it.
    calibrated: Option<Vec<Vec<f64>>>,
    /// The task with its parameters (`dnc/fib n=39`): which sequential reference is its.
    task: String,
}

/// The cells of one file: per key, its sides; `None` for a cell with an unverified round.
fn sides(records: &[Record]) -> BTreeMap<String, Option<Side>> {
    let mut out: BTreeMap<String, Option<Side>> = BTreeMap::new();
    for r in records {
        let entry = out.entry(r.key.clone()).or_insert_with(|| {
            Some(Side {
                raw: Vec::new(),
                calibrated: Some(Vec::new()),
                task: task_of(&r.key).to_string(),
            })
        });
        let Some(side) = entry.as_mut().filter(|_| r.status.is_verified()) else {
            *entry = None;
            continue;
        };
        let walls: Vec<f64> = r
            .measurement
            .reps
            .iter()
            .map(|rep| rep.wall_ns as f64 / 1e9)
            .collect();
        side.calibrated = match (side.calibrated.take(), index_of(r)) {
            (Some(mut c), Some(index)) if index > 0 => {
                c.push(walls.iter().map(|w| w / (index as f64 / 1e9)).collect());
                Some(c)
            }
            _ => None,
        };
        side.raw.push(walls);
    }
    out
}

/// The speed index a record's repetitions are divided by: the parallel one for a cell with
/// several workers where the process measured it (what W busy cores give is what such a cell
/// runs on), else the single-core one – also for a one-thread variant at a W its task fixes.
fn index_of(r: &Record) -> Option<u64> {
    let one_thread = crate::registry::variant_of(&r.backend, &r.task, &r.variant)
        .is_some_and(|v| v.workers == shootout_suite::Workers::Ignored);
    match r.measurement.calibration_parallel_ns {
        Some(parallel) if r.workers >= 2 && !one_thread => Some(parallel),
        _ => r.measurement.calibration_ns,
    }
}

/// The task-with-parameters part of a cell key (`dnc/fib n=39` of `dnc/fib n=39 | …`).
fn task_of(key: &str) -> &str {
    key.split(" | ").next().unwrap_or(key)
}

fn is_baseline(key: &str) -> bool {
    key.split(" | ")
        .nth(1)
        .is_some_and(|bv| bv.split('/').next() == Some(BASELINE))
}

/// A ratio B / A of two sets of clustered samples, with the bootstrap distributions it came
/// from (for ratios of ratios).
fn ratio(a: &[Vec<f64>], b: &[Vec<f64>], seed: u64) -> Option<(Ratio, Vec<f64>, Vec<f64>)> {
    let pooled =
        |s: &[Vec<f64>]| stats::median(&mut s.iter().flatten().copied().collect::<Vec<_>>());
    let (ma, mb) = (pooled(a), pooled(b));
    if ma <= 0.0 || mb <= 0.0 {
        return None;
    }
    let boot_a = stats::bootstrap_median(a, seed);
    let boot_b = stats::bootstrap_median(b, seed ^ 0x5EED);
    let ratio = Ratio::of(mb / ma, &stats::ratio_distribution(&boot_b, &boot_a));
    Some((ratio, boot_a, boot_b))
}

/// Compares every cell present in both `a` and `b`, in key order.
pub fn compare(a: &[Record], b: &[Record]) -> Vec<Comparison> {
    let (a, b) = (sides(a), sides(b));
    let baselines = |file: &BTreeMap<String, Option<Side>>| -> BTreeMap<String, Vec<Vec<f64>>> {
        file.iter()
            .filter(|(key, _)| is_baseline(key))
            .filter_map(|(_, side)| side.as_ref().map(|s| (s.task.clone(), s.raw.clone())))
            .collect()
    };
    let (base_a, base_b) = (baselines(&a), baselines(&b));
    a.iter()
        .filter_map(|(key, a)| b.get(key).map(|b| (key, a, b)))
        .map(|(key, a, b)| {
            let seed = stats::seed_of(key);
            let (Some(a), Some(b)) = (a, b) else {
                return unverified(key);
            };
            let Some((raw, boot_a, boot_b)) = ratio(&a.raw, &b.raw, seed) else {
                return unverified(key);
            };
            let calibrated = match (&a.calibrated, &b.calibrated) {
                (Some(ca), Some(cb)) => ratio(ca, cb, seed).map(|(r, ..)| r),
                _ => None,
            };
            let baseline = match (base_a.get(&a.task), base_b.get(&b.task)) {
                (Some(ra), Some(rb)) if !is_baseline(key) => {
                    ratio(ra, rb, seed ^ 0xBA5E).map(|(base, base_a, base_b)| {
                        // (B / B's reference) / (A / A's reference), resample by resample.
                        let dist: Vec<f64> = (0..boot_a.len().min(base_a.len()))
                            .filter(|&i| boot_a[i] > 0.0 && base_b[i] > 0.0)
                            .map(|i| (boot_b[i] / base_b[i]) / (boot_a[i] / base_a[i]))
                            .collect();
                        Ratio::of(raw.value / base.value, &dist)
                    })
                }
                _ => None,
            };
            let (basis, used) = match calibrated {
                Some(c) => (Basis::Calibrated, c),
                None => (Basis::Raw, raw),
            };
            let enough = a.raw.len() >= MIN_PROCESSES && b.raw.len() >= MIN_PROCESSES;
            Comparison {
                key: key.clone(),
                median_a: stats::median(&mut a.raw.concat()),
                median_b: stats::median(&mut b.raw.concat()),
                raw: Some(raw),
                calibrated,
                baseline,
                basis,
                verdict: if enough {
                    Verdict::of(used.value, used.strict)
                } else {
                    Verdict::Inconclusive
                },
            }
        })
        .collect()
}

fn unverified(key: &str) -> Comparison {
    Comparison {
        key: key.to_string(),
        median_a: f64::NAN,
        median_b: f64::NAN,
        raw: None,
        calibrated: None,
        baseline: None,
        basis: Basis::Raw,
        verdict: Verdict::Unverified,
    }
}

/// Whether A and B come from different machines, or from one machine at different speeds.
pub fn machines(a: &[Record], b: &[Record]) -> Machines {
    let describe = |rs: &[Record]| {
        rs.first()
            .map(|r| format!("{} ({} CPUs)", r.machine.cpu, r.machine.cores))
            .unwrap_or_default()
    };
    let median_of = |rs: &[Record], index: fn(&Record) -> Option<u64>| {
        let mut v: Vec<f64> = rs.iter().filter_map(index).map(|ns| ns as f64).collect();
        (!v.is_empty()).then(|| stats::median(&mut v))
    };
    // Over the cells both measured: a file may hold others, run under other loads.
    let keys = |rs: &[Record]| -> std::collections::BTreeSet<String> {
        rs.iter().map(|r| r.key.clone()).collect()
    };
    let load = |rs: &[Record], other: &[Record]| {
        let other = keys(other);
        let mut v: Vec<f64> = rs
            .iter()
            .filter(|r| other.contains(&r.key))
            .filter_map(|r| r.measurement.load_before)
            .collect();
        (!v.is_empty()).then(|| stats::median(&mut v))
    };
    let index = |rs: &[Record]| median_of(rs, |r| r.measurement.calibration_ns);
    let parallel = |rs: &[Record]| median_of(rs, |r| r.measurement.calibration_parallel_ns);
    let (da, db) = (describe(a), describe(b));
    let speed = match (index(a), index(b)) {
        (Some(ia), Some(ib)) if ia > 0.0 => Some(ib / ia),
        _ => None,
    };
    let parallel_speed = match (parallel(a), parallel(b)) {
        (Some(pa), Some(pb)) if pa > 0.0 => Some(pb / pa),
        _ => None,
    };
    Machines {
        different: (da != db).then_some((da, db)),
        speed,
        different_speed: [speed, parallel_speed]
            .iter()
            .flatten()
            .any(|s| (s - 1.0).abs() > SPEED_DIFFERENCE),
        parallel_speed,
        load: load(a, b).zip(load(b, a)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Measurement, Rep, SCHEMA, Status};
    use crate::stats::tests::lognormal;

    /// A cell the shape of the full profile, 5 processes x 2 repetitions, around `centre_ms`:
    /// each process with its own log-normal offset (σ 5 %) and each repetition its own noise
    /// (σ 3 %), on a machine whose speed index is `index_ns` (1 % noise per process).
    fn cell(key: &str, centre_ms: f64, index_ns: f64, salt: u64) -> Vec<Record> {
        let salt = shootout_suite::rng::mix(salt);
        (0..5u64)
            .map(|p| {
                let offset = lognormal(salt ^ (p << 40), 0.05);
                let walls: Vec<f64> = (0..2u64)
                    .map(|r| {
                        centre_ms * offset * lognormal(salt ^ (p << 40) ^ ((r + 1) << 52), 0.03)
                    })
                    .collect();
                let mut r = record(key, &walls);
                r.round = p as u32;
                r.measurement.calibration_ns =
                    Some((index_ns * lognormal(salt ^ (p << 40) ^ (7 << 56), 0.01)) as u64);
                r
            })
            .collect()
    }

    fn record(key: &str, walls_ms: &[f64]) -> Record {
        Record {
            schema: SCHEMA,
            run_id: "r".into(),
            key: key.into(),
            task: "dnc/fib".into(),
            params: Default::default(),
            backend: "threads".into(),
            variant: "scope".into(),
            workers: 2,
            profile: "full".into(),
            round: 0,
            seed: 0,
            status: Status::Verified,
            expected: String::new(),
            units: None,
            measurement: Measurement {
                reps: walls_ms
                    .iter()
                    .map(|ms| Rep {
                        wall_ns: (ms * 1e6) as u64,
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

    fn verdicts(a: &[Record], b: &[Record]) -> Vec<(String, Verdict)> {
        compare(a, b)
            .into_iter()
            .map(|c| (c.key, c.verdict))
            .collect()
    }

    const BASE: &str = "dnc/fib n=30 | sequential/recursive | workers=1";
    const FIB: &str = "dnc/fib n=30 | threads/scope | workers=2";
    const LOCK: &str = "sync/lock n=30 | threads/std | workers=2";

    /// Whether a verdict says "no change" (the noise is not called a change).
    fn unchanged(v: Verdict) -> bool {
        matches!(v, Verdict::Same | Verdict::Inconclusive)
    }

    #[test]
    fn a_real_slowdown_is_caught_and_noise_is_not() {
        // Fifty pairs of runs on the same machine: each time the threads fib cell really is
        // 1.25x slower in B, and the other two cells differ only by noise.
        let (mut caught, mut false_calls) = (0, 0);
        for salt in 0..50 {
            let s = salt * 100;
            let a = [
                cell(BASE, 100.0, 5e6, s + 1),
                cell(FIB, 50.0, 5e6, s + 2),
                cell(LOCK, 20.0, 5e6, s + 3),
            ]
            .concat();
            let b = [
                cell(BASE, 100.0, 5e6, s + 11),
                cell(FIB, 62.5, 5e6, s + 12),
                cell(LOCK, 20.0, 5e6, s + 13),
            ]
            .concat();
            for c in compare(&a, &b) {
                if c.key == FIB {
                    caught += usize::from(c.verdict == Verdict::Slower);
                    assert_eq!(c.basis, Basis::Calibrated);
                    assert!(c.baseline.is_some(), "both files have the reference");
                } else {
                    false_calls += usize::from(!unchanged(c.verdict));
                }
            }
        }
        // Deterministic noise: these are the rates the rule gives, with room to spare.
        eprintln!(
            "caught {caught} of 50 slowdowns; {false_calls} false calls in 100 unchanged cells"
        );
        assert!(caught >= 48, "caught {caught} of 50");
        assert!(
            false_calls <= 2,
            "{false_calls} false calls in 100 unchanged cells"
        );
    }

    #[test]
    fn a_slower_machine_is_told_apart_from_a_slower_model() {
        // B's machine is 1.4x slower at everything, the calibration kernel included: the raw
        // ratios all say slower, the calibrated ones say no change, except for the cell that
        // also got 1.25x slower on its own.
        let a = [
            cell(BASE, 100.0, 5e6, 1),
            cell(FIB, 50.0, 5e6, 2),
            cell(LOCK, 20.0, 5e6, 3),
        ]
        .concat();
        let b = [
            cell(BASE, 140.0, 7e6, 11),
            cell(FIB, 87.5, 7e6, 12),
            cell(LOCK, 28.0, 7e6, 13),
        ]
        .concat();
        let compared = compare(&a, &b);
        assert!(compared.iter().all(|c| c.raw.unwrap().ci.lo > 1.2));
        for c in &compared {
            if c.key == FIB {
                assert_eq!(c.verdict, Verdict::Slower);
            } else {
                assert!(unchanged(c.verdict), "{c:?}");
            }
        }
        let m = machines(&a, &b);
        assert!(
            m.different_speed && (m.speed.unwrap() - 1.4).abs() < 0.02,
            "{m:?}"
        );
        assert_eq!(m.different, None);
    }

    #[test]
    fn busy_cores_that_run_slower_are_told_apart_from_a_slower_model() {
        // One core is as fast in B as in A, but with both cores busy each runs 1.4x slower
        // (a hyperthread sibling busy on the host): the parallel index sees it, so the
        // two-worker cells are calibrated back to no change, except the one that also got
        // 1.25x slower on its own; the one-worker reference is calibrated by the single index.
        let with_parallel = |mut rs: Vec<Record>, factor: f64, workers: usize| {
            for r in &mut rs {
                r.workers = workers;
                let single = r.measurement.calibration_ns.unwrap() as f64;
                r.measurement.calibration_parallel_ns = Some((single * factor) as u64);
            }
            rs
        };
        let a = [
            with_parallel(cell(BASE, 100.0, 5e6, 1), 1.1, 1),
            with_parallel(cell(FIB, 50.0, 5e6, 2), 1.1, 2),
            with_parallel(cell(LOCK, 20.0, 5e6, 3), 1.1, 2),
        ]
        .concat();
        let b = [
            with_parallel(cell(BASE, 100.0, 5e6, 11), 1.54, 1),
            with_parallel(cell(FIB, 87.5, 5e6, 12), 1.54, 2),
            with_parallel(cell(LOCK, 28.0, 5e6, 13), 1.54, 2),
        ]
        .concat();
        for c in compare(&a, &b) {
            assert_eq!(c.basis, Basis::Calibrated);
            if c.key == FIB {
                assert_eq!(c.verdict, Verdict::Slower, "{c:?}");
            } else {
                assert!(unchanged(c.verdict), "{c:?}");
            }
        }
        let m = machines(&a, &b);
        assert!(
            m.different_speed && (m.parallel_speed.unwrap() - 1.4).abs() < 0.02,
            "{m:?}"
        );
        assert!((m.speed.unwrap() - 1.0).abs() < 0.02, "{m:?}");
        assert_eq!(m.load, None, "no load recorded, none reported");
    }

    #[test]
    fn the_load_before_each_sides_cells_is_reported() {
        let with_load = |mut rs: Vec<Record>, loads: &[f64]| {
            for (r, &load) in rs.iter_mut().zip(loads.iter().cycle()) {
                r.measurement.load_before = Some(load);
            }
            rs
        };
        let a = with_load(cell(FIB, 50.0, 5e6, 2), &[1.6, 1.8, 2.0]);
        let b = with_load(cell(FIB, 50.0, 5e6, 12), &[2.3]);
        assert_eq!(machines(&a, &b).load, Some((1.8, 2.3)));
    }

    #[test]
    fn without_the_index_the_verdict_is_raw() {
        let strip = |mut rs: Vec<Record>| {
            rs.iter_mut()
                .for_each(|r| r.measurement.calibration_ns = None);
            rs
        };
        let a = strip(cell(FIB, 50.0, 5e6, 2));
        let b = strip(cell(FIB, 62.5, 5e6, 12));
        let c = &compare(&a, &b)[0];
        assert_eq!((c.basis, c.verdict), (Basis::Raw, Verdict::Slower));
        assert_eq!(machines(&a, &b).speed, None);
    }

    #[test]
    fn a_wide_interval_is_inconclusive() {
        let a: Vec<Record> = (0..5)
            .map(|p| record(FIB, &[if p % 2 == 0 { 50.0 } else { 80.0 }]))
            .collect();
        let b: Vec<Record> = (0..5)
            .map(|p| record(FIB, &[if p % 2 == 0 { 55.0 } else { 85.0 }]))
            .collect();
        assert_eq!(verdicts(&a, &b), [(FIB.into(), Verdict::Inconclusive)]);
    }

    #[test]
    fn a_consistent_shift_below_the_threshold_is_the_same() {
        let a = vec![record("k", &[100.0, 100.0]); 3];
        let b = vec![record("k", &[103.0, 103.0]); 3];
        assert_eq!(compare(&a, &b)[0].verdict, Verdict::Same);
    }

    #[test]
    fn too_few_processes_are_inconclusive_however_large_the_change() {
        let a = vec![record("k", &[100.0, 100.0, 100.0]); 2];
        let b = vec![record("k", &[200.0, 200.0, 200.0]); 2];
        assert_eq!(compare(&a, &b)[0].verdict, Verdict::Inconclusive);
    }

    #[test]
    fn unverified_cells_are_not_compared() {
        let a = vec![record("k", &[100.0])];
        let mut failed = record("k", &[100.0]);
        failed.status = Status::WrongAnswer;
        assert_eq!(compare(&a, &[failed])[0].verdict, Verdict::Unverified);
    }
}
