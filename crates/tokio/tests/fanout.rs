//! What the conformance suite does not check of this backend's fan-out variants: a thousand
//! connections in flight at once, a silent server failing a scatter round at its deadline (not
//! before, not much after), a scatter runner whose server went away failing every later
//! repetition, and a cell without a server address refused at setup.

use std::time::{Duration, Instant};

use shootout_suite::task::Scatter;
use shootout_suite::{Task, TaskId};
use shootout_testkit::{cell, check, scatter, server, silent_addr};
use shootout_tokio::BACKEND;

#[test]
fn scatter_holds_a_thousand_connections_at_once() {
    // Each round has all 1 000 requests in flight together: the server's delay makes sure of
    // it, and a round only ends when every one has been answered.
    let server = server();
    let task = Task::Scatter(Scatter {
        delay_us: 1_000,
        ..scatter(1_000, 2, 30_000)
    });
    for variant in BACKEND.support(TaskId::Scatter).variants() {
        for outcome in check(&BACKEND, &cell(task, variant.name, 2, Some(server.addr()))) {
            assert_eq!(outcome.latencies_ns.len(), 2, "{}", variant.name);
        }
    }
}

#[test]
fn a_silent_server_fails_a_scatter_round_at_its_deadline() {
    // One deadline per round, `timeout_ms` after its start: not before it, and not much after.
    let addr = silent_addr();
    let task = Task::Scatter(scatter(50, 3, 300));
    for variant in BACKEND.support(TaskId::Scatter).variants() {
        for workers in [1, 2] {
            let what = format!("{} workers={workers}", variant.name);
            let mut run = BACKEND
                .setup(&cell(task, variant.name, workers, Some(addr)))
                .unwrap();
            let start = Instant::now();
            let message = run(task.input()).unwrap_err().to_string();
            let took = start.elapsed();
            assert!(
                message.contains("scatter round 0") && message.contains("timed out after 300 ms"),
                "{what}: {message}"
            );
            assert!(
                took >= Duration::from_millis(300) && took < Duration::from_secs(10),
                "{what}: failed after {took:?}"
            );
        }
    }
}

#[test]
fn a_scatter_runner_that_failed_keeps_failing() {
    // The server goes away between repetitions: the next one fails, and so does the one after.
    let task = Task::Scatter(scatter(4, 2, 2_000));
    for variant in BACKEND.support(TaskId::Scatter).variants() {
        let server = server();
        let mut run = BACKEND
            .setup(&cell(task, variant.name, 2, Some(server.addr())))
            .unwrap();
        assert!(run(task.input()).is_ok(), "{}", variant.name);
        drop(server);
        assert!(run(task.input()).is_err(), "{}", variant.name);
        assert!(run(task.input()).is_err(), "{}", variant.name);
    }
}
