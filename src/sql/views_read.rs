//! An ad-hoc query's reads of SQL views, answered from the views themselves.
//!
//! A query that is not a whole view (`SELECT COUNT(*) FROM v AS OF t`) runs as a batch over
//! the inputs as of `t`, and a batch run computes each view it reads from the view's
//! definition ([`Views::view`](crate::Views::view)): a small query over a large view ran the
//! whole view again. Every SQL view keeps its rows, and `View::at(t)` is what that batch run
//! of its definition gives (the engine's core promise), so the query reads each view it
//! scans at `t` instead, as constant rows, and runs only its own part as a batch.
//!
//! A view whose read fails (a time older than its history that no stored file reaches), or
//! that holds an error at `t`, is left to the batch run as before: the query's outcome, its
//! rows or the error it fails with, is what it was.

use std::sync::Arc;

use crate::sql::plan::Plan;
use crate::sql::source::{Computed, Source};
use crate::time::Time;

/// `plan` with each scan of an SQL view replaced by the view's rows at `time`, where the view
/// can be read at `time` and holds no error then.
pub(crate) fn views_read_at(plan: &Plan, time: Time) -> Plan {
    match plan {
        Plan::Scan { source, columns } => match read_at(source, time) {
            Some(rows) => Plan::Constant { rows, columns: columns.clone() },
            None => plan.clone(),
        },
        _ => plan.map_inputs(&mut |input| views_read_at(input, time)),
    }
}

/// The rows of `source`, if it is an SQL view that can be read at `time` and holds no error
/// then, each as many times as the view holds it.
fn read_at(source: &Arc<Source>, time: Time) -> Option<Vec<crate::sql::value::SqlRow>> {
    let Source::View { view, .. } = source.as_ref() else { return None };
    let mut rows = Vec::new();
    for (computed, diff) in view.at(time).ok()? {
        match computed {
            Computed::Row(row) => rows.extend(std::iter::repeat_n(row.values(), diff.max(0) as usize)),
            Computed::Error(_) if diff > 0 => return None,
            Computed::Error(_) => {}
        }
    }
    Some(rows)
}
