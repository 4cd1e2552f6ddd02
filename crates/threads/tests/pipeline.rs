//! The bounded pipeline: every variant consumes every item exactly once, whatever the shape.

mod common;

use common::{cell, check};
use shootout_suite::pipeline::LATENCY_SAMPLE;
use shootout_suite::task::Bounded;
use shootout_suite::{Profile, Task, TaskId};
use shootout_threads::BACKEND;

const VARIANTS: [&str; 3] = ["std-mpsc", "crossbeam", "mutex-condvar"];

fn check_all(p: Bounded) {
    let task = Task::Bounded(p);
    for variant in VARIANTS {
        for outcome in check(&BACKEND, &cell(task, variant, 2)) {
            // One latency sample per LATENCY_SAMPLE items, from the first.
            assert_eq!(
                outcome.latencies_ns.len() as u64,
                p.items.div_ceil(LATENCY_SAMPLE),
                "{task} {variant}"
            );
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
    for (producers, consumers) in [(1, 1), (1, 3), (3, 1), (2, 2), (4, 3)] {
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
