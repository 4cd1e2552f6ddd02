//! A runner has its per-core threads, and dropping it ends and joins them. In a test binary
//! of its own, so that no other test's cores are alive while this one counts threads.

#![cfg(target_os = "linux")]

use std::time::Duration;

use shootout_compio::{BACKEND, THREAD_PREFIX};
use shootout_suite::TaskId;
use shootout_testkit::{cell, eventually, server, smoke, threads_named};

/// Waits until exactly `count` per-core threads are seen; whether they were.
fn core_threads_become(count: usize) -> bool {
    eventually(Duration::from_secs(30), || {
        threads_named(&[THREAD_PREFIX]).len() == count
    })
}

#[test]
fn a_runner_has_its_threads_and_dropping_it_stops_them() {
    let server = server();
    for variant in BACKEND.variants {
        let id = variant.tasks[0];
        for workers in [1, 3] {
            let what = format!("{id} {} workers={workers}", variant.name);
            let mut run = BACKEND
                .setup(&cell(smoke(id), variant.name, workers, Some(server.addr())))
                .unwrap();
            run(smoke(id).input()).unwrap();
            // The event's setter has a thread of its own; the condition always has two parties.
            let expected = match id {
                TaskId::Event => workers + 1,
                TaskId::Condition => 2,
                _ => workers,
            };
            assert!(
                core_threads_become(expected),
                "{what}: core threads {:?}",
                threads_named(&[THREAD_PREFIX])
            );
            drop(run);
            assert!(
                core_threads_become(0),
                "{what}: threads left after drop: {:?}",
                threads_named(&[THREAD_PREFIX])
            );
        }
    }
}
