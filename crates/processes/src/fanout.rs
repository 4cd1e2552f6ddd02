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
//! - `blocking`: one thread per process, so a process keeps many requests in flight only by
//!   writing before it reads. Scatter: the process writes its share's K / N requests, then reads
//!   the K / N replies in order (those that arrive early wait in the kernel). Crawl: a sliding
//!   window of at most C / N fresh connections; when it is full, the oldest reply is read.
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
//! latency counts from then. A `blocking` process cannot wait for a reply and a due time at once:
//! while the next request is not yet due it reads its oldest reply, and if that reply is slow,
//! the next request starts late and is charged for it.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::OwnedFd;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use shootout_suite::fanout::{REPLY_HEADER_LEN, Request, connect_blocking, digest, reply_len};
use shootout_suite::task::{Crawl, Scatter};
use shootout_suite::{Answer, Cell, Failure, Outcome, Runner, Tally, Task, runner};

use crate::worker::{Dec, Enc, Family, Link, LinkKind, Pool, Spec, monotonic_ns, nanos, ok};

/// The stack of every IO thread: it holds a socket, a reply buffer on the heap and a few frames.
pub const IO_STACK: usize = 64 * 1024;

// ---------------------------------------------------------------------------------------------
// scatter: K requests per round on K open connections.
// ---------------------------------------------------------------------------------------------

/// `blocking`: `min(N, K)` scatter processes, each writing its connections' requests and then
/// reading their replies, or `min(N, C)` crawl processes, each keeping a window of up to C / N
/// requests in flight; one thread each.
pub fn blocking(cell: &Cell) -> Result<Runner, Failure> {
    setup(cell, Mode::Blocking)
}

/// `threads`: `min(N, K)` scatter processes, each with a thread per connection, or `min(N, C)`
/// crawl processes, each with C / N threads making one request at a time.
pub fn threads(cell: &Cell) -> Result<Runner, Failure> {
    setup(cell, Mode::Threads)
}

fn setup(cell: &Cell, mode: Mode) -> Result<Runner, Failure> {
    match cell.task {
        Task::Scatter(p) => scatter(p, cell.server()?, cell.workers, mode),
        Task::Crawl(p) => crawl(p, cell.server()?, cell.workers, mode),
        _ => Err(cell.unsupported()),
    }
}

fn scatter(p: Scatter, addr: SocketAddr, workers: usize, mode: Mode) -> Result<Runner, Failure> {
    let processes = workers.min(p.conns).max(1);
    let bounds = split(p.conns, processes);
    let specs = (0..processes)
        .map(|w| {
            let role = Enc::new()
                .u8(SCATTER)
                .u8(mode as u8)
                .bytes(addr.to_string().as_bytes())
                .u64(p.conns as u64)
                .u32(p.rounds)
                .u32(p.delay_us)
                .u32(p.reply_bytes)
                .u32(p.timeout_ms)
                .u64(bounds[w] as u64)
                .u64(bounds[w + 1] as u64);
            Spec::new(Family::Fanout, role, LinkKind::Socket)
        })
        .collect();
    let mut pool = Pool::start(mode.name("scatter"), specs)?;
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
                    tally.merge(Report::decode(&reply)?.tally);
                }
                latencies_ns.push(nanos(start.elapsed()));
            }
            Ok(Outcome::with_latencies(Answer::Tally(tally), latencies_ns))
        })
    })
}

// ---------------------------------------------------------------------------------------------
// crawl: N requests on fresh connections, at most C in flight.
// ---------------------------------------------------------------------------------------------

fn crawl(p: Crawl, addr: SocketAddr, workers: usize, mode: Mode) -> Result<Runner, Failure> {
    if p.concurrency == 0 {
        return Err(Failure::new("crawl: concurrency must be at least 1"));
    }
    let processes = workers.min(p.concurrency).max(1);
    let lanes = split(p.concurrency, processes);
    let specs = (0..processes)
        .map(|w| {
            let role = Enc::new()
                .u8(CRAWL)
                .u8(mode as u8)
                .bytes(addr.to_string().as_bytes())
                .u64(p.requests)
                .u64(p.concurrency as u64)
                .u32(p.delay_us)
                .u32(p.reply_bytes)
                .u64(p.rate)
                .u32(p.timeout_ms)
                .u64(lanes[w] as u64)
                .u64(lanes[w + 1] as u64);
            Spec::new(Family::Fanout, role, LinkKind::Socket)
        })
        .collect();
    let mut pool = Pool::start(mode.name("crawl"), specs)?;
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
                report.merge(Report::decode(&reply)?);
            }
            Ok(Outcome::with_latencies(
                Answer::Tally(report.tally),
                report.latencies_ns,
            ))
        })
    })
}

// ---------------------------------------------------------------------------------------------
// The worker's side.
// ---------------------------------------------------------------------------------------------

/// One thread per process, or one thread per connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Blocking = 0,
    Threads = 1,
}

impl Mode {
    fn decode(byte: u8) -> Result<Mode, Failure> {
        match byte {
            0 => Ok(Mode::Blocking),
            1 => Ok(Mode::Threads),
            other => Err(Failure::new(format!("unknown fan-out mode {other}"))),
        }
    }

    fn name(self, task: &str) -> &'static str {
        match (task, self) {
            ("scatter", Mode::Blocking) => "scatter-blocking",
            ("scatter", Mode::Threads) => "scatter-threads",
            (_, Mode::Blocking) => "crawl-blocking",
            (_, Mode::Threads) => "crawl-threads",
        }
    }
}

/// A role's first byte: a share of a scatter's connections.
const SCATTER: u8 = 1;
/// A role's first byte: a share of a crawl's lanes.
const CRAWL: u8 = 2;

/// Serves one fan-out process: opens its connections (scatter), says it is ready, then runs a
/// round (scatter) or a repetition (crawl) per message until the parent closes the link.
pub(crate) fn serve(mut role: Dec<'_>, link: &mut Link, _fds: Vec<OwnedFd>) -> Result<(), Failure> {
    let kind = role.u8()?;
    let mode = Mode::decode(role.u8()?)?;
    let addr: SocketAddr = std::str::from_utf8(role.bytes()?)
        .ok()
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| Failure::new("a malformed server address"))?;
    let broken = |e: io::Error| Failure::context("talking to the parent", e);
    match kind {
        SCATTER => {
            let p = Scatter {
                conns: role.usize()?,
                rounds: role.u32()?,
                delay_us: role.u32()?,
                reply_bytes: role.u32()?,
                timeout_ms: role.u32()?,
            };
            let (first, end) = (role.usize()?, role.usize()?);
            let mut share = ScatterShare::open(p, addr, first, end, mode)?;
            link.reply(Ok(ok()))?;
            while let Some(frame) = link.recv().map_err(broken)? {
                let round = Dec::new(&frame).u32()?;
                let report = share.round(round).map(|tally| Report {
                    tally,
                    latencies_ns: Vec::new(),
                });
                link.reply(report.map(|r| r.encode()))?;
            }
        }
        CRAWL => {
            let p = Crawl {
                requests: role.u64()?,
                concurrency: role.usize()?,
                delay_us: role.u32()?,
                reply_bytes: role.u32()?,
                rate: role.u64()?,
                timeout_ms: role.u32()?,
            };
            let lanes = role.u64()?..role.u64()?;
            let concurrency = p.concurrency.max(1) as u64;
            let ids: Vec<u64> = (0..p.requests)
                .filter(|i| lanes.contains(&(i % concurrency)))
                .collect();
            let window = (lanes.end - lanes.start) as usize;
            link.reply(Ok(ok()))?;
            while let Some(frame) = link.recv().map_err(broken)? {
                let start_ns = Dec::new(&frame).u64()?;
                let report = match mode {
                    Mode::Blocking => crawl_window(&p, addr, &ids, window, start_ns),
                    Mode::Threads => crawl_with_threads(&p, addr, &ids, window, start_ns),
                };
                link.reply(report.map(|r| r.encode()))?;
            }
        }
        other => return Err(Failure::new(format!("unknown fan-out role {other}"))),
    }
    Ok(())
}

/// A process's connections of a scatter, and how it drives them.
enum ScatterShare {
    /// One thread writes every request, then reads every reply.
    Blocking {
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
        if mode == Mode::Blocking {
            return Ok(ScatterShare::Blocking {
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
                        let call = || call(&mut stream, p.request(round, conn), &mut payload);
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
            ScatterShare::Blocking {
                p,
                addr,
                first,
                streams,
                payload,
            } => {
                let timeout = timeout(p.timeout_ms);
                let failed = |conn: usize, e: io::Error| {
                    let what = format!("scatter round {round} on connection {conn} to {addr}");
                    io_failure(what, e, timeout)
                };
                // Every request goes out before any reply is read: all of them are in flight
                // at once, and the replies wait in the kernel until their turn to be read.
                for (i, stream) in streams.iter_mut().enumerate() {
                    let conn = *first + i;
                    let request = p.request(round, conn).encode();
                    stream.write_all(&request).map_err(|e| failed(conn, e))?;
                }
                for (i, stream) in streams.iter_mut().enumerate() {
                    let conn = *first + i;
                    let request = p.request(round, conn);
                    let digest =
                        read_reply(stream, request, payload).map_err(|e| failed(conn, e))?;
                    tally.add(digest);
                }
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

/// `blocking` crawl in one process: requests `ids` in order, at most `window` in flight.
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
        let digest = read_reply(&mut stream, request, &mut payload).map_err(|e| {
            io_failure(
                format!("crawl request {} to {addr}", request.id),
                e,
                timeout,
            )
        })?;
        report.record(digest, began);
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
            match fetch(addr, p.request(id), timeout, &mut payload) {
                Ok(digest) => report.record(digest, began),
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

/// One crawl request: a fresh connection, one call, closed on return.
fn fetch(
    addr: SocketAddr,
    request: Request,
    timeout: Duration,
    payload: &mut Vec<u8>,
) -> Result<u64, Failure> {
    let mut stream = connect_blocking(addr, timeout).map_err(|e| {
        io_failure(
            format!("crawl request {}: connecting to {addr}", request.id),
            e,
            timeout,
        )
    })?;
    call(&mut stream, request, payload).map_err(|e| {
        io_failure(
            format!("crawl request {} to {addr}", request.id),
            e,
            timeout,
        )
    })
}

// ---------------------------------------------------------------------------------------------
// Plumbing.
// ---------------------------------------------------------------------------------------------

/// What a process reports for a round or a repetition: its share of the tally, and the
/// latencies it measured.
#[derive(Debug, Default)]
struct Report {
    tally: Tally,
    latencies_ns: Vec<u64>,
}

impl Report {
    /// Records one reply to a request that started at `began_ns` (`CLOCK_MONOTONIC`).
    fn record(&mut self, digest: u64, began_ns: u64) {
        self.tally.add(digest);
        self.latencies_ns
            .push(monotonic_ns().saturating_sub(began_ns));
    }

    fn merge(&mut self, other: Report) {
        self.tally.merge(other.tally);
        self.latencies_ns.extend(other.latencies_ns);
    }

    fn encode(&self) -> Enc {
        ok().u64(self.tally.count)
            .u64(self.tally.sum)
            .u64s(&self.latencies_ns)
    }

    fn decode(payload: &[u8]) -> Result<Report, Failure> {
        let mut dec = Dec::new(payload);
        Ok(Report {
            tally: Tally {
                count: dec.u64()?,
                sum: dec.u64()?,
            },
            latencies_ns: dec.u64s()?,
        })
    }
}

/// One request and its reply on a blocking stream (the suite's `call_blocking`, whose two
/// halves the `blocking` scatter also uses apart).
fn call(stream: &mut TcpStream, request: Request, payload: &mut Vec<u8>) -> io::Result<u64> {
    stream.write_all(&request.encode())?;
    read_reply(stream, request, payload)
}

/// Reads the reply to `request` and returns its digest.
fn read_reply(stream: &mut TcpStream, request: Request, payload: &mut Vec<u8>) -> io::Result<u64> {
    let mut header = [0; REPLY_HEADER_LEN];
    stream.read_exact(&mut header)?;
    payload.resize(reply_len(header)?, 0);
    stream.read_exact(payload)?;
    Ok(digest(request.id, payload))
}

/// In open loop, when request `id` is due on the machine-wide clock.
fn due_ns(p: &Crawl, id: u64, start_ns: u64) -> Option<u64> {
    p.scheduled_start(id)
        .map(|offset| start_ns.saturating_add(nanos(offset)))
}

/// Sleeps until `CLOCK_MONOTONIC` reads `due_ns`.
fn sleep_until(due_ns: u64) {
    let now = monotonic_ns();
    if due_ns > now {
        thread::sleep(Duration::from_nanos(due_ns - now));
    }
}

/// The bounds of `parts` contiguous shares of `n`, as even as can be.
fn split(n: usize, parts: usize) -> Vec<usize> {
    (0..=parts).map(|i| i * n / parts.max(1)).collect()
}

/// The failure for an IO error while doing `what`. A socket timeout is said as such: Unix
/// reports an expired `SO_RCVTIMEO` as `WouldBlock` ("Resource temporarily unavailable").
fn io_failure(what: String, err: io::Error, timeout: Duration) -> Failure {
    match err.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Failure::new(format!(
            "{what}: timed out after {} ms",
            timeout.as_millis()
        )),
        _ => Failure::context(&what, err),
    }
}

fn timeout(ms: u32) -> Duration {
    Duration::from_millis(u64::from(ms.max(1)))
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
        report.record(5, monotonic_ns());
        let frame = report.encode().finish();
        let back = Report::decode(&frame[5..]).unwrap();
        assert_eq!(back.tally, report.tally);
        assert_eq!(back.latencies_ns, report.latencies_ns);
    }
}
