//! The bounded pipeline: every variant consumes every item exactly once, whatever the shape.

mod common;

use common::{cell, check};
use shootout_suite::pipeline::LATENCY_SAMPLE;
use shootout_suite::task::Bounded;
use shootout_suite::{Profile, Task, TaskId};
use shootout_tokio::BACKEND;

const VARIANTS: [&str; 3] = ["mpsc", "async-channel", "current-thread"];

fn check_all(p: Bounded) {
    let task = Task::Bounded(p);
    for variant in VARIANTS {
        for workers in [1, 2, 3] {
            for outcome in check(&cell(task, variant, workers)) {
                // One latency sample per LATENCY_SAMPLE items, from the first.
                assert_eq!(
                    outcome.latencies_ns.len() as u64,
                    p.items.div_ceil(LATENCY_SAMPLE),
                    "{task} {variant} workers={workers}"
                );
            }
        }
    }
}

#[test]
fn smoke_profile() {
    let Task::Bounded(p) = Task::new(TaskId::Bounded, Profile::Smoke) else {
        unreachable!()
    };
    check_all(p);
}

#[test]
fn shapes_capacities_and_sizes() {
    for (producers, consumers) in [(1, 1), (1, 3), (3, 1), (2, 2)] {
        for capacity in [1, 4] {
            for items in [0, 1, 2, 1000] {
                for work in [0, 10] {
                    check_all(Bounded {
                        producers,
                        consumers,
                        capacity,
                        items,
                        work,
                    });
                }
            }
        }
    }
}

#[test]
fn more_producers_than_items() {
    check_all(Bounded {
        producers: 8,
        consumers: 2,
        capacity: 1,
        items: 3,
        work: 1,
    });
}

#[test]
fn no_producers_or_consumers_is_refused_not_hung() {
    for (producers, consumers) in [(0, 2), (2, 0)] {
        let task = Task::Bounded(Bounded {
            producers,
            consumers,
            capacity: 1,
            items: 10,
            work: 0,
        });
        for variant in VARIANTS {
            assert!(
                BACKEND.setup(&cell(task, variant, 2)).is_err(),
                "{task} {variant}"
            );
        }
    }
}

#[test]
fn more_consumers_than_workers_and_queue_slots() {
    // More consumers than workers, and more than items in a full queue: every consumer waits on
    // the queue itself (`async-channel`) or for the lock in front of it (`mpsc`).
    check_all(Bounded {
        producers: 3,
        consumers: 8,
        capacity: 2,
        items: 5_000,
        work: 0,
    });
}
