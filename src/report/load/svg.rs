//! Line plots as inline SVG for the HTML load report: axes with round tick values, lines (solid
//! or dashed), shaded spans, and the legend in its own column right of the plot area, so it
//! never hides a curve.

use std::fmt::Write as _;

/// Width of the whole figure, the plot area, and the legend column right of it.
pub const WIDTH: f64 = 900.0;
pub const HEIGHT: f64 = 300.0;
const LEFT: f64 = 64.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 44.0;
const LEGEND: f64 = 230.0;

pub const COLOURS: [&str; 8] = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];
/// The colour of the series folded into "other".
pub const OTHER: &str = "#7f7f7f";

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// One curve.
pub struct Line {
    pub label: String,
    pub colour: &'static str,
    pub dashed: bool,
    pub points: Vec<(f64, f64)>,
}

/// A shaded span of x values, with a tooltip.
pub struct Span {
    pub from: f64,
    pub to: f64,
    pub title: String,
}

/// How the x axis is labelled.
pub enum XAxis {
    /// Round values between the bounds, with this unit suffix (e.g. "s").
    Linear { min: f64, max: f64, unit: &'static str },
    /// Fixed positions and labels, between the bounds.
    Fixed { min: f64, max: f64, ticks: Vec<(f64, String)> },
}

pub struct Plot {
    pub aria: String,
    pub x: XAxis,
    pub x_label: String,
    pub y_label: String,
    pub lines: Vec<Line>,
    pub shaded: Vec<Span>,
    /// Legend lines after the curves' (e.g. what the shading means).
    pub notes: Vec<(String, &'static str)>,
}

/// Round tick values from 0 (or `lo`) to at least `hi`: steps of 1, 2 or 5 times a power of ten,
/// about `target` of them. The last tick is the axis's end.
pub fn nice_ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    let hi = if hi > lo { hi } else { lo + 1.0 };
    let span = hi - lo;
    let rough = span / target.max(1) as f64;
    let power = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * power).find(|s| *s >= rough).unwrap_or(10.0 * power);
    let first = (lo / step).floor();
    // Rounded to the step's decimals, so 3 x 0.2 is 0.6 and not 0.6000000000000001.
    let scale = 10f64.powi((-step.log10().floor()).max(0.0) as i32);
    let mut ticks = Vec::new();
    let mut k = 0.0;
    loop {
        let v = (((first + k) * step) * scale).round() / scale;
        ticks.push(v);
        if v >= hi || ticks.len() > 4 * target + 2 {
            break;
        }
        k += 1.0;
    }
    ticks
}

/// A tick value without noise: no trailing zeros, thousands as `k`.
pub fn tick_label(v: f64) -> String {
    let a = v.abs();
    if a >= 10_000.0 && (v / 1000.0).fract() == 0.0 {
        return format!("{}k", v / 1000.0);
    }
    let s = if a >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    };
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_owned() } else { s }
}

impl Plot {
    pub fn render(&self) -> String {
        let (pw, ph) = (WIDTH - LEFT - LEGEND, HEIGHT - TOP - BOTTOM);
        let ymax = self.lines.iter().flat_map(|l| l.points.iter().map(|p| p.1)).fold(0.0, f64::max);
        let yticks = nice_ticks(0.0, if ymax > 0.0 { ymax } else { 1.0 }, 5);
        let ytop = *yticks.last().unwrap_or(&1.0);
        let (xmin, xmax, xticks) = match &self.x {
            XAxis::Linear { min, max, unit } => {
                let ticks = nice_ticks(*min, *max, 8);
                let end = ticks.last().copied().unwrap_or(*max).max(*max);
                (*min, end, ticks.into_iter().map(|t| (t, format!("{}{unit}", tick_label(t)))).collect::<Vec<_>>())
            }
            XAxis::Fixed { min, max, ticks } => (*min, *max, ticks.clone()),
        };
        let xspan = if xmax > xmin { xmax - xmin } else { 1.0 };
        let sx = |x: f64| LEFT + (x - xmin) / xspan * pw;
        let sy = |y: f64| TOP + ph - y / ytop * ph;
        let mut svg = String::new();
        let _ = write!(
            svg,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{}" font-family="sans-serif" font-size="12">"#,
            esc(&self.aria)
        );
        for span in &self.shaded {
            let (a, b) = (sx(span.from.max(xmin)), sx(span.to.min(xmax)));
            let _ = write!(
                svg,
                r##"<rect x="{a:.1}" y="{TOP}" width="{:.1}" height="{ph:.1}" fill="#ff7f0e" fill-opacity="0.18"><title>{}</title></rect>"##,
                (b - a).max(1.0),
                esc(&span.title)
            );
        }
        for &t in &yticks {
            let y = sy(t);
            let _ = write!(
                svg,
                r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#e4e4e4"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
                LEFT + pw,
                LEFT - 6.0,
                y + 4.0,
                tick_label(t)
            );
        }
        for (x, label) in xticks.iter().filter(|(x, _)| *x >= xmin && *x <= xmax) {
            let x = sx(*x);
            let _ = write!(
                svg,
                r##"<line x1="{x:.1}" y1="{b:.1}" x2="{x:.1}" y2="{:.1}" stroke="#333"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
                TOP + ph + 4.0,
                TOP + ph + 17.0,
                esc(label),
                b = TOP + ph
            );
        }
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" y1="{b:.1}" x2="{r:.1}" y2="{b:.1}" stroke="#333"/><line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{b:.1}" stroke="#333"/>"##,
            b = TOP + ph,
            r = LEFT + pw
        );
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text><text x="14" y="{:.1}" text-anchor="middle" transform="rotate(-90 14 {:.1})">{}</text>"#,
            LEFT + pw / 2.0,
            HEIGHT - 8.0,
            esc(&self.x_label),
            TOP + ph / 2.0,
            TOP + ph / 2.0,
            esc(&self.y_label)
        );
        for line in &self.lines {
            let points: Vec<String> =
                line.points.iter().map(|&(x, y)| format!("{:.1},{:.1}", sx(x), sy(y.min(ytop)))).collect();
            let dash = if line.dashed { r#" stroke-dasharray="6 4""# } else { "" };
            if points.len() == 1 {
                let _ = write!(
                    svg,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="2.5" fill="{}"/>"#,
                    sx(line.points[0].0),
                    sy(line.points[0].1.min(ytop)),
                    line.colour
                );
            }
            let _ = write!(
                svg,
                r#"<polyline fill="none" stroke="{}" stroke-width="2"{dash} points="{}"><title>{}</title></polyline>"#,
                line.colour,
                points.join(" "),
                esc(&line.label)
            );
        }
        // The legend, in its own column.
        let lx = LEFT + pw + 16.0;
        let mut ly = TOP + 8.0;
        // A curve without a label (e.g. the uncorrected twin of a series) has no legend entry.
        for line in self.lines.iter().filter(|l| !l.label.is_empty()) {
            let dash = if line.dashed { r#" stroke-dasharray="6 4""# } else { "" };
            let _ = write!(
                svg,
                r#"<line x1="{lx:.1}" y1="{ly:.1}" x2="{:.1}" y2="{ly:.1}" stroke="{}" stroke-width="2"{dash}/><text x="{:.1}" y="{:.1}">{}</text>"#,
                lx + 24.0,
                line.colour,
                lx + 30.0,
                ly + 4.0,
                esc(&line.label)
            );
            ly += 17.0;
        }
        for (note, colour) in &self.notes {
            let _ = write!(svg, r#"<text x="{lx:.1}" y="{:.1}" fill="{colour}">{}</text>"#, ly + 4.0, esc(note));
            ly += 17.0;
        }
        svg.push_str("</svg>");
        svg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(nice_ticks(0.0, 1.39, 5), [0.0, 0.5, 1.0, 1.5]);
        assert_eq!(nice_ticks(0.0, 0.93, 5), [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
        assert_eq!(nice_ticks(0.0, 7.0, 5), [0.0, 2.0, 4.0, 6.0, 8.0]);
        assert_eq!(nice_ticks(0.0, 1000.0, 5), [0.0, 200.0, 400.0, 600.0, 800.0, 1000.0]);
        assert_eq!(nice_ticks(0.0, 0.0, 5), [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
        assert_eq!(nice_ticks(0.0, 37.0, 8), [0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 35.0, 40.0]);
    }

    #[test]
    fn tick_labels_have_no_noise() {
        let labels: Vec<String> = nice_ticks(0.0, 0.93, 5).into_iter().map(tick_label).collect();
        assert_eq!(labels, ["0", "0.2", "0.4", "0.6", "0.8", "1"]);
        assert_eq!(tick_label(20_000.0), "20k");
        assert_eq!(tick_label(250.0), "250");
        assert_eq!(tick_label(0.05), "0.05");
    }

    #[test]
    fn the_legend_sits_right_of_the_plot_area() {
        let plot = Plot {
            aria: "t".into(),
            x: XAxis::Linear { min: 0.0, max: 10.0, unit: "s" },
            x_label: "time".into(),
            y_label: "ms".into(),
            lines: vec![Line {
                label: "a<b".into(),
                colour: COLOURS[0],
                dashed: true,
                points: vec![(0.0, 1.0), (10.0, 3.0)],
            }],
            shaded: vec![],
            notes: vec![],
        };
        let svg = plot.render();
        assert!(svg.contains("a&lt;b") && svg.contains("stroke-dasharray"));
        let legend_x = WIDTH - LEGEND + 16.0;
        assert!(svg.contains(&format!(r#"<text x="{:.1}""#, legend_x + 30.0)), "{svg}");
    }
}
