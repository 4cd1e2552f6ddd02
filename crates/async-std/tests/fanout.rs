//! The fan-out tasks against an in-process loopback server: right answers, one latency per
//! round or request, a thousand connections at once, and failures that end a repetition
//! instead of hanging it.
//!
//! async-std's executor is global and sized once per process, so every test of this binary
//! uses the same worker count; `workers_1.rs` and `workers_3.rs` run the other counts.

mod common;

use std::io::Read;
use std::net::{SocketAddr, TcpListener};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::{cell, check, failure};
use shootout_async_std::BACKEND;
use shootout_loopback::Server;
use shootout_suite::task::{Crawl, Scatter};
use shootout_suite::{Cell, Profile, Task, TaskId};

const SCATTER: [&str; 2] = ["spawn", "join-all"];
const CRAWL: [&str; 1] = ["spawn"];
/// The one worker count of this test binary.
const WORKERS: usize = 2;

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

/// Checks a scatter cell on every variant: right answer, one latency per round.
fn check_scatter(p: Scatter, addr: SocketAddr) {
    for variant in SCATTER {
        for outcome in check(&served(Task::Scatter(p), variant, WORKERS, addr)) {
            assert_eq!(outcome.latencies_ns.len(), p.rounds as usize, "{variant}");
        }
    }
}

/// Checks a crawl cell on every variant: right answer, one latency per request.
fn check_crawl(p: Crawl, addr: SocketAddr) {
    for variant in CRAWL {
        for outcome in check(&served(Task::Crawl(p), variant, WORKERS, addr)) {
            assert_eq!(outcome.latencies_ns.len() as u64, p.requests, "{variant}");
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
    check_scatter(s, server.addr());
    check_crawl(c, server.addr());
}

#[test]
fn scatter_shapes() {
    let server = server();
    for (conns, rounds) in [(1, 1), (1, 3), (3, 2), (100, 2)] {
        check_scatter(scatter(conns, rounds, 10_000), server.addr());
    }
    // Larger replies than one read returns.
    let large = Scatter {
        reply_bytes: 200_000,
        ..scatter(4, 2, 10_000)
    };
    check_scatter(large, server.addr());
}

#[test]
fn scatter_holds_a_thousand_connections_at_once() {
    // Every round has 1 000 requests in flight on 1 000 open connections; with a 5 ms delay
    // the server holds them all before it answers any.
    let server = server();
    let p = Scatter {
        delay_us: 5_000,
        ..scatter(1_000, 2, 30_000)
    };
    check_scatter(p, server.addr());
}

#[test]
fn crawl_shapes() {
    let server = server();
    for (requests, concurrency) in [(0, 1), (1, 1), (5, 1), (7, 3), (20, 50)] {
        check_crawl(crawl(requests, concurrency, 0, 10_000), server.addr());
    }
}

#[test]
fn crawl_open_loop() {
    let server = server();
    check_crawl(crawl(30, 4, 2_000, 10_000), server.addr());
    // A schedule faster than the client can keep: still every request, still right.
    check_crawl(crawl(30, 2, 1_000_000, 10_000), server.addr());
}

#[test]
fn fanout_needs_a_server_address() {
    for (id, variants) in [(TaskId::Scatter, &SCATTER[..]), (TaskId::Crawl, &CRAWL[..])] {
        for variant in variants {
            assert!(
                BACKEND
                    .setup(&cell(Task::new(id, Profile::Smoke), variant, WORKERS))
                    .is_err(),
                "{id} {variant}"
            );
        }
    }
}

/// Every fan-out (task, variant) pair with the given parameters.
fn every_fanout_cell(scatter: Scatter, crawl: Crawl) -> Vec<(Task, &'static str)> {
    let scatters = SCATTER.map(|variant| (Task::Scatter(scatter), variant));
    let crawls = CRAWL.map(|variant| (Task::Crawl(crawl), variant));
    scatters.into_iter().chain(crawls).collect()
}

/// An address on which nobody listens: bound, read, then closed.
fn refusing_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

#[test]
fn a_refused_connection_fails_the_cell() {
    let addr = refusing_addr();
    for (task, variant) in every_fanout_cell(scatter(4, 2, 5_000), crawl(20, 4, 0, 5_000)) {
        let failure = failure(served(task, variant, WORKERS, addr), 1, PATIENCE);
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
    for (task, variant) in every_fanout_cell(scatter(16, 3, 300), crawl(40, 4, 0, 300)) {
        // Two repetitions: the second must fail too (quickly), not read a stale reply.
        let failure = failure(served(task, variant, WORKERS, addr), 2, PATIENCE);
        let message = failure.to_string();
        assert!(message.contains("timed out"), "{task} {variant}: {message}");
    }
}

/// A silent server that also reports every connection the client closes.
fn silent_server_reporting_closes() -> (SocketAddr, mpsc::Receiver<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (closed, closes) = mpsc::channel();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            let closed = closed.clone();
            thread::spawn(move || {
                // Reads the requests, never answers, and waits for the end of the stream.
                while matches!(stream.read(&mut [0; 64]), Ok(n) if n > 0) {}
                let _ = closed.send(());
            });
        }
    });
    (addr, closes)
}

#[test]
fn a_silent_server_fails_a_scatter_round_at_its_deadline() {
    // One deadline per round, `timeout_ms` after its start: not before it, and not much after.
    // The calls still waiting are cancelled, not detached, which closes every connection.
    let p = scatter(50, 3, 300);
    for variant in SCATTER {
        let (addr, closes) = silent_server_reporting_closes();
        let cell = served(Task::Scatter(p), variant, WORKERS, addr);
        let mut run = BACKEND.setup(&cell).unwrap();
        let start = Instant::now();
        let message = run(cell.task.input()).unwrap_err().to_string();
        let took = start.elapsed();
        assert!(
            message.contains("scatter round 0 on 50 connections")
                && message.contains("timed out after 300 ms"),
            "{variant}: {message}"
        );
        assert!(
            took >= Duration::from_millis(300) && took < Duration::from_secs(10),
            "{variant}: failed after {took:?}"
        );
        for closed in 0..p.conns {
            assert!(
                closes.recv_timeout(Duration::from_secs(20)).is_ok(),
                "{variant}: {closed} of {} connections closed",
                p.conns
            );
        }
    }
}

/// A server that holds its first connection open without ever answering, and closes every
/// later one as soon as it is accepted. The receiver hears when the client closes the held one.
fn first_silent_then_closing_server() -> (SocketAddr, mpsc::Receiver<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (closed, held_closed) = mpsc::channel();
    thread::spawn(move || {
        let mut incoming = listener.incoming();
        if let Some(Ok(mut held)) = incoming.next() {
            thread::spawn(move || {
                // Reads the request, then waits for the end of the stream.
                while matches!(held.read(&mut [0; 64]), Ok(n) if n > 0) {}
                let _ = closed.send(());
            });
        }
        for stream in incoming {
            if stream.is_err() {
                break;
            }
        }
    });
    (addr, held_closed)
}

#[test]
fn a_crawl_ends_at_its_first_failure_without_waiting_for_slower_requests() {
    // One request hangs until its timeout, a minute away; the others fail at once. The crawl
    // must end with one of their failures long before that, and cancel the hanging request
    // (which closes its connection) rather than leave it running, detached.
    for variant in CRAWL {
        let (addr, held_closed) = first_silent_then_closing_server();
        let cell = served(Task::Crawl(crawl(40, 4, 0, 60_000)), variant, WORKERS, addr);
        let start = Instant::now();
        let message = failure(cell, 1, PATIENCE).to_string();
        let took = start.elapsed();
        assert!(
            message.contains(&addr.to_string()) && !message.contains("timed out"),
            "{variant}: {message}"
        );
        assert!(
            took < Duration::from_secs(20),
            "{variant}: failed after {took:?}"
        );
        assert!(
            held_closed.recv_timeout(Duration::from_secs(20)).is_ok(),
            "{variant}: the hanging request was not cancelled"
        );
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
            WORKERS,
            server.addr(),
        );
        let mut run = BACKEND.setup(&cell).unwrap();
        assert!(run(cell.task.input()).is_ok(), "{variant}");
        drop(server);
        assert!(run(cell.task.input()).is_err(), "{variant}");
        let again = run(cell.task.input()).unwrap_err();
        assert!(
            again.to_string().contains("an earlier repetition failed"),
            "{variant}: {again}"
        );
    }
}
