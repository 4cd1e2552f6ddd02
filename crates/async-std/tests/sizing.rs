//! How the global executor gets its size, checked where only a fresh process can show it: each
//! test runs itself again as a child process (this binary, filtered to that one test) in the
//! situation it checks, and the child asserts that setup refuses to measure with the wrong
//! number of threads.

mod common;

use std::env;
use std::process::Command;

use common::cell;
use shootout_async_std::{AsyncStd, THREAD_COUNT_VAR};
use shootout_suite::{Backend, Failure, Profile, Task, TaskId};

/// Set in the child process.
const CHILD: &str = "SHOOTOUT_ASYNC_STD_SIZING_CHILD";

/// In the parent, runs `test` again as a child with `vars` set and checks that it passed;
/// returns `true` in the child, which then does the test's real work.
fn in_child(test: &str, vars: &[(&str, &str)]) -> bool {
    if env::var_os(CHILD).is_some() {
        return true;
    }
    let output = Command::new(env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .envs(vars.iter().copied())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "the child of {test} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    false
}

fn setup(workers: usize) -> Result<(), Failure> {
    let task = Task::new(TaskId::Fib, Profile::Smoke);
    let mut run = AsyncStd.setup(&cell(task, "spawn", workers))?;
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
