//! The fan-out tasks against an in-process loopback server: right answers, one latency per
//! round or request, thousands of connections at once, and failures that end a repetition
//! instead of hanging it.

mod common;

use std::net::{SocketAddr, TcpListener};
use std::thread;
use std::time::{Duration, Instant};

use common::{cell, check, failure};
use shootout_loopback::Server;
use shootout_suite::task::{Crawl, Scatter};
use shootout_suite::{Cell, Profile, Task, TaskId};
use shootout_tokio::BACKEND;

const SCATTER: [&str; 4] = [
    "spawn",
    "join-all",
    "join-all-unconstrained",
    "current-thread",
];
const CRAWL: [&str; 2] = ["spawn", "current-thread"];

/// Long enough for any failure path on a busy machine; only a hang takes this long.
const PATIENCE: Duration = Duration::from_secs(60);

fn server() -> Server {
    Server::start("127.0.0.1:0".parse().unwrap()).expect("start the loopback server")
}

fn served(task: Task, variant: &str, workers: usize, addr: SocketAddr) -> Cell {
    Cell {
        server: Some(addr),
        ..cell(task, variant, workers)
    }
}

fn scatter(conns: usize, rounds: u32, timeout_ms: u32) -> Scatter {
    Scatter {
        conns,
        rounds,
        delay_us: 200,
        reply_bytes: 64,
        timeout_ms,
    }
}

fn crawl(requests: u64, concurrency: usize, rate: u64, timeout_ms: u32) -> Crawl {
    Crawl {
        requests,
        concurrency,
        delay_us: 200,
        reply_bytes: 64,
        rate,
        timeout_ms,
    }
}

/// Checks a scatter cell on every variant and `workers`: right answer, one latency per round.
fn check_scatter(p: Scatter, addr: SocketAddr, workers: &[usize]) {
    for variant in SCATTER {
        for &workers in workers {
            for outcome in check(&served(Task::Scatter(p), variant, workers, addr)) {
                assert_eq!(
                    outcome.latencies_ns.len(),
                    p.rounds as usize,
                    "{variant} workers={workers}"
                );
            }
        }
    }
}

/// Checks a crawl cell on every variant and `workers`: right answer, one latency per request.
fn check_crawl(p: Crawl, addr: SocketAddr, workers: &[usize]) {
    for variant in CRAWL {
        for &workers in workers {
            for outcome in check(&served(Task::Crawl(p), variant, workers, addr)) {
                assert_eq!(
                    outcome.latencies_ns.len() as u64,
                    p.requests,
                    "{variant} workers={workers}"
                );
            }
        }
    }
}

#[test]
fn smoke_profile() {
    let server = server();
    let Task::Scatter(s) = Task::new(TaskId::Scatter, Profile::Smoke) else {
        unreachable!()
    };
    let Task::Crawl(c) = Task::new(TaskId::Crawl, Profile::Smoke) else {
        unreachable!()
    };
    check_scatter(s, server.addr(), &[1, 2, 3]);
    check_crawl(c, server.addr(), &[1, 2, 3]);
}

#[test]
fn scatter_shapes() {
    let server = server();
    for (conns, rounds) in [(1, 1), (1, 3), (3, 2), (100, 2)] {
        check_scatter(scatter(conns, rounds, 10_000), server.addr(), &[1, 2]);
    }
    // Larger replies than one read returns.
    check_scatter(
        Scatter {
            reply_bytes: 200_000,
            ..scatter(4, 2, 10_000)
        },
        server.addr(),
        &[2],
    );
}

#[test]
fn scatter_holds_a_thousand_connections_at_once() {
    // Each round has all 1 000 requests in flight together: the server's delay makes sure of
    // it, and a round only ends when every one has been answered.
    let server = server();
    let p = Scatter {
        delay_us: 1_000,
        ..scatter(1_000, 2, 30_000)
    };
    check_scatter(p, server.addr(), &[2]);
}

#[test]
fn crawl_shapes() {
    let server = server();
    for (requests, concurrency) in [(0, 1), (1, 1), (5, 1), (7, 3), (20, 50)] {
        check_crawl(crawl(requests, concurrency, 0, 10_000), server.addr(), &[2]);
    }
}

#[test]
fn crawl_open_loop() {
    let server = server();
    check_crawl(crawl(30, 4, 2_000, 10_000), server.addr(), &[1, 2]);
    // A schedule faster than the client can keep: still every request, still right.
    check_crawl(crawl(30, 2, 1_000_000, 10_000), server.addr(), &[2]);
}

#[test]
fn fanout_needs_a_server_address() {
    for id in [TaskId::Scatter, TaskId::Crawl] {
        for variant in BACKEND.support(id).variants() {
            assert!(
                BACKEND
                    .setup(&cell(Task::new(id, Profile::Smoke), variant.name, 2))
                    .is_err(),
                "{id} {}",
                variant.name
            );
        }
    }
}

/// An address on which nobody listens: bound, read, then closed.
fn refusing_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// Every fan-out cell: each task with each of its variants.
fn every_cell(scatter: Scatter, crawl: Crawl) -> Vec<(Task, &'static str)> {
    let scatter = SCATTER.map(|variant| (Task::Scatter(scatter), variant));
    let crawl = CRAWL.map(|variant| (Task::Crawl(crawl), variant));
    scatter.into_iter().chain(crawl).collect()
}

#[test]
fn a_refused_connection_fails_the_cell() {
    let addr = refusing_addr();
    for (task, variant) in every_cell(scatter(4, 2, 5_000), crawl(20, 4, 0, 5_000)) {
        let failure = failure(served(task, variant, 2, addr), 1, PATIENCE);
        assert!(
            failure.to_string().contains(&addr.to_string()),
            "{task} {variant}: {failure}"
        );
    }
}

/// A server that accepts connections and never answers: it holds every socket open.
fn silent_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            match stream {
                Ok(stream) => held.push(stream),
                Err(_) => break,
            }
        }
    });
    addr
}

#[test]
fn a_silent_server_times_out_instead_of_hanging() {
    let addr = silent_addr();
    for workers in [1, 3] {
        for (task, variant) in every_cell(scatter(16, 3, 300), crawl(40, 4, 0, 300)) {
            // Up to two repetitions: a first one that somehow succeeded must not hide a hang in
            // the second; dropping the runner after the failure must not hang either.
            let failure = failure(served(task, variant, workers, addr), 2, PATIENCE);
            let message = failure.to_string();
            assert!(
                message.contains("timed out") && message.contains(&addr.to_string()),
                "{task} {variant}: {message}"
            );
        }
    }
}

#[test]
fn a_silent_server_fails_a_scatter_round_at_its_deadline() {
    // One deadline per round, `timeout_ms` after its start: not before it, and not much after.
    let addr = silent_addr();
    let p = scatter(50, 3, 300);
    for variant in SCATTER {
        for workers in [1, 2] {
            let cell = served(Task::Scatter(p), variant, workers, addr);
            let mut run = BACKEND.setup(&cell).unwrap();
            let start = Instant::now();
            let message = run(cell.task.input()).unwrap_err().to_string();
            let took = start.elapsed();
            assert!(
                message.contains("scatter round 0") && message.contains("timed out after 300 ms"),
                "{variant} workers={workers}: {message}"
            );
            assert!(
                took >= Duration::from_millis(300) && took < Duration::from_secs(10),
                "{variant} workers={workers}: failed after {took:?}"
            );
        }
    }
}

#[test]
fn a_scatter_runner_that_failed_keeps_failing() {
    // The server goes away between repetitions: the next one fails, and so does the one after.
    for variant in SCATTER {
        let server = server();
        let cell = served(
            Task::Scatter(scatter(4, 2, 2_000)),
            variant,
            2,
            server.addr(),
        );
        let mut run = BACKEND.setup(&cell).unwrap();
        assert!(run(cell.task.input()).is_ok(), "{variant}");
        drop(server);
        assert!(run(cell.task.input()).is_err(), "{variant}");
        assert!(run(cell.task.input()).is_err(), "{variant}");
    }
}
