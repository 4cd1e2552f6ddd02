//! The published plots, as SVG: scaling, latency and memory against concurrency, throughput
//! against work. Every point carries its 95 % interval as an error bar. Deterministic: the same
//! summaries always draw the same bytes. Each figure is drawn twice: one line per model (its
//! best natural variant), and every variant in shades of its model's colour (`*-variants.svg`).

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use shootout_suite::TaskId;

use crate::report::{Section, baseline};
use crate::stats::Interval;
use crate::summary::CellSummary;
use draw::line_chart;

mod draw;

/// The canvas a chart draws on.
type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// A plot's size in pixels.
const SIZE: (u32, u32) = (880, 560);

/// One line of a plot: a label, its points, and each point's interval.
#[derive(Clone)]
struct Series {
    label: String,
    /// The backend whose colour the line takes; empty for a reference line (the ideal).
    backend: String,
    /// Whether the variant is its model's own idiom (see [`shootout_suite::Form`]).
    natural: bool,
    points: Vec<(f64, f64)>,
    /// `(x, lo, value, hi)` per point that has an interval.
    bars: Vec<(f64, f64, f64, f64)>,
    dashed: bool,
}

/// A figure with its interval.
type Figure = Option<(f64, Interval)>;

/// The figure of a latency percentile in `unit` seconds.
fn scaled(value_s: f64, ci: Interval, per_s: f64) -> Figure {
    Some((
        value_s * per_s,
        Interval {
            lo: ci.lo * per_s,
            hi: ci.hi * per_s,
        },
    ))
}

/// Which way a plot's figure improves: how each model's line is picked.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Better {
    Higher,
    Lower,
}

/// One published plot, before it is drawn.
struct Chart {
    /// The file name of the models' plot; the variants' plot adds `-variants`.
    name: String,
    title: String,
    x_label: &'static str,
    y_label: &'static str,
    log_x: bool,
    log_y: bool,
    better: Better,
    /// Every variant's series.
    series: Vec<Series>,
}

/// Draws every plot the summaries allow into `dir`; returns the file names written. Each
/// figure comes twice: one line per model – its best natural variant, in the model's colour –
/// and every variant, in shades of its model's colour.
pub fn draw_all(sections: &[Section<'_>], dir: &Path) -> std::io::Result<Vec<String>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for chart in charts(sections) {
        let variants_name = chart.name.replace(".svg", "-variants.svg");
        let models = models_only(&chart.series, chart.better);
        // Without a natural form measured (a subset run, or every natural cell failed), only
        // the variants' plot is drawn.
        let mut plots = vec![(
            variants_name,
            format!("{} – every variant", chart.title),
            &chart.series,
        )];
        if models.iter().any(|s| !s.backend.is_empty()) {
            plots.insert(
                0,
                (
                    chart.name.clone(),
                    format!("{} – each model's best natural form", chart.title),
                    &models,
                ),
            );
        }
        for (name, title, series) in plots {
            let path = dir.join(&name);
            {
                let root = SVGBackend::new(&path, SIZE).into_drawing_area();
                root.fill(&WHITE).map_err(std::io::Error::other)?;
                line_chart(&root, &title, &chart, series).map_err(std::io::Error::other)?;
                root.present().map_err(std::io::Error::other)?;
            }
            written.push(name);
        }
    }
    Ok(written)
}

/// Every chart the summaries allow, with all their variants' series.
fn charts(sections: &[Section<'_>]) -> Vec<Chart> {
    let mut charts = Vec::new();
    for task in [TaskId::Mergesort, TaskId::Fib, TaskId::Nqueens] {
        // The section of this task with the most cells: the one swept over workers.
        let Some(section) = sections
            .iter()
            .filter(|s| s.task == task)
            .max_by_key(|s| s.cells.len())
        else {
            continue;
        };
        let mut series = speedup_series(section);
        if series.iter().all(|s| s.points.len() < 2) {
            continue;
        }
        let max_workers = series
            .iter()
            .flat_map(|s| &s.points)
            .map(|p| p.0)
            .fold(1.0, f64::max);
        series.push(Series {
            label: "ideal".into(),
            backend: String::new(),
            natural: true,
            points: vec![(1.0, 1.0), (max_workers, max_workers)],
            bars: Vec::new(),
            dashed: true,
        });
        charts.push(Chart {
            name: format!("speedup-{}.svg", task.short()),
            title: format!("{}: speedup vs workers (dashed: ideal)", section.heading),
            x_label: "workers",
            y_label: "speedup over sequential (×)",
            log_x: false,
            log_y: false,
            better: Better::Higher,
            series,
        });
    }

    let scatter: Vec<&Section<'_>> = sections
        .iter()
        .filter(|s| s.task == TaskId::Scatter)
        .collect();
    if scatter.len() >= 2 {
        charts.push(Chart {
            name: "scatter-latency.svg".into(),
            title: "fanout/scatter: round latency vs connections (solid p50, dashed tail)".into(),
            x_label: "connections K (log)",
            y_label: "round latency, ms (log)",
            log_x: true,
            log_y: true,
            better: Better::Lower,
            series: fanout_series(&scatter, |c| match c.latency_figures {
                Some(l) => (
                    scaled(l.p50_s, l.p50_ci, 1e3),
                    scaled(l.tail_s, l.tail_ci, 1e3),
                ),
                None => (None, None),
            }),
        });
        charts.push(Chart {
            name: "scatter-rss.svg".into(),
            title: "fanout/scatter: peak memory vs connections".into(),
            x_label: "connections K (log)",
            y_label: "peak RSS incl. workers, MiB (log)",
            log_x: true,
            log_y: true,
            better: Better::Lower,
            series: fanout_series(&scatter, |c| {
                let mib = (c.peak_rss_kib + c.children_peak_rss_kib) as f64 / 1024.0;
                // The peak over the processes: a maximum, not an estimate with an interval.
                (Some((mib, Interval { lo: mib, hi: mib })), None)
            }),
        });
    }

    let bounded: Vec<&Section<'_>> = sections
        .iter()
        .filter(|s| s.task == TaskId::Bounded)
        .collect();
    for (name, axis, title, x_label) in [
        (
            "pipeline-throughput-vs-work.svg",
            "work",
            "pipeline/bounded: throughput vs work per item",
            "hash rounds per item + 1 (log)",
        ),
        (
            "pipeline-throughput-vs-pc.svg",
            "producers*consumers",
            "pipeline/bounded: throughput vs producers × consumers",
            "P × C (log)",
        ),
    ] {
        let series = pipeline_series(&bounded, axis);
        if series.iter().any(|s| s.points.len() >= 2) {
            charts.push(Chart {
                name: name.into(),
                title: title.into(),
                x_label,
                y_label: "items per second (log)",
                log_x: true,
                log_y: true,
                better: Better::Higher,
                series,
            });
        }
    }

    // The sync family against contention: the section of each task swept over most workers.
    let swept = |task: TaskId| {
        sections
            .iter()
            .filter(|s| s.task == task)
            .max_by_key(|s| s.cells.len())
    };
    if let Some(section) = swept(TaskId::Lock) {
        let series = workers_series(section, |c| (c.throughput.zip(c.throughput_ci), None));
        if series.iter().any(|s| s.points.len() >= 2) {
            charts.push(Chart {
                name: "sync-lock-throughput.svg".into(),
                title: format!("{}: entries per second vs workers", section.heading),
                x_label: "workers (log)",
                y_label: "entries per second (log)",
                log_x: true,
                log_y: true,
                better: Better::Higher,
                series,
            });
        }
    }
    if let Some(section) = swept(TaskId::Event) {
        let series = workers_series(section, |c| match c.latency_figures {
            Some(l) => (
                scaled(l.p50_s, l.p50_ci, 1e6),
                scaled(l.tail_s, l.tail_ci, 1e6),
            ),
            None => (None, None),
        });
        if series.iter().any(|s| s.points.len() >= 2) {
            charts.push(Chart {
                name: "sync-event-latency.svg".into(),
                title: format!(
                    "{}: set-to-wake latency vs waiters (solid p50, dashed tail)",
                    section.heading
                ),
                x_label: "waiters W (log)",
                y_label: "latency, µs (log)",
                log_x: true,
                log_y: true,
                better: Better::Lower,
                series,
            });
        }
    }
    charts
}

/// The distinct items, in the order they first appear.
fn distinct<'a>(items: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

/// `backend/variant`, with the form where it is not the model's own idiom.
fn label_of(c: &CellSummary) -> String {
    match crate::registry::form_of(&c.backend, &c.task, &c.variant) {
        shootout_suite::Form::Natural => format!("{}/{}", c.backend, c.variant),
        form => format!("{}/{} ({})", c.backend, c.variant, form.name()),
    }
}

/// Whether `c`'s variant is declared its model's own idiom.
fn is_natural(c: &CellSummary) -> bool {
    crate::registry::form_of(&c.backend, &c.task, &c.variant) == shootout_suite::Form::Natural
}

/// One line per model: of each backend's natural variants, the one with the best figure at the
/// largest x any of them reaches, with its dashed companion, labelled `backend (variant)`.
/// Lines of no backend (the ideal) are kept as they are.
fn models_only(series: &[Series], better: Better) -> Vec<Series> {
    let mut out: Vec<Series> = series
        .iter()
        .filter(|s| s.backend.is_empty())
        .cloned()
        .collect();
    let backends = distinct(
        series
            .iter()
            .map(|s| s.backend.as_str())
            .filter(|b| !b.is_empty()),
    );
    for backend in backends {
        let last = |s: &Series| s.points.last().copied().unwrap_or((f64::MIN, f64::NAN));
        let Some(best) = series
            .iter()
            .filter(|s| s.backend == backend && s.natural && !s.dashed && !s.points.is_empty())
            .max_by(|a, b| {
                let ((xa, ya), (xb, yb)) = (last(a), last(b));
                let by_figure = match better {
                    Better::Higher => ya.total_cmp(&yb),
                    Better::Lower => yb.total_cmp(&ya),
                };
                // The smaller label wins a tie, so the choice never depends on order.
                xa.total_cmp(&xb)
                    .then(by_figure)
                    .then(b.label.cmp(&a.label))
            })
        else {
            continue;
        };
        let variant = best.label.split_once('/').map_or("", |(_, v)| v);
        for s in series.iter().filter(|s| s.label == best.label) {
            out.push(Series {
                label: format!("{backend} ({variant})"),
                ..s.clone()
            });
        }
    }
    out
}

/// Per backend/variant of `section` (the baseline left out): `metric` against workers; a cell
/// that is the same whatever W is draws as a flat line across the counts the others ran at.
fn workers_series(
    section: &Section<'_>,
    metric: impl Fn(&CellSummary) -> (Figure, Figure),
) -> Vec<Series> {
    let counts = crate::report::worker_counts(section);
    let points = section
        .cells
        .iter()
        .copied()
        .filter(|c| c.backend != crate::registry::BASELINE)
        .flat_map(|c| {
            let at: Vec<usize> = if c.any_workers() {
                counts.clone()
            } else {
                vec![c.workers]
            };
            at.into_iter().map(move |w| (w as f64, c))
        });
    series_of(points, metric)
}

fn speedup_series(section: &Section<'_>) -> Vec<Series> {
    let Some(base) = baseline(section) else {
        return Vec::new();
    };
    workers_series(section, |c| (c.speedup_over(base), None))
}

/// Per backend/variant, at the largest worker count: `metric` (a pair: solid, dashed) vs K.
fn fanout_series(
    sections: &[&Section<'_>],
    metric: impl Fn(&CellSummary) -> (Figure, Figure),
) -> Vec<Series> {
    let workers = sections
        .iter()
        .flat_map(|s| &s.cells)
        .map(|c| c.workers)
        .max()
        .unwrap_or(1);
    let points = sections
        .iter()
        .flat_map(|s| s.cells.iter().copied())
        .filter(|c| c.workers == workers || c.any_workers())
        .filter_map(|c| c.params.get("conns").map(|&k| (k as f64, c)));
    series_of(points, metric)
}

/// One line per backend/variant through the verified cells, each at its `x`, of `metric` – a
/// pair of figures, solid and dashed, either absent – sorted by `x`.
fn series_of<'a>(
    points: impl Iterator<Item = (f64, &'a CellSummary)>,
    metric: impl Fn(&CellSummary) -> (Figure, Figure),
) -> Vec<Series> {
    let mut series: Vec<Series> = Vec::new();
    for (x, c) in points.filter(|(_, c)| c.status.is_verified()) {
        let (solid, dashed) = metric(c);
        let label = label_of(c);
        for (figure, is_dashed) in [(solid, false), (dashed, true)] {
            let Some((value, ci)) = figure.filter(|(v, _)| v.is_finite()) else {
                continue;
            };
            let s = match series
                .iter()
                .position(|s| s.label == label && s.dashed == is_dashed)
            {
                Some(i) => &mut series[i],
                None => {
                    series.push(Series {
                        label: label.clone(),
                        backend: c.backend.clone(),
                        natural: is_natural(c),
                        points: Vec::new(),
                        bars: Vec::new(),
                        dashed: is_dashed,
                    });
                    series.last_mut().expect("just pushed")
                }
            };
            s.points.push((x, value));
            if ci.hi > ci.lo {
                s.bars.push((x, ci.lo, value, ci.hi));
            }
        }
    }
    for s in &mut series {
        s.points.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    series
}

/// Throughput per backend/variant at the largest worker count against `axis` (`work`, or
/// `producers*consumers`), holding the other pipeline parameters at their most common values.
fn pipeline_series(sections: &[&Section<'_>], axis: &str) -> Vec<Series> {
    let cells: Vec<&CellSummary> = sections
        .iter()
        .flat_map(|s| s.cells.iter().copied())
        .collect();
    let workers = cells.iter().map(|c| c.workers).max().unwrap_or(1);
    let x_of = |c: &CellSummary| -> Option<f64> {
        if axis == "work" {
            c.params.get("work").map(|w| *w as f64 + 1.0)
        } else {
            Some((c.params.get("producers")? * c.params.get("consumers")?) as f64)
        }
    };
    // The other axis held fixed at its most common value.
    let fixed_of = |c: &CellSummary| -> Option<(u64, u64, u64)> {
        let p = c.params.get("producers")?;
        let q = c.params.get("consumers")?;
        let w = c.params.get("work")?;
        Some(if axis == "work" {
            (*p, *q, 0)
        } else {
            (0, 0, *w)
        })
    };
    let mut counts: std::collections::BTreeMap<(u64, u64, u64), usize> = Default::default();
    for c in &cells {
        if let Some(f) = fixed_of(c) {
            *counts.entry(f).or_default() += 1;
        }
    }
    let Some(fixed) = counts
        .iter()
        .max_by_key(|(k, n)| (**n, std::cmp::Reverse(**k)))
        .map(|(k, _)| *k)
    else {
        return Vec::new();
    };
    let mut series: Vec<Series> = Vec::new();
    for c in cells
        .into_iter()
        .filter(|c| c.status.is_verified() && fixed_of(c) == Some(fixed))
    {
        // At the largest W, or at the W its task fixes (each P × C at its own P + C).
        let at_its_w = c.fixed_workers() == Some(c.workers);
        if c.workers != workers && !at_its_w && !c.any_workers() {
            continue;
        }
        let (Some(x), Some(y)) = (x_of(c), c.throughput) else {
            continue;
        };
        let bar = c.throughput_ci.map(|ci| (x, ci.lo, y, ci.hi));
        let label = label_of(c);
        match series.iter_mut().find(|s| s.label == label) {
            Some(s) => {
                s.points.push((x, y));
                s.bars.extend(bar);
            }
            None => series.push(Series {
                label,
                backend: c.backend.clone(),
                natural: is_natural(c),
                points: vec![(x, y)],
                bars: bar.into_iter().collect(),
                dashed: false,
            }),
        }
    }
    for s in &mut series {
        s.points.sort_by(|a, b| a.0.total_cmp(&b.0));
        s.points.dedup_by(|a, b| a.0 == b.0);
    }
    series
}
