//! Tables, the inputs: the handles users write to (through a [`Transaction`](crate::Transaction))
//! and read, and how a view definition reads them.
//!
//! A bag [`Table`] holds a multiset of rows: `insert`, `delete`, or `update` with any
//! multiplicity. A [`KeyedTable`] holds at most one value per key: `upsert` replaces the value,
//! `delete_key` removes it, and the caller never needs to know the old value.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use differential_dataflow::VecCollection;

use crate::coordinator::{Coordinator, Targets};
use crate::definition::Views;
#[cfg(doc)]
use crate::error::Error;
use crate::error::Result;
use crate::protocol::SourceId;
use crate::protocol::stats::TraceStats;
use crate::protocol::wire::ReadKind;
use crate::row::Row;
use crate::shard::layout::{KeyedTrace, RowTrace};
use crate::time::{Diff, Time};

/// A bag table of rows of type `T`. Cheap to clone; `Send + Sync`.
pub struct Table<T> {
    pub(crate) core: Arc<Coordinator>,
    pub(crate) id: SourceId,
    pub(crate) name: Arc<str>,
    pub(crate) row: PhantomData<fn() -> T>,
}

/// A keyed table: at most one value of type `V` per key of type `K`. Cheap to clone;
/// `Send + Sync`.
pub struct KeyedTable<K, V> {
    pub(crate) core: Arc<Coordinator>,
    pub(crate) id: SourceId,
    pub(crate) name: Arc<str>,
    pub(crate) row: PhantomData<fn() -> (K, V)>,
}

impl<T> Clone for Table<T> {
    fn clone(&self) -> Self {
        Table { core: Arc::clone(&self.core), id: self.id, name: Arc::clone(&self.name), row: PhantomData }
    }
}

impl<K, V> Clone for KeyedTable<K, V> {
    fn clone(&self) -> Self {
        KeyedTable {
            core: Arc::clone(&self.core),
            id: self.id,
            name: Arc::clone(&self.name),
            row: PhantomData,
        }
    }
}

impl<T> fmt::Debug for Table<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Table").field("name", &self.name).finish()
    }
}

impl<K, V> fmt::Debug for KeyedTable<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyedTable").field("name", &self.name).finish()
    }
}

impl<T: Row> Table<T> {
    /// The table's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn engine(&self) -> u64 {
        self.core.id()
    }

    pub(crate) fn id(&self) -> SourceId {
        self.id
    }

    /// The table's rows at time `t`, sorted, with their multiplicities; waits and fails like
    /// [`View::at`](crate::View::at).
    pub fn at(&self, t: Time) -> Result<Vec<(T, Diff)>> {
        self.at_inner(t, None)
    }

    /// Like [`at`](Self::at), but gives up with [`Error::Timeout`] after `timeout`.
    pub fn at_timeout(&self, t: Time, timeout: Duration) -> Result<Vec<(T, Diff)>> {
        self.at_inner(t, Some(timeout))
    }

    /// Like [`at`](Self::at), as a future that waits for the workers without blocking a
    /// thread; see [`View::at_async`](crate::View::at_async).
    pub fn at_async(&self, t: Time) -> impl Future<Output = Result<Vec<(T, Diff)>>> + Send + use<T> {
        let rows = self.core.read_rows_async::<(T, Diff)>(self.id, t, Targets::All, ReadKind::Rows);
        let name = Arc::clone(&self.name);
        async move { sorted(rows.await, &name) }
    }

    /// How much the table's arrangement holds, summed over workers.
    pub fn stats(&self) -> Result<TraceStats> {
        self.core.stats(self.id)
    }

    fn at_inner(&self, t: Time, timeout: Option<Duration>) -> Result<Vec<(T, Diff)>> {
        sorted(
            self.core.read_rows::<(T, Diff)>(self.id, t, Targets::All, ReadKind::Rows, timeout),
            &self.name,
        )
    }
}

impl<K: Row, V: Row> KeyedTable<K, V> {
    /// The table's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn engine(&self) -> u64 {
        self.core.id()
    }

    pub(crate) fn id(&self) -> SourceId {
        self.id
    }

    /// The table's `(key, value)` pairs at time `t`, sorted by key; waits and fails like
    /// [`View::at`](crate::View::at).
    pub fn at(&self, t: Time) -> Result<Vec<(K, V)>> {
        let rows = self.core.read_rows::<((K, V), Diff)>(self.id, t, Targets::All, ReadKind::Rows, None);
        pairs(sorted(rows, &self.name))
    }

    /// Like [`at`](Self::at), as a future that waits for the workers without blocking a
    /// thread; see [`View::at_async`](crate::View::at_async).
    pub fn at_async(&self, t: Time) -> impl Future<Output = Result<Vec<(K, V)>>> + Send + use<K, V> {
        let rows = self.core.read_rows_async::<((K, V), Diff)>(self.id, t, Targets::All, ReadKind::Rows);
        let name = Arc::clone(&self.name);
        async move { pairs(sorted(rows.await, &name)) }
    }

    /// How much the table's arrangement holds, summed over workers.
    pub fn stats(&self) -> Result<TraceStats> {
        self.core.stats(self.id)
    }
}

/// A table's rows sorted by row (each worker's answer is sorted, not their concatenation), or
/// the read's error naming the table.
fn sorted<R: Ord>(rows: Result<Vec<(R, Diff)>>, name: &str) -> Result<Vec<(R, Diff)>> {
    let mut rows = rows.map_err(|error| error.reading(name))?;
    rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok(rows)
}

/// A keyed table's pairs (each with multiplicity one).
fn pairs<K, V>(rows: Result<Vec<((K, V), Diff)>>) -> Result<Vec<(K, V)>> {
    rows.map(|rows| rows.into_iter().map(|(pair, _)| pair).collect())
}

impl<'s> Views<'s> {
    /// The rows of a bag table, with their multiplicities.
    pub fn table<T: Row>(&self, table: &Table<T>) -> VecCollection<'s, Time, T, Diff> {
        self.import::<RowTrace<T>>(table.engine(), table.id(), table.name(), "table")
    }

    /// The `(key, value)` pairs of a keyed table.
    pub fn keyed_table<K: Row, V: Row>(
        &self,
        table: &KeyedTable<K, V>,
    ) -> VecCollection<'s, Time, (K, V), Diff> {
        self.import::<KeyedTrace<K, V>>(table.engine(), table.id(), table.name(), "keyed table")
    }
}
