//! The equalities the harness asserts: for each query, every reading of its result (the live
//! view at the end, the summed subscription, the batch run, the bare program, the recompute,
//! DuckDB; each worker count) has the same fingerprint. A disagreement names the readings and,
//! when the results were small enough to be dumped, shows the first rows that differ.

use std::path::{Path, PathBuf};

use crate::answer::Answer;
use crate::outcome::Outcome;

/// Rows of a disagreement shown.
const SHOWN_ROWS: usize = 8;

/// One reading of a query's result.
struct Reading {
    label: String,
    answer: Answer,
    dump: Option<PathBuf>,
}

/// The dump file of one run.
pub fn dump_path(dir: &Path, query: &str, mode: &str, workers: usize) -> PathBuf {
    dir.join(format!("{query}-{mode}-w{workers}.txt"))
}

/// Checks that every reading in `outcomes` (all of one query) agrees; the error explains how
/// they do not.
pub fn agree(outcomes: &[Outcome], dumps: &Path) -> Result<(), String> {
    let readings = readings(outcomes, dumps);
    let Some(reference) = readings.first() else { return Ok(()) };
    let differing: Vec<&Reading> = readings.iter().filter(|r| r.answer != reference.answer).collect();
    if differing.is_empty() {
        return Ok(());
    }
    let mut message = String::from("results differ:\n");
    for reading in &readings {
        let Answer { count, digest } = reading.answer;
        message += &format!(
            "    {:<32} rows (with multiplicity) {count:>10}  digest {digest:016x}\n",
            reading.label
        );
    }
    for other in differing {
        message += &row_diff(reference, other);
    }
    Err(message)
}

/// Every reading of the outcomes, labelled `mode/wN` (and the in-process extra readings).
fn readings(outcomes: &[Outcome], dumps: &Path) -> Vec<Reading> {
    let mut readings = Vec::new();
    for outcome in outcomes {
        let label = format!("{}/w{}", outcome.mode, outcome.workers);
        let dump = outcome.dumped.then(|| dump_path(dumps, &outcome.query, &outcome.mode, outcome.workers));
        let main = if outcome.mode == "live" || outcome.mode == "streamed" {
            format!("{label} view at the end")
        } else {
            label.clone()
        };
        readings.push(Reading { label: main, answer: outcome.answer, dump });
        for (what, answer) in &outcome.also {
            readings.push(Reading { label: format!("{label} {what}"), answer: *answer, dump: None });
        }
    }
    readings
}

/// The first rows where two dumped results differ, or a note that they were not dumped.
fn row_diff(reference: &Reading, other: &Reading) -> String {
    let (Some(a), Some(b)) = (&reference.dump, &other.dump) else {
        return format!(
            "  {} vs {}: rows not dumped (too many); rerun with fewer --events to see them\n",
            reference.label, other.label
        );
    };
    let (Ok(a_text), Ok(b_text)) = (std::fs::read_to_string(a), std::fs::read_to_string(b)) else {
        return format!("  cannot read {} or {}\n", a.display(), b.display());
    };
    let mut out = format!("  first differences, {} (-) vs {} (+):\n", reference.label, other.label);
    let sorted = |text: &str| {
        let mut lines: Vec<String> = text.lines().map(String::from).collect();
        lines.sort();
        lines
    };
    let (left, right) = (sorted(&a_text), sorted(&b_text));
    let (mut i, mut j, mut shown) = (0, 0, 0);
    while shown < SHOWN_ROWS && (i < left.len() || j < right.len()) {
        match (left.get(i), right.get(j)) {
            (Some(l), Some(r)) if l == r => {
                i += 1;
                j += 1;
                continue;
            }
            (Some(l), Some(r)) if l < r => {
                out += &format!("    - {l}\n");
                i += 1;
            }
            (Some(l), None) => {
                out += &format!("    - {l}\n");
                i += 1;
            }
            (_, r) => {
                out += &format!("    + {}\n", r.map_or("", String::as_str));
                j += 1;
            }
        }
        shown += 1;
    }
    out
}
