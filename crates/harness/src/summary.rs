//! From raw records to one summary per cell: medians with their intervals, the distribution
//! checks, merged latencies.
//!
//! Read-only: nothing here measures. The end-of-run table and the published reports are both
//! made from these summaries, so they can never disagree about a number. The statistics
//! themselves (what is independent, how an interval is made) are in [`crate::stats`].

use std::collections::{BTreeMap, BTreeSet};

use hdrhistogram::Histogram;

use crate::cell::{CPU_SLACK, STEAL, summarize};
use crate::record::{Latency, Placement, Record, Status};
use crate::registry;
use crate::stats::{self, Flag, Interval, Tail};
use shootout_suite::{Profile, Task, TaskId};

/// At most this many threads per phase, on average, and a barrier's parties are `serial`: one
/// thread ran them in turn rather than two or more at once.
const SERIAL: f64 = 1.1;

/// Every round of one cell, reduced.
#[derive(Clone, Debug)]
pub struct CellSummary {
    /// The cell's key.
    pub key: String,
    /// The task name.
    pub task: String,
    /// The task parameters.
    pub params: BTreeMap<String, u64>,
    /// Backend name.
    pub backend: String,
    /// Variant name.
    pub variant: String,
    /// Worker count.
    pub workers: usize,
    /// The worst status over the rounds (a single failure fails the cell).
    pub status: Status,
    /// The first error seen.
    pub error: Option<String>,
    /// How many cell processes (rounds) measured it: the independent samples.
    pub processes: usize,
    /// How many measured repetitions, over all processes.
    pub reps: usize,
    /// Median wall time per repetition, seconds (over every repetition of every process).
    pub wall_s: f64,
    /// Its 95 % interval (a bootstrap over processes, repetitions resampled within them).
    pub wall_ci: Interval,
    /// The bootstrap distribution of the median wall time, for intervals of ratios.
    pub wall_boot: Vec<f64>,
    /// Each process's median wall time, seconds, in the order the processes ran.
    pub process_medians: Vec<f64>,
    /// What the distribution checks found (empty: one clean population).
    pub flags: Vec<Flag>,
    /// Median CPU seconds (user + sys) per repetition.
    pub cpu_s: f64,
    /// Median context switches (voluntary + involuntary) per repetition.
    pub switches: f64,
    /// Median setup time, seconds.
    pub setup_s: f64,
    /// Largest peak RSS of the cell process over the rounds, KiB.
    pub peak_rss_kib: u64,
    /// Largest sum of the child processes' peak RSS over the rounds, KiB.
    pub children_peak_rss_kib: u64,
    /// The profile the parameters started from.
    pub profile: String,
    /// Largest peak thread count over the rounds.
    pub peak_threads: u64,
    /// Latencies merged over every round.
    pub latency: Option<Latency>,
    /// The latency figures with their intervals, where the task has latencies.
    pub latency_figures: Option<LatencyFigures>,
    /// Units per second at the median wall time.
    pub throughput: Option<f64>,
    /// Its interval.
    pub throughput_ci: Option<Interval>,
    /// The median of the processes' machine speed index, seconds (absent in old records).
    pub calibration_s: Option<f64>,
    /// The most steal any process of the cell saw, percent.
    pub steal_pct: f64,
    /// Where the parties ran, over every process (sync tasks that report it).
    pub placement: Option<Placement>,
    /// The facts the backend reported (`Measurement::facts`), each with every value its
    /// processes reported, joined by ` | ` when they differ.
    pub facts: BTreeMap<String, String>,
}

/// A cell's latency median and tail, each with its interval over processes.
#[derive(Clone, Copy, Debug)]
pub struct LatencyFigures {
    /// How many samples.
    pub count: u64,
    /// The median, seconds.
    pub p50_s: f64,
    /// Its interval.
    pub p50_ci: Interval,
    /// The tail percentile the sample count supports.
    pub tail: Tail,
    /// Its value, seconds.
    pub tail_s: f64,
    /// Its interval.
    pub tail_ci: Interval,
}

impl CellSummary {
    /// The worker count the cell's task fixes for every model, if it does (the pipeline's
    /// P + C), read from its parameters.
    pub fn fixed_workers(&self) -> Option<usize> {
        let id = TaskId::parse(&self.task)?;
        let profile = Profile::parse(&self.profile).unwrap_or(Profile::Full);
        let mut task = Task::new(id, profile);
        for (name, value) in &self.params {
            task.set(name, *value).ok()?;
        }
        task.fixed_workers()
    }

    /// Whether the cell is the same whatever W is: measured at one W, shown at every W.
    pub fn any_workers(&self) -> bool {
        registry::any_workers(&self.backend, &self.task, &self.variant)
    }

    /// The task with its parameters, as a heading: `dnc/fib n=36 grain=20`.
    pub fn task_heading(&self) -> String {
        let params: Vec<String> = self
            .params
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        format!("{} {}", self.task, params.join(" "))
    }

    /// The interval's half-width relative to the median.
    pub fn relative_half_width(&self) -> f64 {
        self.wall_ci.relative_half_width(self.wall_s)
    }

    /// The speedup of this cell over `base` (base median / this median) with its interval.
    pub fn speedup_over(&self, base: &CellSummary) -> Option<(f64, Interval)> {
        if self.wall_s <= 0.0 {
            return None;
        }
        let ratios = stats::ratio_distribution(&base.wall_boot, &self.wall_boot);
        Some((base.wall_s / self.wall_s, Interval::of(&ratios)))
    }
}

fn severity(status: Status) -> u8 {
    match status {
        Status::Verified => 0,
        Status::Timeout => 1,
        Status::Failed => 2,
        Status::Crashed => 3,
        Status::WrongAnswer => 4,
    }
}

/// Groups records by cell key and reduces each group, in table order: task, parameters,
/// backend (registry order), variant (the backend's order), workers.
pub fn summarize_cells(records: &[Record]) -> Vec<CellSummary> {
    let mut groups: BTreeMap<&str, Vec<&Record>> = BTreeMap::new();
    for record in records {
        groups.entry(&record.key).or_default().push(record);
    }
    let mut cells: Vec<CellSummary> = groups.values().map(|group| reduce(group)).collect();
    cells.sort_by_cached_key(table_order);
    cells
}

fn table_order(c: &CellSummary) -> (usize, Vec<u64>, usize, usize, usize) {
    let task = TaskId::parse(&c.task);
    let backends = registry::backends();
    let backend = backends
        .iter()
        .position(|b| b.name == c.backend)
        .unwrap_or(backends.len());
    let variant = match (task, registry::find(&c.backend)) {
        (Some(task), Some(b)) => b
            .support(task)
            .variants()
            .iter()
            .position(|v| v.name == c.variant),
        _ => None,
    };
    (
        task.map_or(usize::MAX, |t| t as usize),
        c.params.values().copied().collect(),
        backend,
        variant.unwrap_or(usize::MAX),
        c.workers,
    )
}

fn reduce(rounds: &[&Record]) -> CellSummary {
    let first = rounds[0];
    let worst = rounds
        .iter()
        .max_by_key(|r| severity(r.status))
        .expect("a group is never empty");
    // The processes in the order they ran.
    let mut ordered: Vec<&Record> = rounds.to_vec();
    ordered.sort_by_key(|r| (r.finished_at, r.round));
    let processes: Vec<Vec<f64>> = ordered
        .iter()
        .map(|r| {
            r.measurement
                .reps
                .iter()
                .map(|rep| rep.wall_ns as f64 / 1e9)
                .collect()
        })
        .filter(|p: &Vec<f64>| !p.is_empty())
        .collect();
    let seed = stats::seed_of(&first.key);
    let reps: Vec<_> = rounds.iter().flat_map(|r| &r.measurement.reps).collect();
    let mut walls: Vec<f64> = processes.iter().flatten().copied().collect();
    let wall_s = stats::median(&mut walls);
    let wall_boot = stats::bootstrap_median(&processes, seed);
    let wall_ci = if wall_boot.is_empty() {
        Interval {
            lo: wall_s,
            hi: wall_s,
        }
    } else {
        Interval::of(&wall_boot)
    };
    let mut cpu: Vec<f64> = reps
        .iter()
        .map(|r| (r.user_ns + r.sys_ns) as f64 / 1e9)
        .collect();
    let mut switches: Vec<f64> = reps
        .iter()
        .map(|r| (r.voluntary_switches + r.involuntary_switches) as f64)
        .collect();
    let mut setup: Vec<f64> = rounds
        .iter()
        .map(|r| r.measurement.setup_ns as f64 / 1e9)
        .collect();

    let mut merged: Option<Histogram<u64>> = None;
    for latency in rounds.iter().filter_map(|r| r.measurement.latency.as_ref()) {
        let h = merged.get_or_insert_with(crate::cell::new_histogram);
        for &(value, count) in &latency.buckets {
            h.saturating_record_n(value, count);
        }
    }
    let latency = merged.as_ref().map(summarize);
    let latency_figures = latency.as_ref().map(|l| {
        let buckets: Vec<Vec<(u64, u64)>> = ordered
            .iter()
            .filter_map(|r| r.measurement.latency.as_ref())
            .map(|l| l.buckets.clone())
            .collect();
        let tail = Tail::supported_by(l.count);
        let seconds = |i: Interval| Interval {
            lo: i.lo / 1e9,
            hi: i.hi / 1e9,
        };
        LatencyFigures {
            count: l.count,
            p50_s: l.p50_ns as f64 / 1e9,
            p50_ci: seconds(Interval::of(&stats::bootstrap_quantile(
                &buckets, 0.5, seed,
            ))),
            tail,
            tail_s: match tail {
                Tail::P99 => l.p99_ns,
                Tail::P90 => l.p90_ns,
                Tail::Max => l.max_ns,
            } as f64
                / 1e9,
            tail_ci: seconds(Interval::of(&stats::bootstrap_quantile(
                &buckets,
                tail.quantile(),
                seed ^ 1,
            ))),
        }
    });

    let verified = worst.status.is_verified();
    let mut flags = if verified {
        stats::distribution_flags(&processes)
    } else {
        Vec::new()
    };
    if verified && wall_ci.relative_half_width(wall_s) > stats::WIDE {
        flags.push(Flag::Wide);
    }
    if verified && processes.len() == 1 {
        flags.push(Flag::OneProcess);
    }
    let steal_pct = rounds
        .iter()
        .filter_map(|r| r.measurement.steal_pct)
        .fold(0.0, f64::max);
    if steal_pct > STEAL {
        flags.push(Flag::Steal(steal_pct));
    }
    let cores = first.machine.cores.max(1) as f64;
    let most_cpu = reps.iter().filter_map(|r| r.cpu_use()).fold(0.0, f64::max);
    if most_cpu > cores * CPU_SLACK {
        flags.push(Flag::CpuOver(most_cpu));
    }
    let mut placement: Option<Placement> = None;
    for p in rounds
        .iter()
        .filter_map(|r| r.measurement.placement.as_ref())
    {
        placement.get_or_insert_default().merge(p);
    }
    let parallel_possible = first.workers >= 2 && cores >= 2.0;
    if let Some(threads) = placement.and_then(|p| p.threads_per_phase())
        && verified
        && parallel_possible
        && threads <= SERIAL
    {
        flags.push(Flag::Serial(threads));
    }
    let mut calibration: Vec<f64> = rounds
        .iter()
        .filter_map(|r| r.measurement.calibration_ns)
        .map(|ns| ns as f64 / 1e9)
        .collect();
    let throughput = first
        .units
        .filter(|_| wall_s > 0.0)
        .map(|u| u as f64 / wall_s);

    CellSummary {
        key: first.key.clone(),
        task: first.task.clone(),
        params: first.params.clone(),
        backend: first.backend.clone(),
        variant: first.variant.clone(),
        workers: first.workers,
        status: worst.status,
        error: worst.measurement.error.clone(),
        processes: processes.len(),
        reps: reps.len(),
        wall_s,
        wall_ci,
        wall_boot,
        process_medians: processes
            .iter()
            .map(|p| stats::median(&mut p.clone()))
            .collect(),
        flags,
        cpu_s: stats::median(&mut cpu),
        switches: stats::median(&mut switches),
        setup_s: stats::median(&mut setup),
        peak_rss_kib: rounds
            .iter()
            .map(|r| r.measurement.peak_rss_kib)
            .max()
            .unwrap_or(0),
        children_peak_rss_kib: rounds
            .iter()
            .map(|r| r.measurement.children_peak_rss_kib)
            .max()
            .unwrap_or(0),
        profile: first.profile.clone(),
        peak_threads: rounds
            .iter()
            .map(|r| r.measurement.peak_threads)
            .max()
            .unwrap_or(0),
        latency,
        latency_figures,
        throughput,
        throughput_ci: first
            .units
            .filter(|_| wall_ci.lo > 0.0)
            .map(|u| wall_ci.map_decreasing(|w| u as f64 / w)),
        calibration_s: (!calibration.is_empty()).then(|| stats::median(&mut calibration)),
        steal_pct,
        placement,
        facts: facts_of(rounds),
    }
}

/// Every fact the processes of a cell reported, its distinct values joined in order.
fn facts_of(rounds: &[&Record]) -> BTreeMap<String, String> {
    let mut values: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (name, value) in rounds.iter().flat_map(|r| &r.measurement.facts) {
        values.entry(name).or_default().insert(value);
    }
    values
        .into_iter()
        .map(|(name, seen)| {
            (
                name.to_string(),
                seen.into_iter().collect::<Vec<_>>().join(" | "),
            )
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::record::{Measurement, Rep, SCHEMA};

    fn record(round: u32, walls_ms: &[u64]) -> Record {
        cell_record("dnc/fib", "threads", "scope", 2, round, walls_ms)
    }

    /// A verified record of `backend/variant` on `task` (at no parameters) with `workers`,
    /// from round `round`, its repetitions taking `walls_ms` milliseconds each on one core.
    pub(crate) fn cell_record(
        task: &str,
        backend: &str,
        variant: &str,
        workers: usize,
        round: u32,
        walls_ms: &[u64],
    ) -> Record {
        Record {
            schema: SCHEMA,
            run_id: "r".into(),
            key: format!("{task} | {backend}/{variant} | workers={workers}"),
            task: task.into(),
            params: Default::default(),
            backend: backend.into(),
            variant: variant.into(),
            workers,
            profile: "full".into(),
            round,
            seed: 0,
            status: Status::Verified,
            expected: String::new(),
            units: Some(1000),
            measurement: Measurement {
                reps: walls_ms
                    .iter()
                    .map(|ms| Rep {
                        wall_ns: ms * 1_000_000,
                        user_ns: ms * 1_000_000,
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            },
            command: String::new(),
            cell_command: String::new(),
            finished_at: u64::from(round),
            machine: crate::record::Fingerprint {
                cores: 2,
                ..Default::default()
            },
        }
    }

    #[test]
    fn a_cell_reduces_to_a_median_with_an_interval_and_no_flags() {
        let rounds: Vec<Record> = (0..5)
            .map(|r| record(r, &[100 + u64::from(r), 101, 99 + u64::from(r)]))
            .collect();
        let cells = summarize_cells(&rounds);
        let c = &cells[0];
        assert_eq!((c.processes, c.reps), (5, 15));
        assert!((c.wall_s - 0.101).abs() < 1e-9, "{}", c.wall_s);
        assert!(c.wall_ci.contains(c.wall_s) && c.wall_ci.hi - c.wall_ci.lo < 0.005);
        assert_eq!(c.flags, []);
        let (speedup, ci) = c.speedup_over(c).unwrap();
        assert_eq!(speedup, 1.0);
        assert!(ci.contains(1.0));
        let t = c.throughput_ci.unwrap();
        assert!(t.contains(c.throughput.unwrap()));
    }

    #[test]
    fn parties_that_took_turns_are_flagged_serial_and_wakes_are_summed() {
        let placed = |w: usize, round: u32, p: crate::record::Placement| {
            let mut r = cell_record("sync/barrier", "tokio", "barrier", w, round, &[10, 10]);
            r.measurement.placement = Some(p);
            r
        };
        let turns = crate::record::Placement {
            phases: 100,
            phase_threads: 103,
            ..Default::default()
        };
        let c = &summarize_cells(&[placed(2, 0, turns), placed(2, 1, turns)])[0];
        assert!(c.flags.contains(&Flag::Serial(1.03)), "{:?}", c.flags);
        assert_eq!(c.placement.unwrap().phases, 200);
        // Two threads a phase, or one party: nothing to flag.
        let parallel = crate::record::Placement {
            phase_threads: 200,
            ..turns
        };
        let c = &summarize_cells(&[placed(2, 0, parallel)])[0];
        assert!(!c.flags.iter().any(|f| matches!(f, Flag::Serial(_))));
        let c = &summarize_cells(&[placed(1, 0, turns)])[0];
        assert!(!c.flags.iter().any(|f| matches!(f, Flag::Serial(_))));
    }

    #[test]
    fn a_process_that_disagrees_is_flagged_and_its_median_shown() {
        let rounds = vec![
            record(0, &[51, 52, 51]),
            record(1, &[2, 2, 2]),
            record(2, &[2, 2, 2]),
        ];
        let c = &summarize_cells(&rounds)[0];
        assert!(c.flags.contains(&Flag::Bimodal), "{:?}", c.flags);
        assert!(c.flags.contains(&Flag::Wide), "{:?}", c.flags);
        assert_eq!(c.process_medians, [0.051, 0.002, 0.002]);
    }

    #[test]
    fn cpu_above_cores_times_wall_is_flagged() {
        let mut r = record(0, &[100, 100]);
        r.measurement.reps[0].sys_ns = 200_000_000; // 300 ms of CPU in 100 ms on two cores
        let c = &summarize_cells(&[r])[0];
        assert!(c.flags.contains(&Flag::CpuOver(3.0)), "{:?}", c.flags);
        assert!(c.flags.contains(&Flag::OneProcess));
    }
}
