//! Criterion benchmarks of the `pipeline` family on every backend: `cargo bench --bench pipeline`.

use criterion::Criterion;
use shootout_suite::Family;

fn main() {
    shootout_benches::init();
    let mut criterion = Criterion::default().configure_from_args();
    shootout_benches::bench_family(&mut criterion, Family::Pipeline);
    criterion.final_summary();
}
