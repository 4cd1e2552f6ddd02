//! The sync family: every task and variant reproduces the reference on the smoke profile, with
//! one, two, three and four executor threads, and each run proves its primitive held.
//!
//! The proof is in the answer: a semaphore run returns its answer only if its gauge saw exactly
//! min(S, W, entries) inside at once (never more than S), and a barrier run only if its phase
//! log saw no two phases overlap; otherwise the repetition fails and `check` panics with the
//! failure. The event's waiters must all have seen every round, in order. No test here looks at
//! a time.

mod common;

use common::{cell, check};
use shootout_smol::BACKEND;
use shootout_suite::task::{Barrier, Condition, Event, Lock, Semaphore};
use shootout_suite::{Profile, Task, TaskId};

const TASKS: [TaskId; 5] = [
    TaskId::Lock,
    TaskId::Semaphore,
    TaskId::Barrier,
    TaskId::Event,
    TaskId::Condition,
];

/// Runs `task` in every variant with `workers` threads (twice, on one runner) and checks the
/// latency samples: one per waiter per round for the event, one per round trip for the
/// condition, none otherwise.
fn check_all(task: Task, workers: usize) {
    for variant in BACKEND.support(task.id()).variants() {
        for outcome in check(&cell(task, variant.name, workers)) {
            let samples = match task {
                Task::Event(Event { rounds }) => workers * rounds as usize,
                Task::Condition(Condition { trips }) => trips as usize,
                _ => 0,
            };
            assert_eq!(
                outcome.latencies_ns.len(),
                samples,
                "{task} {} workers={workers}",
                variant.name
            );
        }
    }
}

fn smoke_semaphore() -> Semaphore {
    let Task::Semaphore(p) = Task::new(TaskId::Semaphore, Profile::Smoke) else {
        unreachable!()
    };
    p
}

/// Every sync task on the smoke profile with `workers` executor threads, then the semaphore
/// with more permits than workers (it fills to the workers) and with fewer entries than either
/// (it fills to the entries), and the empty and one-round edges.
fn every_sync_task(workers: usize) {
    for id in TASKS {
        check_all(Task::new(id, Profile::Smoke), workers);
    }
    let p = smoke_semaphore();
    check_all(
        Task::Semaphore(Semaphore {
            permits: workers + 2,
            ..p
        }),
        workers,
    );
    check_all(
        Task::Semaphore(Semaphore {
            entries: 2,
            permits: 5,
            ..p
        }),
        workers,
    );
    for task in [
        Task::Lock(Lock {
            increments: 0,
            section: 4,
        }),
        Task::Semaphore(Semaphore { entries: 0, ..p }),
        Task::Barrier(Barrier {
            phases: 0,
            width: 8,
        }),
        Task::Barrier(Barrier {
            phases: 3,
            width: 1,
        }),
        Task::Event(Event { rounds: 0 }),
        Task::Event(Event { rounds: 1 }),
        Task::Condition(Condition { trips: 0 }),
        Task::Condition(Condition { trips: 1 }),
    ] {
        check_all(task, workers);
    }
}

#[test]
fn one_executor_thread() {
    every_sync_task(1);
}

#[test]
fn two_executor_threads() {
    every_sync_task(2);
}

#[test]
fn three_executor_threads() {
    every_sync_task(3);
}

#[test]
fn four_executor_threads_and_a_semaphore_of_two_and_one() {
    // Four workers, two permits (then one): the others must wait at the semaphore, and the
    // gauge must see exactly the permits inside at once, never more.
    let p = smoke_semaphore();
    check_all(Task::Semaphore(Semaphore { permits: 2, ..p }), 4);
    check_all(Task::Semaphore(Semaphore { permits: 1, ..p }), 4);
    every_sync_task(4);
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
    assert_eq!(names(TaskId::Lock), ["async-lock", "std-mutex"]);
    assert_eq!(names(TaskId::Semaphore), ["async-lock"]);
    assert_eq!(names(TaskId::Barrier), ["async-lock"]);
    assert_eq!(names(TaskId::Event), ["event-listener"]);
    assert_eq!(names(TaskId::Condition), ["event-listener"]);
    for id in TASKS {
        let task = Task::new(id, Profile::Smoke);
        let err = BACKEND
            .setup(&cell(task, "no-such-variant", 2))
            .err()
            .expect("an unknown variant is refused");
        assert!(err.to_string().contains("no-such-variant"), "{id}: {err}");
    }
}
