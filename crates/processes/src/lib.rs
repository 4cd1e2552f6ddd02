//! The suite on OS processes: worker pools, pipes, Unix sockets, shared memory and
//! process-shared synchronisation – the Rust counterpart of Python's `multiprocessing`.
//!
//! Sometimes a worker must not share an address space with its parent: it runs code that may
//! crash, it needs its own limits, or (in Python) it needs its own interpreter lock. Then the
//! workers are processes, and nothing is shared unless it is sent: every task, key and reply
//! crosses a pipe or a socket, or is put in memory that both sides map, and every worker costs a
//! process start (about a millisecond). This crate writes each task the way an expert with
//! processes would, and its variants differ in the one thing that matters here – which
//! inter-process mechanism pays for the isolation – so the tables show what isolation costs.
//!
//! # Variants
//!
//! | task | variant | what it shows |
//! |---|---|---|
//! | mergesort | `pipe` | a pool started in setup; runs go out and come back as raw bytes through 1 MiB pipes, the parent merges |
//! | mergesort | `shm` | the same pool shape; keys in a `memfd` mapped by all, only ranges cross the pipes |
//! | mergesort, fib, nqueens | `spawn-per-task` | N fresh processes per repetition, one share of the work each: process start-up is timed |
//! | fib, nqueens | `pipe` | a pool started in setup; chunks of tasks dealt dynamically over pipes, two queued per worker |
//! | scatter, crawl | `pipelined` | N processes, one thread each, every request written before its reply is read |
//! | scatter, crawl | `threads` | N processes with a thread per connection (scatter) or per in-flight slot (crawl) |
//! | bounded | `pipe` | one packet-mode pipe shared by every producer and consumer, batches of up to 128 items as atomic writes (restructured: batched, beside the in-process batched channels) |
//! | bounded | `pipe-per-item` | one stream pipe, one 24-byte write and read per item: `multiprocessing.Queue`'s shape, the processes' per-item row |
//! | bounded | `unix-socket` | one `SOCK_SEQPACKET` socket pair: message boundaries for free; batched like `pipe` |
//! | bounded | `shm-ring` | a ring of `capacity` items in shared memory, tickets and futexes, no system call when not full or empty: one item per hand-off, the processes' row beside the per-item channels |
//! | lock | `futex` | std's Linux futex mutex (Drepper's three states, a short spin) in a `memfd`, guarding the counter beside it: a process-shared lock |
//! | lock | `atomic` | `fetch_add` on the counter in shared memory, the work outside any lock: the lock-free contrast |
//! | semaphore | `futex` | a counting semaphore whose futex word, in shared memory, is the number of free permits |
//! | barrier | `futex` | a generation-counting barrier in shared memory: the last arrival bumps the generation and wakes all |
//! | event | `futex` | a generation word in shared memory; the parent sets it and wakes every waiter process at once |
//! | condition | `futex` | the textbook monitor in shared memory: turn and ball under a futex mutex, each process waiting on a futex condition variable |
//! | condition | `futex-turn` | a turn word on a futex and the ball beside it, no monitor: the lower bound a monitor compiles down to |
//! | condition | `pipe` | two processes ping-pong the ball through a pair of pipes, as `multiprocessing.Pipe()` users do |
//!
//! `cell.workers` = N means N worker processes, the parent (which only hands out work, merges
//! and measures) not counted. Fan-out runs `min(N, K)` processes for scatter and `min(N, C)` for
//! crawl; a pipeline runs P + C processes, whatever N says; `condition` runs two, whatever N says
//! (and in `event` the parent is the setter).
//!
//! # Examples
//!
//! A program that uses this backend calls [`run_if_worker`] first thing in `main`: the workers
//! are this same program, started again.
//!
//! ```rust,standalone_crate
//! use shootout_suite::{Cell, Profile, Task, TaskId};
//! use shootout_processes::BACKEND;
//!
//! fn main() {
//!     // In a worker this serves the parent and exits; here it returns at once.
//!     shootout_processes::run_if_worker();
//!
//!     let task = Task::new(TaskId::Fib, Profile::Smoke);
//!     let cell = Cell { task, variant: "pipe".into(), workers: 2, server: None };
//!     let mut run = BACKEND.setup(&cell).unwrap(); // starts two worker processes
//!     let outcome = run(task.input()).unwrap();
//!     assert_eq!(task.checksum(&outcome.answer), task.expected_checksum());
//! } // dropping `run` kills and reaps the workers
//! ```
//!
//! # Implementation
//!
//! **Workers are this program, re-executed.** A pool starts [`std::env::current_exe`] with the
//! environment variable [`WORKER_ENV`] set to the parent's pid; the program's `main` calls
//! [`run_if_worker`] first, which in a worker serves the parent and exits. This is
//! `multiprocessing`'s `spawn` start method (and procspawn's design): unlike a bare `fork` of a
//! process that already has threads (the harness, criterion, libtest all have), an `exec` starts
//! a clean process with no copied locks and no half-copied threads, and it needs no `unsafe`.
//! Test binaries, whose `main` is libtest's, hold a `#[test] fn worker_entry()` that calls
//! [`run_if_worker`] and tell the pool to start workers with
//! [`set_worker_args`]`(["worker_entry", "--exact", "--nocapture", "--test-threads=1"])`.
//!
//! **Everything a worker needs comes over its stdin.** A worker's stdin is a Unix socket to the
//! parent; its role arrives there first, during setup, with the file descriptors it needs (its
//! pipes, the `memfd`, its end of the queue) attached as `SCM_RIGHTS`. The role is one generic
//! message for every variant – the task's name and parameters by name, the variant, the
//! worker's index, the pool's size and the server's address – from which the worker rebuilds the
//! task (as the harness's `cell` command does) and finds its part in the table each family
//! declares next to its variants. That is simpler and safer than the
//! alternatives: stdio inheritance has three slots and libtest owns stdout; inheriting other
//! descriptors means clearing close-on-exec, which leaks them into every process any other thread
//! starts meanwhile; `/proc/<ppid>/fd/<n>` reopens a file, not the same pipe end, and depends on
//! ptrace permissions.
//!
//! **Workers never outlive the parent.** Each worker sets `PR_SET_PDEATHSIG` to `SIGKILL` and
//! checks that its parent is still the one that started it; workers are direct children of the
//! process that calls `setup` (so the harness can account their CPU time and memory) and stay in
//! its process group (so the harness's `killpg` on a timeout or Ctrl-C reaches them); dropping a
//! runner kills and reaps every worker. The death signal follows the *thread* that started the
//! worker, so a runner must be dropped before the thread that set it up exits – runners are not
//! `Send`, which makes that the natural order.
//!
//! **A dead worker fails the repetition, never hangs it.** The parent sees a worker's death as
//! end-of-file on its link or `EPIPE` writing to it (it `poll`s every link it waits for), reaps
//! it, and fails with its exit status; the pool then fails every later repetition at once.
//! Workers left asleep on a futex by a dead peer are killed with the pool; where the parent
//! itself sleeps on shared memory (the sync family's event setter), it wakes every
//! [`sync::PATIENCE`] to look at the links.
//!
//! # The map
//!
//! Dependencies run one way, down this table; no file imports one above it, and none imports
//! `lib.rs` (which holds only these docs, the modules and [`BACKEND`]).
//!
//! | file | holds |
//! |---|---|
//! | `roles.rs` | the list of every family's worker parts, handed to the worker loop; [`run_if_worker`] |
//! | `condition.rs` | the sync family's condition task, which would not fit `sync.rs`; it uses `sync.rs`'s plumbing, so it stands above it |
//! | `dnc.rs`, `fanout.rs`, `pipeline.rs`, `sync.rs` | one family each, named as in every other backend crate: each variant's parent side (its setup and runner) and worker side, and the family's table of worker parts |
//! | `worker.rs` | a worker process's life: check the parent, take the role, find the part, serve; it is handed the parts, so it imports no family |
//! | `pool.rs` | the parent's side of process management: starting, feeding, hearing back from, killing and reaping workers |
//! | `handshake.rs` | a worker's role and descriptors, handed over `SCM_RIGHTS` on its stdin |
//! | `role.rs` | the one generic role message, and the `Part` a family declares a worker side with |
//! | `frame.rs` | framing: length-prefixed messages, their encoder and decoder, a worker's link and reply loop |
//! | `ring.rs` | the pipeline's multi-producer, multi-consumer ring in shared memory |
//! | `shm.rs` | the `memfd` mapping and every layout in it (the sync boards, the ring): the crate's one audited place of `unsafe` code |
//! | [`futex`] | process-shared primitives on futex words – lock, condition variable, semaphore, barrier, event, turn – with their own tests |
//! | `clock.rs` | `CLOCK_MONOTONIC` readings, the timestamps that cross process boundaries |
//!
//! The sequential kernels, the fan-out client and the checkers come from `shootout-suite`.

mod clock;
pub mod condition;
pub mod dnc;
pub mod fanout;
mod frame;
pub mod futex;
mod handshake;
pub mod pipeline;
mod pool;
mod ring;
mod role;
mod roles;
mod shm;
pub mod sync;
mod worker;

pub use pool::{WORKER_ENV, set_worker_args};
pub use roles::run_if_worker;

use shootout_suite::{Backend, Form, TaskId, Variant, Workers};

/// The processes backend: worker processes with pipes, Unix sockets and shared memory.
pub static BACKEND: Backend = Backend {
    name: "processes",
    about: "OS processes re-executed from this program: pipes, Unix sockets, memfd shared memory, futexes",
    variants: &[
        Variant {
            name: "pipe",
            about: "a pool started in setup; runs sent and returned as raw bytes through 1 MiB pipes, merged in the parent",
            tasks: &[TaskId::Mergesort],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: dnc::mergesort_pipe,
        },
        Variant {
            name: "shm",
            about: "a pool started in setup; keys in a memfd mapped by every process, only ranges cross the pipes",
            tasks: &[TaskId::Mergesort],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: dnc::mergesort_shm,
        },
        Variant {
            name: "spawn-per-task",
            about: "N fresh processes per repetition, one run each through pipes: process start-up is part of the work",
            tasks: &[TaskId::Mergesort],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: dnc::mergesort_spawn_per_task,
        },
        Variant {
            name: "pipe",
            about: "a pool started in setup; chunks of tasks dealt to whichever worker answers, over pipes",
            tasks: &[TaskId::Fib, TaskId::Nqueens],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: dnc::tree_pipe,
        },
        Variant {
            name: "spawn-per-task",
            about: "N fresh processes per repetition, each with a fixed share of the tasks: process start-up is timed",
            tasks: &[TaskId::Fib, TaskId::Nqueens],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: dnc::tree_spawn_per_task,
        },
        Variant {
            name: "pipelined",
            about: "N processes with one thread each: all requests written, then the replies read",
            tasks: &[TaskId::Scatter, TaskId::Crawl],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: fanout::setup,
        },
        Variant {
            name: "threads",
            about: "N processes with a blocking thread per connection inside each: a pre-fork, threaded server's shape",
            tasks: &[TaskId::Scatter, TaskId::Crawl],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: fanout::setup,
        },
        Variant {
            name: "pipe",
            about: "one packet-mode pipe for all P + C processes, batches of up to 128 items each written atomically: batched, so beside crossbeam-batched, not the per-item channels",
            tasks: &[TaskId::Bounded],
            form: Form::Restructured,
            workers: Workers::Own("P + C processes"),
            setup: pipeline::bounded_pipe,
        },
        Variant {
            name: "pipe-per-item",
            about: "one stream pipe of capacity items, a 24-byte write and read per item: multiprocessing.Queue's one write per put",
            tasks: &[TaskId::Bounded],
            form: Form::Natural,
            workers: Workers::Own("P + C processes"),
            setup: pipeline::bounded_pipe_per_item,
        },
        Variant {
            name: "unix-socket",
            about: "one SOCK_SEQPACKET socket pair: every batch of up to 128 items a message, boundaries kept by the kernel; batched, as pipe",
            tasks: &[TaskId::Bounded],
            form: Form::Restructured,
            workers: Workers::Own("P + C processes"),
            setup: pipeline::bounded_unix_socket,
        },
        Variant {
            name: "shm-ring",
            about: "a ring of capacity items in shared memory with futexes: no system call unless full or empty",
            tasks: &[TaskId::Bounded],
            form: Form::Natural,
            workers: Workers::Own("P + C processes"),
            setup: pipeline::bounded_shm_ring,
        },
        Variant {
            name: "futex",
            about: "std's Linux futex mutex (Drepper's three states, a short spin) in a memfd guarding the counter beside it: a process-shared lock",
            tasks: &[TaskId::Lock],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: sync::lock_futex,
        },
        Variant {
            name: "atomic",
            about: "fetch_add on the counter in shared memory and the work outside any lock: the lock-free restructuring",
            tasks: &[TaskId::Lock],
            form: Form::Restructured,
            workers: Workers::Exact,
            setup: sync::lock_atomic,
        },
        Variant {
            name: "futex",
            about: "a counting semaphore on a futex word in shared memory: what a process-shared sem_t is underneath",
            tasks: &[TaskId::Semaphore],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: sync::semaphore_futex,
        },
        Variant {
            name: "futex",
            about: "a generation-counting barrier in shared memory: the last arrival bumps the generation and wakes all",
            tasks: &[TaskId::Barrier],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: sync::barrier_futex,
        },
        Variant {
            name: "futex",
            about: "a generation word in shared memory: the parent sets it and one FUTEX_WAKE releases every waiter process",
            tasks: &[TaskId::Event],
            form: Form::Natural,
            workers: Workers::Exact,
            setup: sync::event_futex,
        },
        Variant {
            name: "futex",
            about: "the textbook monitor in shared memory: turn and ball under a futex mutex, each process waiting on a futex condvar",
            tasks: &[TaskId::Condition],
            form: Form::Natural,
            workers: Workers::Own("two processes"),
            setup: condition::condition_futex,
        },
        Variant {
            name: "futex-turn",
            about: "a turn word on a futex and the ball beside it, no monitor: the lower bound a monitor compiles down to",
            tasks: &[TaskId::Condition],
            form: Form::Restructured,
            workers: Workers::Own("two processes"),
            setup: condition::condition_futex_turn,
        },
        Variant {
            name: "pipe",
            about: "two processes ping-pong the ball through a pair of pipes: what multiprocessing.Pipe() users write",
            tasks: &[TaskId::Condition],
            form: Form::Natural,
            workers: Workers::Own("two processes"),
            setup: condition::condition_pipe,
        },
    ],
    not_applicable: &[],
};

/// In this crate's own unit-test binary, the entry point of its worker processes.
#[cfg(test)]
#[test]
fn worker_entry() {
    run_if_worker();
}

/// Every declared variant has exactly one worker side, and every worker side serves a declared
/// variant.
#[cfg(test)]
#[test]
fn every_variant_has_one_worker_side() {
    let parts = || roles::PARTS.iter().flat_map(|family| family.iter());
    for variant in BACKEND.variants {
        for &task in variant.tasks {
            let serving = parts().filter(|p| p.serves(task, variant.name)).count();
            assert_eq!(serving, 1, "{task} {}", variant.name);
        }
    }
    for part in parts() {
        for &task in part.tasks {
            for &name in part.variants {
                assert!(BACKEND.variant(task, name).is_some(), "{task} {name}");
            }
        }
    }
    BACKEND.check().unwrap();
}
