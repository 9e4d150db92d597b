//! Tumbling and hopping windows over commit time.
//!
//! A window groups the changes of a collection by *when they were committed*. Every update
//! carries its commit time `t`; a windowing operator tags the update's row with the start of
//! each window that contains `t`, turning `row` into `(window_start, row)`, and leaves the time
//! and multiplicity alone. Aggregate the result by window like any keyed collection:
//! `rows.map(..).tumbling_window(w).count_per_key()` counts the rows committed per window.
//!
//! - A **tumbling** window of width `w` is one of the back-to-back intervals `[s, s + w)` with
//!   `s` a multiple of `w`: each update lands in exactly one, the one starting at `t - t % w`.
//! - A **hopping** window of width `w` and hop `h` is an interval `[s, s + w)` with `s` a
//!   multiple of `h`: windows start every `h` and overlap when `h < w`, so an update lands in
//!   every window with `s <= t < s + w` (about `w / h` of them). With `h = w` they are
//!   tumbling windows; with `h > w` some times fall in no window and their updates are dropped.
//!
//! **Semantics: a window holds the net change committed in it.** An update belongs to the
//! window(s) of the time it was committed, whatever it is: an insertion at `t` adds its row to
//! `t`'s windows, a deletion at `t` subtracts it from `t`'s windows. So read at time `T`, the
//! window starting at `s` holds the sum of the updates committed in `[s, min(s + w, T + 1))`,
//! and it never changes once `T >= s + w`. For an append-only table (an event log) that is
//! simply the rows that arrived during the window. For a table with deletions it is a *delta*:
//! a row inserted in one window and deleted in a later one is `+1` in the first and `-1` in the
//! second, and a window where a row was inserted and deleted again does not show it. (It is not
//! a snapshot of the table at the window's end; that is the table itself, read at that time.)
//!
//! **Where times come from.** Windows are a function of update times, so they see the times the
//! view's inputs carry. In the live engine those are the commit times, with one exception:
//! compaction may advance updates older than the engine's `since` to `since` (reads cannot tell
//! the difference; windows can), so a windowed view created after its inputs' history was
//! compacted may find old updates in the window of `since`. Create windowed views before the
//! data they window, or retain enough history. In a [batch run](crate::batch), rows given
//! without times are at the run's `as_of`.
//!
//! Windowing is a stateless map over the updates: it keeps nothing and costs a copy of the row
//! per window. To drop windows from a view once they are old, follow it with a
//! [`temporal_filter`](crate::ops::TemporalFilter::temporal_filter) on the window start.

use std::num::NonZeroU64;

use differential_dataflow::AsCollection;
use timely::dataflow::operators::vec::Map;

use crate::ops::Rows;
use crate::row::Row;
use crate::time::Time;

/// Tags each update of a collection with the window(s) of its commit time.
///
/// Implemented for collections of [`Row`]s; bring it into scope with
/// `use ivm::ops::Windows;` (or `use ivm::ops::*;`) inside a view definition.
pub trait Windows<'s, D> {
    /// Tumbling windows of `width`: each update at time `t` becomes `((t - t % width, row), t,
    /// diff)`.
    fn tumbling_window(self, width: NonZeroU64) -> Rows<'s, (Time, D)>;

    /// Hopping windows of `width` starting every `hop`: each update at time `t` becomes one
    /// update `((s, row), t, diff)` for every multiple `s` of `hop` with `s <= t < s + width`.
    fn hopping_window(self, width: NonZeroU64, hop: NonZeroU64) -> Rows<'s, (Time, D)>;
}

impl<'s, D: Row> Windows<'s, D> for Rows<'s, D> {
    fn tumbling_window(self, width: NonZeroU64) -> Rows<'s, (Time, D)> {
        let width = width.get();
        self.inner
            .map(move |(row, time, diff)| ((tumbling_start(time, width), row), time, diff))
            .as_collection()
    }

    fn hopping_window(self, width: NonZeroU64, hop: NonZeroU64) -> Rows<'s, (Time, D)> {
        let (width, hop) = (width.get(), hop.get());
        self.inner
            .flat_map(move |(row, time, diff)| {
                hopping_starts(time, width, hop).map(move |start| ((start, row.clone()), time, diff))
            })
            .as_collection()
    }
}

/// The start of the tumbling window of `width` that contains `time`.
fn tumbling_start(time: Time, width: Time) -> Time {
    time - time % width
}

/// The starts of the hopping windows of `width` and `hop` that contain `time`, latest first:
/// the multiples `s` of `hop` with `s <= time < s + width`.
fn hopping_starts(time: Time, width: Time, hop: Time) -> impl Iterator<Item = Time> {
    let latest = time - time % hop;
    std::iter::successors(Some(latest), move |start| start.checked_sub(hop))
        // A window end past `Time::MAX` is past `time` too.
        .take_while(move |start| start.checked_add(width).is_none_or(|end| end > time))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn starts(time: Time, width: Time, hop: Time) -> Vec<Time> {
        hopping_starts(time, width, hop).collect()
    }

    #[test]
    fn tumbling_windows_partition_time() {
        assert_eq!(tumbling_start(0, 10), 0);
        assert_eq!(tumbling_start(9, 10), 0);
        assert_eq!(tumbling_start(10, 10), 10);
        assert_eq!(tumbling_start(u64::MAX, 1), u64::MAX);
    }

    #[test]
    fn hopping_windows_are_every_window_containing_the_time() {
        assert_eq!(starts(7, 10, 5), vec![5, 0]);
        assert_eq!(starts(10, 10, 5), vec![10, 5]);
        assert_eq!(starts(3, 10, 5), vec![0]);
        assert_eq!(starts(12, 10, 10), vec![10], "hop = width is tumbling");
        assert_eq!(starts(7, 2, 5), Vec::<Time>::new(), "a gap between windows");
        assert_eq!(starts(6, 2, 5), vec![5]);
        assert_eq!(starts(u64::MAX, 3, 1), vec![u64::MAX, u64::MAX - 1, u64::MAX - 2]);
    }

    #[test]
    fn hopping_matches_its_definition() {
        for (width, hop) in [(1, 1), (3, 1), (4, 2), (5, 3), (2, 5), (6, 6)] {
            for time in 0..40 {
                let expected: Vec<Time> =
                    (0..=time).rev().filter(|s| s % hop == 0 && *s <= time && time < s + width).collect();
                assert_eq!(starts(time, width, hop), expected, "time {time} width {width} hop {hop}");
            }
        }
    }
}
