//! `shootout report`: the published summary of a records file – `summary.md` and SVG plots.
//!
//! Read-only and deterministic: the same records always give byte-identical files, so the
//! published tables can be checked against their data at any time (`scripts/publish.sh` in
//! CI). Where a file holds several runs, each cell is taken from the most recent run that
//! measured it, and the summary lists the runs it used.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use shootout_suite::{Family, Form, TaskId};

use crate::fingerprint::machine_slug;
use crate::record::Record;
use crate::registry::{self, BASELINE};
use crate::stats::Interval;
use crate::summary::CellSummary;
use crate::table::{rate, seconds, verdict};

/// The records a report is made from: per cell, the latest run that measured it.
pub fn latest_per_cell(records: &[Record]) -> Vec<Record> {
    let mut latest: BTreeMap<&str, (&str, u64)> = BTreeMap::new();
    for r in records {
        let entry = latest.entry(&r.key).or_insert((&r.run_id, r.finished_at));
        if r.finished_at > entry.1 && r.run_id != entry.0 {
            *entry = (&r.run_id, r.finished_at);
        }
    }
    records
        .iter()
        .filter(|r| {
            latest
                .get(r.key.as_str())
                .is_some_and(|(run, _)| *run == r.run_id)
        })
        .cloned()
        .collect()
}

/// What is wrong with the revisions `records` come from, if anything: several revisions, or a
/// tree with uncommitted changes. A published table should come from one clean revision.
pub fn mixed_revisions(records: &[Record]) -> Option<String> {
    let mut revisions: Vec<&str> = records.iter().map(|r| r.machine.git.as_str()).collect();
    revisions.sort_unstable();
    revisions.dedup();
    let dirty = records.iter().filter(|r| r.machine.is_dirty()).count();
    match (revisions.len(), dirty) {
        (0 | 1, 0) => None,
        (1, _) => Some(format!(
            "All {} records come from revision `{}`, built from a tree with uncommitted changes",
            records.len(),
            revisions[0]
        )),
        (n, _) => Some(format!(
            "The records come from {n} revisions (`{}`){}",
            revisions.join("`, `"),
            if dirty > 0 {
                format!(", {dirty} of them from a tree with uncommitted changes")
            } else {
                String::new()
            }
        )),
    }
}

/// A section of the report: one task with one set of parameters, all worker counts.
pub struct Section<'a> {
    /// The task.
    pub task: TaskId,
    /// `dnc/fib grain=20 n=40`.
    pub heading: String,
    /// Its cells, in table order.
    pub cells: Vec<&'a CellSummary>,
}

/// Groups summaries into sections, in table order.
pub fn sections(cells: &[CellSummary]) -> Vec<Section<'_>> {
    let mut out: Vec<Section<'_>> = Vec::new();
    for cell in cells {
        let heading = cell.task_heading();
        match out.iter_mut().find(|s| s.heading == heading) {
            Some(section) => section.cells.push(cell),
            None => {
                let Some(task) = TaskId::parse(&cell.task) else {
                    continue;
                };
                out.push(Section {
                    task,
                    heading,
                    cells: vec![cell],
                });
            }
        }
    }
    for section in &mut out {
        // A cell measured at another W than the one its task fixes (records from before the
        // task fixed it) ran a different problem: it is not shown beside the others.
        section
            .cells
            .retain(|c| c.fixed_workers().is_none_or(|fixed| fixed == c.workers));
        keep_one_any_w(&mut section.cells);
    }
    out.retain(|s| !s.cells.is_empty());
    out
}

/// Keeps one row of a cell that is the same whatever W is, where older records measured it at
/// several: the one the plan measures today (one worker for a variant that ignores W, the
/// largest for one that fixes its own count).
fn keep_one_any_w(cells: &mut Vec<&CellSummary>) {
    let chosen = |c: &CellSummary, cells: &[&CellSummary]| {
        let counts = cells
            .iter()
            .filter(|o| o.backend == c.backend && o.variant == c.variant)
            .map(|o| o.workers);
        let ignores = registry::variant_of(&c.backend, &c.task, &c.variant)
            .is_some_and(|v| v.workers == shootout_suite::Workers::Ignored);
        if ignores { counts.min() } else { counts.max() }
    };
    let all = cells.clone();
    cells.retain(|c| !c.any_workers() || chosen(c, &all) == Some(c.workers));
}

/// The worker counts of a section's cells that use W, ascending (`[1]` if it has only cells
/// that are the same whatever W is, such as the baseline).
pub fn worker_counts(section: &Section<'_>) -> Vec<usize> {
    let mut workers: Vec<usize> = section
        .cells
        .iter()
        .filter(|c| !c.any_workers())
        .map(|c| c.workers)
        .collect();
    workers.sort_unstable();
    workers.dedup();
    if workers.is_empty() { vec![1] } else { workers }
}

/// The sequential baseline of a section, if it verified.
pub fn baseline<'a>(section: &Section<'a>) -> Option<&'a CellSummary> {
    section
        .cells
        .iter()
        .copied()
        .find(|c| c.backend == BASELINE && c.status.is_verified())
}

/// Writes `summary.md` for `records` (already narrowed with [`latest_per_cell`]), whose
/// summaries are `cells`.
///
/// `source` is the path of the records file as the reader should see it; `to_root` is the
/// relative path from the summary's folder to the workspace root, for source links.
pub fn summary_markdown(
    records: &[Record],
    cells: &[CellSummary],
    source: &str,
    to_root: &str,
) -> String {
    let mut md = String::new();
    let machine = records
        .first()
        .map(|r| r.machine.clone())
        .unwrap_or_default();
    let _ = writeln!(md, "# Results: {}\n", machine_slug(&machine));
    if let Some(warning) = mixed_revisions(records) {
        let _ = writeln!(
            md,
            "> **Not from one clean revision.** {warning}. Rows may compare different code; published with \
             `--allow-mixed`.\n"
        );
    }
    let _ = writeln!(
        md,
        "Generated by `shootout report {source}` from the raw records beside it – never edited by hand. \
         Re-measure with `scripts/run-suite.sh`, regenerate every table and plot with `scripts/publish.sh`.\n"
    );
    let _ = writeln!(md, "| machine | |\n|---|---|");
    let _ = writeln!(
        md,
        "| CPU | {} ({} logical CPUs) |",
        machine.cpu, machine.cores
    );
    let _ = writeln!(md, "| memory | {} MiB |", machine.memory_mib);
    let _ = writeln!(md, "| kernel | {} |", machine.kernel);
    if !machine.io_uring.is_empty() {
        let _ = writeln!(md, "| io_uring | {} |", machine.io_uring);
    }
    // What the backends said about how their cells ran (compio's IO driver), per backend.
    let mut facts: BTreeMap<(&str, &str), BTreeSet<&str>> = BTreeMap::new();
    for r in records {
        for (name, value) in &r.measurement.facts {
            facts.entry((&r.backend, name)).or_default().insert(value);
        }
    }
    for ((backend, name), values) in &facts {
        let values = values.iter().copied().collect::<Vec<_>>().join(", ");
        let _ = writeln!(md, "| {backend}'s {name} | {values} |");
    }
    let _ = writeln!(md, "| compiler | {} |", machine.rustc);
    let _ = writeln!(md, "| runtime crates | {} |", machine.crates);
    let _ = writeln!(md);

    let mut runs: BTreeMap<&str, (&Record, usize)> = BTreeMap::new();
    for r in records {
        runs.entry(&r.run_id).or_insert((r, 0)).1 += 1;
    }
    let _ = writeln!(
        md,
        "Runs used (each cell from the latest run that measured it):\n"
    );
    for (run, (first, count)) in &runs {
        let _ = writeln!(
            md,
            "- `{run}`: {count} records, {}, git `{}`, seed {}: `{}`",
            date(first.finished_at),
            first.machine.git,
            first.seed,
            command_without_path(&first.command)
        );
    }
    let failed = cells.iter().filter(|c| !c.status.is_verified()).count();
    let _ = writeln!(
        md,
        "\n{} cells, {} verified, {} not.\n",
        cells.len(),
        cells.len() - failed,
        failed
    );
    let _ = writeln!(md, "{}", COLUMNS);

    let all = sections(cells);
    let mut gil_written = false;
    for section in &all {
        let family = section.task.family();
        if family != Family::Dnc && !gil_written {
            md.push_str(&gil_experiment(&all));
            gil_written = true;
        }
        let _ = writeln!(md, "## {}\n", section.heading);
        let _ = writeln!(md, "{}.\n", capitalise(section.task.about()));
        // One table per worker count of the parallel cells (the baseline always has one).
        let workers = worker_counts(section);
        let first = section.cells[0];
        let params: String = first
            .params
            .iter()
            .map(|(k, v)| format!(" -p {k}={v}"))
            .collect();
        let workers_list: Vec<String> = workers.iter().map(|w| w.to_string()).collect();
        let _ = writeln!(
            md,
            "Regenerate: `shootout run --profile {} --task {}{params} --workers {}`\n",
            first.profile,
            section.task.name(),
            workers_list.join(",")
        );
        let base = baseline(section);
        for &w in &workers {
            // A cell that is the same whatever W is – the one-thread baseline, the reference
            // row – is repeated in every table, marked `(any W)`.
            let rows = section
                .cells
                .iter()
                .copied()
                .filter(|c| c.workers == w || c.any_workers());
            let _ = writeln!(md, "**{w} worker{}**\n", if w == 1 { "" } else { "s" });
            let _ = writeln!(
                md,
                "| backend / variant | median | 95% interval | setup | speedup (95%) | efficiency | CPU s | CPU use | RSS MiB | workers' RSS MiB | threads | switches | p50 (95%) | tail (95%) | throughput (95%) | verdict |"
            );
            let _ = writeln!(
                md,
                "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|"
            );
            for c in rows {
                let _ = writeln!(md, "{}", row(c, base, section.task, to_root));
            }
            let _ = writeln!(md);
        }
    }
    if !gil_written {
        md.push_str(&gil_experiment(&all));
    }
    md.push_str(&flagged(&all));
    md
}

/// The rows of the GIL table: the two lock-bound variants, then the free models for contrast.
const GIL_ROWS: &[(&str, &str)] = &[
    ("threads", "gil"),
    ("threads", "gil-switch"),
    ("threads", "task-queue"),
    ("threads", "scope"),
    ("processes", "pipe"),
    ("processes", "spawn-per-task"),
    ("rayon", "join"),
];

/// The GIL experiment: `dnc/fib` speedup against workers for the threads that share one lock
/// and for the models that do not, and what it says, in numbers from the table.
fn gil_experiment(all: &[Section<'_>]) -> String {
    let Some(section) = all
        .iter()
        .filter(|s| s.task == TaskId::Fib)
        .filter(|s| s.cells.iter().any(|c| c.variant == "gil"))
        .max_by_key(|s| s.cells.len())
    else {
        return String::new();
    };
    let Some(base) = baseline(section) else {
        return String::new();
    };
    let speedup = |backend: &str, variant: &str, workers: usize| {
        section
            .cells
            .iter()
            .find(|c| {
                c.backend == backend
                    && c.variant == variant
                    && c.workers == workers
                    && c.status.is_verified()
            })
            .map(|c| base.wall_s / c.wall_s)
    };
    let workers = worker_counts(section);

    let mut md = String::new();
    let _ = writeln!(
        md,
        "## The GIL experiment: {}
",
        section.heading
    );
    let _ = writeln!(
        md,
        "Speedup over sequential against workers. `threads/gil` runs every leaf of the recursion while holding one \
         global lock; `threads/gil-switch` keeps the lock across a batch of leaves and after each batch hands it to \
         a waiting thread, if there is one – the forced switch CPython's switch interval makes since 3.2. The \
         other rows share no lock.\n"
    );
    let header: Vec<String> = workers
        .iter()
        .map(|&w| format!("{w} worker{}", if w == 1 { "" } else { "s" }))
        .collect();
    let _ = writeln!(md, "| backend / variant | {} |", header.join(" | "));
    let _ = writeln!(md, "|---|{}", "--:|".repeat(workers.len()));
    for &(backend, variant) in GIL_ROWS {
        let figures: Vec<String> = workers
            .iter()
            .map(|&w| speedup(backend, variant, w).map_or("-".into(), |s| format!("{s:.2}×")))
            .collect();
        if figures.iter().all(|f| f == "-") {
            continue;
        }
        let _ = writeln!(md, "| {backend}/{variant} | {} |", figures.join(" | "));
    }
    let top = workers.last().copied().unwrap_or(1);
    let figure = |backend, variant| {
        speedup(backend, variant, top).map_or("(not measured)".into(), |s| format!("{s:.2}×"))
    };
    let _ = writeln!(
        md,
        "\nWith {top} workers, fib under one lock ran at {} the sequential speed (`gil`) and {} (`gil-switch`); \
         free threads reached {} (`task-queue`), processes {} (`pipe`) and rayon {} (`join`). One lock around \
         all the CPU work caps any number of threads at one core's worth, whatever the switching policy – and \
         every hand-over of the lock costs a wake-up on top. This is CPython's global interpreter lock, modelled \
         in Rust: it serialises the work exactly as the GIL does, without CPython's interpreter overhead. It is \
         why CPU-bound Python reaches for `multiprocessing`: each process has its own interpreter and its own \
         lock, and pays instead for starting workers and moving data to them (the `processes` rows).\n",
        figure("threads", "gil"),
        figure("threads", "gil-switch"),
        figure("threads", "task-queue"),
        figure("processes", "pipe"),
        figure("rayon", "join"),
    );
    md
}

const COLUMNS: &str = "Rows: backend/variant, marked *hybrid* where the variant hands the work to another model and *restructured* where it \
changes the algorithm, designs the contention away or adds a constraint the model lacks – contrasts, not the model's own \
result. Columns: **median** wall time per repetition over every repetition of every cell process, and its **95% interval** \
(a bootstrap over the processes, the independent samples, with repetitions resampled within them; every interval below is made \
the same way); **setup** = building the runtime, pool, worker processes or connections (untimed in the median); **speedup** = the sequential baseline's median / this median, **efficiency** = speedup / workers, shown only where W threads \
or processes did the work; a row marked **(any W)** is the same whatever W is (it ignores W, or fixes its own count) and is \
repeated in every W table; **verdict**: `ok` and the distribution flags, and for sync tasks where the parties ran – \
**same-thread wakes** (the share of wake-ups that ran on the waker's own thread: 0 % is a wake-up across threads) and \
**threads/phase** (distinct threads that ran a barrier's parties per phase; `serial` when about one); \
**CPU s** = user + system time of every thread and worker process per repetition, **CPU use** = CPU s / wall time \
(cores kept busy); **RSS** = peak resident memory of the cell process, **workers' RSS** = the sum over its worker \
processes; **threads** = most threads at once; **switches** = context switches per repetition; **p50** and **tail** = latency \
percentiles, the tail being p99 only with at least 1 000 samples, p90 with at least 100, else the maximum (per round for scatter, per request for crawl, per sampled item for the pipeline, per wake-up for event, per round \
trip for condition); **throughput** = requests, items, entries (lock, semaphore), phases (barrier), rounds (event) or \
round trips (condition) per second. See [METHODOLOGY.md](../../METHODOLOGY.md).\n";

fn row(c: &CellSummary, base: Option<&CellSummary>, task: TaskId, to_root: &str) -> String {
    let ok = c.status.is_verified();
    let dash = || "-".to_string();
    let link = format!(
        "[{}/{}]({to_root}/{}){}{}",
        c.backend,
        c.variant,
        registry::source_file(&c.backend, task),
        match registry::form_of(&c.backend, &c.task, &c.variant) {
            Form::Natural => String::new(),
            form => format!(" *{}*", form.name()),
        },
        if c.any_workers() { " (any W)" } else { "" }
    );
    let speedup = base.filter(|_| ok).and_then(|b| c.speedup_over(b));
    let cells = [
        link,
        if ok { seconds(c.wall_s) } else { dash() },
        if ok {
            range(c.wall_ci, seconds)
        } else {
            dash()
        },
        if ok { seconds(c.setup_s) } else { dash() },
        speedup.map_or_else(dash, |(s, ci)| {
            format!("{s:.2}× ({:.2}–{:.2})", ci.lo, ci.hi)
        }),
        speedup
            .filter(|_| {
                registry::efficiency_applies(
                    &c.backend,
                    &c.task,
                    &c.variant,
                    c.workers,
                    c.fixed_workers(),
                )
            })
            .map_or_else(dash, |(s, _)| {
                format!("{:.0}%", 100.0 * s / c.workers as f64)
            }),
        if ok {
            format!("{:.3}", c.cpu_s)
        } else {
            dash()
        },
        if ok && c.wall_s > 0.0 {
            format!("{:.2}", c.cpu_s / c.wall_s)
        } else {
            dash()
        },
        format!("{:.1}", c.peak_rss_kib as f64 / 1024.0),
        if c.children_peak_rss_kib > 0 {
            format!("{:.1}", c.children_peak_rss_kib as f64 / 1024.0)
        } else {
            dash()
        },
        c.peak_threads.to_string(),
        if ok {
            format!("{:.0}", c.switches)
        } else {
            dash()
        },
        c.latency_figures.filter(|_| ok).map_or_else(dash, |l| {
            format!("{} ({})", seconds(l.p50_s), range(l.p50_ci, seconds))
        }),
        c.latency_figures.filter(|_| ok).map_or_else(dash, |l| {
            format!(
                "{} {} ({})",
                l.tail.label(),
                seconds(l.tail_s),
                range(l.tail_ci, seconds)
            )
        }),
        match (c.throughput, c.throughput_ci) {
            (Some(t), Some(ci)) if ok => format!("{} ({})", rate(t), range(ci, rate)),
            _ => dash(),
        },
        verdict(c),
    ];
    format!("| {} |", cells.join(" | "))
}

/// An interval as `lo–hi`, each end in `unit`.
pub fn range(ci: Interval, unit: impl Fn(f64) -> String) -> String {
    format!("{}–{}", unit(ci.lo), unit(ci.hi))
}

/// The flagged cells of a report, with each process's median: what a reader needs to see that
/// a median hides (two populations, a slow process, a trend).
fn flagged(sections: &[Section<'_>]) -> String {
    let cells: Vec<&CellSummary> = sections
        .iter()
        .flat_map(|s| s.cells.iter().copied())
        .collect();
    let flagged: Vec<&CellSummary> = cells
        .iter()
        .copied()
        .filter(|c| c.status.is_verified() && !c.flags.is_empty())
        .collect();
    let mut md = String::new();
    let _ = writeln!(
        md,
        "## Flagged cells
"
    );
    if flagged.is_empty() {
        let _ = writeln!(
            md,
            "The distribution checks flagged no cell.
"
        );
        return md;
    }
    let _ = writeln!(
        md,
        "{} of {} verified cells carry a flag from the distribution checks ([METHODOLOGY.md](../../METHODOLOGY.md#distribution-checks)): \
         **bimodal** – the processes, or the repetitions, fall into separated clusters; **odd process** – one process's \
         median stands apart from the others'; **drift** – a trend across repetitions or \
         processes; **outliers n/m** – repetitions at least 3× the fastest; **wide** – the 95 % interval is wider than ±10 %; \
         **one process** – no independent repetition; **steal** – the hypervisor took more than 2 % of the machine; **CPU** – more \
         CPU time than the cores could give; **serial** – a barrier's parties ran on about one thread a phase. Each process's median, in the order they ran:\n",
        flagged.len(),
        cells.iter().filter(|c| c.status.is_verified()).count()
    );
    let _ = writeln!(md, "| cell | flags | per-process medians |\n|---|---|---|");
    for c in flagged {
        let flags: Vec<String> = c.flags.iter().map(ToString::to_string).collect();
        let medians: Vec<String> = c.process_medians.iter().map(|&m| seconds(m)).collect();
        let _ = writeln!(
            md,
            "| {} {}/{} W={} | {} | {} |",
            c.task_heading(),
            c.backend,
            c.variant,
            c.workers,
            flags.join(", "),
            medians.join(", ")
        );
    }
    let _ = writeln!(md);
    md
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

/// The command line with the executable's directory removed (it differs between machines).
pub fn command_without_path(command: &str) -> String {
    match command.split_once(' ') {
        Some((exe, rest)) => format!("{} {rest}", exe.rsplit('/').next().unwrap_or(exe)),
        None => command.to_string(),
    }
}

/// A Unix time as `YYYY-MM-DD` (UTC).
pub fn date(unix: u64) -> String {
    // Howard Hinnant's days-to-civil algorithm.
    let z = (unix / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_civil() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(951_782_400), "2000-02-29");
        assert_eq!(date(1_795_848_354), "2026-11-28");
    }

    #[test]
    fn commands_lose_their_path() {
        assert_eq!(
            command_without_path("/a/b/shootout run --x"),
            "shootout run --x"
        );
    }
}
