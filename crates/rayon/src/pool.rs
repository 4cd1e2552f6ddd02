//! The pool a cell runs on, built in setup, and the runner that does a repetition's work in it.

use rayon::{ThreadPool, ThreadPoolBuilder};
use shootout_suite::{Answer, Failure, Input, Outcome, Runner, runner};

/// Builds the pool a cell runs on: exactly `threads` worker threads, named `rayon-worker-N`.
///
/// The threads are started here, so a repetition never pays for them.
pub fn build(threads: usize) -> Result<ThreadPool, Failure> {
    named(threads, "rayon-worker")
}

/// Builds a pool of exactly `threads` threads named `{name}-N`, started now (tokio's
/// `rayon-bridge` builds its pool with this, under a name of its own).
pub fn named(threads: usize, name: &'static str) -> Result<ThreadPool, Failure> {
    if threads == 0 {
        // Rayon reads 0 as "pick for me" (one per core); a cell must say what it measures.
        return Err(Failure::new("rayon needs at least one worker thread"));
    }
    ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(move |i| format!("{name}-{i}"))
        .build()
        .map_err(|err| Failure::context("building the rayon pool", err))
}

/// A runner that does `work` inside a pool of `threads` threads built now, once per cell.
pub(crate) fn on_pool(
    threads: usize,
    mut work: impl FnMut(Input) -> Answer + Send + 'static,
) -> Result<Runner, Failure> {
    let pool = build(threads)?;
    runner(move |input| Ok(Outcome::new(pool.install(|| work(input)))))
}
