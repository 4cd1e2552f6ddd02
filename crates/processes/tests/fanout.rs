//! What the conformance suite does not check of this backend's fan-out variants: an open-loop
//! crawl's latencies, measured in the worker processes, count from the schedule the parent set
//! (the processes share its clock); a scatter runner whose server went away failing every later
//! repetition, its workers' connections dead.

mod common;

use std::time::{Duration, Instant};

use common::cell;
use shootout_processes::BACKEND;
use shootout_suite::task::Crawl;
use shootout_suite::{Task, TaskId};
use shootout_testkit::{check, crawl, scatter, server};

/// The entry point of this test binary's worker processes (see `shootout_processes::run_if_worker`).
#[test]
fn worker_entry() {
    shootout_processes::run_if_worker();
}

#[test]
fn crawl_open_loop_latency_counts_from_the_schedule() {
    // 20 requests at 100 per second take at least 190 ms; each latency is at least the
    // server's delay, and none is absurd (the processes share the parent's clock).
    let server = server();
    let task = Task::Crawl(Crawl {
        delay_us: 2_000,
        rate: 100,
        ..crawl(20, 2, 10_000)
    });
    for variant in BACKEND.support(TaskId::Crawl).variants() {
        let variant = variant.name;
        let started = Instant::now();
        let outcomes = check(&BACKEND, &cell(task, variant, 2, Some(server.addr())));
        assert!(
            started.elapsed() >= Duration::from_millis(2 * 190),
            "{variant}"
        );
        for outcome in outcomes {
            for &ns in &outcome.latencies_ns {
                assert!(
                    ns >= 2_000_000,
                    "{variant}: latency {ns} ns below the delay"
                );
                assert!(ns < 30_000_000_000, "{variant}: latency {ns} ns");
            }
        }
    }
}

#[test]
fn a_scatter_runner_that_failed_keeps_failing() {
    // The server goes away between repetitions: the next one fails, and so does the one after.
    for variant in BACKEND.support(TaskId::Scatter).variants() {
        let variant = variant.name;
        let server = server();
        let task = Task::Scatter(scatter(4, 2, 2_000));
        let mut run = BACKEND
            .setup(&cell(task, variant, 2, Some(server.addr())))
            .unwrap();
        assert!(run(task.input()).is_ok(), "{variant}");
        drop(server);
        assert!(run(task.input()).is_err(), "{variant}");
        assert!(run(task.input()).is_err(), "{variant}");
    }
}
