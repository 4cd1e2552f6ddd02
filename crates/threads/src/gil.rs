//! The GIL experiment: the lock that the `gil` and `gil-switch` variants of the task queue
//! (see [`dnc`](crate::dnc)) hold around their units of work.
//!
//! Not an idiom but an experiment: what CPython's global interpreter lock (GIL) does to
//! CPU-bound threads. The tasks, the N threads and the atomic index are `task-queue`'s; the
//! difference is that every unit of work – a fib leaf, an n-queens board, a mergesort leaf sort
//! or merge – runs while its thread holds one `Mutex<()>`, made per run and shared by all N
//! threads: the "interpreter lock".
//!
//! - `gil`: acquire, compute the unit, release, for every unit; the next index is claimed outside
//!   the lock. The lock is free between any two units and any thread may take it, but it seldom
//!   changes hands: the thread that let go claims its next index and takes the lock back long
//!   before a waiter, asleep in the kernel, can run. What the waiters cost is wake-ups: a release
//!   that finds a sleeper wakes it, only for it to find the lock taken and go back to sleep.
//!   (Measured with two threads on `fib(38)` on a busy 2-core machine: 26 to 105 hand-overs in
//!   its 6 765 units.)
//! - `gil-switch`: a thread takes the lock when it starts and keeps it, claiming indices under it
//!   too (in CPython everything a thread does runs under the GIL). The lock is a
//!   [`parking_lot::Mutex`], and after every [`GIL_SWITCH_UNITS`] units the holder calls
//!   [`MutexGuard::bump`](parking_lot::MutexGuard::bump): when no thread waits for the lock that
//!   does nothing and the holder carries on; when one does, the lock is handed straight to it (a
//!   fair unlock) and the holder queues behind it. That is CPython's switching since 3.2: the
//!   holder lets go only when another thread asks, and the switch is forced – the releasing
//!   thread cannot retake the lock before the one that asked has had it. CPython's switch
//!   interval (`sys.getswitchinterval()`, 5 ms) is here counted in units, not measured in time.
//!
//! (A plain release, [`thread::yield_now`](std::thread::yield_now) and relock does not do this on Linux: the releasing
//! thread usually retakes the lock before the woken waiter runs, as CPython's GIL did before
//! 3.2.)
//!
//! What the model reproduces is the serialisation, and only that: whatever N, one thread at a
//! time computes, so no number of threads can beat one core, and the waiting costs wake-ups on
//! top. What it leaves out is the interpreter: CPython executes the same
//! arithmetic as bytecode, many times slower than this compiled code, and a free-threaded build
//! (PEP 703) has no such lock. Nor does it copy CPython's switching in detail: CPython's
//! holder drops the GIL when a waiter has waited a whole 5 ms interval; here the holder checks
//! for a waiter every [`GIL_SWITCH_UNITS`] units, whose duration depends on the unit.

use std::iter::{self, Sum};
use std::sync::Mutex;

use crate::plumbing::lock;

/// Whether the threads of a task queue share one global lock, and how they hold it: the
/// `task-queue`, `gil` and `gil-switch` variants. See the module docs.
pub(crate) enum Gil {
    /// No global lock (`task-queue`).
    Off,
    /// Taken and released around every unit (`gil`).
    PerUnit(Mutex<()>),
    /// Kept, and every [`GIL_SWITCH_UNITS`] units handed to a waiter if there is one, with
    /// [`MutexGuard::bump`](parking_lot::MutexGuard::bump) (`gil-switch`).
    Switching(parking_lot::Mutex<()>),
}

impl Gil {
    /// One thread's share of a task queue: runs every task that `claim` hands it, holding the
    /// lock as this says, and returns the sum of the results.
    pub(crate) fn work<T, R: Sum>(
        &self,
        mut claim: impl FnMut() -> Option<T>,
        run: impl Fn(T) -> R,
    ) -> R {
        match self {
            Gil::Off => iter::from_fn(claim).map(&run).sum::<R>(),
            Gil::PerUnit(gil) => iter::from_fn(claim)
                .map(|task| {
                    let _held = lock(gil);
                    run(task)
                })
                .sum(),
            Gil::Switching(gil) => {
                // Taken at the start and kept: the claims, too, are made under the lock.
                let mut held = gil.lock();
                let mut ran = 0;
                iter::from_fn(|| {
                    if ran == GIL_SWITCH_UNITS {
                        // The interval is up: if a thread waits for the lock, hand it over (a
                        // fair unlock) and queue behind it; if none does, carry on holding it.
                        parking_lot::MutexGuard::bump(&mut held);
                        ran = 0;
                    }
                    ran += 1;
                    claim()
                })
                .map(&run)
                .sum()
            }
        }
    }
}

/// How many units a `gil-switch` thread runs before it hands the lock to a waiting thread, if
/// any: CPython's switch interval, counted in units.
///
/// Chosen so that at the default grains a batch takes a few milliseconds, like CPython's 5 ms
/// `sys.getswitchinterval()`. Timed unit by unit on one thread in release mode, on a 2-core
/// Intel Xeon: a fib leaf (`fib(38)`, grain 20) takes about 15 µs on average, so a batch of 256
/// takes about 4 ms; an n-queens board (n = 12, split 3) about 8 µs, 2 ms a batch. Mergesort's
/// units are much larger – about 0.4 ms for a leaf of 31 250 keys, 0.5 to 20 ms for a merge –
/// so there a batch is a whole round (128 leaves at the quick profile's 4 M keys) or half of
/// one (512 at the full profile's 10 M): tens of milliseconds or more.
pub const GIL_SWITCH_UNITS: usize = 256;
