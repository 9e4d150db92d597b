//! Global aggregates: one number for a whole collection, `0` when it is empty.
//!
//! `rows.count_total()` is how many rows a collection holds, and `rows.sum_total()` the sum of
//! its values: a collection of exactly one row, always. SQL's `SELECT COUNT(*) FROM t` answers
//! `0` on an empty table, and so do these; differential's `count` (and
//! [`count_per_key`](crate::ops::Aggregate::count_per_key) on a `((), row)` collection) has no
//! row at all there, so a reader would have to know that "no row" means zero.
//!
//! **How.** The aggregate of the present rows, plus a constant `0` row (held once, from time 0,
//! like [`Views::constant`](crate::Views::constant)), minus that `0` row wherever an aggregate
//! exists: the constant shows exactly when the input is empty, and the result goes back to `0`
//! when every row is deleted.
//!
//! **Multiplicities.** As for the per-key aggregates: a row held `m` times counts `m` times,
//! and only rows with a *positive* multiplicity take part (see
//! [`SemiJoin`](crate::ops::SemiJoin) for this rule). The output row has multiplicity 1. Sums
//! are `i128`, and wrap rather than panic a worker on overflow.
//!
//! **Cost.** A total has one key, so one worker holds its result. `count_total` arranges the
//! input by row (to drop absent rows) and counts with one number: each change is a constant
//! amount of work. `sum_total` sums the values in 256 groups by hash first, spread over the
//! workers, then the 256 partial sums: each change re-sums the distinct values of its group
//! and the partial sums.

use differential_dataflow::{AsCollection, Hashable};
use timely::dataflow::operators::vec::ToStream;

use crate::ops::{Aggregate, Rows};
use crate::row::Row;
use crate::time::{Diff, Time};

/// How many groups `sum_total` sums in before summing their sums.
const GROUPS: u64 = 256;

/// Global aggregates, `0` on an empty input.
///
/// Implemented for collections of [`Row`]s; bring it into scope with `use ivm::ops::Total;`
/// (or `use ivm::ops::*;`) inside a view definition.
///
/// ```
/// use ivm::ops::*;
/// # use ivm::{Config, Engine};
/// # fn main() -> ivm::Result<()> {
/// let engine = Engine::start(Config::default().with_workers(2))?;
/// let orders = engine.table::<u64>("orders")?; // cents
/// let count = engine.view_over("order_count", &orders, |_, orders| orders.count_total())?;
/// let revenue = engine.view_over("revenue", &orders, |_, orders| orders.sum_total())?;
/// assert_eq!((count.rows_at(0)?, revenue.rows_at(0)?), (vec![0], vec![0]));
/// let t = engine.commit(|tx| tx.insert_all(&orders, [250, 100, 250]))?;
/// assert_eq!((count.rows_at(t)?, revenue.rows_at(t)?), (vec![3], vec![600]));
/// let t = engine.commit(|tx| {
///     tx.update(&orders, 250, -2);
///     tx.delete(&orders, 100);
/// })?;
/// assert_eq!((count.rows_at(t)?, revenue.rows_at(t)?), (vec![0], vec![0]));
/// # Ok(()) }
/// ```
pub trait Total<'s, V> {
    /// How many rows the collection holds, counting multiplicities: one row, `0` when empty.
    fn count_total(self) -> Rows<'s, Diff>;

    /// The sum of the collection's values, each counted as often as it is held: one row, `0`
    /// when empty.
    fn sum_total(self) -> Rows<'s, i128>
    where
        V: Into<i128>;
}

impl<'s, V: Row> Total<'s, V> for Rows<'s, V> {
    fn count_total(self) -> Rows<'s, Diff> {
        let count = self
            .threshold_named("CountTotal", |_, multiplicity| (*multiplicity).max(0))
            .map(|_| ())
            .count()
            .map(|((), count)| count);
        or_zero(count)
    }

    fn sum_total(self) -> Rows<'s, i128>
    where
        V: Into<i128>,
    {
        let sum = self
            .map(|value| (value.hashed() % GROUPS, value))
            .sum_per_key()
            .map(|(_group, sum)| ((), sum))
            .sum_per_key()
            .map(|((), sum)| sum);
        or_zero(sum)
    }
}

/// `total` (at most one row) with a `0` row wherever it has none.
fn or_zero<'s, N: Row + Default>(total: Rows<'s, N>) -> Rows<'s, N> {
    let scope = total.scope();
    let zero: Vec<(N, Time, Diff)> = if scope.index() == 0 { vec![(N::default(), 0, 1)] } else { Vec::new() };
    let present = total.clone().map(|_| N::default()).negate();
    total.concat(zero.to_stream(scope).as_collection()).concat(present)
}
