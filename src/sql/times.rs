//! The timestamps SQL's dataflows run in, and what each lets an operator keep.
//!
//! A definition runs in [`Time`], which is totally ordered: a group's running totals, or a
//! row's multiplicity, at each time follow from the operator's input arrangement alone. So the
//! operators that turn them into rows (differential's `count_total` and `threshold_total`) keep
//! nothing more, and emit the change at each time from the accumulation before and after it.
//!
//! A `WITH RECURSIVE` loop runs in `Product<Time, u64>`, which is not totally ordered. There
//! the same results come from `reduce` and `threshold`, which also keep their output arranged
//! (as much again as the input, for a `GROUP BY` of many groups), to compute each time's
//! change against it.

use differential_dataflow::difference::Semigroup;
use differential_dataflow::lattice::Lattice;
use differential_dataflow::operators::{CountTotal, ThresholdTotal};
use differential_dataflow::{ExchangeData, Hashable, VecCollection};
use timely::order::Product;
use timely::progress::Timestamp;

use crate::sql::packed::PackedRow;
use crate::time::{Diff, Time};

/// A timestamp an SQL dataflow runs in.
pub(crate) trait Times: Timestamp + Lattice + Ord {
    /// Each group's running totals, `(group, totals)`, from the totals its rows add
    /// (`added`: a group's [`Totals`](crate::sql::sums::Totals), or its number of rows where
    /// that is all a `GROUP BY` counts); a group whose totals add up to zero has none.
    fn group_totals<'s, R: ExchangeData + Semigroup>(
        added: VecCollection<'s, Self, PackedRow, R>,
    ) -> VecCollection<'s, Self, (PackedRow, R), Diff>;

    /// Each row `held(m)` times, where `m` is the number of times `rows` holds it (`held(0)`
    /// must be 0), in an operator named `name`.
    fn threshold<'s, D: ExchangeData + Hashable>(
        rows: VecCollection<'s, Self, D, Diff>,
        name: &str,
        held: fn(Diff) -> Diff,
    ) -> VecCollection<'s, Self, D, Diff>;
}

impl Times for Time {
    fn group_totals<'s, R: ExchangeData + Semigroup>(
        added: VecCollection<'s, Time, PackedRow, R>,
    ) -> VecCollection<'s, Time, (PackedRow, R), Diff> {
        added.arrange_by_self_named("Arrange: SqlSums").count_total_core()
    }

    fn threshold<'s, D: ExchangeData + Hashable>(
        rows: VecCollection<'s, Time, D, Diff>,
        name: &str,
        held: fn(Diff) -> Diff,
    ) -> VecCollection<'s, Time, D, Diff> {
        rows.arrange_by_self_named(&format!("Arrange: {name}")).threshold_total(move |_, m| held(*m))
    }
}

impl Times for Product<Time, u64> {
    fn group_totals<'s, R: ExchangeData + Semigroup>(
        added: VecCollection<'s, Self, PackedRow, R>,
    ) -> VecCollection<'s, Self, (PackedRow, R), Diff> {
        added.map(|key| (key, ())).reduce_named("SqlSums", |_key, totals, output| {
            // One accumulated value: the group's totals.
            if let Some((_, totals)) = totals.first() {
                output.push((totals.clone(), 1));
            }
        })
    }

    fn threshold<'s, D: ExchangeData + Hashable>(
        rows: VecCollection<'s, Self, D, Diff>,
        name: &str,
        held: fn(Diff) -> Diff,
    ) -> VecCollection<'s, Self, D, Diff> {
        rows.threshold_named(name, move |_, m| held(*m))
    }
}
