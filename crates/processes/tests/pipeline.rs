//! The bounded pipeline: every variant consumes every item exactly once, whatever the shape.

mod common;

use common::{cell, check};
use shootout_processes::BACKEND;
use shootout_suite::pipeline::LATENCY_SAMPLE;
use shootout_suite::task::Bounded;
use shootout_suite::{Profile, Task, TaskId};

/// The entry point of this test binary's worker processes (see `shootout_processes::run_if_worker`).
#[test]
fn worker_entry() {
    shootout_processes::run_if_worker();
}

fn check_all(p: Bounded) {
    let task = Task::Bounded(p);
    for variant in BACKEND
        .support(TaskId::Bounded)
        .variants()
        .iter()
        .map(|v| v.name)
    {
        for outcome in check(&cell(task, variant, 2)) {
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
    for (producers, consumers) in [(1, 1), (1, 3), (3, 1), (2, 2)] {
        for capacity in [1, 4] {
            for items in [0, 1, 1000] {
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
        producers: 5,
        consumers: 2,
        capacity: 1,
        items: 3,
        work: 1,
    });
}

#[test]
fn large_capacities_and_batches() {
    // Full batches of 128 items, several per queue, and a capacity that is not a multiple.
    for capacity in [128, 300, 1024] {
        check_all(Bounded {
            producers: 2,
            consumers: 3,
            capacity,
            items: 20_000,
            work: 0,
        });
    }
}

#[test]
fn stress_every_item_exactly_once_across_processes() {
    // Many processes on a tiny queue: the most hand-offs, the most contention on each slot or
    // packet. The tally's count and sum catch a lost, duplicated or torn item.
    for (producers, consumers, capacity) in [(3, 3, 1), (4, 2, 3), (2, 4, 2)] {
        check_all(Bounded {
            producers,
            consumers,
            capacity,
            items: 30_000,
            work: 0,
        });
    }
}

#[test]
fn empty_stages_are_refused_at_setup() {
    // `validate` refuses these; the backend must still fail cleanly instead of hanging.
    let good = Bounded {
        producers: 1,
        consumers: 1,
        capacity: 1,
        items: 10,
        work: 0,
    };
    for bad in [
        Bounded {
            producers: 0,
            ..good
        },
        Bounded {
            consumers: 0,
            ..good
        },
        Bounded {
            capacity: 0,
            ..good
        },
    ] {
        for variant in BACKEND
            .support(TaskId::Bounded)
            .variants()
            .iter()
            .map(|v| v.name)
        {
            let result = BACKEND.setup(&cell(Task::Bounded(bad), variant, 2));
            assert!(result.is_err(), "{bad:?} {variant}");
        }
    }
}
