//! The chart: throughput per query as grouped bars (ivm live, bare differential, bare
//! differential in the engine's shape, recompute after every transaction), on a log scale since recomputation is orders of magnitude slower.
//! Hand-written SVG, no dependencies.

use std::fmt::Write;

use crate::args::Options;
use crate::report::Summary;

/// How to read one system's throughput from a summary row.
type Reading = fn(&Summary) -> Option<f64>;

/// The systems charted, their colours and how to read each from a summary row.
const SERIES: [(&str, &str, Reading); 4] = [
    ("ivm live", "#1f77b4", |s| s.live),
    ("bare differential", "#ff7f0e", |s| s.bare),
    ("bare, engine's shape", "#2ca02c", |s| s.bare_arranged),
    ("recompute", "#7f7f7f", |s| s.recompute),
];

const BAR: f64 = 12.0;
const GAP: f64 = 14.0;
const LEFT: f64 = 70.0;
const TOP: f64 = 50.0;
const PLOT_HEIGHT: f64 = 300.0;
const BOTTOM: f64 = 60.0;

/// The chart of `summary` as an SVG document.
pub fn svg(summary: &[Summary], options: &Options) -> String {
    let values: Vec<f64> = summary
        .iter()
        .flat_map(|s| SERIES.iter().filter_map(|(_, _, get)| get(s)))
        .filter(|v| *v > 0.0)
        .collect();
    let low = values.iter().copied().fold(f64::INFINITY, f64::min).log10().floor().min(3.0);
    let high = values.iter().copied().fold(0.0, f64::max).log10().ceil().max(low + 1.0);
    let group = BAR * SERIES.len() as f64 + GAP;
    let width = LEFT + group * summary.len() as f64 + 20.0;
    let height = TOP + PLOT_HEIGHT + BOTTOM;
    let y = |v: f64| TOP + PLOT_HEIGHT * (1.0 - (v.log10() - low) / (high - low));
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        out,
        r#"<text x="{LEFT}" y="18" font-size="14">Nexmark throughput, events/s per worker (log scale): {} events, {}-event transactions</text>"#,
        options.events, options.batch
    );
    legend(&mut out);
    axis(&mut out, low, high, width, &y);
    for (i, row) in summary.iter().enumerate() {
        let x0 = LEFT + GAP / 2.0 + group * i as f64;
        for (j, (name, colour, get)) in SERIES.iter().enumerate() {
            let Some(value) = get(row).filter(|v| *v > 0.0) else { continue };
            let top = y(value);
            let _ = writeln!(
                out,
                r#"<rect x="{:.1}" y="{top:.1}" width="{BAR}" height="{:.1}" fill="{colour}"><title>{} w{} {name}: {value:.0} events/s</title></rect>"#,
                x0 + BAR * j as f64,
                TOP + PLOT_HEIGHT - top,
                row.query,
                row.workers
            );
        }
        let label_x = x0 + BAR * SERIES.len() as f64 / 2.0;
        let label_y = TOP + PLOT_HEIGHT + 14.0;
        let _ = writeln!(
            out,
            r#"<text x="{label_x:.1}" y="{label_y:.1}" text-anchor="middle">{}</text>"#,
            row.query
        );
        if options.workers.len() > 1 {
            let _ = writeln!(
                out,
                r##"<text x="{label_x:.1}" y="{:.1}" text-anchor="middle" fill="#555">w{}</text>"##,
                label_y + 13.0,
                row.workers
            );
        }
    }
    out.push_str("</svg>\n");
    out
}

/// The legend, top right of the title.
fn legend(out: &mut String) {
    for (i, (name, colour, _)) in SERIES.iter().enumerate() {
        let x = LEFT + 150.0 * i as f64;
        let _ = writeln!(out, r#"<rect x="{x}" y="28" width="10" height="10" fill="{colour}"/>"#);
        let _ = writeln!(out, r#"<text x="{}" y="37">{name}</text>"#, x + 14.0);
    }
}

/// The y axis with a line and label at every power of ten.
fn axis(out: &mut String, low: f64, high: f64, width: f64, y: &dyn Fn(f64) -> f64) {
    for exponent in low as i32..=high as i32 {
        let at = y(10f64.powi(exponent));
        let label = match exponent {
            e if e >= 6 => format!("{}M", 10u64.pow(e as u32 - 6)),
            e if e >= 3 => format!("{}K", 10u64.pow(e as u32 - 3)),
            e => format!("{}", 10f64.powi(e)),
        };
        let _ = writeln!(
            out,
            r##"<line x1="{LEFT}" x2="{:.0}" y1="{at:.1}" y2="{at:.1}" stroke="#ddd"/><text x="{:.0}" y="{:.1}" text-anchor="end">{label}</text>"##,
            width - 10.0,
            LEFT - 6.0,
            at + 4.0
        );
    }
}
