//! The statistics of a cell: medians with intervals that respect what is independent, and the
//! checks that find a distribution which is not one population.
//!
//! The unit of independence is the cell *process*: each round of a cell is a fresh process,
//! started at a different moment of the run, with its own memory layout, thread placement and
//! CPU frequency history. The repetitions inside one process share all of that, so they are
//! clustered, not independent. Every interval here is therefore a *cluster bootstrap*: resample
//! the processes with replacement, then the repetitions within each chosen process, and take
//! the statistic of the pooled resample; the 2.5th and 97.5th percentiles of [`RESAMPLES`]
//! such statistics are the 95 % interval. The generator is seeded from the cell's key, so the
//! same records always give the same intervals (the published tables are byte-reproducible).
//!
//! Read-only: nothing here measures.

use shootout_suite::rng::SplitMix64;

/// How many bootstrap resamples an interval is made from.
pub const RESAMPLES: usize = 2000;

/// A repetition at least this many times the cell's fastest is an outlier.
pub const OUTLIER: f64 = 3.0;

/// Two clusters of values are separated when the gap between them is at least this ratio…
pub const CLUSTER_GAP: f64 = 1.25;

/// …and at least this many times the widest spread (in log scale) inside either cluster.
pub const CLUSTER_SEPARATION: f64 = 2.0;

/// A trend across repetitions counts as drift when it moves the median by this much (relative)
/// and is this consistent (Kendall's τ, in absolute value); see [`distribution_flags`].
pub const DRIFT_CHANGE: f64 = 0.10;
/// See [`DRIFT_CHANGE`].
pub const DRIFT_TAU: f64 = 0.6;

/// An interval wider than this (half-width relative to the median) marks the cell `wide`.
pub const WIDE: f64 = 0.10;

/// The median of `values` (0 for none).
pub fn median(values: &mut [f64]) -> f64 {
    quantile(values, 0.5)
}

/// The `q`-quantile of `values` by linear interpolation between order statistics (0 for none).
pub fn quantile(values: &mut [f64], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let position = q.clamp(0.0, 1.0) * (values.len() - 1) as f64;
    let (below, above) = (position.floor() as usize, position.ceil() as usize);
    let weight = position - below as f64;
    values[below] * (1.0 - weight) + values[above] * weight
}

/// A 95 % interval around an estimate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Interval {
    /// The lower bound.
    pub lo: f64,
    /// The upper bound.
    pub hi: f64,
}

impl Interval {
    /// The 95 % interval of a bootstrap distribution: its 2.5th and 97.5th percentiles.
    pub fn of(distribution: &[f64]) -> Interval {
        Interval::at(distribution, 0.95)
    }

    /// The interval of a bootstrap distribution at confidence `level` (its central `level`).
    pub fn at(distribution: &[f64], level: f64) -> Interval {
        let mut sorted: Vec<f64> = distribution
            .iter()
            .copied()
            .filter(|x| x.is_finite())
            .collect();
        let tail = (1.0 - level) / 2.0;
        Interval {
            lo: quantile(&mut sorted, tail),
            hi: quantile(&mut sorted, 1.0 - tail),
        }
    }

    /// The interval's half-width relative to `estimate` (0 for a zero estimate).
    pub fn relative_half_width(&self, estimate: f64) -> f64 {
        if estimate == 0.0 {
            0.0
        } else {
            (self.hi - self.lo) / 2.0 / estimate.abs()
        }
    }

    /// The interval of `f(x)` for a decreasing `f` (a rate from a time, say).
    pub fn map_decreasing(&self, f: impl Fn(f64) -> f64) -> Interval {
        Interval {
            lo: f(self.hi),
            hi: f(self.lo),
        }
    }

    /// Whether `x` lies inside.
    pub fn contains(&self, x: f64) -> bool {
        self.lo <= x && x <= self.hi
    }
}

/// A seed for the bootstrap of one cell: a hash of its key (FNV-1a), so that every report of
/// the same records resamples the same way.
pub fn seed_of(key: &str) -> u64 {
    key.bytes().fold(0xCBF2_9CE4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01B3)
    })
}

/// The bootstrap distribution of the median of clustered samples: `processes[p]` holds the
/// repetitions of process `p`. Empty when there are no samples.
pub fn bootstrap_median(processes: &[Vec<f64>], seed: u64) -> Vec<f64> {
    let processes: Vec<&Vec<f64>> = processes.iter().filter(|p| !p.is_empty()).collect();
    if processes.is_empty() {
        return Vec::new();
    }
    let mut rng = SplitMix64::new(seed);
    let mut pooled = Vec::new();
    (0..RESAMPLES)
        .map(|_| {
            pooled.clear();
            for _ in 0..processes.len() {
                let process = processes[rng.below(processes.len() as u64) as usize];
                for _ in 0..process.len() {
                    pooled.push(process[rng.below(process.len() as u64) as usize]);
                }
            }
            median(&mut pooled)
        })
        .collect()
}

/// The bootstrap distribution of the `q`-quantile of latency histograms, one per process, as
/// `(value, count)` buckets: resample the processes, merge, read the quantile. (The samples
/// inside a process are many and are not resampled; the processes are what varies.)
///
/// Merging is done on counts over the union of the processes' values, weighted by how often
/// each process was drawn: the same answer as concatenating and sorting the drawn histograms,
/// without a sort per resample.
pub fn bootstrap_quantile(processes: &[Vec<(u64, u64)>], q: f64, seed: u64) -> Vec<f64> {
    let processes: Vec<&Vec<(u64, u64)>> = processes.iter().filter(|p| !p.is_empty()).collect();
    if processes.is_empty() {
        return Vec::new();
    }
    let mut values: Vec<u64> = processes
        .iter()
        .flat_map(|p| p.iter().map(|b| b.0))
        .collect();
    values.sort_unstable();
    values.dedup();
    let counts: Vec<Vec<u64>> = processes
        .iter()
        .map(|p| {
            let mut counts = vec![0; values.len()];
            for &(value, n) in p.iter() {
                counts[values.partition_point(|&v| v < value)] += n;
            }
            counts
        })
        .collect();
    let mut rng = SplitMix64::new(seed);
    let mut drawn = vec![0u64; processes.len()];
    let mut merged = vec![0u64; values.len()];
    (0..RESAMPLES / 4)
        .map(|_| {
            drawn.fill(0);
            for _ in 0..processes.len() {
                drawn[rng.below(processes.len() as u64) as usize] += 1;
            }
            merged.fill(0);
            for (counts, &times) in counts.iter().zip(&drawn).filter(|(_, t)| **t > 0) {
                for (sum, &n) in merged.iter_mut().zip(counts) {
                    *sum += times * n;
                }
            }
            quantile_of_counts(&values, &merged, q) as f64
        })
        .collect()
}

/// The `q`-quantile of `counts[i]` samples at `values[i]` (ascending values).
fn quantile_of_counts(values: &[u64], counts: &[u64], q: f64) -> u64 {
    let total: u64 = counts.iter().sum();
    let wanted = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
    let mut seen = 0;
    for (&value, &n) in values.iter().zip(counts) {
        seen += n;
        if seen >= wanted {
            return value;
        }
    }
    values.last().copied().unwrap_or(0)
}

/// The `q`-quantile of `(value, count)` buckets: the smallest value with at least `q` of the
/// total count at or below it.
pub fn weighted_quantile(buckets: &mut [(u64, u64)], q: f64) -> u64 {
    buckets.sort_unstable_by_key(|&(value, _)| value);
    let (values, counts): (Vec<u64>, Vec<u64>) = buckets.iter().copied().unzip();
    quantile_of_counts(&values, &counts, q)
}

/// The bootstrap distribution of `a / b` from two independent bootstrap distributions.
pub fn ratio_distribution(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter()
        .zip(b)
        .filter(|(_, b)| **b > 0.0)
        .map(|(a, b)| a / b)
        .collect()
}

/// The tail percentile a count of samples supports: one with at least ten samples beyond it.
/// Fewer than that, and "p99" would be the maximum or close to it, so the table says so.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tail {
    /// The 99th percentile (at least 1 000 samples).
    P99,
    /// The 90th percentile (at least 100 samples).
    P90,
    /// The largest sample (fewer than 100).
    Max,
}

impl Tail {
    /// The tail `count` samples support.
    pub fn supported_by(count: u64) -> Tail {
        match count {
            1000.. => Tail::P99,
            100.. => Tail::P90,
            _ => Tail::Max,
        }
    }

    /// The quantile it names.
    pub fn quantile(self) -> f64 {
        match self {
            Tail::P99 => 0.99,
            Tail::P90 => 0.90,
            Tail::Max => 1.0,
        }
    }

    /// Its name in a table: `p99`, `p90`, `max`.
    pub fn label(self) -> &'static str {
        match self {
            Tail::P99 => "p99",
            Tail::P90 => "p90",
            Tail::Max => "max",
        }
    }
}

/// Something about a cell's distribution that is not the model at work.
#[derive(Clone, Debug, PartialEq)]
pub enum Flag {
    /// The processes, or the repetitions, fall into separated clusters (at least two on each
    /// side).
    Bimodal,
    /// One process's median stands apart from all the others'.
    OddProcess,
    /// The repetitions (within processes) or the processes (in the order they ran) trend.
    Drift,
    /// This many repetitions of this many were at least [`OUTLIER`] × the fastest.
    Outliers(usize, usize),
    /// The 95 % interval is wider than ±[`WIDE`] of the median.
    Wide,
    /// Only one process was measured: no interval across independent samples.
    OneProcess,
    /// The machine's steal time was above 2 % during a process of the cell (the largest, %).
    Steal(f64),
    /// Some repetition used more CPU than the cores could give in its wall time (the most, in
    /// cores).
    CpuOver(f64),
    /// A barrier's W ≥ 2 parties ran on about one thread per phase although two or more
    /// cores were there: they took turns rather than running at once (threads per phase).
    Serial(f64),
}

impl std::fmt::Display for Flag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Flag::Bimodal => write!(f, "bimodal"),
            Flag::OddProcess => write!(f, "odd process"),
            Flag::Drift => write!(f, "drift"),
            Flag::Outliers(n, of) => write!(f, "outliers {n}/{of}"),
            Flag::Wide => write!(f, "wide"),
            Flag::OneProcess => write!(f, "one process"),
            Flag::Steal(pct) => write!(f, "steal {pct:.0}%"),
            Flag::CpuOver(cores) => write!(f, "CPU {cores:.2} cores"),
            Flag::Serial(threads) => write!(f, "serial ({threads:.2} threads/phase)"),
        }
    }
}

/// The distribution checks that need only the wall times: `processes[p]` holds the
/// repetitions of process `p` in the order they ran, and the processes are in the order they
/// ran.
///
/// Every rule is scaled to the cell's own noise where it can be: the typical spread of the
/// repetitions within a process (in log scale) sets how far apart clusters, a lone process or
/// the ends of a trend must be before they count. The rates at which they fire on clean,
/// unimodal noise are checked by the tests at the `full` profile's 5 processes × 2
/// repetitions.
pub fn distribution_flags(processes: &[Vec<f64>]) -> Vec<Flag> {
    let mut flags = Vec::new();
    let processes: Vec<&Vec<f64>> = processes.iter().filter(|p| !p.is_empty()).collect();
    let all: Vec<f64> = processes.iter().flat_map(|p| p.iter().copied()).collect();
    if all.is_empty() {
        return flags;
    }
    let medians: Vec<f64> = processes.iter().map(|p| median(&mut p.to_vec())).collect();
    let noise = within_noise(&processes);
    // Two populations: among the repetitions (at least two on each side), or among the
    // processes (at least two on each side, so at least four processes).
    if separated(&all, 2, CLUSTER_GAP.ln()) || separated(&medians, 2, NOISE_GAP * noise) {
        flags.push(Flag::Bimodal);
    } else if medians.len() >= 3
        && separated(&medians, 1, (NOISE_GAP * noise).max(CLUSTER_GAP.ln()))
    {
        flags.push(Flag::OddProcess);
    }
    if drifts(&processes, &medians, noise) {
        flags.push(Flag::Drift);
    }
    let fastest = all.iter().copied().fold(f64::INFINITY, f64::min);
    let outliers = all.iter().filter(|&&x| x >= OUTLIER * fastest).count();
    if outliers > 0 {
        flags.push(Flag::Outliers(outliers, all.len()));
    }
    flags
}

/// How many times the within-process noise a gap between process medians must be to count.
pub const NOISE_GAP: f64 = 4.0;

/// The typical spread of repetitions within one process, in log scale: the median over the
/// processes with at least two repetitions of the range of their logs (0 when none has two).
fn within_noise(processes: &[&Vec<f64>]) -> f64 {
    let mut ranges: Vec<f64> = processes
        .iter()
        .filter(|p| p.len() >= 2 && p.iter().all(|&x| x > 0.0))
        .map(|p| {
            let logs = p.iter().map(|x| x.ln());
            logs.clone().fold(f64::MIN, f64::max) - logs.fold(f64::MAX, f64::min)
        })
        .collect();
    median(&mut ranges)
}

/// Whether `values` split into two clusters, each of at least `smallest` values, with a gap
/// between them (in log scale: a ratio, whatever the unit) of at least [`CLUSTER_GAP`] and
/// `min_gap`, that is also [`CLUSTER_SEPARATION`] times wider than either cluster's own spread.
pub fn separated(values: &[f64], smallest: usize, min_gap: f64) -> bool {
    let smallest = smallest.max(1);
    let mut logs: Vec<f64> = values
        .iter()
        .filter(|v| **v > 0.0)
        .map(|v| v.ln())
        .collect();
    if logs.len() < 2 * smallest {
        return false;
    }
    logs.sort_by(f64::total_cmp);
    // The widest gap that leaves at least `smallest` values on each side.
    let Some(split) = (smallest..=logs.len() - smallest)
        .max_by(|&i, &j| (logs[i] - logs[i - 1]).total_cmp(&(logs[j] - logs[j - 1])))
    else {
        return false;
    };
    let gap = logs[split] - logs[split - 1];
    let spread = |c: &[f64]| c[c.len() - 1] - c[0];
    let within = spread(&logs[..split]).max(spread(&logs[split..]));
    gap >= CLUSTER_GAP.ln().max(min_gap) && gap > CLUSTER_SEPARATION * within
}

/// Whether the repetitions trend within their processes (only with at least three of them a
/// process: with two, a "trend" is a coin toss), or the processes trend in the order they ran
/// (at least four, every pair in the same order): Kendall's τ of value against position at
/// least [`DRIFT_TAU`] in size (1 across processes), with the typical last value at least
/// [`DRIFT_CHANGE`] from the typical first – and, across processes, [`NOISE_GAP`] times the
/// within-process noise.
fn drifts(processes: &[&Vec<f64>], medians: &[f64], noise: f64) -> bool {
    let moved = |first: f64, last: f64, noise: f64| {
        first > 0.0
            && last > 0.0
            && ((last - first) / first).abs() >= DRIFT_CHANGE
            && (last / first).ln().abs() >= NOISE_GAP * noise
    };
    let long: Vec<&&Vec<f64>> = processes.iter().filter(|p| p.len() >= 3).collect();
    let (mut concordant, mut pairs) = (0i64, 0i64);
    for p in &long {
        let (c, n) = kendall(p);
        concordant += c;
        pairs += n;
    }
    if pairs >= 3 && (concordant as f64 / pairs as f64).abs() >= DRIFT_TAU {
        // (The within-process noise is no yardstick here: the trend is inside it.)
        let mut first: Vec<f64> = long.iter().map(|p| p[0]).collect();
        let mut last: Vec<f64> = long.iter().map(|p| p[p.len() - 1]).collect();
        if moved(median(&mut first), median(&mut last), 0.0) {
            return true;
        }
    }
    if medians.len() >= 4 {
        let (c, n) = kendall(medians);
        if c.abs() == n {
            let half = medians.len() / 2;
            let early = median(&mut medians[..half].to_vec());
            let late = median(&mut medians[medians.len() - half..].to_vec());
            if moved(early, late, noise) {
                return true;
            }
        }
    }
    false
}

/// Kendall's S (concordant minus discordant pairs) of `series` against its positions, and the
/// number of pairs.
fn kendall(series: &[f64]) -> (i64, i64) {
    let (mut s, mut n) = (0, 0);
    for i in 0..series.len() {
        for j in i + 1..series.len() {
            n += 1;
            s += match series[j].total_cmp(&series[i]) {
                std::cmp::Ordering::Greater => 1,
                std::cmp::Ordering::Less => -1,
                std::cmp::Ordering::Equal => 0,
            };
        }
    }
    (s, n)
}

#[cfg(test)]
pub(crate) mod tests;
