//! Every task and variant of the rayon backend reproduces the suite's reference checksum,
//! on the smoke profile and at the edges of every parameter.

use shootout_rayon::BACKEND;
use shootout_suite::pipeline::LATENCY_SAMPLE;
use shootout_suite::{Cell, Family, Profile, Support, Task, TaskId};

/// Sets `task` up once on `workers` threads and runs it twice (the pool is reused), checking
/// both answers against the reference.
fn check(task: Task, variant: &str, workers: usize) {
    let what = format!("{task} variant={variant} workers={workers}");
    task.validate()
        .unwrap_or_else(|err| panic!("{what}: invalid test case: {err}"));
    let cell = Cell {
        task,
        variant: variant.into(),
        workers,
        server: None,
    };
    let mut run = BACKEND
        .setup(&cell)
        .unwrap_or_else(|err| panic!("{what}: setup: {err}"));
    let expected = task.expected_checksum();
    for repetition in 0..2 {
        let outcome = run(task.input()).unwrap_or_else(|err| panic!("{what}: run: {err}"));
        assert_eq!(
            task.checksum(&outcome.answer),
            expected,
            "{what}, repetition {repetition}"
        );
        if let Task::Bounded(p) = task {
            // One sample per LATENCY_SAMPLE items, from item 0.
            assert_eq!(
                outcome.latencies_ns.len() as u64,
                p.items.div_ceil(LATENCY_SAMPLE),
                "{what}"
            );
        }
    }
}

/// `id` on the smoke profile with some parameters changed.
fn task(id: TaskId, params: &[(&str, u64)]) -> Task {
    let mut task = Task::new(id, Profile::Smoke);
    for &(name, value) in params {
        task.set(name, value).unwrap();
    }
    task
}

fn variants(id: TaskId) -> Vec<&'static str> {
    BACKEND
        .support(id)
        .variants()
        .iter()
        .map(|v| v.name)
        .collect()
}

#[test]
fn every_variant_matches_the_reference_on_smoke() {
    for id in TaskId::ALL
        .into_iter()
        .filter(|id| id.family() != Family::Fanout)
    {
        for variant in variants(id) {
            for workers in [1, 2, 3] {
                check(Task::new(id, Profile::Smoke), variant, workers);
            }
        }
    }
}

#[test]
fn the_variants_are_the_documented_ones() {
    assert_eq!(
        variants(TaskId::Mergesort),
        ["join", "par-sort", "par-sort-unstable"]
    );
    assert_eq!(variants(TaskId::Fib), ["join", "scope"]);
    assert_eq!(variants(TaskId::Nqueens), ["join", "par-iter"]);
    assert_eq!(variants(TaskId::Bounded), ["par-bridge", "broadcast"]);
    assert_eq!(variants(TaskId::Lock), ["mutex", "reduce"]);
    assert_eq!(variants(TaskId::Barrier), ["fork-join"]);
    for id in TaskId::ALL {
        for variant in BACKEND.support(id).variants() {
            assert!(
                !variant.about.is_empty(),
                "{id} {} needs an about line",
                variant.name
            );
        }
    }
}

#[test]
fn fanout_and_the_waiting_primitives_are_not_applicable_with_a_reason() {
    for id in [
        TaskId::Scatter,
        TaskId::Crawl,
        TaskId::Semaphore,
        TaskId::Event,
        TaskId::Condition,
    ] {
        match BACKEND.support(id) {
            Support::NotApplicable(reason) => assert!(!reason.trim().is_empty(), "{id}"),
            Support::Variants(v) => panic!("{id} should be n/a, has {v:?}"),
        }
        let cell = Cell {
            task: Task::new(id, Profile::Smoke),
            variant: "join".into(),
            workers: 2,
            server: None,
        };
        assert!(BACKEND.setup(&cell).is_err(), "{id} must refuse setup");
    }
}

#[test]
fn unknown_variants_and_zero_workers_are_refused() {
    let fib = Task::new(TaskId::Fib, Profile::Smoke);
    let cell = Cell {
        task: fib,
        variant: "par-sort".into(),
        workers: 2,
        server: None,
    };
    let err = BACKEND
        .setup(&cell)
        .err()
        .expect("par-sort is not a fib variant");
    assert!(err.to_string().contains("par-sort"), "{err}");
    let cell = Cell {
        task: fib,
        variant: "join".into(),
        workers: 0,
        server: None,
    };
    assert!(BACKEND.setup(&cell).is_err());
}

#[test]
fn the_pool_has_exactly_the_requested_threads() {
    for threads in [1, 2, 3, 5] {
        let pool = shootout_rayon::pool::build(threads).unwrap();
        assert_eq!(pool.current_num_threads(), threads);
        // Work submitted through `install` runs on a named worker of this pool.
        let (count, name) = pool.install(|| {
            (
                rayon::current_num_threads(),
                std::thread::current().name().map(str::to_owned),
            )
        });
        assert_eq!(count, threads);
        assert!(name.unwrap().starts_with("rayon-worker-"));
    }
    assert!(shootout_rayon::pool::build(0).is_err());
}

#[test]
fn mergesort_edge_sizes_and_grains() {
    for n in [0, 1, 2, 3, 97, 1009] {
        // grain 1 and 2 split to single keys; 2000 exceeds every n here.
        for grain in [1, 2, 7, 2000] {
            for variant in variants(TaskId::Mergesort) {
                for workers in [1, 3] {
                    check(
                        task(TaskId::Mergesort, &[("n", n), ("grain", grain)]),
                        variant,
                        workers,
                    );
                }
            }
        }
    }
}

#[test]
fn merge_join_handles_uneven_and_duplicate_runs() {
    // Runs of very different lengths, with keys shared between them, at the smallest grains.
    let mut long: Vec<u64> = (0..301).map(|k| k / 3).collect();
    let short: Vec<u64> = vec![0, 7, 7, 50, 200];
    long.sort_unstable();
    for (left, right) in [(&long, &short), (&short, &long), (&long, &long)] {
        let mut expected: Vec<u64> = left.iter().chain(right.iter()).copied().collect();
        expected.sort_unstable();
        for grain in [1, 2, 16] {
            let mut out = vec![0; left.len() + right.len()];
            shootout_rayon::pool::build(2).unwrap().install(|| {
                shootout_rayon::dnc::merge_join(left, right, &mut out, grain);
            });
            assert_eq!(out, expected, "grain {grain}");
        }
    }
}

#[test]
fn fib_edge_cases() {
    for n in [0, 1, 2, 3, 10] {
        // grain 0 forks down to fib(1) and fib(0); 30 exceeds every n here.
        for grain in [0, 1, 2, 30] {
            for variant in variants(TaskId::Fib) {
                for workers in [1, 3] {
                    check(
                        task(TaskId::Fib, &[("n", n), ("grain", grain)]),
                        variant,
                        workers,
                    );
                }
            }
        }
    }
}

#[test]
fn nqueens_small_boards_at_every_split() {
    for n in 0..=6 {
        // An empty board (n = 0) has only split 0.
        for split in [0, 1, n].into_iter().filter(|&split| split <= n) {
            for variant in variants(TaskId::Nqueens) {
                for workers in [1, 2, 3] {
                    check(
                        task(TaskId::Nqueens, &[("n", n), ("split", split)]),
                        variant,
                        workers,
                    );
                }
            }
        }
    }
}

#[test]
fn bounded_with_uneven_sides_and_tiny_queues() {
    for (producers, consumers) in [(1, 1), (1, 3), (3, 1), (2, 2)] {
        for capacity in [1, 4] {
            for items in [0, 1, 65, 2000] {
                for work in [0, 10] {
                    let task = task(
                        TaskId::Bounded,
                        &[
                            ("producers", producers),
                            ("consumers", consumers),
                            ("capacity", capacity),
                            ("items", items),
                            ("work", work),
                        ],
                    );
                    // `workers` does not size this pool: `consumers` does.
                    for variant in variants(TaskId::Bounded) {
                        check(task, variant, 2);
                    }
                }
            }
        }
    }
}

#[test]
fn lock_and_barrier_at_the_edges() {
    for variant in variants(TaskId::Lock) {
        for (increments, section) in [(0, 0), (1, 0), (7, 3), (1000, 0)] {
            let lock = task(
                TaskId::Lock,
                &[("increments", increments), ("section", section)],
            );
            check(lock, variant, 3);
        }
    }
    // More workers than cells (some chunks are empty), one phase, no phases.
    for (width, phases) in [(1, 5), (2, 1), (5, 0), (64, 2)] {
        let barrier = task(TaskId::Barrier, &[("width", width), ("phases", phases)]);
        for workers in [1, 4] {
            check(barrier, "fork-join", workers);
        }
    }
}
