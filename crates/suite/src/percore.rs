//! Thread per core: N threads, each owning a runtime built on it and never shared, and the one
//! way a repetition hands every core its part and collects what each computed.
//!
//! The thread-per-core model (compio, monoio, glommio; tokio's current-thread runtimes one per
//! thread) shares nothing between its threads: each runs a single-threaded runtime, its tasks
//! and sockets never move, and no scheduler steals work from another core. What is shared is
//! the division of the work, decided before it starts. [`Cores`] is that skeleton without a
//! runtime in it, so that every per-core backend divides work, pins threads and reports panics
//! the same way and differs only in the runtime each core builds.
//!
//! A core's state (its runtime, the sockets registered with it) is made on its own thread by
//! the `make` function given to [`Cores::start`] and lives there until the `Cores` is dropped:
//! it need not be `Send`, as a compio runtime is not. A repetition calls [`Cores::each`], which
//! sends one job to every core through the core's own channel and waits for every answer on one
//! shared channel: one wake-up per core to start and one to report, as the threads backend's
//! crew has.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::{self, JoinHandle};

use crate::outcome::Failure;

/// A job for every core: called with the core's index and its state.
type Job<R> = Arc<dyn Fn(usize, &R) -> Box<dyn Any + Send> + Send + Sync>;

/// What a core sends back: its index and the job's result, or the panic that ended the job.
type Report = (usize, thread::Result<Box<dyn Any + Send>>);

/// N threads, each with a state `R` (its runtime) built on it, pinned one per core where the
/// OS allows: see the module docs.
pub struct Cores<R: 'static> {
    jobs: Vec<Sender<Job<R>>>,
    reports: Receiver<Report>,
    threads: Vec<JoinHandle<()>>,
    pinned: bool,
}

impl<R: 'static> Cores<R> {
    /// Starts `n` threads named `{name}-{i}`. Thread `i` pins itself to the `i % c`-th of the
    /// `c` cores this process may run on (when there are more threads than cores, they share
    /// them evenly), then builds its state with `make(i)`. Returns once every thread has built
    /// its state, or the first error any of them met (the others are then stopped and joined).
    pub fn start<F>(n: usize, name: &str, make: F) -> Result<Self, Failure>
    where
        F: Fn(usize) -> Result<R, Failure> + Send + Sync + 'static,
    {
        if n == 0 {
            return Err(Failure::new("thread per core needs at least one core"));
        }
        let make = Arc::new(make);
        let allowed = core_affinity::get_core_ids().unwrap_or_default();
        let (report_tx, reports) = mpsc::channel::<Report>();
        let (ready_tx, ready) = mpsc::channel::<(bool, Result<(), Failure>)>();
        let mut cores = Cores {
            jobs: Vec::with_capacity(n),
            reports,
            threads: Vec::with_capacity(n),
            pinned: true,
        };
        for i in 0..n {
            let (job_tx, jobs) = mpsc::channel::<Job<R>>();
            let (make, report_tx, ready_tx) =
                (Arc::clone(&make), report_tx.clone(), ready_tx.clone());
            let core = allowed.get(i % allowed.len().max(1)).copied();
            let spawned = thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || {
                    let pinned = core.is_some_and(core_affinity::set_for_current);
                    let state = match make(i) {
                        Ok(state) => state,
                        Err(err) => {
                            let _ = ready_tx.send((pinned, Err(err)));
                            return;
                        }
                    };
                    let _ = ready_tx.send((pinned, Ok(())));
                    drop(ready_tx);
                    for job in jobs {
                        let result = panic::catch_unwind(AssertUnwindSafe(|| job(i, &state)));
                        if report_tx.send((i, result)).is_err() {
                            break;
                        }
                    }
                });
            match spawned {
                Ok(handle) => {
                    cores.jobs.push(job_tx);
                    cores.threads.push(handle);
                }
                Err(err) => return Err(Failure::context("starting a per-core thread", err)),
            }
        }
        drop(ready_tx);
        for _ in 0..n {
            let Ok((pinned, built)) = ready.recv() else {
                return Err(Failure::new(
                    "a per-core thread died while building its runtime",
                ));
            };
            cores.pinned &= pinned;
            built?;
        }
        Ok(cores)
    }

    /// How many cores (threads) there are.
    pub fn len(&self) -> usize {
        self.jobs.len()
    }

    /// Never true: [`Cores::start`] refuses zero cores.
    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }

    /// Whether every thread was pinned to a core (the OS may refuse, or report no cores).
    pub fn pinned(&self) -> bool {
        self.pinned
    }

    /// Runs `job(i, state_i)` on every core `i` at once and returns the results in core order.
    /// A panic on any core is raised again here, once every core has answered.
    pub fn each<T, F>(&self, job: F) -> Vec<T>
    where
        T: Send + 'static,
        F: Fn(usize, &R) -> T + Send + Sync + 'static,
    {
        let job: Job<R> = Arc::new(move |i, state| Box::new(job(i, state)));
        for jobs in &self.jobs {
            jobs.send(Arc::clone(&job))
                .expect("a per-core thread outlives its Cores");
        }
        let mut results: Vec<Option<T>> = (0..self.len()).map(|_| None).collect();
        let mut panicked = None;
        for _ in 0..self.len() {
            let (i, result) = self
                .reports
                .recv()
                .expect("a per-core thread outlives its Cores");
            match result {
                Ok(value) => {
                    let value = value.downcast::<T>().expect("a job returns its own type");
                    results[i] = Some(*value);
                }
                Err(payload) => panicked = Some(payload),
            }
        }
        if let Some(payload) = panicked {
            panic::resume_unwind(payload);
        }
        results
            .into_iter()
            .map(|value| value.expect("every core answers once"))
            .collect()
    }
}

impl<R: 'static> Drop for Cores<R> {
    /// Closes every core's channel, so that its thread drops its state and ends, and joins it.
    fn drop(&mut self) {
        self.jobs.clear();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// The `i`-th of `parts` near-equal consecutive ranges of `0..len`: how a per-core backend
/// divides connections, requests or items among its cores before the work starts (the same
/// bounds as [`fanout::split`](crate::fanout::split)).
pub fn share(len: usize, parts: usize, i: usize) -> std::ops::Range<usize> {
    let bound = |i: usize| i * len / parts.max(1);
    bound(i)..bound(i + 1)
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    #[test]
    fn every_core_runs_each_job_on_its_own_state() {
        let cores = Cores::start(3, "core-test", |i| Ok(Cell::new(i * 10))).unwrap();
        assert_eq!(cores.len(), 3);
        for round in 1..=2 {
            let seen = cores.each(move |i, state: &Cell<usize>| {
                state.set(state.get() + round);
                (i, state.get(), thread::current().name().map(str::to_owned))
            });
            let expected = [(0, 0), (1, 10), (2, 20)].map(|(i, base)| {
                (
                    i,
                    base + if round == 1 { 1 } else { 3 },
                    Some(format!("core-test-{i}")),
                )
            });
            assert_eq!(seen, expected);
        }
    }

    #[test]
    fn a_failed_build_is_reported_and_the_threads_end() {
        let err = Cores::<()>::start(4, "core-fail", |i| {
            if i == 2 {
                Err(Failure::new("no runtime on core 2"))
            } else {
                Ok(())
            }
        })
        .err()
        .expect("a core failed");
        assert!(err.to_string().contains("core 2"), "{err}");
    }

    #[test]
    fn a_panic_on_a_core_reaches_the_caller_and_the_cores_go_on() {
        let cores = Cores::start(2, "core-panic", |_| Ok(())).unwrap();
        let panicked = panic::catch_unwind(AssertUnwindSafe(|| {
            cores.each(|i, _| {
                if i == 1 {
                    panic!("core 1 failed")
                }
            })
        }));
        assert!(panicked.is_err());
        assert_eq!(cores.each(|i, _| i), [0, 1]);
    }

    #[test]
    fn shares_cover_the_range_once_in_order() {
        for (len, parts) in [(10, 3), (2, 4), (0, 2), (10_000, 7)] {
            let ranges: Vec<_> = (0..parts).map(|i| share(len, parts, i)).collect();
            assert_eq!(ranges.first().unwrap().start, 0);
            assert_eq!(ranges.last().unwrap().end, len);
            assert!(ranges.windows(2).all(|w| w[0].end == w[1].start));
            assert!(
                ranges
                    .iter()
                    .all(|r| r.len() >= len / parts && r.len() <= len / parts + 1)
            );
        }
    }
}
