//! How the global executor gets its size, checked where only a fresh process can show it: each
//! test runs itself again as a child process (this binary, filtered to that one test) in the
//! situation it checks, and the child asserts that setup refuses to measure with the wrong
//! number of threads.

mod common;

use common::{cell, in_child};
use shootout_async_std::{BACKEND, THREAD_COUNT_VAR};
use shootout_suite::{Failure, Profile, Task, TaskId};

fn setup(workers: usize) -> Result<(), Failure> {
    let task = Task::new(TaskId::Fib, Profile::Smoke);
    let mut run = BACKEND.setup(&cell(task, "spawn", workers))?;
    run(task.input()).map(drop)
}

#[test]
fn a_thread_count_variable_that_disagrees_fails_setup() {
    if !in_child(
        "a_thread_count_variable_that_disagrees_fails_setup",
        &[(THREAD_COUNT_VAR, "3")],
    ) {
        return;
    }
    let err = setup(2).unwrap_err();
    assert!(err.to_string().contains(THREAD_COUNT_VAR), "{err}");
}

#[test]
fn a_thread_count_variable_that_agrees_is_fine() {
    if !in_child(
        "a_thread_count_variable_that_agrees_is_fine",
        &[(THREAD_COUNT_VAR, "2")],
    ) {
        return;
    }
    setup(2).unwrap();
    common::expect_executor_threads(2);
}

#[test]
fn using_async_std_before_setup_fails_it() {
    if !in_child("using_async_std_before_setup_fails_it", &[]) {
        return;
    }
    // Starts the executor with async-std's defaults (one thread per logical CPU).
    async_std::task::block_on(async_std::task::spawn(async {}));
    let err = setup(1).unwrap_err();
    assert!(err.to_string().contains("before"), "{err}");
}
