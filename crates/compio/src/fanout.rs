//! Fan-out, thread per core: each core's runtime owns its share of the sockets and drives
//! them by itself, with completion-based IO.
//!
//! With io_uring a read is not "wait until readable, then read": the read itself is submitted
//! to the kernel with its buffer, and the runtime is told when it has completed. So the buffer
//! must belong to the operation while it is in flight, and compio's IO traits take buffers by
//! value and give them back with the result ([`BufResult`]): `write_all(request)` and
//! `read_exact(header)` move the arrays in and out, and the reply is read into an owned `Vec`
//! kept from call to call. Dropping a call in flight (a timeout, a failure elsewhere) cancels
//! its operation; the runtime keeps the buffer until the kernel lets go of it. On the `poll`
//! driver the same code runs on epoll readiness underneath.
//!
//! Every request is [`call`], the suite's protocol as in every backend: write the 17-byte
//! request, read the 4-byte header, read the payload, digest it; a crawl request, which asks
//! the server to close, reads once more and expects the end of the stream. `TCP_NODELAY` on
//! every connection. Errors become `Failure`s that name the request or round and the server.
//!
//! # `per-core` scatter
//!
//! Setup divides the K connections among the N cores (`share`): each core opens its share on
//! its own runtime, at most [`CONNECTS_IN_FLIGHT`] at once, and keeps them in its state; a
//! socket never leaves the core that opened it. Each round, one [`Cores::each`](shootout_suite::percore::Cores::each) hands the round
//! to every core, and each drives its K/N calls concurrently as futures of one task
//! ([`try_join_all`]: on a single-threaded runtime a task per call would only add an
//! allocation). The round's latency is the threads crew's: from before the hand-out until the
//! calling thread has heard from the last core. One deadline per round, `timeout_ms` after its
//! start, one [`compio::time::timeout_at`] per core. A core that fails stops the others at once
//! (a shared flag and an [`event_listener::Event`], the only thing the cores share); a
//! repetition that failed leaves the connections in an unknown state, so every later one fails.
//!
//! # `per-core` crawl
//!
//! The requests are dealt round-robin to the cores (request `i` to core `i mod A`), so that in
//! open loop every core's requests are spread over the whole schedule, and the limit C is
//! divided too: core `c` keeps at most `share(C, A, c)` requests in flight, each a future on a
//! fresh connection in one [`FuturesUnordered`]. When C < N only A = C cores take requests, one
//! in flight each, and the others idle: the task's limit is C in flight, and a core per
//! request slot is what per-core division gives (A = min(N, C)). With `rate > 0` a request
//! waits until its scheduled start (compio's timer) and its latency counts from then, as in
//! every backend. The first failure stops every core and cancels what is in flight.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use compio::BufResult;
use compio::buf::{IntoInner, IoBuf};
use compio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use compio::net::TcpStream;
use compio::time;
use futures::future::{Either, select, try_join_all};
use futures::stream::{FuturesUnordered, StreamExt, TryStreamExt};
use shootout_suite::fanout::{
    REPLY_HEADER_LEN, Report, Request, confirm_close, digest, io_failure, reply_len, timeout,
};
use shootout_suite::task::{Crawl, Scatter};
use shootout_suite::time::nanos_since;
use shootout_suite::{Cell, Failure, Runner};

use crate::runtime::{self, noted, share};

/// How many connects a scatter's setup keeps in flight at once, on each core (as tokio's).
pub const CONNECTS_IN_FLIGHT: usize = 256;

// ---------------------------------------------------------------------------------------------
// The client: one request and its reply, with owned buffers.
// ---------------------------------------------------------------------------------------------

/// One request and its reply on a compio stream; returns the reply's digest, the payload left
/// in `payload` (whose allocation is reused). A closing request then reads on to the end of the
/// stream ([`confirm_close`]).
pub async fn call(
    stream: &mut TcpStream,
    request: Request,
    payload: &mut Vec<u8>,
) -> io::Result<u64> {
    let BufResult(sent, _) = stream.write_all(request.encode()).await;
    sent?;
    let BufResult(read, header) = stream.read_exact([0; REPLY_HEADER_LEN]).await;
    read?;
    let len = reply_len(header)?;
    let mut buf = std::mem::take(payload);
    buf.clear();
    buf.reserve(len);
    // The read owns the buffer while the kernel fills it, and gives it back.
    let BufResult(read, buf) = stream.read_exact(buf.slice(..len)).await;
    *payload = buf.into_inner();
    read?;
    if request.close {
        let BufResult(read, _) = stream.read([0; 1]).await;
        confirm_close(read?)?;
    }
    Ok(digest(request.id, payload))
}

/// Opens a connection with no Nagle delay, giving up after `timeout`.
pub async fn connect(addr: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
    let stream = within(timeout, TcpStream::connect(addr)).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// `io`, bounded by `timeout`: when it expires, `io` is dropped (cancelled) and the result is
/// an error of kind `TimedOut`.
async fn within<T>(timeout: Duration, io: impl Future<Output = io::Result<T>>) -> io::Result<T> {
    time::timeout(timeout, io)
        .await
        .unwrap_or_else(|_elapsed| Err(io::ErrorKind::TimedOut.into()))
}

// ---------------------------------------------------------------------------------------------
// What the cores share: a flag that stops them all at the first failure.
// ---------------------------------------------------------------------------------------------

/// Raised by the first core that fails, so that the others stop instead of waiting for their
/// replies or their deadline.
#[derive(Default)]
struct Stop {
    raised: AtomicBool,
    event: event_listener::Event,
}

impl Stop {
    fn raise(&self) {
        self.raised.store(true, Ordering::SeqCst);
        self.event.notify(usize::MAX);
    }

    async fn raised(&self) {
        crate::sync::until(&self.event, || {
            self.raised.load(Ordering::SeqCst).then_some(())
        })
        .await;
    }

    /// `work`, unless another core fails first: its failure raises the flag; `Err(None)` means
    /// another core's failure stopped it (its futures dropped, their IO cancelled).
    async fn guard<T>(
        &self,
        work: impl Future<Output = Result<T, Failure>>,
    ) -> Result<T, Option<Failure>> {
        match select(pin!(work), pin!(self.raised())).await {
            Either::Left((Ok(done), _)) => Ok(done),
            Either::Left((Err(failure), _)) => {
                self.raise();
                Err(Some(failure))
            }
            Either::Right(((), _)) => Err(None),
        }
    }
}

/// The cores' results: their reports merged, or the failure that stopped them.
fn merged(results: Vec<Result<Report, Option<Failure>>>) -> Result<Report, Failure> {
    let mut all = Report::default();
    let mut stopped = false;
    for result in results {
        match result {
            Ok(report) => all.merge(report),
            Err(Some(failure)) => return Err(failure),
            Err(None) => stopped = true,
        }
    }
    if stopped {
        return Err(Failure::new("a core was stopped, but no core failed"));
    }
    Ok(all)
}

// ---------------------------------------------------------------------------------------------
// scatter: each core's share of the K connections, every round.
// ---------------------------------------------------------------------------------------------

/// One open connection: its index among the K, which fixes its requests' ids, the stream, and
/// a reply buffer kept from round to round.
struct Conn {
    index: usize,
    stream: TcpStream,
    payload: Vec<u8>,
}

/// A core's scatter state: its connections, taken out for a round and put back after it.
type Conns = std::cell::RefCell<Option<Vec<Conn>>>;

/// Sets up `per-core` scatter: each core opens its share of the K connections.
pub fn setup_scatter(cell: &Cell) -> Result<Runner, Failure> {
    let p: Scatter = cell.params()?;
    let addr = cell.server()?;
    let parts = cell.workers;
    let (cores, driver) = runtime::start(parts, move |i, rt| {
        let mine = share(p.conns, parts, i);
        let conns = rt.block_on(connect_all(addr, mine, p.conns, timeout(p.timeout_ms)))?;
        Ok(Conns::new(Some(conns)))
    })?;
    let mut broken: Option<Failure> = None;
    noted(driver, move |_| {
        if let Some(failure) = &broken {
            return Err(Failure::context("an earlier repetition failed", failure));
        }
        let mut report = Report::default();
        for round in 0..p.rounds {
            let start = Instant::now();
            let stop = Arc::new(Stop::default());
            let results = cores.each(move |_, core| {
                let Some(mut conns) = core.own.take() else {
                    return Err(Some(Failure::new("no connections")));
                };
                let calls = round_on_core(p, round, addr, start, &mut conns);
                let result = core.rt.block_on(stop.guard(calls));
                if result.is_ok() {
                    core.own.replace(Some(conns));
                }
                result
            });
            match merged(results) {
                Ok(core_reports) => report.tally.merge(core_reports.tally),
                Err(failure) => {
                    broken = Some(failure.clone());
                    return Err(failure);
                }
            }
            report.latencies_ns.push(nanos_since(start));
        }
        Ok(report.into_outcome())
    })
}

/// One core's calls of one round, as futures of one task, bounded by the round's deadline.
async fn round_on_core(
    p: Scatter,
    round: u32,
    addr: SocketAddr,
    start: Instant,
    conns: &mut [Conn],
) -> Result<Report, Failure> {
    let calls = conns.iter_mut().map(|conn| async move {
        let request = p.request(round, conn.index);
        call(&mut conn.stream, request, &mut conn.payload)
            .await
            .map_err(|e| {
                let what = format!(
                    "scatter round {round} on connection {} to {addr}",
                    conn.index
                );
                Failure::context(&what, e)
            })
    });
    let deadline = start + timeout(p.timeout_ms);
    let digests = time::timeout_at(deadline, try_join_all(calls))
        .await
        .unwrap_or_else(|_elapsed| {
            Err(Failure::new(format!(
                "scatter round {round} on {} connections to {addr}: timed out after {} ms waiting for the replies",
                p.conns, p.timeout_ms
            )))
        })?;
    let mut report = Report::default();
    digests.into_iter().for_each(|d| report.tally.add(d));
    Ok(report)
}

/// Opens the connections `mine` of `count` to `addr`, at most [`CONNECTS_IN_FLIGHT`] at once.
async fn connect_all(
    addr: SocketAddr,
    mine: std::ops::Range<usize>,
    count: usize,
    timeout: Duration,
) -> Result<Vec<Conn>, Failure> {
    let mut conns: Vec<Conn> = futures::stream::iter(mine)
        .map(|index| async move {
            let stream = connect(addr, timeout).await.map_err(|e| {
                io_failure(
                    format!("opening connection {index} of {count} to {addr}"),
                    e,
                    timeout,
                )
            })?;
            Ok::<_, Failure>(Conn {
                index,
                stream,
                payload: Vec::new(),
            })
        })
        .buffer_unordered(CONNECTS_IN_FLIGHT)
        .try_collect()
        .await?;
    conns.sort_unstable_by_key(|conn| conn.index);
    Ok(conns)
}

// ---------------------------------------------------------------------------------------------
// crawl: the requests and the limit divided among the cores.
// ---------------------------------------------------------------------------------------------

/// Sets up `per-core` crawl.
pub fn setup_crawl(cell: &Cell) -> Result<Runner, Failure> {
    let p: Crawl = cell.params()?;
    let addr = cell.server()?;
    let (cores, driver) = runtime::start(cell.workers, |_, _| Ok(()))?;
    let active = cell.workers.min(p.concurrency.max(1));
    noted(driver, move |_| {
        let start = Instant::now();
        let stop = Arc::new(Stop::default());
        let results = cores.each(move |c, core| {
            if c >= active {
                return Ok(Report::default());
            }
            let limit = share(p.concurrency.max(1), active, c).len().max(1);
            let requests = (c as u64..p.requests).step_by(active);
            core.rt
                .block_on(stop.guard(crawl_on_core(p, addr, requests, limit, start)))
        });
        Ok(merged(results)?.into_outcome())
    })
}

/// One core's requests, at most `limit` in flight, each started when due (open loop) or when a
/// slot is free (closed loop).
async fn crawl_on_core(
    p: Crawl,
    addr: SocketAddr,
    requests: impl Iterator<Item = u64>,
    limit: usize,
    start: Instant,
) -> Result<Report, Failure> {
    let mut report = Report::default();
    let mut flying = FuturesUnordered::new();
    for i in requests {
        let due = p.scheduled_start(i).map(|after| start + after);
        // Wait for a free slot, then for the request's time, collecting replies meanwhile.
        loop {
            if flying.len() >= limit {
                let (digest, latency) = flying.next().await.expect("requests in flight")?;
                report.record(digest, latency);
                continue;
            }
            match due {
                Some(due) if Instant::now() < due && !flying.is_empty() => {
                    match select(pin!(time::sleep_until(due)), flying.next()).await {
                        Either::Left(((), _)) => break,
                        Either::Right((done, _)) => {
                            let (digest, latency) = done.expect("requests in flight")?;
                            report.record(digest, latency);
                        }
                    }
                }
                Some(due) if Instant::now() < due => {
                    time::sleep_until(due).await;
                    break;
                }
                _ => break,
            }
        }
        let began = due.unwrap_or_else(Instant::now);
        flying.push(async move {
            let digest = fetch(addr, p.request(i), timeout(p.timeout_ms)).await?;
            Ok::<_, Failure>((digest, began.elapsed()))
        });
    }
    while let Some(done) = flying.next().await {
        let (digest, latency) = done?;
        report.record(digest, latency);
    }
    Ok(report)
}

/// One crawl request: a fresh connection, one call (which reads on until the server has closed
/// its end), closed on return.
async fn fetch(addr: SocketAddr, request: Request, timeout: Duration) -> Result<u64, Failure> {
    let mut stream = connect(addr, timeout).await.map_err(|e| {
        io_failure(
            format!("crawl request {}: connecting to {addr}", request.id),
            e,
            timeout,
        )
    })?;
    within(timeout, call(&mut stream, request, &mut Vec::new()))
        .await
        .map_err(|e| {
            io_failure(
                format!("crawl request {} to {addr}", request.id),
                e,
                timeout,
            )
        })
}
