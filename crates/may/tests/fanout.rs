//! The fan-out variants' failures: a refused address, a silent server (every request times
//! out, and no repetition hangs), a server that went away between repetitions, a cell without
//! a server address. Every test here uses two workers: may's scheduler is sized once per
//! process, and all of them share this binary's.

use std::time::Duration;

use shootout_may::BACKEND;
use shootout_suite::{Task, TaskId};
use shootout_testkit::{
    PATIENCE, cell, crawl, failure, fanout_needs_a_server, refused_addr, scatter, server,
    silent_addr,
};

const WORKERS: usize = 2;

/// The scatter and crawl cells of every fan-out variant, with a timeout of `timeout_ms`.
fn fanout_cells(timeout_ms: u32) -> Vec<(Task, &'static str)> {
    let tasks = [
        Task::Scatter(scatter(4, 2, timeout_ms)),
        Task::Crawl(crawl(8, 3, timeout_ms)),
    ];
    tasks
        .into_iter()
        .flat_map(|task| {
            BACKEND
                .support(task.id())
                .variants()
                .iter()
                .map(move |v| (task, v.name))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn a_refused_address_fails_naming_it() {
    let addr = refused_addr();
    for (task, variant) in fanout_cells(5_000) {
        let failure = failure(
            &BACKEND,
            cell(task, variant, WORKERS, Some(addr)),
            1,
            PATIENCE,
        );
        assert!(
            failure.to_string().contains(&addr.to_string()),
            "{variant} {task}: {failure}"
        );
    }
}

#[test]
fn a_silent_server_times_out() {
    let addr = silent_addr();
    for (task, variant) in fanout_cells(300) {
        let message = failure(
            &BACKEND,
            cell(task, variant, WORKERS, Some(addr)),
            2,
            PATIENCE,
        )
        .to_string();
        assert!(
            message.contains("timed out after 300 ms") && message.contains(&addr.to_string()),
            "{variant} {task}: {message}"
        );
    }
}

#[test]
fn a_scatter_runner_that_failed_keeps_failing() {
    // The server goes away between repetitions: the next one fails, and so does the one after.
    for variant in BACKEND.support(TaskId::Scatter).variants() {
        let server = server();
        let task = Task::Scatter(scatter(4, 2, 2_000));
        let mut run = BACKEND
            .setup(&cell(task, variant.name, WORKERS, Some(server.addr())))
            .unwrap();
        assert!(run(task.input()).is_ok(), "{}", variant.name);
        drop(server);
        assert!(run(task.input()).is_err(), "{}", variant.name);
        assert!(run(task.input()).is_err(), "{}", variant.name);
    }
}

#[test]
fn an_open_loop_crawl_keeps_its_schedule() {
    // 20 requests at 200 a second: the last is due 95 ms after the start, so a repetition
    // cannot end sooner.
    let server = server();
    let task = Task::Crawl(shootout_suite::task::Crawl {
        rate: 200,
        ..crawl(20, 4, 5_000)
    });
    let mut run = BACKEND
        .setup(&cell(task, "go", WORKERS, Some(server.addr())))
        .unwrap();
    let start = std::time::Instant::now();
    let outcome = run(task.input()).unwrap();
    assert!(start.elapsed() >= Duration::from_millis(95));
    assert_eq!(outcome.latencies_ns.len(), 20);
    assert_eq!(task.checksum(&outcome.answer), task.expected_checksum());
}

#[test]
fn fanout_needs_a_server_address() {
    fanout_needs_a_server(&BACKEND);
}
