//! How async-std's global executor gets its size, which the conformance suite cannot show: the
//! executor is global and sized once per process, so each test here runs itself again as a
//! child process (this binary, filtered to that one test: [`in_child`]) in the situation it
//! checks, and the child does the work. With one and with three threads, every variant runs the
//! smoke profile, the executor has exactly that many threads, and a cell asking for another
//! count is refused, saying why, without resizing it; setup refuses to measure with the wrong
//! number of threads when `ASYNC_STD_THREAD_COUNT` disagrees or async-std was used before it.

use std::time::Duration;

use shootout_async_std::{BACKEND, THREAD_COUNT_VAR, THREAD_NAME};
use shootout_suite::{Failure, TaskId};
use shootout_testkit::{cell, check, eventually, in_child, server, smoke, threads_named};

/// Sets up and runs fib on the smoke profile with `workers` threads.
fn setup(workers: usize) -> Result<(), Failure> {
    let task = smoke(TaskId::Fib);
    let mut run = BACKEND.setup(&cell(task, "spawn", workers, None))?;
    run(task.input()).map(drop)
}

/// Fails the test unless exactly `count` of async-std's executor threads are (or soon are)
/// seen. This polls: a new thread names itself only once it first runs.
fn expect_executor_threads(count: usize) {
    if !cfg!(target_os = "linux") {
        return;
    }
    // Linux keeps the first 15 bytes of a thread's name: `async-std/runti`.
    let prefix = [&THREAD_NAME[..14]];
    let seen = eventually(Duration::from_secs(30), || {
        threads_named(&prefix).len() == count
    });
    assert!(
        seen,
        "expected {count} executor threads, found {:?}",
        threads_named(&prefix)
    );
}

/// Every task and variant on the smoke profile with `workers` executor threads (the fan-out
/// tasks against an in-process loopback server); then the executor has `workers` threads, and
/// keeps them when a cell asks for one more.
fn every_variant_sized(workers: usize) {
    let server = server();
    for id in TaskId::ALL {
        for variant in BACKEND.support(id).variants() {
            check(
                &BACKEND,
                &cell(smoke(id), variant.name, workers, Some(server.addr())),
            );
        }
    }
    expect_executor_threads(workers);
    let err = setup(workers + 1).expect_err("a second size in one process is refused");
    assert!(err.to_string().contains("sized once per process"), "{err}");
    expect_executor_threads(workers);
}

#[test]
fn every_variant_with_one_executor_thread() {
    if in_child("every_variant_with_one_executor_thread", &[]) {
        every_variant_sized(1);
    }
}

#[test]
fn every_variant_with_three_executor_threads() {
    if in_child("every_variant_with_three_executor_threads", &[]) {
        every_variant_sized(3);
    }
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
    expect_executor_threads(2);
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
