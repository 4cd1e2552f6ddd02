//! What every backend's tests need, written once, and the conformance suite.
//!
//! A backend's tests check what only that backend can get wrong (a pool that must not leak
//! workers, a runtime that must be sized before first use); what every backend must get right
//! – every variant reproduces the reference on every task, on the smoke profile and on the edge
//! cases of each parameter, at one, two and three workers, twice per runner, and fails cleanly
//! against a refused address or a silent server – is checked by `tests/conformance.rs` here,
//! over every variant the harness's registry declares. A new variant is covered by declaring it.

use std::env;
use std::fs;
use std::io::Read;
use std::net::{SocketAddr, TcpListener};
use std::process::Command;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use shootout_suite::task::{Crawl, Scatter};
use shootout_suite::{Backend, Cell, Failure, Family, Outcome, Profile, Task, TaskId};

mod edges;

pub use edges::edge_cases;
pub use shootout_loopback::Server;

/// How long a test waits for a cell that should fail before calling it a hang.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// Merge-sort inputs that are hard on a parallel merge, with the grain to sort each at: sizes
/// 0 to 4 099, grains 1 to 64, and only five distinct keys, so that the merges' co-rank cuts
/// fall among equal keys. Each comes with its sorted form: `(keys, grain, expected)`.
pub fn mergesort_ties_and_odd_sizes() -> impl Iterator<Item = (Vec<u64>, usize, Vec<u64>)> {
    let cases = [
        (0, 1),
        (1, 1),
        (2, 1),
        (3, 2),
        (1000, 1),
        (4099, 7),
        (4099, 64),
    ];
    cases.into_iter().map(|(n, grain)| {
        let keys: Vec<u64> = shootout_suite::dnc::mergesort::keys(n)
            .iter()
            .map(|k| k % 5)
            .collect();
        let mut expected = keys.clone();
        expected.sort_unstable();
        (keys, grain, expected)
    })
}

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

/// A silent server (see [`silent_addr`]) that also reports each connection the client closes:
/// the receiver gets one message per connection whose other end was closed.
pub fn silent_server_reporting_closes() -> (SocketAddr, mpsc::Receiver<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding a free port");
    let addr = listener.local_addr().expect("a bound address");
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

/// A server that holds its first connection open without ever answering, and closes every
/// later one as soon as it is accepted; the receiver hears when the client closes the held one.
pub fn first_silent_then_closing_server() -> (SocketAddr, mpsc::Receiver<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding a free port");
    let addr = listener.local_addr().expect("a bound address");
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

/// Checks that every fan-out variant `backend` declares refuses a cell without a server
/// address at setup, instead of failing (or panicking) later.
pub fn fanout_needs_a_server(backend: &Backend) {
    for id in TaskId::ALL
        .into_iter()
        .filter(|id| id.family() == Family::Fanout)
    {
        for variant in backend.support(id).variants() {
            let refused = backend
                .setup(&cell(smoke(id), variant.name, 2, None))
                .is_err();
            assert!(
                refused,
                "{}/{} {id}: set up without a server",
                backend.name, variant.name
            );
        }
    }
}

/// The names of this process's threads that start with one of `prefixes`, read from
/// `/proc/self/task` (Linux only: none elsewhere). Linux keeps the first 15 bytes of a name.
pub fn threads_named(prefixes: &[&str]) -> Vec<String> {
    let Ok(tasks) = fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    tasks
        .filter_map(|task| fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| prefixes.iter().any(|prefix| name.starts_with(prefix)))
        .collect()
}

/// Set in a child process started by [`in_child`].
const CHILD: &str = "SHOOTOUT_TESTKIT_CHILD";

/// For a test that needs a process of its own (a runtime sized once per process, a runtime
/// that must not have been started yet): in the parent, runs test `test` of this test binary
/// again as a child process with `vars` set, checks that it passed and returns `false`; in the
/// child, returns `true`, and the test does its real work.
pub fn in_child(test: &str, vars: &[(&str, &str)]) -> bool {
    if env::var_os(CHILD).is_some() {
        return true;
    }
    let mut vars = vars.to_vec();
    vars.push((CHILD, "1"));
    if let Err(why) = run_test_in_child(test, &vars, CHILD_PATIENCE) {
        panic!("the child of {test} failed: {why}");
    }
    false
}

/// How long a test run in a child process may take before it counts as hung.
pub const CHILD_PATIENCE: Duration = Duration::from_secs(600);

/// Runs test `test` of this test binary in a fresh process with `vars` set, and waits at most
/// `patience`: a child still running then is killed and reported as hung, so a lost wake-up
/// fails the test instead of stalling it. `Err` carries what the child printed.
pub fn run_test_in_child(
    test: &str,
    vars: &[(&str, &str)],
    patience: Duration,
) -> Result<(), String> {
    let dir = env::temp_dir();
    let stem = format!("shootout-child-{}-{test}-{}", std::process::id(), unique());
    let (out_path, err_path) = (
        dir.join(format!("{stem}.out")),
        dir.join(format!("{stem}.err")),
    );
    let file =
        |path: &std::path::Path| fs::File::create(path).expect("a file for the child's output");
    let mut child = Command::new(env::current_exe().expect("this test binary"))
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .envs(vars.iter().copied())
        .stdout(file(&out_path))
        .stderr(file(&err_path))
        .spawn()
        .expect("starting this test binary again");
    let deadline = Instant::now() + patience;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for the child") {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(20));
    };
    let printed = format!(
        "{}{}",
        fs::read_to_string(&out_path).unwrap_or_default(),
        fs::read_to_string(&err_path).unwrap_or_default()
    );
    let _ = fs::remove_file(&out_path);
    let _ = fs::remove_file(&err_path);
    match status {
        Some(status) if status.success() && printed.contains("1 passed") => Ok(()),
        Some(status) => Err(format!("{status}\n{printed}")),
        None => Err(format!(
            "still running after {patience:?}: killed\n{printed}"
        )),
    }
}

/// A number no other call in this process has had.
fn unique() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
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
