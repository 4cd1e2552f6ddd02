//! What the conformance suite does not check of the rayon backend: that its pool has exactly
//! the requested threads under this backend's thread name, and that its parallel merge
//! (`merge_join`) is right on runs of very different lengths with shared keys, at the smallest
//! grains – cuts that the mergesort task's seeded keys seldom make.

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
