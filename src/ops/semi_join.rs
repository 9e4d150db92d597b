//! Semi-joins and anti-joins: keep or drop rows by whether their key is present elsewhere.
//!
//! `rows.semi_join(keys)` is SQL's `WHERE key IN (SELECT .. FROM keys)`: the `(key, value)`
//! rows whose key is present in `keys`. `rows.anti_join(keys)` is `WHERE key NOT IN ..`: the
//! rows whose key is absent. Every row keeps its own multiplicity; how often a key occurs in
//! `keys` does not matter, only whether it occurs.
//!
//! That is the difference from differential dataflow's own `semijoin` and `antijoin`, which
//! *multiply* each row's multiplicity by its key's multiplicity: there a key held twice doubles
//! the rows, and `antijoin` against it leaves them negative. Those are the right tools when
//! `keys` is already a set (the output of `distinct`, say); the operators here make it one
//! first, at the price of arranging the keys twice.
//!
//! A key is *present* when its multiplicity in `keys` is positive, the rule every operator in
//! [`ops`](crate::ops) uses to decide whether something exists. As rows come and
//! go on either side, the output follows: a key's arrival in `keys` moves its rows from the
//! anti-join to the semi-join, its last deletion moves them back.
//!
//! **Cost.** The rows are arranged by key, unless they are given arranged (a keyed table's or
//! keyed view's own arrangement, see [`Keyed`]); the keys are arranged twice (to total their
//! multiplicities, and as the resulting set).

use differential_dataflow::operators::arrange::{Arranged, TraceAgent};
use differential_dataflow::trace::implementations::KeySpine;

use crate::ops::Rows;
use crate::ops::keyed::{Keyed, KeyedArrangement};
use crate::row::Row;
use crate::time::{Diff, Time};

/// A collection of keys arranged by themselves, as `arrange_by_self` makes it.
pub(crate) type KeySet<'s, K> = Arranged<'s, TraceAgent<KeySpine<K, Time, Diff>>>;

/// Keeps or drops `(key, value)` rows by whether their key is present in another collection.
///
/// Implemented for keyed inputs ([`Keyed`]: collections of `(key, value)` [`Row`]s, and the
/// arrangements of keyed tables and keyed views, which it reads without arranging them again);
/// bring it into scope with `use ivm::ops::SemiJoin;` (or `use ivm::ops::*;`) inside a view
/// definition.
pub trait SemiJoin<'s, K, V> {
    /// The rows whose key is present (has a positive multiplicity) in `keys`, each with its own
    /// multiplicity.
    ///
    /// Unlike differential dataflow's `semijoin`, the multiplicity of a key in `keys` does not
    /// scale the output: a key inserted twice keeps its rows once.
    fn semi_join(self, keys: Rows<'s, K>) -> Rows<'s, (K, V)>;

    /// The rows whose key is not present (has no positive multiplicity) in `keys`, each with
    /// its own multiplicity. `semi_join` and `anti_join` of the same inputs add up to the rows.
    fn anti_join(self, keys: Rows<'s, K>) -> Rows<'s, (K, V)>;
}

impl<'s, K: Row, V: Row, I: Keyed<'s, K, V>> SemiJoin<'s, K, V> for I {
    fn semi_join(self, keys: Rows<'s, K>) -> Rows<'s, (K, V)> {
        matching(self.by_key("SemiJoin"), present(keys).arrange_by_self())
    }

    fn anti_join(self, keys: Rows<'s, K>) -> Rows<'s, (K, V)> {
        unmatched(self.by_key("AntiJoin"), present(keys).arrange_by_self())
    }
}

/// The rows of `rows` with a positive multiplicity, each once: the set of present rows.
///
/// A row held twice is present once; a row deleted more often than it was inserted (which bag
/// tables allow) is absent. The non-linear operators of [`ops`](crate::ops) decide existence
/// with this rule.
pub(crate) fn present<'s, D: Row>(rows: Rows<'s, D>) -> Rows<'s, D> {
    rows.threshold_named("Present", |_, multiplicity| Diff::from(*multiplicity > 0))
}

/// The rows of `rows` whose key is in the set `keys`, each with its own multiplicity.
pub(crate) fn matching<'s, K: Row, V: Row>(
    rows: KeyedArrangement<'s, K, V>,
    keys: KeySet<'s, K>,
) -> Rows<'s, (K, V)> {
    rows.join_core(keys, |key, value, ()| Some((key.clone(), value.clone())))
}

/// The rows of `rows` whose key is not in the set `keys`: all rows minus the matching ones.
pub(crate) fn unmatched<'s, K: Row, V: Row>(
    rows: KeyedArrangement<'s, K, V>,
    keys: KeySet<'s, K>,
) -> Rows<'s, (K, V)> {
    let all = rows.clone().as_collection(|key, value| (key.clone(), value.clone()));
    all.concat(matching(rows, keys).negate())
}

/// The keys of a keyed arrangement that are present (positive total multiplicity), as a set.
pub(crate) fn present_keys<'s, K: Row, V: Row>(rows: KeyedArrangement<'s, K, V>) -> KeySet<'s, K> {
    present(rows.as_collection(|key, _| key.clone())).arrange_by_self()
}
