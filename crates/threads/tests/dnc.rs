//! What the conformance suite does not check of this backend's divide-and-conquer variants:
//! the GIL experiment on both sides of its switch interval, and thread budgets past the
//! suite's three workers – four, where both halves of a fork fork again, and sixteen, more
//! threads than the tiny problems have leaves.

use shootout_suite::dnc::fib;
use shootout_suite::dnc::nqueens::Board;
use shootout_suite::task::{Fib, Mergesort, Nqueens};
use shootout_suite::{Task, TaskId};
use shootout_testkit::{cell, check, smoke};
use shootout_threads::BACKEND;
use shootout_threads::gil::GIL_SWITCH_UNITS;

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
                check(&BACKEND, &cell(task, variant, workers, None));
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
fn budgets_that_fork_on_both_sides_and_outnumber_the_leaves() {
    // A budget of four splits two and two, so the inline half forks too (at three it keeps
    // one thread); sixteen threads on a handful of leaves must find nothing to do and stop.
    let tiny = [
        Task::Mergesort(Mergesort { n: 5, grain: 1 }),
        Task::Fib(Fib { n: 3, grain: 1 }),
        Task::Nqueens(Nqueens { n: 4, split: 1 }),
    ];
    for id in [TaskId::Mergesort, TaskId::Fib, TaskId::Nqueens] {
        for variant in BACKEND.support(id).variants() {
            check(&BACKEND, &cell(smoke(id), variant.name, 4, None));
            for task in tiny.iter().filter(|task| task.id() == id) {
                for workers in [4, 16] {
                    check(&BACKEND, &cell(*task, variant.name, workers, None));
                }
            }
        }
    }
}
