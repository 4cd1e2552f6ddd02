//! A counting semaphore written by hand, because std has none: the `mutex-condvar` semaphore of
//! the sync family, and the in-flight limit of the `thread-per-conn` crawl.

use std::sync::{Condvar, Mutex, PoisonError};

use crate::plumbing::lock;

/// A counting semaphore: the free permits under a `Mutex`, with the number of threads waiting
/// for one, and a `Condvar` to wait on for a permit to come back.
///
/// The shape of Python's `threading.Semaphore` (a count and a `Condition`). `acquire` waits
/// while no permit is free; a returned permit wakes one waiter, after the unlock, so that it
/// does not wake only to block on the mutex. The waiter count is there because std's futex
/// `Condvar::notify_one` makes a `FUTEX_WAKE` system call even when nobody waits, whereas
/// Python's `Condition.notify` does nothing without waiters: with the count, a release that
/// finds no waiter costs no system call either.
pub struct Semaphore {
    state: Mutex<Permits>,
    returned: Condvar,
}

/// What a [`Semaphore`]'s mutex guards.
struct Permits {
    /// Permits not taken.
    free: usize,
    /// Threads inside `acquire`'s wait.
    waiting: usize,
}

/// A permit of a [`Semaphore`], given back when dropped.
pub struct Permit<'a>(&'a Semaphore);

impl Semaphore {
    /// A semaphore with `permits` permits, all free.
    pub fn new(permits: usize) -> Self {
        Self {
            state: Mutex::new(Permits {
                free: permits,
                waiting: 0,
            }),
            returned: Condvar::new(),
        }
    }

    /// Waits for a free permit and takes it.
    pub fn acquire(&self) -> Permit<'_> {
        let mut state = lock(&self.state);
        if state.free == 0 {
            state.waiting += 1;
            state = self
                .returned
                .wait_while(state, |state| state.free == 0)
                .unwrap_or_else(PoisonError::into_inner);
            state.waiting -= 1;
        }
        state.free -= 1;
        Permit(self)
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut state = lock(&self.0.state);
        state.free += 1;
        let wake = state.waiting > 0;
        drop(state);
        if wake {
            self.0.returned.notify_one();
        }
    }
}
