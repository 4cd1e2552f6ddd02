//! The suite on rayon's work-stealing thread pool.
//!
//! CPU-bound parallel work has a scheduling problem that threads leave to the programmer: which
//! core does which piece, and what a core does when its pieces run out. Split too coarsely and
//! cores sit idle behind the slowest piece; split too finely and every piece pays for a thread
//! hand-off. Rayon answers with a pool of worker threads, each owning a deque of jobs.
//! `rayon::join(a, b)` pushes `b` onto the calling worker's deque and runs `a`; an idle worker
//! steals `b`, and if none is idle the same worker pops `b` and runs it itself. A fork nobody
//! steals costs a few nanoseconds and no allocation, so programs can split generously and let
//! the pool decide where parallelism pays. Parallel iterators and `par_sort` are built on `join`.
//!
//! # Variants
//!
//! - `dnc/mergesort`, `dnc/fib`, `dnc/nqueens` – **`join`**: recursive [`rayon::join`] down to
//!   the task's cutoff, then the suite's sequential kernel. The idiom rayon is built around.
//! - `dnc/mergesort` – **`par-sort`** and **`par-sort-unstable`**: rayon's own stable parallel
//!   merge sort and parallel pdqsort. The library's expert baselines the hand-written `join`
//!   sort is held against (they choose their own cutoffs and ignore `grain`).
//! - `dnc/fib` – **`scope`**: [`rayon::scope`] with `spawn`. The same tree as `join`, but every
//!   fork is a heap-allocated job and results meet in an atomic: this shows what `join` saves.
//! - `dnc/nqueens` – **`par-iter`**: the children of each board as a parallel iterator, mapped
//!   and summed. Splits adaptively instead of forking on every child.
//! - `pipeline/bounded` – **`par-bridge`**: producer threads feed a bounded crossbeam channel,
//!   and the pool consumes it through [`rayon::iter::ParallelBridge`]. This is rayon's documented
//!   way to take work from a channel.
//! - `pipeline/bounded` – **`broadcast`**: the same producers and channel, and one consumer loop
//!   per pool thread started by [`ThreadPool::broadcast`]. What a rayon user writes when the
//!   pool's whole job is draining the channel and `par_bridge`'s mutex around `next()` (held
//!   while blocked in `recv`) costs too much.
//! - `fanout/*` – not applicable: rayon's pool is for CPU-bound work (see [`fanout`]).
//! - `sync/lock` – **`mutex`**: a parallel loop whose body takes a `std::sync::Mutex`, and
//!   **`reduce`**: the lock designed away, each thread summing its own part (see [`sync`]).
//! - `sync/barrier` – **`fork-join`**: one parallel loop per phase; its join is the barrier.
//! - `sync/semaphore`, `sync/event`, `sync/condition` – not applicable: they block pool threads
//!   on another party, which rayon warns against (see [`sync`]).
//!
//! # Examples
//!
//! ```
//! use shootout_suite::{Cell, Profile, Task, TaskId};
//!
//! let task = Task::new(TaskId::Fib, Profile::Smoke);
//! let cell = Cell { task, variant: "join".into(), workers: 2, server: None };
//! let mut run = shootout_rayon::BACKEND.setup(&cell).unwrap();
//! let outcome = run(task.input()).unwrap();
//! assert_eq!(task.checksum(&outcome.answer), task.expected_checksum());
//! ```
//!
//! # Implementation
//!
//! [`BACKEND`] declares every variant once, with the function in its family's file that sets
//! it up. Setup builds a dedicated [`rayon::ThreadPool`] with exactly `workers` threads (see
//! [`pool::build`]). Building the pool is setup; every repetition reuses it through
//! [`ThreadPool::install`], which runs the work on a pool thread while the calling (harness)
//! thread sleeps. The global pool is never used, so its size and lazy start-up cannot leak into
//! a measurement. The functions in [`dnc`] name no pool: like any rayon library code they run
//! in whichever pool calls them. `pipeline/bounded` sizes its pool by `consumers`, not
//! `workers`; its `producers` are plain threads on top (see [`pipeline`]).
//!
//! [`ThreadPool::broadcast`]: rayon::ThreadPool::broadcast
//! [`ThreadPool::install`]: rayon::ThreadPool::install

pub mod bridge;
pub mod dnc;
pub mod fanout;
pub mod pipeline;
pub mod pool;
pub mod sync;

use shootout_suite::{Backend, Form, NotApplicable, TaskId, Variant, Workers};

/// The rayon backend.
pub static BACKEND: Backend = Backend {
    name: "rayon",
    about: "rayon's work-stealing pool: join, scope, parallel iterators and sorts",
    variants: &[
        Variant {
            name: "join",
            about: "hand-written ping-pong merge sort: rayon::join on the halves and in the merge",
            tasks: &[TaskId::Mergesort],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: dnc::setup_join,
        },
        Variant {
            name: "par-sort",
            about: "rayon's stable parallel merge sort (par_sort): the library baseline; grain unused",
            tasks: &[TaskId::Mergesort],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: dnc::setup_par_sort,
        },
        Variant {
            name: "par-sort-unstable",
            about: "rayon's parallel pdqsort (par_sort_unstable): its fastest sort; grain unused",
            tasks: &[TaskId::Mergesort],
            form: Form::Restructured,
            workers: Workers::Exact,
            setup: dnc::setup_par_sort_unstable,
        },
        Variant {
            name: "join",
            about: "recursive rayon::join: a fork is a stack job, run inline unless stolen",
            tasks: &[TaskId::Fib],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: dnc::setup_join,
        },
        Variant {
            name: "scope",
            about: "rayon::scope + spawn: every fork is a boxed job, the sum an atomic: what join saves",
            tasks: &[TaskId::Fib],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: dnc::setup_scope,
        },
        Variant {
            name: "join",
            about: "rayon::join over halves of each board's children, down to the split depth",
            tasks: &[TaskId::Nqueens],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: dnc::setup_join,
        },
        Variant {
            name: "par-iter",
            about: "children into_par_iter().map(..).sum(): the data-parallel form, split adaptively",
            tasks: &[TaskId::Nqueens],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: dnc::setup_par_iter,
        },
        Variant {
            name: "par-bridge",
            about: "producer threads -> crossbeam bounded channel -> par_bridge() on a pool of C threads",
            tasks: &[TaskId::Bounded],
            form: Form::Natural,
            workers: Workers::Own("P + C threads"),
            setup: pipeline::setup_par_bridge,
        },
        Variant {
            name: "broadcast",
            about: "pool.broadcast: a consumer loop on each of C pool threads, no par_bridge mutex",
            tasks: &[TaskId::Bounded],
            form: Form::Natural,
            workers: Workers::Own("P + C threads"),
            setup: pipeline::setup_broadcast,
        },
        Variant {
            name: "mutex",
            about: "into_par_iter().for_each taking a std Mutex: shared state in a parallel loop",
            tasks: &[TaskId::Lock],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: sync::setup_mutex,
        },
        Variant {
            name: "reduce",
            about: "no lock: each entry's contribution from its index, summed by reduce: rayon's way",
            tasks: &[TaskId::Lock],
            form: Form::Restructured,
            workers: Workers::Exact,
            setup: sync::setup_reduce,
        },
        Variant {
            name: "fork-join",
            about: "one parallel loop over the W chunks per phase: the loop's join is the barrier",
            tasks: &[TaskId::Barrier],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: sync::setup_fork_join,
        },
    ],
    not_applicable: &[
        NotApplicable {
            tasks: &[TaskId::Scatter, TaskId::Crawl],
            reason: fanout::NOT_APPLICABLE,
        },
        NotApplicable {
            tasks: &[TaskId::Semaphore],
            reason: sync::SEMAPHORE_NOT_APPLICABLE,
        },
        NotApplicable {
            tasks: &[TaskId::Event, TaskId::Condition],
            reason: sync::WAIT_NOT_APPLICABLE,
        },
    ],
};
