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
//! use shootout_rayon::Rayon;
//! use shootout_suite::{Backend, Cell, Profile, Task, TaskId};
//!
//! let task = Task::new(TaskId::Fib, Profile::Smoke);
//! let cell = Cell { task, variant: "join".into(), workers: 2, server: None };
//! let mut run = Rayon.setup(&cell).unwrap();
//! let outcome = run(task.input()).unwrap();
//! assert_eq!(task.checksum(&outcome.answer), task.expected_checksum());
//! ```
//!
//! # Implementation
//!
//! [`Backend::setup`] builds a dedicated [`rayon::ThreadPool`] with exactly `workers` threads
//! (see [`pool`]). Building the pool is setup; every repetition reuses it through
//! [`ThreadPool::install`], which runs the work on a pool thread while the calling (harness)
//! thread sleeps. The global pool is never used, so its size and lazy start-up cannot leak into
//! a measurement. The functions in [`dnc`] name no pool: like any rayon library code they run
//! in whichever pool calls them. `pipeline/bounded` sizes its pool by `consumers`, not
//! `workers`; its `producers` are plain threads on top (see [`pipeline`]).

pub mod dnc;
pub mod fanout;
pub mod pipeline;
pub mod sync;

use rayon::{ThreadPool, ThreadPoolBuilder};
use shootout_suite::{
    Answer, Backend, Cell, Failure, Input, Outcome, Runner, Support, Task, TaskId, Variant, runner,
};

/// The rayon backend.
pub struct Rayon;

const MERGESORT: &[Variant] = &[
    Variant {
        name: "join",
        about: "hand-written ping-pong merge sort: rayon::join on the halves and in the merge",
    },
    Variant {
        name: "par-sort",
        about: "rayon's stable parallel merge sort (par_sort): the library baseline; grain unused",
    },
    Variant {
        name: "par-sort-unstable",
        about: "rayon's parallel pdqsort (par_sort_unstable): its fastest sort; grain unused",
    },
];

const FIB: &[Variant] = &[
    Variant {
        name: "join",
        about: "recursive rayon::join: a fork is a stack job, run inline unless stolen",
    },
    Variant {
        name: "scope",
        about: "rayon::scope + spawn: every fork is a boxed job, the sum an atomic: what join saves",
    },
];

const NQUEENS: &[Variant] = &[
    Variant {
        name: "join",
        about: "rayon::join over halves of each board's children, down to the split depth",
    },
    Variant {
        name: "par-iter",
        about: "children into_par_iter().map(..).sum(): the data-parallel form, split adaptively",
    },
];

const BOUNDED: &[Variant] = &[
    Variant {
        name: "par-bridge",
        about: "producer threads -> crossbeam bounded channel -> par_bridge() on a pool of C threads",
    },
    Variant {
        name: "broadcast",
        about: "pool.broadcast: a consumer loop on each of C pool threads, no par_bridge mutex",
    },
];

const LOCK: &[Variant] = &[
    Variant {
        name: "mutex",
        about: "into_par_iter().for_each taking a std Mutex: shared state in a parallel loop",
    },
    Variant {
        name: "reduce",
        about: "no lock: each entry's contribution from its index, summed by reduce: rayon's way",
    },
];

const BARRIER: &[Variant] = &[Variant {
    name: "fork-join",
    about: "one parallel loop over the W chunks per phase: the loop's join is the barrier",
}];

impl Backend for Rayon {
    fn name(&self) -> &'static str {
        "rayon"
    }

    fn about(&self) -> &'static str {
        "rayon's work-stealing pool: join, scope, parallel iterators and sorts"
    }

    fn support(&self, task: TaskId) -> Support {
        match task {
            TaskId::Mergesort => Support::Variants(MERGESORT),
            TaskId::Fib => Support::Variants(FIB),
            TaskId::Nqueens => Support::Variants(NQUEENS),
            TaskId::Scatter | TaskId::Crawl => Support::NotApplicable(fanout::NOT_APPLICABLE),
            TaskId::Bounded => Support::Variants(BOUNDED),
            TaskId::Lock => Support::Variants(LOCK),
            TaskId::Barrier => Support::Variants(BARRIER),
            TaskId::Semaphore => Support::NotApplicable(sync::SEMAPHORE_NOT_APPLICABLE),
            TaskId::Event | TaskId::Condition => Support::NotApplicable(sync::WAIT_NOT_APPLICABLE),
        }
    }

    fn setup(&self, cell: &Cell) -> Result<Runner, Failure> {
        let workers = cell.workers;
        match (cell.task, cell.variant.as_str()) {
            (Task::Mergesort(p), "join") => on_pool(workers, move |input| {
                let mut keys = input.into_keys();
                dnc::mergesort_join(&mut keys, p.grain);
                Answer::Sorted(keys)
            }),
            (Task::Mergesort(_), "par-sort") => on_pool(workers, |input| {
                let mut keys = input.into_keys();
                dnc::mergesort_par_sort(&mut keys);
                Answer::Sorted(keys)
            }),
            (Task::Mergesort(_), "par-sort-unstable") => on_pool(workers, |input| {
                let mut keys = input.into_keys();
                dnc::mergesort_par_sort_unstable(&mut keys);
                Answer::Sorted(keys)
            }),
            (Task::Fib(p), "join") => {
                on_pool(workers, move |_| Answer::Value(dnc::fib_join(p.n, p.grain)))
            }
            (Task::Fib(p), "scope") => on_pool(workers, move |_| {
                Answer::Value(dnc::fib_scope(p.n, p.grain))
            }),
            (Task::Nqueens(p), "join") => on_pool(workers, move |_| {
                Answer::Value(dnc::nqueens_join(p.n, p.split))
            }),
            (Task::Nqueens(p), "par-iter") => on_pool(workers, move |_| {
                Answer::Value(dnc::nqueens_par_iter(p.n, p.split))
            }),
            (Task::Bounded(p), "par-bridge") => {
                // The pool is the consumers; the producers are threads of their own.
                let consumers = pool(p.consumers)?;
                runner(move |_| Ok(pipeline::bounded_par_bridge(&consumers, p)))
            }
            (Task::Bounded(p), "broadcast") => {
                let consumers = pool(p.consumers)?;
                runner(move |_| Ok(pipeline::bounded_broadcast(&consumers, p)))
            }
            (Task::Lock(p), "mutex") => {
                on_pool(workers, move |_| Answer::Value(sync::lock_mutex(p)))
            }
            (Task::Lock(p), "reduce") => {
                on_pool(workers, move |_| Answer::Value(sync::lock_reduce(p)))
            }
            (Task::Barrier(p), "fork-join") => {
                let pool = pool(workers)?;
                runner(move |_| {
                    let value = pool.install(|| sync::barrier_fork_join(p, workers))?;
                    Ok(Outcome::new(Answer::Value(value)))
                })
            }
            _ => Err(cell.unsupported(self)),
        }
    }
}

/// Builds the pool a cell runs on: exactly `threads` worker threads, named `rayon-worker-N`.
///
/// The threads are started here, so a repetition never pays for them.
pub fn pool(threads: usize) -> Result<ThreadPool, Failure> {
    if threads == 0 {
        // Rayon reads 0 as "pick for me" (one per core); a cell must say what it measures.
        return Err(Failure::new("rayon needs at least one worker thread"));
    }
    ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("rayon-worker-{i}"))
        .build()
        .map_err(|err| Failure::context("building the rayon pool", err))
}

/// A runner that does `work` inside a pool of `threads` threads built now, once per cell.
fn on_pool(
    threads: usize,
    mut work: impl FnMut(Input) -> Answer + Send + 'static,
) -> Result<Runner, Failure> {
    let pool = pool(threads)?;
    runner(move |input| Ok(Outcome::new(pool.install(|| work(input)))))
}
