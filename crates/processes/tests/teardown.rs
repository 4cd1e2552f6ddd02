//! What the conformance suite does not check of this backend: no worker process outlives its
//! runner (dropped after a repetition, or after a failed setup), and a worker killed mid-task or
//! between repetitions fails the repetition cleanly, says how it died, and leaves the runner
//! failing rather than hanging on the dead worker. Each test runs the variants `BACKEND`
//! declares, so a new variant is covered by declaring it.
//!
//! In a test binary of its own, and one test at a time (they hold `SERIAL`), so that the only
//! worker processes of this binary are those of the test that counts them.

#![cfg(target_os = "linux")]

mod common;

use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use common::{busy_worker, cell, workers};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use shootout_processes::BACKEND;
use shootout_suite::task::{
    Barrier, Bounded, Condition, Event, Fib, Lock, Mergesort, Nqueens, Semaphore,
};
use shootout_suite::{Task, TaskId};
use shootout_testkit::{PATIENCE, eventually, refused_addr, server, smoke};

/// The entry point of this test binary's worker processes (see `shootout_processes::run_if_worker`).
#[test]
fn worker_entry() {
    shootout_processes::run_if_worker();
}

/// Held by each test, so that no other test's workers are alive while it counts them.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn assert_no_workers_left(what: &str) {
    let gone = eventually(PATIENCE, || workers().is_empty());
    assert!(
        gone,
        "{what}: worker processes left behind: {:?}",
        workers()
    );
}

#[test]
fn dropping_a_runner_leaves_no_worker_processes() {
    let _serial = serial();
    let server = server();
    for id in TaskId::ALL {
        let task = smoke(id);
        for variant in BACKEND.support(id).variants() {
            let what = format!("{id} {}", variant.name);
            let cell = cell(task, variant.name, 3, Some(server.addr()));
            let mut run = BACKEND.setup(&cell).unwrap();
            run(task.input()).unwrap();
            if variant.name == "spawn-per-task" {
                // Its processes live only inside a repetition.
                assert!(workers().is_empty(), "{what}: {:?}", workers());
            } else {
                assert!(!workers().is_empty(), "{what}: its workers should be alive");
            }
            drop(run);
            assert_no_workers_left(&what);
        }
    }
}

#[test]
fn a_failed_setup_leaves_no_worker_processes() {
    let _serial = serial();
    // Nobody listens there: every scatter worker fails to connect during setup.
    let addr = refused_addr();
    for variant in BACKEND.support(TaskId::Scatter).variants() {
        let cell = cell(smoke(TaskId::Scatter), variant.name, 3, Some(addr));
        assert!(BACKEND.setup(&cell).is_err(), "{}", variant.name);
        assert_no_workers_left(variant.name);
    }
}

/// A long repetition of task `id` (seconds of work even in a release build), to be cut short
/// by a kill; `None` for the fan-out tasks, whose work is the server's.
fn long_task(id: TaskId) -> Option<Task> {
    Some(match id {
        TaskId::Fib => Task::Fib(Fib { n: 44, grain: 20 }),
        TaskId::Nqueens => Task::Nqueens(Nqueens { n: 15, split: 3 }),
        TaskId::Mergesort => Task::Mergesort(Mergesort {
            n: 8_000_000,
            grain: 4096,
        }),
        TaskId::Bounded => Task::Bounded(Bounded {
            producers: 2,
            consumers: 2,
            capacity: 16,
            items: 2_000_000,
            work: 100,
        }),
        TaskId::Lock => Task::Lock(Lock {
            increments: 500_000_000,
            section: 64,
        }),
        TaskId::Semaphore => Task::Semaphore(Semaphore {
            entries: 100_000_000,
            permits: 1,
            section: 256,
        }),
        TaskId::Barrier => Task::Barrier(Barrier {
            phases: 100_000_000,
            width: 64,
        }),
        // Rounds and trips also size the latency vectors: kept to tens of megabytes.
        TaskId::Event => Task::Event(Event { rounds: 5_000_000 }),
        TaskId::Condition => Task::Condition(Condition { trips: 5_000_000 }),
        TaskId::Scatter | TaskId::Crawl => return None,
    })
}

/// Every declared variant that computes in its worker processes (every one but fan-out's),
/// by task.
fn computing_variants() -> Vec<(TaskId, &'static str)> {
    let mut found = Vec::new();
    for id in TaskId::ALL
        .into_iter()
        .filter(|&id| long_task(id).is_some())
    {
        for variant in BACKEND.support(id).variants() {
            found.push((id, variant.name));
        }
    }
    found
}

#[test]
fn a_worker_killed_mid_task_fails_the_repetition_cleanly() {
    let _serial = serial();
    for (id, variant) in computing_variants() {
        let task = long_task(id).expect("a computing task");
        let what = format!("{task} {variant}");
        let mut run = BACKEND.setup(&cell(task, variant, 2, None)).unwrap();
        let input = task.input();
        // Kill a worker once it is busy with the repetition (50 ms of CPU at 100 Hz ticks).
        let killer = thread::spawn(move || {
            let victim = busy_worker(5, PATIENCE);
            if let Some(pid) = victim {
                kill(Pid::from_raw(pid as i32), Signal::SIGKILL).unwrap();
            }
            victim
        });
        let started = Instant::now();
        let failure = run(input).expect_err(&what).to_string();
        let victim = killer.join().unwrap();
        assert!(victim.is_some(), "{what}: no worker to kill");
        assert!(
            failure.contains("killed by signal 9"),
            "{what}: the failure should say how the worker died: {failure}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "{what}: took {:?}",
            started.elapsed()
        );
        // The runner keeps failing, at once, rather than hanging on the dead worker.
        if variant != "spawn-per-task" {
            let again = Instant::now();
            assert!(run(task.input()).is_err(), "{what}: second repetition");
            assert!(again.elapsed() < Duration::from_secs(5), "{what}");
        }
        drop(run);
        assert_no_workers_left(&what);
    }
}

#[test]
fn a_worker_killed_between_repetitions_fails_the_next_one() {
    let _serial = serial();
    for (id, variant) in computing_variants() {
        if variant == "spawn-per-task" {
            // Its processes live only inside a repetition: there is none to kill between two.
            continue;
        }
        let task = smoke(id);
        let what = format!("{task} {variant}");
        let mut run = BACKEND.setup(&cell(task, variant, 2, None)).unwrap();
        run(task.input()).unwrap();
        let victim = workers().into_iter().max().expect("a worker");
        kill(Pid::from_raw(victim as i32), Signal::SIGKILL).unwrap();
        let failure = run(task.input()).expect_err(&what).to_string();
        assert!(
            failure.contains("killed by signal 9") || failure.contains("Broken pipe"),
            "{what}: {failure}"
        );
        assert!(run(task.input()).is_err(), "{what}: and it stays failed");
        drop(run);
        assert_no_workers_left(&what);
    }
}
