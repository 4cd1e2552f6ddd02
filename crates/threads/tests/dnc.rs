//! The divide-and-conquer tasks: every variant reproduces the reference, on the smoke profile
//! and on the edge cases of each parameter.

mod common;

use common::{cell, check};
use shootout_suite::task::{Fib, Mergesort, Nqueens};
use shootout_suite::{Answer, Backend, Profile, Task, TaskId};
use shootout_threads::Threads;

const VARIANTS: [&str; 2] = ["scope", "task-queue"];
const WORKERS: [usize; 4] = [1, 2, 3, 4];

fn check_all(task: Task) {
    for variant in VARIANTS {
        for workers in WORKERS {
            check(&Threads, &cell(task, variant, workers));
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
    for n in [0, 1, 2, 3, 17, 97, 1009, 4099] {
        for grain in [1, 2, 7, 64, 5000] {
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
        for outcome in check(&Threads, &cell(task, variant, 3)) {
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
    for grain in [0, 1, 2, 10, 19, 20, 40] {
        check_all(Task::Fib(Fib { n: 20, grain }));
    }
}

#[test]
fn nqueens_small_boards_and_splits() {
    for n in 0..=6 {
        for split in [0, 1, 2, n] {
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
    // More threads than tasks: the spare threads must find nothing to do and stop.
    for task in [
        Task::Mergesort(Mergesort { n: 5, grain: 1 }),
        Task::Fib(Fib { n: 3, grain: 1 }),
        Task::Nqueens(Nqueens { n: 4, split: 1 }),
    ] {
        for variant in VARIANTS {
            check(&Threads, &cell(task, variant, 16));
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
        let variants = Threads.support(id).variants();
        assert!(!variants.is_empty(), "{id}");
        for variant in variants {
            check(&Threads, &cell(task, variant.name, 2));
        }
        assert!(
            Threads.setup(&cell(task, "no-such-variant", 2)).is_err(),
            "{id}"
        );
        assert!(
            Threads.setup(&cell(task, variants[0].name, 0)).is_err(),
            "{id}: workers 0"
        );
    }
}
