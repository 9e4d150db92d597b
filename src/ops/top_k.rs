//! Top-k per group: the first `k` rows of each key, in a stable, total order.
//!
//! `rows.top_k(k)` keeps, for each key, the first `k` values of its `(key, value)` rows in the
//! values' own order (ascending: the `k` smallest). `rows.top_k_by(k, order)` ranks the values
//! by `order(value)` instead, for "the three most expensive orders per customer"
//! (`order = |o| Reverse(o.cents)`). The output rows are input rows: a value is kept or not,
//! never changed.
//!
//! **Rank order.** Output rows are sorted by `(key, value)` like every collection, so a read
//! of `top_k_by(k, Reverse(..))` lists each key's values smallest first, not best first.
//! `top_k_ranked(k)` and `top_k_by_ranked(k, order)` keep the same places and number them:
//! `(key, (rank, value))` rows, rank `1` the best, so row order is rank order. Every place is
//! its own row with multiplicity 1: a value held twice in the top fills two places and comes
//! out twice, as `(key, (r, value))` and `(key, (r + 1, value))`. Ranks are `1..=n` with no gap
//! (like SQL's `ROW_NUMBER()`), `n` the places filled (at most `k`).
//!
//! **Stable order.** Values that tie under `order` are ranked by the whole value (its `Ord`),
//! so the ranking is a total order on distinct values and the result never depends on arrival
//! order, worker count or timing. Equal values are copies of one row: a value held `m` times
//! fills `m` places, and when only some of them fit, the value is output with the multiplicity
//! that fits (`min(m, places left)`).
//!
//! **Deletions.** Like the aggregates, top-k is a `reduce` over each key's values: when they
//! change, the key's top `k` are recomputed from all its present values, so deleting a row in
//! the top promotes the next one. Only values with a positive multiplicity are ranked (see
//! [`SemiJoin`](crate::ops::SemiJoin) for this rule). `k = 0` gives an empty collection.
//!
//! **Cost.** Like an aggregate: the input arranged by key and the output kept, with each
//! change re-ranking the values of its key (a sort, for the `_by` forms). A ranked top-k
//! changes up to `k` rows when a value enters or leaves the top (every rank below it moves).

use crate::ops::Rows;
use crate::ops::keyed::{Keyed, reduce_by_key};
use crate::row::Row;
use crate::time::Diff;

/// The first `k` values of each key.
///
/// Implemented for keyed inputs ([`Keyed`]: collections of `(key, value)` [`Row`]s, and the
/// arrangements of keyed tables and keyed views, which it reads without arranging them again);
/// bring it into scope with `use ivm::ops::TopK;` (or `use ivm::ops::*;`) inside a view
/// definition.
pub trait TopK<'s, K, V> {
    /// The first `k` values of each key in `V`'s `Ord` (ascending, like SQL's
    /// `ORDER BY value LIMIT k`), with multiplicities capped so that each key keeps at most `k`
    /// rows in all.
    fn top_k(self, k: usize) -> Rows<'s, (K, V)>;

    /// The first `k` values of each key by `order(value)`, ties broken by the value itself;
    /// rank by [`Reverse`](std::cmp::Reverse) for the largest first. `order` must be a pure
    /// function of the value.
    fn top_k_by<O: Ord + 'static>(self, k: usize, order: impl Fn(&V) -> O + 'static) -> Rows<'s, (K, V)>;

    /// The places of [`top_k`](Self::top_k), numbered: `(key, (rank, value))`, ranks from `1`,
    /// one row per place, so that rows sort in rank order.
    ///
    /// ```
    /// use ivm::ops::*;
    /// # use ivm::{Config, Engine};
    /// # fn main() -> ivm::Result<()> {
    /// let engine = Engine::start(Config::default())?;
    /// let times = engine.table::<(String, u32)>("lap_times")?; // (track, seconds)
    /// let podium = engine.keyed_view_over("podium", &times, |_, times| times.top_k_ranked(3))?;
    /// let t = engine.commit(|tx| {
    ///     tx.insert_all(&times, [("spa".into(), 75), ("spa".into(), 71), ("spa".into(), 80), ("spa".into(), 73)])
    /// })?;
    /// let spa = "spa".to_string();
    /// assert_eq!(podium.get(&spa, t)?, vec![((1, 71), 1), ((2, 73), 1), ((3, 75), 1)]);
    /// // The winner is disqualified: everyone moves up.
    /// let t = engine.commit(|tx| tx.delete(&times, (spa.clone(), 71)))?;
    /// assert_eq!(podium.get(&spa, t)?, vec![((1, 73), 1), ((2, 75), 1), ((3, 80), 1)]);
    /// # Ok(()) }
    /// ```
    fn top_k_ranked(self, k: usize) -> Rows<'s, (K, (usize, V))>;

    /// The places of [`top_k_by`](Self::top_k_by), numbered: `(key, (rank, value))`, ranks
    /// from `1` (the first by `order`), one row per place.
    fn top_k_by_ranked<O: Ord + 'static>(
        self,
        k: usize,
        order: impl Fn(&V) -> O + 'static,
    ) -> Rows<'s, (K, (usize, V))>;
}

impl<'s, K: Row, V: Row, I: Keyed<'s, K, V>> TopK<'s, K, V> for I {
    fn top_k(self, k: usize) -> Rows<'s, (K, V)> {
        // Values arrive sorted ascending: already ranked.
        reduce_by_key(self, "TopK", move |_key, values, output| take(k, values.iter().copied(), output))
    }

    fn top_k_by<O: Ord + 'static>(self, k: usize, order: impl Fn(&V) -> O + 'static) -> Rows<'s, (K, V)> {
        reduce_by_key(self, "TopKBy", move |_key, values, output| {
            take(k, by(&order, values).into_iter(), output);
        })
    }

    fn top_k_ranked(self, k: usize) -> Rows<'s, (K, (usize, V))> {
        reduce_by_key(self, "TopKRanked", move |_key, values, output| {
            number(k, values.iter().copied(), output)
        })
    }

    fn top_k_by_ranked<O: Ord + 'static>(
        self,
        k: usize,
        order: impl Fn(&V) -> O + 'static,
    ) -> Rows<'s, (K, (usize, V))> {
        reduce_by_key(self, "TopKByRanked", move |_key, values, output| {
            number(k, by(&order, values).into_iter(), output);
        })
    }
}

/// The present values of `values` (sorted by value) ranked by `order`; values that tie under
/// `order` stay in ascending value order (a stable sort).
fn by<'a, V, O: Ord>(order: impl Fn(&V) -> O, values: &[(&'a V, Diff)]) -> Vec<(&'a V, Diff)> {
    let mut ranked: Vec<(O, &V, Diff)> = values
        .iter()
        .filter(|(_, multiplicity)| *multiplicity > 0)
        .map(|(value, multiplicity)| (order(value), *value, *multiplicity))
        .collect();
    ranked.sort_by(|a, b| a.0.cmp(&b.0));
    ranked.into_iter().map(|(_, value, multiplicity)| (value, multiplicity)).collect()
}

/// Outputs the first `k` places of `ranked` (values with their multiplicities, best first),
/// skipping values that are not present.
fn take<'a, V: Clone + 'a>(
    k: usize,
    ranked: impl Iterator<Item = (&'a V, Diff)>,
    output: &mut Vec<(V, Diff)>,
) {
    let mut left = Diff::try_from(k).unwrap_or(Diff::MAX);
    for (value, multiplicity) in ranked.filter(|(_, multiplicity)| *multiplicity > 0) {
        if left == 0 {
            break;
        }
        let taken = multiplicity.min(left);
        output.push((value.clone(), taken));
        left -= taken;
    }
}

/// Outputs the first `k` places of `ranked` (as [`take`] does) one row per place, each
/// numbered with its rank from 1.
fn number<'a, V: Clone + 'a>(
    k: usize,
    ranked: impl Iterator<Item = (&'a V, Diff)>,
    output: &mut Vec<((usize, V), Diff)>,
) {
    let places = ranked
        .filter(|(_, multiplicity)| *multiplicity > 0)
        .flat_map(|(value, multiplicity)| std::iter::repeat_n(value, multiplicity.unsigned_abs()));
    for (place, value) in places.take(k).enumerate() {
        output.push(((place + 1, value.clone()), 1));
    }
}

#[cfg(test)]
mod tests {
    use super::{number, take};

    fn top(k: usize, values: &[(u32, isize)]) -> Vec<(u32, isize)> {
        let mut output = Vec::new();
        take(k, values.iter().map(|(v, m)| (v, *m)), &mut output);
        output
    }

    #[test]
    fn copies_fill_places_and_are_cut_to_fit() {
        assert_eq!(top(3, &[(1, 2), (2, 5), (3, 1)]), vec![(1, 2), (2, 1)]);
        assert_eq!(top(0, &[(1, 2)]), vec![]);
        assert_eq!(top(10, &[(1, 2), (2, 1)]), vec![(1, 2), (2, 1)]);
    }

    #[test]
    fn absent_values_take_no_place() {
        assert_eq!(top(2, &[(1, -1), (2, 1), (3, 1), (4, 1)]), vec![(2, 1), (3, 1)]);
        assert_eq!(ranks(2, &[(1, -1), (2, 0), (3, 1), (4, 1)]), vec![((1, 3), 1), ((2, 4), 1)]);
    }

    fn ranks(k: usize, values: &[(u32, isize)]) -> Vec<((usize, u32), isize)> {
        let mut output = Vec::new();
        number(k, values.iter().map(|(v, m)| (v, *m)), &mut output);
        output
    }

    #[test]
    fn every_place_is_numbered_once() {
        assert_eq!(ranks(3, &[(1, 2), (2, 5)]), vec![((1, 1), 1), ((2, 1), 1), ((3, 2), 1)]);
        assert_eq!(ranks(0, &[(1, 2)]), vec![]);
        assert_eq!(ranks(10, &[(7, 1)]), vec![((1, 7), 1)]);
    }
}
