//! Criterion benchmarks of every task on every backend: `cargo bench` at the workspace root.
//!
//! One bench target per task family (`benches/dnc.rs`, `benches/fanout.rs`,
//! `benches/pipeline.rs`, `benches/sync.rs`), one criterion group per task (`dnc/fib`), one benchmark per
//! backend variant (`threads/task-queue`) with the task's parameters as the benchmark's
//! parameter, so criterion's report puts the backends of a task side by side. The parameters
//! are the suite's `bench` profile; workers are the available cores, as in `shootout run`.
//!
//! ```text
//! cargo bench                         # everything; the HTML report lands in target/criterion/report/
//! cargo bench --bench dnc -- dnc/fib  # one task (a criterion filter: any part of the id)
//! cargo bench -- rayon                # one backend across all tasks
//! ```
//!
//! # Implementation
//!
//! The backends are driven exactly as the CLI drives them – through the harness's registry and
//! `Backend::setup`, which builds runtimes, pools, worker processes and connections once per
//! benchmark, outside the timed iterations. Every iteration is one call of the cell's runner,
//! timed with `iter_custom` so that making the input (a fresh copy of the keys) and checking the
//! answer stay outside the measurement; a wrong answer panics and fails the bench.
//!
//! Async backends need no executor from criterion: their runner enters the runtime it built in
//! setup (one `block_on` per call, as `shootout cell` does), so nothing here pays for a runtime
//! that real async code would not. That is also why criterion's `to_async` is not used – it
//! would add its own executor's `block_on` per iteration – and why async-std needs no
//! criterion support.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion};
use shootout_harness::{fingerprint, registry};
use shootout_suite::{Cell, Family, Profile, Task, TaskId};

/// Runs the benchmarks of every task in `family`.
pub fn bench_family(c: &mut Criterion, family: Family) {
    let server = (family == Family::Fanout).then(|| {
        shootout_loopback::Server::start("127.0.0.1:0".parse().expect("a valid address"))
            .expect("starting the loopback server")
    });
    for id in TaskId::ALL.into_iter().filter(|t| t.family() == family) {
        bench_task(c, id, server.as_ref().map(|s| s.addr()));
    }
}

/// Runs one criterion group: task `id` on every backend variant that runs it.
pub fn bench_task(c: &mut Criterion, id: TaskId, server: Option<SocketAddr>) {
    let task = Task::new(id, Profile::Bench);
    let expected = task.expected_checksum();
    let input = task.input();
    let parameters: Vec<String> = task
        .params()
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let parameters = parameters.join(" ");
    let workers = fingerprint::available_cores();

    let mut group = c.benchmark_group(id.name());
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for backend in registry::backends() {
        for variant in backend.support(id).variants() {
            let workers = if backend.name == registry::BASELINE {
                1
            } else {
                workers
            };
            let cell = Cell {
                task,
                variant: variant.name.to_string(),
                workers,
                server,
            };
            let name = format!("{}/{}", backend.name, variant.name);
            let mut runner = match backend.setup(&cell) {
                Ok(runner) => runner,
                Err(e) => panic!("{name}: setup failed: {e}"),
            };
            group.bench_with_input(BenchmarkId::new(&name, &parameters), &input, |b, input| {
                b.iter_custom(|iters| {
                    let mut timed = Duration::ZERO;
                    for _ in 0..iters {
                        let fresh = input.clone();
                        let started = Instant::now();
                        let outcome = runner(fresh);
                        timed += started.elapsed();
                        let outcome = outcome.unwrap_or_else(|e| panic!("{name}: {e}"));
                        let got = task.checksum(&outcome.answer);
                        assert_eq!(got, expected, "{name} computed a wrong answer");
                    }
                    timed
                });
            });
        }
    }
    group.finish();
}

/// What every bench binary does before anything else: serve as a worker process if the
/// processes backend started this binary as one.
pub fn init() {
    shootout_processes::run_if_worker();
}
