//! What the conformance suite does not check of this backend's divide-and-conquer variants:
//! a sort whose keys are more than the pipes between parent and workers hold, both ways (a
//! write that blocks until the other side reads must not deadlock), and `shm` refusing an input
//! longer than the shared memory it set up for.

mod common;

use common::cell;
use shootout_processes::BACKEND;
use shootout_suite::task::Mergesort;
use shootout_suite::{Task, TaskId};
use shootout_testkit::check;

/// The entry point of this test binary's worker processes (see `shootout_processes::run_if_worker`).
#[test]
fn worker_entry() {
    shootout_processes::run_if_worker();
}

#[test]
fn mergesort_moves_more_than_a_pipe_buffer() {
    // 300 000 keys are 2.4 MB: more than the 1 MiB pipes hold, both ways.
    let task = Task::Mergesort(Mergesort {
        n: 300_000,
        grain: 4096,
    });
    for variant in BACKEND.support(TaskId::Mergesort).variants() {
        for workers in [1, 2, 3] {
            check(&BACKEND, &cell(task, variant.name, workers, None));
        }
    }
}

#[test]
fn mergesort_shm_refuses_more_keys_than_it_set_up_for() {
    let task = Task::Mergesort(Mergesort { n: 10, grain: 2 });
    let mut run = BACKEND.setup(&cell(task, "shm", 2, None)).unwrap();
    let bigger = Task::Mergesort(Mergesort { n: 11, grain: 2 }).input();
    assert!(run(bigger).is_err());
}
