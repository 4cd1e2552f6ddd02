//! Every task, declared once: what it is (its [`Spec`]), its parameters with their defaults per
//! profile, and what follows from them (validation, the input, the reference answer, what one
//! repetition moves). Adding a task is adding one block here and its name to the list in
//! `mod.rs`.

use super::spec::{Family, Metric, Named, Params, Profile, Spec, task};
use crate::Tally;
use crate::dnc::{fib, mergesort, nqueens};
use crate::fanout::{self, MAX_REPLY_LEN};
use crate::outcome::Input;
use crate::pipeline::{Item, LATENCY_SAMPLE};
use crate::sync;

/// The spec of a divide-and-conquer task: a speedup over the baseline, W threads of work.
const fn dnc(short: &'static str, about: &'static str) -> Spec {
    Spec {
        short,
        family: Family::Dnc,
        about,
        units: None,
        latency: None,
        headline: Metric::Speedup,
        headline_params: &["n"],
        workers: "threads or processes doing the work",
    }
}

task! {
    /// `dnc/mergesort`: sort `n` keys, sequentially below `grain` keys.
    Mergesort = dnc("mergesort", "parallel merge sort of n seeded u64 keys");
    {
        /// How many keys.
        n: usize = [20_000, 1_000_000, 4_000_000, 10_000_000],
        /// Runs of at most this many keys are sorted (and merged) sequentially.
        grain: usize = [1_000, 32_768, 32_768, 32_768],
    }
}

impl Params for Mergesort {
    fn validate(&self) -> Result<(), String> {
        if self.grain == 0 {
            return Err("grain must be at least 1".into());
        }
        Ok(())
    }

    fn memory_bytes(&self) -> u64 {
        // The pristine keys, the repetition's copy, the scratch buffer, and the parent's
        // sorted copy for the reference.
        4 * 8 * self.n as u64
    }

    fn input(&self) -> Input {
        Input::Keys(mergesort::keys(self.n))
    }

    fn expected_checksum(&self) -> u64 {
        let mut keys = mergesort::keys(self.n);
        keys.sort_unstable();
        mergesort::checksum(&keys)
    }
}

task! {
    /// `dnc/fib`: naive recursive `fib(n)`, sequential below `fib(grain)`.
    Fib = dnc("fib", "recursive fib(n), sequential below the grain: task-spawn overhead");
    {
        /// Which Fibonacci number.
        n: u32 = [22, 34, 38, 39],
        /// Subproblems `fib(k)` with `k <= grain` are computed sequentially.
        grain: u32 = [12, 20, 20, 20],
    }
}

impl Params for Fib {
    fn validate(&self) -> Result<(), String> {
        if self.n > 50 {
            return Err(format!(
                "n = {} is too large: naive fib(n) past 50 runs for hours",
                self.n
            ));
        }
        Ok(())
    }

    fn expected_checksum(&self) -> u64 {
        fib::closed(self.n)
    }
}

task! {
    /// `dnc/nqueens`: count the solutions on an `n`×`n` board, splitting the first `split` rows.
    Nqueens = dnc("nqueens", "count n-queens solutions, split up to a depth: an irregular tree");
    {
        /// The board size.
        n: u32 = [7, 12, 12, 13],
        /// Boards with fewer than this many queens placed are split into parallel tasks.
        split: u32 = [2, 3, 3, 3],
    }
}

impl Params for Nqueens {
    fn validate(&self) -> Result<(), String> {
        if self.n > 18 {
            return Err(format!(
                "n = {} is too large: past 18 a sequential count runs for hours",
                self.n
            ));
        }
        if self.split > self.n {
            return Err(format!("split = {} exceeds n = {}", self.split, self.n));
        }
        Ok(())
    }

    fn expected_checksum(&self) -> u64 {
        nqueens::sequential(self.n)
    }
}

task! {
    /// `fanout/scatter`: `rounds` times, one request on each of `conns` open connections at once.
    Scatter = Spec {
        short: "scatter",
        family: Family::Fanout,
        about: "rounds of K concurrent requests on K open connections, waiting for all",
        units: Some("requests"),
        latency: Some("round latency"),
        headline: Metric::Latency,
        headline_params: &["conns"],
        workers: "threads, processes or runtime workers making the calls",
    };
    {
        /// K: how many connections, each with one request per round.
        conns: usize = [16, 100, 1_000, 1_000],
        /// How many rounds; each round waits for all its replies.
        rounds: u32 = [3, 2, 5, 10],
        /// The server's delay before each reply, in microseconds.
        delay_us: u32 = [200, 1_000, 1_000, 1_000],
        /// The payload size of each reply, in bytes.
        reply_bytes: u32 = [64, 64, 64, 64],
        /// Per-request timeout in milliseconds: a reply slower than this fails the cell.
        timeout_ms: u32 = [10_000, 10_000, 10_000, 30_000],
    }
}

impl Scatter {
    /// The request connection `conn` sends in round `round`; the connection stays open for
    /// the next round.
    pub fn request(&self, round: u32, conn: usize) -> fanout::Request {
        fanout::Request {
            id: fanout::scatter_id(round, conn, self.conns),
            delay_us: self.delay_us,
            reply_len: self.reply_bytes,
            close: false,
        }
    }
}

impl Params for Scatter {
    fn latency_samples(&self, _: usize) -> u64 {
        u64::from(self.rounds)
    }

    fn validate(&self) -> Result<(), String> {
        if self.conns == 0 || self.rounds == 0 {
            return Err("conns and rounds must be at least 1".into());
        }
        validate_calls(self.reply_bytes, self.timeout_ms)
    }

    fn memory_bytes(&self) -> u64 {
        self.conns as u64 * (64 * 1024 + u64::from(self.reply_bytes))
    }

    fn sockets(&self) -> u64 {
        self.conns as u64
    }

    fn units(&self) -> Option<u64> {
        Some(self.conns as u64 * u64::from(self.rounds))
    }

    fn expected_checksum(&self) -> u64 {
        (0..self.rounds)
            .flat_map(|r| (0..self.conns).map(move |k| self.request(r, k)))
            .map(|req| fanout::expected_digest(req.id, req.reply_len as usize))
            .fold(Tally::new(), |mut t, d| {
                t.add(d);
                t
            })
            .checksum()
    }
}

/// The limits both fan-out tasks put on their calls.
fn validate_calls(reply_bytes: u32, timeout_ms: u32) -> Result<(), String> {
    if reply_bytes > MAX_REPLY_LEN {
        return Err(format!(
            "reply_bytes = {reply_bytes} exceeds the protocol's maximum of {MAX_REPLY_LEN}"
        ));
    }
    if timeout_ms == 0 {
        return Err("timeout_ms must be at least 1".into());
    }
    Ok(())
}

task! {
    /// `fanout/crawl`: `requests` requests, each on a fresh connection, at most `concurrency`
    /// in flight; with `rate` > 0 requests start on a fixed schedule (open loop).
    Crawl = Spec {
        short: "crawl",
        family: Family::Fanout,
        about: "N requests, each on a fresh connection, at most C in flight",
        units: Some("requests"),
        latency: Some("request latency"),
        headline: Metric::Throughput,
        headline_params: &["requests", "concurrency"],
        workers: "threads, processes or runtime workers making the calls",
    };
    {
        /// N: how many requests.
        requests: u64 = [40, 500, 2_000, 5_000],
        /// C: the most requests in flight at once (a semaphore's permits).
        concurrency: usize = [4, 32, 64, 256],
        /// The server's delay before each reply, in microseconds.
        delay_us: u32 = [200, 1_000, 1_000, 1_000],
        /// The payload size of each reply, in bytes.
        reply_bytes: u32 = [64, 64, 64, 64],
        /// Requests per second in open-loop mode; 0 means closed loop (start as soon as a
        /// permit frees). In open loop, latency counts from each request's scheduled start.
        rate: u64 = [0, 0, 0, 0],
        /// Per-request timeout in milliseconds: connecting, sending and receiving are each
        /// bounded by it.
        timeout_ms: u32 = [10_000, 10_000, 10_000, 30_000],
    }
}

impl Crawl {
    /// Request number `i`, the only one on its connection: the server closes the connection
    /// after the reply, so that `TIME_WAIT` is the server's (see [`fanout`]'s "Who closes
    /// first").
    pub fn request(&self, i: u64) -> fanout::Request {
        fanout::Request {
            id: i,
            delay_us: self.delay_us,
            reply_len: self.reply_bytes,
            close: true,
        }
    }

    /// In open-loop mode, when request `i` is due, counted from the start of the run.
    pub fn scheduled_start(&self, i: u64) -> Option<std::time::Duration> {
        (self.rate > 0).then(|| {
            std::time::Duration::from_nanos(
                (u128::from(i) * 1_000_000_000 / u128::from(self.rate)) as u64,
            )
        })
    }
}

impl Params for Crawl {
    fn latency_samples(&self, _: usize) -> u64 {
        self.requests
    }

    fn validate(&self) -> Result<(), String> {
        validate_calls(self.reply_bytes, self.timeout_ms)?;
        if self.concurrency == 0 {
            return Err("concurrency must be at least 1".into());
        }
        if self.requests > 10_000_000 {
            return Err(format!(
                "requests = {} is too many: every request opens a connection",
                self.requests
            ));
        }
        Ok(())
    }

    fn memory_bytes(&self) -> u64 {
        self.concurrency as u64 * (64 * 1024 + u64::from(self.reply_bytes))
    }

    fn sockets(&self) -> u64 {
        self.concurrency as u64
    }

    fn units(&self) -> Option<u64> {
        Some(self.requests)
    }

    fn expected_checksum(&self) -> u64 {
        (0..self.requests)
            .map(|i| fanout::expected_digest(i, self.reply_bytes as usize))
            .fold(Tally::new(), |mut t, d| {
                t.add(d);
                t
            })
            .checksum()
    }
}

task! {
    /// `pipeline/bounded`: `producers` → queue of `capacity` → `consumers`, `items` in all,
    /// `work` hash rounds per item in the consumer.
    Bounded = Spec {
        short: "bounded",
        family: Family::Pipeline,
        about: "P producers -> bounded queue(capacity) -> C consumers, work rounds per item",
        units: Some("items"),
        latency: Some("queueing latency of sampled items"),
        headline: Metric::Throughput,
        headline_params: &["producers", "consumers", "work"],
        workers: "fixed at P + C: every model runs the stages on P + C threads or processes \
                  (async: a runtime of P + C workers)",
    };
    {
        /// P: producer count.
        producers: usize = [2, 2, 2, 2],
        /// C: consumer count.
        consumers: usize = [2, 2, 2, 2],
        /// The queue's capacity in items.
        capacity: usize = [4, 1_024, 1_024, 1_024],
        /// How many items in all.
        items: u64 = [5_000, 200_000, 1_000_000, 2_000_000],
        /// Hash rounds per item done by the consumer (0 = measure the queue alone).
        work: u32 = [10, 100, 100, 100],
    }
}

impl Params for Bounded {
    fn fixed_workers(&self) -> Option<usize> {
        Some(self.producers + self.consumers)
    }

    fn latency_samples(&self, _: usize) -> u64 {
        self.items.div_ceil(LATENCY_SAMPLE)
    }

    fn validate(&self) -> Result<(), String> {
        if self.producers == 0 || self.consumers == 0 || self.capacity == 0 {
            return Err("producers, consumers and capacity must each be at least 1".into());
        }
        Ok(())
    }

    fn memory_bytes(&self) -> u64 {
        self.capacity as u64 * std::mem::size_of::<Item>() as u64
    }

    fn units(&self) -> Option<u64> {
        Some(self.items)
    }

    fn expected_checksum(&self) -> u64 {
        let epoch = std::time::Instant::now();
        let mut tally = Tally::new();
        (0..self.items).for_each(|seq| tally.add(Item::new(seq, self.work, epoch).work()));
        tally.checksum()
    }
}

/// The spec of a sync task.
const fn sync(
    short: &'static str,
    about: &'static str,
    units: &'static str,
    latency: Option<&'static str>,
    headline_params: &'static [&'static str],
    workers: &'static str,
) -> Spec {
    Spec {
        short,
        family: Family::Sync,
        about,
        units: Some(units),
        latency,
        headline: if latency.is_some() {
            Metric::Latency
        } else {
            Metric::Throughput
        },
        headline_params,
        workers,
    }
}

task! {
    /// `sync/lock`: W workers make `increments` entries in all into one critical section that
    /// does `section` rounds of work on the shared state.
    Lock = sync(
        "lock",
        "W workers share `increments` entries into one critical section",
        "entries",
        None,
        &["section"],
        "contenders",
    );
    {
        /// Entries into the section, shared among the workers.
        increments: u64 = [20_000, 200_000, 500_000, 2_000_000],
        /// Rounds of mixing inside the section beyond the one that makes each entry's
        /// contribution (0: a counter and one mix).
        section: u32 = [4, 16, 16, 16],
    }
}

impl Params for Lock {
    fn units(&self) -> Option<u64> {
        Some(self.increments)
    }

    fn expected_checksum(&self) -> u64 {
        sync::lock::reference(self.increments, self.section).checksum()
    }
}

task! {
    /// `sync/semaphore`: W workers make `entries` entries in all into a section that at most
    /// `permits` occupy at once, each doing `section` rounds of work inside.
    Semaphore = sync(
        "semaphore",
        "W workers, at most `permits` inside a section at once",
        "entries",
        None,
        &["permits", "section"],
        "contenders",
    );
    {
        /// Entries into the section, shared among the workers.
        entries: u64 = [2_000, 20_000, 50_000, 200_000],
        /// S: the semaphore's permits.
        permits: usize = [2, 2, 2, 2],
        /// Rounds of mixing inside the section.
        section: u32 = [16, 256, 256, 256],
    }
}

impl Params for Semaphore {
    fn validate(&self) -> Result<(), String> {
        if self.permits == 0 {
            return Err("permits must be at least 1".into());
        }
        Ok(())
    }

    fn units(&self) -> Option<u64> {
        Some(self.entries)
    }

    fn expected_checksum(&self) -> u64 {
        sync::semaphore::reference(self.entries, self.section).checksum()
    }
}

task! {
    /// `sync/barrier`: W workers compute `phases` phases of a stencil on a ring of `width`
    /// cells, a barrier between phases.
    Barrier = sync(
        "barrier",
        "W workers step a stencil through phases separated by a barrier",
        "phases",
        None,
        &["width"],
        "parties",
    );
    {
        /// How many phases (and barriers).
        phases: u32 = [100, 1_000, 2_000, 5_000],
        /// Cells in the ring, split among the workers.
        width: usize = [64, 4_096, 4_096, 4_096],
    }
}

impl Params for Barrier {
    fn validate(&self) -> Result<(), String> {
        if self.width == 0 {
            return Err("width must be at least 1".into());
        }
        Ok(())
    }

    fn memory_bytes(&self) -> u64 {
        // Two buffers of cells, the reference's two and the phase log.
        4 * 8 * self.width as u64
    }

    fn units(&self) -> Option<u64> {
        Some(u64::from(self.phases))
    }

    fn expected_checksum(&self) -> u64 {
        sync::barrier::reference(self.width, self.phases)
    }
}

task! {
    /// `sync/event`: one setter releases W waiters, `rounds` times.
    Event = sync(
        "event",
        "one setter releases W waiters, `rounds` times: set-to-wake latency",
        "rounds",
        Some("set-to-wake latency"),
        &["rounds"],
        "waiters, with one setter on top",
    );
    {
        /// How many times the event is set.
        rounds: u32 = [100, 1_000, 2_000, 5_000],
    }
}

impl Params for Event {
    fn latency_samples(&self, workers: usize) -> u64 {
        workers as u64 * u64::from(self.rounds)
    }

    fn units(&self) -> Option<u64> {
        Some(u64::from(self.rounds))
    }

    fn expected_checksum(&self) -> u64 {
        sync::event::reference(self.rounds)
    }
}

task! {
    /// `sync/condition`: two parties pass a ball through a condition variable `trips` times.
    Condition = sync(
        "condition",
        "ping-pong through a condition variable: round-trip latency",
        "round trips",
        Some("round trip"),
        &["trips"],
        "fixed at 2: two parties (async: a runtime of two workers)",
    );
    {
        /// Round trips.
        trips: u32 = [300, 10_000, 10_000, 20_000],
    }
}

impl Params for Condition {
    fn fixed_workers(&self) -> Option<usize> {
        Some(2)
    }

    fn latency_samples(&self, _: usize) -> u64 {
        u64::from(self.trips)
    }

    fn units(&self) -> Option<u64> {
        Some(u64::from(self.trips))
    }

    fn expected_checksum(&self) -> u64 {
        sync::condition::reference(self.trips)
    }
}
