//! The conformance suite: every variant of every backend in the harness's registry, on every
//! task it declares, over the smoke profile and the edge cases of each parameter
//! ([`edge_cases`]), at W = 1, 2, 3 and 8 (each in a process of its own), twice per runner – each answer checked
//! against the sequential reference and each repetition's latency samples counted. Fan-out
//! variants must also fail, not hang, against a refused address and a silent server.
//!
//! Nothing here names a backend or a variant: declaring a variant is what puts it under test.

use shootout_harness::registry;
use shootout_suite::wake::Whereabouts;
use shootout_suite::{Backend, Family, Outcome, Profile, Task, TaskId};
use shootout_testkit::{
    CHILD_PATIENCE, PATIENCE, cell, check, crawl, edge_cases, failure, fanout_needs_a_server,
    refused_addr, run_test_in_child, scatter, server, silent_addr,
};

/// The entry point of this binary's worker processes (see `shootout_processes::run_if_worker`).
#[test]
fn worker_entry() {
    shootout_processes::run_if_worker();
}

/// Worker processes start this test binary again, running only `worker_entry`.
fn start_workers_as_this_binary() {
    shootout_processes::set_worker_args([
        "worker_entry",
        "--exact",
        "--nocapture",
        "--test-threads=1",
    ]);
}

/// The environment variable that makes `at_one_worker_count` run one check, `what:W`.
const CHILD: &str = "SHOOTOUT_CONFORMANCE";

/// The worker counts every variant is checked at: one, two, an odd count that splits nothing
/// evenly, and more workers than this machine's cores and than most edge cases have work.
const WORKERS: [usize; 4] = [1, 2, 3, 8];

/// Runs check `what` at every count in [`WORKERS`], each in a fresh process of this test binary: some
/// runtimes are sized once per process (async-std's global executor), so one W per process is
/// the only way every backend is checked at every W.
fn at_each_worker_count(what: &str) {
    for workers in WORKERS {
        let job = format!("{what}:{workers}");
        if let Err(why) = run_test_in_child("at_one_worker_count", &[(CHILD, &job)], CHILD_PATIENCE)
        {
            panic!("{what} at W = {workers} failed: {why}");
        }
    }
}

/// The child's side of [`at_each_worker_count`]; does nothing in a plain test run.
#[test]
fn at_one_worker_count() {
    let Ok(job) = std::env::var(CHILD) else {
        return;
    };
    let (what, workers) = job.split_once(':').expect("what:W");
    let workers: usize = workers.parse().expect("a worker count");
    start_workers_as_this_binary();
    match what {
        "dnc" => conforms(Family::Dnc, workers),
        "fanout" => conforms(Family::Fanout, workers),
        "pipeline" => conforms(Family::Pipeline, workers),
        "sync" => conforms(Family::Sync, workers),
        "refused" => refused(workers),
        "silent" => silent(workers),
        _ => panic!("unknown check {what}"),
    }
}

/// Every (backend, task, variant) of `family` the registry declares.
fn declared(family: Family) -> Vec<(&'static Backend, TaskId, &'static str)> {
    let mut cells = Vec::new();
    for &backend in registry::backends() {
        for id in TaskId::ALL.into_iter().filter(|t| t.family() == family) {
            for variant in backend.support(id).variants() {
                cells.push((backend, id, variant.name));
            }
        }
    }
    cells
}

/// Runs every declared variant of `family` over every edge case on `workers`.
fn conforms(family: Family, workers: usize) {
    let server = (family == Family::Fanout).then(server);
    let addr = server.as_ref().map(|s| s.addr());
    let declared = declared(family);
    assert!(!declared.is_empty(), "no variant declared for {family:?}");
    for (backend, id, variant) in declared {
        for task in edge_cases(id) {
            // The baseline's pipeline has no queue, so no queueing latency to sample.
            let samples = match task {
                Task::Bounded(_) if backend.name == registry::BASELINE => 0,
                _ => task.latency_samples(workers) as usize,
            };
            for outcome in check(backend, &cell(task, variant, workers, addr)) {
                assert_eq!(
                    outcome.latencies_ns.len(),
                    samples,
                    "{}/{variant} {task} workers={workers}: latency samples",
                    backend.name
                );
                placed_as_declared(backend.name, variant, task, workers, &outcome);
            }
        }
    }
}

/// The in-process async event and condition variants report every wake-up, and the barriers
/// of threads, rayon and the async runtimes the thread of every party in every phase.
fn placed_as_declared(backend: &str, variant: &str, task: Task, workers: usize, outcome: &Outcome) {
    let what = format!("{backend}/{variant} {task} workers={workers}");
    // The in-process backends whose event, condition and barrier parties report where they ran.
    let in_process_async = ["tokio", "smol", "async-std", "compio", "may"].contains(&backend);
    match (task, &outcome.whereabouts) {
        (Task::Event(p), Some(Whereabouts::Wakes(w))) => {
            assert_eq!(
                w.wakes,
                workers as u64 * u64::from(p.rounds),
                "{what}: wakes"
            );
        }
        (Task::Condition(p), Some(Whereabouts::Wakes(w))) => {
            assert_eq!(w.wakes, 2 * u64::from(p.trips), "{what}: wakes");
        }
        (Task::Event(_) | Task::Condition(_), None) => {
            assert!(!in_process_async, "{what}: no wake-ups reported");
        }
        (Task::Barrier(p), Some(w @ Whereabouts::Phases(_))) => {
            let (threads, phases) = w.phase_threads().unwrap();
            assert_eq!(phases, u64::from(p.phases), "{what}: phases");
            assert!(
                threads >= phases && threads <= phases * workers as u64,
                "{what}: threads"
            );
        }
        (Task::Barrier(_), None) => {
            assert!(
                !in_process_async && !["threads", "rayon"].contains(&backend),
                "{what}: no phases reported"
            );
        }
        (_, None) => {}
        (_, Some(w)) => panic!("{what}: unexpected whereabouts {w:?}"),
    }
}

#[test]
fn dnc() {
    at_each_worker_count("dnc");
}

#[test]
fn fanout() {
    at_each_worker_count("fanout");
}

#[test]
fn pipeline() {
    at_each_worker_count("pipeline");
}

#[test]
fn sync() {
    at_each_worker_count("sync");
}

/// The declared variants, a line each: records, `--resume` and `compare` are keyed by these
/// names, and tables list variants in this order, so a change to either is a deliberate one.
const DECLARED: &str = include_str!("declared-variants.txt");

#[test]
fn variant_names_and_order_change_only_on_purpose() {
    let mut now = String::new();
    for backend in registry::backends() {
        for id in TaskId::ALL {
            for variant in backend.support(id).variants() {
                now += &format!(
                    "{} {} {} [{}; {}]\n",
                    backend.name,
                    id.name(),
                    variant.name,
                    variant.form.name(),
                    variant.workers.describe()
                );
            }
        }
    }
    if std::env::var_os("SHOOTOUT_BLESS").is_some() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/declared-variants.txt");
        std::fs::write(path, &now).expect("writing the declared variants");
        return;
    }
    assert!(
        now == DECLARED,
        "the declared variants changed (renamed, reordered, added or removed); if that was \
         meant, rerun with SHOOTOUT_BLESS=1 and commit tests/declared-variants.txt:\n{now}"
    );
}

#[test]
fn every_declaration_is_complete() {
    for backend in registry::backends() {
        backend.check().unwrap();
        for variant in backend.variants {
            assert!(
                !variant.about.is_empty(),
                "{}/{}",
                backend.name,
                variant.name
            );
        }
        for na in backend.not_applicable {
            assert!(
                !na.reason.is_empty(),
                "{}: an n/a without a reason",
                backend.name
            );
        }
    }
}

#[test]
fn every_fanout_variant_needs_a_server() {
    start_workers_as_this_binary();
    for backend in registry::backends() {
        fanout_needs_a_server(backend);
    }
}

#[test]
fn zero_workers_are_refused_by_every_variant() {
    start_workers_as_this_binary();
    for family in [Family::Dnc, Family::Pipeline, Family::Sync] {
        for (backend, id, variant) in declared(family) {
            let task = Task::new(id, Profile::Smoke);
            let refused = backend.setup(&cell(task, variant, 0, None)).is_err();
            assert!(
                refused,
                "{}/{variant} {id}: workers = 0 accepted",
                backend.name
            );
        }
    }
}

/// Every fan-out cell, small: each declared variant with its task.
fn fanout_cells(timeout_ms: u32) -> Vec<(&'static Backend, Task, &'static str)> {
    declared(Family::Fanout)
        .into_iter()
        .map(|(backend, id, variant)| {
            let task = match id {
                TaskId::Scatter => Task::Scatter(scatter(16, 3, timeout_ms)),
                _ => Task::Crawl(crawl(40, 4, timeout_ms)),
            };
            (backend, task, variant)
        })
        .collect()
}

#[test]
fn a_refused_connection_fails_every_fanout_variant() {
    at_each_worker_count("refused");
}

fn refused(workers: usize) {
    let addr = refused_addr();
    for (backend, task, variant) in fanout_cells(5_000) {
        let failure = failure(
            backend,
            cell(task, variant, workers, Some(addr)),
            1,
            PATIENCE,
        );
        assert!(
            failure.to_string().contains(&addr.to_string()),
            "{}/{variant} {task} workers={workers}: {failure}",
            backend.name
        );
    }
}

#[test]
fn a_silent_server_times_out_every_fanout_variant() {
    at_each_worker_count("silent");
}

fn silent(workers: usize) {
    let addr = silent_addr();
    for (backend, task, variant) in fanout_cells(300) {
        // Up to two repetitions: a first one that somehow succeeded must not hide a hang in
        // the second; dropping the runner after the failure must not hang either.
        let failure = failure(
            backend,
            cell(task, variant, workers, Some(addr)),
            2,
            PATIENCE,
        );
        let message = failure.to_string();
        assert!(
            message.contains("timed out") && message.contains(&addr.to_string()),
            "{}/{variant} {task} workers={workers}: {message}",
            backend.name
        );
    }
}
