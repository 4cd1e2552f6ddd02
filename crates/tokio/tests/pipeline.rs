//! What the conformance suite does not check of this backend's pipeline variants: a pipeline
//! without producers or consumers (which `validate` refuses before any backend sees it) is
//! refused at setup too, rather than hanging its first repetition.

use shootout_suite::task::Bounded;
use shootout_suite::{Task, TaskId};
use shootout_testkit::cell;
use shootout_tokio::BACKEND;

#[test]
fn no_producers_or_consumers_is_refused_not_hung() {
    for (producers, consumers) in [(0, 2), (2, 0)] {
        let task = Task::Bounded(Bounded {
            producers,
            consumers,
            capacity: 1,
            items: 10,
            work: 0,
        });
        for variant in BACKEND.support(TaskId::Bounded).variants() {
            assert!(
                BACKEND.setup(&cell(task, variant.name, 2, None)).is_err(),
                "{task} {}",
                variant.name
            );
        }
    }
}
