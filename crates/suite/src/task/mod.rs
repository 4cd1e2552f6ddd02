//! The task catalogue: names, typed parameters, profiles, validation, inputs and references.
//!
//! Every task is declared once, in [`catalogue`](self): its [`Spec`] (what it is, its units,
//! what its latency means, its headline metric, what W means to it), its parameters with their
//! defaults per [`Profile`], and its [`Params`] behaviour. [`TaskId`] and [`Task`] are made
//! from the list below by one macro, so nothing here lists the tasks a second time.

use std::fmt;

use crate::backend::{Answer, Input};
use crate::dnc::mergesort;

mod catalogue;

pub use catalogue::{
    Barrier, Bounded, Condition, Crawl, Event, Fib, Lock, Mergesort, Nqueens, Scatter, Semaphore,
};

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

/// What a task's headline figure is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// The sequential baseline's time over the cell's (CPU-bound work).
    Speedup,
    /// Units moved per second.
    Throughput,
    /// p50 / p99 of the latency samples.
    Latency,
}

/// What a task is, whatever its parameters: declared once with the task, read by the CLI, the
/// reports and the headline.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    /// The short name, unique across families.
    pub short: &'static str,
    /// The family, which names the backend source file.
    pub family: Family,
    /// What the task models, in one line.
    pub about: &'static str,
    /// What one unit of throughput is (`requests`, `items`, `entries`, …), if it has any.
    pub units: Option<&'static str>,
    /// What one latency sample measures, if the task records latencies.
    pub latency: Option<&'static str>,
    /// The figure the headline shows.
    pub headline: Metric,
    /// The parameters the headline names beside the task.
    pub headline_params: &'static [&'static str],
    /// What the worker count W means for the task.
    pub workers: &'static str,
}

impl Spec {
    /// The headline's figure in words: `speedup over sequential`, `items per second`,
    /// `p50 / p99 round latency`.
    pub fn headline_words(&self) -> String {
        match (self.headline, self.units, self.latency) {
            (Metric::Throughput, Some(units), _) => format!("{units} per second"),
            (Metric::Latency, _, Some(latency)) => format!("p50 / p99 {latency}"),
            _ => "speedup over sequential".into(),
        }
    }
}

/// Parameter access by name, written by the `task!` macro for every task.
pub trait Named {
    /// The parameter names, in the order records list them.
    fn names(&self) -> &'static [&'static str];
    /// One parameter by name.
    fn get(&self, name: &str) -> Option<u64>;
    /// Sets one parameter by name.
    fn set(&mut self, name: &str, value: u64) -> Result<(), String>;
}

/// What follows from a task's parameters; the defaults fit a task that needs nothing.
pub trait Params: Named {
    /// Checks the parameters against the limits that keep a cell meaningful and finite.
    fn validate(&self) -> Result<(), String> {
        Ok(())
    }
    /// A generous estimate of the memory one cell needs.
    fn memory_bytes(&self) -> u64 {
        0
    }
    /// How many sockets a client holds open at once (and so does the server).
    fn sockets(&self) -> u64 {
        0
    }
    /// How many units of throughput one repetition moves, if it has any.
    fn units(&self) -> Option<u64> {
        None
    }
    /// The input of one repetition, made outside the timed region.
    fn input(&self) -> Input {
        Input::Nothing
    }
    /// The checksum a correct run produces, computed by the sequential reference.
    fn expected_checksum(&self) -> u64;
}

/// Makes [`TaskId`] and [`Task`] from the one list of task names; each name is also the
/// name of its parameter struct in [`catalogue`](self).
macro_rules! catalogue {
    ($($id:ident),* $(,)?) => {
        /// Names one task of the suite.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum TaskId {
            $(
                #[doc = concat!("See [`", stringify!($id), "`].")]
                $id,
            )*
        }

        impl TaskId {
            /// Every task, in the order tables list them.
            pub const ALL: [TaskId; [$(stringify!($id)),*].len()] = [$(TaskId::$id),*];

            /// What the task is.
            pub fn spec(self) -> &'static Spec {
                match self {
                    $(TaskId::$id => &$id::SPEC,)*
                }
            }
        }

        /// A task with its parameters: what one measurement cell runs.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Task {
            $(
                #[doc = concat!("See [`", stringify!($id), "`].")]
                $id($id),
            )*
        }

        impl Task {
            /// Task `id` with the defaults of `profile`.
            pub fn new(id: TaskId, profile: Profile) -> Task {
                match id {
                    $(TaskId::$id => Task::$id($id::profile(profile)),)*
                }
            }

            /// Which task this is.
            pub fn id(&self) -> TaskId {
                match self {
                    $(Task::$id(_) => TaskId::$id,)*
                }
            }

            /// The parameters, whatever the task.
            fn params_dyn(&self) -> &dyn Params {
                match self {
                    $(Task::$id(p) => p,)*
                }
            }

            fn params_dyn_mut(&mut self) -> &mut dyn Params {
                match self {
                    $(Task::$id(p) => p,)*
                }
            }
        }
    };
}

catalogue!(
    Mergesort, Fib, Nqueens, Scatter, Crawl, Bounded, Lock, Semaphore, Barrier, Event, Condition,
);

impl TaskId {
    /// The short name, unique across families.
    pub fn short(self) -> &'static str {
        self.spec().short
    }

    /// The task's family.
    pub fn family(self) -> Family {
        self.spec().family
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
        self.spec().about
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl Task {
    /// The parameter names of this task.
    pub fn param_names(&self) -> &'static [&'static str] {
        self.params_dyn().names()
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
        self.params_dyn().get(name)
    }

    /// Sets one parameter by name; the task is not validated until [`Task::validate`].
    pub fn set(&mut self, name: &str, value: u64) -> Result<(), String> {
        let id = self.id();
        self.params_dyn_mut()
            .set(name, value)
            .map_err(|e| format!("{id}: {e}"))
    }

    /// Checks the parameters against the limits that keep a cell meaningful and finite.
    ///
    /// Machine limits (memory, open files) are the harness's to check, from
    /// [`Task::memory_bytes`] and [`Task::sockets`].
    pub fn validate(&self) -> Result<(), String> {
        self.params_dyn()
            .validate()
            .map_err(|e| format!("{}: {e}", self.id()))
    }

    /// A generous estimate of the memory one cell needs, for the harness's up-front check.
    pub fn memory_bytes(&self) -> u64 {
        self.params_dyn().memory_bytes()
    }

    /// How many sockets a client of this task holds open at once (and so does the server).
    pub fn sockets(&self) -> u64 {
        self.params_dyn().sockets()
    }

    /// Whether the task talks to the loopback server.
    pub fn needs_server(&self) -> bool {
        self.id().family() == Family::Fanout
    }

    /// How many units of throughput one repetition moves (requests or items), if it has any.
    pub fn units(&self) -> Option<u64> {
        self.params_dyn().units()
    }

    /// The input of one repetition, made outside the timed region.
    pub fn input(&self) -> Input {
        self.params_dyn().input()
    }

    /// The checksum a correct run produces, computed by the sequential reference.
    pub fn expected_checksum(&self) -> u64 {
        self.params_dyn().expected_checksum()
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
mod tests;
