//! What a cell measures about itself: CPU time, context switches, peak memory and threads.
//!
//! All of it comes from the kernel's own accounting (`getrusage`, `/proc`), read before and
//! after each repetition, so the backend under test runs with no instrumentation inside.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

use nix::sys::resource::{UsageWho, getrusage};

/// A snapshot of the resource counters of the cell: its own threads, its live child processes
/// (read from `/proc`, so a pool of worker processes counts while it runs), and its reaped
/// children (`RUSAGE_CHILDREN`).
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
    /// The counters of this process, its live descendants and its reaped children, now.
    ///
    /// Walking `/proc` for descendants costs CPU time of its own (milliseconds, with a thousand
    /// threads to look through); that cost is kept out of the figures: the process's own
    /// counters are read first, and every earlier walk's cost is subtracted from them.
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
        total.user_ns = total
            .user_ns
            .saturating_sub(WALK_USER_NS.load(Ordering::Relaxed));
        total.sys_ns = total
            .sys_ns
            .saturating_sub(WALK_SYS_NS.load(Ordering::Relaxed));
        let walk_started = Usage::this_thread();
        for pid in descendants() {
            if let Some(live) = ProcessStats::read(pid) {
                total.add(&live.usage);
            }
        }
        let walk = Usage::this_thread().since(&walk_started);
        WALK_USER_NS.fetch_add(walk.user_ns, Ordering::Relaxed);
        WALK_SYS_NS.fetch_add(walk.sys_ns, Ordering::Relaxed);
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

/// CPU time spent walking `/proc` in [`Usage::now`], so far.
static WALK_USER_NS: AtomicU64 = AtomicU64::new(0);
static WALK_SYS_NS: AtomicU64 = AtomicU64::new(0);

fn timeval_ns(tv: nix::sys::time::TimeVal) -> u64 {
    tv.tv_sec() as u64 * 1_000_000_000 + tv.tv_usec() as u64 * 1_000
}

/// Peak resident set size of this process in KiB.
///
/// It is `VmHWM` from `/proc/self/status`, not `ru_maxrss`: Linux carries `ru_maxrss` across
/// `execve`, so a cell would inherit the high-water mark of the harness that spawned it.
pub fn peak_rss_kib() -> u64 {
    status_field(
        &std::fs::read_to_string("/proc/self/status").unwrap_or_default(),
        "VmHWM",
    )
    .unwrap_or(0)
}

fn status_field(status: &str, field: &str) -> Option<u64> {
    status.lines().find_map(|l| {
        l.strip_prefix(field)?
            .strip_prefix(':')?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()
    })
}

/// Every live process descended from this one (children, their children, …).
///
/// Read from `/proc/<pid>/task/<tid>/children`, which lists the children each thread started.
pub fn descendants() -> Vec<i32> {
    let mut found = Vec::new();
    let mut frontier = vec![std::process::id() as i32];
    while let Some(pid) = frontier.pop() {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let children =
                std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            for child in children.split_whitespace().filter_map(|c| c.parse().ok()) {
                found.push(child);
                frontier.push(child);
            }
        }
    }
    found
}

/// What `/proc` says about one live process.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProcessStats {
    /// Its CPU time and context switches, summed over its threads.
    pub usage: Usage,
    /// Its peak resident set (`VmHWM`), KiB.
    pub peak_rss_kib: u64,
}

impl ProcessStats {
    /// Reads the counters of process `pid`, if it still exists.
    ///
    /// CPU time is the scheduler's nanosecond count (`schedstat`) of every live thread, plus
    /// the time of threads that have already exited, which only the process's tick counts in
    /// `stat` still hold (10 ms resolution); it is split into user and system time in the
    /// proportion of those ticks. Context switches of exited threads are not kept by Linux
    /// anywhere in `/proc` and are missing.
    pub fn read(pid: i32) -> Option<ProcessStats> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let (user_ticks, sys_ticks) = stat_ticks(&stat)?;
        let mut live_ticks = 0u64;
        let mut cpu_ns = 0u64;
        let mut usage = Usage::default();
        for task in std::fs::read_dir(format!("/proc/{pid}/task"))
            .ok()?
            .flatten()
        {
            let schedstat =
                std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
            cpu_ns += schedstat
                .split_whitespace()
                .next()
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0);
            let task_stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
            live_ticks += stat_ticks(&task_stat).map_or(0, |(u, s)| u + s);
            let task_status =
                std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
            usage.voluntary += status_field(&task_status, "voluntary_ctxt_switches").unwrap_or(0);
            usage.involuntary +=
                status_field(&task_status, "nonvoluntary_ctxt_switches").unwrap_or(0);
        }
        let ticks = user_ticks + sys_ticks;
        cpu_ns += ticks.saturating_sub(live_ticks) * tick_ns();
        usage.sys_ns = if ticks == 0 {
            0
        } else {
            (u128::from(cpu_ns) * u128::from(sys_ticks) / u128::from(ticks)) as u64
        };
        usage.user_ns = cpu_ns - usage.sys_ns;
        Some(ProcessStats {
            usage,
            peak_rss_kib: status_field(&status, "VmHWM").unwrap_or(0),
        })
    }
}

/// `(utime, stime)` in clock ticks from a `/proc/.../stat` line (fields 14 and 15).
fn stat_ticks(stat: &str) -> Option<(u64, u64)> {
    // Counted after the parenthesised command name, which may hold spaces: index 0 is field 3.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    Some((fields.get(11)?.parse().ok()?, fields.get(12)?.parse().ok()?))
}

/// The length of a clock tick in nanoseconds.
fn tick_ns() -> u64 {
    let per_second = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(100);
    1_000_000_000 / per_second.max(1) as u64
}

/// The peak resident set of every child process seen, to report their sum.
///
/// `VmHWM` is the kernel's own high-water mark, so reading it while a child lives gives its
/// true peak; a child that starts and exits between two readings is missed.
#[derive(Debug, Default)]
pub struct ChildPeaks {
    peaks: std::collections::HashMap<i32, u64>,
}

impl ChildPeaks {
    /// Reads every live descendant's peak now.
    pub fn observe(&mut self) {
        for pid in descendants() {
            if let Some(stats) = ProcessStats::read(pid) {
                let peak = self.peaks.entry(pid).or_default();
                *peak = (*peak).max(stats.peak_rss_kib);
            }
        }
    }

    /// The sum of the peaks, KiB.
    pub fn sum_kib(&self) -> u64 {
        self.peaks.values().sum()
    }
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
    fn live_children_are_counted() {
        // A child that burns CPU until told to stop; its time must show up in our usage.
        let mut child = std::process::Command::new("sh")
            .args(["-c", "while :; do :; done"])
            .spawn()
            .unwrap();
        let before = Usage::now();
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let mut peaks = ChildPeaks::default();
        loop {
            peaks.observe();
            let used = Usage::now().since(&before);
            if used.user_ns + used.sys_ns >= 50_000_000 || std::time::Instant::now() > deadline {
                break;
            }
            thread::sleep(Duration::from_millis(10));
        }
        let used = Usage::now().since(&before);
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(used.user_ns + used.sys_ns >= 50_000_000, "{used:?}");
        assert!(peaks.sum_kib() > 0);
        assert!(!descendants().contains(&(child.id() as i32)));
    }

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
        assert!(peak_rss_kib() > 0);
    }
}
