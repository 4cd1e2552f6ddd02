//! The suite on tokio: a multi-thread runtime of N workers, and a current-thread one where it
//! teaches something.
//!
//! A thread that waits for a socket is a whole thread: a stack, a spawn and a wake-up per
//! reply, and a machine holds only so many. Async Rust compiles a function that waits into a
//! state machine that can be parked at every `.await` and resumed when its IO is ready. Tokio,
//! the most used runtime, drives those machines (tasks). It has a work-stealing scheduler of N
//! worker threads, an epoll reactor that says which sockets are ready, a timer wheel, and a
//! blocking pool for calls that cannot be made async. Where threads are expensive, tokio is
//! cheap: ten thousand connections are ten thousand small tasks, and a hand-off between tasks
//! on one worker is a function call. Where threads are free, tokio costs something: the
//! scheduler is cooperative, so a task that computes without reaching an `.await` holds its
//! worker, and everything queued behind it waits. This crate writes each task the way a tokio
//! expert would. It writes the CPU-bound tasks in the three ways tokio users are told to, so
//! that the tables show what each piece of advice is worth.
//!
//! # Variants
//!
//! | task | variant | what it shows |
//! |---|---|---|
//! | mergesort, fib, nqueens | `spawn` | recursive `tokio::spawn` down to the grain, leaves on the workers: CPU work in async, the pattern tokio warns about. Merge sort's tasks are `'static`, so they take owned `Region`s of the keys and one scratch buffer (split and joined without a copy) and ping-pong between them like rayon's `join`, the merges split in parallel down to the grain |
//! | mergesort, fib, nqueens | `spawn-blocking` | the same task tree, every leaf (and merge piece) on `spawn_blocking`: the blocking pool, capped at N, computes; the workers only spawn, split and await |
//! | mergesort, fib, nqueens | `rayon-bridge` | tokio's advice: the whole job on a rayon pool of N threads, the result awaited on a `oneshot` |
//! | scatter | `spawn` | a task per connection per round in a `JoinSet`, each moving its connection in and out |
//! | scatter | `join-all` | a round's K calls as futures of one task (`try_join_all`): concurrency without parallelism |
//! | scatter | `join-all-unconstrained` | `join-all` with tokio's cooperative budget off for its task: the budget costs a sub-executor up to K polls per forced yield |
//! | scatter | `current-thread` | `spawn` on a current-thread runtime: 10 000 connections on one OS thread |
//! | scatter | `per-core` | W current-thread runtimes, one per pinned thread, each with its share of the connections and a task per connection per round: thread per core on epoll, the control for compio's `per-core` |
//! | crawl | `spawn` | an owned `Semaphore` permit, then a task per request on a fresh connection |
//! | crawl | `current-thread` | `spawn` on a current-thread runtime: one OS thread |
//! | crawl | `per-core` | W current-thread runtimes, the requests dealt out in turn and the C permits divided among them |
//! | bounded | `mpsc` | `tokio::sync::mpsc::channel(capacity)`; consumers share its one receiver behind an async `Mutex` |
//! | bounded | `async-channel` | `async_channel::bounded(capacity)`, every consumer with its own receiver: the multi-consumer channel tokio's tutorial points to |
//! | bounded | `async-channel-batched` | the same channel carrying `Vec`s of up to 128 items, the batches the processes' pipe writes (restructured: batching beside batching) |
//! | bounded | `current-thread` | `mpsc` on a current-thread runtime: hand-offs are task switches, never wake-ups |
//! | bounded | `per-core` | P + C current-thread runtimes, one producer or consumer each, joined by one `async_channel::bounded` |
//! | lock | `tokio-mutex` | `tokio::sync::Mutex`, `.lock().await`: FIFO-fair, the lock for a guard held across an `.await` |
//! | lock | `std-mutex` | a `std::sync::Mutex` inside the tasks: tokio's own advice for plain data, the guard never held across an `.await` |
//! | semaphore | `semaphore` | `tokio::sync::Semaphore`, a permit from `acquire().await` per entry |
//! | barrier | `barrier` | `tokio::sync::Barrier`, `wait().await` at the end of every phase |
//! | event | `notify` | `Notify::notify_waiters()` and the generation in an `AtomicU64`; the setter on the calling thread, so every wake-up crosses threads (checked) |
//! | event | `watch` | a `watch` channel carrying the generation, waiters on `changed().await`; the setter on the calling thread (checked) |
//! | event | `notify-spawned` | `notify` with the setter a task too: the woken waiter usually runs next on the setter's worker (LIFO slot), a task switch (restructured) |
//! | condition | `notify` | a std `Mutex` monitor with a `Notify` per direction (`notify_one`): the async `Condvar`; the pinger on the calling thread (checked) |
//! | condition | `notify-spawned` | the same with both parties tasks: the same-thread hand-off (restructured) |
//!
//! `cell.workers` = N means N worker threads: the multi-thread runtime has N workers, and its
//! blocking pool at most N threads. Where the idiom puts the work elsewhere it is said in the
//! variant's docs. `rayon-bridge` computes on a rayon pool of N threads while the N tokio
//! workers are parked. `spawn-blocking` computes on the blocking pool's N threads while the
//! workers coordinate. A `current-thread` variant runs everything on the calling thread, and
//! ignores N (it is measured once, at N = 1, except in the pipeline, which fixes N = P + C for
//! every variant). The pipeline runs at N = P + C and the condition
//! at N = 2, as every model does. In `event` and `condition` the natural variants' setter or
//! pinger runs on the calling thread, outside the N workers ([`wake`]). A `per-core` variant
//! runs N threads (P + C in the pipeline), each pinned to a core where the OS allows and
//! driving its own current-thread runtime ([`shootout_suite::percore`]): no work stealing, and
//! no task or socket ever moves between them – tokio's shape of thread per core, so that beside
//! compio's per-core rows the architecture (per core or work stealing) and the IO driver
//! (io_uring or epoll) can be told apart.
//!
//! # Examples
//!
//! ```
//! use shootout_suite::{Cell, Profile, Task, TaskId};
//!
//! let task = Task::new(TaskId::Fib, Profile::Smoke);
//! let cell = Cell { task, variant: "spawn".into(), workers: 2, server: None };
//! let mut run = shootout_tokio::BACKEND.setup(&cell).unwrap();
//! let outcome = run(task.input()).unwrap();
//! assert_eq!(task.checksum(&outcome.answer), task.expected_checksum());
//! ```
//!
//! # Implementation
//!
//! [`BACKEND`] declares every variant once, with the function in its family's file that sets
//! it up. Setup builds the cell's runtime ([`runtime::runtime`] or
//! [`runtime::current_thread_runtime`]), and for `rayon-bridge` its rayon pool
//! ([`runtime::rayon_pool`]), and opens a scatter's connections. Every repetition reuses them
//! through one `Runtime::block_on` from the calling thread (see [`runtime::run_task`]).
//! `block_on` polls its future on the calling thread, which is not one of the runtime's
//! workers. A root future that computed there would make N + 1 threads work, so the
//! root is spawned as a task and the calling thread only waits for it. Dropping the runner
//! drops the runtime, which stops and joins its threads.
//!
//! Each family lives in its own file ([`dnc`], [`fanout`], [`pipeline`], [`sync`]), named as in every
//! other backend crate, so that two backends diff cleanly. The sequential kernels (leaf sort,
//! merge, `fib`, the queens search, the wire codec, per-item work) come from `shootout-suite`;
//! these files hold only the concurrency structure. `rayon-bridge` runs the rayon backend's own
//! `join` functions ([`shootout_rayon::dnc`]) inside its bridge.

pub mod dnc;
pub mod fanout;
pub mod pipeline;
pub mod runtime;
pub mod sync;
pub mod wake;

use shootout_suite::wake::Handoff;
use shootout_suite::{Backend, Form, TaskId, Variant, Workers};

/// The tokio backend.
pub static BACKEND: Backend = Backend {
    name: "tokio",
    about: "tokio: tasks on a multi-thread runtime of N workers, spawn_blocking, a rayon bridge, current-thread",
    variants: &[
        Variant {
            name: "spawn",
            about: "recursive tokio::spawn to the grain, leaves on the workers: the CPU-in-async pattern tokio warns about (mergesort: owned Regions of one buffer, parallel merge)",
            tasks: &[TaskId::Mergesort, TaskId::Fib, TaskId::Nqueens],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: dnc::setup_spawn,
        },
        Variant {
            name: "spawn-blocking",
            about: "the same task tree, every leaf (and merge) on spawn_blocking: the blocking pool (capped at N) computes",
            tasks: &[TaskId::Mergesort, TaskId::Fib, TaskId::Nqueens],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: dnc::setup_spawn_blocking,
        },
        Variant {
            name: "rayon-bridge",
            about: "tokio's advice: the whole job on a rayon pool of N threads, its result awaited on a oneshot",
            tasks: &[TaskId::Mergesort, TaskId::Fib, TaskId::Nqueens],
            form: Form::Hybrid,
            workers: Workers::Exact,
            setup: dnc::setup_rayon_bridge,
        },
        Variant {
            name: "spawn",
            about: "a task per connection per round in a JoinSet, each moving its connection in and out",
            tasks: &[TaskId::Scatter],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: fanout::scatter_spawn,
        },
        Variant {
            name: "join-all",
            about: "a round's K calls as futures of one task (try_join_all): concurrency without parallelism",
            tasks: &[TaskId::Scatter],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: fanout::scatter_join_all,
        },
        Variant {
            name: "join-all-unconstrained",
            about: "join-all with tokio's cooperative budget off for its task: what the budget costs a sub-executor",
            tasks: &[TaskId::Scatter],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: fanout::scatter_join_all_unconstrained,
        },
        Variant {
            name: "current-thread",
            about: "the spawn form on a current-thread runtime: every connection on one OS thread",
            tasks: &[TaskId::Scatter],
            form: Form::Natural,
            workers: Workers::Ignored,
            setup: fanout::scatter_current_thread,
        },
        Variant {
            name: "spawn",
            about: "acquire an owned Semaphore permit, then spawn a task per request on a fresh connection",
            tasks: &[TaskId::Crawl],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: fanout::crawl_spawn,
        },
        Variant {
            name: "per-core",
            about: "W current-thread runtimes on pinned threads, each with its share of the connections, a task per connection per round: thread per core on epoll",
            tasks: &[TaskId::Scatter],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: fanout::scatter_per_core,
        },
        Variant {
            name: "per-core",
            about: "W current-thread runtimes on pinned threads, requests dealt out in turn, the C permits divided among them",
            tasks: &[TaskId::Crawl],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: fanout::crawl_per_core,
        },
        Variant {
            name: "current-thread",
            about: "the spawn form on a current-thread runtime: every request on one OS thread",
            tasks: &[TaskId::Crawl],
            form: Form::Natural,
            workers: Workers::Ignored,
            setup: fanout::crawl_current_thread,
        },
        Variant {
            name: "mpsc",
            about: "tokio::sync::mpsc::channel; consumers take turns at its one Receiver behind an async Mutex: right for one consumer",
            tasks: &[TaskId::Bounded],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: pipeline::setup_mpsc,
        },
        Variant {
            name: "async-channel",
            about: "async_channel::bounded, every consumer with its own receiver: the multi-consumer queue tokio's tutorial points to",
            tasks: &[TaskId::Bounded],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: pipeline::setup_async_channel,
        },
        Variant {
            name: "async-channel-batched",
            about: "async-channel of Vec batches of up to 128 items, as many as hold the capacity: the batching the processes' pipe and socket do, in async tasks",
            tasks: &[TaskId::Bounded],
            form: Form::Restructured,
            workers: Workers::Exact,
            setup: pipeline::setup_async_channel_batched,
        },
        Variant {
            name: "per-core",
            about: "P + C current-thread runtimes on pinned threads, a producer or a consumer each, joined by one async_channel::bounded: every item crosses cores",
            tasks: &[TaskId::Bounded],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: pipeline::setup_per_core,
        },
        Variant {
            name: "current-thread",
            about: "the mpsc form on a current-thread runtime: hand-offs are task switches, never wake-ups",
            tasks: &[TaskId::Bounded],
            form: Form::Natural,
            workers: Workers::Ignored,
            setup: pipeline::setup_current_thread,
        },
        Variant {
            name: "tokio-mutex",
            about: "tokio::sync::Mutex, .lock().await: FIFO-fair, the lock a guard held across an .await needs",
            tasks: &[TaskId::Lock],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: sync::setup_tokio_mutex,
        },
        Variant {
            name: "std-mutex",
            about: "std::sync::Mutex inside the tasks: tokio's advice for plain data when no guard is held across an .await",
            tasks: &[TaskId::Lock],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: sync::setup_std_mutex,
        },
        Variant {
            name: "semaphore",
            about: "tokio::sync::Semaphore, a permit from acquire().await per entry: tokio's way to bound concurrency",
            tasks: &[TaskId::Semaphore],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: sync::setup_semaphore,
        },
        Variant {
            name: "barrier",
            about: "tokio::sync::Barrier, wait().await at the end of every phase; waiting tasks free their workers",
            tasks: &[TaskId::Barrier],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: sync::setup_barrier,
        },
        Variant {
            name: "notify",
            about: "Notify::notify_waiters() beside an AtomicU64 generation: tokio's bare wake-everyone; the setter on the calling thread, so every wake-up crosses threads (checked)",
            tasks: &[TaskId::Event],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: |cell| wake::setup_event_notify(cell, Handoff::CrossThread),
        },
        Variant {
            name: "watch",
            about: "a watch channel carrying the generation, waiters on changed().await: tokio's broadcast-the-latest-value; the setter on the calling thread (checked)",
            tasks: &[TaskId::Event],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: wake::setup_event_watch,
        },
        Variant {
            name: "notify-spawned",
            about: "notify with the setter a task too: a woken waiter usually runs next on the setter's worker (LIFO slot), a task switch rather than a cross-thread wake-up",
            tasks: &[TaskId::Event],
            form: Form::Restructured,
            workers: Workers::Exact,
            setup: |cell| wake::setup_event_notify(cell, Handoff::Spawned),
        },
        Variant {
            name: "notify",
            about: "a std Mutex monitor with one Notify per direction (notify_one stores a permit): the async Condvar; the pinger on the calling thread, so every hand-over crosses threads (checked)",
            tasks: &[TaskId::Condition],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: |cell| wake::setup_condition_notify(cell, Handoff::CrossThread),
        },
        Variant {
            name: "notify-spawned",
            about: "notify with both parties tasks: the hand-over usually runs on the striker's worker, a task switch rather than a cross-thread wake-up",
            tasks: &[TaskId::Condition],
            form: Form::Restructured,
            workers: Workers::Exact,
            setup: |cell| wake::setup_condition_notify(cell, Handoff::Spawned),
        },
    ],
    not_applicable: &[],
};
