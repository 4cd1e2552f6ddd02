//! Dropping a runner stops and joins its runtime's threads (and its rayon pool's), and a
//! current-thread variant starts none of its own – which the conformance suite does not look
//! at. In a test binary of its own, so that no other test's threads are alive while this one
//! counts them.

#![cfg(target_os = "linux")]

use std::time::Duration;

use shootout_suite::TaskId;
use shootout_testkit::{cell, eventually, server, smoke, threads_named};
use shootout_tokio::BACKEND;

/// The prefixes of the names of this backend's runtime and pool threads (and of the threads a
/// `per-core` variant runs its runtimes on).
const THREADS: [&str; 3] = ["tokio-worker", "rayon-bridge", "tokio-core"];

#[test]
fn dropping_a_runner_stops_its_threads() {
    let server = server();
    for id in TaskId::ALL {
        for variant in BACKEND.support(id).variants() {
            let what = format!("{id} {}", variant.name);
            let mut run = BACKEND
                .setup(&cell(smoke(id), variant.name, 3, Some(server.addr())))
                .unwrap();
            run(smoke(id).input()).unwrap();
            let alive = threads_named(&THREADS);
            if variant.name == "current-thread" {
                // The calling thread is the runtime's only thread.
                assert!(alive.is_empty(), "{what}: threads of its own: {alive:?}");
            } else {
                assert!(!alive.is_empty(), "{what}: its threads should be alive");
            }
            drop(run);
            // A joined thread's `/proc` entry can outlive the join by a moment, and rayon stops
            // its threads without waiting for them, so this polls; only threads that were never
            // stopped make it time out.
            let stopped = eventually(Duration::from_secs(30), || {
                threads_named(&THREADS).is_empty()
            });
            assert!(
                stopped,
                "{what}: threads left after drop: {:?}",
                threads_named(&THREADS)
            );
        }
    }
}
