//! What the conformance suite does not check of this backend's fan-out variants: a scatter
//! runner whose server went away fails every later repetition, and a cell without a server
//! address is refused at setup.

use shootout_suite::{Task, TaskId};
use shootout_testkit::{cell, scatter, server};
use shootout_threads::BACKEND;

#[test]
fn a_scatter_runner_that_failed_keeps_failing() {
    // The server goes away between repetitions: the next one fails, and so does the one after.
    for variant in BACKEND.support(TaskId::Scatter).variants() {
        let server = server();
        let task = Task::Scatter(scatter(4, 2, 2_000));
        let mut run = BACKEND
            .setup(&cell(task, variant.name, 2, Some(server.addr())))
            .unwrap();
        assert!(run(task.input()).is_ok(), "{}", variant.name);
        drop(server);
        assert!(run(task.input()).is_err(), "{}", variant.name);
        assert!(run(task.input()).is_err(), "{}", variant.name);
    }
}
