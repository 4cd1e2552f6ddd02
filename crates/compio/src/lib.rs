//! The suite on compio, thread per core: N single-threaded compio runtimes, one per thread,
//! each pinned to a core where the OS allows, with completion-based IO.
//!
//! A work-stealing runtime (tokio, smol) moves tasks to idle threads, and pays for it with
//! shared queues and tasks that must be `Send`. Thread per core pays nothing of that: each
//! core runs its own runtime, its tasks and sockets never leave it, and a future need not be
//! `Send` (a compio `Runtime` is not). What a compio program shares is nothing but what the
//! division of the work decides up front: a core's share of the connections, of the requests,
//! of the keys. The price is balance: no core can take work from another, so an uneven split
//! leaves cores idle, and anything the cores must do together (a queue, a barrier, a signal)
//! is an explicit cross-thread structure.
//!
//! compio's IO is completion-based: on Linux its driver is io_uring, where an operation is
//! submitted with its buffer and completes later, so buffers are owned by the operation while
//! it is in flight ([`compio::BufResult`]); where io_uring is refused (an old kernel,
//! `io_uring_disabled`, a seccomp filter) the same runtime falls back at run time to its
//! `polling` driver (epoll). Which one a cell used is not assumed: every outcome notes it as
//! the fact `io driver` (`io-uring` or `poll`), asked of the cell's runtimes, and [`driver`]
//! asks a fresh runtime for the machine facts.
//!
//! # Variants
//!
//! | task | variant | what it shows |
//! |---|---|---|
//! | mergesort, fib, nqueens | `static` | the split thread per core implies: one share per core, decided up front (fib's subtrees balanced by their known cost, nqueens' first-row boards, mergesort's key ranges, then merge rounds cut at co-rank points so every core merges n/N keys a round) |
//! | mergesort, fib, nqueens | `chunked` | many chunks of the task's grain, pulled by the cores from one cross-core `async_channel` until it is empty: the usual remedy for an uneven split |
//! | scatter | `per-core` | the K connections divided among the cores, each core's share opened on and driven by its own runtime, K/N calls joined per core per round |
//! | crawl | `per-core` | the requests dealt round-robin to min(N, C) cores, the limit C divided among them, a fresh connection per request |
//! | bounded | `async-channel` | P producer cores and C consumer cores around one bounded `async_channel` |
//! | barrier | `async-lock` | W cores meeting at one `async_lock::Barrier` between phases |
//! | event | `event-listener` | a setter thread releasing W waiter cores through an `event_listener::Event`; every wake-up crosses threads (checked) |
//! | condition | `event-listener` | pinger and ponger on two cores, a monitor with an `Event` per direction; every hand-over crosses threads (checked) |
//!
//! Lock and semaphore are `n/a`: a thread-per-core program shards its state instead of
//! locking it (see [`sync`]).
//!
//! `cell.workers` = N means N cores, each a thread running its own runtime ([`percore`]),
//! besides the calling thread, which only hands out each repetition's parts and waits for the
//! cores' answers. The event adds one thread for its setter; the condition always has two.
//!
//! [`percore`]: shootout_suite::percore
//!
//! # Examples
//!
//! ```
//! use shootout_compio::BACKEND;
//! use shootout_suite::{Cell, Profile, Task, TaskId};
//!
//! let task = Task::new(TaskId::Fib, Profile::Smoke);
//! let cell = Cell { task, variant: "static".into(), workers: 2, server: None };
//! let mut run = BACKEND.setup(&cell).unwrap();
//! let outcome = run(task.input()).unwrap();
//! assert_eq!(task.checksum(&outcome.answer), task.expected_checksum());
//! assert!(outcome.facts.iter().any(|(name, _)| *name == "io driver"));
//! ```
//!
//! # Implementation
//!
//! [`Backend::setup`](shootout_suite::Backend::setup) starts the cell's cores
//! ([`shootout_suite::percore::Cores`]): each thread pins itself, builds its runtime and its
//! state (a scatter's connections) on itself. A repetition is one or more
//! [`Cores::each`](shootout_suite::percore::Cores::each) calls, each core running its part in
//! its runtime's `block_on`. Dropping the runner drops the cores, which ends and joins their
//! threads.

pub mod dnc;
pub mod fanout;
pub mod pipeline;
mod runtime;
pub mod sync;

pub use runtime::{DRIVER_FACT, THREAD_PREFIX, driver};

use shootout_suite::backend::NotApplicable;
use shootout_suite::{Backend, Form, TaskId, Variant, Workers};

/// The compio backend: thread per core, a single-threaded compio runtime on each.
pub static BACKEND: Backend = Backend {
    name: "compio",
    about: "compio, thread per core: N pinned single-threaded runtimes with completion-based IO (io_uring, epoll fallback), sharing only the up-front division of the work",
    variants: &[
        Variant {
            name: "static",
            about: "one share per core decided up front, as thread per core implies: shows what no stealing costs on an irregular tree (nqueens); choose it when the work divides evenly",
            tasks: &[TaskId::Mergesort, TaskId::Fib, TaskId::Nqueens],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: dnc::setup_static,
        },
        Variant {
            name: "chunked",
            about: "many grain-sized chunks pulled by the cores from one cross-core async_channel: choose it when the pieces are uneven and a static split leaves cores idle",
            tasks: &[TaskId::Mergesort, TaskId::Fib, TaskId::Nqueens],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: dnc::setup_chunked,
        },
        Variant {
            name: "per-core",
            about: "the K connections divided among the cores, each share opened on and driven by its own runtime: many connections, no cross-core wake-ups within a round",
            tasks: &[TaskId::Scatter],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: fanout::setup_scatter,
        },
        Variant {
            name: "per-core",
            about: "requests dealt round-robin to min(N, C) cores, the limit C divided among them, a fresh connection per request: independent requests, no shared limit",
            tasks: &[TaskId::Crawl],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: fanout::setup_crawl,
        },
        Variant {
            name: "async-channel",
            about: "producer cores and consumer cores around one bounded async_channel: the one queue that must cross cores",
            tasks: &[TaskId::Bounded],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: pipeline::setup_async_channel,
        },
        Variant {
            name: "async-lock",
            about: "W cores meeting at one async_lock::Barrier between phases: when cores must step together",
            tasks: &[TaskId::Barrier],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: sync::setup_barrier,
        },
        Variant {
            name: "event-listener",
            about: "a setter thread releasing W waiter cores with an event_listener::Event: every wake-up crosses threads (checked)",
            tasks: &[TaskId::Event],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: sync::setup_event,
        },
        Variant {
            name: "event-listener",
            about: "pinger and ponger on two cores, a monitor with an Event per direction: every hand-over wakes the other core (checked)",
            tasks: &[TaskId::Condition],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: sync::setup_condition,
        },
    ],
    not_applicable: &[NotApplicable {
        tasks: &[TaskId::Lock, TaskId::Semaphore],
        reason: "thread per core shares no state between cores, it shards it: a lock or semaphore the cores contend for is the threads backend's row",
    }],
};
