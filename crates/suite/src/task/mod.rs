//! The task catalogue: names, typed parameters, profiles, validation, inputs and references.
//!
//! Every task is declared once, in [`catalogue`](self): its [`Spec`] (what it is, its units,
//! what its latency means, its headline metric, what W means to it), its parameters with their
//! defaults per [`Profile`], and its [`Params`] behaviour. [`TaskId`] and [`Task`] are made
//! from the list below by one macro, so nothing here lists the tasks a second time.

use std::fmt;

use crate::dnc::mergesort;
use crate::outcome::{Answer, Input};

mod catalogue;
mod spec;

pub use catalogue::{
    Barrier, Bounded, Condition, Crawl, Event, Fib, Lock, Mergesort, Nqueens, Scatter, Semaphore,
};
pub use spec::{Family, Metric, Named, Params, Profile, Spec};

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

        $(
            impl TryFrom<Task> for $id {
                /// The task it was instead.
                type Error = TaskId;

                fn try_from(task: Task) -> Result<Self, TaskId> {
                    match task {
                        Task::$id(p) => Ok(p),
                        other => Err(other.id()),
                    }
                }
            }
        )*
    };
}

catalogue!(
    Mergesort, Fib, Nqueens, Scatter, Crawl, Bounded, Lock, Semaphore, Barrier, Event, Condition,
);

impl TaskId {
    /// Whether the task fixes the worker count for every model (whatever its parameters; the
    /// count itself is [`Task::fixed_workers`]).
    pub fn fixes_workers(self) -> bool {
        Task::new(self, Profile::Smoke).fixed_workers().is_some()
    }

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

    /// How many latency samples one correct repetition on `workers` records.
    pub fn latency_samples(&self, workers: usize) -> u64 {
        self.params_dyn().latency_samples(workers)
    }

    /// The worker count the task fixes for every model, if it does (see
    /// [`Params::fixed_workers`]).
    pub fn fixed_workers(&self) -> Option<usize> {
        self.params_dyn().fixed_workers()
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
