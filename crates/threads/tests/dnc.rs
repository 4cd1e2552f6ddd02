//! The divide-and-conquer tasks: every variant reproduces the reference, on the smoke profile
//! and on the edge cases of each parameter.

mod common;

use common::{cell, check};
use shootout_suite::dnc::fib;
use shootout_suite::dnc::nqueens::Board;
use shootout_suite::task::{Fib, Mergesort, Nqueens};
use shootout_suite::{Answer, Profile, Task, TaskId};
use shootout_threads::BACKEND;
use shootout_threads::gil::GIL_SWITCH_UNITS;

const VARIANTS: [&str; 4] = ["scope", "task-queue", "gil", "gil-switch"];
const WORKERS: [usize; 4] = [1, 2, 3, 4];

fn check_all(task: Task) {
    for variant in VARIANTS {
        for workers in WORKERS {
            check(&BACKEND, &cell(task, variant, workers));
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
        for outcome in check(&BACKEND, &cell(task, variant, 3)) {
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
            check(&BACKEND, &cell(task, variant, 16));
        }
    }
}

#[test]
fn the_gil_variants_with_fewer_and_more_units_than_a_switch_interval() {
    let k = GIL_SWITCH_UNITS;
    // Mergesort with grain 1 has a leaf per key, rounded up to a power of two, and as many
    // merges again: one round below k, one of exactly k, rounds above it.
    let mut tasks: Vec<Task> = [k / 2, k, k + 1, 3 * k]
        .into_iter()
        .map(|n| Task::Mergesort(Mergesort { n, grain: 1 }))
        .collect();
    // Fib and nqueens: one case each side of k, by their unit counts.
    let (few, many) = (Fib { n: 12, grain: 1 }, Fib { n: 16, grain: 1 });
    assert!(fib::leaf_count(few.n, few.grain) < k as u64);
    assert!(fib::leaf_count(many.n, many.grain) > k as u64);
    tasks.extend([Task::Fib(few), Task::Fib(many)]);
    let (few, many) = (Nqueens { n: 8, split: 2 }, Nqueens { n: 10, split: 3 });
    assert!(boards(few) < k && boards(many) > k);
    tasks.extend([Task::Nqueens(few), Task::Nqueens(many)]);
    for task in tasks {
        for variant in ["gil", "gil-switch"] {
            for workers in [1, 2, 3] {
                check(&BACKEND, &cell(task, variant, workers));
            }
        }
    }
}

/// The number of n-queens tasks: the boards with `split` queens placed.
fn boards(p: Nqueens) -> usize {
    let mut boards = vec![Board::empty(p.n)];
    for _ in 0..p.split {
        boards = boards.into_iter().flat_map(Board::children).collect();
    }
    boards.len()
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
        let variants = BACKEND.support(id).variants().to_vec();
        assert!(!variants.is_empty(), "{id}");
        for variant in &variants {
            check(&BACKEND, &cell(task, variant.name, 2));
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
