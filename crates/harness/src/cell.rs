//! `shootout cell`: one measurement cell, in a process of its own.
//!
//! The parent (`shootout run`) starts one of these per cell and round, so that memory, thread
//! counts and CPU accounting belong to the cell alone and a crash or hang cannot take the run
//! down. The cell sets up the backend (timed as setup), runs warm-up and measured repetitions,
//! verifies every answer, and prints one [`Measurement`] as JSON on stdout.

use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

use hdrhistogram::Histogram;
use shootout_suite::{Cell, Task};

use crate::fingerprint::{self, CpuTicks};
use crate::metrics::{ChildPeaks, ThreadSampler, peak_rss_kib};
use crate::record::{CellReport, Latency, Measurement, Rep, Status};
use crate::stats::{self, Flag};
use crate::{calibration, registry};

/// Steal above this share of the machine's CPU time (percent) marks a process.
pub const STEAL: f64 = 2.0;

/// A deliberate misbehaviour, for testing the harness's handling of bad cells.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Fault {
    /// Never return from the first repetition.
    Hang,
    /// Panic in the first repetition.
    Panic,
    /// Report a checksum that is off by one bit.
    Wrong,
}

/// Everything a cell process needs to know.
#[derive(Clone, Debug)]
pub struct Spec {
    /// The task with its parameters.
    pub task: Task,
    /// The backend's name.
    pub backend: String,
    /// The variant's name.
    pub variant: String,
    /// Worker count.
    pub workers: usize,
    /// Warm-up repetitions (verified, not recorded).
    pub warmup: u32,
    /// Measured repetitions.
    pub reps: u32,
    /// The reference checksum.
    pub expected: u64,
    /// The loopback server, for fan-out tasks.
    pub server: Option<SocketAddr>,
    /// A deliberate misbehaviour (tests only).
    pub fault: Option<Fault>,
}

/// Runs the cell described by `spec` in this process and returns what it measured.
pub fn measure(spec: &Spec) -> CellReport {
    let mut measurement = Measurement::default();
    if let Some((one, running)) = fingerprint::load() {
        measurement.load_before = Some(one);
        measurement.running_before = Some(running);
    }
    // The speed index first, alone: no sampler, no backend, nothing else of ours running.
    measurement.calibration_ns = Some(calibration::measure());
    measurement.calibration_parallel_ns =
        calibration::measure_parallel(fingerprint::available_cores());
    let sampler = ThreadSampler::start();
    let result = catch_unwind(AssertUnwindSafe(|| run(spec, &sampler, &mut measurement)));
    let (status, error) = match result {
        Ok(Ok(())) => (Status::Verified, None),
        Ok(Err((status, error))) => (status, Some(error)),
        Err(panic) => (
            Status::Crashed,
            Some(format!("panicked: {}", panic_message(&panic))),
        ),
    };
    measurement.error = error;
    measurement.peak_threads = sampler.peak();
    measurement.peak_rss_kib = peak_rss_kib();
    measurement.flags = own_flags(&measurement, fingerprint::available_cores());
    CellReport {
        status,
        measurement,
    }
}

fn run(
    spec: &Spec,
    sampler: &ThreadSampler,
    out: &mut Measurement,
) -> Result<(), (Status, String)> {
    let backend = registry::find(&spec.backend)
        .ok_or((Status::Failed, format!("no backend `{}`", spec.backend)))?;
    let cell = Cell {
        task: spec.task,
        variant: spec.variant.clone(),
        workers: spec.workers,
        server: spec.server,
    };

    let started = Instant::now();
    let mut runner = backend
        .setup(&cell)
        .map_err(|e| (Status::Failed, format!("setup: {e}")))?;
    out.setup_ns = started.elapsed().as_nanos() as u64;
    let mut children = ChildPeaks::default();
    let mut observe = |out: &mut Measurement| {
        sampler.sample_now();
        children.observe();
        out.children_peak_rss_kib = children.sum_kib();
    };
    observe(out);

    let pristine = spec.task.input();
    let mut latencies = new_histogram();
    let mut steal_from = None;
    for rep in 0..spec.warmup + spec.reps {
        if rep == spec.warmup {
            // The sampler looks for the peak thread count during setup and warm-up (the same
            // work); during measured repetitions it sleeps, so that it never competes with the
            // backend for a core, and peaks are only sampled between repetitions.
            sampler.pause();
            steal_from = Some(CpuTicks::now());
        }
        let input = pristine.clone();
        match spec.fault {
            Some(Fault::Hang) => loop {
                std::thread::park();
            },
            Some(Fault::Panic) => panic!("deliberate panic (--fault panic)"),
            _ => {}
        }

        let before = sampler.usage();
        let started = Instant::now();
        let outcome = runner(input);
        let wall = started.elapsed();
        let used = sampler.usage().since(&before);
        observe(out);

        let outcome = outcome.map_err(|e| (Status::Failed, format!("repetition {rep}: {e}")))?;
        let mut checksum = spec.task.checksum(&outcome.answer);
        if spec.fault == Some(Fault::Wrong) {
            checksum ^= 1;
        }
        out.checksum = Some(format!("{checksum:016x}"));
        if checksum != spec.expected {
            return Err((
                Status::WrongAnswer,
                format!(
                    "repetition {rep}: checksum {checksum:016x}, expected {:016x}",
                    spec.expected
                ),
            ));
        }
        if rep < spec.warmup {
            continue;
        }
        out.reps.push(Rep {
            wall_ns: wall.as_nanos() as u64,
            user_ns: used.user_ns,
            sys_ns: used.sys_ns,
            voluntary_switches: used.voluntary,
            involuntary_switches: used.involuntary,
        });
        for &ns in &outcome.latencies_ns {
            latencies.saturating_record(ns.max(1));
        }
        if let Some(whereabouts) = &outcome.whereabouts {
            out.placement.get_or_insert_default().add(whereabouts);
        }
        for (name, value) in &outcome.facts {
            let known = out
                .facts
                .entry((*name).to_string())
                .or_insert(value.clone());
            if known != value {
                return Err((
                    Status::Failed,
                    format!("repetition {rep}: {name} was {known}, is now {value}"),
                ));
            }
        }
    }
    if let Some(from) = steal_from {
        out.steal_pct = Some(CpuTicks::now().steal_pct_since(&from));
    }
    if !latencies.is_empty() {
        out.latency = Some(summarize(&latencies));
    }
    Ok(())
}

/// The checks one process can make on its own repetitions: outliers, steal, and CPU time
/// above what `cores` could give in the wall time (which would mean the accounting is wrong).
pub fn own_flags(m: &Measurement, cores: usize) -> Vec<String> {
    let walls: Vec<f64> = m.reps.iter().map(|r| r.wall_ns as f64).collect();
    let mut flags: Vec<Flag> = stats::distribution_flags(&[walls])
        .into_iter()
        .filter(|f| matches!(f, Flag::Outliers(..)))
        .collect();
    if let Some(steal) = m.steal_pct.filter(|&s| s > STEAL) {
        flags.push(Flag::Steal(steal));
    }
    let most = m.reps.iter().filter_map(Rep::cpu_use).fold(0.0, f64::max);
    if most > cores as f64 * CPU_SLACK {
        flags.push(Flag::CpuOver(most));
    }
    flags.iter().map(Flag::to_string).collect()
}

/// How far above cores x wall a repetition's CPU time may read before it is flagged: the
/// kernel's per-process accounting of exited threads is only tick-precise.
pub const CPU_SLACK: f64 = 1.02;

/// A latency histogram: 1 ns to one hour, three significant digits; longer samples saturate.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("valid bounds and precision")
}

/// Percentiles and buckets of a latency histogram.
pub fn summarize(h: &Histogram<u64>) -> Latency {
    Latency {
        count: h.len(),
        p50_ns: h.value_at_quantile(0.50),
        p90_ns: h.value_at_quantile(0.90),
        p99_ns: h.value_at_quantile(0.99),
        p999_ns: h.value_at_quantile(0.999),
        max_ns: h.max(),
        buckets: h
            .iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value()))
            .collect(),
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string panic payload".into())
}

/// Makes this process die with its parent, so no cell or server outlives a killed harness.
pub fn die_with_parent() {
    let parent = nix::unistd::getppid();
    let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL);
    // The parent may have died before the call above: then we were re-parented already.
    if nix::unistd::getppid() != parent {
        std::process::exit(1);
    }
}
