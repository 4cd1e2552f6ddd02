//! The measurement record: one JSON line per cell and round, appended as each cell finishes.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use shootout_suite::wake::Whereabouts;

/// The version of the record layout; bumped when a field changes meaning.
///
/// 2 added the machine speed index, steal, load and the process's own flags, and the
/// transparent huge pages mode; records of schema 1 read with those absent.
pub const SCHEMA: u32 = 2;

/// How a cell ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Every repetition's checksum equalled the reference.
    Verified,
    /// A repetition produced a different checksum: no timing counts.
    WrongAnswer,
    /// Setup or a repetition returned an error.
    Failed,
    /// The cell process died (panic, signal) without a result.
    Crashed,
    /// The cell ran past its timeout and was killed.
    Timeout,
}

impl Status {
    /// Whether the cell's timings may be used.
    pub fn is_verified(self) -> bool {
        self == Status::Verified
    }
}

/// One timed repetition.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Rep {
    /// Wall-clock time of the timed call.
    pub wall_ns: u64,
    /// User CPU time of every thread of the cell (and reaped child processes).
    pub user_ns: u64,
    /// System CPU time, likewise.
    pub sys_ns: u64,
    /// Voluntary context switches (blocking waits).
    pub voluntary_switches: u64,
    /// Involuntary context switches (preemptions).
    pub involuntary_switches: u64,
}

impl Rep {
    /// Cores kept busy: CPU time (user + system) over wall time; `None` for a zero wall time.
    pub fn cpu_use(&self) -> Option<f64> {
        (self.wall_ns > 0).then(|| (self.user_ns + self.sys_ns) as f64 / self.wall_ns as f64)
    }
}

/// Latency samples of a cell, as an HdrHistogram's recorded buckets.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    /// How many samples.
    pub count: u64,
    /// Percentiles in nanoseconds: p50, p90, p99, p99.9 and max.
    pub p50_ns: u64,
    /// 90th percentile.
    pub p90_ns: u64,
    /// 99th percentile.
    pub p99_ns: u64,
    /// 99.9th percentile.
    pub p999_ns: u64,
    /// The largest sample.
    pub max_ns: u64,
    /// `(value_ns, count)` for every non-empty bucket, so rounds can be merged exactly.
    pub buckets: Vec<(u64, u64)>,
}

/// What a `shootout cell` process prints: its own measurements.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// Time spent in `Backend::setup` (runtime, pool, connections).
    pub setup_ns: u64,
    /// The measured repetitions (warm-up excluded).
    pub reps: Vec<Rep>,
    /// Peak resident set of the cell process, KiB.
    pub peak_rss_kib: u64,
    /// The sum of the peak resident sets of its child processes (worker processes), KiB.
    pub children_peak_rss_kib: u64,
    /// The most threads the cell process had at once (sampled).
    pub peak_threads: u64,
    /// Latency samples over the measured repetitions, where the task has them.
    pub latency: Option<Latency>,
    /// The checksum the backend produced (of the last repetition checked).
    pub checksum: Option<String>,
    /// Why the cell did not verify, if it did not.
    pub error: Option<String>,
    /// The machine speed index measured by this process before setup: the fastest run of the
    /// calibration kernel, ns (see `calibration`).
    #[serde(default)]
    pub calibration_ns: Option<u64>,
    /// The parallel speed index: the same kernel on every available core at once, the slowest
    /// thread of the fastest run, ns (absent on one core, and in records before it existed).
    #[serde(default)]
    pub calibration_parallel_ns: Option<u64>,
    /// The share of the machine's CPU time stolen by the hypervisor over the measured
    /// repetitions, percent.
    #[serde(default)]
    pub steal_pct: Option<f64>,
    /// The one-minute load average when the process started.
    #[serde(default)]
    pub load_before: Option<f64>,
    /// Runnable tasks on the machine when the process started (itself included).
    #[serde(default)]
    pub running_before: Option<u64>,
    /// What this process's own repetitions show that is not the model: outliers, steal above
    /// 2 %, CPU above cores x wall (see `stats::Flag`). The cell-level checks, across
    /// processes, are made when the records are summarised.
    #[serde(default)]
    pub flags: Vec<String>,
    /// Where the parties ran, summed over the measured repetitions (sync tasks that report
    /// it; absent elsewhere and in records before it existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<Placement>,
    /// What the backend said about how the repetitions ran (`Outcome::facts`): compio's IO
    /// driver, a coroutine stack size. Absent when it said nothing.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub facts: BTreeMap<String, String>,
}

/// Where a cell's parties ran, summed over repetitions (and, in a summary, over processes):
/// the wake-ups and how many ran on the waker's own thread (event, condition), and the
/// distinct threads that ran a barrier's parties, summed over its phases.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Placement {
    /// Wake-ups counted.
    pub wakes: u64,
    /// Of those, how many ran on the thread of the party that woke them.
    pub same_thread_wakes: u64,
    /// Barrier phases counted.
    pub phases: u64,
    /// Distinct threads that ran the parties, summed over those phases.
    pub phase_threads: u64,
}

impl Placement {
    /// Adds one repetition's report.
    pub fn add(&mut self, whereabouts: &Whereabouts) {
        match whereabouts {
            Whereabouts::Wakes(p) => {
                self.wakes += p.wakes;
                self.same_thread_wakes += p.same_thread;
            }
            Whereabouts::Phases(_) => {
                let (threads, phases) = whereabouts.phase_threads().unwrap_or_default();
                self.phase_threads += threads;
                self.phases += phases;
            }
        }
    }

    /// Adds another process's sums.
    pub fn merge(&mut self, other: &Placement) {
        self.wakes += other.wakes;
        self.same_thread_wakes += other.same_thread_wakes;
        self.phases += other.phases;
        self.phase_threads += other.phase_threads;
    }

    /// The share of wake-ups that ran on the waker's thread, if any were counted.
    pub fn same_thread_share(&self) -> Option<f64> {
        (self.wakes > 0).then(|| self.same_thread_wakes as f64 / self.wakes as f64)
    }

    /// How many threads ran a phase's parties, on average, if phases were counted.
    pub fn threads_per_phase(&self) -> Option<f64> {
        (self.phases > 0).then(|| self.phase_threads as f64 / self.phases as f64)
    }
}

/// What a `shootout cell` process prints on stdout: how it ended, and what it measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CellReport {
    /// How the cell ended, as the cell saw it.
    pub status: Status,
    /// Its measurements.
    #[serde(flatten)]
    pub measurement: Measurement,
}

/// The machine and build a record came from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// CPU model name.
    pub cpu: String,
    /// Logical CPUs available to the process.
    pub cores: usize,
    /// Total memory in MiB.
    pub memory_mib: u64,
    /// Kernel release.
    pub kernel: String,
    /// The compiler that built the harness.
    pub rustc: String,
    /// Versions of the runtime crates, from Cargo.lock.
    pub crates: String,
    /// The git revision the harness was built from (`-dirty` when the tree had changes).
    pub git: String,
    /// The transparent huge pages mode.
    #[serde(default)]
    pub thp: String,
    /// Whether the kernel lets a process use io_uring (`kernel.io_uring_disabled`): `enabled`,
    /// `restricted` (to a group), `disabled`; empty in records before it was kept.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub io_uring: String,
}

impl Fingerprint {
    /// Whether the harness was built from a tree with uncommitted changes.
    pub fn is_dirty(&self) -> bool {
        self.git.ends_with("-dirty")
    }
}

/// One line of `runs.jsonl`: a cell, one round of it, and everything needed to reproduce it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The record layout version.
    pub schema: u32,
    /// Identifies the `shootout run` invocation that wrote it.
    pub run_id: String,
    /// The cell's identity: task with parameters, backend/variant and workers.
    pub key: String,
    /// The task name (`dnc/fib`).
    pub task: String,
    /// The task parameters.
    pub params: BTreeMap<String, u64>,
    /// The backend name.
    pub backend: String,
    /// The variant name.
    pub variant: String,
    /// The worker count.
    pub workers: usize,
    /// The profile the defaults came from.
    pub profile: String,
    /// Which interleaving round this is (0-based).
    pub round: u32,
    /// The seed that shuffled the cell order.
    pub seed: u64,
    /// How the cell ended.
    pub status: Status,
    /// The reference checksum, hex.
    pub expected: String,
    /// Throughput units per repetition (requests, items), where the task has them.
    pub units: Option<u64>,
    /// The cell's own measurements.
    #[serde(flatten)]
    pub measurement: Measurement,
    /// The exact `shootout run` command line that produced this record.
    pub command: String,
    /// A command line that runs this cell alone.
    pub cell_command: String,
    /// Unix time the cell finished, in seconds.
    pub finished_at: u64,
    /// Where it ran.
    pub machine: Fingerprint,
}

/// Reads every record of a JSON-lines file; a missing file is an empty run.
pub fn read(path: &Path) -> io::Result<Vec<Record>> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let lines: Vec<String> = BufReader::new(file).lines().collect::<io::Result<_>>()?;
    let mut records = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(line) {
            Ok(record) => records.push(record),
            // Only the last line can be cut short (a kill mid-write); anywhere else a line that
            // does not parse means the file is not a shootout run.
            Err(_) if i + 1 == lines.len() => {}
            Err(e) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}:{}: {e}", path.display(), i + 1),
                ));
            }
        }
    }
    Ok(records)
}

/// Appends records to a JSON-lines file, one line per record, flushed as each is written.
pub struct Appender {
    file: File,
}

impl Appender {
    /// Opens (creating if needed) `path` for appending.
    pub fn open(path: &Path) -> io::Result<Appender> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        Ok(Appender {
            file: OpenOptions::new().create(true).append(true).open(path)?,
        })
    }

    /// Writes one record as one line, in a single write so a crash cannot interleave lines.
    pub fn append(&mut self, record: &Record) -> io::Result<()> {
        let mut line = serde_json::to_vec(record).map_err(io::Error::other)?;
        line.push(b'\n');
        self.file.write_all(&line)?;
        self.file.sync_data()
    }
}
