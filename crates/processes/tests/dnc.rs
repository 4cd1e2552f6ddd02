//! The divide-and-conquer tasks: every variant reproduces the reference, on the smoke profile
//! and on the edge cases of each parameter.

mod common;

use common::{cell, check};
use shootout_processes::BACKEND;
use shootout_suite::task::{Fib, Mergesort, Nqueens};
use shootout_suite::{Answer, Profile, Task, TaskId};

/// The entry point of this test binary's worker processes (see `shootout_processes::run_if_worker`).
#[test]
fn worker_entry() {
    shootout_processes::run_if_worker();
}

const WORKERS: [usize; 3] = [1, 2, 3];

fn variants(task: Task) -> Vec<&'static str> {
    BACKEND
        .support(task.id())
        .variants()
        .iter()
        .map(|v| v.name)
        .collect()
}

fn check_all(task: Task) {
    for variant in variants(task) {
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
        for grain in [1, 7, 5000] {
            check_all(Task::Mergesort(Mergesort { n, grain }));
        }
    }
}

#[test]
fn mergesort_returns_every_key_sorted() {
    let task = Task::Mergesort(Mergesort { n: 1009, grain: 10 });
    let mut expected = task.input().into_keys();
    expected.sort_unstable();
    for variant in variants(task) {
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
fn mergesort_moves_more_than_a_pipe_buffer() {
    // 300 000 keys are 2.4 MB: more than the 1 MiB pipes hold, both ways.
    check_all(Task::Mergesort(Mergesort {
        n: 300_000,
        grain: 4096,
    }));
}

#[test]
fn mergesort_zero_grain_is_treated_as_one() {
    // `validate` refuses grain 0; the backend must still not loop or panic on it.
    check_all(Task::Mergesort(Mergesort { n: 33, grain: 0 }));
}

#[test]
fn mergesort_shm_refuses_more_keys_than_it_set_up_for() {
    let task = Task::Mergesort(Mergesort { n: 10, grain: 2 });
    let mut run = BACKEND.setup(&cell(task, "shm", 2)).unwrap();
    let bigger = Task::Mergesort(Mergesort { n: 11, grain: 2 }).input();
    assert!(run(bigger).is_err());
}

#[test]
fn fib_small_n_and_grains() {
    for n in 0..=2 {
        for grain in [0, 1, 5] {
            check_all(Task::Fib(Fib { n, grain }));
        }
    }
    for grain in [0, 1, 10, 19, 20, 40] {
        check_all(Task::Fib(Fib { n: 20, grain }));
    }
}

#[test]
fn nqueens_small_boards_and_splits() {
    for n in 0..=6 {
        for split in [0, 1, n] {
            check_all(Task::Nqueens(Nqueens { n, split }));
        }
    }
    check_all(Task::Nqueens(Nqueens { n: 8, split: 3 }));
}

#[test]
fn many_workers_on_tiny_problems() {
    // More processes than tasks: the spare ones get nothing (or an empty share) and idle.
    for task in [
        Task::Mergesort(Mergesort { n: 5, grain: 1 }),
        Task::Fib(Fib { n: 3, grain: 1 }),
        Task::Nqueens(Nqueens { n: 4, split: 1 }),
    ] {
        for variant in variants(task) {
            check(&cell(task, variant, 8));
        }
    }
}

#[test]
fn every_listed_variant_sets_up_and_others_do_not() {
    for id in TaskId::ALL {
        let task = Task::new(id, Profile::Smoke);
        let support = BACKEND.support(id);
        let variants = support.variants();
        assert!(!variants.is_empty(), "{id}");
        if !task.needs_server() {
            for variant in variants {
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
