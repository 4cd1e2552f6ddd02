//! may's scheduler is global and sized once per process: a second cell of another worker count
//! fails at setup, plainly, instead of running on the first cell's count. (This binary's only
//! test, so the scheduler is started here and nowhere else.)

use shootout_may::BACKEND;
use shootout_suite::TaskId;
use shootout_testkit::{cell, smoke};

#[test]
fn a_second_worker_count_in_one_process_is_refused() {
    let task = smoke(TaskId::Fib);
    assert!(BACKEND.setup(&cell(task, "go", 2, None)).is_ok());
    // The same count again is the same scheduler: fine.
    assert!(BACKEND.setup(&cell(task, "go", 2, None)).is_ok());
    let message = BACKEND
        .setup(&cell(task, "go", 3, None))
        .err()
        .expect("a cell of 3 workers on a scheduler of 2")
        .to_string();
    assert!(
        message.contains("already runs 2 workers") && message.contains("3 workers"),
        "{message}"
    );
}
