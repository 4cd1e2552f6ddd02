//! Tests of the CPU accounting and the thread sampler against real processes and threads.

use super::*;

use std::sync::Mutex;
use std::thread;
use std::time::Duration;

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
