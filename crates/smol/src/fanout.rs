//! Fan-out on smol: async-net sockets on async-io's reactor, as tasks on N threads or as
//! futures in one task.
//!
//! This is the work async was made for. A blocking client needs a thread per request in
//! flight: a stack, a spawn, and a wake-up per reply. An async client registers its sockets
//! with async-io's reactor (epoll here); a request is a future that writes, suspends until the
//! reactor reports its socket readable, and is polled again by whichever executor thread picks
//! it up. Ten thousand idle connections cost memory and nothing else.
//!
//! Every request is [`call`]: write the 16-byte request, read the 4-byte header, read the
//! payload, digest it. It is the suite's `call_blocking` written with futures-lite's
//! `AsyncWriteExt` and `AsyncReadExt` (`smol::io`), each step an `.await`. Every connection has
//! `TCP_NODELAY` set. Every error becomes a `Failure` that names the request (or the round) and
//! the server; nothing panics and nothing waits forever.
//!
//! # Timeouts
//!
//! Every request is bounded by the task's `timeout_ms`, so a silent server fails the cell
//! instead of hanging it. Async IO has no socket timeout, and a future that is never woken
//! simply waits, so the IO is raced against an [`async_io::Timer`] with [`FutureExt::or`]: the
//! first to finish wins and the other is dropped, and dropping an IO future cancels it. An
//! async-io timer is registered when it is first polled: an insert pushed onto the reactor's
//! queue of timer operations (it holds 1 000), and a notification that wakes the thread waiting
//! on epoll so that it sees the new deadline; dropping the timer pushes a remove. So the form
//! follows what the task shares:
//!
//! - Scatter: one deadline per round, the round's start plus `timeout_ms`, and one
//!   [`Timer::at`] raced against the whole round (see `within_round`). Every request of the
//!   round was sent at or after that start, so none may take longer than `timeout_ms`; a round
//!   that takes longer fails, and dropping the round's future cancels the calls still waiting.
//!   That is one timer per round, where a timer around every call would push K inserts and K
//!   removes per round and wake the reactor K times; past 1 000 operations the queue is full,
//!   and the thread inserting a timer drains it into the timer map under the reactor's lock.
//!   tokio has the same one deadline per round; the threads backend gets the same cheapness
//!   from `SO_RCVTIMEO`, set once per socket.
//! - Crawl: each request is its own connection with its own start, so each gets its own
//!   timers, one raced against the connect and one against the call (see [`within`]), as the
//!   task's parameters say (each bounded by `timeout_ms`).
//!
//! # The variants
//!
//! - `spawn`, scatter: setup opens the K connections concurrently, at most
//!   [`CONNECTS_IN_FLIGHT`] connects at once. Each round spawns one task per connection on the
//!   runtime's N threads: concurrency and parallelism. A spawned task is `'static` and cannot
//!   borrow its connection, so the connection moves into the task and comes back with the
//!   reply's digest. The round awaits the tasks' handles in order; on the first failure, or at
//!   the round's deadline, the handles not yet awaited are dropped, and dropping a smol `Task`
//!   cancels it.
//! - `join-all`, scatter: the K calls of a round are futures in one task, driven together by
//!   [`futures::future::try_join_all`] (futures-lite has no n-ary join). Past 30 futures it
//!   keeps them in a `FuturesOrdered` (a `FuturesUnordered` that keeps the results in order),
//!   which gives each future its own waker and polls only the ones whose sockets woke; a join
//!   that polled every branch on every wake-up would cost O(K) per reply. The futures borrow
//!   their connections (`&mut`), so nothing is `'static`, nothing is spawned and nothing moves.
//!   This is concurrency without parallelism: all K requests are in flight at once, but one
//!   thread at a time polls them all, the shape of a single-threaded event loop (Python's
//!   `asyncio.gather`). The first failure, or the round's deadline, drops the other futures,
//!   which cancels them.
//! - `spawn`, crawl: one task paces the requests. It waits for a request's scheduled time (open
//!   loop), takes a permit from an [`async_lock::Semaphore`] of C permits (waiting while C
//!   requests are in flight), and spawns a task that connects, calls, and drops the permit.
//!   `acquire_arc` gives an owned guard, which is what lets the permit move into a `'static`
//!   task. The handles go into a [`FuturesUnordered`], and after each permit the pacing task
//!   collects the requests that have finished, in any order, without waiting for the others
//!   (`now_or_never` polls the set once with a waker that does nothing, so a finishing request
//!   never wakes the pacing task for it). The set holds about C handles, not N, and the first
//!   failure it sees ends the crawl: the set is dropped, which cancels the requests still in
//!   flight. async-lock's semaphore cannot be closed, so a failed request also raises a flag,
//!   and the pacing loop starts nothing more once it sees it.
//!
//! # Measurements
//!
//! Scatter records one latency per round: from the round's start, before the first task is
//! spawned or the first call polled, until the caller has seen all K replies: the await of the
//! round's last handle in `spawn`, the return of `try_join_all` in `join-all`. tokio and the
//! threads backend end a round at the same point. Crawl records one latency per request. With
//! `rate > 0` (open loop), request `i` waits on [`async_io::Timer::at`] until
//! `Crawl::scheduled_start(i)` after the run's start, and its latency counts from then. A
//! client that falls behind its schedule is charged for it (no coordinated omission).
//! async-io's timers have no tick: a timer fires when the reactor next wakes at or after its
//! deadline.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_executor::{StaticExecutor, Task};
use async_io::Timer;
use async_lock::Semaphore;
use async_net::TcpStream;
use futures::future::{FutureExt as _, try_join_all};
use futures::stream::{self, FuturesUnordered, StreamExt, TryStreamExt};
use futures_lite::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, FutureExt};
use shootout_suite::fanout::{REPLY_HEADER_LEN, Request, digest, reply_len};
use shootout_suite::task::{Crawl, Scatter};
use shootout_suite::{Answer, Failure, Outcome, Runner, Tally, runner};

use crate::runtime::{Runtime, run_task, runtime};

/// How many connects a scatter's setup keeps in flight at once.
///
/// Setup is not timed, but ten thousand connects at once would overflow the server's accept
/// backlog (the kernel caps it at `net.core.somaxconn`), and a dropped SYN is retried only
/// after a second. A few hundred at a time keep the backlog short and the setup fast.
pub const CONNECTS_IN_FLIGHT: usize = 256;

// ---------------------------------------------------------------------------------------------
// The client: one request and its reply, as async IO.
// ---------------------------------------------------------------------------------------------

/// One request and its reply on an async stream; returns the reply's digest.
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
    Ok(digest(request.id, payload))
}

/// Opens a connection with no Nagle delay, giving up after `timeout`.
pub async fn connect(addr: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
    let stream = within(timeout, TcpStream::connect(addr)).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// `io`, bounded by `timeout`: raced against a timer, and when the timer wins, `io` is dropped
/// (cancelled) and the result is an error of kind `TimedOut`.
pub async fn within<T>(
    timeout: Duration,
    io: impl Future<Output = io::Result<T>>,
) -> io::Result<T> {
    io.or(async {
        Timer::after(timeout).await;
        Err(io::ErrorKind::TimedOut.into())
    })
    .await
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
/// `calls` is raced against one [`Timer::at`] the deadline. When the timer wins, `calls` is
/// dropped, which cancels every call still in flight, and the round fails with a timeout. One
/// timer for the whole round.
async fn within_round<T>(
    p: Scatter,
    round: u32,
    addr: SocketAddr,
    start: Instant,
    calls: impl Future<Output = Result<T, Failure>>,
) -> Result<T, Failure> {
    let deadline = start + timeout(p.timeout_ms);
    calls
        .or(async {
            Timer::at(deadline).await;
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

/// `spawn` scatter: K connections on an N-thread runtime; each round, a task per connection.
pub fn scatter_spawn(p: Scatter, addr: SocketAddr, workers: usize) -> Result<Runner, Failure> {
    let runtime = runtime(workers)?;
    let ex = runtime.executor();
    scatter_runner(p, addr, runtime, move |p, addr, conns| {
        rounds_spawn(ex, p, addr, conns)
    })
}

/// `join-all` scatter: K connections on an N-thread runtime; each round, K futures in one task.
pub fn scatter_join_all(p: Scatter, addr: SocketAddr, workers: usize) -> Result<Runner, Failure> {
    scatter_runner(p, addr, runtime(workers)?, rounds_join_all)
}

/// The rounds of one repetition, a task per call on `ex`: each task owns its connection while
/// the call runs and hands it back with the digest.
async fn rounds_spawn(
    ex: &'static StaticExecutor,
    p: Scatter,
    addr: SocketAddr,
    mut conns: Vec<Conn>,
) -> Result<(Vec<Conn>, Outcome), Failure> {
    let mut report = Report::default();
    for round in 0..p.rounds {
        let start = Instant::now();
        let calls: Vec<Task<(Conn, Result<u64, Failure>)>> = conns
            .drain(..)
            .map(|mut conn| {
                ex.spawn(async move {
                    let digest = conn.call(p, round, addr).await;
                    (conn, digest)
                })
            })
            .collect();
        let all_replies = async {
            for call in calls {
                let (conn, digest) = call.await;
                report.tally.add(digest?);
                conns.push(conn);
            }
            Ok::<(), Failure>(())
        };
        // On a failure or at the deadline, the handles not yet awaited are dropped, which
        // cancels their tasks.
        within_round(p, round, addr, start, all_replies).await?;
        report.latencies_ns.push(nanos(start.elapsed()));
    }
    Ok((conns, report.into_outcome()))
}

/// The rounds of one repetition, all calls of a round as futures of this one task.
async fn rounds_join_all(
    p: Scatter,
    addr: SocketAddr,
    mut conns: Vec<Conn>,
) -> Result<(Vec<Conn>, Outcome), Failure> {
    let mut report = Report::default();
    for round in 0..p.rounds {
        let start = Instant::now();
        let calls = conns.iter_mut().map(|conn| conn.call(p, round, addr));
        // The first failure, or the deadline, returns at once, dropping (cancelling) the other
        // calls.
        for digest in within_round(p, round, addr, start, try_join_all(calls)).await? {
            report.tally.add(digest);
        }
        report.latencies_ns.push(nanos(start.elapsed()));
    }
    Ok((conns, report.into_outcome()))
}

// ---------------------------------------------------------------------------------------------
// crawl: N requests on fresh connections, at most C in flight.
// ---------------------------------------------------------------------------------------------

/// `spawn` crawl: on an N-thread runtime, a task per request, at most C holding a permit.
pub fn crawl_spawn(p: Crawl, addr: SocketAddr, workers: usize) -> Result<Runner, Failure> {
    let runtime = runtime(workers)?;
    let ex = runtime.executor();
    runner(move |_| run_task(&runtime, crawl_tasks(ex, p, addr)))
}

/// One repetition of a crawl: this task paces the requests (the schedule in open loop, a free
/// permit always) and spawns a task for each on `ex`.
async fn crawl_tasks(
    ex: &'static StaticExecutor,
    p: Crawl,
    addr: SocketAddr,
) -> Result<Outcome, Failure> {
    let permits = Arc::new(Semaphore::new(p.concurrency.max(1)));
    let failed = Arc::new(AtomicBool::new(false));
    let mut requests: FuturesUnordered<Task<Result<(u64, u64), Failure>>> = FuturesUnordered::new();
    let mut report = Report::default();
    let start = Instant::now();
    for i in 0..p.requests {
        let due = wait_until_due(&p, i, start).await;
        // Waits while C requests are in flight.
        let permit = permits.acquire_arc().await;
        if failed.load(Ordering::Relaxed) {
            break; // Start nothing more once a request has failed.
        }
        // Collect the requests that have finished, without waiting for the others, so that the
        // set holds about C handles and a failure ends the crawl as soon as it is seen.
        while let Some(Some(done)) = requests.next().now_or_never() {
            report.record(done?);
        }
        let began = due.unwrap_or_else(Instant::now);
        let failed = Arc::clone(&failed);
        requests.push(ex.spawn(async move {
            let result = fetch(addr, p.request(i), timeout(p.timeout_ms)).await;
            if result.is_err() {
                failed.store(true, Ordering::Relaxed);
            }
            drop(permit); // Only now may the next request start.
            result.map(|digest| (digest, nanos(began.elapsed())))
        }));
    }
    // On a failure, `?` drops `requests`, which cancels the requests still in flight.
    while let Some(done) = requests.next().await {
        report.record(done?);
    }
    Ok(report.into_outcome())
}

/// One crawl request: a fresh connection, one call, closed on return.
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
async fn wait_until_due(p: &Crawl, i: u64, start: Instant) -> Option<Instant> {
    let due = start + p.scheduled_start(i)?;
    Timer::at(due).await;
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
fn scatter_runner<F, Fut>(
    p: Scatter,
    addr: SocketAddr,
    runtime: Runtime,
    mut rounds: F,
) -> Result<Runner, Failure>
where
    F: FnMut(Scatter, SocketAddr, Vec<Conn>) -> Fut + 'static,
    Fut: Future<Output = Result<(Vec<Conn>, Outcome), Failure>> + Send + 'static,
{
    let conns = run_task(&runtime, connect_all(addr, p.conns, timeout(p.timeout_ms)))?;
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

/// Opens `count` connections to `addr`, at most [`CONNECTS_IN_FLIGHT`] at a time, as futures
/// of one task; the first failure cancels the connects still in flight.
async fn connect_all(
    addr: SocketAddr,
    count: usize,
    timeout: Duration,
) -> Result<Vec<Conn>, Failure> {
    stream::iter(0..count)
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

/// What a repetition collects: the tally of reply digests and the latencies it measured.
#[derive(Debug, Default)]
struct Report {
    tally: Tally,
    latencies_ns: Vec<u64>,
}

impl Report {
    /// Records one crawl reply: its digest and its latency.
    fn record(&mut self, (digest, latency_ns): (u64, u64)) {
        self.tally.add(digest);
        self.latencies_ns.push(latency_ns);
    }

    fn into_outcome(self) -> Outcome {
        Outcome::with_latencies(Answer::Tally(self.tally), self.latencies_ns)
    }
}

/// The failure for an IO error while doing `what`, a timeout said as such.
fn io_failure(what: String, err: io::Error, timeout: Duration) -> Failure {
    match err.kind() {
        io::ErrorKind::TimedOut => Failure::new(format!(
            "{what}: timed out after {} ms",
            timeout.as_millis()
        )),
        _ => Failure::context(&what, err),
    }
}

fn timeout(ms: u32) -> Duration {
    Duration::from_millis(u64::from(ms.max(1)))
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
