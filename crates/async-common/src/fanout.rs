//! Fan-out as async IO: the client on the futures-io traits, the scatter's rounds as tasks or as
//! futures of one task, and the crawl's paced tasks under a semaphore.
//!
//! This is the work async was made for. A blocking client needs a thread per request in
//! flight: a stack, a spawn, and a wake-up per reply. An async client registers its sockets
//! with a reactor (async-io's, on epoll here, under smol and async-std alike); a request is a
//! future that writes, suspends until the reactor reports its socket readable, and is polled
//! again by whichever executor thread picks it up. Ten thousand idle connections cost memory
//! and nothing else.
//!
//! Every request is [`call`]: write the 17-byte request, read the 4-byte header, read the
//! payload, digest it; a crawl request, which asks the server to close, then reads once more
//! and expects the end of the stream, so that the server closes first (see the suite's
//! `fanout` module docs). It is the suite's `call_blocking` written on futures-io's `AsyncRead`
//! and `AsyncWrite` (smol's `io` traits, and async-std's `io::Read` and `io::Write` under std's
//! names) with futures-lite's `write_all`, `read_exact` and `read`, each step an `.await`. Every
//! connection has `TCP_NODELAY` set. Every error becomes a `Failure` that names the request
//! (or the round) and the server; nothing panics and nothing waits forever.
//!
//! What differs between the runtimes is [`Net`]: the socket type, how a connect or a call is
//! bounded by a timeout, how a round is bounded by its deadline, how a request waits for its
//! scheduled time; and [`Spawn::cancel_all`], since a dropped smol task is cancelled and a
//! dropped async-std handle is not. Each backend's `fanout.rs` says how its runtime does them.
//!
//! # Timeouts
//!
//! Every request is bounded by the task's `timeout_ms`, so a silent server fails the cell
//! instead of hanging it. Async IO has no socket timeout, and a future that is never woken
//! simply waits, so the IO is raced against an async-io timer: the first to finish wins and
//! the other is dropped, and dropping an IO future cancels it. An async-io timer is registered
//! when it is first polled: an insert pushed onto the reactor's queue of timer operations (it
//! holds 1 000), and a notification that wakes the thread waiting on epoll so that it sees the
//! new deadline; dropping the timer pushes a remove. So the form follows what the task shares:
//!
//! - Scatter: one deadline per round, the round's start plus `timeout_ms`, and one timer raced
//!   against the whole round ([`Net::by_deadline`]). Every request of the round was sent at or
//!   after that start, so none may take longer than `timeout_ms`; a round that takes longer
//!   fails, and the calls still waiting are cancelled. That is one timer per round, where a
//!   timer around every call would push K inserts and K removes per round and wake the reactor
//!   K times; past 1 000 operations the queue is full, and the thread inserting a timer drains
//!   it into the timer map under the reactor's lock. tokio has the same one deadline per round;
//!   the threads backend gets the same cheapness from `SO_RCVTIMEO`, set once per socket.
//! - Crawl: each request is its own connection with its own start, so each gets its own
//!   timers, one around the connect and one around the call ([`Net::within`]), as the task's
//!   parameters say (each bounded by `timeout_ms`).
//!
//! # The variants
//!
//! - `spawn`, scatter: setup opens the K connections concurrently, at most
//!   [`CONNECTS_IN_FLIGHT`] connects at once. Each round spawns one task per connection on the
//!   runtime's N threads: concurrency and parallelism. A spawned task is `'static` and cannot
//!   borrow its connection, so the connection moves into the task and comes back with the
//!   reply's digest. The round awaits the tasks' handles in order; on the first failure, or at
//!   the round's deadline, the tasks not yet awaited are cancelled.
//! - `join-all`, scatter: the K calls of a round are futures in one task, driven together by
//!   [`futures::future::try_join_all`] (neither futures-lite nor async-std has an n-ary join).
//!   Past 30 futures it keeps them in a `FuturesOrdered` (a `FuturesUnordered` that keeps the
//!   results in order), which gives each future its own waker and polls only the ones whose
//!   sockets woke; a join that polled every branch on every wake-up would cost O(K) per reply.
//!   The futures borrow their connections (`&mut`), so nothing is `'static`, nothing is spawned
//!   and nothing moves. This is concurrency without parallelism: all K requests are in flight
//!   at once, but one thread at a time polls them all, the shape of a single-threaded event
//!   loop (Python's `asyncio.gather`). The first failure, or the round's deadline, drops the
//!   other futures, which cancels them.
//! - `spawn`, crawl: one task paces the requests. It waits for a request's scheduled time (open
//!   loop), takes a permit from an [`async_lock::Semaphore`] of C permits (waiting while C
//!   requests are in flight), and spawns a task that connects, calls, and drops the permit.
//!   `acquire_arc` gives an owned guard, which is what lets the permit move into a `'static`
//!   task. The handles go into a [`FuturesUnordered`], and after each permit the pacing task
//!   collects the requests that have finished, in any order, without waiting for the others
//!   (`now_or_never` polls the set once with a waker that does nothing, so a finishing request
//!   never wakes the pacing task for it). The set holds about C handles, not N, and the first
//!   failure it sees ends the crawl: the requests still in flight are cancelled. async-lock's
//!   semaphore cannot be closed, so a failed request also raises a flag, and the pacing loop
//!   starts nothing more once it sees it.
//!
//! # Measurements
//!
//! Scatter records one latency per round: from the round's start, before the first task is
//! spawned or the first call polled, until the caller has seen all K replies: the await of the
//! round's last handle in `spawn`, the return of `try_join_all` in `join-all`. tokio and the
//! threads backend end a round at the same point. Crawl records one latency per request. With
//! `rate > 0` (open loop), request `i` waits ([`Net::sleep_until`]) until
//! `Crawl::scheduled_start(i)` after the run's start, and its latency counts from then. A
//! client that falls behind its schedule is charged for it (no coordinated omission).
//! async-io's timers have no tick: a timer fires when the reactor next wakes at or after its
//! deadline.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_lock::Semaphore;
use futures::future::{FutureExt as _, try_join_all};
use futures::stream::{self, FuturesUnordered, StreamExt, TryStreamExt};
use futures_lite::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use shootout_suite::fanout::{
    REPLY_HEADER_LEN, Report, Request, confirm_close, digest, io_failure, reply_len, timeout,
};
use shootout_suite::task::{Crawl, Scatter};
use shootout_suite::time::nanos;
use shootout_suite::{Cell, Failure, Outcome, Runner, Task, runner};

use crate::runtime::{Runtime, Spawn};

/// How many connects a scatter's setup keeps in flight at once.
///
/// Setup is not timed, but ten thousand connects at once would overflow the server's accept
/// backlog (the kernel caps it at `net.core.somaxconn`), and a dropped SYN is retried only
/// after a second. A few hundred at a time keep the backlog short and the setup fast.
pub const CONNECTS_IN_FLIGHT: usize = 256;

/// The runtime's sockets and timers: what the fan-out code does differently on each runtime.
pub trait Net: Spawn {
    /// A TCP connection.
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    /// Opens a connection with no Nagle delay, giving up after `timeout` (an error of kind
    /// `TimedOut`).
    fn connect(
        addr: SocketAddr,
        timeout: Duration,
    ) -> impl Future<Output = io::Result<Self::Stream>> + Send;

    /// `io`, bounded by `timeout`: when the timer wins, `io` is dropped (cancelled) and the
    /// result is an error of kind `TimedOut`.
    fn within<T: Send>(
        timeout: Duration,
        io: impl Future<Output = io::Result<T>> + Send,
    ) -> impl Future<Output = io::Result<T>> + Send;

    /// `work`, bounded by `deadline`: when the timer wins, `work` is dropped and the result is
    /// `late()`.
    fn by_deadline<T: Send>(
        deadline: Instant,
        work: impl Future<Output = T> + Send,
        late: impl FnOnce() -> T + Send,
    ) -> impl Future<Output = T> + Send;

    /// Waits until `deadline`.
    fn sleep_until(deadline: Instant) -> impl Future<Output = ()> + Send;
}

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

/// One open connection of a scatter: its index, which fixes its requests' ids, the stream, and
/// a reply buffer kept from round to round.
struct Conn<S> {
    index: usize,
    stream: S,
    payload: Vec<u8>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Conn<S> {
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

/// A scatter's open connections on runtime `N`.
type Conns<N> = Vec<Conn<<N as Net>::Stream>>;

/// What a scatter call's task hands back: its connection, and the reply's digest.
type Called<S> = (Conn<S>, Result<u64, Failure>);

/// What a crawl request's task hands back: the reply's digest and its latency.
type Fetched = Result<(u64, Duration), Failure>;

/// A round's calls, bounded by one deadline: `timeout_ms` after the round's `start`.
///
/// When the deadline passes first, `calls` is dropped, which cancels every call it owns, and
/// the round fails with a timeout. One timer for the whole round. Dropping `calls` does not
/// cancel the tasks it awaits: the caller does that (see `rounds_spawn`).
async fn within_round<N: Net, T: Send>(
    p: Scatter,
    round: u32,
    addr: SocketAddr,
    start: Instant,
    calls: impl Future<Output = Result<T, Failure>> + Send,
) -> Result<T, Failure> {
    let deadline = start + timeout(p.timeout_ms);
    N::by_deadline(deadline, calls, || {
        Err(Failure::new(format!(
            "scatter round {round} on {} connections to {addr}: timed out after {} ms waiting for the replies",
            p.conns, p.timeout_ms
        )))
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// scatter: K requests per round on K open connections.
// ---------------------------------------------------------------------------------------------

/// The rounds of one repetition, a task per call spawned with `s`: each task owns its
/// connection while the call runs and hands it back with the digest.
async fn rounds_spawn<N: Net>(
    s: N,
    p: Scatter,
    addr: SocketAddr,
    mut conns: Conns<N>,
) -> Result<(Conns<N>, Outcome), Failure> {
    let mut report = Report::default();
    for round in 0..p.rounds {
        let start = Instant::now();
        let mut calls: VecDeque<N::Task<Called<N::Stream>>> = conns
            .drain(..)
            .map(|mut conn| {
                s.spawn(async move {
                    let digest = conn.call(p, round, addr).await;
                    (conn, digest)
                })
            })
            .collect();
        let all_replies = async {
            // A handle leaves `calls` only once its task has finished.
            while let Some(call) = calls.front_mut() {
                let (conn, digest) = call.await;
                calls.pop_front();
                report.tally.add(digest?);
                conns.push(conn);
            }
            Ok::<(), Failure>(())
        };
        // On a failure or at the deadline, the tasks not yet awaited are cancelled.
        if let Err(failure) = within_round::<N, _>(p, round, addr, start, all_replies).await {
            N::cancel_all(calls).await;
            return Err(failure);
        }
        report.latencies_ns.push(nanos(start.elapsed()));
    }
    Ok((conns, report.into_outcome()))
}

/// The rounds of one repetition, all calls of a round as futures of this one task.
async fn rounds_join_all<N: Net>(
    p: Scatter,
    addr: SocketAddr,
    mut conns: Conns<N>,
) -> Result<(Conns<N>, Outcome), Failure> {
    let mut report = Report::default();
    for round in 0..p.rounds {
        let start = Instant::now();
        let calls = conns.iter_mut().map(|conn| conn.call(p, round, addr));
        // The first failure, or the deadline, returns at once, dropping (cancelling) the other
        // calls.
        for digest in within_round::<N, _>(p, round, addr, start, try_join_all(calls)).await? {
            report.tally.add(digest);
        }
        report.latencies_ns.push(nanos(start.elapsed()));
    }
    Ok((conns, report.into_outcome()))
}

/// `spawn` scatter: K connections on `R`'s N threads; each round, a task per connection.
pub fn setup_scatter_spawn<R: Runtime>(cell: &Cell) -> Result<Runner, Failure>
where
    R::Spawner: Net,
{
    scatter_cell::<R, _, _>(cell, rounds_spawn)
}

/// `join-all` scatter: K connections on `R`'s N threads; each round, K futures in one task.
pub fn setup_scatter_join_all<R: Runtime>(cell: &Cell) -> Result<Runner, Failure>
where
    R::Spawner: Net,
{
    scatter_cell::<R, _, _>(cell, |_, p, addr, conns| {
        rounds_join_all::<R::Spawner>(p, addr, conns)
    })
}

// ---------------------------------------------------------------------------------------------
// crawl: N requests on fresh connections, at most C in flight.
// ---------------------------------------------------------------------------------------------

/// `spawn` crawl: on `R`'s N threads, a task per request, at most C holding a permit.
pub fn setup_crawl_spawn<R: Runtime>(cell: &Cell) -> Result<Runner, Failure>
where
    R::Spawner: Net,
{
    let (Task::Crawl(p), addr) = (cell.task, cell.server()?) else {
        return Err(cell.unsupported());
    };
    let runtime = R::start(cell.workers)?;
    let s = runtime.spawner();
    runner(move |_| runtime.run(crawl_tasks(s, p, addr)))
}

/// One repetition of a crawl: this task paces the requests (the schedule in open loop, a free
/// permit always) and spawns a task for each with `s`.
async fn crawl_tasks<N: Net>(s: N, p: Crawl, addr: SocketAddr) -> Result<Outcome, Failure> {
    let permits = Arc::new(Semaphore::new(p.concurrency.max(1)));
    let failed = Arc::new(AtomicBool::new(false));
    let mut requests: FuturesUnordered<N::Task<Fetched>> = FuturesUnordered::new();
    let mut report = Report::default();
    let start = Instant::now();
    let all_replies = async {
        for i in 0..p.requests {
            let due = wait_until_due::<N>(&p, i, start).await;
            // Waits while C requests are in flight.
            let permit = permits.acquire_arc().await;
            if failed.load(Ordering::Relaxed) {
                break; // Start nothing more once a request has failed.
            }
            // Collect the requests that have finished, without waiting for the others, so
            // that the set holds about C handles and a failure ends the crawl as soon as it is
            // seen.
            while let Some(Some(done)) = requests.next().now_or_never() {
                let (digest, latency) = done?;
                report.record(digest, latency);
            }
            let began = due.unwrap_or_else(Instant::now);
            let failed = Arc::clone(&failed);
            requests.push(s.spawn(async move {
                let result = fetch::<N>(addr, p.request(i), timeout(p.timeout_ms)).await;
                if result.is_err() {
                    failed.store(true, Ordering::Relaxed);
                }
                drop(permit); // Only now may the next request start.
                result.map(|digest| (digest, began.elapsed()))
            }));
        }
        while let Some(done) = requests.next().await {
            let (digest, latency) = done?;
            report.record(digest, latency);
        }
        Ok::<(), Failure>(())
    };
    // On a failure, the requests still in flight are cancelled.
    if let Err(failure) = all_replies.await {
        N::cancel_all(requests).await;
        return Err(failure);
    }
    Ok(report.into_outcome())
}

/// One crawl request: a fresh connection, one call (which reads on until the server has closed
/// its end), closed on return.
async fn fetch<N: Net>(
    addr: SocketAddr,
    request: Request,
    timeout: Duration,
) -> Result<u64, Failure> {
    let mut stream = N::connect(addr, timeout).await.map_err(|e| {
        io_failure(
            format!("crawl request {}: connecting to {addr}", request.id),
            e,
            timeout,
        )
    })?;
    N::within(timeout, call(&mut stream, request, &mut Vec::new()))
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
async fn wait_until_due<N: Net>(p: &Crawl, i: u64, start: Instant) -> Option<Instant> {
    let due = start + p.scheduled_start(i)?;
    N::sleep_until(due).await;
    Some(due)
}

// ---------------------------------------------------------------------------------------------
// Plumbing.
// ---------------------------------------------------------------------------------------------

/// The scatter runner: `R` is started and the connections are opened now, on it, and every
/// repetition runs `rounds` on them as one task of the same runtime.
///
/// The connections travel into each repetition's task and back. A failed repetition loses
/// them, and their state is unknown anyway (a late reply may still arrive), so every later
/// repetition fails with the same error rather than reading a stale reply.
fn scatter_cell<R: Runtime, F, Fut>(cell: &Cell, mut rounds: F) -> Result<Runner, Failure>
where
    R::Spawner: Net,
    F: FnMut(R::Spawner, Scatter, SocketAddr, Conns<R::Spawner>) -> Fut + 'static,
    Fut: Future<Output = Result<(Conns<R::Spawner>, Outcome), Failure>> + Send + 'static,
{
    let (Task::Scatter(p), addr) = (cell.task, cell.server()?) else {
        return Err(cell.unsupported());
    };
    let runtime = R::start(cell.workers)?;
    let s = runtime.spawner();
    let connects = connect_all::<R::Spawner>(addr, p.conns, timeout(p.timeout_ms));
    let conns = runtime.run(connects)?;
    let mut conns = Some(conns);
    let mut broken: Option<Failure> = None;
    runner(move |_| {
        let Some(taken) = conns.take() else {
            let failure = broken
                .clone()
                .unwrap_or_else(|| Failure::new("no connections"));
            return Err(Failure::context("an earlier repetition failed", failure));
        };
        match runtime.run(rounds(s, p, addr, taken)) {
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

/// Opens `count` connections to `addr`, at most [`CONNECTS_IN_FLIGHT`] at a time, as futures
/// of one task; the first failure cancels the connects still in flight.
async fn connect_all<N: Net>(
    addr: SocketAddr,
    count: usize,
    timeout: Duration,
) -> Result<Conns<N>, Failure> {
    stream::iter(0..count)
        .map(|index| async move {
            let stream = N::connect(addr, timeout).await.map_err(|e| {
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
