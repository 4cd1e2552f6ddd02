//! Fan-out on worker processes: each process owns its share of the connections and does
//! blocking IO on them; the parent only starts the work and adds up the reports.
//!
//! A process pool is how blocking network code scales past one interpreter in Python (and how
//! pre-fork servers like Apache's and Gunicorn's sync workers are built): every process runs
//! plain blocking calls, and the kernel multiplexes the processes. Here N = `workers` processes
//! split the connections; every call is the suite's codec over a stream from
//! [`connect_blocking`], whose timeouts bound every connect, read and write by `timeout_ms`, so
//! a silent server fails a request instead of hanging it.
//!
//! # The variants
//!
//! - `pipelined`: one thread per process, so a process keeps many requests in flight only by
//!   writing before it reads. Scatter: the process writes its share's K / N requests, then reads
//!   the K / N replies in order (those that arrive early wait in the kernel). Crawl: a sliding
//!   window of at most C / N fresh connections; when it is full, the oldest reply is read, and
//!   the end of stream the server sends after it.
//! - `threads`: a thread per connection inside each process. Scatter: K / N long-lived threads
//!   per process, one per connection, each woken by a channel message per round. Crawl: C / N
//!   threads per process, each opening one connection at a time, claiming the process's next
//!   request from an atomic counter.
//!
//! Scatter connects in setup (the processes open their K / N connections before saying they are
//! ready) and runs `min(N, K)` processes. Crawl runs `min(N, C)` processes and splits the
//! in-flight limit C between them: request `i` belongs to lane `i mod C`, and each process owns
//! C / N consecutive lanes, so each has as many requests as it has in-flight slots and, in open
//! loop, its requests are evenly spread over the schedule.
//!
//! # Measurements across processes
//!
//! Scatter records one latency per round, measured by the parent from the moment it tells the
//! processes to start the round until the last one reports. Crawl records one per request,
//! measured in the process that made it, against a start time the parent sends: an
//! [`Instant`] cannot cross a process boundary, but `CLOCK_MONOTONIC` is one clock for the whole
//! machine, so the parent sends its raw reading and the processes compare theirs with it. In open
//! loop (`rate > 0`) request `i` is due `Crawl::scheduled_start(i)` after that start and its
//! latency counts from then. A `pipelined` process cannot wait for a reply and a due time at once:
//! while the next request is not yet due it reads its oldest reply, and if that reply is slow,
//! the next request starts late and is charged for it.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::OwnedFd;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::Instant;

use shootout_suite::fanout::{
    Report, Request, call_blocking, connect_blocking, fetch_blocking, io_failure, pipelined_calls,
    read_reply_blocking, split, timeout,
};
use shootout_suite::task::{Crawl, Scatter};
use shootout_suite::time::nanos;
use shootout_suite::{Cell, Failure, Runner, Tally, Task, TaskId, runner};

use crate::clock::{monotonic_ns, since, sleep_until};
use crate::frame::{Dec, Enc, Link, ok};
use crate::pool::{LinkKind, Pool, Spec};
use crate::role::{Part, Role};

/// The stack of every IO thread: it holds a socket, a reply buffer on the heap and a few frames.
pub const IO_STACK: usize = 64 * 1024;

/// The worker's side of each variant: what a worker runs, found from its role.
pub(crate) const PARTS: &[Part] = &[
    Part {
        tasks: &[TaskId::Scatter],
        variants: &["pipelined", "threads"],
        serve: serve_scatter,
    },
    Part {
        tasks: &[TaskId::Crawl],
        variants: &["pipelined", "threads"],
        serve: serve_crawl,
    },
];

// ---------------------------------------------------------------------------------------------
// scatter: K requests per round on K open connections.
// ---------------------------------------------------------------------------------------------

/// Both variants' parent side: `min(N, K)` scatter processes or `min(N, C)` crawl processes,
/// each taking its share of the connections and its mode from its role – one thread writing
/// before it reads (`pipelined`), or a thread per connection or in-flight slot (`threads`).
pub fn setup(cell: &Cell) -> Result<Runner, Failure> {
    cell.server()?;
    match cell.task {
        Task::Scatter(p) => scatter(p, cell),
        Task::Crawl(p) => crawl(p, cell),
        _ => Err(cell.unsupported()),
    }
}

/// Scatter: the processes connect in setup; a round is one message to each, and its latency
/// lasts until the last one reports.
fn scatter(p: Scatter, cell: &Cell) -> Result<Runner, Failure> {
    let processes = cell.workers.min(p.conns).max(1);
    let mut pool = Pool::start(Spec::each(cell, processes, LinkKind::Socket))?;
    runner(move |_| {
        pool.run(|pool| {
            let mut tally = Tally::new();
            let mut latencies_ns = Vec::with_capacity(p.rounds as usize);
            for round in 0..p.rounds {
                let start = Instant::now();
                for w in 0..pool.len() {
                    pool.send(w, &Enc::new().u32(round).finish())?;
                }
                let mut owed = vec![1; pool.len()];
                for _ in 0..pool.len() {
                    let (_, reply) = pool.recv_any(&mut owed)?;
                    tally.merge(decode_report(&reply)?.tally);
                }
                latencies_ns.push(nanos(start.elapsed()));
            }
            Ok(Report {
                tally,
                latencies_ns,
            }
            .into_outcome())
        })
    })
}

// ---------------------------------------------------------------------------------------------
// crawl: N requests on fresh connections, at most C in flight.
// ---------------------------------------------------------------------------------------------

/// Crawl: a repetition is one message to each process, carrying the start on the machine-wide
/// clock; each reports its tally and its requests' latencies.
fn crawl(p: Crawl, cell: &Cell) -> Result<Runner, Failure> {
    if p.concurrency == 0 {
        return Err(Failure::new("crawl: concurrency must be at least 1"));
    }
    let processes = cell.workers.min(p.concurrency).max(1);
    let mut pool = Pool::start(Spec::each(cell, processes, LinkKind::Socket))?;
    runner(move |_| {
        pool.run(|pool| {
            // Every process measures against this reading of the machine-wide clock.
            let start = Enc::new().u64(monotonic_ns()).finish();
            for w in 0..pool.len() {
                pool.send(w, &start)?;
            }
            let mut report = Report::default();
            let mut owed = vec![1; pool.len()];
            for _ in 0..pool.len() {
                let (_, reply) = pool.recv_any(&mut owed)?;
                report.merge(decode_report(&reply)?);
            }
            Ok(report.into_outcome())
        })
    })
}

// ---------------------------------------------------------------------------------------------
// The worker's side.
// ---------------------------------------------------------------------------------------------

/// One thread per process, or one thread per connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Pipelined,
    Threads,
}

impl Mode {
    /// The mode of the role's variant.
    fn of(role: &Role) -> Result<Mode, Failure> {
        match role.variant.as_str() {
            "pipelined" => Ok(Mode::Pipelined),
            "threads" => Ok(Mode::Threads),
            _ => Err(role.unexpected()),
        }
    }
}

/// A scatter process: opens its share of the connections, says it is ready, then runs a round
/// per message until the parent closes the link.
fn serve_scatter(role: &Role, link: &mut Link, _fds: Vec<OwnedFd>) -> Result<(), Failure> {
    let Task::Scatter(p) = role.task else {
        return Err(role.unexpected());
    };
    let bounds = split(p.conns, role.count);
    let (first, end) = (bounds[role.index], bounds[role.index + 1]);
    let mut share = ScatterShare::open(p, role.server()?, first, end, Mode::of(role)?)?;
    link.serve(|frame| {
        let round = Dec::new(frame).u32()?;
        let tally = share.round(round)?;
        Ok(Some(encode_report(&Report {
            tally,
            latencies_ns: Vec::new(),
        })))
    })
}

/// A crawl process: says it is ready, then makes its share of the requests once per message
/// until the parent closes the link.
fn serve_crawl(role: &Role, link: &mut Link, _fds: Vec<OwnedFd>) -> Result<(), Failure> {
    let Task::Crawl(p) = role.task else {
        return Err(role.unexpected());
    };
    let (addr, mode) = (role.server()?, Mode::of(role)?);
    let bounds = split(p.concurrency, role.count);
    let lanes = bounds[role.index] as u64..bounds[role.index + 1] as u64;
    let concurrency = p.concurrency.max(1) as u64;
    let ids: Vec<u64> = (0..p.requests)
        .filter(|i| lanes.contains(&(i % concurrency)))
        .collect();
    let window = (lanes.end - lanes.start) as usize;
    link.serve(|frame| {
        let start_ns = Dec::new(frame).u64()?;
        let report = match mode {
            Mode::Pipelined => crawl_window(&p, addr, &ids, window, start_ns),
            Mode::Threads => crawl_with_threads(&p, addr, &ids, window, start_ns),
        };
        report.map(|r| Some(encode_report(&r)))
    })
}

/// A process's connections of a scatter, and how it drives them.
enum ScatterShare {
    /// One thread writes every request, then reads every reply.
    Pipelined {
        p: Scatter,
        addr: SocketAddr,
        first: usize,
        streams: Vec<TcpStream>,
        payload: Vec<u8>,
    },
    /// A thread per connection, each waiting on its own channel for the round to call.
    Threads {
        rounds: Vec<mpsc::Sender<u32>>,
        results: mpsc::Receiver<Result<u64, Failure>>,
    },
}

impl ScatterShare {
    /// Opens connections `first..end` to `addr`.
    fn open(
        p: Scatter,
        addr: SocketAddr,
        first: usize,
        end: usize,
        mode: Mode,
    ) -> Result<ScatterShare, Failure> {
        let timeout = timeout(p.timeout_ms);
        let streams = (first..end)
            .map(|conn| {
                connect_blocking(addr, timeout).map_err(|e| {
                    let what = format!("opening connection {conn} of {} to {addr}", p.conns);
                    io_failure(what, e, timeout)
                })
            })
            .collect::<Result<Vec<_>, Failure>>()?;
        if mode == Mode::Pipelined {
            return Ok(ScatterShare::Pipelined {
                p,
                addr,
                first,
                streams,
                payload: Vec::new(),
            });
        }
        let (report, results) = mpsc::channel();
        let mut rounds = Vec::with_capacity(streams.len());
        for (i, mut stream) in streams.into_iter().enumerate() {
            let conn = first + i;
            let (start, round_rx) = mpsc::channel::<u32>();
            let report = report.clone();
            thread::Builder::new()
                .name(format!("scatter-conn-{conn}"))
                .stack_size(IO_STACK)
                .spawn(move || {
                    let mut payload = Vec::new();
                    for round in round_rx {
                        // This thread's whole job, once per round: one request, one blocking
                        // read. A panic is reported too, so the round always completes.
                        let call =
                            || call_blocking(&mut stream, p.request(round, conn), &mut payload);
                        let result = panic::catch_unwind(AssertUnwindSafe(call))
                            .unwrap_or_else(|_| Err(io::Error::other("the thread panicked")))
                            .map_err(|e| {
                                let what =
                                    format!("scatter round {round} on connection {conn} to {addr}");
                                io_failure(what, e, timeout)
                            });
                        if report.send(result).is_err() {
                            break;
                        }
                    }
                })
                .map_err(|e| {
                    Failure::context(&format!("spawning the thread of connection {conn}"), e)
                })?;
            rounds.push(start);
        }
        Ok(ScatterShare::Threads { rounds, results })
    }

    /// Runs round `round` on every connection of the share; the tally of the replies, or the
    /// first failure (after every connection has finished the round).
    fn round(&mut self, round: u32) -> Result<Tally, Failure> {
        let mut tally = Tally::new();
        match self {
            ScatterShare::Pipelined {
                p,
                addr,
                first,
                streams,
                payload,
            } => {
                // Every request goes out before any reply is read.
                let digests = pipelined_calls(streams, |i| p.request(round, *first + i), payload)
                    .map_err(|(i, e)| {
                    let conn = *first + i;
                    let what = format!("scatter round {round} on connection {conn} to {addr}");
                    io_failure(what, e, timeout(p.timeout_ms))
                })?;
                digests.into_iter().for_each(|digest| tally.add(digest));
                Ok(tally)
            }
            ScatterShare::Threads { rounds, results } => {
                for start in rounds.iter() {
                    start
                        .send(round)
                        .map_err(|_| Failure::new("a connection thread is gone"))?;
                }
                let mut failure = None;
                for _ in 0..rounds.len() {
                    match results.recv() {
                        Ok(Ok(digest)) => tally.add(digest),
                        Ok(Err(e)) => {
                            failure.get_or_insert(e);
                        }
                        Err(_) => return Err(Failure::new("every connection thread is gone")),
                    }
                }
                failure.map_or(Ok(tally), Err)
            }
        }
    }
}

/// `pipelined` crawl in one process: requests `ids` in order, at most `window` in flight.
fn crawl_window(
    p: &Crawl,
    addr: SocketAddr,
    ids: &[u64],
    window: usize,
    start_ns: u64,
) -> Result<Report, Failure> {
    let timeout = timeout(p.timeout_ms);
    let mut in_flight: VecDeque<(Request, TcpStream, u64)> = VecDeque::with_capacity(window);
    let mut report = Report::default();
    let mut payload = Vec::new();
    let mut complete = |(request, mut stream, began): (Request, TcpStream, u64)| {
        let digest = read_reply_blocking(&mut stream, request, &mut payload).map_err(|e| {
            io_failure(
                format!("crawl request {} to {addr}", request.id),
                e,
                timeout,
            )
        })?;
        report.record(digest, since(began));
        Ok::<_, Failure>(())
    };
    for &id in ids {
        let due = due_ns(p, id, start_ns);
        // Make room in a full window; and rather than sleep until the next request is due,
        // read the oldest reply meanwhile.
        while let Some(oldest) = in_flight.pop_front() {
            let full = in_flight.len() + 1 >= window;
            let early = due.is_some_and(|due| monotonic_ns() < due);
            if !(full || early) {
                in_flight.push_front(oldest);
                break;
            }
            complete(oldest)?;
        }
        if let Some(due) = due {
            sleep_until(due);
        }
        let began = due.unwrap_or_else(monotonic_ns);
        let request = p.request(id);
        let mut stream = connect_blocking(addr, timeout).map_err(|e| {
            io_failure(
                format!("crawl request {id}: connecting to {addr}"),
                e,
                timeout,
            )
        })?;
        stream
            .write_all(&request.encode())
            .map_err(|e| io_failure(format!("crawl request {id} to {addr}"), e, timeout))?;
        in_flight.push_back((request, stream, began));
    }
    while let Some(oldest) = in_flight.pop_front() {
        complete(oldest)?;
    }
    Ok(report)
}

/// `threads` crawl in one process: `threads` scoped threads claim requests `ids` from an
/// atomic index, each making one request at a time on a fresh connection.
fn crawl_with_threads(
    p: &Crawl,
    addr: SocketAddr,
    ids: &[u64],
    threads: usize,
    start_ns: u64,
) -> Result<Report, Failure> {
    let timeout = timeout(p.timeout_ms);
    let next = AtomicUsize::new(0);
    let fetcher = || {
        let mut report = Report::default();
        let mut payload = Vec::new();
        loop {
            let Some(&id) = ids.get(next.fetch_add(1, Ordering::Relaxed)) else {
                return Ok(report);
            };
            let due = due_ns(p, id, start_ns);
            if let Some(due) = due {
                sleep_until(due);
            }
            let began = due.unwrap_or_else(monotonic_ns);
            match fetch_blocking(addr, p.request(id), timeout, &mut payload) {
                Ok(digest) => report.record(digest, since(began)),
                Err(failure) => {
                    next.store(usize::MAX / 2, Ordering::Relaxed); // Others claim no more.
                    return Err(failure);
                }
            }
        }
    };
    thread::scope(|s| {
        let mut handles = Vec::with_capacity(threads);
        let mut failure = None;
        for i in 0..threads {
            let spawned = thread::Builder::new()
                .name(format!("crawl-{i}"))
                .stack_size(IO_STACK)
                .spawn_scoped(s, fetcher);
            match spawned {
                Ok(handle) => handles.push(handle),
                Err(e) => {
                    next.store(usize::MAX / 2, Ordering::Relaxed);
                    failure = Some(Failure::context("spawning a crawl thread", e));
                    break;
                }
            }
        }
        let mut report = Report::default();
        for handle in handles {
            match handle.join() {
                Ok(Ok(mine)) => report.merge(mine),
                Ok(Err(e)) => {
                    failure.get_or_insert(e);
                }
                Err(_) => {
                    failure.get_or_insert(Failure::new("a crawl thread panicked"));
                }
            }
        }
        failure.map_or(Ok(report), Err)
    })
}

// ---------------------------------------------------------------------------------------------
// Plumbing.
// ---------------------------------------------------------------------------------------------

/// A process's report as a reply: its share of the tally, and the latencies it measured.
fn encode_report(report: &Report) -> Enc {
    ok().tally(&report.tally).u64s(&report.latencies_ns)
}

/// A process's report, from its reply.
fn decode_report(payload: &[u8]) -> Result<Report, Failure> {
    let mut dec = Dec::new(payload);
    Ok(Report {
        tally: dec.tally()?,
        latencies_ns: dec.u64s()?,
    })
}

/// In open loop, when request `id` is due on the machine-wide clock.
fn due_ns(p: &Crawl, id: u64, start_ns: u64) -> Option<u64> {
    p.scheduled_start(id)
        .map(|offset| start_ns.saturating_add(nanos(offset)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_cover_everything_once() {
        for (n, parts) in [(16, 2), (5, 3), (1, 1), (1000, 7)] {
            let bounds = split(n, parts);
            assert_eq!(bounds.first(), Some(&0));
            assert_eq!(bounds.last(), Some(&n));
            assert!(bounds.windows(2).all(|w| w[0] <= w[1]));
            assert!(bounds.windows(2).all(|w| w[1] - w[0] >= n / parts));
        }
    }

    #[test]
    fn reports_round_trip() {
        let mut report = Report::default();
        report.record(5, since(monotonic_ns()));
        let frame = encode_report(&report).finish();
        let back = decode_report(&frame[5..]).unwrap();
        assert_eq!(back.tally, report.tally);
        assert_eq!(back.latencies_ns, report.latencies_ns);
    }
}
