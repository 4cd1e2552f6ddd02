//! What crosses the line between a runner and the harness: the repetition's [`Input`], the
//! [`Outcome`] it produced (an [`Answer`] to verify and latency samples), or the [`Failure`]
//! that stopped it. A leaf: it knows nothing of tasks or backends.

use std::fmt;

use crate::Tally;

/// The input of one repetition, made by [`Task::input`](crate::Task::input) outside the timed region.
#[derive(Clone, Debug)]
pub enum Input {
    /// The task needs no data (it is derived from its parameters).
    Nothing,
    /// Keys to sort in place.
    Keys(Vec<u64>),
}

impl Input {
    /// The keys to sort (empty for tasks without keys).
    pub fn into_keys(self) -> Vec<u64> {
        match self {
            Input::Keys(keys) => keys,
            Input::Nothing => Vec::new(),
        }
    }
}

/// What a repetition produced: the answer to verify and, where the task has one, latencies.
#[derive(Debug)]
pub struct Outcome {
    /// The result whose checksum must equal the reference.
    pub answer: Answer,
    /// Latency samples in nanoseconds (rounds, requests or sampled items); may be empty.
    pub latencies_ns: Vec<u64>,
    /// Where the parties ran, for the sync tasks whose meaning depends on it (which thread a
    /// wake-up landed on, how many threads ran a barrier's phases); `None` elsewhere.
    pub whereabouts: Option<Whereabouts>,
    /// Facts about how the repetition ran that its records must keep, as `(name, value)`: the
    /// IO driver a runtime chose at run time (compio: `io-uring` or `poll`), a coroutine's
    /// stack size. Empty for most backends.
    pub facts: Vec<(&'static str, String)>,
}

impl Outcome {
    /// An outcome with no latency samples.
    pub fn new(answer: Answer) -> Self {
        Self {
            answer,
            latencies_ns: Vec::new(),
            whereabouts: None,
            facts: Vec::new(),
        }
    }

    /// A single number as the answer (`fib(n)`, a solution count, a checksum).
    pub fn value(v: u64) -> Self {
        Self::new(Answer::Value(v))
    }

    /// Sorted keys as the answer.
    pub fn sorted(keys: Vec<u64>) -> Self {
        Self::new(Answer::Sorted(keys))
    }

    /// A tally of replies or items as the answer.
    pub fn tally(tally: Tally) -> Self {
        Self::new(Answer::Tally(tally))
    }

    /// An outcome with latency samples.
    pub fn with_latencies(answer: Answer, latencies_ns: Vec<u64>) -> Self {
        Self {
            answer,
            latencies_ns,
            whereabouts: None,
            facts: Vec::new(),
        }
    }

    /// The outcome with where its parties ran.
    pub fn placed(self, whereabouts: Whereabouts) -> Self {
        Self {
            whereabouts: Some(whereabouts),
            ..self
        }
    }

    /// The outcome with one more fact about how it ran (see [`Outcome::facts`]).
    pub fn noting(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.facts.push((name, value.into()));
        self
    }
}

/// What a repetition (or one worker's share of it) collects when its answer is a tally: the
/// tally and its latency samples. A fan-out client calls it its [`Report`](crate::fanout::Report),
/// a pipeline consumer what it [`Consumed`](crate::pipeline::Consumed); each family adds the
/// one method that fills it.
#[derive(Debug, Default)]
pub struct Collected {
    /// The order-independent checksum accumulator.
    pub tally: Tally,
    /// Latency samples, in nanoseconds.
    pub latencies_ns: Vec<u64>,
}

impl Collected {
    /// Adds what another worker collected.
    pub fn merge(&mut self, other: Collected) {
        self.tally.merge(other.tally);
        self.latencies_ns.extend(other.latencies_ns);
    }

    /// The repetition's outcome: the tally as the answer, with the latencies.
    pub fn into_outcome(self) -> Outcome {
        Outcome::with_latencies(Answer::Tally(self.tally), self.latencies_ns)
    }
}

impl FromIterator<Collected> for Collected {
    fn from_iter<I: IntoIterator<Item = Collected>>(iter: I) -> Self {
        iter.into_iter().fold(Collected::default(), |mut acc, c| {
            acc.merge(c);
            acc
        })
    }
}

/// A backend's answer, before it is reduced to a checksum.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    /// The sorted keys (checksummed outside the timed region).
    Sorted(Vec<u64>),
    /// A single number: `fib(n)`, a solution count.
    Value(u64),
    /// An order-independent tally of replies or items.
    Tally(Tally),
}

/// Why a cell could not be set up or a repetition failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure(String);

impl Failure {
    /// A failure with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }

    /// Wraps any error with what was being done.
    pub fn context(what: &str, err: impl fmt::Display) -> Self {
        Self(format!("{what}: {err}"))
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Failure {}

impl From<std::io::Error> for Failure {
    fn from(err: std::io::Error) -> Self {
        Self(err.to_string())
    }
}

/// How many of a party's wake-ups ran on the thread of the party that woke it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Placement {
    /// Wake-ups on the waker's own thread.
    pub same_thread: u64,
    /// Wake-ups in all.
    pub wakes: u64,
}

impl Placement {
    /// Adds another party's counts.
    pub fn merge(&mut self, other: Placement) {
        self.same_thread += other.same_thread;
        self.wakes += other.wakes;
    }
}

/// Where a repetition's parties ran, as a backend reports it beside its answer: checked or
/// tallied wake-ups (event, condition), or the thread each barrier party ran each phase on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Whereabouts {
    /// The wake-ups, and how many ran on the waker's thread.
    Wakes(Placement),
    /// Per party, the [`thread_tag`](crate::wake::thread_tag) it ran each phase on: collected in the timed region (one
    /// push per phase), counted after it ([`Whereabouts::phase_threads`]).
    Phases(Vec<Vec<u64>>),
}

impl Whereabouts {
    /// For phases: how many distinct threads ran the parties, summed over the phases, and the
    /// number of phases (the mean is how many parties really ran at once, at most).
    pub fn phase_threads(&self) -> Option<(u64, u64)> {
        let Whereabouts::Phases(parties) = self else {
            return None;
        };
        let phases = parties.iter().map(Vec::len).max().unwrap_or(0);
        let mut threads = 0;
        let mut tags: Vec<u64> = Vec::with_capacity(parties.len());
        for phase in 0..phases {
            tags.clear();
            tags.extend(parties.iter().filter_map(|party| party.get(phase).copied()));
            tags.sort_unstable();
            tags.dedup();
            threads += tags.len() as u64;
        }
        Some((threads, phases as u64))
    }
}
