//! Outer joins: a join that keeps the rows that found no partner, padded with `None`.
//!
//! Differential dataflow's `join` is an inner join: a `(key, v1)` row with no `(key, v2)` row on
//! the other side simply disappears. An outer join keeps it, paired with `None`, so that
//! "orders with their customer, if any" is one view:
//!
//! - [`left_join`](OuterJoin::left_join) gives `(key, (v1, Some(v2)))` for every matching pair
//!   and `(key, (v1, None))` for every left row whose key has no right row.
//! - [`full_join`](OuterJoin::full_join) also keeps the unmatched right rows, as
//!   `(key, (None, Some(v2)))`; matches are `(key, (Some(v1), Some(v2)))`.
//!
//! The outer join is the inner join plus the anti-join of each side against the other's keys,
//! and that is how it is built: each side is arranged by key once and shared by the inner join
//! and the key-presence test. So as rows come and go the padding follows: the first right row
//! of a key retracts that key's `(v1, None)` rows and adds the matches; deleting the last one
//! does the reverse.
//!
//! **Multiplicities.** Matches multiply, as in any join: `(key, v1)` held `m1` times and
//! `(key, v2)` held `m2` times give their pair `m1 * m2` times. A padded row keeps the
//! multiplicity of the row it pads. A key counts as *present* on a side when its total
//! multiplicity there is positive (see [`SemiJoin`](crate::ops::SemiJoin)). With tables that
//! never delete more than they hold, this is exactly SQL's bag-semantics outer join.
//!
//! **Cost.** Each side is arranged by key once, unless it is given arranged (a keyed table's or
//! keyed view's own arrangement, see [`Keyed`]), which is read as it is; each side whose keys
//! are tested (the right for a left join, both for a full join) also keeps its set of present
//! keys.

use crate::ops::Rows;
use crate::ops::keyed::{Keyed, KeyedArrangement};
use crate::ops::semi_join::{present_keys, unmatched};
use crate::row::Row;

/// Outer joins of two keyed inputs.
///
/// Implemented for keyed inputs ([`Keyed`]: collections of `(key, value)` [`Row`]s, and the
/// arrangements of keyed tables and keyed views, which it reads without arranging them again),
/// on either side; bring it into scope with `use ivm::ops::OuterJoin;` (or `use ivm::ops::*;`)
/// inside a view definition.
pub trait OuterJoin<'s, K: Row, V1: Row> {
    /// The left outer join: every matching pair as `(key, (v1, Some(v2)))`, and every left row
    /// whose key is not present on the right as `(key, (v1, None))`.
    fn left_join<V2: Row>(self, right: impl Keyed<'s, K, V2>) -> Rows<'s, (K, (V1, Option<V2>))>;

    /// The full outer join: every matching pair as `(key, (Some(v1), Some(v2)))`, every left row
    /// whose key is not present on the right as `(key, (Some(v1), None))`, and every right row
    /// whose key is not present on the left as `(key, (None, Some(v2)))`.
    #[allow(clippy::type_complexity, reason = "the output type spelled out is its documentation")]
    fn full_join<V2: Row>(self, right: impl Keyed<'s, K, V2>) -> Rows<'s, (K, (Option<V1>, Option<V2>))>;
}

impl<'s, K: Row, V1: Row, I: Keyed<'s, K, V1>> OuterJoin<'s, K, V1> for I {
    fn left_join<V2: Row>(self, right: impl Keyed<'s, K, V2>) -> Rows<'s, (K, (V1, Option<V2>))> {
        let left = self.by_key("LeftJoin: left");
        let right = right.by_key("LeftJoin: right");
        let matched = inner(left.clone(), right.clone(), |v1, v2| (v1, Some(v2)));
        let left_only = unmatched(left, present_keys(right)).map(|(key, v1)| (key, (v1, None)));
        matched.concat(left_only)
    }

    #[allow(clippy::type_complexity, reason = "the output type spelled out is its documentation")]
    fn full_join<V2: Row>(self, right: impl Keyed<'s, K, V2>) -> Rows<'s, (K, (Option<V1>, Option<V2>))> {
        let left = self.by_key("FullJoin: left");
        let right = right.by_key("FullJoin: right");
        let matched = inner(left.clone(), right.clone(), |v1, v2| (Some(v1), Some(v2)));
        let left_keys = present_keys(left.clone());
        let left_only = unmatched(left, present_keys(right.clone())).map(|(key, v1)| (key, (Some(v1), None)));
        let right_only = unmatched(right, left_keys).map(|(key, v2)| (key, (None, Some(v2))));
        matched.concat(left_only).concat(right_only)
    }
}

/// The inner join of two arranged sides, each matching pair shaped by `pair`.
fn inner<'s, K: Row, V1: Row, V2: Row, P: Row>(
    left: KeyedArrangement<'s, K, V1>,
    right: KeyedArrangement<'s, K, V2>,
    pair: impl Fn(V1, V2) -> P + 'static,
) -> Rows<'s, (K, P)> {
    left.join_core(right, move |key, v1, v2| Some((key.clone(), pair(v1.clone(), v2.clone()))))
}
