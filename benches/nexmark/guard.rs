//! The smoke run's guard against a silent slowdown of the live engine.
//!
//! A slowdown of the engine's own machinery (not of the query logic) shows as a drop of
//! `live / bare_arranged`: both run the same logic in the same shape, one through the engine
//! and one on bare timely workers, in one invocation, so the ratio cancels most of the
//! machine's load. BENCHMARKS.md records the ratio of every query at the smoke's size (1
//! worker) in a table between two markers; after a smoke run this module prints each query's
//! ratio beside the recorded one and judges the median of `measured / recorded` over all
//! queries. At the smoke's size (100,000 events, runs of a tenth of a second) one query's
//! ratio moved between 0.38 and 3.05 times its value from one idle run to the next, while the
//! median of the 21 moved by 3% (BENCHMARKS.md §7): so single queries are only printed, and
//! the median is judged. Below [`WARN_BELOW`] it is reported as a possible slowdown; below
//! [`FAIL_BELOW`] (the engine's own cost at least 1.7 times what was recorded, as when the live
//! child's CPU doubles) the run fails, naming the queries that fell.

use std::path::Path;

use crate::report::Summary;

/// The markers around the recorded table in BENCHMARKS.md.
const BEGIN: &str = "<!-- smoke-guard -->";
const END: &str = "<!-- /smoke-guard -->";

/// A median of `measured / recorded` below this is reported as a possible slowdown.
pub const WARN_BELOW: f64 = 0.8;

/// A median of `measured / recorded` below this fails the run.
pub const FAIL_BELOW: f64 = 0.6;

/// The recorded `live / bare_arranged` ratio per query.
pub fn recorded(benchmarks: &Path) -> Result<Vec<(String, f64)>, String> {
    let text = std::fs::read_to_string(benchmarks)
        .map_err(|e| format!("cannot read {}: {e}", benchmarks.display()))?;
    let start = text.find(BEGIN).ok_or_else(|| format!("{} has no {BEGIN} table", benchmarks.display()))?;
    let end =
        text[start..].find(END).ok_or_else(|| format!("{} has no {END} marker", benchmarks.display()))?;
    let mut ratios = Vec::new();
    for line in text[start + BEGIN.len()..start + end].lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).filter(|c| !c.is_empty()).collect();
        if let [query, ratio, ..] = cells[..]
            && let Ok(ratio) = ratio.parse::<f64>()
        {
            ratios.push((query.to_string(), ratio));
        }
    }
    if ratios.is_empty() {
        return Err(format!("the {BEGIN} table of {} has no rows", benchmarks.display()));
    }
    Ok(ratios)
}

/// What the guard found.
pub struct Verdict {
    /// The median of `measured / recorded` over the queries measured.
    pub median: f64,
    /// Queries whose own ratio fell below [`FAIL_BELOW`] of the recorded one, with measured
    /// and recorded ratios.
    pub fallen: Vec<(String, f64, f64)>,
}

impl Verdict {
    /// True if the engine is clearly slower than recorded: the run fails.
    pub fn slower(&self) -> bool {
        self.median < FAIL_BELOW
    }

    /// True if the engine may be slower than recorded: reported, not failed.
    pub fn doubtful(&self) -> bool {
        self.median < WARN_BELOW
    }
}

/// Prints every 1-worker query's ratio beside the recorded one and judges them.
pub fn judge(summary: &[Summary], recorded: &[(String, f64)]) -> Option<Verdict> {
    println!("\nsmoke guard: live / bare_arranged, 1 worker, against BENCHMARKS.md §7");
    println!("{:<6} {:>9} {:>9} {:>9}", "query", "measured", "recorded", "ratio");
    let mut relative = Vec::new();
    let mut fallen = Vec::new();
    for row in summary.iter().filter(|row| row.workers == 1) {
        let (Some(measured), Some((_, recorded))) =
            (row.live_over_bare_arranged, recorded.iter().find(|(query, _)| *query == row.query))
        else {
            continue;
        };
        let ratio = measured / recorded;
        println!("{:<6} {:>9.2} {:>9.2} {:>9.2}", row.query, measured, recorded, ratio);
        relative.push(ratio);
        if ratio < FAIL_BELOW {
            fallen.push((row.query.clone(), measured, *recorded));
        }
    }
    let median = median(&mut relative)?;
    println!(
        "median of measured / recorded: {median:.2} (reported below {WARN_BELOW}, fails below {FAIL_BELOW})"
    );
    Some(Verdict { median, fallen })
}

fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 { values[mid] } else { (values[mid - 1] + values[mid]) / 2.0 })
}
