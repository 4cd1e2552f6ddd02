//! The divide-and-conquer tasks: every variant reproduces the reference, on the smoke profile
//! and on the edge cases of each parameter.

mod common;

use common::{cell, check};
use shootout_suite::task::{Fib, Mergesort, Nqueens};
use shootout_suite::{Answer, Profile, Task, TaskId};
use shootout_tokio::BACKEND;

const VARIANTS: [&str; 3] = ["spawn", "spawn-blocking", "rayon-bridge"];
const WORKERS: [usize; 3] = [1, 2, 3];

fn check_all(task: Task) {
    for variant in VARIANTS {
        for workers in WORKERS {
            check(&cell(task, variant, workers));
        }
    }
}

#[test]
fn smoke_profile() {
    for id in [TaskId::Mergesort, TaskId::Fib, TaskId::Nqueens] {
        check_all(Task::new(id, Profile::Smoke));
    }
}

#[test]
fn mergesort_edge_sizes_and_grains() {
    for n in [0, 1, 2, 97, 1009] {
        // 5000 is a grain larger than every n: one leaf, no task spawned.
        for grain in [1, 2, 7, 5000] {
            check_all(Task::Mergesort(Mergesort { n, grain }));
        }
    }
}

#[test]
fn mergesort_returns_every_key_sorted() {
    let task = Task::Mergesort(Mergesort { n: 1009, grain: 10 });
    let mut expected = task.input().into_keys();
    expected.sort_unstable();
    for variant in VARIANTS {
        for outcome in check(&cell(task, variant, 3)) {
            assert_eq!(
                outcome.answer,
                Answer::Sorted(expected.clone()),
                "{variant}"
            );
        }
    }
}

#[test]
fn mergesort_zero_grain_is_treated_as_one() {
    // `validate` refuses grain 0; the backend must still not loop or panic on it.
    check_all(Task::Mergesort(Mergesort { n: 33, grain: 0 }));
}

#[test]
fn fib_small_n_and_grains() {
    for n in 0..=2 {
        // 5 is a grain larger than n: the root is the only leaf.
        for grain in [0, 1, 2, 5] {
            check_all(Task::Fib(Fib { n, grain }));
        }
    }
    for grain in [0, 1, 10, 20, 40] {
        check_all(Task::Fib(Fib { n: 20, grain }));
    }
}

#[test]
fn nqueens_small_boards_and_splits() {
    for n in 0..=6 {
        for split in [0, 1, n] {
            check_all(Task::Nqueens(Nqueens {
                n,
                split: split.min(n),
            }));
        }
    }
    check_all(Task::Nqueens(Nqueens { n: 8, split: 3 }));
}

#[test]
fn many_workers_on_tiny_problems() {
    // More threads than tasks: the spare workers must find nothing to do and stay parked.
    for task in [
        Task::Mergesort(Mergesort { n: 5, grain: 1 }),
        Task::Fib(Fib { n: 3, grain: 1 }),
        Task::Nqueens(Nqueens { n: 4, split: 1 }),
    ] {
        for variant in VARIANTS {
            check(&cell(task, variant, 16));
        }
    }
}

#[test]
fn every_listed_variant_sets_up_and_others_do_not() {
    for id in TaskId::ALL {
        let variants = BACKEND.support(id).variants().to_vec();
        assert!(!variants.is_empty(), "{id}");
        let task = Task::new(id, Profile::Smoke);
        if !task.needs_server() {
            for variant in &variants {
                check(&cell(task, variant.name, 2));
            }
        }
        assert!(
            BACKEND.setup(&cell(task, "no-such-variant", 2)).is_err(),
            "{id}"
        );
        assert!(
            BACKEND.setup(&cell(task, variants[0].name, 0)).is_err(),
            "{id}: workers 0"
        );
    }
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
    for id in [TaskId::Mergesort, TaskId::Fib, TaskId::Nqueens] {
        assert_eq!(names(id), VARIANTS, "{id}");
    }
    assert_eq!(
        names(TaskId::Scatter),
        [
            "spawn",
            "join-all",
            "join-all-unconstrained",
            "current-thread"
        ]
    );
    assert_eq!(names(TaskId::Crawl), ["spawn", "current-thread"]);
    assert_eq!(
        names(TaskId::Bounded),
        ["mpsc", "async-channel", "current-thread"]
    );
}
