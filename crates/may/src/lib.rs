//! The suite on may: stackful M:N coroutines on N worker threads, written in blocking style.
//!
//! A thread per connection reads as if nothing else existed, and costs a kernel thread and its
//! stack per wait; an async task costs a small state machine, and every function that waits
//! must be `async`. Stackful coroutines are the third way, gevent's and (in its runtime) Go's:
//! each coroutine has a stack of its own, so it is written exactly like a thread – a blocking
//! `read`, `lock`, `recv`, `join` – but when it would block, the library switches its worker
//! thread to another coroutine, and M coroutines share N threads. may is that model in Rust:
//! `go!` spawns, `may::net` sockets park the coroutine on each worker's epoll loop,
//! `may::sync` has the thread primitives again for coroutines, and may's workers steal work
//! from each other. This is stackful M:N in Rust, not Go: no growable stacks, no preemption, no
//! compiler that knows where a coroutine may switch.
//!
//! # Caveats, plainly
//!
//! - **Spawning is `unsafe`.** A coroutine may resume on another worker after any blocking
//!   call, and the compiler does not know it: a thread-local read before and after the switch
//!   may be one stale address, and a std lock held across it belongs to the wrong thread. may's
//!   `coroutine::spawn`, `Builder::spawn` and `Scope::spawn` are `unsafe fn`s for that (its
//!   `go!` macro wraps an `unsafe` block). Every spawn of this crate is in one audited module,
//!   `coroutine` (`src/coroutine.rs`), which says what the coroutines it runs may and may not do.
//! - **Stacks are fixed-size** and never grown: a coroutine that outgrows its stack hits a
//!   guard page and kills the process. This crate sets 128 KiB
//!   ([`runtime::STACK_WORDS`], where the choice is argued from the deepest recursion measured),
//!   four times may's default 32 KiB.
//! - **Scheduling is cooperative.** A coroutine runs until it blocks on something of may's or
//!   yields; a CPU-bound coroutine holds its worker for as long as it computes, and a busy wait
//!   must call `may::coroutine::yield_now`.
//! - **One scheduler per process**, configured before first use and never again (see
//!   [`runtime`]): a cell asking for a different worker count in the same process fails.
//!
//! # Variants
//!
//! | task | variant | what it shows |
//! |---|---|---|
//! | mergesort, fib, nqueens | `go` | a scoped coroutine per split, joined, down to the grain: `rayon::join`'s shape with a real spawn per call |
//! | scatter | `go` | a coroutine per connection per round on K open `may::net` streams, the suite's blocking client unchanged |
//! | crawl | `go` | a coroutine per request on a fresh connection, at most C in flight (a may `Semphore`) |
//! | bounded | `mpmc-semphore` | may's unbounded `mpmc` channel, bounded by a `Semphore` of `capacity` permits; P + C coroutines |
//! | lock | `mutex` | [`may::sync::Mutex`] |
//! | semaphore | `semphore` | [`may::sync::Semphore`] |
//! | barrier | `barrier` | [`may::sync::Barrier`] |
//! | event | `condvar` | a generation under may's `Mutex` + `Condvar`, the setter on the calling thread (wake-ups cross threads, checked) |
//! | condition | `condvar` | may's `Mutex` + `Condvar` monitor, the pinger on the calling thread (checked) |
//!
//! `cell.workers` = W means W may worker threads (the pipeline and the condition fix W, as for
//! every model: P + C, and 2). Besides them the process has may's timer thread (it keeps the
//! socket timeouts and sleeps) and the calling thread, which waits while a repetition's
//! coroutines run – except in the crawl, where it paces and spawns the requests, and in the
//! event and condition, where it is the setter or the pinger, so that every wake-up crosses
//! threads. Each outcome notes the stack size and the worker count (`stack`, `workers`).
//!
//! # Examples
//!
//! ```
//! use shootout_may::BACKEND;
//! use shootout_suite::{Cell, Profile, Task, TaskId};
//!
//! let task = Task::new(TaskId::Fib, Profile::Smoke);
//! let cell = Cell { task, variant: "go".into(), workers: 2, server: None };
//! let mut run = BACKEND.setup(&cell).unwrap();
//! let outcome = run(task.input()).unwrap();
//! assert_eq!(task.checksum(&outcome.answer), task.expected_checksum());
//! ```
//!
//! # Implementation
//!
//! [`Backend::setup`](shootout_suite::Backend::setup) starts may's scheduler with the cell's W
//! ([`runtime::start`]) and opens a scatter's connections. A repetition's coroutines are scoped
//! (`may::coroutine::scope`), so they borrow the repetition's data as `std::thread::scope`'s
//! threads do, and are all joined before it ends. The sequential kernels, the wire codec and
//! the blocking client come from `shootout-suite`; `may::net::TcpStream` is `Read + Write`, so
//! [`call_blocking`](shootout_suite::fanout::call_blocking) runs on it unchanged.

mod coroutine;
pub mod dnc;
pub mod fanout;
pub mod pipeline;
pub mod runtime;
pub mod sync;

use shootout_suite::{Backend, Form, TaskId, Variant, Workers};

/// The may backend: stackful coroutines on N workers, `may::net`, `may::sync`.
pub static BACKEND: Backend = Backend {
    name: "may",
    about: "may: stackful M:N coroutines in Rust on N worker threads, blocking-style may::net and may::sync",
    variants: &[
        Variant {
            name: "go",
            about: "a scoped coroutine per split, joined, down to the grain: fork-join written like threads, on N workers",
            tasks: &[TaskId::Mergesort, TaskId::Fib, TaskId::Nqueens],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: dnc::setup_go,
        },
        Variant {
            name: "go",
            about: "a coroutine per connection per round, each a blocking call on its may::net stream",
            tasks: &[TaskId::Scatter],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: fanout::setup_scatter_go,
        },
        Variant {
            name: "go",
            about: "a coroutine per request on a fresh may::net connection, at most C in flight (a may Semphore)",
            tasks: &[TaskId::Crawl],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: fanout::setup_crawl_go,
        },
        Variant {
            name: "mpmc-semphore",
            about: "may's unbounded mpmc channel bounded by a Semphore of capacity permits; producers and consumers are coroutines",
            tasks: &[TaskId::Bounded],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: pipeline::setup_mpmc_semphore,
        },
        Variant {
            name: "mutex",
            about: "may::sync::Mutex around the counter: a contended lock parks the coroutine, not its worker",
            tasks: &[TaskId::Lock],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: sync::setup_lock_mutex,
        },
        Variant {
            name: "semphore",
            about: "may::sync::Semphore of S permits, wait and post per entry",
            tasks: &[TaskId::Semaphore],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: sync::setup_semaphore_semphore,
        },
        Variant {
            name: "barrier",
            about: "may::sync::Barrier for W coroutines between phases",
            tasks: &[TaskId::Barrier],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: sync::setup_barrier_barrier,
        },
        Variant {
            name: "condvar",
            about: "a generation under may's Mutex and Condvar, notify_all; the setter on the calling thread, so every wake-up crosses threads (checked)",
            tasks: &[TaskId::Event],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: sync::setup_event_condvar,
        },
        Variant {
            name: "condvar",
            about: "the monitor on may's Mutex and Condvar; the pinger on the calling thread, the ponger a coroutine, so every hand-over crosses threads (checked)",
            tasks: &[TaskId::Condition],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: sync::setup_condition_condvar,
        },
    ],
    not_applicable: &[],
};
