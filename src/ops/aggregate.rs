//! Per-key aggregates that stay exact as rows are inserted and deleted.
//!
//! An aggregate folds the values of each key into one result: `(key, value)` rows in,
//! `(key, result)` rows out, one per key that has values. Each is a differential `reduce`: the
//! operator keeps every key's values (with their multiplicities) arranged, and when a key's
//! values change it recomputes that key's result from them and replaces the old one. So a
//! deletion is as exact as an insertion: deleting the minimum brings back the second smallest,
//! deleting the last value of a key removes the key's row. Only the changed keys are touched.
//!
//! | method | result type | result |
//! |---|---|---|
//! | [`count_per_key`](Aggregate::count_per_key) | [`Diff`] | how many values |
//! | [`sum_per_key`](Aggregate::sum_per_key) | `i128` | the sum of the values |
//! | [`min_per_key`](Aggregate::min_per_key) | `V` | the smallest value (by `Ord`) |
//! | [`max_per_key`](Aggregate::max_per_key) | `V` | the largest value (by `Ord`) |
//! | [`mean_per_key`](Aggregate::mean_per_key) | [`Mean`] | the exact mean, as sum and count |
//!
//! **Multiplicities.** A value held `m` times counts `m` times: in the count, in the sum and
//! in the mean. Only values with a *positive* multiplicity take part (see
//! [`SemiJoin`](crate::ops::SemiJoin) for this rule); a key none of whose values is present has
//! no output row. Every output row has multiplicity 1.
//!
//! Sums are `i128`, into which every integer type up to 64 bits converts: no realistic input
//! overflows it (that would take more than 2^63 copies of `u64::MAX`); arithmetic wraps rather
//! than panicking a worker if one does.
//!
//! **Cost.** Each aggregate arranges its input by key and keeps its output: memory in the
//! number of distinct `(key, value)` rows, work per change in the number of values of the
//! changed keys. (For sums and counts over keys with very many values, moving the value into
//! the multiplicity, `explode(|(k, v)| Some((k, v as Diff))).count()`, keeps one number per key
//! instead; it treats negative multiplicities linearly rather than ignoring them.)

use serde::{Deserialize, Serialize};

use crate::ops::Rows;
use crate::ops::keyed::{Keyed, reduce_by_key};
use crate::row::Row;
use crate::time::Diff;

/// The exact mean of a key's values: their sum and their count, kept unreduced.
///
/// It is a fraction rather than a float so that view rows stay `Eq + Ord + Hash` and exact.
/// The count of every mean [`Mean::new`] and the aggregates make is positive. Two means are equal when both their sums and their counts are
/// (so `2/4` and `1/2` differ), and the derived order compares sums first; compare values with
/// [`to_f64`](Self::to_f64) when that matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Mean {
    sum: i128,
    count: Diff,
}

impl Mean {
    /// The mean of `count` values summing to `sum`; `None` unless `count` is positive.
    pub fn new(sum: i128, count: Diff) -> Option<Mean> {
        (count > 0).then_some(Mean { sum, count })
    }

    /// The sum of the values.
    pub fn sum(&self) -> i128 {
        self.sum
    }

    /// How many values there are (with multiplicity); always positive.
    pub fn count(&self) -> Diff {
        self.count
    }

    /// The mean as a float, for display (rounded).
    pub fn to_f64(&self) -> f64 {
        self.sum as f64 / self.count as f64
    }
}

/// Per-key aggregates over `(key, value)` collections.
///
/// Implemented for keyed inputs ([`Keyed`]: collections of `(key, value)` [`Row`]s, and the
/// arrangements of keyed tables and keyed views, which it reads without arranging them again);
/// bring it into scope with `use ivm::ops::Aggregate;` (or `use ivm::ops::*;`) inside a view
/// definition.
pub trait Aggregate<'s, K, V> {
    /// The number of values of each key, counting multiplicities: `(key, count)`, `count > 0`.
    fn count_per_key(self) -> Rows<'s, (K, Diff)>;

    /// The sum of the values of each key, each value counted as often as it is held:
    /// `(key, sum)`. A key whose values sum to zero still has its row.
    fn sum_per_key(self) -> Rows<'s, (K, i128)>
    where
        V: Into<i128>;

    /// The smallest value of each key: `(key, min)`.
    fn min_per_key(self) -> Rows<'s, (K, V)>;

    /// The largest value of each key: `(key, max)`.
    fn max_per_key(self) -> Rows<'s, (K, V)>;

    /// The mean of the values of each key, as an exact fraction: `(key, mean)`.
    fn mean_per_key(self) -> Rows<'s, (K, Mean)>
    where
        V: Into<i128>;
}

impl<'s, K: Row, V: Row, I: Keyed<'s, K, V>> Aggregate<'s, K, V> for I {
    fn count_per_key(self) -> Rows<'s, (K, Diff)> {
        per_key(self, "CountPerKey", |values| Some(count(values)))
    }

    fn sum_per_key(self) -> Rows<'s, (K, i128)>
    where
        V: Into<i128>,
    {
        per_key(self, "SumPerKey", |values| Some(sum(values)))
    }

    fn min_per_key(self) -> Rows<'s, (K, V)> {
        // Values arrive sorted, so the first present one is the smallest.
        per_key(self, "MinPerKey", |values| values.iter().map(|(value, _)| (*value).clone()).next())
    }

    fn max_per_key(self) -> Rows<'s, (K, V)> {
        per_key(self, "MaxPerKey", |values| values.iter().map(|(value, _)| (*value).clone()).next_back())
    }

    fn mean_per_key(self) -> Rows<'s, (K, Mean)>
    where
        V: Into<i128>,
    {
        per_key(self, "MeanPerKey", |values| Mean::new(sum(values), count(values)))
    }
}

/// Reduces each key's present values (positive multiplicity, sorted by value) with `fold`;
/// a key without present values, or for which `fold` returns `None`, has no output.
fn per_key<'s, K: Row, V: Row, O: Row>(
    rows: impl Keyed<'s, K, V>,
    name: &str,
    fold: impl Fn(&[(&V, Diff)]) -> Option<O> + 'static,
) -> Rows<'s, (K, O)> {
    reduce_by_key(rows, name, move |_key, values, output| {
        let present: Vec<(&V, Diff)> =
            values.iter().filter(|(_, multiplicity)| *multiplicity > 0).copied().collect();
        if present.is_empty() {
            return;
        }
        if let Some(result) = fold(&present) {
            output.push((result, 1));
        }
    })
}

fn count<V>(values: &[(&V, Diff)]) -> Diff {
    values.iter().fold(0, |total, (_, multiplicity)| total.wrapping_add(*multiplicity))
}

fn sum<V: Clone + Into<i128>>(values: &[(&V, Diff)]) -> i128 {
    values.iter().fold(0i128, |total, (value, multiplicity)| {
        let value: i128 = (*value).clone().into();
        total.wrapping_add(value.wrapping_mul(*multiplicity as i128))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn means_need_a_positive_count() {
        assert_eq!(Mean::new(3, 0), None);
        assert_eq!(Mean::new(3, -1), None);
        let mean = Mean::new(7, 2).expect("count is positive");
        assert_eq!((mean.sum(), mean.count()), (7, 2));
        assert_eq!(mean.to_f64(), 3.5);
    }

    #[test]
    fn sums_and_counts_weigh_values_by_multiplicity() {
        let (a, b) = (5u8, 7u8);
        let values = [(&a, 2), (&b, 3)];
        assert_eq!(count(&values), 5);
        assert_eq!(sum(&values), 31);
        let big = u64::MAX;
        assert_eq!(sum(&[(&big, 4)]), 4 * i128::from(u64::MAX));
    }
}
