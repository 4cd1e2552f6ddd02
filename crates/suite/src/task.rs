//! The task catalogue: names, typed parameters, profiles, validation, inputs and references.

use std::fmt;

use crate::Tally;
use crate::backend::{Answer, Input};
use crate::dnc::{fib, mergesort, nqueens};
use crate::fanout::{self, MAX_REPLY_LEN};
use crate::pipeline::Item;
use crate::sync;

/// How big the tasks are: one set of defaults per purpose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Profile {
    /// For tests: every cell well under a second.
    Smoke,
    /// For criterion (`cargo bench`): one iteration takes milliseconds to a few hundred, so
    /// criterion can take its samples and the whole `cargo bench` stays in minutes.
    Bench,
    /// The default run: the whole suite in a few minutes on two cores.
    Quick,
    /// For publishing: cells long enough that timer and start-up noise vanish.
    Full,
}

impl Profile {
    /// Every profile, smallest first.
    pub const ALL: [Profile; 4] = [
        Profile::Smoke,
        Profile::Bench,
        Profile::Quick,
        Profile::Full,
    ];

    /// The profile's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Smoke => "smoke",
            Profile::Bench => "bench",
            Profile::Quick => "quick",
            Profile::Full => "full",
        }
    }

    /// The profile with this name.
    pub fn parse(name: &str) -> Option<Profile> {
        Profile::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// The families tasks are grouped in; a backend has one source file per family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// CPU-bound divide and conquer (`dnc.rs`).
    Dnc,
    /// IO fan-out against the loopback server (`fanout.rs`).
    Fanout,
    /// Producer–consumer through a bounded queue (`pipeline.rs`).
    Pipeline,
    /// The classic synchronisation primitives under contention (`sync.rs`).
    Sync,
}

impl Family {
    /// The family's name, which is also the stem of the backend source file.
    pub fn name(self) -> &'static str {
        match self {
            Family::Dnc => "dnc",
            Family::Fanout => "fanout",
            Family::Pipeline => "pipeline",
            Family::Sync => "sync",
        }
    }
}

/// Names one task of the suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TaskId {
    /// Parallel merge sort of seeded `u64` keys.
    Mergesort,
    /// Recursive Fibonacci with a sequential cutoff.
    Fib,
    /// Counting n-queens solutions, split at a depth.
    Nqueens,
    /// Rounds of K concurrent requests on K open connections.
    Scatter,
    /// N requests on fresh connections, at most C in flight.
    Crawl,
    /// P producers → a bounded queue → C consumers.
    Bounded,
    /// W workers incrementing shared state under one lock.
    Lock,
    /// At most S of W workers inside a section at once.
    Semaphore,
    /// W workers stepping through phases that a barrier separates.
    Barrier,
    /// One setter releasing W waiters, over and over.
    Event,
    /// Two parties passing a ball through a condition variable.
    Condition,
}

impl TaskId {
    /// Every task, in the order tables list them.
    pub const ALL: [TaskId; 11] = [
        TaskId::Mergesort,
        TaskId::Fib,
        TaskId::Nqueens,
        TaskId::Scatter,
        TaskId::Crawl,
        TaskId::Bounded,
        TaskId::Lock,
        TaskId::Semaphore,
        TaskId::Barrier,
        TaskId::Event,
        TaskId::Condition,
    ];

    /// The short name, unique across families.
    pub fn short(self) -> &'static str {
        match self {
            TaskId::Mergesort => "mergesort",
            TaskId::Fib => "fib",
            TaskId::Nqueens => "nqueens",
            TaskId::Scatter => "scatter",
            TaskId::Crawl => "crawl",
            TaskId::Bounded => "bounded",
            TaskId::Lock => "lock",
            TaskId::Semaphore => "semaphore",
            TaskId::Barrier => "barrier",
            TaskId::Event => "event",
            TaskId::Condition => "condition",
        }
    }

    /// The task's family.
    pub fn family(self) -> Family {
        match self {
            TaskId::Mergesort | TaskId::Fib | TaskId::Nqueens => Family::Dnc,
            TaskId::Scatter | TaskId::Crawl => Family::Fanout,
            TaskId::Bounded => Family::Pipeline,
            TaskId::Lock
            | TaskId::Semaphore
            | TaskId::Barrier
            | TaskId::Event
            | TaskId::Condition => Family::Sync,
        }
    }

    /// The full name, `family/task`, as the CLI and the records spell it.
    pub fn name(self) -> String {
        format!("{}/{}", self.family().name(), self.short())
    }

    /// The task named `name`, as `family/task` or just `task`.
    pub fn parse(name: &str) -> Option<TaskId> {
        TaskId::ALL
            .into_iter()
            .find(|t| name == t.short() || name == t.name())
    }

    /// What the task models, in one line.
    pub fn about(self) -> &'static str {
        match self {
            TaskId::Mergesort => "parallel merge sort of n seeded u64 keys",
            TaskId::Fib => "recursive fib(n), sequential below the grain: task-spawn overhead",
            TaskId::Nqueens => "count n-queens solutions, split up to a depth: an irregular tree",
            TaskId::Scatter => {
                "rounds of K concurrent requests on K open connections, waiting for all"
            }
            TaskId::Crawl => "N requests, each on a fresh connection, at most C in flight",
            TaskId::Bounded => {
                "P producers -> bounded queue(capacity) -> C consumers, work rounds per item"
            }
            TaskId::Lock => "W workers share `increments` entries into one critical section",
            TaskId::Semaphore => "W workers, at most `permits` inside a section at once",
            TaskId::Barrier => "W workers step a stencil through phases separated by a barrier",
            TaskId::Event => "one setter releases W waiters, `rounds` times: set-to-wake latency",
            TaskId::Condition => "ping-pong through a condition variable: round-trip latency",
        }
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// Declares a parameter struct: named integer fields with defaults for each profile (in the
/// order smoke, bench, quick, full), plus
/// access by name so that the CLI, the records and the sweeps can treat them generically.
macro_rules! params {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$fmeta:meta])* $field:ident : $ty:ty = [$smoke:expr, $bench:expr, $quick:expr, $full:expr] ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
        }

        impl $name {
            /// The parameter names, in the order records list them.
            pub const NAMES: &'static [&'static str] = &[$(stringify!($field)),*];

            /// The defaults of `profile`.
            pub fn profile(profile: Profile) -> Self {
                match profile {
                    Profile::Smoke => Self { $($field: $smoke),* },
                    Profile::Bench => Self { $($field: $bench),* },
                    Profile::Quick => Self { $($field: $quick),* },
                    Profile::Full => Self { $($field: $full),* },
                }
            }

            fn get(&self, name: &str) -> Option<u64> {
                match name {
                    $(stringify!($field) => Some(self.$field as u64),)*
                    _ => None,
                }
            }

            fn set(&mut self, name: &str, value: u64) -> Result<(), String> {
                match name {
                    $(stringify!($field) => {
                        self.$field = <$ty>::try_from(value)
                            .map_err(|_| format!("{} = {value} is out of range", stringify!($field)))?;
                        Ok(())
                    })*
                    _ => Err(format!("no parameter named `{name}` (it has: {})", Self::NAMES.join(", "))),
                }
            }
        }
    };
}

params! {
    /// `dnc/mergesort`: sort `n` keys, sequentially below `grain` keys.
    Mergesort {
        /// How many keys.
        n: usize = [20_000, 1_000_000, 4_000_000, 10_000_000],
        /// Runs of at most this many keys are sorted (and merged) sequentially.
        grain: usize = [1_000, 32_768, 32_768, 32_768],
    }
}

params! {
    /// `dnc/fib`: naive recursive `fib(n)`, sequential below `fib(grain)`.
    Fib {
        /// Which Fibonacci number.
        n: u32 = [22, 34, 38, 39],
        /// Subproblems `fib(k)` with `k <= grain` are computed sequentially.
        grain: u32 = [12, 20, 20, 20],
    }
}

params! {
    /// `dnc/nqueens`: count the solutions on an `n`×`n` board, splitting the first `split` rows.
    Nqueens {
        /// The board size.
        n: u32 = [7, 12, 12, 13],
        /// Boards with fewer than this many queens placed are split into parallel tasks.
        split: u32 = [2, 3, 3, 3],
    }
}

params! {
    /// `fanout/scatter`: `rounds` times, one request on each of `conns` open connections at once.
    Scatter {
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

params! {
    /// `fanout/crawl`: `requests` requests, each on a fresh connection, at most `concurrency`
    /// in flight; with `rate` > 0 requests start on a fixed schedule (open loop).
    Crawl {
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

params! {
    /// `pipeline/bounded`: `producers` → queue of `capacity` → `consumers`, `items` in all,
    /// `work` hash rounds per item in the consumer.
    Bounded {
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

params! {
    /// `sync/lock`: W workers make `increments` entries in all into one critical section that
    /// does `section` rounds of work on the shared state.
    Lock {
        /// Entries into the section, shared among the workers.
        increments: u64 = [20_000, 200_000, 500_000, 2_000_000],
        /// Rounds of mixing inside the section beyond the one that makes each entry's
        /// contribution (0: a counter and one mix).
        section: u32 = [4, 16, 16, 16],
    }
}

params! {
    /// `sync/semaphore`: W workers make `entries` entries in all into a section that at most
    /// `permits` occupy at once, each doing `section` rounds of work inside.
    Semaphore {
        /// Entries into the section, shared among the workers.
        entries: u64 = [2_000, 20_000, 50_000, 200_000],
        /// S: the semaphore's permits.
        permits: usize = [2, 2, 2, 2],
        /// Rounds of mixing inside the section.
        section: u32 = [16, 256, 256, 256],
    }
}

params! {
    /// `sync/barrier`: W workers compute `phases` phases of a stencil on a ring of `width`
    /// cells, a barrier between phases.
    Barrier {
        /// How many phases (and barriers).
        phases: u32 = [100, 1_000, 2_000, 5_000],
        /// Cells in the ring, split among the workers.
        width: usize = [64, 4_096, 4_096, 4_096],
    }
}

params! {
    /// `sync/event`: one setter releases W waiters, `rounds` times.
    Event {
        /// How many times the event is set.
        rounds: u32 = [100, 1_000, 2_000, 5_000],
    }
}

params! {
    /// `sync/condition`: two parties pass a ball through a condition variable `trips` times.
    Condition {
        /// Round trips.
        trips: u32 = [300, 10_000, 10_000, 20_000],
    }
}

impl Scatter {
    /// The request connection `conn` sends in round `round`.
    pub fn request(&self, round: u32, conn: usize) -> fanout::Request {
        fanout::Request {
            id: fanout::scatter_id(round, conn, self.conns),
            delay_us: self.delay_us,
            reply_len: self.reply_bytes,
        }
    }
}

impl Crawl {
    /// Request number `i`.
    pub fn request(&self, i: u64) -> fanout::Request {
        fanout::Request {
            id: i,
            delay_us: self.delay_us,
            reply_len: self.reply_bytes,
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

/// A task with its parameters: what one measurement cell runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Task {
    /// See [`Mergesort`].
    Mergesort(Mergesort),
    /// See [`Fib`].
    Fib(Fib),
    /// See [`Nqueens`].
    Nqueens(Nqueens),
    /// See [`Scatter`].
    Scatter(Scatter),
    /// See [`Crawl`].
    Crawl(Crawl),
    /// See [`Bounded`].
    Bounded(Bounded),
    /// See [`Lock`].
    Lock(Lock),
    /// See [`Semaphore`].
    Semaphore(Semaphore),
    /// See [`Barrier`].
    Barrier(Barrier),
    /// See [`Event`].
    Event(Event),
    /// See [`Condition`].
    Condition(Condition),
}

/// Applies `$body` to the parameter struct inside a [`Task`], whatever its type.
macro_rules! each {
    ($task:expr, $p:ident => $body:expr) => {
        match $task {
            Task::Mergesort($p) => $body,
            Task::Fib($p) => $body,
            Task::Nqueens($p) => $body,
            Task::Scatter($p) => $body,
            Task::Crawl($p) => $body,
            Task::Bounded($p) => $body,
            Task::Lock($p) => $body,
            Task::Semaphore($p) => $body,
            Task::Barrier($p) => $body,
            Task::Event($p) => $body,
            Task::Condition($p) => $body,
        }
    };
}

impl Task {
    /// Task `id` with the defaults of `profile`.
    pub fn new(id: TaskId, profile: Profile) -> Task {
        match id {
            TaskId::Mergesort => Task::Mergesort(Mergesort::profile(profile)),
            TaskId::Fib => Task::Fib(Fib::profile(profile)),
            TaskId::Nqueens => Task::Nqueens(Nqueens::profile(profile)),
            TaskId::Scatter => Task::Scatter(Scatter::profile(profile)),
            TaskId::Crawl => Task::Crawl(Crawl::profile(profile)),
            TaskId::Bounded => Task::Bounded(Bounded::profile(profile)),
            TaskId::Lock => Task::Lock(Lock::profile(profile)),
            TaskId::Semaphore => Task::Semaphore(Semaphore::profile(profile)),
            TaskId::Barrier => Task::Barrier(Barrier::profile(profile)),
            TaskId::Event => Task::Event(Event::profile(profile)),
            TaskId::Condition => Task::Condition(Condition::profile(profile)),
        }
    }

    /// Which task this is.
    pub fn id(&self) -> TaskId {
        match self {
            Task::Mergesort(_) => TaskId::Mergesort,
            Task::Fib(_) => TaskId::Fib,
            Task::Nqueens(_) => TaskId::Nqueens,
            Task::Scatter(_) => TaskId::Scatter,
            Task::Crawl(_) => TaskId::Crawl,
            Task::Bounded(_) => TaskId::Bounded,
            Task::Lock(_) => TaskId::Lock,
            Task::Semaphore(_) => TaskId::Semaphore,
            Task::Barrier(_) => TaskId::Barrier,
            Task::Event(_) => TaskId::Event,
            Task::Condition(_) => TaskId::Condition,
        }
    }

    /// The parameter names of this task.
    pub fn param_names(&self) -> &'static [&'static str] {
        match self.id() {
            TaskId::Mergesort => Mergesort::NAMES,
            TaskId::Fib => Fib::NAMES,
            TaskId::Nqueens => Nqueens::NAMES,
            TaskId::Scatter => Scatter::NAMES,
            TaskId::Crawl => Crawl::NAMES,
            TaskId::Bounded => Bounded::NAMES,
            TaskId::Lock => Lock::NAMES,
            TaskId::Semaphore => Semaphore::NAMES,
            TaskId::Barrier => Barrier::NAMES,
            TaskId::Event => Event::NAMES,
            TaskId::Condition => Condition::NAMES,
        }
    }

    /// The parameters as `(name, value)` pairs, in declaration order.
    pub fn params(&self) -> Vec<(&'static str, u64)> {
        self.param_names()
            .iter()
            .map(|&name| (name, self.get(name).expect("a declared name")))
            .collect()
    }

    /// One parameter by name.
    pub fn get(&self, name: &str) -> Option<u64> {
        each!(self, p => p.get(name))
    }

    /// Sets one parameter by name; the task is not validated until [`Task::validate`].
    pub fn set(&mut self, name: &str, value: u64) -> Result<(), String> {
        each!(self, p => p.set(name, value)).map_err(|e| format!("{}: {e}", self.id()))
    }

    /// Checks the parameters against the limits that keep a cell meaningful and finite.
    ///
    /// Machine limits (memory, open files) are the harness's to check, from
    /// [`Task::memory_bytes`] and [`Task::sockets`].
    pub fn validate(&self) -> Result<(), String> {
        let fail = |msg: String| Err(format!("{}: {msg}", self.id()));
        match self {
            Task::Mergesort(p) if p.grain == 0 => fail("grain must be at least 1".into()),
            Task::Fib(p) if p.n > 50 => fail(format!(
                "n = {} is too large: naive fib(n) past 50 runs for hours",
                p.n
            )),
            Task::Nqueens(p) if p.n > 18 => fail(format!(
                "n = {} is too large: past 18 a sequential count runs for hours",
                p.n
            )),
            Task::Nqueens(p) if p.split > p.n => {
                fail(format!("split = {} exceeds n = {}", p.split, p.n))
            }
            Task::Scatter(p) if p.conns == 0 || p.rounds == 0 => {
                fail("conns and rounds must be at least 1".into())
            }
            Task::Scatter(Scatter { reply_bytes, .. }) | Task::Crawl(Crawl { reply_bytes, .. })
                if *reply_bytes > MAX_REPLY_LEN =>
            {
                fail(format!(
                    "reply_bytes = {reply_bytes} exceeds the protocol's maximum of {MAX_REPLY_LEN}"
                ))
            }
            Task::Scatter(Scatter { timeout_ms, .. }) | Task::Crawl(Crawl { timeout_ms, .. })
                if *timeout_ms == 0 =>
            {
                fail("timeout_ms must be at least 1".into())
            }
            Task::Crawl(p) if p.concurrency == 0 => fail("concurrency must be at least 1".into()),
            Task::Crawl(p) if p.requests > 10_000_000 => fail(format!(
                "requests = {} is too many: every request opens a connection",
                p.requests
            )),
            Task::Bounded(p) if p.producers == 0 || p.consumers == 0 || p.capacity == 0 => {
                fail("producers, consumers and capacity must each be at least 1".into())
            }
            Task::Semaphore(p) if p.permits == 0 => fail("permits must be at least 1".into()),
            Task::Barrier(p) if p.width == 0 => fail("width must be at least 1".into()),
            _ => Ok(()),
        }
    }

    /// A generous estimate of the memory one cell needs, for the harness's up-front check.
    pub fn memory_bytes(&self) -> u64 {
        match self {
            // The pristine keys, the repetition's copy, the scratch buffer, and the parent's
            // sorted copy for the reference.
            Task::Mergesort(p) => 4 * 8 * p.n as u64,
            Task::Scatter(p) => p.conns as u64 * (64 * 1024 + u64::from(p.reply_bytes)),
            Task::Crawl(p) => p.concurrency as u64 * (64 * 1024 + u64::from(p.reply_bytes)),
            Task::Bounded(p) => p.capacity as u64 * std::mem::size_of::<Item>() as u64,
            // Two buffers of cells, the reference's two and the phase log.
            Task::Barrier(p) => 4 * 8 * p.width as u64,
            _ => 0,
        }
    }

    /// How many sockets a client of this task holds open at once (and so does the server).
    pub fn sockets(&self) -> u64 {
        match self {
            Task::Scatter(p) => p.conns as u64,
            Task::Crawl(p) => p.concurrency as u64,
            _ => 0,
        }
    }

    /// Whether the task talks to the loopback server.
    pub fn needs_server(&self) -> bool {
        self.id().family() == Family::Fanout
    }

    /// How many units of throughput one repetition moves (requests or items), if it has any.
    pub fn units(&self) -> Option<u64> {
        match self {
            Task::Scatter(p) => Some(p.conns as u64 * u64::from(p.rounds)),
            Task::Crawl(p) => Some(p.requests),
            Task::Bounded(p) => Some(p.items),
            Task::Lock(p) => Some(p.increments),
            Task::Semaphore(p) => Some(p.entries),
            Task::Barrier(p) => Some(u64::from(p.phases)),
            Task::Event(p) => Some(u64::from(p.rounds)),
            Task::Condition(p) => Some(u64::from(p.trips)),
            _ => None,
        }
    }

    /// The input of one repetition, made outside the timed region.
    pub fn input(&self) -> Input {
        match self {
            Task::Mergesort(p) => Input::Keys(mergesort::keys(p.n)),
            _ => Input::Nothing,
        }
    }

    /// The checksum a correct run produces, computed by the sequential reference.
    pub fn expected_checksum(&self) -> u64 {
        match self {
            Task::Mergesort(p) => {
                let mut keys = mergesort::keys(p.n);
                keys.sort_unstable();
                mergesort::checksum(&keys)
            }
            Task::Fib(p) => fib::closed(p.n),
            Task::Nqueens(p) => nqueens::sequential(p.n),
            Task::Scatter(p) => (0..p.rounds)
                .flat_map(|r| (0..p.conns).map(move |k| p.request(r, k)))
                .map(|req| fanout::expected_digest(req.id, req.reply_len as usize))
                .fold(Tally::new(), |mut t, d| {
                    t.add(d);
                    t
                })
                .checksum(),
            Task::Crawl(p) => (0..p.requests)
                .map(|i| fanout::expected_digest(i, p.reply_bytes as usize))
                .fold(Tally::new(), |mut t, d| {
                    t.add(d);
                    t
                })
                .checksum(),
            Task::Bounded(p) => {
                let epoch = std::time::Instant::now();
                let mut tally = Tally::new();
                (0..p.items).for_each(|seq| tally.add(Item::new(seq, p.work, epoch).work()));
                tally.checksum()
            }
            Task::Lock(p) => sync::lock::reference(p.increments, p.section).checksum(),
            Task::Semaphore(p) => sync::semaphore::reference(p.entries, p.section).checksum(),
            Task::Barrier(p) => sync::barrier::reference(p.width, p.phases),
            Task::Event(p) => sync::event::reference(p.rounds),
            Task::Condition(p) => sync::condition::reference(p.trips),
        }
    }

    /// The checksum of a backend's answer, to compare with [`Task::expected_checksum`].
    pub fn checksum(&self, answer: &Answer) -> u64 {
        match answer {
            Answer::Sorted(keys) => mergesort::checksum(keys),
            Answer::Value(v) => *v,
            Answer::Tally(t) => t.checksum(),
        }
    }
}

impl fmt::Display for Task {
    /// `dnc/fib n=36 grain=20`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.id())?;
        for (name, value) in self.params() {
            write!(f, " {name}={value}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_both_ways() {
        for id in TaskId::ALL {
            assert_eq!(TaskId::parse(id.short()), Some(id));
            assert_eq!(TaskId::parse(&id.name()), Some(id));
        }
        assert_eq!(TaskId::parse("nope"), None);
    }

    #[test]
    fn every_profile_is_valid() {
        for id in TaskId::ALL {
            for profile in Profile::ALL {
                Task::new(id, profile).validate().unwrap();
            }
        }
    }

    #[test]
    fn params_are_set_by_name_and_checked() {
        let mut task = Task::new(TaskId::Fib, Profile::Smoke);
        task.set("n", 10).unwrap();
        assert_eq!(task.get("n"), Some(10));
        assert!(
            task.set("depth", 1)
                .unwrap_err()
                .contains("no parameter named `depth`")
        );
        assert!(
            task.set("n", u64::MAX)
                .unwrap_err()
                .contains("out of range")
        );
        task.set("n", 60).unwrap();
        assert!(task.validate().unwrap_err().contains("too large"));
        assert_eq!(task.to_string(), "dnc/fib n=60 grain=12");
    }

    #[test]
    fn zero_sizes_are_refused_where_they_make_no_sense() {
        for (id, name) in [
            (TaskId::Bounded, "capacity"),
            (TaskId::Bounded, "producers"),
            (TaskId::Crawl, "concurrency"),
            (TaskId::Scatter, "conns"),
            (TaskId::Semaphore, "permits"),
            (TaskId::Barrier, "width"),
        ] {
            let mut task = Task::new(id, Profile::Smoke);
            task.set(name, 0).unwrap();
            assert!(task.validate().is_err(), "{id} {name} = 0");
        }
    }

    #[test]
    fn open_loop_schedule_is_evenly_spaced() {
        let mut crawl = Crawl::profile(Profile::Smoke);
        assert_eq!(crawl.scheduled_start(3), None);
        crawl.rate = 1000;
        assert_eq!(
            crawl.scheduled_start(3),
            Some(std::time::Duration::from_millis(3))
        );
    }
}
