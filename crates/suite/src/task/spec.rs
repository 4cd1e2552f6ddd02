//! The words a task is declared in: the [`Profile`]s its defaults come in, the [`Family`] it
//! belongs to, its [`Spec`], the [`Params`] behaviour every parameter struct has, and the
//! `task!` macro a catalogue entry is written with. A leaf: the catalogue uses it, and nothing
//! here knows any one task.

use crate::outcome::Input;

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
    /// Every family, in the order tables list them.
    pub const ALL: [Family; 4] = [Family::Dnc, Family::Fanout, Family::Pipeline, Family::Sync];

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
    /// p50 and a tail percentile of the latency samples.
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
    /// `p50 / tail round latency` (the tail: p99, p90 or max, whichever the sample count supports).
    pub fn headline_words(&self) -> String {
        match (self.headline, self.units, self.latency) {
            (Metric::Throughput, Some(units), _) => format!("{units} per second"),
            (Metric::Latency, _, Some(latency)) => format!("p50 / tail {latency}"),
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
    /// How many latency samples one correct repetition on `workers` records (what one sample
    /// is, [`Spec::latency`] says).
    fn latency_samples(&self, workers: usize) -> u64 {
        let _ = workers;
        0
    }
    /// The input of one repetition, made outside the timed region.
    fn input(&self) -> Input {
        Input::Nothing
    }
    /// The worker count the task itself fixes, if it does: every model then runs at this W
    /// (the pipeline's P + C stages, the condition's two parties), so no row of the task is
    /// measured at a W that means something else to another model.
    fn fixed_workers(&self) -> Option<usize> {
        None
    }
    /// The checksum a correct run produces, computed by the sequential reference.
    fn expected_checksum(&self) -> u64;
}

/// Declares a task's parameter struct: its [`Spec`], then named integer fields with defaults
/// for each profile (in the order smoke, bench, quick, full), with access by name so that the
/// CLI, the records and the sweeps can treat every task alike.
macro_rules! task {
    (
        $(#[$meta:meta])*
        $name:ident = $spec:expr;
        {
            $( $(#[$fmeta:meta])* $field:ident : $ty:ty = [$smoke:expr, $bench:expr, $quick:expr, $full:expr] ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
        }

        impl $name {
            /// What the task is, whatever its parameters.
            pub const SPEC: Spec = $spec;

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
        }

        impl Named for $name {
            fn names(&self) -> &'static [&'static str] {
                Self::NAMES
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

pub(super) use task;
