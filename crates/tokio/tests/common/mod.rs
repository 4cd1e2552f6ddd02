//! Helpers shared by the test files: build a cell, run it and compare with the reference.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use shootout_suite::{Cell, Failure, Outcome, Task};
use shootout_tokio::BACKEND;

/// A cell of the tokio backend, without a server.
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
    let what = format!("{} {} workers={}", cell.task, cell.variant, cell.workers);
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
