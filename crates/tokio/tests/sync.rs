//! What the conformance suite does not check of this backend's sync variants: a semaphore
//! without permits (which `validate` refuses before any backend sees it) is refused at setup
//! too, rather than hanging its first repetition.

use shootout_suite::task::Semaphore;
use shootout_suite::{Task, TaskId};
use shootout_testkit::{cell, smoke};
use shootout_tokio::BACKEND;

#[test]
fn semaphore_without_permits_is_refused_not_hung() {
    let Task::Semaphore(p) = smoke(TaskId::Semaphore) else {
        unreachable!()
    };
    let task = Task::Semaphore(Semaphore { permits: 0, ..p });
    for variant in BACKEND.support(TaskId::Semaphore).variants() {
        assert!(
            BACKEND.setup(&cell(task, variant.name, 2, None)).is_err(),
            "{}",
            variant.name
        );
    }
}
