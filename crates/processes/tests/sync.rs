//! The sync family: every task and variant reproduces the reference on the smoke profile, with
//! one, two and three worker processes, twice on one runner.
//!
//! The answers are the proofs: a lost update changes the lock's counter; the semaphore's run
//! fails unless the most workers ever inside at once was exactly `min(permits, W, entries)` (its
//! `Gauge`, checked by the runner); the barrier's fails if a worker ever started a phase while
//! another was not in the one before or the same (its `PhaseLog`, checked in every worker); the
//! event's waiters must all have seen every round, in order. So a passing run here is also a
//! passing gauge and phase log. No timings are asserted.

mod common;

use common::{cell, check};
use shootout_processes::BACKEND;
use shootout_suite::task::{Barrier, Condition, Event, Lock, Semaphore};
use shootout_suite::{Outcome, Profile, Task, TaskId};

/// The entry point of this test binary's worker processes (see `shootout_processes::run_if_worker`).
#[test]
fn worker_entry() {
    shootout_processes::run_if_worker();
}

const WORKERS: [usize; 3] = [1, 2, 3];

/// Every variant of `task` at `workers`, checked twice on one runner; the outcomes by variant.
fn check_all(task: Task, workers: usize) -> Vec<(&'static str, Outcome)> {
    let support = BACKEND.support(task.id());
    let variants = support.variants();
    assert!(!variants.is_empty(), "{task}: no variants");
    variants
        .iter()
        .flat_map(|v| {
            check(&cell(task, v.name, workers))
                .into_iter()
                .map(|outcome| (v.name, outcome))
        })
        .collect()
}

fn smoke(id: TaskId) -> Task {
    Task::new(id, Profile::Smoke)
}

#[test]
fn lock_smoke() {
    for workers in WORKERS {
        check_all(smoke(TaskId::Lock), workers);
    }
}

#[test]
fn lock_with_fewer_entries_than_workers_and_an_empty_section() {
    for (increments, section) in [(0, 4), (2, 4), (1000, 0)] {
        check_all(
            Task::Lock(Lock {
                increments,
                section,
            }),
            3,
        );
    }
}

#[test]
fn semaphore_smoke_the_gauge_passes() {
    for workers in WORKERS {
        check_all(smoke(TaskId::Semaphore), workers);
    }
    // Four workers on two permits: the semaphore really blocks, and the gauge must see exactly
    // two inside at once.
    let Task::Semaphore(p) = smoke(TaskId::Semaphore) else {
        unreachable!()
    };
    check_all(Task::Semaphore(Semaphore { permits: 2, ..p }), 4);
}

#[test]
fn semaphore_with_more_permits_than_workers_or_entries() {
    let Task::Semaphore(p) = smoke(TaskId::Semaphore) else {
        unreachable!()
    };
    check_all(Task::Semaphore(Semaphore { permits: 5, ..p }), 3);
    check_all(Task::Semaphore(Semaphore { permits: 1, ..p }), 3);
    check_all(
        Task::Semaphore(Semaphore {
            entries: 2,
            permits: 3,
            ..p
        }),
        3,
    );
}

#[test]
fn barrier_smoke_the_phases_never_overlap() {
    for workers in WORKERS {
        check_all(smoke(TaskId::Barrier), workers);
    }
}

#[test]
fn barrier_with_a_ring_narrower_than_the_workers() {
    // Some workers have no cells; they still meet every barrier.
    check_all(
        Task::Barrier(Barrier {
            phases: 7,
            width: 2,
        }),
        3,
    );
    check_all(
        Task::Barrier(Barrier {
            phases: 0,
            width: 5,
        }),
        2,
    );
}

#[test]
fn event_smoke_one_latency_per_waiter_per_round() {
    let task = smoke(TaskId::Event);
    let Task::Event(p) = task else { unreachable!() };
    for workers in WORKERS {
        for (variant, outcome) in check_all(task, workers) {
            assert_eq!(
                outcome.latencies_ns.len(),
                workers * p.rounds as usize,
                "{variant} workers={workers}"
            );
        }
    }
    for (_, outcome) in check_all(Task::Event(Event { rounds: 0 }), 2) {
        assert!(outcome.latencies_ns.is_empty());
    }
}

#[test]
fn condition_smoke_one_latency_per_round_trip() {
    let task = smoke(TaskId::Condition);
    let Task::Condition(p) = task else {
        unreachable!()
    };
    // Two parties whatever the workers say.
    for workers in WORKERS {
        for (variant, outcome) in check_all(task, workers) {
            assert_eq!(
                outcome.latencies_ns.len(),
                p.trips as usize,
                "{variant} workers={workers}"
            );
        }
    }
    for (_, outcome) in check_all(Task::Condition(Condition { trips: 1 }), 1) {
        assert_eq!(outcome.latencies_ns.len(), 1);
    }
}
