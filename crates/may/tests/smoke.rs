//! Every variant against the reference on the smoke profile and every task's edge cases, at
//! each worker count it is measured at, in a process per worker count: may's scheduler is
//! sized once per process (see `shootout_may::runtime`).

use std::env;

use shootout_may::BACKEND;
use shootout_may::runtime::STACK_WORDS;
use shootout_suite::{Task, TaskId};
use shootout_testkit::{CHILD_PATIENCE, cell, check, edge_cases, run_test_in_child, server, smoke};

/// Set in a child: the worker count whose cells it runs.
const WORKERS: &str = "SHOOTOUT_MAY_WORKERS";

/// The worker counts asked for, as the conformance suite asks (tasks that fix W add theirs).
const REQUESTED: [usize; 3] = [1, 2, 3];

/// Every `(task, variant, W)` to check: the smoke profile and the edge cases of each task, at
/// the worker counts each variant is measured at.
fn cells() -> Vec<(Task, &'static str, usize)> {
    let mut cells = Vec::new();
    for id in TaskId::ALL {
        for variant in BACKEND.support(id).variants() {
            for task in std::iter::once(smoke(id)).chain(edge_cases(id)) {
                for workers in variant.measured_workers(&task, &REQUESTED) {
                    cells.push((task, variant.name, workers));
                }
            }
        }
    }
    cells
}

#[test]
fn every_variant_reproduces_the_reference() {
    let Ok(workers) = env::var(WORKERS) else {
        let mut counts: Vec<usize> = cells().into_iter().map(|(_, _, w)| w).collect();
        counts.sort_unstable();
        counts.dedup();
        for w in counts {
            let vars = [(WORKERS, w.to_string())];
            let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
            if let Err(why) = run_test_in_child(
                "every_variant_reproduces_the_reference",
                &vars,
                CHILD_PATIENCE,
            ) {
                panic!("at {w} workers: {why}");
            }
        }
        return;
    };
    let workers: usize = workers.parse().expect("a worker count");
    let server = server();
    let stack = format!("{} KiB", STACK_WORDS * 8 / 1024);
    for (task, variant, w) in cells().into_iter().filter(|&(_, _, w)| w == workers) {
        let addr = (task.id().family() == shootout_suite::Family::Fanout).then(|| server.addr());
        for outcome in check(&BACKEND, &cell(task, variant, w, addr)) {
            assert!(
                outcome.facts.contains(&("stack", stack.clone()))
                    && outcome.facts.contains(&("workers", w.to_string())),
                "{variant} {task}: {:?}",
                outcome.facts
            );
        }
    }
}
