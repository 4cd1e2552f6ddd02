//! The suite on async-std: its global executor sized to N threads, its sockets and timers, its
//! channel and mutex, async-lock's semaphore and barrier, and event-listener.
//!
//! **async-std is discontinued.** Its README opens with "`async-std` has been discontinued;
//! use `smol` instead", and the RustSec advisory RUSTSEC-2025-0052 records it. It is measured
//! here because a great deal of code still runs on it, and because the comparison is
//! instructive: async-std is a std-shaped API (`task::spawn`, `net::TcpStream`, `io::Read`,
//! `task::sleep`) over [`async_global_executor`], which is built on the same `async-executor`
//! and `async-io` that smol is made of. The scheduler, the reactor and the timers are the
//! same code as in `shootout-smol`; what differs is what async-std puts around them, and this
//! crate mirrors `shootout-smol` file for file so that a diff shows exactly that:
//!
//! - **One global executor, sized once.** async-std has no runtime object: its executor is a
//!   process-wide static, started at first use with one thread per logical CPU, or with the
//!   count in `ASYNC_STD_THREAD_COUNT`, read once. smol's own global executor has one thread
//!   (`SMOL_THREADS`), and a smol program normally builds its own `Executor` and picks the
//!   count. Here [`runtime`] sizes async-std's executor to N threads before anything else
//!   touches it (see its docs for how), and every later cell of the process must ask for the
//!   same N. The harness runs every cell in its own process, so that costs nothing there.
//! - **Wrappers.** `task::spawn` wraps every future in a task-locals frame (a task id, an
//!   optional name, and async-std's task-local storage, set around every poll) before handing
//!   it to async-executor. Its `JoinHandle` *detaches* the task when dropped, where smol's
//!   `Task` cancels it, so code that gives up on tasks must cancel them by hand.
//!   `task::spawn_blocking(f)` is `task::spawn(async_global_executor::spawn_blocking(f))`:
//!   blocking's `unblock` inside one more task, spawned only to await it. That task costs two
//!   executor hops per piece (it is scheduled once to start waiting, and again when the pool
//!   is done) before it wakes the task that awaits the piece, which smol's `unblock` wakes
//!   straight from the pool.
//!   `async_std::channel` is async-channel (the older 1.x line), and `async_std::sync::Mutex`
//!   is async-lock's; there is no semaphore, so async-lock's is used. Its `Barrier` (async-lock's
//!   too) and its own `Condvar` exist only with the `unstable` feature, not enabled here.
//!   `io::timeout` and `task::sleep` are async-io timers.
//! - **Threads.** N executor threads named `async-std/runtime`, async-io's `async-io` thread,
//!   and for `spawn-blocking` blocking's pool: the same set as smol's. They are never stopped:
//!   dropping a runner leaves the global executor running, idle.
//!
//! # Variants
//!
//! | task | variant | what it shows |
//! |---|---|---|
//! | mergesort, fib, nqueens | `spawn` | recursive `task::spawn` + `.await` down to the grain: CPU work on the executor threads, the form async code takes first. Merge sort's `'static` tasks take owned `Region`s of the keys and one scratch buffer, with the parallel merge, as rayon's `join` does |
//! | mergesort, fib, nqueens | `spawn-blocking` | the same recursion, each piece of sequential work (a leaf, a piece of a merge) sent to `task::spawn_blocking`, at most N at once (an `async_lock::Semaphore`): the usual advice for CPU work. `task::spawn_blocking(f)` is `task::spawn(async_global_executor::spawn_blocking(f))`, two executor hops per piece: the runtime's real cost |
//! | mergesort, fib, nqueens | `rayon-bridge` | the whole job on a rayon pool of N threads, its result awaited on a `futures` oneshot: the hybrid tokio's docs advise, here too (`shootout_rayon::bridge::on_rayon`) |
//! | scatter | `spawn` | a task per connection per round, all awaited: concurrency and parallelism |
//! | scatter | `join-all` | a round's K calls as K futures joined in one task: concurrency without parallelism |
//! | crawl | `spawn` | an async-lock `Semaphore` permit, then a task per request on a fresh connection |
//! | bounded | `async-channel` | [`async_std::channel::bounded`], which is async-channel 1.x re-exported (smol's variant of the same name runs 2.x); producers and consumers are tasks |
//! | bounded | `async-channel-batched` | the same channel carrying `Vec`s of up to 128 items, the batches the processes' pipe writes (restructured: batching beside batching) |
//! | lock | `mutex` | [`async_std::sync::Mutex`] around the shared counter, one `lock().await` per entry: async-lock's `Mutex` re-exported, the same type as smol's `async-lock` variant |
//! | lock | `std-mutex` | a [`std::sync::Mutex`] around the shared counter, never held across an `.await` |
//! | semaphore | `async-lock` | [`async_lock::Semaphore`] of S permits (async-std has none), one `acquire().await` per entry |
//! | barrier | `async-lock` | [`async_lock::Barrier`] for W tasks between phases: `async_std::sync::Barrier` is the same type re-exported, but only with the `unstable` feature |
//! | event | `event-listener` | an [`event_listener::Event`] beside a generation number: `listen`, check again, `.await`; `notify(usize::MAX)` wakes every waiter; the setter on the calling thread, so every wake-up crosses threads (checked) |
//! | event | `event-listener-spawned` | the same with the setter a task: the executor may run the woken waiter on the setter's thread, a task switch (restructured) |
//! | condition | `event-listener` | the async monitor: turn and ball under a std `Mutex`, one `Event` per direction of the hand-off. async-std's `Condvar` would be the literal counterpart, but it exists only with the `unstable` feature; the pinger on the calling thread (checked) |
//! | condition | `event-listener-spawned` | the same with both parties tasks: the same-thread hand-off (restructured) |
//!
//! `cell.workers` = N means N executor threads, for every task.
//!
//! # Examples
//!
//! ```
//! use shootout_async_std::BACKEND;
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
//! [`Backend::setup`](shootout_suite::Backend::setup) sizes the global executor ([`runtime`]; its threads start on the first
//! call in the process, as setup) and opens a scatter's connections. Each repetition is
//! `task::block_on(task::spawn(root))` ([`run_task`]): the root is a task on the executor
//! threads, and the calling thread only waits for it (the natural event and condition variants
//! run their root – the setter, the pinger – with `task::block_on` itself, on the calling
//! thread, so that the parties they wake are on executor threads, never on theirs). async-std's `block_on` is
//! `async_io::block_on` around a thread-local executor (for `spawn_local`, unused here): it
//! runs no task of the global executor, so the calling thread is not an extra worker, but
//! while it waits it takes its turn waiting on the reactor, so IO readiness and timers may be
//! handled on it and the tasks they wake run elsewhere. `shootout-smol` parks its calling
//! thread with `futures_lite::future::block_on` instead; async-std offers no other `block_on`,
//! and this crate uses async-std's own API, so that difference is the runtime's.
//!
//! The task code itself is written once in `shootout-async-common`, shared with
//! `shootout-smol`, generic over a few small traits. Each family file here ([`dnc`],
//! [`fanout`], [`pipeline`], [`sync`]), named as in every other backend crate, holds
//! async-std's side of them: `task::spawn_blocking`, its `net` and `io::timeout` /
//! `future::timeout` / `task::sleep`, `async_std::channel` (async-channel 1.x),
//! `task::yield_now`, and cancelling a failed repetition's tasks by hand; [`runtime`] the global
//! executor's sizing and its [`Spawner`]. So `diff` against the same file of `shootout-smol`
//! shows exactly what differs between the runtimes. The sequential kernels and the wire codec
//! come from `shootout-suite`.

pub mod dnc;
pub mod fanout;
pub mod pipeline;
mod runtime;
pub mod sync;

pub use runtime::{Runtime, Spawner, THREAD_COUNT_VAR, THREAD_NAME, run_task, runtime};

use shootout_async_common as common;
use shootout_suite::wake::Handoff;
use shootout_suite::{Backend, Form, TaskId, Variant, Workers};

/// The async-std backend: its global executor, `net`, `io`, `task` and `channel`, with
/// async-lock's semaphore.
pub static BACKEND: Backend = Backend {
    name: "async-std",
    about: "async-std (discontinued upstream, RUSTSEC-2025-0052): its global executor sized to N threads",
    variants: &[
        Variant {
            name: "spawn",
            about: "recursive task::spawn + await down to the grain: CPU work on the N executor threads",
            tasks: &[TaskId::Mergesort, TaskId::Fib, TaskId::Nqueens],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: common::dnc::setup_spawn::<Runtime>,
        },
        Variant {
            name: "spawn-blocking",
            about: "async recursion, each leaf sent to task::spawn_blocking, at most N at once (a Semaphore): two executor hops per piece",
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
            about: "an async-lock Semaphore permit (async-std has none), then a task per request on a fresh connection",
            tasks: &[TaskId::Crawl],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: common::fanout::setup_crawl_spawn::<Runtime>,
        },
        Variant {
            name: "async-channel",
            about: "async_std::channel::bounded, which is async-channel 1.x re-exported, receivers cloned; tasks on N threads",
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
            name: "mutex",
            about: "async_std::sync::Mutex (async-lock's Mutex re-exported) around the counter: a contended lock().await suspends the task",
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
            about: "async_lock::Semaphore (async-std has none), one acquire().await per entry: the async way to bound concurrency",
            tasks: &[TaskId::Semaphore],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: common::sync::setup_semaphore_async_lock::<Runtime>,
        },
        Variant {
            name: "async-lock",
            about: "async_lock::Barrier for W tasks, wait().await between phases (async_std::sync::Barrier is this type, but unstable-only)",
            tasks: &[TaskId::Barrier],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: common::sync::setup_barrier_async_lock::<Runtime>,
        },
        Variant {
            name: "event-listener",
            about: "a generation in an atomic and an event_listener::Event, notify(usize::MAX): what async-lock and async-channel use inside; the setter on the calling thread, so every wake-up crosses threads (checked)",
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
            about: "the async monitor: turn and ball under a std Mutex, one event_listener::Event per direction (async-std's Condvar is unstable-only); the pinger on the calling thread, so every hand-over crosses threads (checked)",
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
