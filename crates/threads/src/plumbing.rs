//! What every family file of this crate uses: locking without poisoning, joining a scoped
//! thread with its panic passed on, and the runner of a variant that only needs the task's
//! parameters and W.

use std::panic;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread::ScopedJoinHandle;

use shootout_suite::{Cell, Failure, Outcome, Runner, Task, runner};

/// Locks `mutex`, ignoring poisoning: a panic elsewhere is reported by the thread that panicked,
/// and the data behind every lock in this crate stays consistent at every unlock.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Joins a scoped thread, passing on its panic if it had one.
pub(crate) fn joined<T>(handle: ScopedJoinHandle<'_, T>) -> T {
    handle.join().unwrap_or_else(|p| panic::resume_unwind(p))
}

/// The runner of a variant whose every repetition is `run(p, W)`, with the cell's parameters
/// `p`; a cell of another task is refused.
pub(crate) fn each<P: TryFrom<Task> + Copy + 'static>(
    cell: &Cell,
    mut run: impl FnMut(P, usize) -> Result<Outcome, Failure> + 'static,
) -> Result<Runner, Failure> {
    let p = cell.params()?;
    let workers = cell.workers;
    runner(move |_| run(p, workers))
}
