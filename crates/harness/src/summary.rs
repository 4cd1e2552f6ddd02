//! From raw records to one summary per cell: medians, spread, merged latencies.
//!
//! Read-only: nothing here measures. The end-of-run table and the published reports are both
//! made from these summaries, so they can never disagree about a number.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use crate::cell::summarize;
use crate::record::{Latency, Record, Status};
use crate::registry;
use shootout_suite::TaskId;

/// A cell whose relative spread (median absolute deviation / median) exceeds this is flagged.
pub const NOISY: f64 = 0.10;

/// Every round of one cell, reduced.
#[derive(Clone, Debug)]
pub struct CellSummary {
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
    /// How many measured repetitions, over all rounds.
    pub reps: usize,
    /// Median wall time per repetition, seconds.
    pub wall_s: f64,
    /// Median absolute deviation of the wall time, relative to the median.
    pub spread: f64,
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
    /// Units per second at the median wall time.
    pub throughput: Option<f64>,
}

impl CellSummary {
    /// Whether the spread is too wide to trust the median.
    pub fn is_noisy(&self) -> bool {
        self.spread > NOISY
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
}

/// The median of `values` (0 for none).
pub fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// The median absolute deviation divided by the median.
pub fn relative_mad(values: &[f64]) -> f64 {
    let m = median(&mut values.to_vec());
    if m == 0.0 {
        return 0.0;
    }
    let mut deviations: Vec<f64> = values.iter().map(|v| (v - m).abs()).collect();
    median(&mut deviations) / m
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
    let reps: Vec<_> = rounds.iter().flat_map(|r| &r.measurement.reps).collect();
    let walls: Vec<f64> = reps.iter().map(|r| r.wall_ns as f64 / 1e9).collect();
    let wall_s = median(&mut walls.clone());
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

    CellSummary {
        task: first.task.clone(),
        params: first.params.clone(),
        backend: first.backend.clone(),
        variant: first.variant.clone(),
        workers: first.workers,
        status: worst.status,
        error: worst.measurement.error.clone(),
        reps: reps.len(),
        wall_s,
        spread: relative_mad(&walls),
        cpu_s: median(&mut cpu),
        switches: median(&mut switches),
        setup_s: median(&mut setup),
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
        latency: merged.as_ref().map(summarize),
        throughput: first
            .units
            .filter(|_| wall_s > 0.0)
            .map(|u| u as f64 / wall_s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_spread() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&mut []), 0.0);
        assert_eq!(relative_mad(&[10.0, 10.0, 10.0]), 0.0);
        assert!((relative_mad(&[9.0, 10.0, 11.0]) - 0.1).abs() < 1e-12);
    }
}
