//! What the conformance suite does not check of this backend's pipeline variants: capacities
//! that hold several of the kernel channels' batches of 128 items, or not a whole number of
//! them; a stress of many processes on a tiny queue (the most hand-offs, the most contention on
//! each ring slot or packet); and a pipeline with no producers, no consumers or no capacity
//! refused at setup instead of hanging its worker processes.

mod common;

use common::cell;
use shootout_processes::BACKEND;
use shootout_suite::task::Bounded;
use shootout_suite::{Task, TaskId};
use shootout_testkit::check;

/// The entry point of this test binary's worker processes (see `shootout_processes::run_if_worker`).
#[test]
fn worker_entry() {
    shootout_processes::run_if_worker();
}

/// Every variant on `p` (its processes are `p`'s producers and consumers), checked twice on one
/// runner with its latency samples counted.
fn check_all(p: Bounded) {
    let task = Task::Bounded(p);
    for variant in BACKEND.support(TaskId::Bounded).variants() {
        for outcome in check(&BACKEND, &cell(task, variant.name, 2, None)) {
            assert_eq!(
                outcome.latencies_ns.len(),
                task.latency_samples(2) as usize,
                "{task} {}",
                variant.name
            );
        }
    }
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
        for variant in BACKEND.support(TaskId::Bounded).variants() {
            let result = BACKEND.setup(&cell(Task::Bounded(bad), variant.name, 2, None));
            assert!(result.is_err(), "{bad:?} {}", variant.name);
        }
    }
}
