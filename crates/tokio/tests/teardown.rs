//! Dropping a runner stops and joins its runtime's threads (and its rayon pool's). In a test
//! binary of its own, so that no other test's threads are alive while this one counts them.

#![cfg(target_os = "linux")]

use std::fs;
use std::thread;
use std::time::{Duration, Instant};

use shootout_loopback::Server;
use shootout_suite::{Cell, Profile, Task, TaskId};
use shootout_tokio::BACKEND;

/// The names of this process's threads that belong to a runtime or pool of this backend.
fn backend_threads() -> Vec<String> {
    fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| name.starts_with("tokio-worker") || name.starts_with("rayon-bridge"))
        .collect()
}

/// Waits until no thread of the backend is left. A joined thread's `/proc` entry can outlive
/// the join by a moment, and rayon stops its threads without waiting for them, so this polls;
/// only threads that were never stopped make it time out.
fn wait_for_no_backend_threads() -> Result<(), Vec<String>> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = backend_threads();
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
    for id in TaskId::ALL {
        for variant in BACKEND.support(id).variants() {
            let task = Task::new(id, Profile::Smoke);
            let cell = Cell {
                task,
                variant: variant.name.into(),
                workers: 3,
                server: Some(server.addr()),
            };
            let what = format!("{id} {}", variant.name);
            let mut run = BACKEND.setup(&cell).unwrap();
            run(task.input()).unwrap();
            let alive = backend_threads();
            if variant.name == "current-thread" {
                // The calling thread is the runtime's only thread.
                assert!(alive.is_empty(), "{what}: threads of its own: {alive:?}");
            } else {
                assert!(!alive.is_empty(), "{what}: its threads should be alive");
            }
            drop(run);
            if let Err(left) = wait_for_no_backend_threads() {
                panic!("{what}: threads left after drop: {left:?}");
            }
        }
    }
}
