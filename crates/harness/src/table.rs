//! The terminal table at the end of a run: one section per task, one row per cell.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{CellAlignment, ContentArrangement, Table};

use crate::plan::NotApplicable;
use crate::registry::BASELINE;
use crate::stats::Flag;
use crate::summary::CellSummary;

/// Renders the summaries, grouped by task heading in first-seen order, with `n/a` rows last.
pub fn render(cells: &[CellSummary], not_applicable: &[NotApplicable]) -> String {
    let mut headings: Vec<String> = Vec::new();
    for cell in cells {
        let heading = cell.task_heading();
        if !headings.contains(&heading) {
            headings.push(heading);
        }
    }
    let mut out = String::new();
    for heading in headings {
        let rows: Vec<&CellSummary> = cells
            .iter()
            .filter(|c| c.task_heading() == heading)
            .collect();
        let baseline = rows
            .iter()
            .copied()
            .find(|c| c.backend == BASELINE && c.status.is_verified());
        let mut table = Table::new();
        table
            .load_preset(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Disabled);
        table.set_header([
            "backend/variant",
            "workers",
            "procs x reps",
            "setup",
            "median",
            "± (95%)",
            "speedup (95%)",
            "CPU s",
            "RSS MiB",
            "threads",
            "switches",
            "p50 / tail",
            "throughput",
            "verdict",
        ]);
        for c in rows {
            let ok = c.status.is_verified();
            let dash = || "-".to_string();
            table.add_row([
                format!("{}/{}", c.backend, c.variant),
                c.workers.to_string(),
                format!("{} x {}", c.processes, c.reps / c.processes.max(1)),
                seconds(c.setup_s),
                if ok { seconds(c.wall_s) } else { dash() },
                if ok {
                    format!("{:.1}%", c.relative_half_width() * 100.0)
                } else {
                    dash()
                },
                match baseline.filter(|_| ok).and_then(|b| c.speedup_over(b)) {
                    Some((s, ci)) => format!("{s:.2}x ({:.2}-{:.2})", ci.lo, ci.hi),
                    None => dash(),
                },
                if ok {
                    format!("{:.3}", c.cpu_s)
                } else {
                    dash()
                },
                format!("{:.1}", c.peak_rss_kib as f64 / 1024.0),
                c.peak_threads.to_string(),
                if ok {
                    format!("{:.0}", c.switches)
                } else {
                    dash()
                },
                c.latency_figures.filter(|_| ok).map_or_else(dash, |l| {
                    format!(
                        "{} / {} {}",
                        seconds(l.p50_s),
                        l.tail.label(),
                        seconds(l.tail_s)
                    )
                }),
                c.throughput.filter(|_| ok).map_or_else(dash, rate),
                verdict(c),
            ]);
        }
        for i in 1..=12 {
            if let Some(column) = table.column_mut(i) {
                column.set_cell_alignment(CellAlignment::Right);
            }
        }
        out.push_str(&format!("\n{heading}\n{table}\n"));
    }
    if !not_applicable.is_empty() {
        out.push_str("\nnot applicable:\n");
        for na in not_applicable {
            out.push_str(&format!("  {} on {}: {}\n", na.task, na.backend, na.reason));
        }
    }
    out
}

/// The verdict column: `ok`, `ok` with what the distribution checks flagged, or what went
/// wrong.
pub fn verdict(c: &CellSummary) -> String {
    if !c.status.is_verified() {
        let status = serde_json::to_value(c.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        return match &c.error {
            Some(e) => format!("{status}: {}", truncate(e, 60)),
            None => status,
        };
    }
    let mut notes: Vec<String> = c.flags.iter().map(ToString::to_string).collect();
    // Where the parties ran: what the number measures, so it is shown whether or not flagged.
    if let Some(p) = c.placement {
        if let Some(share) = p.same_thread_share() {
            notes.push(format!("same-thread wakes {:.0}%", 100.0 * share));
        }
        let serial = c.flags.iter().any(|f| matches!(f, Flag::Serial(_)));
        if let Some(threads) = p.threads_per_phase().filter(|_| !serial) {
            notes.push(format!("{threads:.2} threads/phase"));
        }
    }
    notes.extend(
        c.facts
            .iter()
            .map(|(name, value)| format!("{name} {value}")),
    );
    if notes.is_empty() {
        "ok".into()
    } else {
        format!("ok; {}", notes.join(", "))
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(max).collect::<String>())
    }
}

/// Seconds with a unit that keeps three significant digits.
pub fn seconds(s: f64) -> String {
    if s >= 1.0 {
        format!("{s:.2} s")
    } else if s >= 1e-3 {
        format!("{:.1} ms", s * 1e3)
    } else {
        format!("{:.1} µs", s * 1e6)
    }
}

/// Units per second, scaled.
pub fn rate(per_s: f64) -> String {
    if per_s >= 1e6 {
        format!("{:.2} M/s", per_s / 1e6)
    } else if per_s >= 1e3 {
        format!("{:.1} k/s", per_s / 1e3)
    } else {
        format!("{per_s:.0}/s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_scale() {
        assert_eq!(seconds(2.5), "2.50 s");
        assert_eq!(seconds(0.0123), "12.3 ms");
        assert_eq!(seconds(0.000_004_5), "4.5 µs");
        assert_eq!(rate(17_500_000.0), "17.50 M/s");
        assert_eq!(rate(999.0), "999/s");
    }
}
