//! The suite on OS threads: `std::thread` and `std::sync`, with crossbeam where it is the better tool.
//!
//! Threads are the model every other one is measured against. The kernel schedules them
//! preemptively on every core, each has its own stack, and they share memory under the borrow
//! checker's rules, so CPU-bound work needs no ceremony: split it, hand the pieces to threads,
//! join. What they cost is the other side of the same coin: a spawn is a system call and a
//! stack (tens of microseconds), a blocking hand-off wakes a sleeping thread (tens of
//! microseconds on the other core), and a thread parked in a blocking read is a whole thread.
//! This crate writes each task the way an expert in `std` and crossbeam would, so that the
//! tables show what threads really cost, not what a careless version costs. The sync family
//! adds what practitioners pair with `std::sync`: parking_lot, and the blocking side of
//! async-lock and event-listener.
//!
//! # Variants
//!
//! | task | variant | what it shows |
//! |---|---|---|
//! | mergesort, fib, nqueens | `scope` | [`std::thread::scope`], split in two, a budget of N threads shared out down the recursion: static, cannot balance an irregular tree |
//! | mergesort, fib, nqueens | `task-queue` | many small tasks cut up front, claimed by N threads from an atomic counter: dynamic balancing by hand |
//! | mergesort, fib, nqueens | `gil` | the GIL experiment: `task-queue` with every unit of work run under one global lock, taken and released per unit |
//! | mergesort, fib, nqueens | `gil-switch` | the GIL experiment: `task-queue`, each thread keeping the global lock and, every [`dnc::GIL_SWITCH_UNITS`] units, handing it to a waiter if one asks: CPython 3.2+'s forced switching |
//! | scatter | `thread-per-conn` | one long-lived thread per connection, woken each round: blocking IO's natural fan-out |
//! | scatter | `pool` | N threads share the K calls of a round: only N in flight, the price of a small blocking pool |
//! | crawl | `thread-per-conn` | a new thread per request (and connection), at most C at once through a Mutex+Condvar semaphore |
//! | crawl | `pool` | C long-lived threads claim request ids: the pool's size is the in-flight limit |
//! | bounded | `std-mpsc` | [`std::sync::mpsc::sync_channel`], consumers share the one receiver behind a `Mutex` |
//! | bounded | `crossbeam` | [`crossbeam_channel::bounded`]: a multi-consumer queue, receivers cloned |
//! | bounded | `mutex-condvar` | the textbook monitor: a `VecDeque` under a `Mutex`, `not_empty` and `not_full` Condvars, signalled only when a thread waits |
//! | lock | `std-mutex` | [`std::sync::Mutex`] around the shared counter, once per entry |
//! | lock | `parking-lot` | [`parking_lot::Mutex`]: a few spins before it parks, no poisoning, eventually fair |
//! | lock | `atomic` | no lock: a `fetch_add` ticket, the section's work done outside it |
//! | semaphore | `mutex-condvar` | [`sync::Semaphore`], written by hand from a `Mutex` (free permits, waiters) and a `Condvar`: std has none |
//! | semaphore | `async-lock` | [`async_lock::Semaphore`] through its blocking `acquire_blocking` |
//! | barrier | `std` | [`std::sync::Barrier`] |
//! | event | `condvar` | Python's `threading.Event`: a generation under a `Mutex`, `Condvar::notify_all` |
//! | event | `event-listener` | an atomic generation and an [`event_listener::Event`]: listen, re-check, wait |
//! | condition | `condvar` | the textbook monitor, std `Mutex` + `Condvar`: ping-pong of a ball |
//! | condition | `parking-lot` | the same monitor on [`parking_lot::Condvar`], which requeues the woken thread onto the mutex |
//!
//! `cell.workers` = N means N OS threads do the work, the calling thread counted as one of them.
//! Where the idiom itself fixes the count it is said in the variant's docs: `thread-per-conn`
//! uses K (scatter) or up to C (crawl) threads, the crawl `pool` has C threads, a pipeline runs
//! P + C threads, an event runs N waiters and the calling thread as the setter, and a
//! condition always runs two parties.
//!
//! # Examples
//!
//! ```
//! use shootout_suite::{Backend, Cell, Profile, Task, TaskId};
//! use shootout_threads::Threads;
//!
//! let task = Task::new(TaskId::Fib, Profile::Smoke);
//! let cell = Cell { task, variant: "task-queue".into(), workers: 2, server: None };
//! let mut run = Threads.setup(&cell).unwrap();
//! let outcome = run(task.input()).unwrap();
//! assert_eq!(task.checksum(&outcome.answer), task.expected_checksum());
//! ```
//!
//! # Implementation
//!
//! Each family lives in its own file ([`dnc`], [`fanout`], [`pipeline`], [`sync`]), named as in
//! every other backend crate, so that two backends diff cleanly. The sequential kernels (leaf
//! sort, merge, `fib`, the queens search, the wire codec, per-item work, the sync family's
//! section work and checkers) come from `shootout-suite`; these files hold only the concurrency
//! structure.

pub mod dnc;
pub mod fanout;
pub mod pipeline;
pub mod sync;

use std::sync::{Mutex, MutexGuard, PoisonError};

use shootout_suite::{
    Answer, Backend, Cell, Failure, Input, Outcome, Runner, Support, Task, TaskId, Variant, runner,
};

/// The threads backend: `std::thread`, `std::sync` and crossbeam.
pub struct Threads;

/// The variants of `dnc/mergesort`, `dnc/fib` and `dnc/nqueens`.
pub const DNC: &[Variant] = &[
    Variant {
        name: "scope",
        about: "std::thread::scope, split in two sharing out a budget of N threads: static, no balancing",
    },
    Variant {
        name: "task-queue",
        about: "many small tasks cut up front, claimed by N threads from an atomic counter: balancing by hand",
    },
    Variant {
        name: "gil",
        about: "the GIL experiment: task-queue with every unit run under one global lock, taken and released per unit",
    },
    Variant {
        name: "gil-switch",
        about: "the GIL experiment: task-queue, each thread keeping one global lock, handing it to a waiter (if any) after each batch of units: CPython 3.2+'s forced switch",
    },
];

/// The variants of `fanout/scatter`.
pub const SCATTER: &[Variant] = &[
    Variant {
        name: "thread-per-conn",
        about: "one long-lived thread per connection, woken each round: blocking IO's natural fan-out",
    },
    Variant {
        name: "pool",
        about: "N threads share each round's K blocking calls: only N in flight, like a ThreadPoolExecutor",
    },
];

/// The variants of `fanout/crawl`.
pub const CRAWL: &[Variant] = &[
    Variant {
        name: "thread-per-conn",
        about: "a new thread per request, at most C at once through a Mutex+Condvar semaphore",
    },
    Variant {
        name: "pool",
        about: "C long-lived threads claim request ids: the pool's size is the in-flight limit",
    },
];

/// The variants of `sync/lock`.
pub const LOCK: &[Variant] = &[
    Variant {
        name: "std-mutex",
        about: "std::sync::Mutex: the futex lock every Rust program has; spins briefly, then sleeps",
    },
    Variant {
        name: "parking-lot",
        about: "parking_lot::Mutex: one byte, a few spins before parking, no poisoning, eventually fair; the common alternative",
    },
    Variant {
        name: "atomic",
        about: "no lock: a fetch_add ticket, the work moved out of the section; when the state allows it",
    },
];

/// The variants of `sync/semaphore`.
pub const SEMAPHORE: &[Variant] = &[
    Variant {
        name: "mutex-condvar",
        about: "a count under a Mutex and a Condvar, written by hand: std has no semaphore",
    },
    Variant {
        name: "async-lock",
        about: "async_lock::Semaphore through acquire_blocking: one semaphore for threads and async tasks",
    },
];

/// The variants of `sync/barrier`.
pub const BARRIER: &[Variant] = &[Variant {
    name: "std",
    about: "std::sync::Barrier: a count and a generation under a Mutex, the last arrival wakes all",
}];

/// The variants of `sync/event`.
pub const EVENT: &[Variant] = &[
    Variant {
        name: "condvar",
        about: "Python's threading.Event: a generation under a Mutex, Condvar::notify_all",
    },
    Variant {
        name: "event-listener",
        about: "an atomic generation and event_listener::Event: listen, re-check, wait; no lock held",
    },
];

/// The variants of `sync/condition`.
pub const CONDITION: &[Variant] = &[
    Variant {
        name: "condvar",
        about: "the textbook monitor: std Mutex + Condvar, a turn and the ball under the lock",
    },
    Variant {
        name: "parking-lot",
        about: "the same monitor on parking_lot, whose notify moves the waiter onto the mutex's queue",
    },
];

/// The variants of `pipeline/bounded`.
pub const BOUNDED: &[Variant] = &[
    Variant {
        name: "std-mpsc",
        about: "std's sync_channel; consumers take turns at the one Receiver behind a Mutex",
    },
    Variant {
        name: "crossbeam",
        about: "crossbeam_channel::bounded: a real multi-consumer queue, receivers cloned",
    },
    Variant {
        name: "mutex-condvar",
        about: "the textbook monitor: VecDeque under a Mutex with not_empty / not_full Condvars, signalled only when a thread waits",
    },
];

impl Backend for Threads {
    fn name(&self) -> &'static str {
        "threads"
    }

    fn about(&self) -> &'static str {
        "OS threads: std::thread::scope, std::sync and crossbeam channels, blocking std::net"
    }

    fn support(&self, task: TaskId) -> Support {
        match task {
            TaskId::Mergesort | TaskId::Fib | TaskId::Nqueens => Support::Variants(DNC),
            TaskId::Scatter => Support::Variants(SCATTER),
            TaskId::Crawl => Support::Variants(CRAWL),
            TaskId::Bounded => Support::Variants(BOUNDED),
            TaskId::Lock => Support::Variants(LOCK),
            TaskId::Semaphore => Support::Variants(SEMAPHORE),
            TaskId::Barrier => Support::Variants(BARRIER),
            TaskId::Event => Support::Variants(EVENT),
            TaskId::Condition => Support::Variants(CONDITION),
        }
    }

    fn setup(&self, cell: &Cell) -> Result<Runner, Failure> {
        let workers = cell.workers;
        if workers == 0 {
            return Err(Failure::new("workers must be at least 1"));
        }
        match (cell.task, cell.variant.as_str()) {
            (Task::Mergesort(p), "scope") => runner(move |input| {
                Ok(sorted(input, |keys| {
                    dnc::mergesort_scope(keys, p.grain, workers)
                }))
            }),
            (Task::Mergesort(p), "task-queue") => runner(move |input| {
                Ok(sorted(input, |keys| {
                    dnc::mergesort_task_queue(keys, p.grain, workers)
                }))
            }),
            (Task::Mergesort(p), "gil") => runner(move |input| {
                Ok(sorted(input, |keys| {
                    dnc::mergesort_gil(keys, p.grain, workers)
                }))
            }),
            (Task::Mergesort(p), "gil-switch") => runner(move |input| {
                Ok(sorted(input, |keys| {
                    dnc::mergesort_gil_switch(keys, p.grain, workers)
                }))
            }),
            (Task::Fib(p), "scope") => {
                runner(move |_| Ok(value(dnc::fib_scope(p.n, p.grain, workers))))
            }
            (Task::Fib(p), "task-queue") => {
                runner(move |_| Ok(value(dnc::fib_task_queue(p.n, p.grain, workers))))
            }
            (Task::Fib(p), "gil") => {
                runner(move |_| Ok(value(dnc::fib_gil(p.n, p.grain, workers))))
            }
            (Task::Fib(p), "gil-switch") => {
                runner(move |_| Ok(value(dnc::fib_gil_switch(p.n, p.grain, workers))))
            }
            (Task::Nqueens(p), "scope") => {
                runner(move |_| Ok(value(dnc::nqueens_scope(p.n, p.split, workers))))
            }
            (Task::Nqueens(p), "task-queue") => {
                runner(move |_| Ok(value(dnc::nqueens_task_queue(p.n, p.split, workers))))
            }
            (Task::Nqueens(p), "gil") => {
                runner(move |_| Ok(value(dnc::nqueens_gil(p.n, p.split, workers))))
            }
            (Task::Nqueens(p), "gil-switch") => {
                runner(move |_| Ok(value(dnc::nqueens_gil_switch(p.n, p.split, workers))))
            }
            (Task::Scatter(p), "thread-per-conn") => {
                fanout::scatter_thread_per_conn(p, cell.server()?)
            }
            (Task::Scatter(p), "pool") => fanout::scatter_pool(p, cell.server()?, workers),
            (Task::Crawl(p), "thread-per-conn") => fanout::crawl_thread_per_conn(p, cell.server()?),
            (Task::Crawl(p), "pool") => fanout::crawl_pool(p, cell.server()?),
            (Task::Bounded(p), "std-mpsc") => runner(move |_| Ok(pipeline::std_mpsc(p))),
            (Task::Bounded(p), "crossbeam") => runner(move |_| Ok(pipeline::crossbeam(p))),
            (Task::Bounded(p), "mutex-condvar") => runner(move |_| Ok(pipeline::mutex_condvar(p))),
            (Task::Lock(p), "std-mutex") => runner(move |_| Ok(sync::lock_std_mutex(p, workers))),
            (Task::Lock(p), "parking-lot") => {
                runner(move |_| Ok(sync::lock_parking_lot(p, workers)))
            }
            (Task::Lock(p), "atomic") => runner(move |_| Ok(sync::lock_atomic(p, workers))),
            (Task::Semaphore(p), "mutex-condvar") => {
                runner(move |_| sync::semaphore_mutex_condvar(p, workers))
            }
            (Task::Semaphore(p), "async-lock") => {
                runner(move |_| sync::semaphore_async_lock(p, workers))
            }
            (Task::Barrier(p), "std") => runner(move |_| sync::barrier_std(p, workers)),
            (Task::Event(p), "condvar") => runner(move |_| sync::event_condvar(p, workers)),
            (Task::Event(p), "event-listener") => runner(move |_| sync::event_listener(p, workers)),
            (Task::Condition(p), "condvar") => runner(move |_| Ok(sync::condition_condvar(p))),
            (Task::Condition(p), "parking-lot") => {
                runner(move |_| Ok(sync::condition_parking_lot(p)))
            }
            _ => Err(cell.unsupported(self)),
        }
    }
}

/// Sorts the repetition's keys with `sort` and wraps them as the answer.
fn sorted(input: Input, sort: impl FnOnce(&mut [u64])) -> Outcome {
    let mut keys = input.into_keys();
    sort(&mut keys);
    Outcome::new(Answer::Sorted(keys))
}

/// Wraps a single number as the answer.
fn value(v: u64) -> Outcome {
    Outcome::new(Answer::Value(v))
}

/// Locks `mutex`, ignoring poisoning: a panic elsewhere is reported by the thread that panicked,
/// and the data behind every lock in this crate stays consistent at every unlock.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
