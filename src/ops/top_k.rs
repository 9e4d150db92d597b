//! Top-k per group: the first `k` rows of each key, in a stable, total order.
//!
//! `rows.top_k(k)` keeps, for each key, the first `k` values of its `(key, value)` rows in the
//! values' own order (ascending: the `k` smallest). `rows.top_k_by(k, order)` ranks the values
//! by `order(value)` instead, for "the three most expensive orders per customer"
//! (`order = |o| Reverse(o.cents)`). The output rows are input rows: a value is kept or not,
//! never changed.
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
//! change re-ranking the values of its key (a sort, for `top_k_by`).

use crate::ops::Rows;
use crate::row::Row;
use crate::time::Diff;

/// The first `k` values of each key.
///
/// Implemented for keyed collections of [`Row`]s; bring it into scope with
/// `use ivm::ops::TopK;` (or `use ivm::ops::*;`) inside a view definition.
pub trait TopK<'s, K, V> {
    /// The first `k` values of each key in `V`'s `Ord` (ascending, like SQL's
    /// `ORDER BY value LIMIT k`), with multiplicities capped so that each key keeps at most `k`
    /// rows in all.
    fn top_k(self, k: usize) -> Rows<'s, (K, V)>;

    /// The first `k` values of each key by `order(value)`, ties broken by the value itself;
    /// rank by [`Reverse`](std::cmp::Reverse) for the largest first. `order` must be a pure
    /// function of the value.
    fn top_k_by<O: Ord + 'static>(self, k: usize, order: impl Fn(&V) -> O + 'static) -> Rows<'s, (K, V)>;
}

impl<'s, K: Row, V: Row> TopK<'s, K, V> for Rows<'s, (K, V)> {
    fn top_k(self, k: usize) -> Rows<'s, (K, V)> {
        // Values arrive sorted ascending: already ranked.
        self.reduce_named("TopK", move |_key, values, output| take(k, values.iter().copied(), output))
    }

    fn top_k_by<O: Ord + 'static>(self, k: usize, order: impl Fn(&V) -> O + 'static) -> Rows<'s, (K, V)> {
        self.reduce_named("TopKBy", move |_key, values, output| {
            let mut ranked: Vec<(O, &V, Diff)> = values
                .iter()
                .filter(|(_, multiplicity)| *multiplicity > 0)
                .map(|(value, multiplicity)| (order(value), *value, *multiplicity))
                .collect();
            // Stable: values that tie under `order` stay in ascending value order.
            ranked.sort_by(|a, b| a.0.cmp(&b.0));
            take(k, ranked.into_iter().map(|(_, value, multiplicity)| (value, multiplicity)), output);
        })
    }
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

#[cfg(test)]
mod tests {
    use super::take;

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
    }
}
