//! What only this backend's tests need: cells whose worker processes start this test binary
//! the right way, and this process's worker processes found in `/proc`. Everything else comes
//! from `shootout_testkit`.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::collections::HashMap;
use std::fs;
use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

use shootout_processes::{WORKER_ENV, set_worker_args};
use shootout_suite::{Cell, Task};

/// What a test binary's workers are started with: libtest runs only `worker_entry` in them.
pub const WORKER_ARGS: [&str; 4] = ["worker_entry", "--exact", "--nocapture", "--test-threads=1"];

/// [`shootout_testkit::cell`], and makes sure the pool starts this test binary's workers the
/// right way.
pub fn cell(task: Task, variant: &str, workers: usize, server: Option<SocketAddr>) -> Cell {
    set_worker_args(WORKER_ARGS);
    shootout_testkit::cell(task, variant, workers, server)
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
    let mut first_seen = HashMap::new();
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
