//! The crate's one audited place of `unsafe`: every coroutine it starts is started here.
//!
//! may's spawns are `unsafe fn`s (`coroutine::spawn`, `Builder::spawn`, `Scope::spawn`; the
//! `go!` macro only hides an `unsafe` block), because a coroutine is not a thread, and two
//! things that are sound on a thread are not sound on a coroutine:
//!
//! - **Thread-locals.** A coroutine that blocks (a may lock, channel, socket, sleep or join)
//!   yields its worker thread and may resume on another one. The compiler assumes a function
//!   runs on one thread, so it may compute a thread-local's address once and use it again after
//!   the yield: on the old thread's storage, a data race. A `RefCell` or `Cell` in a
//!   thread-local is the usual victim.
//! - **Thread-bound locks held across a yield.** A `std::sync::Mutex` guard held while the
//!   coroutine blocks on something of may's is released later, maybe from another thread (the
//!   OS lock's owner is a thread, not a coroutine), and every other coroutine of that worker
//!   that wants the lock blocks the whole worker thread meanwhile: a deadlock on one worker.
//!
//! Neither can be checked by the type system, so the wrappers below are `pub(crate)` and their
//! callers, this crate's family files, keep two rules, which the `SAFETY` comments rely on:
//!
//! 1. The only thread-local read inside a coroutine is the suite's
//!    [`thread_tag`](shootout_suite::wake::thread_tag) (which OS thread a wake-up ran on: the
//!    very fact the sync tasks record), and it is read through [`thread_tag`] here, a function
//!    that is never inlined, so the thread-local's address is computed afresh in its own frame
//!    at every call, never carried across a yield. The suite's kernels (sorting, merging, fib,
//!    queens, the wire codec, the pipeline's work, the sync tasks' sections) touch no
//!    thread-local, except the suite's `Rally::strike`, which reads `thread_tag` inline and which
//!    this crate therefore does not call (`sync.rs` plays the strokes itself).
//! 2. A `std::sync::Mutex` guard is only held over code that never blocks on may (merging a
//!    report, recording a failure); everything that waits uses may's own primitives, which
//!    park the coroutine, not its worker.
//!
//! Stack overflow is the third hazard the `unsafe` covers: stacks are fixed-size
//! ([`STACK_WORDS`](crate::runtime::STACK_WORDS), argued there), and a coroutine that overflows
//! hits a guard page and kills the process, which the harness records as a failed cell.

use may::coroutine;

/// Runs `a` on a new coroutine and `b` on this one, and returns both results once both are
/// done: may's fork-join, the coroutine-per-call `go` of the dnc family.
///
/// `a` may borrow from the caller (a scoped spawn): the scope joins it before returning, also
/// when `b` panics; a panic in `a` is resumed here.
#[allow(
    unsafe_code,
    reason = "may's spawns are unsafe: the coroutine must not keep a thread-local or a std lock across a yield (module docs)"
)]
pub(crate) fn join<A: Send, B>(a: impl FnOnce() -> A + Send, b: impl FnOnce() -> B) -> (A, B) {
    coroutine::scope(|scope| {
        // SAFETY: `a` is crate code under the module's rules: it reads no thread-local but
        // through `thread_tag`, and holds no std lock guard across a may blocking call. Its
        // stack need was measured against `STACK_WORDS`. The scope joins it before `a`'s
        // borrows end.
        let a = unsafe { scope.spawn(a) };
        let b = b();
        (a.join(), b)
    })
}

/// Runs `f` on a new coroutine and waits for it: how a repetition's root (or a setup's
/// connection) gets onto the scheduler, so that the calling thread, parked here, is never one
/// of the W workers.
#[allow(
    unsafe_code,
    reason = "may's spawns are unsafe: the coroutine must not keep a thread-local or a std lock across a yield (module docs)"
)]
pub(crate) fn run<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    coroutine::scope(|scope| {
        // SAFETY: as in `join`: `f` is crate code under the module's rules, joined by the scope
        // before its borrows end.
        let root = unsafe { scope.spawn(f) };
        root.join()
    })
}

/// Runs every job of `jobs` on a coroutine of its own and returns their results in order,
/// once all are done: the parties of a sync task, the producers and consumers of the pipeline,
/// the calls of a scatter round. The jobs may borrow from the caller.
#[allow(
    unsafe_code,
    reason = "may's spawns are unsafe: the coroutine must not keep a thread-local or a std lock across a yield (module docs)"
)]
pub(crate) fn all<T: Send, F: FnOnce() -> T + Send>(jobs: impl IntoIterator<Item = F>) -> Vec<T> {
    coroutine::scope(|scope| {
        let handles: Vec<_> = jobs
            .into_iter()
            .map(|job| {
                // SAFETY: as in `join`: each job is crate code under the module's rules (the
                // pipeline's producers and consumers, the sync tasks' parties, a scatter
                // round's calls), joined by the scope before its borrows end.
                unsafe { scope.spawn(job) }
            })
            .collect();
        handles.into_iter().map(|handle| handle.join()).collect()
    })
}

/// A job for [`spawning`]: it reports its result through what it borrows.
pub(crate) type Job<'a> = Box<dyn FnOnce() + Send + 'a>;

/// Runs `body` with a function that starts a [`Job`] on a coroutine of its own, for a caller
/// that decides as it goes how many to start (the crawl's pacer); returns once `body` has and
/// every job started has finished.
#[allow(
    unsafe_code,
    reason = "may's spawns are unsafe: the coroutine must not keep a thread-local or a std lock across a yield (module docs)"
)]
pub(crate) fn spawning<'a, R>(body: impl FnOnce(&dyn Fn(Job<'a>)) -> R) -> R {
    coroutine::scope(|scope| {
        let spawn = |job: Job<'a>| {
            // SAFETY: as in `join`: every job is crate code under the module's rules (a crawl
            // request, an event waiter, the condition's ponger; each merges its result under a
            // std lock that no yield holds), joined by the scope before its borrows end.
            let _joined_at_scope_end = unsafe { scope.spawn(job) };
        };
        body(&spawn)
    })
}

/// The suite's [`thread_tag`](shootout_suite::wake::thread_tag), read from a frame of its own:
/// never inlined, so a coroutine that moved to another worker reads that worker's tag.
#[inline(never)]
pub(crate) fn thread_tag() -> u64 {
    shootout_suite::wake::thread_tag()
}
