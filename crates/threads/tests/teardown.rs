//! Dropping a fan-out runner stops and joins its threads. In a test binary of its own, so that
//! no other test's threads are alive while this one counts them.

#![cfg(target_os = "linux")]

use std::fs;
use std::thread;
use std::time::{Duration, Instant};

use shootout_loopback::Server;
use shootout_suite::{Cell, Profile, Task, TaskId};
use shootout_threads::BACKEND;

/// The names of this process's threads that start with one of the fan-out crews' prefixes.
fn crew_threads() -> Vec<String> {
    fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| name.starts_with("scatter-") || name.starts_with("crawl-"))
        .collect()
}

/// Waits until no crew thread is left. A joined thread's `/proc` entry can outlive the join by
/// a moment, so this polls; only threads that were never stopped make it time out.
fn wait_for_no_crew_threads() -> Result<(), Vec<String>> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = crew_threads();
        if left.is_empty() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(left);
        }
        thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn dropping_a_runner_stops_its_threads() {
    let server = Server::start("127.0.0.1:0".parse().unwrap()).unwrap();
    for id in [TaskId::Scatter, TaskId::Crawl] {
        for variant in ["thread-per-conn", "pool"] {
            let task = Task::new(id, Profile::Smoke);
            let cell = Cell {
                task,
                variant: variant.into(),
                workers: 3,
                server: Some(server.addr()),
            };
            let mut run = BACKEND.setup(&cell).unwrap();
            run(task.input()).unwrap();
            if id == TaskId::Scatter || variant == "pool" {
                assert!(
                    !crew_threads().is_empty(),
                    "{id} {variant}: its threads should be alive"
                );
            }
            drop(run);
            if let Err(left) = wait_for_no_crew_threads() {
                panic!("{id} {variant}: threads left after drop: {left:?}");
            }
        }
    }
}
