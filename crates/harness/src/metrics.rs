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
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;

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

/// A thread that samples the process's thread count, to report the peak.
///
/// There is no kernel counter for peak threads, so it is sampled every few milliseconds; a
/// thread that lives shorter than that may be missed. The sampler's own thread is not counted,
/// and its own CPU time and context switches are published so the cell can subtract them.
///
/// Waking every few milliseconds inside a timed repetition would disturb it (a wake-up, a
/// context switch and a `/proc` read each time), so the sampler can be [paused](Self::pause):
/// the cell samples during setup and warm-up repetitions (which run the same code, so reach the
/// same peak) and pauses the sampler during measured repetitions, calling
/// [`sample_now`](Self::sample_now) between them. A paused sampler sleeps until resumed, with
/// no wake-ups at all.
pub struct ThreadSampler {
    control: Arc<Control>,
    peak: Arc<AtomicU64>,
    own: Arc<[AtomicU64; 4]>,
    /// The sampler thread's id (for `/proc/self/task/<tid>`).
    tid: i32,
    handle: Option<thread::JoinHandle<()>>,
}

/// What the sampler is told, and what it says back.
#[derive(Default)]
struct Control {
    state: Mutex<SamplerState>,
    /// Signalled on every change of `state`, in either direction.
    changed: Condvar,
}

#[derive(Default)]
struct SamplerState {
    /// The sampler is to end.
    stop: bool,
    /// The sampler is to sleep until resumed.
    paused: bool,
    /// The sampler has taken its last sample before sleeping.
    parked: bool,
}

impl Control {
    fn lock(&self) -> MutexGuard<'_, SamplerState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// How often the sampler looks.
const SAMPLE_EVERY: Duration = Duration::from_millis(5);

impl ThreadSampler {
    /// Starts sampling.
    pub fn start() -> ThreadSampler {
        let control = Arc::new(Control::default());
        let peak = Arc::new(AtomicU64::new(thread_count()));
        let own: Arc<[AtomicU64; 4]> = Arc::new(Default::default());
        let (tid_tx, tid_rx) = std::sync::mpsc::channel();
        let handle = {
            let (control, peak, own) = (control.clone(), peak.clone(), own.clone());
            thread::Builder::new()
                .name("thread-sampler".into())
                .stack_size(64 * 1024)
                .spawn(move || {
                    let _ = tid_tx.send(nix::unistd::gettid().as_raw());
                    sample(&control, &peak, &own);
                })
                .expect("spawning the thread sampler")
        };
        ThreadSampler {
            control,
            peak,
            own,
            tid: tid_rx.recv().unwrap_or(0),
            handle: Some(handle),
        }
    }

    /// Takes a sample now, from the calling thread (between repetitions, so that a cell
    /// shorter than the sampling period is still counted). It works whether or not the
    /// sampler is paused.
    pub fn sample_now(&self) {
        self.peak
            .fetch_max(thread_count().saturating_sub(1), Ordering::Relaxed);
    }

    /// Stops the periodic sampling until [`resume`](Self::resume): returns once the sampler
    /// has taken a last sample, published its counters and gone to sleep, so that nothing of
    /// it runs until it is resumed (its [`own_usage`](Self::own_usage) stays fixed, and a
    /// repetition measured now owes it nothing).
    pub fn pause(&self) {
        let mut state = self.control.lock();
        state.paused = true;
        self.control.changed.notify_all();
        while !state.parked && !state.stop && self.running() {
            state = self
                .control
                .changed
                .wait_timeout(state, Duration::from_millis(10))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        let parked = state.parked;
        drop(state);
        // Having said it is parked, it still has to release the lock and block on the
        // condition variable; wait for that too (a bounded wait, in case `/proc` says nothing).
        let deadline = std::time::Instant::now() + Duration::from_secs(1);
        while parked && !self.asleep() && std::time::Instant::now() < deadline {
            thread::sleep(Duration::from_micros(50));
        }
    }

    /// Lets a [paused](Self::pause) sampler go on sampling (at once, then periodically).
    pub fn resume(&self) {
        let mut state = self.control.lock();
        state.paused = false;
        state.parked = false;
        drop(state);
        self.control.changed.notify_all();
    }

    /// The most threads seen so far (excluding the sampler).
    pub fn peak(&self) -> u64 {
        self.peak.load(Ordering::Relaxed)
    }

    /// The sampler's own counters, as of its last sample (while paused: as of pausing).
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

    fn running(&self) -> bool {
        self.handle.as_ref().is_some_and(|h| !h.is_finished())
    }

    /// Whether the sampler thread is blocked (or gone), per `/proc/self/task/<tid>/stat`.
    fn asleep(&self) -> bool {
        let stat = std::fs::read_to_string(format!("/proc/self/task/{}/stat", self.tid))
            .unwrap_or_default();
        // Field 3, the state, follows the parenthesised command name.
        !matches!(
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next()),
            Some("R")
        )
    }
}

/// The sampler thread's loop: sample, publish, then wait for the next period, a pause or the
/// end; while paused, sleep until told otherwise.
fn sample(control: &Control, peak: &AtomicU64, own: &[AtomicU64; 4]) {
    loop {
        // Minus one: the sampler itself is not part of the backend.
        peak.fetch_max(thread_count().saturating_sub(1), Ordering::Relaxed);
        let me = Usage::this_thread();
        for (slot, value) in own
            .iter()
            .zip([me.user_ns, me.sys_ns, me.voluntary, me.involuntary])
        {
            slot.store(value, Ordering::Relaxed);
        }
        let mut state = control.lock();
        if state.paused && !state.stop {
            while state.paused && !state.stop {
                // Said again after every wake-up: a `resume` and a `pause` may both have come
                // and gone while it slept.
                state.parked = true;
                control.changed.notify_all();
                state = control
                    .changed
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            state.parked = false;
        } else if !state.stop {
            state = control
                .changed
                .wait_timeout(state, SAMPLE_EVERY)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        if state.stop {
            return;
        }
    }
}

impl Drop for ThreadSampler {
    fn drop(&mut self) {
        self.control.lock().stop = true;
        self.control.changed.notify_all();
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::process::{Child, Command, Stdio};
    use std::time::Instant;

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
        while Usage::this_thread().since(&me).cpu_ns() < 20_000_000 {
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

    #[test]
    fn since_keeps_the_total_when_the_split_shifts() {
        let before = Usage {
            user_ns: 300,
            sys_ns: 100,
            voluntary: 5,
            involuntary: 1,
        };
        let after = |user_ns, sys_ns| Usage {
            user_ns,
            sys_ns,
            voluntary: 7,
            involuntary: 0,
        };
        let split = |u: Usage| (u.user_ns, u.sys_ns);
        // 100 ns more in all, but 50 ns moved from user to system time: clamping each field on
        // its own would report 0 + 150.
        let shifted = after(250, 250).since(&before);
        assert_eq!(split(shifted), (0, 100));
        assert_eq!((shifted.voluntary, shifted.involuntary), (2, 0));
        // The other way round.
        assert_eq!(split(after(450, 50).since(&before)), (100, 0));
        // No shift: each field's own difference.
        assert_eq!(split(after(350, 130).since(&before)), (50, 30));
        // A total that fell (a process gone uncounted) is no time at all, not 150 ns of sys.
        assert_eq!(split(after(100, 250).since(&before)), (0, 0));
        assert_eq!(split(before.since(&before)), (0, 0));
    }

    #[test]
    fn process_stats_count_each_thread_once() {
        // Dozens of light live threads (each well under a tick per wake-up) and a stream of
        // short-lived ones: its CPU time must match the kernel's process total, read around it.
        let load = Load::helper("threads");
        let tick = tick_ns();
        wait_until(Duration::from_secs(30), || {
            load.threads() >= 30 && load.times().utime + load.times().stime >= 10
        });
        for _ in 0..20 {
            let before = load.times();
            let stats = ProcessStats::read(load.pid()).expect("the load is alive");
            let after = load.times();
            let cpu = stats.usage.cpu_ns();
            // The kernel's total lies between the two readings, each short by under 2 ticks.
            let (least, most) = (
                (before.utime + before.stime) * tick,
                (after.utime + after.stime + 2) * tick,
            );
            assert!(
                least <= cpu && cpu < most,
                "{cpu} ns counted, the kernel says {least}..{most} ns ({stats:?})"
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn cpu_of_a_busy_process_tree_is_possible() {
        // Two processes that only burn user time, one that starts and ends threads all the
        // time, and a shell that forks subshells one after the other (reaped by it, so they
        // end up in its `cutime`): the CPU time of the tree cannot exceed what the CPUs this
        // process may run on could give in the wall time.
        let burners = [Load::helper("burn"), Load::helper("burn")];
        let churners = [Load::helper("threads"), Load::forks()];
        wait_until(Duration::from_secs(30), || {
            burners.iter().chain(&churners).all(|l| {
                let t = l.times();
                t.utime + t.stime + t.cutime + t.cstime > 0
            })
        });
        let tick = tick_ns();
        let times = |loads: &[Load]| loads.iter().map(Load::times).collect::<Vec<_>>();

        let started = Instant::now();
        let before = Usage::now();
        let processes = descendants().len() as u64;
        let (burners_before, churners_before) = (times(&burners), times(&churners));
        thread::sleep(Duration::from_secs(1));
        let (burners_after, churners_after) = (times(&burners), times(&churners));
        let after = Usage::now();
        let wall = started.elapsed();
        let used = after.since(&before);

        assert_eq!(
            used.user_ns + used.sys_ns,
            after.cpu_ns().saturating_sub(before.cpu_ns()),
            "{used:?}"
        );
        // Slack: a reading of a process with exited threads or reaped children may be short
        // by under 4 ticks (its `stat` times are truncated), and a running thread's time is
        // up to a scheduler tick (≤ 10 ms) behind.
        let cpus = allowed_cpus();
        let ms = 1_000_000;
        let slack = 4 * tick * processes + 10 * ms * cpus + 20 * ms;
        let most = (cpus as f64 * wall.as_nanos() as f64 * 1.05) as u64 + slack;
        assert!(
            used.cpu_ns() <= most,
            "{used:?}: {} ms of CPU in {} ms on {cpus} CPUs",
            used.cpu_ns() / ms,
            wall.as_millis()
        );
        // At least what the kernel says the burners used, user time at that (each of its
        // readings short by under 2 ticks); and the churners' system time is there.
        let grown = |before: &[StatTimes], after: &[StatTimes], of: fn(&StatTimes) -> u64| {
            before
                .iter()
                .zip(after)
                .map(|(b, a)| of(a).saturating_sub(of(b) + 2) * tick)
                .sum::<u64>()
        };
        let burned = grown(&burners_before, &burners_after, |t| t.utime + t.stime);
        let burned_user = grown(&burners_before, &burners_after, |t| t.utime);
        let churned_sys = grown(&churners_before, &churners_after, |t| t.stime + t.cstime);
        assert!(
            used.cpu_ns() + 20 * ms >= burned,
            "{used:?}, burners {burned} ns"
        );
        assert!(
            used.user_ns + 20 * ms >= burned_user / 2,
            "{used:?}, burners' user time {burned_user} ns"
        );
        assert!(
            used.sys_ns + 20 * ms >= churned_sys / 2,
            "{used:?}, churners' system time {churned_sys} ns"
        );
    }

    #[test]
    fn a_paused_sampler_does_not_wake() {
        let sampler = ThreadSampler::start();
        let switches = || {
            let path = format!("/proc/self/task/{}/status", sampler.tid);
            status_field(
                &std::fs::read_to_string(path).unwrap(),
                "voluntary_ctxt_switches",
            )
            .unwrap()
        };
        // Running, it sleeps and wakes every few milliseconds.
        let running = switches();
        assert!(wait_until(Duration::from_secs(10), || switches() > running + 2));

        sampler.pause();
        let (paused, own) = (switches(), sampler.own_usage());
        thread::sleep(Duration::from_millis(100));
        // Sampling from the calling thread still works.
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let wait = Mutex::new(wait);
        thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| while wait.lock().unwrap().recv().is_ok() {});
            }
            sampler.sample_now();
            drop(release);
        });
        assert!(sampler.peak() >= 8, "peak {}", sampler.peak());
        assert_eq!(switches(), paused, "the paused sampler woke up");
        assert_eq!(sampler.own_usage(), own);

        sampler.resume();
        assert!(wait_until(Duration::from_secs(10), || switches() > paused + 2));
        // A second pause works too, and a paused sampler ends when dropped.
        sampler.pause();
        let paused = switches();
        thread::sleep(Duration::from_millis(20));
        assert_eq!(switches(), paused, "the paused sampler woke up");
        drop(sampler);
    }

    /// Polls `done` until it holds or `limit` has passed; whether it held.
    fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
        let deadline = Instant::now() + limit;
        while !done() {
            if Instant::now() > deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(5));
        }
        true
    }

    /// How many CPUs this process may run on (`Cpus_allowed_list`): the most CPU time it can
    /// get is that many times the wall time, whatever a CPU quota allows on average.
    fn allowed_cpus() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let list = status
            .lines()
            .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
            .unwrap();
        list.trim()
            .split(',')
            .map(|range| match range.split_once('-') {
                Some((a, b)) => b.parse::<u64>().unwrap() - a.parse::<u64>().unwrap() + 1,
                None => 1,
            })
            .sum()
    }

    /// Which load [`helper_process`] runs, in a re-executed test binary.
    const LOAD_ENV: &str = "SHOOTOUT_METRICS_TEST_LOAD";

    /// A child process that loads the machine; killed and reaped when dropped, so a failed
    /// assertion leaves nothing running.
    struct Load(Child);

    impl Load {
        /// This test binary again, running [`helper_process`] with `load`.
        fn helper(load: &str) -> Load {
            let exe = std::env::current_exe().unwrap();
            let child = Command::new(exe)
                .args(["metrics::tests::helper_process", "--exact", "--ignored"])
                .args(["--nocapture", "--test-threads=1"])
                .env(LOAD_ENV, load)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            Load(child)
        }

        /// A shell forking one subshell after another (a bounded number, should it outlive
        /// the test).
        fn forks() -> Load {
            let script = "i=0; while [ $i -lt 100000 ]; do (:); i=$((i+1)); done";
            let child = Command::new("sh")
                .args(["-c", script])
                .stdin(Stdio::null())
                .spawn()
                .unwrap();
            Load(child)
        }

        fn pid(&self) -> i32 {
            self.0.id() as i32
        }

        fn times(&self) -> StatTimes {
            StatTimes::read(self.pid()).unwrap_or_default()
        }

        fn threads(&self) -> usize {
            std::fs::read_dir(format!("/proc/{}/task", self.pid())).map_or(0, |d| d.count())
        }
    }

    impl Drop for Load {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    /// Not a test: the body of a [`Load`] process, run when [`LOAD_ENV`] is set (and
    /// returning at once otherwise). `burn` spins; `threads` keeps 32 threads that each spin
    /// 50 µs every 5 ms, and starts and joins batches of short-lived ones. Either ends after
    /// a minute, or when the thread that started it does.
    #[test]
    #[ignore = "the body of a child process of other tests"]
    fn helper_process() {
        let Some(load) = std::env::var_os(LOAD_ENV) else {
            return;
        };
        let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL);
        let deadline = Instant::now() + Duration::from_secs(60);
        fn spin(d: Duration) {
            let end = Instant::now() + d;
            while Instant::now() < end {
                std::hint::spin_loop();
            }
        }
        if load == "burn" {
            spin(deadline - Instant::now());
        } else if load == "threads" {
            for _ in 0..32 {
                thread::spawn(move || {
                    while Instant::now() < deadline {
                        spin(Duration::from_micros(50));
                        thread::sleep(Duration::from_millis(5));
                    }
                });
            }
            while Instant::now() < deadline {
                let batch: Vec<_> = (0..4)
                    .map(|_| thread::spawn(|| spin(Duration::from_micros(20))))
                    .collect();
                for t in batch {
                    let _ = t.join();
                }
                thread::sleep(Duration::from_millis(1));
            }
        }
        std::process::exit(0);
    }
}
