//! Helpers shared by the test files: build a cell, run it and compare with the reference.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::env;
use std::fs;
use std::process::Command;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use shootout_async_std::BACKEND;
use shootout_suite::{Cell, Failure, Outcome, Task};

/// A cell of the async-std backend, without a server.
pub fn cell(task: Task, variant: &str, workers: usize) -> Cell {
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

/// Set in a child process started by [`in_child`].
const CHILD: &str = "SHOOTOUT_ASYNC_STD_TEST_CHILD";

/// In the parent, runs test `test` of this test binary again as a child process of its own,
/// with `vars` set, and checks that it passed; returns `true` in the child, which then does the
/// test's real work.
///
/// async-std's executor is global and sized once per process, so a test that needs a fresh
/// executor (another size, or none started yet) needs a process of its own.
pub fn in_child(test: &str, vars: &[(&str, &str)]) -> bool {
    if env::var_os(CHILD).is_some() {
        return true;
    }
    let output = Command::new(env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .envs(vars.iter().copied())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "the child of {test} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    false
}

/// The names of this process's threads that start with `prefix` (Linux only: empty elsewhere).
pub fn threads_named(prefix: &str) -> Vec<String> {
    let Ok(tasks) = fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    tasks
        .filter_map(|task| fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| name.starts_with(prefix))
        .collect()
}

/// Waits until exactly `count` of async-std's executor threads are seen, and fails the test if
/// that does not happen. This polls: a new thread names itself only once it first runs.
pub fn expect_executor_threads(count: usize) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        // Linux keeps the first 15 bytes of a thread's name: `async-std/runti`.
        let seen = threads_named(&shootout_async_std::THREAD_NAME[..14]);
        if seen.len() == count || !cfg!(target_os = "linux") {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "expected {count} executor threads, found {seen:?}"
        );
        thread::sleep(Duration::from_millis(10));
    }
}

/// Checks that this process's executor keeps the size its first setup gave it: a cell asking
/// for `other` workers is refused with a message that says why.
pub fn expect_other_sizes_refused(other: usize) {
    let task =
        shootout_suite::Task::new(shootout_suite::TaskId::Fib, shootout_suite::Profile::Smoke);
    let err = BACKEND
        .setup(&cell(task, "spawn", other))
        .err()
        .expect("a second size in one process is refused");
    assert!(err.to_string().contains("sized once per process"), "{err}");
}

/// Runs every task and variant on the smoke profile with `workers` executor threads (the
/// fan-out tasks against an in-process loopback server), then checks the executor's size.
pub fn smoke_every_variant(workers: usize) {
    use shootout_suite::{Profile, TaskId};
    let server = shootout_loopback::Server::start("127.0.0.1:0".parse().unwrap())
        .expect("start the loopback server");
    for id in TaskId::ALL {
        for variant in BACKEND.support(id).variants() {
            let cell = Cell {
                server: Some(server.addr()),
                ..cell(Task::new(id, Profile::Smoke), variant.name, workers)
            };
            check(&cell);
        }
    }
    expect_executor_threads(workers);
    expect_other_sizes_refused(workers + 1);
}
