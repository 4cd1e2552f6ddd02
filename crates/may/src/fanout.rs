//! Fan-out on may: blocking-style calls on may's sockets, a coroutine per call.
//!
//! [`may::net::TcpStream`] implements `std::io::Read` and `Write`: a read that would block
//! parks the coroutine and registers the socket with its worker's epoll loop, and the worker
//! runs other coroutines meanwhile. So the client is the suite's own blocking one,
//! [`call_blocking`], unchanged: the code of the threads backend, the cost model of an async
//! runtime. Every connect, read and write is bounded by the task's `timeout_ms` (may's
//! `connect_timeout`, `set_read_timeout`, `set_write_timeout`, kept by may's timer thread
//! rather than the kernel's `SO_RCVTIMEO`), so a silent server fails a request instead of
//! hanging it.
//!
//! - `go`, scatter: setup opens K connections (on a coroutine, so that they are may's sockets
//!   from the start). Each round spawns a scoped coroutine per connection, each sending its
//!   request and reading its reply, and joins them all: `go` per call per round, the goroutine
//!   way, rather than K long-lived coroutines woken by a channel each round – a spawn from
//!   may's pool costs about what a channel wake-up does, and needs no crew to keep alive.
//! - `go`, crawl: a coroutine per request on a fresh connection, at most C in flight, held to
//!   that by a [`may::sync::Semphore`] (sic: may's spelling) of C permits that the caller takes
//!   before each spawn and the request gives back when it is done.
//!
//! # Measurements
//!
//! Scatter records one latency per round, from just before the caller spawns the round's
//! coroutines until it has joined the last: the round ends when the caller has every reply, as
//! every backend defines it. Crawl records one per request; with `rate > 0` (open loop)
//! request `i` is due at `Crawl::scheduled_start(i)` after the run's start, the caller sleeps
//! until then, and the latency counts from then, so a client that falls behind its schedule is
//! charged for it (no coordinated omission). The caller (the calling thread, outside the W
//! workers, as the threads backend's spawning thread) paces and spawns; the W workers run the
//! requests.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use may::net::TcpStream;
use may::sync::Semphore;
use shootout_suite::fanout::{Report, Request, call_blocking, io_failure, timeout};
use shootout_suite::task::{Crawl, Scatter};
use shootout_suite::time::nanos_since;
use shootout_suite::{Answer, Cell, Failure, Outcome, Runner, Tally};

use crate::coroutine::{self, Job};
use crate::runtime;

// ---------------------------------------------------------------------------------------------
// scatter: K requests per round on K open connections.
// ---------------------------------------------------------------------------------------------

/// `go` scatter: K connections opened in setup, a coroutine per connection per round.
pub fn setup_scatter_go(cell: &Cell) -> Result<Runner, Failure> {
    let (p, addr) = (cell.params::<Scatter>()?, cell.server()?);
    runtime::start(cell.workers)?;
    let timeout = timeout(p.timeout_ms);
    let mut conns: Vec<(TcpStream, Vec<u8>)> = coroutine::run(|| {
        (0..p.conns)
            .map(|i| {
                connect(addr, timeout)
                    .map(|stream| (stream, Vec::new()))
                    .map_err(|e| {
                        let what = format!("opening connection {i} of {} to {addr}", p.conns);
                        io_failure(what, e, timeout)
                    })
            })
            .collect::<Result<_, _>>()
    })?;
    // After a failure the connections are in an unknown state (a late reply may still
    // arrive), so every later repetition fails with the same error rather than read it.
    let mut broken: Option<Failure> = None;
    runtime::runner(cell, move |_| {
        if let Some(failure) = &broken {
            return Err(Failure::context("an earlier repetition failed", failure));
        }
        timed_rounds(p.rounds, |index| {
            scatter_round(p, addr, index, &mut conns, timeout)
        })
        .inspect_err(|failure| broken = Some(failure.clone()))
    })
}

/// One scatter round: a coroutine per connection, each one call; the reports merged, or the
/// first failure.
fn scatter_round(
    p: Scatter,
    addr: SocketAddr,
    index: u32,
    conns: &mut [(TcpStream, Vec<u8>)],
    timeout: Duration,
) -> Result<Report, Failure> {
    let calls = conns
        .iter_mut()
        .enumerate()
        .map(|(conn, (stream, payload))| {
            move || {
                call_blocking(stream, p.request(index, conn), payload).map_err(|e| {
                    let what = format!("scatter round {index} on connection {conn} to {addr}");
                    io_failure(what, e, timeout)
                })
            }
        });
    let mut report = Report::default();
    for digest in coroutine::all(calls) {
        report.tally.add(digest?);
    }
    Ok(report)
}

/// Runs rounds `0..rounds` with `round`, which returns once the caller has every reply of the
/// round, and records one latency per round: from just before the call until it returns.
fn timed_rounds(
    rounds: u32,
    mut round: impl FnMut(u32) -> Result<Report, Failure>,
) -> Result<Outcome, Failure> {
    let mut tally = Tally::new();
    let mut latencies_ns = Vec::with_capacity(rounds as usize);
    for index in 0..rounds {
        let start = Instant::now();
        let report = round(index)?;
        latencies_ns.push(nanos_since(start));
        tally.merge(report.tally);
    }
    Ok(Outcome::with_latencies(Answer::Tally(tally), latencies_ns))
}

// ---------------------------------------------------------------------------------------------
// crawl: N requests on fresh connections, at most C in flight.
// ---------------------------------------------------------------------------------------------

/// `go` crawl: a coroutine per request, at most C in flight (a `Semphore`).
pub fn setup_crawl_go(cell: &Cell) -> Result<Runner, Failure> {
    let (p, addr) = (cell.params::<Crawl>()?, cell.server()?);
    runtime::runner(cell, move |_| crawl_go(p, addr))
}

/// One repetition of `go` crawl: the caller paces the requests (the schedule in open loop, a
/// free permit in closed loop) and spawns a coroutine for each.
fn crawl_go(p: Crawl, addr: SocketAddr) -> Result<Outcome, Failure> {
    let permits = Semphore::new(p.concurrency);
    // Merged into under a std lock held only while merging: no coroutine yields holding it.
    let results = Mutex::new((Report::default(), None::<Failure>));
    let failed = AtomicBool::new(false);
    let start = Instant::now();
    coroutine::spawning(|spawn| {
        for i in 0..p.requests {
            let due = p.scheduled_start(i).map(|after| start + after);
            if let Some(due) = due {
                may::coroutine::sleep(due.saturating_duration_since(Instant::now()));
            }
            permits.wait();
            if failed.load(Ordering::Relaxed) {
                break; // Start nothing new once a request has failed.
            }
            let began = due.unwrap_or_else(Instant::now);
            let (results, failed, permits) = (&results, &failed, &permits);
            let request: Job<'_> = Box::new(move || {
                let result = fetch(addr, p.request(i), timeout(p.timeout_ms));
                let mut results = results.lock().unwrap_or_else(PoisonError::into_inner);
                match result {
                    Ok(digest) => results.0.record(digest, began.elapsed()),
                    Err(failure) => {
                        failed.store(true, Ordering::Relaxed);
                        results.1.get_or_insert(failure);
                    }
                }
                drop(results);
                permits.post(); // Only now may the next request start.
            });
            spawn(request);
        }
    });
    let (report, failure) = results.into_inner().unwrap_or_else(PoisonError::into_inner);
    match failure {
        Some(failure) => Err(failure),
        None => Ok(report.into_outcome()),
    }
}

/// One crawl request on may's sockets: a fresh connection, one call (a closing `request`
/// reads on until the server has closed its end), closed on return; the reply's digest, or a
/// failure that says which request and whether it timed out.
fn fetch(addr: SocketAddr, request: Request, timeout: Duration) -> Result<u64, Failure> {
    let mut stream = connect(addr, timeout).map_err(|e| {
        let what = format!("crawl request {}: connecting to {addr}", request.id);
        io_failure(what, e, timeout)
    })?;
    call_blocking(&mut stream, request, &mut Vec::new()).map_err(|e| {
        let what = format!("crawl request {} to {addr}", request.id);
        io_failure(what, e, timeout)
    })
}

/// Opens a connection on may's sockets as `connect_blocking` does on std's: no Nagle delay,
/// and the connect and every read and write bounded by `timeout`.
fn connect(addr: SocketAddr, timeout: Duration) -> std::io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    Ok(stream)
}
