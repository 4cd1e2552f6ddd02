//! The cell's cores: one single-threaded compio [`Runtime`] per thread, built on that thread,
//! pinned where the OS allows ([`percore::Cores`]), and the IO driver they use, asked of them.
//!
//! Every other module of this crate starts its cores here ([`start`]), wraps its runner with
//! [`noted`] so that each outcome says which driver did the IO, and hands each core its part of
//! a repetition through [`Parcels`].

use std::sync::{Mutex, PoisonError};

use compio::driver::DriverType;
use compio::runtime::Runtime;
use shootout_suite::percore::{self, Cores};
use shootout_suite::{Failure, Input, Outcome, Runner, runner};

/// The prefix of the per-core threads' names (`compio-core-0`, …).
pub const THREAD_PREFIX: &str = "compio-core";

/// The name of the fact every outcome of this backend carries: the IO driver of its runtimes.
pub const DRIVER_FACT: &str = "io driver";

/// The IO driver a compio runtime built here uses, asked of a runtime built for the purpose:
/// `io-uring` where the kernel accepts compio's io_uring operations, `poll` (epoll, through
/// the `polling` crate) where it does not. For the harness's machine facts.
pub fn driver() -> Result<&'static str, Failure> {
    let runtime = Runtime::new().map_err(|e| Failure::context("building a compio runtime", e))?;
    driver_name(runtime.driver_type())
}

/// The name of a driver this crate's features allow: anything else is a failure, never a guess.
pub fn driver_name(driver: DriverType) -> Result<&'static str, Failure> {
    match driver {
        DriverType::IoUring => Ok("io-uring"),
        DriverType::Poll => Ok("poll"),
        other => Err(Failure::new(format!(
            "compio chose the {other:?} driver, which this backend does not know"
        ))),
    }
}

/// One core's state: its runtime, the driver it chose, and what the variant keeps there (a
/// scatter's connections).
pub struct Core<S> {
    /// The core's own runtime; every future of the core runs on it, nothing moves off it.
    pub rt: Runtime,
    /// The variant's state on this core.
    pub own: S,
    driver: &'static str,
}

/// `n` cores, each building its runtime on its own thread and then its state with
/// `make(i, &runtime)` (a scatter opens its share of connections there); returns them with the
/// driver they all use. Cores that chose different drivers fail the setup.
pub fn start<S, F>(n: usize, make: F) -> Result<(Cores<Core<S>>, &'static str), Failure>
where
    S: 'static,
    F: Fn(usize, &Runtime) -> Result<S, Failure> + Send + Sync + 'static,
{
    let cores = Cores::start(n, THREAD_PREFIX, move |i| {
        let rt = Runtime::new()
            .map_err(|e| Failure::context(&format!("building the runtime of core {i}"), e))?;
        let driver = driver_name(rt.driver_type())?;
        let own = make(i, &rt)?;
        Ok(Core { rt, own, driver })
    })?;
    let drivers = cores.each(|_, core: &Core<S>| core.driver);
    let driver = drivers[0];
    if let Some(other) = drivers.iter().find(|d| **d != driver) {
        return Err(Failure::new(format!(
            "the cores chose different IO drivers: {driver} and {other}"
        )));
    }
    Ok((cores, driver))
}

/// The runner of a variant: `run` per repetition, its outcome noting the cell's IO driver.
pub fn noted(
    driver: &'static str,
    mut run: impl FnMut(Input) -> Result<Outcome, Failure> + 'static,
) -> Result<Runner, Failure> {
    runner(move |input| run(input).map(|outcome| outcome.noting(DRIVER_FACT, driver)))
}

/// One parcel per core, each taken once by its core during a job: how a repetition hands a
/// core what it owns (keys to sort, a channel's sender) without the job's closure keeping it.
///
/// A job's closure lives on its core's thread until just after the core has answered, so a
/// `Sender` it captured would keep a channel open past the end of the work, and a buffer it
/// captured could not be taken back at once. A parcel taken out of its slot is the core's
/// alone, and dropped or returned when its job ends.
pub struct Parcels<T> {
    slots: Mutex<Vec<Option<T>>>,
}

impl<T> Parcels<T> {
    /// The parcels, the `i`-th for core `i`.
    pub fn new(parcels: impl IntoIterator<Item = T>) -> Self {
        Self {
            slots: Mutex::new(parcels.into_iter().map(Some).collect()),
        }
    }

    /// Core `i`'s parcel (`None` if there is none, or it was taken).
    pub fn take(&self, i: usize) -> Option<T> {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        slots.get_mut(i).and_then(Option::take)
    }
}

/// Core `i`'s share of `0..len` divided among `parts` (the suite's [`percore::share`]).
pub fn share(len: usize, parts: usize, i: usize) -> std::ops::Range<usize> {
    percore::share(len, parts, i)
}
