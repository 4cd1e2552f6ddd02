//! What every family file of this crate uses: locking without poisoning, joining a scoped
//! thread with its panic passed on, and the runner of a variant that only needs the task's
//! parameters and W.

use std::panic;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread::ScopedJoinHandle;

use shootout_suite::task::{
    Barrier, Bounded, Condition, Crawl, Event, Fib, Lock, Mergesort, Nqueens, Scatter, Semaphore,
};
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

/// A task's parameters, taken out of the [`Task`] that carries them.
pub(crate) trait FromTask: Copy + 'static {
    /// The parameters, if `task` is this task.
    fn from_task(task: Task) -> Option<Self>;
}

macro_rules! from_task {
    ($($id:ident),*) => {
        $(impl FromTask for $id {
            fn from_task(task: Task) -> Option<Self> {
                match task {
                    Task::$id(p) => Some(p),
                    _ => None,
                }
            }
        })*
    };
}

from_task!(
    Mergesort, Fib, Nqueens, Scatter, Crawl, Bounded, Lock, Semaphore, Barrier, Event, Condition
);

/// The parameters of `cell`'s task, or the failure for a variant asked to run another task.
pub(crate) fn params<P: FromTask>(cell: &Cell) -> Result<P, Failure> {
    P::from_task(cell.task).ok_or_else(|| cell.unsupported())
}

/// The runner of a variant whose every repetition is `run(p, W)`, with the cell's parameters
/// `p`; a cell of another task is refused.
pub(crate) fn each<P: FromTask>(
    cell: &Cell,
    mut run: impl FnMut(P, usize) -> Result<Outcome, Failure> + 'static,
) -> Result<Runner, Failure> {
    let p = params(cell)?;
    let workers = cell.workers;
    runner(move |_| run(p, workers))
}
