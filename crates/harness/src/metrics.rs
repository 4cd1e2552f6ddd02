//! What a cell measures about itself: CPU time, context switches, peak memory and threads.
//!
//! All of it comes from the kernel's own accounting (`getrusage`, `/proc`), read before and
//! after each repetition, so the backend under test runs with no instrumentation inside.
//!
//! # Keeping CPU time possible
//!
//! A repetition's CPU time is the difference of two [`Usage::now`] readings, so a reading that
//! counts something twice, or loses something the next one finds again, shows up as CPU time
//! the machine could not have spent (more than its cores × the wall time). Each of these did:
//!
//! - A live process's threads were counted twice: the nanosecond run time of its live threads
//!   plus "process ticks − Σ thread ticks" for its exited ones; but each thread's ticks are
//!   truncated to a whole tick, so with many light threads Σ thread ticks ≈ 0 while the process
//!   ticks already hold those same threads. [`ProcessStats::read`] now takes the larger of the
//!   two, which never exceeds the truth.
//! - [`Usage::since`] clamped user and system time at zero separately: when the user/system
//!   split of a source shifted between readings (a light process's split follows a handful of
//!   tick samples; a worker counted from `/proc`, then reaped and counted by `RUSAGE_CHILDREN`),
//!   one field went negative, was clamped, and the other kept the whole increase: the total
//!   grew by the shift and the first field read 0. It now keeps the total and splits it.
//! - The cost of walking `/proc` was subtracted field by field, with the walking thread's own
//!   user/system split, which need not match the process's: a field saturated at 0 (user 0)
//!   and the part not subtracted stayed in the total. It is now subtracted from the total.
//! - A child reaped (by another thread) between reading `RUSAGE_CHILDREN` and walking `/proc`
//!   was in neither, and so was a grandchild reaped by its parent during the walk: the next
//!   reading found it, so its whole lifetime's CPU time landed in one repetition. A reading is
//!   now taken again when a reap happened during it. And a grandchild's time vanished once its
//!   parent reaped it, until that parent was reaped in turn: a live process now counts with
//!   its reaped children (`cutime`, `cstime`).
//! - `RUSAGE_THREAD`, with which the walk's cost is measured, lags up to a tick behind a
//!   running thread; [`Usage::now`] brings it up to date first.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};

use nix::sys::resource::{UsageWho, getrusage};

/// A snapshot of the resource counters of the cell: its own threads, its live child processes
/// (read from `/proc`, so a pool of worker processes counts while it runs), and its reaped
/// children (`RUSAGE_CHILDREN`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
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
    /// counters are read first, and every earlier walk's cost is subtracted from their total
    /// (the split between user and system time kept as it was).
    pub fn now() -> Usage {
        // Reading RUSAGE_SELF also brings the calling thread's run time up to date, so the
        // walk's cost below is measured from here.
        let mut total =
            Usage::rusage(UsageWho::RUSAGE_SELF).less_cpu(WALK_NS.load(Ordering::Relaxed));
        let walk_started = Usage::this_thread();
        total.add(&Usage::of_descendants());
        let walk = Usage::this_thread().since(&walk_started);
        WALK_NS.fetch_add(walk.cpu_ns(), Ordering::Relaxed);
        total
    }

    /// User plus system time, in nanoseconds.
    pub fn cpu_ns(&self) -> u64 {
        self.user_ns + self.sys_ns
    }

    /// The reaped children and the live descendants of this process.
    ///
    /// A reap between reading `RUSAGE_CHILDREN` and reading the reaped process in `/proc` (or,
    /// one level down, between reading a process's `cutime` and its child) would leave the
    /// reaped process out of this reading and in the next; so a reading during which any of
    /// those counters moved is taken again, up to a few times.
    fn of_descendants() -> Usage {
        const ATTEMPTS: usize = 3;
        let mut reading = Usage::default();
        for _ in 0..ATTEMPTS {
            let reaped = Usage::rusage(UsageWho::RUSAGE_CHILDREN);
            reading = reaped;
            let tree = tree();
            let parents: HashSet<i32> = tree.iter().map(|&(_, parent)| parent).collect();
            let mut watched = Vec::new();
            for &(pid, _) in &tree {
                if let Some(live) = ProcessStats::read(pid) {
                    reading.add(&live.usage);
                    reading.add(&live.reaped);
                    if parents.contains(&pid) {
                        watched.push((pid, live.reaped.cpu_ns()));
                    }
                }
            }
            let steady = Usage::rusage(UsageWho::RUSAGE_CHILDREN) == reaped
                && watched.iter().all(|&(pid, reaped_ns)| {
                    StatTimes::read(pid).is_some_and(|t| t.reaped().cpu_ns() == reaped_ns)
                });
            if steady {
                break;
            }
        }
        reading
    }

    /// One `getrusage` reading.
    fn rusage(who: UsageWho) -> Usage {
        getrusage(who).map_or_else(
            |_| Usage::default(),
            |u| Usage {
                user_ns: timeval_ns(u.user_time()),
                sys_ns: timeval_ns(u.system_time()),
                voluntary: u.voluntary_context_switches() as u64,
                involuntary: u.involuntary_context_switches() as u64,
            },
        )
    }

    /// The counters of the calling thread alone, up to date.
    ///
    /// `RUSAGE_THREAD` reports the thread's run time as of the scheduler's last look at it (up
    /// to a tick ago while it runs); summing the process's threads for `RUSAGE_SELF` updates
    /// the calling thread's first, so that is read (and dropped) before.
    fn this_thread() -> Usage {
        let _ = getrusage(UsageWho::RUSAGE_SELF);
        Usage::rusage(UsageWho::RUSAGE_THREAD)
    }

    fn add(&mut self, other: &Usage) {
        self.user_ns += other.user_ns;
        self.sys_ns += other.sys_ns;
        self.voluntary += other.voluntary;
        self.involuntary += other.involuntary;
    }

    /// These counters with `ns` less CPU time, split between user and system time in the
    /// proportion they had.
    fn less_cpu(self, ns: u64) -> Usage {
        let (user_ns, sys_ns) = split(self.cpu_ns().saturating_sub(ns), self.user_ns, self.sys_ns);
        Usage {
            user_ns,
            sys_ns,
            ..self
        }
    }

    /// `self - earlier`: the CPU time used in between, and the context switches.
    ///
    /// The CPU total is the difference of the totals (zero if it fell), and user + system
    /// always add up to it. The split is each field's difference, except where the split of
    /// the readings shifted so that one field fell: that field reads 0 and the other holds the
    /// whole total (clamping each field on its own would add the shift to the total).
    /// Context switches saturate at zero each.
    pub fn since(&self, earlier: &Usage) -> Usage {
        let cpu_ns = self.cpu_ns().saturating_sub(earlier.cpu_ns());
        let sys_ns = self.sys_ns.saturating_sub(earlier.sys_ns).min(cpu_ns);
        Usage {
            user_ns: cpu_ns - sys_ns,
            sys_ns,
            voluntary: self.voluntary.saturating_sub(earlier.voluntary),
            involuntary: self.involuntary.saturating_sub(earlier.involuntary),
        }
    }
}

/// `total` split as `(user, sys)` in the proportion `user_weight : sys_weight`; all of it user
/// time when both are zero (as the kernel does).
fn split(total: u64, user_weight: u64, sys_weight: u64) -> (u64, u64) {
    let weights = u128::from(user_weight) + u128::from(sys_weight);
    let sys = (u128::from(total) * u128::from(sys_weight))
        .checked_div(weights)
        .unwrap_or(0) as u64;
    (total - sys, sys)
}

/// CPU time spent walking `/proc` in [`Usage::now`], so far.
static WALK_NS: AtomicU64 = AtomicU64::new(0);

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

/// Every live process descended from this one (children, their children, …), each once, a
/// parent before its children.
///
/// Read from `/proc/<pid>/task/<tid>/children`, which lists the children each thread started.
pub fn descendants() -> Vec<i32> {
    tree().into_iter().map(|(pid, _)| pid).collect()
}

/// [`descendants`], each with its parent.
///
/// A child is listed under the thread that started it; if that thread exits during the walk
/// its children move to another thread, possibly one not read yet, so duplicates are dropped.
fn tree() -> Vec<(i32, i32)> {
    let mut found = Vec::new();
    let mut seen = HashSet::new();
    let mut frontier = vec![std::process::id() as i32];
    while let Some(pid) = frontier.pop() {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let children =
                std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            for child in children.split_whitespace().filter_map(|c| c.parse().ok()) {
                if seen.insert(child) {
                    found.push((child, pid));
                    frontier.push(child);
                }
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
    /// The CPU time of the children it has reaped (and of theirs), which `RUSAGE_CHILDREN`
    /// counts only once this process is reaped in turn. `/proc` keeps no context switches for
    /// them: those are zero.
    pub reaped: Usage,
    /// Its peak resident set (`VmHWM`), KiB.
    pub peak_rss_kib: u64,
}

impl ProcessStats {
    /// Reads the counters of process `pid`, if it still exists.
    ///
    /// CPU time: the process's `utime + stime` in `stat` is the kernel's total run time of all
    /// its threads, live and exited, scaled to the scheduler's nanosecond count but truncated to
    /// clock ticks (10 ms); the sum of its live threads' `schedstat` is that count exactly, but
    /// without the exited threads. The larger of the two is exact when no thread has exited,
    /// less than two ticks short otherwise, and never more than the truth. (Adding "process
    /// ticks − Σ thread ticks" for the exited threads, as this once did, counts every light
    /// live thread twice: each thread's ticks are truncated on their own.) It is split into
    /// user and system time in the proportion of the process's `utime` and `stime`.
    ///
    /// Context switches are summed over the live threads; Linux keeps those of exited threads
    /// nowhere in `/proc`, so they are missing.
    pub fn read(pid: i32) -> Option<ProcessStats> {
        let times = StatTimes::read(pid)?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let mut live_ns = 0u64;
        let mut usage = Usage::default();
        for task in std::fs::read_dir(format!("/proc/{pid}/task"))
            .ok()?
            .flatten()
        {
            let schedstat =
                std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
            live_ns += schedstat
                .split_whitespace()
                .next()
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0);
            let task_status =
                std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
            usage.voluntary += status_field(&task_status, "voluntary_ctxt_switches").unwrap_or(0);
            usage.involuntary +=
                status_field(&task_status, "nonvoluntary_ctxt_switches").unwrap_or(0);
        }
        let cpu_ns = live_ns.max((times.utime + times.stime) * tick_ns());
        (usage.user_ns, usage.sys_ns) = split(cpu_ns, times.utime, times.stime);
        Some(ProcessStats {
            usage,
            reaped: times.reaped(),
            peak_rss_kib: status_field(&status, "VmHWM").unwrap_or(0),
        })
    }
}

/// The CPU times in a `/proc/<pid>/stat` line, in clock ticks.
#[derive(Clone, Copy, Debug, Default)]
struct StatTimes {
    /// Fields 14 and 15: the process's own user and system time (all its threads).
    utime: u64,
    stime: u64,
    /// Fields 16 and 17: those of the children it has reaped.
    cutime: u64,
    cstime: u64,
}

impl StatTimes {
    fn read(pid: i32) -> Option<StatTimes> {
        StatTimes::parse(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
    }

    fn parse(stat: &str) -> Option<StatTimes> {
        // Counted after the parenthesised command name, which may hold spaces: index 0 is
        // field 3.
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let field = |n: usize| fields.get(n - 3)?.parse().ok();
        Some(StatTimes {
            utime: field(14)?,
            stime: field(15)?,
            cutime: field(16)?,
            cstime: field(17)?,
        })
    }

    /// The reaped children's CPU time.
    fn reaped(&self) -> Usage {
        Usage {
            user_ns: self.cutime * tick_ns(),
            sys_ns: self.cstime * tick_ns(),
            ..Usage::default()
        }
    }
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

mod sampler;
pub use sampler::ThreadSampler;

#[cfg(test)]
mod tests;
