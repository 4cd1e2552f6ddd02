//! The fan-out edge cases: a refused address fails setup or the repetition, a silent server
//! fails a scatter round at its deadline, a crawl ends at its first failure, a scatter runner
//! that failed keeps failing, and a cell without a server is refused at setup.

use std::time::{Duration, Instant};

use shootout_compio::BACKEND;
use shootout_suite::task::Scatter;
use shootout_suite::{Task, TaskId};
use shootout_testkit::{
    PATIENCE, cell, check, crawl, failure, fanout_needs_a_server, first_silent_then_closing_server,
    refused_addr, scatter, server, silent_server_reporting_closes,
};

#[test]
fn fanout_is_refused_without_a_server() {
    fanout_needs_a_server(&BACKEND);
}

#[test]
fn a_refused_address_fails_without_hanging() {
    for (task, variant) in [
        (Task::Scatter(scatter(8, 2, 2_000)), "per-core"),
        (Task::Crawl(crawl(8, 2, 2_000)), "per-core"),
    ] {
        for workers in [1, 3] {
            let addr = refused_addr();
            let message = failure(
                &BACKEND,
                cell(task, variant, workers, Some(addr)),
                2,
                PATIENCE,
            );
            assert!(message.to_string().contains(&addr.to_string()), "{message}");
        }
    }
}

#[test]
fn scatter_holds_many_connections_on_every_core() {
    let server = server();
    let task = Task::Scatter(Scatter {
        delay_us: 5_000,
        ..scatter(300, 2, 30_000)
    });
    for outcome in check(&BACKEND, &cell(task, "per-core", 3, Some(server.addr()))) {
        assert_eq!(outcome.latencies_ns.len(), 2);
    }
}

#[test]
fn a_silent_server_fails_a_scatter_round_at_its_deadline() {
    let p = scatter(20, 3, 300);
    for workers in [1, 2] {
        let (addr, closes) = silent_server_reporting_closes();
        let task = Task::Scatter(p);
        let mut run = BACKEND
            .setup(&cell(task, "per-core", workers, Some(addr)))
            .unwrap();
        let start = Instant::now();
        let message = run(task.input()).unwrap_err().to_string();
        let took = start.elapsed();
        assert!(
            message.contains("scatter round 0 on 20 connections")
                && message.contains("timed out after 300 ms"),
            "W={workers}: {message}"
        );
        assert!(
            took >= Duration::from_millis(300) && took < Duration::from_secs(10),
            "W={workers}: failed after {took:?}"
        );
        drop(run);
        for closed in 0..p.conns {
            assert!(
                closes.recv_timeout(Duration::from_secs(20)).is_ok(),
                "W={workers}: {closed} of {} connections closed",
                p.conns
            );
        }
    }
}

#[test]
fn a_crawl_ends_at_its_first_failure_without_waiting_for_slower_requests() {
    let task = Task::Crawl(crawl(40, 4, 60_000));
    for workers in [1, 3] {
        let (addr, held_closed) = first_silent_then_closing_server();
        let start = Instant::now();
        let message = failure(
            &BACKEND,
            cell(task, "per-core", workers, Some(addr)),
            1,
            PATIENCE,
        );
        let message = message.to_string();
        assert!(
            message.contains(&addr.to_string()) && !message.contains("timed out"),
            "W={workers}: {message}"
        );
        assert!(start.elapsed() < Duration::from_secs(20));
        assert!(
            held_closed.recv_timeout(Duration::from_secs(20)).is_ok(),
            "W={workers}: the hanging request was not cancelled"
        );
    }
}

#[test]
fn a_scatter_runner_that_failed_keeps_failing() {
    let task = Task::Scatter(scatter(4, 2, 2_000));
    for variant in BACKEND.support(TaskId::Scatter).variants() {
        let server = server();
        let mut run = BACKEND
            .setup(&cell(task, variant.name, 2, Some(server.addr())))
            .unwrap();
        assert!(run(task.input()).is_ok());
        drop(server);
        assert!(run(task.input()).is_err());
        let again = run(task.input()).unwrap_err();
        assert!(
            again.to_string().contains("an earlier repetition failed"),
            "{again}"
        );
    }
}
