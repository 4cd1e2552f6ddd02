//! The machine speed index: a short, fixed, sequential kernel every cell process times before
//! it sets up its backend.
//!
//! Two runs on different machines, or on one machine on a slower day, differ in everything by
//! the machine's speed; the index is how `compare` tells that apart from a change in a model.
//! The kernel is deliberately plain – integer mixing, a dependent chain of table reads and
//! writes that stays in L1/L2, and a recursion that exercises calls and the return stack – so
//! that it tracks clock speed, turbo and a noisy neighbour's share of the core. It does not
//! track memory bandwidth, cache size, the cost of a context switch or of a cross-core wake-up,
//! which is what differs most between machines for the parallel cells: METHODOLOGY.md says
//! what the index can and cannot correct.
//!
//! One core's speed does not say what two busy cores give: on a virtual machine whose vCPUs
//! share physical cores (hyperthreads) with other guests, each vCPU can run markedly slower
//! while its sibling is busy, and how much slower changes with the host's load. So a process
//! also times the kernel on every available core at once ([`measure_parallel`]), the index a
//! cell with several workers is calibrated by.

use std::hint::black_box;
use std::time::Instant;

use shootout_suite::rng::mix;

/// How many times the kernel runs; the fastest run is the index (the least disturbed).
pub const RUNS: u32 = 7;

/// The kernel: a few milliseconds of single-threaded work with a fixed answer.
pub fn kernel() -> u64 {
    let mut table = vec![0u64; 1 << 14]; // 128 KiB: L2-resident on every current x86 core
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for i in 0..300_000u64 {
        x = mix(x ^ i);
        let slot = (x as usize) & (table.len() - 1);
        table[slot] = table[slot].wrapping_add(x);
        x ^= table[(x >> 20) as usize & (table.len() - 1)];
    }
    x ^ fib(black_box(22))
}

fn fib(n: u64) -> u64 {
    if n < 2 { n } else { fib(n - 1) + fib(n - 2) }
}

/// The machine speed index of this process, now: the fastest of [`RUNS`] runs of the kernel,
/// in nanoseconds (lower is a faster machine).
pub fn measure() -> u64 {
    (0..RUNS)
        .map(|_| {
            let started = Instant::now();
            black_box(kernel());
            started.elapsed().as_nanos() as u64
        })
        .min()
        .unwrap_or(0)
}

/// The parallel speed index: the kernel on `threads` threads at once, started together; each
/// run counts as long as its slowest thread took, and the fastest of [`RUNS`] runs is the
/// index, in nanoseconds. `None` for fewer than two threads (it would be [`measure`]).
pub fn measure_parallel(threads: usize) -> Option<u64> {
    if threads < 2 {
        return None;
    }
    let barrier = std::sync::Barrier::new(threads);
    let slowest: Vec<std::sync::atomic::AtomicU64> = (0..RUNS)
        .map(|_| std::sync::atomic::AtomicU64::new(0))
        .collect();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                for run in &slowest {
                    barrier.wait();
                    let started = Instant::now();
                    black_box(kernel());
                    let ns = started.elapsed().as_nanos() as u64;
                    run.fetch_max(ns, std::sync::atomic::Ordering::Relaxed);
                }
            });
        }
    });
    slowest
        .iter()
        .map(|run| run.load(std::sync::atomic::Ordering::Relaxed))
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kernel_is_deterministic_and_takes_time() {
        assert_eq!(kernel(), kernel());
        assert!(measure() > 0);
        assert_eq!(measure_parallel(1), None);
        assert!(measure_parallel(2).is_some_and(|ns| ns > 0));
    }
}
