//! What the conformance suite does not check of this backend's fan-out variants: a thousand
//! connections in flight at once; a silent server failing a scatter round at its deadline (not
//! before, not much after) with every waiting call cancelled, not detached; a crawl ending at
//! its first failure and cancelling a slower request rather than waiting for it; a scatter
//! runner whose server went away failing every later repetition; a cell without a server
//! address refused at setup.
//!
//! async-std's executor is global and sized once per process, so every test of this binary
//! uses the same worker count (`sizing.rs` runs others, each in a process of its own).

use std::time::{Duration, Instant};

use shootout_async_std::BACKEND;
use shootout_suite::task::Scatter;
use shootout_suite::{Task, TaskId};
use shootout_testkit::{
    PATIENCE, cell, check, crawl, failure, first_silent_then_closing_server, scatter, server,
    silent_server_reporting_closes,
};

/// The one worker count of this test binary.
const WORKERS: usize = 2;

#[test]
fn scatter_holds_a_thousand_connections_at_once() {
    // Every round has 1 000 requests in flight on 1 000 open connections; with a 5 ms delay
    // the server holds them all before it answers any.
    let server = server();
    let task = Task::Scatter(Scatter {
        delay_us: 5_000,
        ..scatter(1_000, 2, 30_000)
    });
    for variant in BACKEND.support(TaskId::Scatter).variants() {
        let cell = cell(task, variant.name, WORKERS, Some(server.addr()));
        for outcome in check(&BACKEND, &cell) {
            assert_eq!(outcome.latencies_ns.len(), 2, "{}", variant.name);
        }
    }
}

#[test]
fn a_silent_server_fails_a_scatter_round_at_its_deadline() {
    // One deadline per round, `timeout_ms` after its start: not before it, and not much after.
    // The calls still waiting are cancelled, not detached, which closes every connection.
    let p = scatter(50, 3, 300);
    for variant in BACKEND.support(TaskId::Scatter).variants() {
        let (addr, closes) = silent_server_reporting_closes();
        let task = Task::Scatter(p);
        let mut run = BACKEND
            .setup(&cell(task, variant.name, WORKERS, Some(addr)))
            .unwrap();
        let start = Instant::now();
        let message = run(task.input()).unwrap_err().to_string();
        let took = start.elapsed();
        assert!(
            message.contains("scatter round 0 on 50 connections")
                && message.contains("timed out after 300 ms"),
            "{}: {message}",
            variant.name
        );
        assert!(
            took >= Duration::from_millis(300) && took < Duration::from_secs(10),
            "{}: failed after {took:?}",
            variant.name
        );
        for closed in 0..p.conns {
            assert!(
                closes.recv_timeout(Duration::from_secs(20)).is_ok(),
                "{}: {closed} of {} connections closed",
                variant.name,
                p.conns
            );
        }
    }
}

#[test]
fn a_crawl_ends_at_its_first_failure_without_waiting_for_slower_requests() {
    // One request hangs until its timeout, a minute away; the others fail at once. The crawl
    // must end with one of their failures long before that, and cancel the hanging request
    // (which closes its connection) rather than leave it running, detached.
    let task = Task::Crawl(crawl(40, 4, 60_000));
    for variant in BACKEND.support(TaskId::Crawl).variants() {
        let (addr, held_closed) = first_silent_then_closing_server();
        let start = Instant::now();
        let cell = cell(task, variant.name, WORKERS, Some(addr));
        let message = failure(&BACKEND, cell, 1, PATIENCE).to_string();
        let took = start.elapsed();
        assert!(
            message.contains(&addr.to_string()) && !message.contains("timed out"),
            "{}: {message}",
            variant.name
        );
        assert!(
            took < Duration::from_secs(20),
            "{}: failed after {took:?}",
            variant.name
        );
        assert!(
            held_closed.recv_timeout(Duration::from_secs(20)).is_ok(),
            "{}: the hanging request was not cancelled",
            variant.name
        );
    }
}

#[test]
fn a_scatter_runner_that_failed_keeps_failing() {
    // The server goes away between repetitions: the next one fails, and so does the one after,
    // saying why.
    let task = Task::Scatter(scatter(4, 2, 2_000));
    for variant in BACKEND.support(TaskId::Scatter).variants() {
        let server = server();
        let mut run = BACKEND
            .setup(&cell(task, variant.name, WORKERS, Some(server.addr())))
            .unwrap();
        assert!(run(task.input()).is_ok(), "{}", variant.name);
        drop(server);
        assert!(run(task.input()).is_err(), "{}", variant.name);
        let again = run(task.input()).unwrap_err();
        assert!(
            again.to_string().contains("an earlier repetition failed"),
            "{}: {again}",
            variant.name
        );
    }
}
