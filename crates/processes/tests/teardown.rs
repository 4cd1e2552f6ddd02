//! No worker outlives its runner, and a worker killed mid-task fails the repetition cleanly.
//!
//! In a test binary of its own, and one test at a time (they hold `SERIAL`), so that the only
//! worker processes of this binary are those of the test that counts them.

#![cfg(target_os = "linux")]

mod common;

use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use common::{busy_worker, cell, eventually, workers};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use shootout_loopback::Server;
use shootout_processes::BACKEND;
use shootout_suite::task::{
    Barrier, Bounded, Condition, Event, Fib, Lock, Mergesort, Nqueens, Semaphore,
};
use shootout_suite::{Cell, Profile, Task, TaskId};

/// The entry point of this test binary's worker processes (see `shootout_processes::run_if_worker`).
#[test]
fn worker_entry() {
    shootout_processes::run_if_worker();
}

/// Held by each test, so that no other test's workers are alive while it counts them.
static SERIAL: Mutex<()> = Mutex::new(());

/// Long enough for any teardown on a busy machine; only a leak takes this long.
const PATIENCE: Duration = Duration::from_secs(30);

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
    let server = Server::start("127.0.0.1:0".parse().unwrap()).unwrap();
    for id in TaskId::ALL {
        let task = Task::new(id, Profile::Smoke);
        for variant in BACKEND.support(id).variants() {
            let what = format!("{id} {}", variant.name);
            let cell = Cell {
                server: Some(server.addr()),
                ..cell(task, variant.name, 3)
            };
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
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    for variant in ["blocking", "threads"] {
        let cell = Cell {
            server: Some(addr),
            ..cell(Task::new(TaskId::Scatter, Profile::Smoke), variant, 3)
        };
        assert!(BACKEND.setup(&cell).is_err(), "{variant}");
        assert_no_workers_left(variant);
    }
}

/// Long repetitions (seconds of work even in a release build), to be cut short by a kill.
fn long_tasks() -> Vec<(Task, &'static str)> {
    let fib = Task::Fib(Fib { n: 44, grain: 20 });
    let queens = Task::Nqueens(Nqueens { n: 15, split: 3 });
    let sort = Task::Mergesort(Mergesort {
        n: 8_000_000,
        grain: 4096,
    });
    let bounded = Task::Bounded(Bounded {
        producers: 2,
        consumers: 2,
        capacity: 16,
        items: 2_000_000,
        work: 100,
    });
    let lock = Task::Lock(Lock {
        increments: 500_000_000,
        section: 64,
    });
    let semaphore = Task::Semaphore(Semaphore {
        entries: 100_000_000,
        permits: 1,
        section: 256,
    });
    let barrier = Task::Barrier(Barrier {
        phases: 100_000_000,
        width: 64,
    });
    // Rounds and trips also size the latency vectors: kept to tens of megabytes.
    let event = Task::Event(Event { rounds: 5_000_000 });
    let condition = Task::Condition(Condition { trips: 5_000_000 });
    vec![
        (fib, "pipe"),
        (fib, "spawn-per-task"),
        (queens, "pipe"),
        (queens, "spawn-per-task"),
        (sort, "pipe"),
        (sort, "shm"),
        (sort, "spawn-per-task"),
        (bounded, "pipe"),
        (bounded, "unix-socket"),
        (bounded, "shm-ring"),
        (lock, "futex"),
        (lock, "atomic"),
        (semaphore, "futex"),
        (barrier, "futex"),
        (event, "futex"),
        (condition, "futex"),
        (condition, "futex-turn"),
        (condition, "pipe"),
    ]
}

#[test]
fn a_worker_killed_mid_task_fails_the_repetition_cleanly() {
    let _serial = serial();
    for (task, variant) in long_tasks() {
        let what = format!("{task} {variant}");
        let mut run = BACKEND.setup(&cell(task, variant, 2)).unwrap();
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
    let fib = Task::Fib(Fib { n: 20, grain: 10 });
    let bounded = Task::new(TaskId::Bounded, Profile::Smoke);
    let sort = Task::new(TaskId::Mergesort, Profile::Smoke);
    let smoke = |id| Task::new(id, Profile::Smoke);
    for (task, variant) in [
        (fib, "pipe"),
        (sort, "pipe"),
        (sort, "shm"),
        (bounded, "pipe"),
        (bounded, "unix-socket"),
        (bounded, "shm-ring"),
        (smoke(TaskId::Lock), "futex"),
        (smoke(TaskId::Lock), "atomic"),
        (smoke(TaskId::Semaphore), "futex"),
        (smoke(TaskId::Barrier), "futex"),
        (smoke(TaskId::Event), "futex"),
        (smoke(TaskId::Condition), "futex"),
        (smoke(TaskId::Condition), "futex-turn"),
        (smoke(TaskId::Condition), "pipe"),
    ] {
        let what = format!("{task} {variant}");
        let mut run = BACKEND.setup(&cell(task, variant, 2)).unwrap();
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
