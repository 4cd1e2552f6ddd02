//! The published plots, as SVG: scaling, latency and memory against concurrency, throughput
//! against work. Every point carries its 95 % interval as an error bar. Deterministic: the same
//! summaries always draw the same bytes.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use shootout_suite::TaskId;

use crate::report::{Section, baseline};
use crate::stats::Interval;
use crate::summary::CellSummary;

/// The canvas a chart draws on.
type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// A plot's size in pixels.
const SIZE: (u32, u32) = (880, 560);

/// One line of a plot: a label, its points, and each point's interval.
struct Series {
    label: String,
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

/// Draws every plot the summaries allow into `dir`; returns the file names written.
pub fn draw_all(sections: &[Section<'_>], dir: &Path) -> std::io::Result<Vec<String>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    let mut save =
        |name: String, draw: &dyn Fn(&Area<'_>) -> Result<(), String>| -> std::io::Result<()> {
            let path = dir.join(&name);
            {
                let root = SVGBackend::new(&path, SIZE).into_drawing_area();
                root.fill(&WHITE).map_err(std::io::Error::other)?;
                draw(&root).map_err(std::io::Error::other)?;
                root.present().map_err(std::io::Error::other)?;
            }
            written.push(name);
            Ok(())
        };

    for task in [TaskId::Mergesort, TaskId::Fib, TaskId::Nqueens] {
        // The section of this task with the most cells: the one swept over workers.
        let Some(section) = sections
            .iter()
            .filter(|s| s.task == task)
            .max_by_key(|s| s.cells.len())
        else {
            continue;
        };
        let series = speedup_series(section);
        if series.iter().all(|s| s.points.len() < 2) {
            continue;
        }
        let max_workers = series
            .iter()
            .flat_map(|s| &s.points)
            .map(|p| p.0)
            .fold(1.0, f64::max);
        let mut series = series;
        series.push(Series {
            label: "ideal".into(),
            points: vec![(1.0, 1.0), (max_workers, max_workers)],
            bars: Vec::new(),
            dashed: true,
        });
        let title = format!(
            "{}: speedup over sequential vs workers (dashed: ideal)",
            section.heading
        );
        save(format!("speedup-{}.svg", task.short()), &|root| {
            line_chart(
                root,
                &title,
                "workers",
                "speedup (×)",
                &series,
                false,
                false,
            )
        })?;
    }

    let scatter: Vec<&Section<'_>> = sections
        .iter()
        .filter(|s| s.task == TaskId::Scatter)
        .collect();
    if scatter.len() >= 2 {
        let latency = fanout_series(&scatter, |c| match c.latency_figures {
            Some(l) => (
                scaled(l.p50_s, l.p50_ci, 1e3),
                scaled(l.tail_s, l.tail_ci, 1e3),
            ),
            None => (None, None),
        });
        save("scatter-latency.svg".into(), &|root| {
            line_chart(
                root,
                "fanout/scatter: round latency vs concurrent connections (solid p50, dashed tail)",
                "connections K (log)",
                "round latency, ms (log)",
                &latency,
                true,
                true,
            )
        })?;
        let rss = fanout_series(&scatter, |c| {
            let mib = (c.peak_rss_kib + c.children_peak_rss_kib) as f64 / 1024.0;
            // The peak over the processes: a maximum, not an estimate with an interval.
            (Some((mib, Interval { lo: mib, hi: mib })), None)
        });
        save("scatter-rss.svg".into(), &|root| {
            line_chart(
                root,
                "fanout/scatter: peak memory vs concurrent connections",
                "connections K (log)",
                "peak RSS incl. workers, MiB (log)",
                &rss,
                true,
                true,
            )
        })?;
    }

    let bounded: Vec<&Section<'_>> = sections
        .iter()
        .filter(|s| s.task == TaskId::Bounded)
        .collect();
    let by_work = pipeline_series(&bounded, "work");
    if by_work.iter().any(|s| s.points.len() >= 2) {
        save("pipeline-throughput-vs-work.svg".into(), &|root| {
            line_chart(
                root,
                "pipeline/bounded: throughput vs work per item",
                "hash rounds per item + 1 (log)",
                "items per second (log)",
                &by_work,
                true,
                true,
            )
        })?;
    }
    let by_shape = pipeline_series(&bounded, "producers*consumers");
    if by_shape.iter().any(|s| s.points.len() >= 2) {
        save("pipeline-throughput-vs-pc.svg".into(), &|root| {
            line_chart(
                root,
                "pipeline/bounded: throughput vs producers × consumers",
                "P × C (log)",
                "items per second (log)",
                &by_shape,
                true,
                true,
            )
        })?;
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
            let title = format!("{}: entries per second vs workers", section.heading);
            save("sync-lock-throughput.svg".into(), &|root| {
                line_chart(
                    root,
                    &title,
                    "workers (log)",
                    "entries per second (log)",
                    &series,
                    true,
                    true,
                )
            })?;
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
            let title = format!(
                "{}: set-to-wake latency vs waiters (solid p50, dashed tail)",
                section.heading
            );
            save("sync-event-latency.svg".into(), &|root| {
                line_chart(
                    root,
                    &title,
                    "waiters W (log)",
                    "latency, µs (log)",
                    &series,
                    true,
                    true,
                )
            })?;
        }
    }
    Ok(written)
}

/// Per backend/variant of `section` (the baseline left out): `metric` against workers.
fn workers_series(
    section: &Section<'_>,
    metric: impl Fn(&CellSummary) -> (Figure, Figure),
) -> Vec<Series> {
    let cells = section
        .cells
        .iter()
        .copied()
        .filter(|c| c.backend != crate::registry::BASELINE);
    series_of(cells, |c| Some(c.workers as f64), metric)
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
    let cells = sections
        .iter()
        .flat_map(|s| s.cells.iter().copied())
        .filter(|c| c.workers == workers);
    series_of(cells, |c| c.params.get("conns").map(|&k| k as f64), metric)
}

/// One line per backend/variant through the verified `cells`, at `x`, of `metric` – a pair of
/// figures, solid and dashed, either absent – sorted by `x`.
fn series_of<'a>(
    cells: impl Iterator<Item = &'a CellSummary>,
    x: impl Fn(&CellSummary) -> Option<f64>,
    metric: impl Fn(&CellSummary) -> (Figure, Figure),
) -> Vec<Series> {
    let mut series: Vec<Series> = Vec::new();
    for c in cells.filter(|c| c.status.is_verified()) {
        let Some(x) = x(c) else {
            continue;
        };
        let (solid, dashed) = metric(c);
        let label = format!("{}/{}", c.backend, c.variant);
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
        if c.workers != workers && c.backend != crate::registry::BASELINE {
            continue;
        }
        let (Some(x), Some(y)) = (x_of(c), c.throughput) else {
            continue;
        };
        let bar = c.throughput_ci.map(|ci| (x, ci.lo, y, ci.hi));
        let label = format!("{}/{}", c.backend, c.variant);
        match series.iter_mut().find(|s| s.label == label) {
            Some(s) => {
                s.points.push((x, y));
                s.bars.extend(bar);
            }
            None => series.push(Series {
                label,
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

fn line_chart(
    root: &DrawingArea<SVGBackend<'_>, Shift>,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    log_x: bool,
    log_y: bool,
) -> Result<(), String> {
    let points = series.iter().flat_map(|s| {
        s.points
            .iter()
            .copied()
            .chain(s.bars.iter().flat_map(|&(x, lo, _, hi)| [(x, lo), (x, hi)]))
    });
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for (x, y) in points {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    if x0 > x1 {
        return Err("nothing to plot".into());
    }
    // Some room around the data; log axes need positive bounds.
    let pad = |lo: f64, hi: f64, log: bool| -> (f64, f64) {
        if log {
            ((lo / 1.5).max(1e-9), hi * 1.5)
        } else {
            (
                (lo - (hi - lo) * 0.05).min(0.0),
                hi + (hi - lo).max(1.0) * 0.08,
            )
        }
    };
    let (x0, x1) = pad(x0, x1, log_x);
    let (y0, y1) = pad(y0, y1, log_y);
    let mut chart = ChartBuilder::on(root);
    chart
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(64);
    macro_rules! draw {
        ($chart:expr) => {{
            let mut chart = $chart.map_err(|e| e.to_string())?;
            chart
                .configure_mesh()
                .x_desc(x_label)
                .y_desc(y_label)
                .x_label_formatter(&|v| short_number(*v))
                .y_label_formatter(&|v| short_number(*v))
                .draw()
                .map_err(|e| e.to_string())?;
            let labels: Vec<&str> = {
                let mut l: Vec<&str> = series.iter().map(|s| s.label.as_str()).collect();
                l.dedup();
                l
            };
            for s in series {
                let index = labels.iter().position(|l| *l == s.label).unwrap_or(0);
                // The reference line (ideal scaling) is black; every measured series gets its own colour.
                let color = if s.label == "ideal" { BLACK.to_rgba() } else { Palette99::pick(index).to_rgba() };
                let style = ShapeStyle::from(&color).stroke_width(2);
                let points = s.points.clone();
                if s.dashed {
                    chart
                        .draw_series(DashedLineSeries::new(points.clone(), 6, 4, style))
                        .map_err(|e| e.to_string())?;
                } else {
                    chart
                        .draw_series(LineSeries::new(points.clone(), style))
                        .map_err(|e| e.to_string())?
                        .label(s.label.clone())
                        .legend(move |(x, y)| {
                            PathElement::new(
                                vec![(x, y), (x + 18, y)],
                                ShapeStyle::from(&color).stroke_width(2),
                            )
                        });
                }
                chart
                    .draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))
                    .map_err(|e| e.to_string())?;
                chart
                    .draw_series(s.bars.iter().map(|&(x, lo, y, hi)| {
                        ErrorBar::new_vertical(x, lo, y, hi, color.stroke_width(1), 6)
                    }))
                    .map_err(|e| e.to_string())?;
            }
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .position(SeriesLabelPosition::UpperLeft)
                .draw()
                .map_err(|e| e.to_string())?;
        }};
    }
    match (log_x, log_y) {
        (false, false) => draw!(chart.build_cartesian_2d(x0..x1, y0..y1)),
        (true, false) => draw!(chart.build_cartesian_2d((x0..x1).log_scale(), y0..y1)),
        (false, true) => draw!(chart.build_cartesian_2d(x0..x1, (y0..y1).log_scale())),
        (true, true) => draw!(chart.build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())),
    }
    Ok(())
}

/// `1500000` → `1.5M`, `0.25` → `0.25`.
fn short_number(v: f64) -> String {
    let a = v.abs();
    if a >= 1e9 {
        format!("{:.3}G", v / 1e9)
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    } else if a >= 1e6 {
        format!("{:.3}M", v / 1e6).replace(".000M", "M")
    } else if a >= 1e3 {
        format!("{:.3}k", v / 1e3).replace(".000k", "k")
    } else if a >= 1.0 || a == 0.0 {
        format!("{v:.2}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    } else {
        format!("{v:.3}")
    }
}
