//! Helpers shared by the test files: build a cell, run it and compare with the reference, and
//! find the worker processes of this test binary.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::fs;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use shootout_processes::{BACKEND, WORKER_ENV, set_worker_args};
use shootout_suite::{Cell, Failure, Outcome, Task};

/// What a test binary's workers are started with: libtest runs only `worker_entry` in them.
pub const WORKER_ARGS: [&str; 4] = ["worker_entry", "--exact", "--nocapture", "--test-threads=1"];

/// A cell of the processes backend, without a server; also makes sure the pool starts this
/// test binary's workers the right way.
pub fn cell(task: Task, variant: &str, workers: usize) -> Cell {
    set_worker_args(WORKER_ARGS);
    Cell {
        task,
        variant: variant.into(),
        workers,
        server: None,
    }
}

/// Sets `cell` up, runs it twice (a runner must survive reuse across repetitions), checks both
/// checksums against the reference and returns both outcomes.
pub fn check(cell: &Cell) -> Vec<Outcome> {
    let expected = cell.task.expected_checksum();
    let mut run = BACKEND.setup(cell).unwrap_or_else(|e| {
        panic!(
            "{} {} workers={}: setup failed: {e}",
            cell.task, cell.variant, cell.workers
        )
    });
    (0..2)
        .map(|repetition| {
            let outcome = run(cell.task.input()).unwrap_or_else(|e| {
                panic!(
                    "{} {} workers={} repetition {repetition}: {e}",
                    cell.task, cell.variant, cell.workers
                )
            });
            assert_eq!(
                cell.task.checksum(&outcome.answer),
                expected,
                "{} {} workers={} repetition {repetition}: wrong checksum",
                cell.task,
                cell.variant,
                cell.workers
            );
            outcome
        })
        .collect()
}

/// Sets `cell` up and runs it until something fails, expecting a failure: returns it, or panics
/// if both the setup and `repetitions` runs succeed. The runner is dropped before returning, so a
/// drop that hangs is caught too: after `patience` the test fails instead of hanging.
pub fn failure(cell: Cell, repetitions: usize, patience: Duration) -> Failure {
    let (tx, rx) = mpsc::channel();
    let what = format!("{} {}", cell.task, cell.variant);
    thread::spawn(move || {
        let result = (|| {
            let mut run = BACKEND.setup(&cell)?;
            for _ in 0..repetitions {
                run(cell.task.input())?;
            }
            Ok(())
        })();
        let _ = tx.send(result);
    });
    match rx.recv_timeout(patience) {
        Ok(Err(failure)) => failure,
        Ok(Ok(())) => panic!("{what}: expected a failure, got success"),
        Err(_) => panic!("{what}: neither failed nor finished within {patience:?}"),
    }
}

/// The pids of this process's worker processes: its children, zombies included, and any process
/// whose environment names this process as its parent worker host.
pub fn workers() -> Vec<u32> {
    let me = std::process::id();
    let marker = format!("{WORKER_ENV}={me}");
    let mut found = Vec::new();
    let Ok(entries) = fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let path = entry.path();
        let child = fs::read_to_string(path.join("stat")).ok().and_then(|stat| {
            // Field 4 (ppid), counted after the parenthesised command name.
            let (_, rest) = stat.rsplit_once(')')?;
            rest.split_whitespace().nth(1)?.parse::<u32>().ok()
        }) == Some(me);
        let marked = fs::read(path.join("environ"))
            .map(|env| env.split(|&b| b == 0).any(|var| var == marker.as_bytes()))
            .unwrap_or(false);
        if child || marked {
            found.push(pid);
        }
    }
    found
}

/// Waits until `cond` holds, polling; false if it still does not after `patience`.
pub fn eventually(patience: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + patience;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// The CPU time process `pid` has used so far, in clock ticks (user + system), if it exists.
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields 14 and 15 (utime, stime), counted after the parenthesised command name.
    let (_, rest) = stat.rsplit_once(')')?;
    let mut fields = rest.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(user + system)
}

/// Waits until one of this process's workers is busy – it has used `ticks` clock ticks of CPU
/// since it was first seen – and returns its pid; `None` if none is within `patience`.
pub fn busy_worker(ticks: u64, patience: Duration) -> Option<u32> {
    let mut first_seen = std::collections::HashMap::new();
    let deadline = Instant::now() + patience;
    while Instant::now() < deadline {
        for pid in workers() {
            let Some(now) = cpu_ticks(pid) else { continue };
            let since = *first_seen.entry(pid).or_insert(now);
            if now >= since + ticks {
                return Some(pid);
            }
        }
        thread::sleep(Duration::from_millis(5));
    }
    None
}
