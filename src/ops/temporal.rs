//! Temporal filters: rows that enter and leave a view by themselves as time passes.
//!
//! A temporal filter keeps a row visible only during an interval of logical time computed from
//! the row itself, `[start, end)`: "sessions active now" (`[login, logout)`), "offers not yet
//! expired" (`[0, expires)`), "events of the last hour" (`[at, at + 1h)`). Unlike a `filter`,
//! whose answer for a row never changes, a temporal filter's answer depends on the time the
//! view is read at, so the view changes although no input did.
//!
//! It works by *scheduling* changes rather than re-evaluating rows. Differential dataflow lets
//! an operator emit an update at a time later than the one it is processing; the update then
//! waits in the downstream operators until time reaches it. For an input update `(row, t,
//! diff)` with interval `[start, end)` the filter emits
//!
//! - `(row, max(t, start), diff)`: the row appears when both it and its interval have begun;
//! - `(row, max(t, end), -diff)`: and leaves again when the interval ends.
//!
//! A deletion of the row (a negative `diff`) is treated the same way, so the sum of these
//! updates at any time `T` is exactly the row's multiplicity at `T` if `start <= T < end`, and
//! nothing otherwise: the filter is linear, correct under inserts and deletes in any order.
//! An empty interval (`end <= start`) emits nothing: the row is never visible.
//!
//! **Time passes with commits.** In the live engine the logical time moves only when a
//! transaction commits (see [`Engine::commit_at`](crate::Engine::commit_at)). A row whose
//! `end` has come is retracted at the first commit at or after `end`; reads at any time
//! `T >= end` (which wait until a commit reaches `T`) never show it. An empty commit at a
//! chosen time is how an application lets time pass without writing anything, typically from
//! a timer when times are milliseconds of event time.
//!
//! The function giving the interval must be a pure function of the row: it is evaluated once
//! when the row is inserted and once when it is deleted, and the two must agree.
//!
//! **Cost.** The filter itself keeps nothing; the scheduled updates wait in the operators
//! downstream (at least the view's own arrangement) until time reaches them: one pending
//! update per row whose interval has not yet started or ended.

use crate::ops::Rows;
use crate::row::Row;
use crate::time::{Diff, Time};

/// Shows each row of a collection only during an interval of time computed from the row.
///
/// Implemented for collections of [`Row`]s; bring it into scope with
/// `use ivm::ops::TemporalFilter;` (or `use ivm::ops::*;`) inside a view definition.
pub trait TemporalFilter<'s, D> {
    /// The rows of the collection, each visible at times `T` with `start <= T < end` where
    /// `(start, end) = interval(&row)`; `end = None` means the row never expires.
    ///
    /// ```
    /// use ivm::ops::TemporalFilter;
    /// use ivm::{Config, Engine};
    /// # fn main() -> ivm::Result<()> {
    /// let engine = Engine::start(Config::default())?;
    /// // (offer id, valid from, valid until)
    /// let offers = engine.table::<(u32, u64, u64)>("offers")?;
    /// let valid = engine.view("valid", {
    ///     let offers = offers.clone();
    ///     move |v| v.table(&offers).temporal_filter(|(_, from, until)| (*from, Some(*until)))
    /// })?;
    /// engine.commit_at(1, |tx| tx.insert(&offers, (7, 5, 8)))?;
    /// engine.commit_at(6, |_| {})?; // time passes
    /// engine.commit_at(9, |_| {})?;
    /// assert_eq!(valid.at(4)?, vec![]);
    /// assert_eq!(valid.at(5)?, vec![((7, 5, 8), 1)]);
    /// assert_eq!(valid.at(7)?, vec![((7, 5, 8), 1)]);
    /// assert_eq!(valid.at(8)?, vec![]);
    /// # Ok(()) }
    /// ```
    fn temporal_filter(self, interval: impl Fn(&D) -> (Time, Option<Time>) + 'static) -> Rows<'s, D>;
}

impl<'s, D: Row> TemporalFilter<'s, D> for Rows<'s, D> {
    fn temporal_filter(self, interval: impl Fn(&D) -> (Time, Option<Time>) + 'static) -> Rows<'s, D> {
        // `join_function` emits each update at the later of its own time and the given one.
        self.join_function(move |row| {
            let (start, end) = interval(&row);
            scheduled(row, start, end)
        })
    }
}

/// The updates that show `row` from `start` to `end` (relative to a `+1` input update), each
/// `(row, time, diff)`; to be delayed to no earlier than the input update's own time.
fn scheduled<D: Clone>(row: D, start: Time, end: Option<Time>) -> Vec<(D, Time, Diff)> {
    match end {
        Some(end) if end <= start => Vec::new(),
        Some(end) => vec![(row.clone(), start, 1), (row, end, -1)],
        None => vec![(row, start, 1)],
    }
}

#[cfg(test)]
mod tests {
    use super::scheduled;

    #[test]
    fn an_interval_becomes_an_insertion_and_a_scheduled_retraction() {
        assert_eq!(scheduled('a', 3, Some(7)), vec![('a', 3, 1), ('a', 7, -1)]);
        assert_eq!(scheduled('a', 3, None), vec![('a', 3, 1)]);
    }

    #[test]
    fn an_empty_interval_shows_nothing() {
        assert_eq!(scheduled('a', 3, Some(3)), vec![]);
        assert_eq!(scheduled('a', 5, Some(2)), vec![]);
    }
}
