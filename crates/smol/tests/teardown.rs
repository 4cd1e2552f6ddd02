//! The runtime has exactly `workers` executor threads, and dropping a runner stops and joins
//! them. In a test binary of its own, so that no other test's runtime is alive while this one
//! counts threads.

#![cfg(target_os = "linux")]

mod common;

use std::thread;
use std::time::{Duration, Instant};

use common::threads_named;
use shootout_loopback::Server;
use shootout_smol::BACKEND;
use shootout_suite::{Cell, Profile, Task, TaskId};

const PREFIX: &str = "smol-worker";

/// Waits until exactly `count` executor threads are seen, and returns what was seen last.
///
/// This polls: a new thread names itself only once it first runs, and a joined thread's `/proc`
/// entry can outlive the join by a moment. Only a wrong count that lasts makes it time out.
fn wait_for_executor_threads(count: usize) -> Result<(), Vec<String>> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let seen = threads_named(PREFIX);
        if seen.len() == count {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(seen);
        }
        thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_runner_has_its_threads_and_dropping_it_stops_them() {
    let server = Server::start("127.0.0.1:0".parse().unwrap()).unwrap();
    for (id, variant) in [
        (TaskId::Fib, "spawn"),
        (TaskId::Fib, "unblock"),
        (TaskId::Scatter, "spawn"),
        (TaskId::Scatter, "join-all"),
        (TaskId::Crawl, "spawn"),
        (TaskId::Bounded, "async-channel"),
        (TaskId::Lock, "async-lock"),
        (TaskId::Semaphore, "async-lock"),
        (TaskId::Barrier, "async-lock"),
        (TaskId::Event, "event-listener"),
        (TaskId::Condition, "event-listener"),
    ] {
        for workers in [1, 3] {
            let task = Task::new(id, Profile::Smoke);
            let cell = Cell {
                task,
                variant: variant.into(),
                workers,
                server: Some(server.addr()),
            };
            let mut run = BACKEND.setup(&cell).unwrap();
            run(task.input()).unwrap();
            if let Err(seen) = wait_for_executor_threads(workers) {
                panic!("{id} {variant}: {workers} workers, executor threads {seen:?}");
            }
            drop(run);
            if let Err(left) = wait_for_executor_threads(0) {
                panic!("{id} {variant}: threads left after drop: {left:?}");
            }
        }
    }
}
