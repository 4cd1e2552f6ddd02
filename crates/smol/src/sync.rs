//! The sync family on smol: async-lock's `Mutex`, `Semaphore` and `Barrier` (re-exported by smol
//! as [`smol::lock`]), and event-listener's `Event` for the event and the monitor.
//!
//! All five tasks are `shootout-async-common`'s ([`shootout_async_common::sync`], where each
//! primitive's costs are described), shared with async-std, whose primitives come from the same
//! two crates. What is smol's is where the tasks run (the runtime's executor, spawned with
//! [`crate::Spawner`]) and how the semaphore's gauge yields: [`futures_lite::future::yield_now`]
//! (`smol::future::yield_now`), below.

use std::future::Future;

use shootout_async_common::sync::Yield;

use crate::runtime::Spawner;

impl Yield for Spawner {
    fn yield_now() -> impl Future<Output = ()> + Send {
        futures_lite::future::yield_now()
    }
}
