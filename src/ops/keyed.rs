//! What the keyed operators read: a keyed collection, which they arrange by key themselves, or
//! an arrangement by key that exists already, which they read as it is.
//!
//! A keyed table and a keyed view are kept arranged by key by the engine, and a view definition
//! gets that arrangement with [`Views::keyed_table_arranged`](crate::Views::keyed_table_arranged)
//! and [`Views::keyed_view_arranged`](crate::Views::keyed_view_arranged). Given one, the joins,
//! aggregates and top-k of [`ops`](crate::ops) build on the shared trace: no row is copied out
//! of it and none is arranged again, so the view keeps no second copy of the input.

use differential_dataflow::operators::arrange::{Arranged, TraceAgent};
use differential_dataflow::trace::implementations::{ValBuilder, ValSpine};

use crate::ops::Rows;
use crate::row::Row;
use crate::time::{Diff, Time};

/// A keyed table's or keyed view's arrangement by key, as
/// [`Views::keyed_table_arranged`](crate::Views::keyed_table_arranged) and
/// [`Views::keyed_view_arranged`](crate::Views::keyed_view_arranged) hand it out: differential's
/// [`Arranged`] over the engine's shared trace, for operators that work on arrangements
/// (`join_core`, `reduce_abelian`, the keyed operators of [`ops`](crate::ops)) without
/// arranging the rows again. It is also what `arrange_by_key` makes of a keyed collection.
pub type KeyedArrangement<'s, K, V> = Arranged<'s, TraceAgent<ValSpine<K, V, Time, Diff>>>;

/// A keyed input of the operators of [`ops`](crate::ops): a collection of `(key, value)` rows
/// ([`Rows<'s, (K, V)>`](Rows)), which the operator arranges by key, or a
/// [`KeyedArrangement`], which it reads as it is.
///
/// Both give the same results; the arrangement saves the operator a copy of its input. The
/// trait is sealed: those two are its only implementations.
pub trait Keyed<'s, K: Row, V: Row>: sealed::Sealed {
    /// The input arranged by key; `name` names the arrangement if one is made.
    #[doc(hidden)]
    fn by_key(self, name: &str) -> KeyedArrangement<'s, K, V>;
}

impl<'s, K: Row, V: Row> Keyed<'s, K, V> for Rows<'s, (K, V)> {
    fn by_key(self, name: &str) -> KeyedArrangement<'s, K, V> {
        self.arrange_by_key_named(name)
    }
}

impl<'s, K: Row, V: Row> Keyed<'s, K, V> for KeyedArrangement<'s, K, V> {
    fn by_key(self, _name: &str) -> KeyedArrangement<'s, K, V> {
        self
    }
}

mod sealed {
    use super::KeyedArrangement;
    use crate::ops::Rows;
    use crate::row::Row;

    /// Only this module's types are keyed inputs.
    pub trait Sealed {}

    impl<K, V> Sealed for Rows<'_, (K, V)> {}
    impl<K: Row, V: Row> Sealed for KeyedArrangement<'_, K, V> {}
}

/// Differential's `reduce` on a keyed input, arranged by key if it is not already: `logic`
/// gets each changed key's values, sorted, with their multiplicities, and gives the key's
/// output values; the output is the `(key, value)` collection.
pub(crate) fn reduce_by_key<'s, K: Row, V: Row, O: Row>(
    input: impl Keyed<'s, K, V>,
    name: &str,
    logic: impl FnMut(&K, &[(&V, Diff)], &mut Vec<(O, Diff)>) + 'static,
) -> Rows<'s, (K, O)> {
    input
        .by_key(name)
        .reduce_abelian::<_, ValBuilder<K, O, _, Diff>, ValSpine<K, O, _, Diff>, _, _>(name, logic, with_key)
        .as_collection(|key, value| (key.clone(), value.clone()))
}

/// The `push` of differential's `reduce_abelian` over an arrangement by key: one key's output
/// changes `(value, time, diff)` become the builder's `((key, value), time, diff)`.
pub(crate) fn with_key<K: Clone, V, T, R>(
    pushed: &mut Vec<((K, V), T, R)>,
    key: &K,
    updates: &mut Vec<(V, T, R)>,
) {
    pushed.clear();
    pushed.extend(updates.drain(..).map(|(value, time, diff)| ((key.clone(), value), time, diff)));
}
