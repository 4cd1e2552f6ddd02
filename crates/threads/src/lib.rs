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
//! | mergesort, fib, nqueens | `gil-switch` | the GIL experiment: `task-queue`, each thread keeping the global lock and, every [`gil::GIL_SWITCH_UNITS`] units, handing it to a waiter if one asks: CPython 3.2+'s forced switching |
//! | scatter | `thread-per-conn` | one long-lived thread per connection, woken each round through its own channel: blocking IO's natural fan-out |
//! | scatter | `pipelined` | N threads, each owning a share of the connections: every request written, then every reply read, as the processes' `pipelined` |
//! | scatter | `pool` | N threads share the K calls of a round: only N in flight, the price of a small blocking pool |
//! | crawl | `thread-per-conn` | a new thread per request (and connection), at most C at once through a Mutex+Condvar semaphore |
//! | crawl | `pool` | C long-lived threads claim request ids: the pool's size is the in-flight limit |
//! | bounded | `std-mpsc` | [`std::sync::mpsc::sync_channel`], consumers share the one receiver behind a `Mutex` |
//! | bounded | `crossbeam` | [`crossbeam_channel::bounded`]: a multi-consumer queue, receivers cloned |
//! | bounded | `crossbeam-batched` | the same channel carrying `Vec`s of up to 128 items, the batches the processes' pipe and socket write (restructured: batching is compared with batching) |
//! | bounded | `mutex-condvar` | the textbook monitor: a `VecDeque` under a `Mutex`, `not_empty` and `not_full` Condvars, signalled only when a thread waits |
//! | lock | `std-mutex` | [`std::sync::Mutex`] around the shared counter, once per entry |
//! | lock | `parking-lot` | [`parking_lot::Mutex`]: a few spins before it parks, no poisoning, eventually fair |
//! | lock | `atomic` | no lock: a `fetch_add` ticket, the section's work done outside it |
//! | semaphore | `mutex-condvar` | [`semaphore::Semaphore`], written by hand from a `Mutex` (free permits, waiters) and a `Condvar`: std has none |
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
//! condition always runs two parties. The pipeline and the condition fix W for every model (P +
//! C, and 2), so their cells are measured there whatever W is asked for. Every wake-up here
//! crosses threads by construction (a thread cannot wake itself), which is what the async
//! runtimes' natural event and condition variants are made to measure too.
//!
//! # Examples
//!
//! ```
//! use shootout_suite::{Cell, Profile, Task, TaskId};
//!
//! let task = Task::new(TaskId::Fib, Profile::Smoke);
//! let cell = Cell { task, variant: "task-queue".into(), workers: 2, server: None };
//! let mut run = shootout_threads::BACKEND.setup(&cell).unwrap();
//! let outcome = run(task.input()).unwrap();
//! assert_eq!(task.checksum(&outcome.answer), task.expected_checksum());
//! ```
//!
//! # Implementation
//!
//! [`BACKEND`] declares every variant once: its name, when to choose it, its tasks, its form,
//! what it makes of W, and the function that sets it up. Each family lives in its own file
//! ([`dnc`], [`fanout`], [`pipeline`], [`sync`]), named as in every other backend crate, so that
//! two backends diff cleanly; [`gil`] holds the GIL experiment's lock, [`semaphore`] the
//! hand-made semaphore that the sync family and the crawl share, and `plumbing` the helpers they
//! all use. The sequential kernels (leaf
//! sort, merge, `fib`, the queens search, the wire codec, per-item work, the sync family's
//! section work and checkers) come from `shootout-suite`; these files hold only the concurrency
//! structure.

pub mod dnc;
pub mod fanout;
pub mod gil;
pub mod pipeline;
mod plumbing;
pub mod semaphore;
pub mod sync;

use shootout_suite::{Backend, Form, TaskId, Variant, Workers};

/// The threads backend: `std::thread`, `std::sync` and crossbeam.
pub static BACKEND: Backend = Backend {
    name: "threads",
    about: "OS threads: std::thread::scope, std::sync and crossbeam channels, blocking std::net",
    variants: &[
        Variant {
            name: "scope",
            about: "std::thread::scope, split in two sharing out a budget of N threads: static, no balancing",
            tasks: &[TaskId::Mergesort, TaskId::Fib, TaskId::Nqueens],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: dnc::setup_scope,
        },
        Variant {
            name: "task-queue",
            about: "many small tasks cut up front, claimed by N threads from an atomic counter: balancing by hand",
            tasks: &[TaskId::Mergesort, TaskId::Fib, TaskId::Nqueens],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: dnc::setup_task_queue,
        },
        Variant {
            name: "gil",
            about: "the GIL experiment: task-queue with every unit run under one global lock, taken and released per unit",
            tasks: &[TaskId::Mergesort, TaskId::Fib, TaskId::Nqueens],
            form: Form::Restructured,
            workers: Workers::Exact,
            setup: dnc::setup_gil,
        },
        Variant {
            name: "gil-switch",
            about: "the GIL experiment: task-queue, each thread keeping one global lock, handing it to a waiter (if any) after each batch of units: CPython 3.2+'s forced switch",
            tasks: &[TaskId::Mergesort, TaskId::Fib, TaskId::Nqueens],
            form: Form::Restructured,
            workers: Workers::Exact,
            setup: dnc::setup_gil_switch,
        },
        Variant {
            name: "thread-per-conn",
            about: "one long-lived thread per connection, woken each round: blocking IO's natural fan-out",
            tasks: &[TaskId::Scatter],
            form: Form::Natural,
            workers: Workers::Own("a thread per connection"),
            setup: fanout::scatter_thread_per_conn,
        },
        Variant {
            name: "pipelined",
            about: "N threads, each owning a share of the connections: every request written, then every reply read, many in flight per thread",
            tasks: &[TaskId::Scatter],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: fanout::scatter_pipelined,
        },
        Variant {
            name: "pool",
            about: "N threads share each round's K blocking calls: only N in flight, like a ThreadPoolExecutor",
            tasks: &[TaskId::Scatter],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: fanout::scatter_pool,
        },
        Variant {
            name: "thread-per-conn",
            about: "a new thread per request, at most C at once through a Mutex+Condvar semaphore",
            tasks: &[TaskId::Crawl],
            form: Form::Natural,
            workers: Workers::Own("a thread per request, at most C at once"),
            setup: fanout::crawl_thread_per_conn,
        },
        Variant {
            name: "pool",
            about: "C long-lived threads claim request ids: the pool's size is the in-flight limit",
            tasks: &[TaskId::Crawl],
            form: Form::Natural,
            workers: Workers::Own("C threads"),
            setup: fanout::crawl_pool,
        },
        Variant {
            name: "std-mpsc",
            about: "std's sync_channel; consumers take turns at the one Receiver behind a Mutex",
            tasks: &[TaskId::Bounded],
            form: Form::Natural,
            workers: Workers::Own("P + C threads"),
            setup: pipeline::setup_std_mpsc,
        },
        Variant {
            name: "crossbeam",
            about: "crossbeam_channel::bounded: a real multi-consumer queue, receivers cloned",
            tasks: &[TaskId::Bounded],
            form: Form::Natural,
            workers: Workers::Own("P + C threads"),
            setup: pipeline::setup_crossbeam,
        },
        Variant {
            name: "crossbeam-batched",
            about: "crossbeam_channel::bounded of Vec batches of up to 128 items, as many as hold the capacity: the batching the processes' pipe and socket do, in process",
            tasks: &[TaskId::Bounded],
            form: Form::Restructured,
            workers: Workers::Own("P + C threads"),
            setup: pipeline::setup_crossbeam_batched,
        },
        Variant {
            name: "mutex-condvar",
            about: "the textbook monitor: VecDeque under a Mutex with not_empty / not_full Condvars, signalled only when a thread waits",
            tasks: &[TaskId::Bounded],
            form: Form::Natural,
            workers: Workers::Own("P + C threads"),
            setup: pipeline::setup_mutex_condvar,
        },
        Variant {
            name: "std-mutex",
            about: "std::sync::Mutex: the futex lock every Rust program has; spins briefly, then sleeps",
            tasks: &[TaskId::Lock],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: sync::setup_lock_std_mutex,
        },
        Variant {
            name: "parking-lot",
            about: "parking_lot::Mutex: one byte, a few spins before parking, no poisoning, eventually fair; the common alternative",
            tasks: &[TaskId::Lock],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: sync::setup_lock_parking_lot,
        },
        Variant {
            name: "atomic",
            about: "no lock: a fetch_add ticket, the work moved out of the section; when the state allows it",
            tasks: &[TaskId::Lock],
            form: Form::Restructured,
            workers: Workers::Exact,
            setup: sync::setup_lock_atomic,
        },
        Variant {
            name: "mutex-condvar",
            about: "a count under a Mutex and a Condvar, written by hand: std has no semaphore",
            tasks: &[TaskId::Semaphore],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: sync::setup_semaphore_mutex_condvar,
        },
        Variant {
            name: "async-lock",
            about: "async_lock::Semaphore through acquire_blocking: one semaphore for threads and async tasks",
            tasks: &[TaskId::Semaphore],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: sync::setup_semaphore_async_lock,
        },
        Variant {
            name: "std",
            about: "std::sync::Barrier: a count and a generation under a Mutex, the last arrival wakes all",
            tasks: &[TaskId::Barrier],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: sync::setup_barrier_std,
        },
        Variant {
            name: "condvar",
            about: "Python's threading.Event: a generation under a Mutex, Condvar::notify_all",
            tasks: &[TaskId::Event],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: sync::setup_event_condvar,
        },
        Variant {
            name: "event-listener",
            about: "an atomic generation and event_listener::Event: listen, re-check, wait; no lock held",
            tasks: &[TaskId::Event],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: sync::setup_event_listener,
        },
        Variant {
            name: "condvar",
            about: "the textbook monitor: std Mutex + Condvar, a turn and the ball under the lock",
            tasks: &[TaskId::Condition],
            form: Form::Natural,
            workers: Workers::Own("two parties"),
            setup: sync::setup_condition_condvar,
        },
        Variant {
            name: "parking-lot",
            about: "the same monitor on parking_lot, whose notify moves the waiter onto the mutex's queue",
            tasks: &[TaskId::Condition],
            form: Form::Natural,
            workers: Workers::Own("two parties"),
            setup: sync::setup_condition_parking_lot,
        },
    ],
    not_applicable: &[],
};
