//! Helpers shared by the test files: build a cell, run it and compare with the reference.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::fs;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use shootout_smol::BACKEND;
use shootout_suite::{Cell, Failure, Outcome, Task};

/// A cell of the smol backend, without a server.
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
