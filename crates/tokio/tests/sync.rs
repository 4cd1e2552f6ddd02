//! The sync family: every task × variant gives the reference answer on the smoke profile, at
//! several worker counts, twice on one runner.
//!
//! The semaphore and barrier tasks check themselves: a run returns an error unless the
//! semaphore's observed maximum equalled min(S, W, entries) (the `Gauge`) and no two barrier
//! phases overlapped (the `PhaseLog`). So every successful run below also proves those.

mod common;

use common::{cell, check};
use shootout_suite::task::{Condition, Event, Semaphore};
use shootout_suite::{Outcome, Profile, Task, TaskId};
use shootout_tokio::BACKEND;

/// Every variant of `id`, run at each of `workers` on `task`; returns every outcome with the
/// worker count it ran at.
fn check_variants(id: TaskId, task: Task, workers: &[usize]) -> Vec<(usize, Outcome)> {
    let mut outcomes = Vec::new();
    for variant in BACKEND.support(id).variants() {
        for &w in workers {
            outcomes.extend(
                check(&cell(task, variant.name, w))
                    .into_iter()
                    .map(|o| (w, o)),
            );
        }
    }
    outcomes
}

fn smoke(id: TaskId) -> Task {
    Task::new(id, Profile::Smoke)
}

#[test]
fn the_variants_are_the_documented_ones() {
    let names = |id| -> Vec<&str> {
        BACKEND
            .support(id)
            .variants()
            .iter()
            .map(|v| v.name)
            .collect()
    };
    assert_eq!(names(TaskId::Lock), ["tokio-mutex", "std-mutex"]);
    assert_eq!(names(TaskId::Semaphore), ["semaphore"]);
    assert_eq!(names(TaskId::Barrier), ["barrier"]);
    assert_eq!(names(TaskId::Event), ["notify", "watch"]);
    assert_eq!(names(TaskId::Condition), ["notify"]);
}

#[test]
fn lock() {
    check_variants(TaskId::Lock, smoke(TaskId::Lock), &[1, 2, 3]);
}

#[test]
fn semaphore() {
    // Smoke has S = 2, so at W = 3 and 4 tasks queue for permits.
    check_variants(TaskId::Semaphore, smoke(TaskId::Semaphore), &[1, 2, 3]);
    let Task::Semaphore(p) = smoke(TaskId::Semaphore) else {
        unreachable!()
    };
    check_variants(
        TaskId::Semaphore,
        Task::Semaphore(Semaphore { permits: 2, ..p }),
        &[4],
    );
    // More permits than tasks: the gauge expects W inside at once, never S.
    check_variants(
        TaskId::Semaphore,
        Task::Semaphore(Semaphore { permits: 5, ..p }),
        &[1, 3],
    );
    // Fewer entries than permits and tasks, and none at all.
    for entries in [0, 1, 2] {
        check_variants(
            TaskId::Semaphore,
            Task::Semaphore(Semaphore {
                entries,
                permits: 3,
                ..p
            }),
            &[4],
        );
    }
}

#[test]
fn semaphore_without_permits_is_refused_not_hung() {
    let Task::Semaphore(p) = smoke(TaskId::Semaphore) else {
        unreachable!()
    };
    let task = Task::Semaphore(Semaphore { permits: 0, ..p });
    assert!(BACKEND.setup(&cell(task, "semaphore", 2)).is_err());
}

#[test]
fn barrier() {
    check_variants(TaskId::Barrier, smoke(TaskId::Barrier), &[1, 2, 3]);
}

#[test]
fn event() {
    let Task::Event(p) = smoke(TaskId::Event) else {
        unreachable!()
    };
    for rounds in [p.rounds, 1, 0] {
        let task = Task::Event(Event { rounds });
        for (workers, outcome) in check_variants(TaskId::Event, task, &[1, 2, 3]) {
            // One set-to-wake latency per waiter per round.
            assert_eq!(
                outcome.latencies_ns.len(),
                workers * rounds as usize,
                "{task} workers={workers}"
            );
        }
    }
}

#[test]
fn condition() {
    let Task::Condition(p) = smoke(TaskId::Condition) else {
        unreachable!()
    };
    for trips in [p.trips, 1, 0] {
        let task = Task::Condition(Condition { trips });
        for (workers, outcome) in check_variants(TaskId::Condition, task, &[1, 2, 3]) {
            // One round trip per trip, whatever W.
            assert_eq!(
                outcome.latencies_ns.len(),
                trips as usize,
                "{task} workers={workers}"
            );
        }
    }
}
