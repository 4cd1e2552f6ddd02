//! The sync family on async-std: its `Mutex` (async-lock's), async-lock's `Semaphore` and
//! `Barrier`, and event-listener's `Event` for the event and the monitor.
//!
//! All five tasks are `shootout-async-common`'s ([`shootout_async_common::sync`], where each
//! primitive's costs are described), shared with smol. async-std's own `sync` module is mostly
//! another crate re-exported: in 1.13, `async_std::sync::Mutex` and `RwLock` are
//! `pub use async_lock::…`, its `Barrier` (async-lock's again) and its own `Condvar` exist only
//! with the `unstable` feature, which is not enabled here (an API its authors marked unstable
//! is not what code is shipped on), and it has no semaphore. So the primitives come from the
//! same two crates as on smol, and the `mutex` variant is the shared `async-lock` code: the
//! check below proves at compile time that `async_std::sync::Mutex` is that type. What is
//! async-std's is where the tasks run (`task::spawn` on the global executor, through
//! [`crate::Spawner`]) and how the semaphore's gauge yields: [`async_std::task::yield_now`].

use std::future::Future;

use async_std::task;
use shootout_async_common::sync::Yield;
use shootout_suite::sync::lock::Counter;

use crate::runtime::Spawner;

/// `async_std::sync::Mutex` is `async_lock::Mutex`: this compiles only while that holds, so the
/// `mutex` variant can run the shared `async-lock` code and still be async-std's mutex.
const _: fn(async_std::sync::Mutex<Counter>) -> async_lock::Mutex<Counter> = |mutex| mutex;

impl Yield for Spawner {
    fn yield_now() -> impl Future<Output = ()> + Send {
        task::yield_now()
    }
}
