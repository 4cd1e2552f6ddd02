//! `shootout run`: every cell in a fresh child process, interleaved over rounds, each record
//! appended as soon as its cell finishes.
//!
//! The parent never measures anything itself. It computes the reference checksums, starts the
//! loopback server (as its own process, so its CPU time is never charged to a backend), then
//! for each round shuffles the cells with a recorded seed and runs them one at a time as
//! `shootout cell …`, killing any that outlives its timeout. Ctrl-C kills the running cell and
//! the server, keeps every record already written, and says how to resume.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use shootout_suite::rng::SplitMix64;
use shootout_suite::{Profile, Task};

use crate::cell::Fault;
use crate::fingerprint;
use crate::plan::PlannedCell;
use crate::record::{self, Appender, CellReport, Measurement, Record, SCHEMA, Status};

/// How the cells of a run are measured.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The profile the defaults came from.
    pub profile: Profile,
    /// Interleaving rounds: each runs every cell once, in a new shuffled order.
    pub rounds: u32,
    /// Measured repetitions per cell and round.
    pub reps: u32,
    /// Warm-up repetitions per cell and round.
    pub warmup: u32,
    /// Per cell process, from start to result.
    pub timeout: Duration,
    /// The records file.
    pub out: PathBuf,
    /// Skip cells and rounds the records file already holds.
    pub resume: bool,
    /// Add a new run to an existing records file.
    pub append: bool,
    /// The shuffling seed (a fresh one unless given or resumed).
    pub seed: Option<u64>,
    /// An existing server to use instead of starting one.
    pub server: Option<SocketAddr>,
    /// A deliberate misbehaviour for every cell (tests only).
    pub fault: Option<Fault>,
    /// The command line, for the records.
    pub command: String,
}

/// What happened to the cells of a run.
pub struct Outcome {
    /// Every record of this run, including those resumed from the file.
    pub records: Vec<Record>,
    /// Whether the run was interrupted.
    pub interrupted: bool,
}

enum Event {
    Interrupted,
    Finished(std::io::Result<std::process::Output>),
}

/// Runs `cells` as settings say. Returns once every cell and round has a record, or on Ctrl-C.
pub fn run(cells: &[PlannedCell], settings: &Settings) -> Result<Outcome> {
    let exe = std::env::current_exe().context("finding the shootout executable")?;
    let previous = if settings.resume {
        record::read(&settings.out)?
    } else {
        Vec::new()
    };
    let done: HashSet<(String, u32)> = previous.iter().map(|r| (r.key.clone(), r.round)).collect();
    // A cell that did not verify in one round is not run again: its later rounds could only
    // repeat the failure (a timeout costs the whole --timeout each time), and its table row
    // shows the failure either way.
    let mut failed: HashSet<String> = previous
        .iter()
        .filter(|r| !r.status.is_verified())
        .map(|r| r.key.clone())
        .collect();
    // A resumed run continues the last run in the file, with its id and seed.
    let (run_id, seed) = match previous.last() {
        Some(r) => (r.run_id.clone(), settings.seed.unwrap_or(r.seed)),
        None => {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            let seed = settings.seed.unwrap_or(now.as_nanos() as u64);
            (format!("{}-{:04x}", now.as_secs(), seed & 0xffff), seed)
        }
    };

    let (events, inbox) = mpsc::channel();
    {
        let events = events.clone();
        ctrlc::set_handler(move || {
            let _ = events.send(Event::Interrupted);
        })
        .context("installing the Ctrl-C handler")?;
    }

    let todo: Vec<(u32, &PlannedCell)> = (0..settings.rounds)
        .flat_map(|round| {
            let mut order: Vec<&PlannedCell> = cells.iter().collect();
            SplitMix64::new(seed ^ u64::from(round)).shuffle(&mut order);
            order.into_iter().map(move |c| (round, c))
        })
        .filter(|(round, cell)| !done.contains(&(cell.key(), *round)))
        .collect();

    let progress = ProgressBar::new(todo.len() as u64).with_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{wide_bar}] {pos}/{len} cells, ETA {eta} {msg}",
        )
        .expect("a valid template"),
    );

    // The references, once per distinct task, before anything is timed.
    let mut expected: HashMap<Task, u64> = HashMap::new();
    for (_, cell) in &todo {
        expected.entry(cell.task).or_insert_with(|| {
            progress.set_message(format!("reference for {}", cell.task));
            cell.task.expected_checksum()
        });
    }

    let mut server = None;
    let server_addr = match settings.server {
        Some(addr) => Some(addr),
        None if todo.iter().any(|(_, c)| c.task.needs_server()) => {
            let started = ServerProcess::start(&exe)?;
            let addr = started.addr;
            server = Some(started);
            Some(addr)
        }
        None => None,
    };

    let machine = fingerprint::current();
    let mut appender = Appender::open(&settings.out)
        .with_context(|| format!("opening {}", settings.out.display()))?;
    let mut records = previous;
    let mut interrupted = false;
    for (round, cell) in todo {
        if failed.contains(&cell.key()) {
            progress.inc(1);
            continue;
        }
        progress.set_message(cell.key());
        let expect = expected[&cell.task];
        let mut command = Command::new(&exe);
        command.args(cell_args(cell, settings, expect, server_addr));
        let (measurement, status) = match run_child(command, settings.timeout, &events, &inbox)? {
            ChildEnd::Interrupted => {
                interrupted = true;
                break;
            }
            ChildEnd::TimedOut => (
                Measurement {
                    error: Some(format!(
                        "killed after the {} s timeout",
                        settings.timeout.as_secs()
                    )),
                    ..Default::default()
                },
                Status::Timeout,
            ),
            ChildEnd::Exited(output) => parse_child(&output),
        };
        let record = Record {
            schema: SCHEMA,
            run_id: run_id.clone(),
            key: cell.key(),
            task: cell.task.id().name(),
            params: cell
                .task
                .params()
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            backend: cell.backend.to_string(),
            variant: cell.variant.to_string(),
            workers: cell.workers,
            profile: settings.profile.name().to_string(),
            round,
            seed,
            status,
            expected: format!("{expect:016x}"),
            units: cell.task.units(),
            measurement,
            command: settings.command.clone(),
            cell_command: reproduce(cell, settings.profile),
            finished_at: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            machine: machine.clone(),
        };
        if !status.is_verified() {
            failed.insert(record.key.clone());
            progress.println(format!(
                "{:?}: {} – {}",
                status,
                record.key,
                record.measurement.error.as_deref().unwrap_or("no detail")
            ));
        }
        appender
            .append(&record)
            .with_context(|| format!("appending to {}", settings.out.display()))?;
        records.push(record);
        progress.inc(1);
    }
    progress.finish_and_clear();
    drop(server);
    Ok(Outcome {
        records: records.into_iter().filter(|r| r.run_id == run_id).collect(),
        interrupted,
    })
}

/// The arguments of `shootout cell` for one cell.
fn cell_args(
    cell: &PlannedCell,
    settings: &Settings,
    expect: u64,
    server: Option<SocketAddr>,
) -> Vec<String> {
    let mut args = vec![
        "cell".to_string(),
        format!("--task={}", cell.task.id().name()),
        format!("--backend={}", cell.backend),
        format!("--variant={}", cell.variant),
        format!("--workers={}", cell.workers),
        format!("--reps={}", settings.reps),
        format!("--warmup={}", settings.warmup),
        format!("--expect={expect:016x}"),
    ];
    args.extend(
        cell.task
            .params()
            .into_iter()
            .map(|(k, v)| format!("--param={k}={v}")),
    );
    if let Some(addr) = server {
        args.push(format!("--server={addr}"));
    }
    if let Some(fault) = settings.fault {
        args.push(format!(
            "--fault={}",
            clap::ValueEnum::to_possible_value(&fault)
                .expect("no skipped variants")
                .get_name()
        ));
    }
    args
}

/// A `shootout run` command line that runs just this cell.
fn reproduce(cell: &PlannedCell, profile: Profile) -> String {
    let params: Vec<String> = cell
        .task
        .params()
        .into_iter()
        .map(|(k, v)| format!(" -p {k}={v}"))
        .collect();
    format!(
        "shootout run --profile {} --task {} --backend {} --variant {} --workers {}{}",
        profile.name(),
        cell.task.id().name(),
        cell.backend,
        cell.variant,
        cell.workers,
        params.concat()
    )
}

enum ChildEnd {
    Exited(std::process::Output),
    TimedOut,
    Interrupted,
}

/// Runs one cell process to its end, its timeout, or Ctrl-C.
///
/// The child gets a process group of its own, so killing the group also kills any worker
/// processes a backend started; a waiter thread collects its output so that the parent sleeps
/// in `recv_timeout` rather than polling.
fn run_child(
    mut command: Command,
    timeout: Duration,
    events: &mpsc::Sender<Event>,
    inbox: &mpsc::Receiver<Event>,
) -> Result<ChildEnd> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let child = command.spawn().context("starting a cell process")?;
    let group = Pid::from_raw(child.id() as i32);
    let events = events.clone();
    std::thread::spawn(move || {
        let _ = events.send(Event::Finished(child.wait_with_output()));
    });
    let mut end = match inbox.recv_timeout(timeout) {
        Ok(Event::Finished(output)) => {
            return Ok(ChildEnd::Exited(
                output.context("waiting for a cell process")?,
            ));
        }
        Ok(Event::Interrupted) => ChildEnd::Interrupted,
        Err(_) => ChildEnd::TimedOut,
    };
    let _ = killpg(group, Signal::SIGKILL);
    // Wait for the waiter, so the killed child is reaped before we go on.
    loop {
        match inbox.recv() {
            Ok(Event::Finished(_)) | Err(_) => break,
            Ok(Event::Interrupted) => end = ChildEnd::Interrupted,
        }
    }
    Ok(end)
}

/// Reads a finished cell's result, or explains why there is none.
fn parse_child(output: &std::process::Output) -> (Measurement, Status) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    match serde_json::from_str::<CellReport>(stdout.trim()) {
        Ok(report) => (report.measurement, report.status),
        Err(_) => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let last = stderr
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("no output");
            let error = format!(
                "cell process ended with {} and no result: {last}",
                output.status
            );
            (
                Measurement {
                    error: Some(error),
                    ..Default::default()
                },
                Status::Crashed,
            )
        }
    }
}

/// The loopback server as a child process of its own; killed when dropped.
pub struct ServerProcess {
    child: Child,
    /// The address it listens on.
    pub addr: SocketAddr,
}

impl ServerProcess {
    /// Starts `shootout serve` on a free loopback port and waits for its address.
    pub fn start(exe: &Path) -> Result<ServerProcess> {
        let mut command = Command::new(exe);
        command.args(["serve", "--addr", "127.0.0.1:0", "--die-with-parent"]);
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command.spawn().context("starting the loopback server")?;
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout is piped");
        BufReader::new(stdout.take(256))
            .read_line(&mut line)
            .context("reading the server's address")?;
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|a| a.parse().ok());
        match addr {
            Some(addr) => Ok(ServerProcess { child, addr }),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                bail!(
                    "the loopback server did not start (it said `{}`)",
                    line.trim()
                )
            }
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = killpg(Pid::from_raw(self.child.id() as i32), Signal::SIGKILL);
        let _ = self.child.wait();
    }
}
