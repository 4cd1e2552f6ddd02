//! Tests of the statistics on synthetic data with known answers.

use super::*;

/// Deterministic noise: a value within ±`amplitude` of 1, different for each `i`.
fn jitter(i: u64, amplitude: f64) -> f64 {
    let u = SplitMix64::new(i).next_u64() as f64 / u64::MAX as f64;
    1.0 + amplitude * (2.0 * u - 1.0)
}

/// Deterministic log-normal noise: `exp(σ z)` for a standard normal `z` (Box–Muller).
pub(crate) fn lognormal(i: u64, sigma: f64) -> f64 {
    let mut rng = SplitMix64::new(i);
    let u1 = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    let u2 = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    let z = (-2.0 * (1.0 - u1).ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
    (sigma * z).exp()
}

/// A synthetic cell the shape of the `full` profile: `processes` × `reps` around `centre`,
/// each process with its own log-normal offset and each repetition its own noise, both of
/// size `sigma`.
fn cell(processes: usize, reps: usize, centre: f64, sigma: f64, salt: u64) -> Vec<Vec<f64>> {
    (0..processes as u64)
        .map(|p| {
            let offset = centre * lognormal(salt ^ (p << 32), sigma);
            (0..reps as u64)
                .map(|r| offset * lognormal(salt ^ (p << 32) ^ ((r + 1) << 48), sigma))
                .collect()
        })
        .collect()
}

#[test]
fn medians_and_quantiles() {
    assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
    assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
    assert_eq!(median(&mut []), 0.0);
    assert_eq!(quantile(&mut [0.0, 10.0], 0.25), 2.5);
    assert_eq!(weighted_quantile(&mut [(5, 1), (1, 1), (3, 2)], 0.5), 3);
    assert_eq!(weighted_quantile(&mut [(5, 1), (1, 1), (3, 2)], 1.0), 5);
    assert_eq!(weighted_quantile(&mut [(5, 1), (1, 1), (3, 2)], 0.0), 1);
}

#[test]
fn the_interval_covers_the_true_median_about_95_times_in_100() {
    // Many synthetic cells of 5 processes x 2 repetitions (the full profile), with as
    // much variation between processes as within them: the true median is 100.
    let trials = 400;
    let covered = (0..trials)
        .filter(|&t| {
            let c = cell(5, 2, 100.0, 0.05, t * 7919);
            Interval::of(&bootstrap_median(&c, t)).contains(100.0)
        })
        .count();
    // A bootstrap from five clusters runs a little narrow; it must still cover the truth
    // nearly always, and must not be so wide that it always does.
    assert!(
        (340..=396).contains(&covered),
        "covered {covered} of {trials}"
    );
}

#[test]
fn intervals_are_exact_for_identical_values_and_widen_with_noise() {
    let flat = vec![vec![10.0; 3]; 5];
    assert_eq!(
        Interval::of(&bootstrap_median(&flat, 1)),
        Interval { lo: 10.0, hi: 10.0 }
    );
    let tight = Interval::of(&bootstrap_median(&cell(5, 3, 10.0, 0.01, 7), 1));
    let loose = Interval::of(&bootstrap_median(&cell(5, 3, 10.0, 0.20, 7), 1));
    assert!(tight.contains(10.0) && loose.contains(10.0));
    assert!(tight.relative_half_width(10.0) < 0.02);
    assert!(loose.relative_half_width(10.0) > 3.0 * tight.relative_half_width(10.0));
    assert!(bootstrap_median(&[], 1).is_empty());
}

#[test]
fn the_same_seed_gives_the_same_interval() {
    let c = cell(5, 3, 10.0, 0.1, 3);
    assert_eq!(bootstrap_median(&c, 42), bootstrap_median(&c, 42));
    assert_eq!(seed_of("a"), seed_of("a"));
    assert_ne!(seed_of("a"), seed_of("b"));
}

#[test]
fn a_ratio_interval_is_centred_on_the_true_ratio() {
    let a = bootstrap_median(&cell(5, 3, 100.0, 0.02, 1), 1);
    let b = bootstrap_median(&cell(5, 3, 125.0, 0.02, 2), 2);
    let ratio = Interval::of(&ratio_distribution(&b, &a));
    assert!(ratio.contains(1.25), "{ratio:?}");
    assert!(ratio.lo > 1.15 && ratio.hi < 1.35, "{ratio:?}");
}

#[test]
fn latency_quantiles_are_resampled_over_processes() {
    // Two processes agree, one is ten times slower: the p50 interval spans both.
    let process = |v: u64| vec![(v, 100), (2 * v, 10)];
    let ps = vec![process(10), process(10), process(100)];
    let i = Interval::of(&bootstrap_quantile(&ps, 0.5, 9));
    assert_eq!(i.lo, 10.0);
    assert_eq!(i.hi, 100.0);
}

#[test]
fn tails_need_ten_samples_beyond_them() {
    assert_eq!(Tail::supported_by(30), Tail::Max);
    assert_eq!(Tail::supported_by(300), Tail::P90);
    assert_eq!(Tail::supported_by(5000), Tail::P99);
    assert_eq!(Tail::P90.label(), "p90");
}

/// How many of `trials` clean synthetic cells (5 x 2, log-normal noise of `sigma`) get a
/// flag from the distribution checks.
fn false_flags(sigma: f64, trials: u64) -> usize {
    (0..trials)
        .filter(|&t| !distribution_flags(&cell(5, 2, 1.0, sigma, t * 104_729)).is_empty())
        .count()
}

#[test]
fn clean_cells_are_rarely_flagged() {
    // Quiet (3 %) and noisy (10 %) cells of one population: a flag is a false alarm. The
    // rates are what the rules give today (deterministic noise), with room to spare.
    let (quiet, noisy, loud) = (
        false_flags(0.03, 500),
        false_flags(0.10, 500),
        false_flags(0.20, 500),
    );
    eprintln!("false alarms in 500 clean cells: {quiet} at 3 %, {noisy} at 10 %, {loud} at 20 %");
    assert!(quiet <= 5, "{quiet}");
    assert!(noisy <= 25, "{noisy}");
}

#[test]
fn bimodal_processes_are_flagged() {
    // The published threads/parking-lot condition cell at W = 8: per-process medians of
    // 51.2, 1.77 and 1.80 µs.
    let c = vec![
        vec![51.0, 51.4, 51.2],
        vec![1.77, 1.76, 1.78],
        vec![1.80, 1.81, 1.79],
    ];
    assert!(distribution_flags(&c).contains(&Flag::Bimodal));
}

#[test]
fn bimodal_repetitions_and_outliers_are_flagged() {
    // The crawl artefact: one slow repetition in each process.
    let c = vec![vec![150.0, 740.0, 168.0], vec![712.0, 170.0, 158.0]];
    let flags = distribution_flags(&c);
    assert!(flags.contains(&Flag::Bimodal), "{flags:?}");
    assert!(flags.contains(&Flag::Outliers(2, 6)), "{flags:?}");
}

#[test]
fn one_slow_repetition_is_an_outlier_and_sets_its_process_apart() {
    let mut c = cell(5, 2, 1.0, 0.02, 5);
    c[2][1] *= 4.0;
    assert_eq!(
        distribution_flags(&c),
        [Flag::OddProcess, Flag::Outliers(1, 10)]
    );
}

#[test]
fn drift_within_processes_is_flagged() {
    // Every process slows down by a fifth from its first repetition to its last.
    let c: Vec<Vec<f64>> = (0..5)
        .map(|p| {
            (0..3)
                .map(|r| (1.0 + 0.1 * r as f64) * jitter(p * 10 + r, 0.01))
                .collect()
        })
        .collect();
    assert_eq!(distribution_flags(&c), [Flag::Drift]);
}

#[test]
fn drift_across_processes_is_flagged() {
    // The machine slows down over the run: each process a tenth slower than the last.
    let c: Vec<Vec<f64>> = (0..5)
        .map(|p| {
            (0..2)
                .map(|r| (1.0 + 0.1 * p as f64) * jitter(p * 10 + r, 0.005))
                .collect()
        })
        .collect();
    assert!(distribution_flags(&c).contains(&Flag::Drift));
}

#[test]
fn bootstrap_quantile_matches_merging_and_sorting_the_drawn_histograms() {
    // The reference: concatenate the drawn processes' buckets and read the quantile.
    let ps: Vec<Vec<(u64, u64)>> = (0..5u64)
        .map(|p| {
            (0..40u64)
                .map(|i| ((i * 7 + p * 3) % 97 + 1, i % 5 + p))
                .collect()
        })
        .collect();
    for q in [0.0, 0.5, 0.9, 0.99, 1.0] {
        let mut rng = SplitMix64::new(3);
        let naive: Vec<f64> = (0..RESAMPLES / 4)
            .map(|_| {
                let mut merged = Vec::new();
                for _ in 0..ps.len() {
                    merged.extend_from_slice(&ps[rng.below(ps.len() as u64) as usize]);
                }
                weighted_quantile(&mut merged, q) as f64
            })
            .collect();
        assert_eq!(bootstrap_quantile(&ps, q, 3), naive, "q = {q}");
    }
}
