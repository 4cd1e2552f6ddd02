//! Fan-out on OS threads with blocking `std::net`: a thread per connection, or a bounded pool.
//!
//! Sometimes the simplest client is the right one: a blocking socket in a thread, reading as if
//! nothing else existed, with the kernel doing the multiplexing. Every call here is the suite's
//! [`call_blocking`] on a stream from [`connect_blocking`], which bounds every connect, read and
//! write by the task's `timeout_ms`, so a silent server fails a request instead of hanging it.
//! The price is a whole thread per request in flight: a stack, a spawn, and a wake-up per reply.
//!
//! # The variants
//!
//! - `thread-per-conn`, scatter: setup opens K connections and K long-lived threads (64 KiB
//!   stacks), one per connection, parked between rounds. Each round wakes all K, each sends its
//!   request and blocks on its reply. K threads, whatever `workers` says.
//! - `thread-per-conn`, crawl: a new thread per request, each with its own connection; a
//!   counting semaphore keeps at most C in flight. std has no semaphore, so this is the one
//!   everybody writes, [`Semaphore`]: a count under a `Mutex` and
//!   a `Condvar` to wait for a permit.
//! - `pool`, scatter: N = `workers` threads share each round's K calls, so only N requests are
//!   ever in flight and a round takes about K / N server delays. That is the honest cost of a
//!   small blocking pool used for IO (Python's `ThreadPoolExecutor` makes the same trade), and
//!   why a blocking pool is sized for the IO, not for the cores.
//! - `pipelined`, scatter: N = `workers` long-lived threads, each owning a share of the K
//!   connections, writing every request of its share before it reads any reply: many requests
//!   in flight per thread without a thread per request – the processes' `pipelined`, on
//!   threads.
//! - `pool`, crawl: C long-lived threads, the pool's size being the in-flight limit; each claims
//!   the next request id from an atomic counter until none are left.
//!
//! The long-lived threads are a `Crew`: each thread waits for its round on a channel of its
//! own, so starting a round is one wake-up per thread (as the processes backend starts its
//! threads), and every thread reports every round, success or failure, on one shared channel,
//! so the caller never waits for a thread that gave up, and a failure stops the others from
//! claiming more work. A `Barrier` would also start and end rounds, but a party that never
//! arrives holds everyone forever; this is the version that cannot deadlock.
//!
//! # Measurements
//!
//! Scatter records one latency per round, from the round's start until the caller has seen all
//! K replies: the owner stamps the time when its wait for the round returns, after the last
//! thread has reported and the owner has woken, as every backend defines it. Crawl records one
//! per request; with `rate > 0` (open loop) request `i` is due at
//! `Crawl::scheduled_start(i)` after the run's start and its latency counts from then, so a
//! client that falls behind its schedule is charged for it (no coordinated omission).

use std::net::{SocketAddr, TcpStream};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use shootout_suite::fanout::{
    Report, call_blocking, connect_blocking, fetch_blocking, io_failure, pipelined_calls, split,
    timeout,
};
use shootout_suite::task::{Crawl, Scatter};
use shootout_suite::time::nanos_since;
use shootout_suite::{Answer, Cell, Failure, Outcome, Runner, Tally, runner};

use crate::plumbing::lock;
use crate::semaphore::Semaphore;

/// The stack of every IO thread: it holds a socket, a reply buffer on the heap and a few frames.
///
/// The default 2 MiB is only address space until touched, but 10 000 of them still cost page
/// tables and mapping time; a small stack is what a thread-per-connection server sets.
pub const IO_STACK: usize = 64 * 1024;

// ---------------------------------------------------------------------------------------------
// scatter: K requests per round on K open connections.
// ---------------------------------------------------------------------------------------------

/// `thread-per-conn` scatter: K connections and K long-lived threads, one per connection.
pub fn scatter_thread_per_conn(cell: &Cell) -> Result<Runner, Failure> {
    let (p, addr) = (cell.params::<Scatter>()?, cell.server()?);
    let timeout = timeout(p.timeout_ms);
    let streams = connect_all(addr, p.conns, timeout)?;
    let threads = streams.into_iter().enumerate().map(|(conn, mut stream)| {
        let mut payload = Vec::new();
        // This thread's whole job, once per round: one request, one blocking read.
        move |round: Round<'_>| {
            let digest = call_blocking(&mut stream, p.request(round.index, conn), &mut payload)
                .map_err(|e| {
                    let what = format!(
                        "scatter round {} on connection {conn} to {addr}",
                        round.index
                    );
                    io_failure(what, e, timeout)
                })?;
            let mut report = Report::default();
            report.tally.add(digest);
            Ok(report)
        }
    });
    let crew = Crew::spawn("scatter-conn", threads)?;
    scatter_runner(p, crew)
}

/// `pool` scatter: K connections shared by N threads, each claiming the next connection to call.
pub fn scatter_pool(cell: &Cell) -> Result<Runner, Failure> {
    let (p, addr, workers) = (cell.params::<Scatter>()?, cell.server()?, cell.workers);
    // A connection is claimed by one thread per round; the Mutex is how safe Rust lends it.
    let timeout = timeout(p.timeout_ms);
    let conns: Arc<[Mutex<TcpStream>]> = connect_all(addr, p.conns, timeout)?
        .into_iter()
        .map(Mutex::new)
        .collect();
    let threads = (0..workers).map(|_| {
        let conns = Arc::clone(&conns);
        let mut payload = Vec::new();
        move |round: Round<'_>| {
            let mut report = Report::default();
            while let Some(conn) = round.claim(conns.len() as u64) {
                let conn = conn as usize;
                let mut stream = lock(&conns[conn]);
                match call_blocking(&mut *stream, p.request(round.index, conn), &mut payload) {
                    Ok(digest) => report.tally.add(digest),
                    Err(e) => {
                        round.abandon();
                        let what = format!(
                            "scatter round {} on connection {conn} to {addr}",
                            round.index
                        );
                        return Err(io_failure(what, e, timeout));
                    }
                }
            }
            Ok(report)
        }
    });
    let crew = Crew::spawn("scatter-pool", threads)?;
    scatter_runner(p, crew)
}

/// `pipelined` scatter: N = `workers` long-lived threads, each owning a contiguous share of the
/// K connections; each round a thread writes every request of its share, then reads every
/// reply in order ([`pipelined_calls`]), as the processes' `pipelined` does in N processes.
pub fn scatter_pipelined(cell: &Cell) -> Result<Runner, Failure> {
    let (p, addr) = (cell.params::<Scatter>()?, cell.server()?);
    // No thread without connections of its own (as the processes' `pipelined` starts at most K).
    let workers = cell.workers.min(p.conns).max(1);
    let timeout = timeout(p.timeout_ms);
    let mut streams = connect_all(addr, p.conns, timeout)?;
    let bounds = split(p.conns, workers);
    // Cut from the back, so each share's first connection number is its bound.
    let mut shares: Vec<(usize, Vec<TcpStream>)> = (0..workers)
        .rev()
        .map(|w| (bounds[w], streams.split_off(bounds[w])))
        .collect();
    shares.reverse();
    let threads = shares.into_iter().map(|(first, mut streams)| {
        let mut payload = Vec::new();
        move |round: Round<'_>| {
            let request_of = |i: usize| p.request(round.index, first + i);
            let digests =
                pipelined_calls(&mut streams, request_of, &mut payload).map_err(|(i, e)| {
                    let conn = first + i;
                    let what = format!(
                        "scatter round {} on connection {conn} to {addr}",
                        round.index
                    );
                    io_failure(what, e, timeout)
                })?;
            let mut report = Report::default();
            digests
                .into_iter()
                .for_each(|digest| report.tally.add(digest));
            Ok(report)
        }
    });
    let crew = Crew::spawn("scatter-pipelined", threads)?;
    scatter_runner(p, crew)
}

// ---------------------------------------------------------------------------------------------
// crawl: N requests on fresh connections, at most C in flight.
// ---------------------------------------------------------------------------------------------

/// `thread-per-conn` crawl: a new scoped thread per request, at most C alive, held to that by a
/// counting semaphore; up to C threads plus the one that spawns them.
pub fn crawl_thread_per_conn(cell: &Cell) -> Result<Runner, Failure> {
    let (p, addr) = (cell.params::<Crawl>()?, cell.server()?);
    runner(move |_| crawl_spawning(p, addr))
}

/// One repetition of `thread-per-conn` crawl: this thread paces the requests (the schedule in
/// open loop, a free permit in closed loop) and spawns one scoped thread for each.
fn crawl_spawning(p: Crawl, addr: SocketAddr) -> Result<Outcome, Failure> {
    let permits = Semaphore::new(p.concurrency);
    let results = Mutex::new((Report::default(), None::<Failure>));
    let failed = AtomicBool::new(false);
    let start = Instant::now();
    thread::scope(|s| {
        for i in 0..p.requests {
            let due = wait_until_due(&p, i, start);
            let permit = permits.acquire();
            if failed.load(Ordering::Relaxed) {
                break; // Start nothing new once a request has failed.
            }
            let began = due.unwrap_or_else(Instant::now);
            let (results, failed) = (&results, &failed);
            let spawned = thread::Builder::new()
                .stack_size(IO_STACK)
                .spawn_scoped(s, move || {
                    // This thread's own report, merged into the run's once it is complete.
                    let timeout = timeout(p.timeout_ms);
                    let result = fetch_blocking(addr, p.request(i), timeout, &mut Vec::new()).map(
                        |digest| {
                            let mut mine = Report::default();
                            mine.record(digest, began.elapsed());
                            mine
                        },
                    );
                    let mut results = lock(results);
                    match result {
                        Ok(mine) => results.0.merge(mine),
                        Err(failure) => {
                            failed.store(true, Ordering::Relaxed);
                            results.1.get_or_insert(failure);
                        }
                    }
                    drop(results);
                    drop(permit); // Only now may the next request start.
                });
            if let Err(e) = spawned {
                failed.store(true, Ordering::Relaxed);
                lock(results).1.get_or_insert(Failure::context(
                    &format!("spawning the thread of crawl request {i}"),
                    e,
                ));
                break;
            }
        }
    });
    let (report, failure) = results.into_inner().unwrap_or_else(|e| e.into_inner());
    match failure {
        Some(failure) => Err(failure),
        None => Ok(report.into_outcome()),
    }
}

/// `pool` crawl: C long-lived threads, each claiming the next request id until none are left.
pub fn crawl_pool(cell: &Cell) -> Result<Runner, Failure> {
    let (p, addr) = (cell.params::<Crawl>()?, cell.server()?);
    let threads = (0..p.concurrency).map(|_| {
        let mut payload = Vec::new();
        move |round: Round<'_>| {
            let mut report = Report::default();
            while let Some(i) = round.claim(p.requests) {
                let began = wait_until_due(&p, i, round.start).unwrap_or_else(Instant::now);
                match fetch_blocking(addr, p.request(i), timeout(p.timeout_ms), &mut payload) {
                    Ok(digest) => report.record(digest, began.elapsed()),
                    Err(failure) => {
                        round.abandon();
                        return Err(failure);
                    }
                }
            }
            Ok(report)
        }
    });
    let mut crew = Crew::spawn("crawl-pool", threads)?;
    runner(move |_| Ok(crew.round(0)?.into_outcome()))
}

/// In open loop, sleeps until request `i` is due and returns when that was; in closed loop
/// returns `None` at once.
fn wait_until_due(p: &Crawl, i: u64, start: Instant) -> Option<Instant> {
    let due = start + p.scheduled_start(i)?;
    thread::sleep(due.saturating_duration_since(Instant::now()));
    Some(due)
}

// ---------------------------------------------------------------------------------------------
// The crew: long-lived threads that run one round of work whenever the owner asks.
// ---------------------------------------------------------------------------------------------

/// Long-lived threads that run a job each round: each started by a message on its own
/// channel, every result back on one shared channel.
///
/// What Python's `ThreadPoolExecutor` gives and std leaves to you. A round is one send per
/// thread – one wake-up each, as the processes backend starts its threads, rather than one
/// `notify_all` that every thread then queues on the same mutex to leave – and as many
/// receives as there are threads. A job that fails or panics still reports, so a round always
/// ends; the round's claim counter lets pool threads share its work and stop claiming after a
/// failure. Dropping the crew closes the start channels, and the threads end.
struct Crew {
    starts: Vec<mpsc::Sender<(u32, Instant)>>,
    reports: mpsc::Receiver<Result<Report, Failure>>,
    /// The round's claim counter, reset before each round (the start messages publish it).
    next: Arc<AtomicU64>,
    threads: Vec<JoinHandle<()>>,
}

/// What one round gives a job: its number, when it started, and the shared claim counter.
#[derive(Clone, Copy)]
struct Round<'a> {
    index: u32,
    start: Instant,
    next: &'a AtomicU64,
}

impl Round<'_> {
    /// The next unclaimed item of this round, if any of `0..count` is left.
    fn claim(&self, count: u64) -> Option<u64> {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        (i < count).then_some(i)
    }

    /// Stops every thread of the round from claiming more (after a failure).
    fn abandon(&self) {
        self.next.store(u64::MAX / 2, Ordering::Relaxed);
    }
}

impl Crew {
    /// Starts one named thread per job.
    fn spawn<J>(name: &str, jobs: impl IntoIterator<Item = J>) -> Result<Crew, Failure>
    where
        J: FnMut(Round<'_>) -> Result<Report, Failure> + Send + 'static,
    {
        let (report_tx, reports) = mpsc::channel();
        // Built up one thread at a time, so that a failed spawn drops (stops and joins) the rest.
        let mut crew = Crew {
            starts: Vec::new(),
            reports,
            next: Arc::new(AtomicU64::new(0)),
            threads: Vec::new(),
        };
        for (i, job) in jobs.into_iter().enumerate() {
            let (start_tx, start_rx) = mpsc::channel();
            let (report_tx, next) = (report_tx.clone(), Arc::clone(&crew.next));
            let thread = thread::Builder::new()
                .name(format!("{name}-{i}"))
                .stack_size(IO_STACK)
                .spawn(move || serve(&start_rx, &report_tx, &next, job))
                .map_err(|e| Failure::context(&format!("spawning thread {i} of {name}"), e))?;
            crew.starts.push(start_tx);
            crew.threads.push(thread);
        }
        Ok(crew)
    }

    /// Runs round `index` on every thread and waits for all of them; returns the merged reports,
    /// or the first failure.
    fn round(&mut self, index: u32) -> Result<Report, Failure> {
        self.next.store(0, Ordering::Relaxed);
        let start = Instant::now();
        let (mut report, mut failure) = (Report::default(), None);
        let mut started = 0;
        for start_tx in &self.starts {
            if start_tx.send((index, start)).is_err() {
                // Only a thread that died outside its job does that; the ones started still
                // report this round, and are waited for, so no later round reads their reports.
                failure = Some(Failure::new("a fan-out thread is gone"));
                break;
            }
            started += 1;
        }
        for _ in 0..started {
            match self.reports.recv() {
                Ok(Ok(one)) => report.merge(one),
                Ok(Err(e)) => {
                    failure.get_or_insert(e);
                }
                Err(_) => return Err(Failure::new("a fan-out thread is gone")),
            }
        }
        failure.map_or(Ok(report), Err)
    }
}

/// A crew thread's life: wait for a round on its own channel, run the job, report, until the
/// crew closes the channel.
fn serve(
    starts: &mpsc::Receiver<(u32, Instant)>,
    reports: &mpsc::Sender<Result<Report, Failure>>,
    next: &AtomicU64,
    mut job: impl FnMut(Round<'_>) -> Result<Report, Failure>,
) {
    for (index, start) in starts {
        let round = Round { index, start, next };
        // A panicking job must still report, or the owner would wait for it forever.
        let result = panic::catch_unwind(AssertUnwindSafe(|| job(round)))
            .unwrap_or_else(|_| Err(Failure::new("a fan-out thread panicked")));
        if reports.send(result).is_err() {
            return;
        }
    }
}

impl Drop for Crew {
    fn drop(&mut self) {
        self.starts.clear();
        for thread in self.threads.drain(..) {
            // A thread finishes its current call (bounded by the timeout) and exits.
            let _ = thread.join();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Plumbing.
// ---------------------------------------------------------------------------------------------

/// The scatter runner: `rounds` rounds on the crew, one latency per round.
///
/// After a failure the connections are in an unknown state (a late reply may still arrive), so
/// every later repetition fails with the same error rather than reading a stale reply.
fn scatter_runner(p: Scatter, mut crew: Crew) -> Result<Runner, Failure> {
    let mut broken: Option<Failure> = None;
    runner(move |_| {
        if let Some(failure) = &broken {
            return Err(Failure::context("an earlier repetition failed", failure));
        }
        timed_rounds(p.rounds, |index| crew.round(index)).inspect_err(|failure| {
            broken = Some(failure.clone());
        })
    })
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

/// Opens `count` connections to `addr`, one after the other (setup time is not measured).
fn connect_all(
    addr: SocketAddr,
    count: usize,
    timeout: Duration,
) -> Result<Vec<TcpStream>, Failure> {
    (0..count)
        .map(|i| {
            connect_blocking(addr, timeout).map_err(|e| {
                io_failure(
                    format!("opening connection {i} of {count} to {addr}"),
                    e,
                    timeout,
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A report of one reply, whose digest is `value`.
    fn reply(value: u64) -> Report {
        let mut report = Report::default();
        report.tally.add(value);
        report
    }

    #[test]
    fn a_round_lasts_until_the_caller_has_every_reply() {
        // Every reply is in, but the caller sees them only 20 ms later: that is part of the round.
        let late = Duration::from_millis(20);
        let outcome = timed_rounds(3, |index| {
            thread::sleep(late);
            Ok(reply(u64::from(index)))
        })
        .unwrap();
        assert_eq!(outcome.latencies_ns.len(), 3);
        assert!(
            outcome
                .latencies_ns
                .iter()
                .all(|&ns| ns >= shootout_suite::time::nanos(late)),
            "{:?}",
            outcome.latencies_ns
        );
        let mut expected = Tally::new();
        (0..3).for_each(|value| expected.add(value));
        assert_eq!(outcome.answer, Answer::Tally(expected));
    }

    #[test]
    fn timed_rounds_stop_at_the_first_failure() {
        let mut calls = 0;
        let result = timed_rounds(5, |index| {
            calls += 1;
            if index == 1 {
                Err(Failure::new("round 1 failed"))
            } else {
                Ok(reply(0))
            }
        });
        assert_eq!(result.unwrap_err(), Failure::new("round 1 failed"));
        assert_eq!(calls, 2);
    }

    #[test]
    fn a_crew_round_waits_for_its_slowest_thread() {
        // Thread `i` takes `i` × 10 ms: the round, timed by its caller, takes the longest.
        let jobs = (0..4u64).map(|i| {
            move |round: Round<'_>| {
                thread::sleep(Duration::from_millis(10 * i));
                Ok(reply(u64::from(round.index) * 4 + i))
            }
        });
        let mut crew = Crew::spawn("test-crew", jobs).unwrap();
        let outcome = timed_rounds(2, |index| crew.round(index)).unwrap();
        assert!(
            outcome.latencies_ns.iter().all(|&ns| ns >= 30_000_000),
            "{:?}",
            outcome.latencies_ns
        );
        let mut expected = Tally::new();
        (0..8).for_each(|value| expected.add(value));
        assert_eq!(outcome.answer, Answer::Tally(expected));
    }
}
