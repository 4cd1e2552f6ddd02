//! Where a record came from: the machine and the build.

use crate::record::Fingerprint;

/// The fingerprint of this machine and this build of the harness.
pub fn current() -> Fingerprint {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .and_then(|rest| rest.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    Fingerprint {
        cpu,
        cores: available_cores(),
        memory_mib: meminfo_kib(&meminfo, "MemTotal").unwrap_or(0) / 1024,
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
            .to_string(),
        rustc: env!("SHOOTOUT_RUSTC").to_string(),
        crates: env!("SHOOTOUT_CRATES").to_string(),
        git: env!("SHOOTOUT_GIT").to_string(),
        thp: transparent_hugepages(),
        io_uring: io_uring(),
    }
}

/// Whether io_uring may be used, from `kernel.io_uring_disabled` (0, 1 or 2; a kernel without
/// the setting allows it if it has io_uring at all). compio's records say which driver each
/// cell's runtime actually chose.
pub fn io_uring() -> String {
    match std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled")
        .as_deref()
        .map(str::trim)
    {
        Ok("0") => "enabled",
        Ok("1") => "restricted to the io_uring_group",
        Ok("2") => "disabled",
        Ok(_) => "unknown",
        Err(_) => "no io_uring_disabled setting",
    }
    .to_string()
}

/// The transparent huge pages mode (`always`, `madvise` or `never`): it changes the cost of
/// every large allocation, so it belongs with the machine.
pub fn transparent_hugepages() -> String {
    let text =
        std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled").unwrap_or_default();
    // The active mode is the bracketed word: `always [madvise] never`.
    text.split_whitespace()
        .find_map(|w| w.strip_prefix('[')?.strip_suffix(']'))
        .unwrap_or("unknown")
        .to_string()
}

/// The machine-wide CPU time counters of `/proc/stat`, in clock ticks: all of them, and the
/// time stolen by the hypervisor for other guests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuTicks {
    /// Every state's ticks (user, nice, system, idle, iowait, irq, softirq, steal).
    pub total: u64,
    /// Steal: time a virtual CPU wanted to run and the hypervisor ran someone else.
    pub steal: u64,
}

impl CpuTicks {
    /// The counters now (zero where `/proc/stat` cannot be read).
    pub fn now() -> CpuTicks {
        Self::parse(&std::fs::read_to_string("/proc/stat").unwrap_or_default())
    }

    /// Parses the aggregate `cpu` line of `/proc/stat`.
    pub fn parse(stat: &str) -> CpuTicks {
        let fields: Vec<u64> = stat
            .lines()
            .find_map(|l| l.strip_prefix("cpu "))
            .map(|rest| {
                rest.split_whitespace()
                    .filter_map(|f| f.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        // guest and guest_nice (fields 9 and 10) are already counted in user and nice.
        CpuTicks {
            total: fields.iter().take(8).sum(),
            steal: fields.get(7).copied().unwrap_or(0),
        }
    }

    /// The share of the machine's CPU time stolen since `earlier`, in percent.
    pub fn steal_pct_since(&self, earlier: &CpuTicks) -> f64 {
        let total = self.total.saturating_sub(earlier.total);
        if total == 0 {
            0.0
        } else {
            100.0 * self.steal.saturating_sub(earlier.steal) as f64 / total as f64
        }
    }
}

/// The one-minute load average and the number of runnable tasks right now (`/proc/loadavg`).
pub fn load() -> Option<(f64, u64)> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let mut fields = text.split_whitespace();
    let one = fields.next()?.parse().ok()?;
    let running = fields.nth(2)?.split('/').next()?.parse().ok()?;
    Some((one, running))
}

/// How many CPUs this process may run on: the default worker count.
pub fn available_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The most threads (or processes: to Linux both are tasks) one cell could start, and what sets
/// that limit: the least of `kernel.pid_max` (every task takes an id), `kernel.threads-max`,
/// the per-user `RLIMIT_NPROC`, and half of `vm.max_map_count` (a thread's stack and its guard
/// page are two mappings). `None` where none of them can be read.
pub fn task_limit() -> Option<(u64, &'static str)> {
    use nix::sys::resource::{Resource, getrlimit};
    let sysctl = |path: &str| {
        std::fs::read_to_string(path)
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
    };
    [
        (sysctl("/proc/sys/kernel/pid_max"), "kernel.pid_max"),
        (sysctl("/proc/sys/kernel/threads-max"), "kernel.threads-max"),
        (
            getrlimit(Resource::RLIMIT_NPROC).ok().map(|(soft, _)| soft),
            "the per-user process limit (ulimit -u)",
        ),
        (
            sysctl("/proc/sys/vm/max_map_count").map(|n| n / 2),
            "vm.max_map_count / 2",
        ),
    ]
    .into_iter()
    .filter_map(|(limit, what)| Some((limit?, what)))
    .min_by_key(|&(limit, _)| limit)
}

/// Memory the kernel says can be had without swapping, in bytes.
pub fn available_memory_bytes() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    meminfo_kib(&meminfo, "MemAvailable").map(|kib| kib * 1024)
}

fn meminfo_kib(meminfo: &str, field: &str) -> Option<u64> {
    meminfo.lines().find_map(|l| {
        let rest = l.strip_prefix(field)?.strip_prefix(':')?;
        rest.trim().trim_end_matches("kB").trim().parse().ok()
    })
}

/// A stable, file-name-safe name for this machine: CPU model and core count.
pub fn machine_slug(fingerprint: &Fingerprint) -> String {
    let model: String = fingerprint
        .cpu
        .to_lowercase()
        .replace("(r)", " ")
        .replace("(tm)", " ")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let model = model
        .split('-')
        .filter(|w| !w.is_empty() && *w != "processor")
        .collect::<Vec<_>>()
        .join("-");
    format!("{model}-{}c", fingerprint.cores)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_meminfo_fields() {
        let sample = "MemTotal:       24567890 kB\nMemAvailable:   1000 kB\n";
        assert_eq!(meminfo_kib(sample, "MemTotal"), Some(24_567_890));
        assert_eq!(meminfo_kib(sample, "MemAvailable"), Some(1000));
        assert_eq!(meminfo_kib(sample, "Nope"), None);
    }

    #[test]
    fn reads_steal_from_proc_stat() {
        let before = CpuTicks::parse("cpu  100 0 50 800 10 0 0 40 0 0\ncpu0 1 2 3\n");
        assert_eq!(
            before,
            CpuTicks {
                total: 1000,
                steal: 40
            }
        );
        let after = CpuTicks::parse("cpu  200 0 100 1560 20 0 0 120 0 0\n");
        assert!((after.steal_pct_since(&before) - 8.0).abs() < 1e-9);
        assert_eq!(
            CpuTicks::parse("").steal_pct_since(&CpuTicks::default()),
            0.0
        );
        assert!(load().is_some());
    }

    #[test]
    fn slugs_are_file_name_safe() {
        let f = Fingerprint {
            cpu: "AMD EPYC 9R14 96-Core Processor".into(),
            cores: 2,
            ..Default::default()
        };
        assert_eq!(machine_slug(&f), "amd-epyc-9r14-96-core-2c");
        let f = Fingerprint {
            cpu: "Intel(R) Xeon(R) Processor".into(),
            cores: 2,
            ..Default::default()
        };
        assert_eq!(machine_slug(&f), "intel-xeon-2c");
    }
}
