//! may's scheduler: configured once per process, before its first use, and never again.
//!
//! may keeps one global scheduler. Its worker count is read once, when the scheduler starts
//! (the first spawn, or the first socket or timer that needs it: `Once` in may's
//! `scheduler.rs`), and starts that many worker threads, each with its own epoll loop, plus a
//! timer thread; `config().set_workers` after that changes a number nobody reads again. The
//! stack size is read at every spawn, but the coroutine pool caches stacks of the size it was
//! when they were made, so it too is set once, here, before the first spawn.
//!
//! So [`start`] configures and starts the scheduler for the first cell of a process, and
//! refuses a later cell that asks for a different W with a [`Failure`] that says so, rather
//! than run W workers' cell on another count. The harness runs every cell in a process of its
//! own; tests that run several W start a process per W.

use std::sync::{Mutex, PoisonError};

use may::config;
use shootout_suite::{Cell, Failure, Input, Outcome, Runner};

use crate::coroutine;

/// The stack of every coroutine, in words of 8 bytes (may's unit): 16 Ki words, 128 KiB.
///
/// may's stacks are fixed-size and never grown: a coroutine that outgrows its stack hits the
/// guard page and the process dies. may's default is 4 Ki words (32 KiB), made for servers whose
/// coroutines call a handler or two. The deepest stacks here are the dnc tasks': a coroutine
/// runs the inline half of every split below it on its own stack (`join` → `scope` → the
/// recursion's frame, once per level: five for the full profile's merge sort at its grain,
/// about `(n − grain) / 2` for fib, ten at the full profile), then the sequential kernel at the bottom (fib's own recursion, `grain`
/// frames deep; the queens search, `n` deep; pdqsort). may prints a coroutine's high-water mark
/// when its stack size is odd; run so over this crate's smoke test (every variant on the smoke
/// profile and the edge cases, among them a merge sort of 4 099 keys at a grain of 1: twelve
/// nested splits, deeper than any profile's recursion), the deepest coroutine used 2 451 words
/// (19 KiB) in the debug build, which has the larger frames. 128 KiB is six times that: room
/// for a deeper recursion than the profiles ask for, with no measurable cost, since the stacks
/// are mmapped, only touched pages are resident, and the pool keeps up to 1 000 for reuse.
pub const STACK_WORDS: usize = 16 * 1024;

/// The worker count the scheduler started with, once it has.
static STARTED: Mutex<Option<usize>> = Mutex::new(None);

/// Starts may's scheduler with `workers` worker threads and [`STACK_WORDS`] stacks, unless it
/// runs already: with the same count that is fine, with another it is a [`Failure`].
///
/// Worker pinning is turned off: may pins worker `i` to core `i` by default, which no other
/// backend's threads are, and which would put W = 1 on the core the loopback server may want.
pub fn start(workers: usize) -> Result<(), Failure> {
    let mut started = STARTED.lock().unwrap_or_else(PoisonError::into_inner);
    match *started {
        Some(running) if running == workers => Ok(()),
        Some(running) => Err(Failure::new(format!(
            "may's scheduler already runs {running} workers in this process and cannot be \
             resized: a cell of {workers} workers needs a process of its own"
        ))),
        None => {
            let config = config();
            config.set_workers(workers).set_stack_size(STACK_WORDS);
            config.set_worker_pin(false);
            // Start it now, in setup, rather than in the first repetition.
            coroutine::run(|| ());
            *started = Some(workers);
            Ok(())
        }
    }
}

/// A may cell's runner: starts the scheduler with the cell's W ([`start`]), then runs `run` per
/// repetition, noting on every outcome the stack size and the worker count it ran with.
pub fn runner(
    cell: &Cell,
    mut run: impl FnMut(Input) -> Result<Outcome, Failure> + 'static,
) -> Result<Runner, Failure> {
    start(cell.workers)?;
    let workers = cell.workers;
    shootout_suite::runner(move |input| {
        run(input).map(|outcome| {
            outcome
                .noting("stack", format!("{} KiB", STACK_WORDS * 8 / 1024))
                .noting("workers", workers.to_string())
        })
    })
}
