//! What every backend's tests need, written once, and the conformance suite.
//!
//! A backend's tests check what only that backend can get wrong (a pool that must not leak
//! workers, a runtime that must be sized before first use); what every backend must get right
//! – every variant reproduces the reference on every task, on the smoke profile and on the edge
//! cases of each parameter, at one, two and three workers, twice per runner, and fails cleanly
//! against a refused address or a silent server – is checked by `tests/conformance.rs` here,
//! over every variant the harness's registry declares. A new variant is covered by declaring it.

use std::net::{SocketAddr, TcpListener};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use shootout_suite::pipeline::LATENCY_SAMPLE;
use shootout_suite::task::{Crawl, Scatter};
use shootout_suite::{Backend, Cell, Failure, Outcome, Profile, Task, TaskId};

mod edges;

pub use edges::edge_cases;
pub use shootout_loopback::Server;

/// How long a test waits for a cell that should fail before calling it a hang.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// A cell; `server` is the loopback server's address for fan-out tasks.
pub fn cell(task: Task, variant: &str, workers: usize, server: Option<SocketAddr>) -> Cell {
    Cell {
        task,
        variant: variant.into(),
        workers,
        server,
    }
}

/// Starts a loopback server on a free port of 127.0.0.1.
pub fn server() -> Server {
    Server::start("127.0.0.1:0".parse().expect("an address")).expect("starting the server")
}

/// Sets `cell` up on `backend`, runs it twice (a runner must survive reuse across
/// repetitions), checks both checksums against the reference and returns both outcomes.
pub fn check(backend: &Backend, cell: &Cell) -> Vec<Outcome> {
    let expected = cell.task.expected_checksum();
    let what = || {
        format!(
            "{}/{} {} workers={}",
            backend.name, cell.variant, cell.task, cell.workers
        )
    };
    let mut run = backend
        .setup(cell)
        .unwrap_or_else(|e| panic!("{}: setup failed: {e}", what()));
    (0..2)
        .map(|repetition| {
            let outcome = run(cell.task.input())
                .unwrap_or_else(|e| panic!("{} repetition {repetition}: {e}", what()));
            assert_eq!(
                cell.task.checksum(&outcome.answer),
                expected,
                "{} repetition {repetition}: wrong checksum",
                what()
            );
            outcome
        })
        .collect()
}

/// How many latency samples one correct repetition of `task` on `workers` records: one per
/// round (scatter), request (crawl), sampled item (bounded), waiter and round (event) or round
/// trip (condition); none for the rest.
pub fn latency_samples(task: &Task, workers: usize) -> usize {
    match task {
        Task::Scatter(p) => p.rounds as usize,
        Task::Crawl(p) => p.requests as usize,
        Task::Bounded(p) => p.items.div_ceil(LATENCY_SAMPLE) as usize,
        Task::Event(p) => workers * p.rounds as usize,
        Task::Condition(p) => p.trips as usize,
        _ => 0,
    }
}

/// Sets `cell` up and runs it until something fails, expecting a failure: returns it, or panics
/// if the setup and `repetitions` runs all succeed. The runner is dropped before returning, so
/// a drop that hangs is caught too: after `patience` the test fails instead of hanging.
pub fn failure(
    backend: &'static Backend,
    cell: Cell,
    repetitions: usize,
    patience: Duration,
) -> Failure {
    let (tx, rx) = mpsc::channel();
    let what = format!("{}/{} {}", backend.name, cell.variant, cell.task);
    thread::spawn(move || {
        let result = (|| {
            let mut run = backend.setup(&cell)?;
            for _ in 0..repetitions {
                run(cell.task.input())?;
            }
            Ok(())
        })();
        let _ = tx.send(result);
    });
    match rx.recv_timeout(patience) {
        Ok(Err(failure)) => failure,
        Ok(Ok(())) => panic!("{what}: expected a failure, got success"),
        Err(_) => panic!("{what}: neither failed nor finished within {patience:?}"),
    }
}

/// An address on which nobody listens: bound, read, then closed.
pub fn refused_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding a free port");
    listener.local_addr().expect("a bound address")
}

/// A server that accepts connections and never answers: it holds every socket open for the
/// rest of the test process.
pub fn silent_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding a free port");
    let addr = listener.local_addr().expect("a bound address");
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

/// Waits up to `patience` for `cond` to hold, polling every 10 ms; whether it did.
pub fn eventually(patience: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + patience;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// Small fan-out parameters for failure tests: `conns` connections (or `requests` requests,
/// `concurrency` at once) with a per-request timeout of `timeout_ms`.
pub fn scatter(conns: usize, rounds: u32, timeout_ms: u32) -> Scatter {
    Scatter {
        conns,
        rounds,
        timeout_ms,
        ..Scatter::profile(Profile::Smoke)
    }
}

/// See [`scatter`].
pub fn crawl(requests: u64, concurrency: usize, timeout_ms: u32) -> Crawl {
    Crawl {
        requests,
        concurrency,
        timeout_ms,
        ..Crawl::profile(Profile::Smoke)
    }
}

/// Task `id` at the smoke profile's defaults.
pub fn smoke(id: TaskId) -> Task {
    Task::new(id, Profile::Smoke)
}
