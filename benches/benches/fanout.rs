//! Criterion benchmarks of the `fanout` family on every backend: `cargo bench --bench fanout`.

use criterion::Criterion;
use shootout_suite::Family;

fn main() {
    shootout_benches::init();
    let mut criterion = Criterion::default().configure_from_args();
    shootout_benches::bench_family(&mut criterion, Family::Fanout);
    criterion.final_summary();
}
