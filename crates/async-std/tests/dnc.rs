//! The divide-and-conquer tasks: every variant reproduces the reference, on the smoke profile
//! and on the edge cases of each parameter.
//!
//! async-std's executor is global and sized once per process, so every test of this binary
//! uses the same worker count; `workers_1.rs` and `workers_3.rs` run the other counts.

mod common;

use common::{cell, check, expect_executor_threads, expect_other_sizes_refused};
use shootout_async_std::BACKEND;
use shootout_suite::task::{Fib, Mergesort, Nqueens};
use shootout_suite::{Answer, Profile, Task, TaskId};

const VARIANTS: [&str; 2] = ["spawn", "spawn-blocking"];
/// The one worker count of this test binary.
const WORKERS: usize = 2;

fn check_all(task: Task) {
    for variant in VARIANTS {
        check(&cell(task, variant, WORKERS));
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
    // grain 1 splits down to single keys; 5000 exceeds every n here.
    for n in [0, 1, 2, 3, 97, 1009] {
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
        for outcome in check(&cell(task, variant, WORKERS)) {
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
        for grain in [0, 1, 2, 5] {
            check_all(Task::Fib(Fib { n, grain }));
        }
    }
    // grain 0 forks down to fib(1) and fib(0); 40 exceeds n.
    for grain in [0, 1, 10, 15, 40] {
        check_all(Task::Fib(Fib { n: 15, grain }));
    }
}

#[test]
fn nqueens_small_boards_and_splits() {
    for n in 0..=6 {
        // `validate` refuses split > n: an empty board (n = 0) has only split 0.
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
fn the_executor_has_the_workers_threads_and_keeps_its_size() {
    check(&cell(
        Task::new(TaskId::Fib, Profile::Smoke),
        "spawn",
        WORKERS,
    ));
    expect_executor_threads(WORKERS);
    expect_other_sizes_refused(WORKERS + 1);
    expect_executor_threads(WORKERS);
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
        assert_eq!(names(id), VARIANTS);
    }
    assert_eq!(names(TaskId::Scatter), ["spawn", "join-all"]);
    assert_eq!(names(TaskId::Crawl), ["spawn"]);
    assert_eq!(names(TaskId::Bounded), ["async-channel"]);
    for id in TaskId::ALL {
        for variant in BACKEND.support(id).variants() {
            assert!(!variant.about.is_empty(), "{id} {}", variant.name);
        }
    }
}

#[test]
fn every_listed_variant_sets_up_and_others_do_not() {
    for id in [
        TaskId::Mergesort,
        TaskId::Fib,
        TaskId::Nqueens,
        TaskId::Bounded,
    ] {
        let task = Task::new(id, Profile::Smoke);
        let support = BACKEND.support(id);
        let variants = support.variants();
        assert!(!variants.is_empty(), "{id}");
        for variant in variants {
            check(&cell(task, variant.name, WORKERS));
        }
        let err = BACKEND
            .setup(&cell(task, "no-such-variant", WORKERS))
            .err()
            .expect("an unknown variant is refused");
        assert!(err.to_string().contains("no-such-variant"), "{id}: {err}");
        assert!(
            BACKEND.setup(&cell(task, variants[0].name, 0)).is_err(),
            "{id}: workers 0"
        );
    }
}
