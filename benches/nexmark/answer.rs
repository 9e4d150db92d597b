//! A query's result as a fingerprint the systems can compare across processes.
//!
//! A result is a multiset of rows. Its fingerprint is linear in the multiplicities:
//! `digest = Σ diff · hash(row)` and `count = Σ diff` (wrapping), so it can be summed over
//! updates as they stream by, in any order, without keeping the rows: the summed subscription
//! of a live view and the view read at the end have the same fingerprint exactly when (up to a
//! 64-bit hash collision) they are the same multiset. The hash is SipHash with fixed keys, so
//! every process of this binary agrees.
//!
//! Small results are also written out sorted, one row per line, so a disagreement can be
//! shown row by row.

use std::fmt::Debug;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::path::Path;

use ivm::Diff;
use serde::{Deserialize, Serialize};

/// Results with at most this many distinct rows are dumped for row-by-row comparison.
pub const DUMP_ROWS: usize = 200_000;

/// The fingerprint of a multiset of rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// `Σ diff · hash(row)`.
    pub digest: u64,
    /// `Σ diff`: the number of rows, with multiplicity.
    pub count: i64,
}

impl Answer {
    /// Adds `diff` copies of `row`.
    pub fn add<R: Hash>(&mut self, row: &R, diff: Diff) {
        let mut hasher = DefaultHasher::new();
        row.hash(&mut hasher);
        self.digest = self.digest.wrapping_add(hasher.finish().wrapping_mul(diff as u64));
        self.count = self.count.wrapping_add(diff as i64);
    }

    /// The fingerprint of `rows`.
    pub fn of<R: Hash>(rows: &[(R, Diff)]) -> Answer {
        let mut answer = Answer::default();
        for (row, diff) in rows {
            answer.add(row, *diff);
        }
        answer
    }
}

/// Sorts `rows` and sums the multiplicities of equal rows, dropping zeros (differential's own
/// consolidation).
pub fn consolidate<R: Ord>(mut rows: Vec<(R, Diff)>) -> Vec<(R, Diff)> {
    differential_dataflow::consolidation::consolidate(&mut rows);
    rows
}

/// Writes consolidated `rows` to `path` as `row × diff` lines if there are at most
/// [`DUMP_ROWS`]; returns whether it did.
pub fn dump<R: Debug>(rows: &[(R, Diff)], path: &Path) -> std::io::Result<bool> {
    if rows.len() > DUMP_ROWS {
        return Ok(false);
    }
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    for (row, diff) in rows {
        writeln!(file, "{row:?} × {diff}")?;
    }
    file.flush()?;
    Ok(true)
}
