//! Drawing one chart: axes, a line per series in its backend's colour, error bars, a legend.

use plotters::prelude::*;

use super::{Area, Chart, Series, distinct};

/// Draws `series` on `root` with `chart`'s axes: each backend in its colour, its variants in
/// lighter shades of it, every point with its error bar.
pub(super) fn line_chart(
    root: &Area<'_>,
    title: &str,
    chart: &Chart,
    series: &[Series],
) -> Result<(), String> {
    let Chart {
        x_label,
        y_label,
        log_x,
        log_y,
        ..
    } = *chart;
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
            for s in series {
                let color = colour(s, series);
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

/// One colour per backend, in registry order (the Tableau 10 palette, grey for the baseline).
const COLOURS: [RGBColor; 7] = [
    RGBColor(110, 110, 110),
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// `s`'s colour among `all`: black for a reference line; else its backend's colour, lighter
/// for each variant of that backend drawn before it (a fifth is still told from a fourth).
fn colour(s: &Series, all: &[Series]) -> RGBAColor {
    if s.backend.is_empty() {
        return BLACK.to_rgba();
    }
    let backend = crate::registry::backends()
        .iter()
        .position(|b| b.name == s.backend)
        .unwrap_or(0);
    let labels = distinct(
        all.iter()
            .filter(|o| o.backend == s.backend)
            .map(|o| o.label.as_str()),
    );
    let shade = labels.iter().position(|l| *l == s.label).unwrap_or(0);
    // Lighter with each variant, as an opaque colour: overlapping lines do not darken.
    let RGBColor(r, g, b) = COLOURS[backend % COLOURS.len()];
    let towards_white = 1.0 - 0.8f64.powi(shade as i32 * 2);
    let lighten = |c: u8| (f64::from(c) + (255.0 - f64::from(c)) * towards_white).round() as u8;
    RGBColor(lighten(r), lighten(g), lighten(b)).to_rgba()
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
