//! Criterion benchmarks of the `sync` family on every backend: `cargo bench --bench sync`.

use criterion::Criterion;
use shootout_suite::Family;

fn main() {
    shootout_benches::init();
    let mut criterion = Criterion::default().configure_from_args();
    shootout_benches::bench_family(&mut criterion, Family::Sync);
    criterion.final_summary();
}
