//! What the smol-rs based backends share: the whole of each task family, written once, generic
//! over the few pieces in which smol and async-std differ.
//!
//! async-std is a std-shaped API over async-global-executor, which is built on the same
//! `async-executor`, `async-io`, `blocking`, `async-lock` and `event-listener` that smol is made
//! of. So the two backends spawn the same kind of task, wait on the same reactor and timers,
//! lock the same mutex and listen on the same events; written in each crate, the task code was
//! two copies that drifted apart only in names. Here it is written once, and each backend
//! implements a handful of one-line traits with its own runtime's calls:
//!
//! | trait | family | what the backend supplies |
//! |---|---|---|
//! | [`Runtime`], [`Spawn`] | all | its executor threads and the wait for a repetition; `spawn`, its task handle, and how a failed repetition cancels the tasks it leaves behind |
//! | [`dnc::Offload`] | dnc | the blocking pool: smol's `blocking::unblock`, async-std's `task::spawn_blocking` |
//! | [`fanout::Net`] | fan-out | the socket type, connect, and the timers a request, a round and a schedule are bounded by |
//! | [`pipeline::Channel`] | pipeline | its channel: async-channel 2.x on smol, 1.x (`async_std::channel`) on async-std |
//! | [`sync::Yield`] | sync | `yield_now` |
//!
//! The shared code is generic, not dynamic: each backend compiles its own copy, calling its
//! runtime's functions directly, so a variant spawns the same tasks and waits on the same
//! primitives as the code it replaces (smol's scatter and crawl took async-std's shape, which
//! keeps its task handles in a `VecDeque` to cancel them on failure: the same allocations). The backends' files
//! keep only what differs: the trait impls, and the docs that say how their runtime does it
//! and what that costs. Each module here is one family and holds its variants' setups, which
//! the backends' `BACKEND` declarations name (`dnc::setup_spawn::<Runtime>`).

pub mod dnc;
pub mod fanout;
pub mod pipeline;
mod runtime;
pub mod sync;

pub use runtime::{Runtime, Spawn, tasks_on, try_tasks_on};
