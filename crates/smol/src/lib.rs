//! The suite on smol: one `async-executor` run by N threads, `async-io` sockets and timers,
//! `async-channel`, `async-lock` and `event-listener`.
//!
//! A thread per connection costs a stack and a kernel thread for every request in flight; an
//! async task costs a small heap-allocated state machine, polled again when the reactor (epoll
//! here) says its socket is ready. Ten thousand waits become ten thousand futures on a few
//! threads. The price is cooperation: a task runs until it awaits something that is not ready,
//! and nothing can take its thread away before that, so CPU-bound work needs care.
//!
//! smol is not one runtime but a family of small crates, one job each: [`async_executor`] runs
//! tasks, [`async_io`] is the reactor and the timers, [`async_net`] the sockets,
//! [`async_channel`] and [`async_lock`] the synchronization (both built on [`event_listener`],
//! which the sync family also uses directly), [`blocking`] a thread pool for blocking calls.
//! The `smol` crate re-exports them (`smol::Executor`, `smol::Timer`,
//! [`smol::net`], [`smol::channel`], [`smol::lock`], [`smol::unblock`]) and adds a global
//! executor for tests and small programs ([`smol::spawn`]). That executor runs on one thread
//! unless the `SMOL_THREADS` variable says otherwise, read once at first use, and smol's own
//! docs advise creating your own `Executor` for anything else. So there is no "smol runtime" to
//! size: a program builds one. This crate shows how, in [`runtime`]: an `Executor`, leaked into
//! a `&'static StaticExecutor`, run by N threads that each call
//! `async_io::block_on(executor.run(shutdown))`.
//!
//! # Variants
//!
//! | task | variant | what it shows |
//! |---|---|---|
//! | mergesort, fib, nqueens | `spawn` | recursive `Executor::spawn` + `.await` down to the grain: CPU work on the executor threads, the form async code takes first. Merge sort's `'static` tasks take owned `Region`s of the keys and one scratch buffer, with the parallel merge, as rayon's `join` does |
//! | mergesort, fib, nqueens | `unblock` | the same recursion, each piece of sequential work (a leaf, a piece of a merge) sent to [`blocking::unblock`], at most N at once (an `async_lock::Semaphore`): the usual advice for CPU work |
//! | mergesort, fib, nqueens | `rayon-bridge` | the whole job on a rayon pool of N threads, its result awaited on a `futures` oneshot: the hybrid tokio's docs advise, here too (`shootout_rayon::bridge::on_rayon`) |
//! | scatter | `spawn` | a task per connection per round, all awaited: concurrency and parallelism |
//! | scatter | `join-all` | a round's K calls as K futures joined in one task: concurrency without parallelism |
//! | crawl | `spawn` | a `Semaphore` permit, then a task per request on a fresh connection |
//! | bounded | `async-channel` | [`async_channel::bounded`] (multi-consumer, receivers cloned); producers and consumers are tasks |
//! | bounded | `async-channel-batched` | the same channel carrying `Vec`s of up to 128 items, the batches the processes' pipe writes (restructured: batching beside batching) |
//! | lock | `async-lock` | [`async_lock::Mutex`] around the shared counter, one `lock().await` per entry |
//! | lock | `std-mutex` | a [`std::sync::Mutex`] around the shared counter, never held across an `.await` |
//! | semaphore | `async-lock` | [`async_lock::Semaphore`] of S permits, one `acquire().await` per entry |
//! | barrier | `async-lock` | [`async_lock::Barrier`] for W tasks between phases |
//! | event | `event-listener` | an [`event_listener::Event`] beside a generation number: `listen`, check again, `.await`; `notify(usize::MAX)` wakes every waiter; the setter on the calling thread, so every wake-up crosses threads (checked) |
//! | event | `event-listener-spawned` | the same with the setter a task: the executor may run the woken waiter on the setter's thread, a task switch (restructured) |
//! | condition | `event-listener` | the async monitor: turn and ball under a std `Mutex`, one `Event` per direction of the hand-off; the pinger on the calling thread (checked) |
//! | condition | `event-listener-spawned` | the same with both parties tasks: the same-thread hand-off (restructured) |
//!
//! `cell.workers` = N means N executor threads (the pipeline and the condition fix N, as for
//! every model: P + C, and 2). Besides them the process has the calling thread, parked while a
//! repetition runs – except in the natural event and condition variants, where it runs the
//! setter or the pinger, outside the executor, so that every wake-up crosses threads; async-io's `async-io` thread, which
//! waits on the reactor when no executor thread does; and for `unblock`, blocking's pool
//! threads, at most N of them working at once.
//!
//! # Examples
//!
//! ```
//! use shootout_smol::BACKEND;
//! use shootout_suite::{Cell, Profile, Task, TaskId};
//!
//! let task = Task::new(TaskId::Fib, Profile::Smoke);
//! let cell = Cell { task, variant: "spawn".into(), workers: 2, server: None };
//! let mut run = BACKEND.setup(&cell).unwrap();
//! let outcome = run(task.input()).unwrap();
//! assert_eq!(task.checksum(&outcome.answer), task.expected_checksum());
//! ```
//!
//! # Implementation
//!
//! [`Backend::setup`](shootout_suite::Backend::setup) builds the cell's [`Runtime`] (the thread spawns are setup, not work) and
//! opens a scatter's connections. Each repetition spawns its root task on the executor and the
//! calling thread waits for the task's handle ([`run_task`]), so the calling thread runs no
//! task: it is not an extra worker. (The natural event and condition variants instead run their
//! root future – the setter, the pinger – on the calling thread with the same parking
//! `block_on`, so that the parties they wake are on executor threads, never on theirs.) Dropping the runner drops the `Runtime`, which closes its
//! shutdown channel and joins its threads.
//!
//! The executor threads and the calling thread wait in different ways, each for a reason:
//!
//! - An executor thread runs `async_io::block_on(executor.run(..))` (`smol::block_on` is the
//!   same function). While its future is pending, a thread in async-io's `block_on` takes its
//!   turn waiting on epoll and firing timers, so an idle executor thread wakes its own tasks'
//!   IO without a hop through the `async-io` thread. That is what smol's own global executor
//!   and async-std's executor threads do too.
//! - The calling thread waits with `futures_lite::future::block_on(task)`, which only parks the
//!   thread until the task's handle wakes it. It never touches the reactor, so every IO
//!   readiness and timer of a repetition is handled by an executor thread (or, while they are
//!   all busy, by the `async-io` thread), never by a thread that cannot run the woken task.
//!   Waiting with `async_io::block_on` here would make the calling thread compete for the
//!   reactor, most of all at the start of a repetition, when every executor thread is busy
//!   with the new tasks; the tasks it woke would still have to be run elsewhere.
//!
//! The task code itself is written once in `shootout-async-common`, shared with
//! `shootout-async-std` (the two runtimes are built from the same crates), generic over a few
//! small traits. Each family file here ([`dnc`], [`fanout`], [`pipeline`], [`sync`]), named as
//! in every other backend crate, holds smol's side of them: `unblock`, async-net and async-io's
//! timers, async-channel 2.x, futures-lite's `yield_now`; [`runtime`] the executor and its
//! [`Spawner`]. So `diff` against the same file of `shootout-async-std` shows exactly what
//! differs between the runtimes. The sequential kernels and the wire codec come from
//! `shootout-suite`.

pub mod dnc;
pub mod fanout;
pub mod pipeline;
mod runtime;
pub mod sync;

pub use runtime::{Runtime, Spawner, run_task, runtime};

use shootout_async_common as common;
use shootout_suite::wake::Handoff;
use shootout_suite::{Backend, Form, TaskId, Variant, Workers};

/// The smol backend: async-executor, async-io, async-net, async-channel, async-lock, blocking.
pub static BACKEND: Backend = Backend {
    name: "smol",
    about: "smol: one async-executor run by N threads, async-io sockets and timers, async-channel, async-lock",
    variants: &[
        Variant {
            name: "spawn",
            about: "recursive Executor::spawn + await down to the grain: CPU work on the N executor threads",
            tasks: &[TaskId::Mergesort, TaskId::Fib, TaskId::Nqueens],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: common::dnc::setup_spawn::<Runtime>,
        },
        Variant {
            name: "unblock",
            about: "async recursion, each leaf sent to blocking::unblock, at most N at once (a Semaphore)",
            tasks: &[TaskId::Mergesort, TaskId::Fib, TaskId::Nqueens],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: common::dnc::setup_pool::<Runtime>,
        },
        Variant {
            name: "rayon-bridge",
            about: "the whole job on a rayon pool of N threads, its result awaited on a futures oneshot: the hybrid tokio's docs advise, here too",
            tasks: &[TaskId::Mergesort, TaskId::Fib, TaskId::Nqueens],
            form: Form::Hybrid,
            workers: Workers::Exact,
            setup: common::dnc::setup_rayon_bridge::<Runtime>,
        },
        Variant {
            name: "spawn",
            about: "a task per connection per round, all awaited: concurrency and parallelism",
            tasks: &[TaskId::Scatter],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: common::fanout::setup_scatter_spawn::<Runtime>,
        },
        Variant {
            name: "join-all",
            about: "a round's K calls as futures joined in ONE task (try_join_all): concurrency without parallelism",
            tasks: &[TaskId::Scatter],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: common::fanout::setup_scatter_join_all::<Runtime>,
        },
        Variant {
            name: "spawn",
            about: "an async-lock Semaphore permit, then a task per request on a fresh async-net connection",
            tasks: &[TaskId::Crawl],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: common::fanout::setup_crawl_spawn::<Runtime>,
        },
        Variant {
            name: "async-channel",
            about: "async_channel::bounded, receivers cloned; producers and consumers are tasks on N threads",
            tasks: &[TaskId::Bounded],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: common::pipeline::setup_async_channel::<Runtime>,
        },
        Variant {
            name: "async-channel-batched",
            about: "async-channel of Vec batches of up to 128 items, as many as hold the capacity: the batching the processes' pipe and socket do, in async tasks",
            tasks: &[TaskId::Bounded],
            form: Form::Restructured,
            workers: Workers::Exact,
            setup: common::pipeline::setup_async_channel_batched::<Runtime>,
        },
        Variant {
            name: "async-lock",
            about: "async_lock::Mutex (smol::lock::Mutex) around the counter: a contended lock().await suspends the task",
            tasks: &[TaskId::Lock],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: common::sync::setup_lock_async_lock::<Runtime>,
        },
        Variant {
            name: "std-mutex",
            about: "std::sync::Mutex inside the tasks, never held across an .await: the cheaper lock when no guard crosses one",
            tasks: &[TaskId::Lock],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: common::sync::setup_lock_std_mutex::<Runtime>,
        },
        Variant {
            name: "async-lock",
            about: "async_lock::Semaphore, one acquire().await per entry: the async way to bound concurrency",
            tasks: &[TaskId::Semaphore],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: common::sync::setup_semaphore_async_lock::<Runtime>,
        },
        Variant {
            name: "async-lock",
            about: "async_lock::Barrier for W tasks, wait().await between phases (an async Mutex and an Event inside: 2W-1 lock operations a phase, as each woken waiter re-locks)",
            tasks: &[TaskId::Barrier],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: common::sync::setup_barrier_async_lock::<Runtime>,
        },
        Variant {
            name: "event-listener",
            about: "a generation in an atomic and an event_listener::Event, notify(usize::MAX): what smol's crates use inside; the setter on the calling thread, so every wake-up crosses threads (checked)",
            tasks: &[TaskId::Event],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: |cell| {
                common::sync::setup_event_event_listener::<Runtime>(cell, Handoff::CrossThread)
            },
        },
        Variant {
            name: "event-listener-spawned",
            about: "event-listener with the setter a task too: the executor may run a woken waiter on the setter's thread, a task switch rather than a cross-thread wake-up",
            tasks: &[TaskId::Event],
            form: Form::Restructured,
            workers: Workers::Exact,
            setup: |cell| {
                common::sync::setup_event_event_listener::<Runtime>(cell, Handoff::Spawned)
            },
        },
        Variant {
            name: "event-listener",
            about: "the async monitor: turn and ball under a std Mutex, one event_listener::Event per direction; the pinger on the calling thread, so every hand-over crosses threads (checked)",
            tasks: &[TaskId::Condition],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: |cell| {
                common::sync::setup_condition_event_listener::<Runtime>(cell, Handoff::CrossThread)
            },
        },
        Variant {
            name: "event-listener-spawned",
            about: "event-listener with both parties tasks: the executor may run the hand-over on the striker's thread, a task switch rather than a cross-thread wake-up",
            tasks: &[TaskId::Condition],
            form: Form::Restructured,
            workers: Workers::Exact,
            setup: |cell| {
                common::sync::setup_condition_event_listener::<Runtime>(cell, Handoff::Spawned)
            },
        },
    ],
    not_applicable: &[],
};
