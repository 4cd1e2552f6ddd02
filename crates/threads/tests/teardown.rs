//! Dropping a fan-out runner stops and joins its threads, which the conformance suite does not
//! look at. In a test binary of its own, so that no other test's threads are alive while this
//! one counts them.

#![cfg(target_os = "linux")]

use std::time::Duration;

use shootout_suite::TaskId;
use shootout_testkit::{cell, eventually, server, smoke, threads_named};
use shootout_threads::BACKEND;

/// The prefixes of the fan-out crews' thread names.
const CREWS: [&str; 2] = ["scatter-", "crawl-"];

#[test]
fn dropping_a_runner_stops_its_threads() {
    let server = server();
    for id in [TaskId::Scatter, TaskId::Crawl] {
        for variant in BACKEND.support(id).variants() {
            let what = format!("{id} {}", variant.name);
            let mut run = BACKEND
                .setup(&cell(smoke(id), variant.name, 3, Some(server.addr())))
                .unwrap();
            run(smoke(id).input()).unwrap();
            // A crawl's thread-per-conn threads end with their requests; the others stay.
            if id == TaskId::Scatter || variant.name == "pool" {
                assert!(
                    !threads_named(&CREWS).is_empty(),
                    "{what}: its threads should be alive"
                );
            }
            drop(run);
            // A joined thread's `/proc` entry can outlive the join by a moment, so this polls;
            // only threads that were never stopped make it time out.
            let stopped = eventually(Duration::from_secs(30), || threads_named(&CREWS).is_empty());
            assert!(
                stopped,
                "{what}: threads left after drop: {:?}",
                threads_named(&CREWS)
            );
        }
    }
}
