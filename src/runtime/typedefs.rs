//! The names of every differential spine the engine keeps, in one place.

use differential_dataflow::operators::arrange::TraceAgent;
use differential_dataflow::trace::implementations::{KeySpine, ValSpine};

use crate::time::{Diff, Time};

/// A collection of rows arranged by the whole row: bag tables and plain views.
pub(crate) type RowTrace<R> = TraceAgent<KeySpine<R, Time, Diff>>;

/// A collection of `(key, value)` pairs arranged by key: keyed tables and keyed views.
pub(crate) type KeyedTrace<K, V> = TraceAgent<ValSpine<K, V, Time, Diff>>;
