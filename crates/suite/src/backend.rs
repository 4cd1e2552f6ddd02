//! The contract between the harness and a backend.
//!
//! The harness knows no backend by name: it asks each registered [`Backend`] which variants
//! it offers for a task ([`Backend::support`]), builds a cell with [`Backend::setup`] (untimed:
//! runtimes, pools and connections are made here), then calls the returned [`Runner`] once per
//! repetition and times only that call.

use std::fmt;
use std::net::SocketAddr;

use crate::Tally;
use crate::task::{Task, TaskId};

/// A concurrency model: one crate of the workspace.
pub trait Backend: Sync {
    /// The backend's name on the command line and in the tables (`threads`, `rayon`, …).
    fn name(&self) -> &'static str;

    /// What the backend shows, in one line.
    fn about(&self) -> &'static str;

    /// The variants this backend offers for `task`, or why it does not run it.
    fn support(&self, task: TaskId) -> Support;

    /// Prepares `cell` for measurement; everything done here is reported as setup time.
    ///
    /// The harness only calls this for a variant that [`Backend::support`] lists.
    fn setup(&self, cell: &Cell) -> Result<Runner, Failure>;
}

/// The timed part of a cell: called once per repetition with a fresh input.
pub type Runner = Box<dyn FnMut(Input) -> Result<Outcome, Failure>>;

/// Wraps a closure as a [`Runner`].
pub fn runner(
    f: impl FnMut(Input) -> Result<Outcome, Failure> + 'static,
) -> Result<Runner, Failure> {
    Ok(Box::new(f))
}

/// One way a backend runs a task, named for the idiom it shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Variant {
    /// The name on the command line (`scope`, `crossbeam`, `par-sort`, …).
    pub name: &'static str,
    /// When a practitioner would choose this idiom, in one line.
    pub about: &'static str,
}

/// Whether a backend runs a task.
#[derive(Clone, Copy, Debug)]
pub enum Support {
    /// It does, in these variants (never empty).
    Variants(&'static [Variant]),
    /// It does not, for this reason.
    NotApplicable(&'static str),
}

impl Support {
    /// The variants offered (none if not applicable).
    pub fn variants(&self) -> &'static [Variant] {
        match self {
            Support::Variants(v) => v,
            Support::NotApplicable(_) => &[],
        }
    }

    /// The variant called `name`, if offered.
    pub fn find(&self, name: &str) -> Option<Variant> {
        self.variants().iter().copied().find(|v| v.name == name)
    }
}

/// Everything a backend needs to set up one measurement cell.
#[derive(Clone, Debug)]
pub struct Cell {
    /// The task and its parameters.
    pub task: Task,
    /// Which of the backend's variants.
    pub variant: String,
    /// How many OS threads (or processes) do the work: the same meaning for every backend.
    pub workers: usize,
    /// The loopback server's address, for fan-out tasks.
    pub server: Option<SocketAddr>,
}

impl Cell {
    /// The server address, or a failure naming the missing piece.
    pub fn server(&self) -> Result<SocketAddr, Failure> {
        self.server.ok_or_else(|| {
            Failure::new(format!(
                "{} needs a loopback server address",
                self.task.id()
            ))
        })
    }

    /// The failure for a `(task, variant)` pair the backend did not expect.
    pub fn unsupported(&self, backend: &dyn Backend) -> Failure {
        Failure::new(format!(
            "{} has no variant `{}` for {}",
            backend.name(),
            self.variant,
            self.task.id()
        ))
    }
}

/// The input of one repetition, made by [`Task::input`] outside the timed region.
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
}

impl Outcome {
    /// An outcome with no latency samples.
    pub fn new(answer: Answer) -> Self {
        Self {
            answer,
            latencies_ns: Vec::new(),
        }
    }

    /// An outcome with latency samples.
    pub fn with_latencies(answer: Answer, latencies_ns: Vec<u64>) -> Self {
        Self {
            answer,
            latencies_ns,
        }
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
