//! The runtime has exactly `workers` executor threads, and dropping a runner stops and joins
//! them – which the conformance suite does not look at. In a test binary of its own, so that
//! no other test's runtime is alive while this one counts threads.

#![cfg(target_os = "linux")]

use std::time::Duration;

use shootout_smol::BACKEND;
use shootout_testkit::{cell, eventually, server, smoke, threads_named};

/// The prefix of the executor threads' names.
const PREFIX: [&str; 1] = ["smol-worker"];

/// Waits until exactly `count` executor threads are seen; whether they were.
///
/// This polls: a new thread names itself only once it first runs, and a joined thread's `/proc`
/// entry can outlive the join by a moment. Only a wrong count that lasts makes it time out.
fn executor_threads_become(count: usize) -> bool {
    eventually(Duration::from_secs(30), || {
        threads_named(&PREFIX).len() == count
    })
}

#[test]
fn a_runner_has_its_threads_and_dropping_it_stops_them() {
    let server = server();
    // Every declared variant, on the first task it runs.
    for variant in BACKEND.variants {
        let id = variant.tasks[0];
        for workers in [1, 3] {
            let what = format!("{id} {} workers={workers}", variant.name);
            let mut run = BACKEND
                .setup(&cell(smoke(id), variant.name, workers, Some(server.addr())))
                .unwrap();
            run(smoke(id).input()).unwrap();
            assert!(
                executor_threads_become(workers),
                "{what}: executor threads {:?}",
                threads_named(&PREFIX)
            );
            drop(run);
            assert!(
                executor_threads_become(0),
                "{what}: threads left after drop: {:?}",
                threads_named(&PREFIX)
            );
        }
    }
}
