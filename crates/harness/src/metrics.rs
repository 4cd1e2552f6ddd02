//! What a cell measures about itself: CPU time, context switches, peak memory and threads.
//!
//! All of it comes from the kernel's own accounting (`getrusage`, `/proc`), read before and
//! after each repetition, so the backend under test runs with no instrumentation inside.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

use nix::sys::resource::{UsageWho, getrusage};

/// A snapshot of the process's resource counters (its own threads plus reaped children).
#[derive(Clone, Copy, Debug, Default)]
pub struct Usage {
    /// User CPU time in nanoseconds.
    pub user_ns: u64,
    /// System CPU time in nanoseconds.
    pub sys_ns: u64,
    /// Voluntary context switches (a thread blocked).
    pub voluntary: u64,
    /// Involuntary context switches (a thread was preempted).
    pub involuntary: u64,
}

impl Usage {
    /// The counters of this process and its reaped children, now.
    pub fn now() -> Usage {
        let mut total = Usage::default();
        for who in [UsageWho::RUSAGE_SELF, UsageWho::RUSAGE_CHILDREN] {
            if let Ok(u) = getrusage(who) {
                total.add(&Usage {
                    user_ns: timeval_ns(u.user_time()),
                    sys_ns: timeval_ns(u.system_time()),
                    voluntary: u.voluntary_context_switches() as u64,
                    involuntary: u.involuntary_context_switches() as u64,
                });
            }
        }
        total
    }

    /// The counters of the calling thread alone.
    fn this_thread() -> Usage {
        getrusage(UsageWho::RUSAGE_THREAD).map_or_else(
            |_| Usage::default(),
            |u| Usage {
                user_ns: timeval_ns(u.user_time()),
                sys_ns: timeval_ns(u.system_time()),
                voluntary: u.voluntary_context_switches() as u64,
                involuntary: u.involuntary_context_switches() as u64,
            },
        )
    }

    fn add(&mut self, other: &Usage) {
        self.user_ns += other.user_ns;
        self.sys_ns += other.sys_ns;
        self.voluntary += other.voluntary;
        self.involuntary += other.involuntary;
    }

    /// `self - earlier`, saturating at zero.
    pub fn since(&self, earlier: &Usage) -> Usage {
        Usage {
            user_ns: self.user_ns.saturating_sub(earlier.user_ns),
            sys_ns: self.sys_ns.saturating_sub(earlier.sys_ns),
            voluntary: self.voluntary.saturating_sub(earlier.voluntary),
            involuntary: self.involuntary.saturating_sub(earlier.involuntary),
        }
    }
}

fn timeval_ns(tv: nix::sys::time::TimeVal) -> u64 {
    tv.tv_sec() as u64 * 1_000_000_000 + tv.tv_usec() as u64 * 1_000
}

/// Peak resident set size in KiB: of this process, and of the largest reaped child.
///
/// The process's own peak is `VmHWM` from `/proc/self/status`, not `ru_maxrss`: Linux carries
/// `ru_maxrss` across `execve`, so a cell would inherit the high-water mark of the harness
/// that spawned it.
pub fn peak_rss_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let own = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    let children = getrusage(UsageWho::RUSAGE_CHILDREN).map_or(0, |u| u.max_rss() as u64);
    (own, children)
}

/// The number of threads in this process, from `/proc/self/stat`.
pub fn thread_count() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Field 20 (num_threads), counted after the parenthesised command name, which may hold spaces.
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().nth(17))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// A thread that samples the process's thread count, to report the peak.
///
/// There is no kernel counter for peak threads, so it is sampled every few milliseconds; a
/// thread that lives shorter than that may be missed. The sampler's own thread is not counted,
/// and its own CPU time and context switches are published so the cell can subtract them.
pub struct ThreadSampler {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    own: Arc<[AtomicU64; 4]>,
    handle: Option<thread::JoinHandle<()>>,
}

/// How often the sampler looks.
const SAMPLE_EVERY: Duration = Duration::from_millis(5);

impl ThreadSampler {
    /// Starts sampling.
    pub fn start() -> ThreadSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(thread_count()));
        let own: Arc<[AtomicU64; 4]> = Arc::new(Default::default());
        let handle = {
            let (stop, peak, own) = (stop.clone(), peak.clone(), own.clone());
            thread::Builder::new()
                .name("thread-sampler".into())
                .stack_size(64 * 1024)
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        // Minus one: the sampler itself is not part of the backend.
                        peak.fetch_max(thread_count().saturating_sub(1), Ordering::Relaxed);
                        let me = Usage::this_thread();
                        for (slot, value) in
                            own.iter()
                                .zip([me.user_ns, me.sys_ns, me.voluntary, me.involuntary])
                        {
                            slot.store(value, Ordering::Relaxed);
                        }
                        thread::sleep(SAMPLE_EVERY);
                    }
                })
                .expect("spawning the thread sampler")
        };
        ThreadSampler {
            stop,
            peak,
            own,
            handle: Some(handle),
        }
    }

    /// Takes a sample now, from the calling thread (between repetitions, so that a cell
    /// shorter than the sampling period is still counted).
    pub fn sample_now(&self) {
        self.peak
            .fetch_max(thread_count().saturating_sub(1), Ordering::Relaxed);
    }

    /// The most threads seen so far (excluding the sampler).
    pub fn peak(&self) -> u64 {
        self.peak.load(Ordering::Relaxed)
    }

    /// The sampler's own counters, as of its last sample.
    pub fn own_usage(&self) -> Usage {
        let [user_ns, sys_ns, voluntary, involuntary] =
            [0, 1, 2, 3].map(|i| self.own[i].load(Ordering::Relaxed));
        Usage {
            user_ns,
            sys_ns,
            voluntary,
            involuntary,
        }
    }

    /// The process's counters minus the sampler's.
    pub fn usage(&self) -> Usage {
        Usage::now().since(&self.own_usage())
    }
}

impl Drop for ThreadSampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_threads_and_cpu() {
        let before = thread_count();
        assert!(before >= 1);
        let sampler = ThreadSampler::start();
        let start = sampler.usage();
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let wait = std::sync::Mutex::new(wait);
        thread::scope(|s| {
            for _ in 0..3 {
                s.spawn(|| while wait.lock().unwrap().recv().is_ok() {});
            }
            // However busy the machine, the sampler eventually sees all three.
            let deadline = std::time::Instant::now() + Duration::from_secs(30);
            while sampler.peak() < before + 3 && std::time::Instant::now() < deadline {
                thread::sleep(Duration::from_millis(1));
            }
            drop(release);
        });
        // Spin until this thread alone has used 20 ms of CPU; the process must have seen it.
        let me = Usage::this_thread();
        while Usage::this_thread().since(&me).user_ns + Usage::this_thread().since(&me).sys_ns
            < 20_000_000
        {
            std::hint::black_box(0);
        }
        let used = sampler.usage().since(&start);
        assert!(
            sampler.peak() >= before + 3,
            "peak {} before {before}",
            sampler.peak()
        );
        assert!(used.user_ns + used.sys_ns >= 20_000_000, "{used:?}");
        assert!(peak_rss_kib().0 > 0);
    }
}
