//! The sync family: every task × variant reproduces the reference on the smoke profile and on
//! the edge cases of its parameters.
//!
//! A semaphore run that passes has also passed its gauge (the most inside at once was exactly
//! min(permits, workers, entries)), and a barrier run its phase log (no two phases overlapped):
//! either check failing fails the repetition, and `check` fails the test on any failure. Every
//! run is watched: a lost wake-up fails the test instead of hanging it. No timings are asserted.

mod common;

use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::Duration;

use common::{cell, check};
use shootout_suite::task::{Barrier, Condition, Event, Lock, Semaphore};
use shootout_suite::{Outcome, Profile, Task, TaskId};
use shootout_threads::BACKEND;

const WORKERS: [usize; 3] = [1, 2, 3];

/// [`check`]s `task` on `variant` with `workers` (two repetitions on one runner), failing the
/// test if that takes more than a couple of minutes.
fn check_in_time(task: Task, variant: &str, workers: usize) -> Vec<Outcome> {
    let (done, outcomes) = mpsc::channel();
    let cell = cell(task, variant, workers);
    thread::spawn(move || done.send(check(&BACKEND, &cell)));
    match outcomes.recv_timeout(Duration::from_secs(120)) {
        Ok(outcomes) => outcomes,
        Err(RecvTimeoutError::Timeout) => {
            panic!("{task} {variant} workers={workers}: hung (a lost wake-up?)")
        }
        Err(RecvTimeoutError::Disconnected) => {
            panic!("{task} {variant} workers={workers}: failed, see the panic above")
        }
    }
}

/// Every variant of `task`'s id, at each of `workers`; returns the outcomes with their variant
/// and worker count.
fn check_variants(task: Task, workers: &[usize]) -> Vec<(String, usize, Outcome)> {
    let mut all = Vec::new();
    for variant in BACKEND.support(task.id()).variants() {
        for &w in workers {
            for outcome in check_in_time(task, variant.name, w) {
                all.push((variant.name.to_string(), w, outcome));
            }
        }
    }
    all
}

#[test]
fn every_sync_task_offers_its_variants() {
    let names = |id| -> Vec<&str> {
        let variants = BACKEND.support(id).variants().to_vec();
        variants.iter().map(|v| v.name).collect()
    };
    assert_eq!(names(TaskId::Lock), ["std-mutex", "parking-lot", "atomic"]);
    assert_eq!(names(TaskId::Semaphore), ["mutex-condvar", "async-lock"]);
    assert_eq!(names(TaskId::Barrier), ["std"]);
    assert_eq!(names(TaskId::Event), ["condvar", "event-listener"]);
    assert_eq!(names(TaskId::Condition), ["condvar", "parking-lot"]);
    for id in [
        TaskId::Lock,
        TaskId::Semaphore,
        TaskId::Barrier,
        TaskId::Event,
        TaskId::Condition,
    ] {
        let task = Task::new(id, Profile::Smoke);
        assert!(
            BACKEND.setup(&cell(task, "no-such-variant", 2)).is_err(),
            "{id}"
        );
        assert!(
            BACKEND.setup(&cell(task, names(id)[0], 0)).is_err(),
            "{id}: workers 0"
        );
    }
}

#[test]
fn lock_smoke() {
    check_variants(Task::new(TaskId::Lock, Profile::Smoke), &WORKERS);
}

#[test]
fn lock_edges() {
    for increments in [0, 1, 2, 1000] {
        for section in [0, 3] {
            check_variants(
                Task::Lock(Lock {
                    increments,
                    section,
                }),
                &[1, 3, 4],
            );
        }
    }
}

#[test]
fn semaphore_smoke() {
    let task = Task::new(TaskId::Semaphore, Profile::Smoke);
    check_variants(task, &WORKERS);
    // Four workers at a semaphore of two: some must wait for a permit.
    let Task::Semaphore(p) = task else {
        unreachable!()
    };
    assert_eq!(
        p.permits, 2,
        "the smoke profile has changed: make the next run block"
    );
    check_variants(task, &[4]);
}

#[test]
fn semaphore_edges() {
    for (entries, permits) in [
        (0, 2),
        (1, 2),
        (2, 1),
        (100, 1),
        (100, 2),
        (100, 3),
        (100, 8),
    ] {
        // Permits below, at and above the worker count (8 > every W here: nobody ever waits).
        check_variants(
            Task::Semaphore(Semaphore {
                entries,
                permits,
                section: 4,
            }),
            &[1, 2, 3, 4],
        );
    }
}

#[test]
fn barrier_smoke() {
    check_variants(Task::new(TaskId::Barrier, Profile::Smoke), &WORKERS);
}

#[test]
fn barrier_edges() {
    // A ring narrower than the workers leaves some with no cells; they still meet at every
    // barrier.
    for phases in [0, 1, 2, 7] {
        for width in [1, 2, 5, 64] {
            check_variants(Task::Barrier(Barrier { phases, width }), &[1, 3, 4]);
        }
    }
}

#[test]
fn event_smoke() {
    let task = Task::new(TaskId::Event, Profile::Smoke);
    let Task::Event(p) = task else { unreachable!() };
    for (variant, workers, outcome) in check_variants(task, &WORKERS) {
        // One wake-up per waiter per round.
        assert_eq!(
            outcome.latencies_ns.len(),
            workers * p.rounds as usize,
            "{variant} workers={workers}"
        );
    }
}

#[test]
fn event_edges() {
    for rounds in [0, 1, 2, 50] {
        let p = Event { rounds };
        for (variant, workers, outcome) in check_variants(Task::Event(p), &[1, 2, 4, 8]) {
            assert_eq!(
                outcome.latencies_ns.len(),
                workers * rounds as usize,
                "{variant} workers={workers} rounds={rounds}"
            );
        }
    }
}

#[test]
fn condition_smoke() {
    let task = Task::new(TaskId::Condition, Profile::Smoke);
    let Task::Condition(p) = task else {
        unreachable!()
    };
    for (variant, workers, outcome) in check_variants(task, &WORKERS) {
        // One round trip per trip, whatever the worker count: the parties are always two.
        assert_eq!(
            outcome.latencies_ns.len(),
            p.trips as usize,
            "{variant} workers={workers}"
        );
    }
}

#[test]
fn condition_edges() {
    for trips in [0, 1, 2] {
        let p = Condition { trips };
        for (variant, _, outcome) in check_variants(Task::Condition(p), &[1, 2]) {
            assert_eq!(outcome.latencies_ns.len(), trips as usize, "{variant}");
        }
    }
}
