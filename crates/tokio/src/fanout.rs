//! Fan-out on tokio: ten thousand connections as tasks on N workers, as futures in one task, or
//! as tasks on one thread.
//!
//! This is the work async was made for. A blocking client needs a thread per request in
//! flight: a stack, a spawn, and a wake-up per reply. A tokio task waiting for a socket is a
//! small state machine parked in the runtime's reactor. Epoll reports which sockets are ready,
//! and only their tasks are polled, so ten thousand idle connections cost memory and nothing
//! else.
//!
//! Every request is [`call`]: write the 17-byte request, read the 4-byte header, read the
//! payload, digest it; a crawl request, which asks the server to close, then reads once more
//! and expects the end of the stream, so that the server closes first (see the suite's
//! `fanout` module docs). It is the suite's `call_blocking` with tokio's `AsyncWriteExt` and
//! `AsyncReadExt`, each step an `.await`. Every connection has `TCP_NODELAY` set. Every error
//! becomes a `Failure` that names the request (or the round) and the server; nothing panics and
//! nothing waits forever.
//!
//! # Timeouts
//!
//! Every request is bounded by the task's `timeout_ms`, so a silent server fails the cell
//! instead of hanging it. A tokio timeout is an entry in the runtime's timer wheel, inserted
//! when the timeout is first polled and removed when it completes or is dropped, so the form
//! follows what the task shares:
//!
//! - Scatter: one deadline per round, the round's start plus `timeout_ms`, and one
//!   [`tokio::time::timeout_at`] around the whole round's join (see `within_round`). Every
//!   request of the round was sent at or after that start, so none may take longer than
//!   `timeout_ms`; a round that takes longer fails, and dropping the round's futures cancels
//!   the calls still waiting. That is one timer per round, where a `timeout` around every call
//!   would insert and cancel K entries per round, ten thousand at the largest K. The threads
//!   backend gets the same cheapness from `SO_RCVTIMEO`, set once per socket.
//! - Crawl: each request is its own connection with its own start, so each gets its own
//!   [`tokio::time::timeout`], one around the connect and one around the call, as the task's
//!   parameters say (each bounded by `timeout_ms`). One timeout around the whole request would
//!   save one wheel entry per request, next to a connect, a write, three reads and a close, and
//!   would bound a different thing.
//!
//! # The variants
//!
//! - `spawn`, scatter: setup opens the K connections concurrently, at most
//!   [`CONNECTS_IN_FLIGHT`] connects at once. Each round spawns one task per connection into a
//!   [`JoinSet`]. The task takes its connection with it (a spawned task is `'static` and cannot
//!   borrow it) and gives it back with the reply's digest. Why not long-lived tasks, one per
//!   connection, woken each round, like the threads backend's crew? Because a task is cheap: a
//!   spawn costs less than the `write` system call the task then makes. Waking a parked task
//!   costs about as much as spawning one, and the long-lived form would add a channel to start
//!   each round and one to report. The per-round form also gets cancellation for free: on the
//!   first failure, or at the round's deadline, the `JoinSet` is dropped, which aborts every
//!   call still in flight.
//! - `join-all`, scatter: the K calls of a round are futures in one task, driven together by
//!   [`futures::future::try_join_all`]. Past 30 futures it keeps them in a `FuturesOrdered`
//!   (a `FuturesUnordered` that hands results back in order), which polls only the futures
//!   whose sockets woke. The futures borrow their connections (`&mut`), so nothing is
//!   `'static`, nothing is spawned and nothing moves. This is concurrency without parallelism:
//!   all K requests are in flight at once, but one worker at a time polls them all. Without
//!   tokio's budget (see the next variant) it is the cheapest form when each reply needs
//!   little CPU, and it is a bottleneck when a reply needs more. The first failure, or the
//!   round's deadline, drops the other futures, which cancels them.
//! - `join-all-unconstrained`, scatter: `join-all` inside [`tokio::task::coop::unconstrained`].
//!   Tokio gives a task a budget of 128 operations on its resources per poll. Once it is spent,
//!   every tokio socket answers `Pending` and defers the task's wake-up until the poll is over,
//!   so that a busy task yields to the others on its worker. A sub-executor such as
//!   `FuturesUnordered` cannot see the budget. It yields on its own when two of its futures
//!   wake themselves during their poll, but a deferred wake-up does not count, so it goes on
//!   polling every future it holds as ready, each one answering `Pending` at once. Each of a
//!   round's forced yields (one per 128 socket operations) then costs up to K useless polls:
//!   quadratic in K (futures-rs#2053). In a debug build with K = 8 000, `join-all` took six
//!   times as long per round as this variant. `unconstrained` turns the budget off for this
//!   one task, at the price the budget exists to prevent: the task may hold its worker for a
//!   whole round, and on a current-thread runtime it would starve every other task.
//! - `current-thread`, scatter: the `spawn` form on a current-thread runtime. The calling
//!   thread is the only thread, and 10 000 connections live on it, as in the loopback server.
//!   No wake-up ever crosses cores (tens of microseconds each on the reference machine), and no
//!   work is ever done in parallel.
//! - `spawn`, crawl: a [`Semaphore`] of C permits. The loop acquires an owned permit, waiting
//!   while C requests are in flight, then spawns a task for the request. The task connects,
//!   calls, and drops the permit when it is done. The permit is `acquire_owned` because it must
//!   move into a `'static` task. A request that fails closes the semaphore, so the loop starts
//!   nothing more.
//! - `current-thread`, crawl: the same on a current-thread runtime.
//!
//! # Measurements
//!
//! Scatter records one latency per round: from the round's start, before the first request is
//! spawned or polled, until the task that runs the rounds has seen all K replies – the last
//! `join_next` of the round's `JoinSet` in `spawn` and `current-thread`, the return of
//! `try_join_all` in `join-all` and `join-all-unconstrained`. The threads backend ends a round
//! at the same point. Crawl records one latency per request.
//!
//! With `rate > 0` (open loop), request `i` waits with [`tokio::time::sleep_until`] until
//! `Crawl::scheduled_start(i)` after the run's start, and its latency counts from then. A client
//! that falls behind its schedule is charged for it (no coordinated omission). Tokio's timer
//! has a resolution of one millisecond and rounds every deadline up to the next tick, so a
//! request can start up to 1 ms after it was due (more if the worker is busy), and that
//! lateness is charged as latency. It is tokio's real behaviour, what a program pacing itself
//! with tokio's timer gets, so it is measured rather than corrected. At rates above 1 000 per
//! second the requests due within one tick start together, in a burst.

use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::try_join_all;
use futures::stream::{self, StreamExt, TryStreamExt};
use shootout_suite::fanout::{
    REPLY_HEADER_LEN, Report, Request, confirm_close, digest, io_failure, reply_len, timeout,
};
use shootout_suite::percore::share;
use shootout_suite::task::{Crawl, Scatter};
use shootout_suite::time::nanos_since;
use shootout_suite::{Cell, Failure, Outcome, Runner, Tally, runner};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::runtime::Runtime;
use tokio::sync::Semaphore;
use tokio::task::{JoinSet, coop};
use tokio::time;

use crate::runtime::{Core, current_thread_runtime, joined, per_core, run_task, runtime};

/// How many connects a scatter's setup keeps in flight at once.
///
/// Setup is not timed, but ten thousand connects at once would overflow the server's accept
/// backlog (the kernel caps it at `net.core.somaxconn`), and a dropped SYN is retried only
/// after a second. A few hundred at a time keep the backlog short and the setup fast.
pub const CONNECTS_IN_FLIGHT: usize = 256;

// ---------------------------------------------------------------------------------------------
// The client: one request and its reply, as async IO.
// ---------------------------------------------------------------------------------------------

/// One request and its reply on an async stream; returns the reply's digest. When the request
/// asks the server to close, it also reads on to the end of the stream, so that the server
/// closes first ([`confirm_close`]).
pub async fn call<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    request: Request,
    payload: &mut Vec<u8>,
) -> io::Result<u64> {
    stream.write_all(&request.encode()).await?;
    let mut header = [0; REPLY_HEADER_LEN];
    stream.read_exact(&mut header).await?;
    payload.resize(reply_len(header)?, 0);
    stream.read_exact(payload).await?;
    if request.close {
        confirm_close(stream.read(&mut [0; 1]).await?)?;
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

/// One open connection of a scatter: its index, which fixes its requests' ids, the stream, and
/// a reply buffer kept from round to round.
struct Conn {
    index: usize,
    stream: TcpStream,
    payload: Vec<u8>,
}

impl Conn {
    /// Sends this connection's request of round `round` and returns the digest of the reply.
    ///
    /// No timeout of its own: the round's deadline bounds it (see [`within_round`]).
    async fn call(&mut self, p: Scatter, round: u32, addr: SocketAddr) -> Result<u64, Failure> {
        let request = p.request(round, self.index);
        call(&mut self.stream, request, &mut self.payload)
            .await
            .map_err(|e| {
                let what = format!(
                    "scatter round {round} on connection {} to {addr}",
                    self.index
                );
                Failure::context(&what, e)
            })
    }
}

/// A round's calls, bounded by one deadline: `timeout_ms` after the round's `start`.
///
/// When the deadline passes, `calls` is dropped, which cancels every call still in flight, and
/// the round fails with a timeout. One timer entry for the whole round.
async fn within_round<T>(
    p: Scatter,
    round: u32,
    addr: SocketAddr,
    start: Instant,
    calls: impl Future<Output = Result<T, Failure>>,
) -> Result<T, Failure> {
    let deadline = time::Instant::from_std(start) + timeout(p.timeout_ms);
    time::timeout_at(deadline, calls)
        .await
        .unwrap_or_else(|_elapsed| {
            Err(Failure::new(format!(
                "scatter round {round} on {} connections to {addr}: timed out after {} ms waiting for the replies",
                p.conns, p.timeout_ms
            )))
        })
}

// ---------------------------------------------------------------------------------------------
// scatter: K requests per round on K open connections.
// ---------------------------------------------------------------------------------------------

/// `spawn` scatter: K connections on an N-worker runtime; each round, a task per connection.
pub fn scatter_spawn(cell: &Cell) -> Result<Runner, Failure> {
    scatter_runner(cell, runtime(cell.workers)?, |p, addr, conns| {
        rounds(p, addr, conns, Calls::Spawned)
    })
}

/// `join-all` scatter: K connections on an N-worker runtime; each round, K futures in one task.
pub fn scatter_join_all(cell: &Cell) -> Result<Runner, Failure> {
    scatter_runner(cell, runtime(cell.workers)?, |p, addr, conns| {
        rounds(p, addr, conns, Calls::Joined)
    })
}

/// `join-all-unconstrained` scatter: `join-all` with tokio's cooperative budget turned off for
/// the one task.
pub fn scatter_join_all_unconstrained(cell: &Cell) -> Result<Runner, Failure> {
    scatter_runner(cell, runtime(cell.workers)?, |p, addr, conns| {
        coop::unconstrained(rounds(p, addr, conns, Calls::Joined))
    })
}

/// `current-thread` scatter: the `spawn` form, with every connection and task on one thread.
pub fn scatter_current_thread(cell: &Cell) -> Result<Runner, Failure> {
    scatter_runner(cell, current_thread_runtime()?, |p, addr, conns| {
        rounds(p, addr, conns, Calls::Spawned)
    })
}

/// `per-core` scatter: W current-thread runtimes, one per core, each holding its share of the
/// K connections, opened on it. Each round every core runs a task per connection of its share;
/// the round ends when the last core has reported. No task, socket or wake-up crosses cores
/// but the round's start and its report.
pub fn scatter_per_core(cell: &Cell) -> Result<Runner, Failure> {
    let p: Scatter = cell.params()?;
    let addr = cell.server()?;
    let cores = cell.workers;
    let cores = per_core(cores, move |i, runtime| {
        let conns = connect_all(
            addr,
            share(p.conns, cores, i),
            p.conns,
            timeout(p.timeout_ms),
        );
        Ok(RefCell::new(Some(runtime.block_on(conns)?)))
    })?;
    runner(move |_| {
        let mut report = Report::default();
        for round in 0..p.rounds {
            let start = Instant::now();
            for tally in cores.each(move |_, core| core_round(core, p, round, addr, start)) {
                report.tally.merge(tally?);
            }
            report.latencies_ns.push(nanos_since(start));
        }
        Ok(report.into_outcome())
    })
}

/// One core's part of a `per-core` round: a task per connection of its share, on its runtime.
/// A failed round loses the core's connections (their state is unknown), so later rounds fail.
fn core_round(
    core: &Core<RefCell<Option<Vec<Conn>>>>,
    p: Scatter,
    round: u32,
    addr: SocketAddr,
    start: Instant,
) -> Result<Tally, Failure> {
    let mut slot = core.state.borrow_mut();
    let Some(mut conns) = slot.take() else {
        return Err(Failure::new(
            "an earlier round failed on this core, and its connections with it",
        ));
    };
    let mut tally = Tally::default();
    let round = round_spawn(p, round, addr, start, &mut conns, &mut tally);
    core.runtime.block_on(round)?;
    *slot = Some(conns);
    Ok(tally)
}

/// How a round's K calls are made.
#[derive(Clone, Copy)]
enum Calls {
    /// A task per call (`spawn`, `current-thread`).
    Spawned,
    /// Futures of the one task that runs the rounds (`join-all`, `join-all-unconstrained`).
    Joined,
}

/// The rounds of one repetition, one latency per round: from the round's start until this task
/// has every reply.
async fn rounds(
    p: Scatter,
    addr: SocketAddr,
    mut conns: Vec<Conn>,
    calls: Calls,
) -> Result<(Vec<Conn>, Outcome), Failure> {
    let mut report = Report::default();
    for round in 0..p.rounds {
        let start = Instant::now();
        let tally = &mut report.tally;
        match calls {
            Calls::Spawned => round_spawn(p, round, addr, start, &mut conns, tally).await?,
            Calls::Joined => round_join_all(p, round, addr, start, &mut conns, tally).await?,
        }
        report.latencies_ns.push(nanos_since(start));
    }
    Ok((conns, report.into_outcome()))
}

/// One round, a task per call: each task owns its connection while the call runs, and the
/// connections come back in the order their replies did.
async fn round_spawn(
    p: Scatter,
    round: u32,
    addr: SocketAddr,
    start: Instant,
    conns: &mut Vec<Conn>,
    tally: &mut Tally,
) -> Result<(), Failure> {
    let mut calls = JoinSet::new();
    for mut conn in conns.drain(..) {
        calls.spawn(async move {
            let digest = conn.call(p, round, addr).await;
            (conn, digest)
        });
    }
    let all_replies = async {
        while let Some(done) = calls.join_next().await {
            let (conn, digest) = joined(done);
            tally.add(digest?);
            conns.push(conn);
        }
        Ok::<(), Failure>(())
    };
    // On a failure or at the deadline, `?` returns and drops `calls`, which aborts the calls
    // still in flight.
    within_round(p, round, addr, start, all_replies).await
}

/// One round, all its calls as futures of this one task.
async fn round_join_all(
    p: Scatter,
    round: u32,
    addr: SocketAddr,
    start: Instant,
    conns: &mut [Conn],
    tally: &mut Tally,
) -> Result<(), Failure> {
    let calls = conns.iter_mut().map(|conn| conn.call(p, round, addr));
    // The first failure, or the deadline, returns at once, dropping (cancelling) the other
    // calls.
    for digest in within_round(p, round, addr, start, try_join_all(calls)).await? {
        tally.add(digest);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// crawl: N requests on fresh connections, at most C in flight.
// ---------------------------------------------------------------------------------------------

/// `spawn` crawl: on an N-worker runtime, a task per request, at most C holding a permit.
pub fn crawl_spawn(cell: &Cell) -> Result<Runner, Failure> {
    crawl_runner(cell, runtime(cell.workers)?)
}

/// `current-thread` crawl: the `spawn` form, with every task on one thread.
pub fn crawl_current_thread(cell: &Cell) -> Result<Runner, Failure> {
    crawl_runner(cell, current_thread_runtime()?)
}

/// `per-core` crawl: W current-thread runtimes, one per core. The requests are dealt out in
/// turn (request `i` to core `i mod W`, so that every core keeps to the open-loop schedule), and
/// the C permits divided among the cores; with C < W only C cores take part, one permit each.
pub fn crawl_per_core(cell: &Cell) -> Result<Runner, Failure> {
    let p: Crawl = cell.params()?;
    let addr = cell.server()?;
    let cores = per_core(cell.workers, |_, _| Ok(()))?;
    let active = cell.workers.min(p.concurrency.max(1));
    runner(move |_| {
        let start = Instant::now();
        let mut report = Report::default();
        let parts = cores.each(move |i, core| {
            (i < active).then(|| {
                let permits = share(p.concurrency.max(1), active, i).len();
                let requests = (i as u64..p.requests).step_by(active);
                core.runtime
                    .block_on(crawl_tasks(p, addr, start, requests, permits))
            })
        });
        for part in parts.into_iter().flatten() {
            report.merge(part?);
        }
        Ok(report.into_outcome())
    })
}

/// The crawl runner: every repetition is one [`crawl_tasks`] on `runtime`, of every request
/// with the task's C permits.
fn crawl_runner(cell: &Cell, runtime: Runtime) -> Result<Runner, Failure> {
    let p: Crawl = cell.params()?;
    let addr = cell.server()?;
    runner(move |_| {
        let crawl = crawl_tasks(p, addr, Instant::now(), 0..p.requests, p.concurrency);
        run_task(
            &runtime,
            async move { crawl.await.map(Report::into_outcome) },
        )
    })
}

/// One repetition of a crawl (or a core's part of one): this task paces `requests` (the
/// schedule from `start` in open loop, a free permit of `permits` always) and spawns a task for
/// each.
async fn crawl_tasks(
    p: Crawl,
    addr: SocketAddr,
    start: Instant,
    requests: impl Iterator<Item = u64>,
    permits: usize,
) -> Result<Report, Failure> {
    let permits = Arc::new(Semaphore::new(permits.clamp(1, Semaphore::MAX_PERMITS)));
    let mut requests_in_flight = JoinSet::new();
    let mut report = Report::default();
    for i in requests {
        let due = wait_until_due(&p, i, start).await;
        // Waits while C requests are in flight; fails once a request has closed the semaphore.
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            break;
        };
        // Collect the requests that have finished, so that the set holds at most C tasks and a
        // failure ends the crawl as soon as it is seen.
        while let Some(done) = requests_in_flight.try_join_next() {
            let (digest, latency) = joined(done)?;
            report.record(digest, latency);
        }
        let began = due.unwrap_or_else(Instant::now);
        requests_in_flight.spawn(async move {
            let result = fetch(addr, p.request(i), timeout(p.timeout_ms)).await;
            if result.is_err() {
                permit.semaphore().close(); // Start nothing more.
            }
            drop(permit); // Only now may the next request start.
            result.map(|digest| (digest, began.elapsed()))
        });
    }
    // On a failure, `?` drops the set, which aborts the requests still in flight.
    while let Some(done) = requests_in_flight.join_next().await {
        let (digest, latency) = joined(done)?;
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

/// In open loop, sleeps until request `i` is due and returns when that was; in closed loop
/// returns `None` at once.
///
/// The sleep ends on the first timer tick at or after `due`: up to a millisecond late, and the
/// request's latency, counted from `due`, includes that (see the module docs).
async fn wait_until_due(p: &Crawl, i: u64, start: Instant) -> Option<Instant> {
    let due = start + p.scheduled_start(i)?;
    time::sleep_until(due.into()).await;
    Some(due)
}

// ---------------------------------------------------------------------------------------------
// Plumbing.
// ---------------------------------------------------------------------------------------------

/// The scatter runner: the connections are opened now, on `runtime`, and every repetition runs
/// `rounds` on them as one task of the same runtime.
///
/// The connections travel into each repetition's task and back. A failed repetition loses
/// them, and their state is unknown anyway (a late reply may still arrive), so every later
/// repetition fails with the same error rather than reading a stale reply.
fn scatter_runner<F, Fut>(cell: &Cell, runtime: Runtime, mut rounds: F) -> Result<Runner, Failure>
where
    F: FnMut(Scatter, SocketAddr, Vec<Conn>) -> Fut + 'static,
    Fut: Future<Output = Result<(Vec<Conn>, Outcome), Failure>> + Send + 'static,
{
    let p: Scatter = cell.params()?;
    let addr = cell.server()?;
    // A tokio socket belongs to the runtime it was opened on: open them on the one they run on.
    let conns = connect_all(addr, 0..p.conns, p.conns, timeout(p.timeout_ms));
    let conns = run_task(&runtime, conns)?;
    let mut conns = Some(conns);
    let mut broken: Option<Failure> = None;
    runner(move |_| {
        let Some(taken) = conns.take() else {
            let failure = broken
                .clone()
                .unwrap_or_else(|| Failure::new("no connections"));
            return Err(Failure::context("an earlier repetition failed", failure));
        };
        match run_task(&runtime, rounds(p, addr, taken)) {
            Ok((back, outcome)) => {
                conns = Some(back);
                Ok(outcome)
            }
            Err(failure) => {
                broken = Some(failure.clone());
                Err(failure)
            }
        }
    })
}

/// Opens the connections `indices` of `count` to `addr`, at most [`CONNECTS_IN_FLIGHT`] at a
/// time, as futures of one task; the first failure cancels the connects still in flight.
async fn connect_all(
    addr: SocketAddr,
    indices: Range<usize>,
    count: usize,
    timeout: Duration,
) -> Result<Vec<Conn>, Failure> {
    stream::iter(indices)
        .map(|index| async move {
            let stream = connect(addr, timeout).await.map_err(|e| {
                io_failure(
                    format!("opening connection {index} of {count} to {addr}"),
                    e,
                    timeout,
                )
            })?;
            Ok(Conn {
                index,
                stream,
                payload: Vec::new(),
            })
        })
        .buffer_unordered(CONNECTS_IN_FLIGHT)
        .try_collect()
        .await
}
