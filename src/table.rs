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
use crate::definition::{KeyedArrangement, Views};
#[cfg(doc)]
use crate::error::Error;
use crate::error::Result;
use crate::protocol::SourceId;
use crate::protocol::stats::TraceStats;
use crate::protocol::wire::{ReadKind, encode};
use crate::read::plain::{expand, one_value};
use crate::row::Row;
use crate::shard::layout::{KeyedTrace, RowTrace, worker_of};
use crate::shard::peek::KeySelection;
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

    /// The table's rows at time `t` without multiplicities: each row listed as many times as
    /// the table holds it, in row order.
    ///
    /// Waits and fails like [`at`](Self::at), and with [`Error::NegativeMultiplicity`] if a row
    /// was deleted more often than it was inserted: a bag is a multiset, so deleting a row it
    /// does not hold leaves the row with multiplicity `-1`, which [`at`](Self::at) shows and a
    /// list cannot. (A [`KeyedTable`] has no such rows: `delete_key` of an absent key does
    /// nothing.)
    ///
    /// ```
    /// # use ivm::{Config, Engine, Error};
    /// # fn main() -> ivm::Result<()> {
    /// let engine = Engine::start(Config::default())?;
    /// let tags = engine.table::<String>("tags")?;
    /// let t = engine.commit(|tx| tx.insert_all(&tags, ["red".into(), "red".into(), "blue".into()]))?;
    /// assert_eq!(tags.rows_at(t)?, vec!["blue", "red", "red"]);
    /// let t = engine.commit(|tx| tx.delete(&tags, "green".into()))?; // not in the table
    /// assert_eq!(tags.at(t)?[1], ("green".to_string(), -1));
    /// assert!(matches!(tags.rows_at(t), Err(Error::NegativeMultiplicity { diff: -1, .. })));
    /// # Ok(()) }
    /// ```
    pub fn rows_at(&self, t: Time) -> Result<Vec<T>> {
        expand(self.at(t)?, &self.name, t)
    }

    /// Like [`rows_at`](Self::rows_at), as a future; see
    /// [`View::at_async`](crate::View::at_async).
    pub fn rows_at_async(&self, t: Time) -> impl Future<Output = Result<Vec<T>>> + Send + use<T> {
        let (rows, name) = (self.at_async(t), Arc::clone(&self.name));
        async move { expand(rows.await?, &name, t) }
    }

    /// The table's changes through `t`, as `(row, time, diff)` in time order (then row order):
    /// each commit's writes at its commit time, with the writes older than the retained history
    /// ([`Engine::since`](crate::Engine::since)) summed at `since`. Summing the updates with
    /// `time <= s` gives [`at(s)`](Self::at) for every retained `s <= t`: this is what a batch
    /// job needs to recompute any view at those times (see
    /// [`BatchInputs::table_updates`](crate::batch::BatchInputs::table_updates)). Waits and
    /// fails like [`at`](Self::at).
    ///
    /// ```
    /// # use ivm::{Config, Engine};
    /// # fn main() -> ivm::Result<()> {
    /// let engine = Engine::start(Config::default())?;
    /// let numbers = engine.table::<u64>("numbers")?;
    /// let t1 = engine.commit(|tx| tx.insert(&numbers, 7))?;
    /// let t2 = engine.commit(|tx| tx.delete(&numbers, 7))?;
    /// assert_eq!(numbers.history_at(t2)?, vec![(7, t1, 1), (7, t2, -1)]);
    /// # Ok(()) }
    /// ```
    pub fn history_at(&self, t: Time) -> Result<Vec<(T, Time, Diff)>> {
        let updates =
            self.core.read_rows::<(T, Time, Diff)>(self.id, t, Targets::All, ReadKind::History, None);
        in_time_order(updates, &self.name)
    }

    /// How much the table's arrangement holds, summed over every worker of every process:
    /// its line of [`Engine::stats`](crate::Engine::stats) (see [`TraceStats`]).
    pub fn stats(&self) -> Result<TraceStats> {
        self.core.stats(self.id)
    }

    /// Like [`at`](Self::at), with the rows in the order the workers answered (each worker's
    /// share sorted): for readers that do not need the order, such as a file export.
    #[cfg(feature = "files")]
    pub(crate) fn at_unsorted(&self, t: Time) -> Result<Vec<(T, Diff)>> {
        let rows = self.core.read_rows::<(T, Diff)>(self.id, t, Targets::All, ReadKind::Rows, None);
        rows.map_err(|error| error.reading(&self.name))
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

    /// The table's pairs at `t` with their multiplicities (one), in the order the workers
    /// answered: for readers that do not need the order, such as a file export.
    #[cfg(feature = "files")]
    pub(crate) fn at_unsorted(&self, t: Time) -> Result<Vec<((K, V), Diff)>> {
        let rows = self.core.read_rows::<((K, V), Diff)>(self.id, t, Targets::All, ReadKind::Rows, None);
        rows.map_err(|error| error.reading(&self.name))
    }

    /// Like [`at`](Self::at), as a future that waits for the workers without blocking a
    /// thread; see [`View::at_async`](crate::View::at_async).
    pub fn at_async(&self, t: Time) -> impl Future<Output = Result<Vec<(K, V)>>> + Send + use<K, V> {
        let rows = self.core.read_rows_async::<((K, V), Diff)>(self.id, t, Targets::All, ReadKind::Rows);
        let name = Arc::clone(&self.name);
        async move { pairs(sorted(rows.await, &name)) }
    }

    /// The value of `key` at time `t`, or `None` if the table does not hold the key. Only the
    /// worker that owns `key` is asked, and it seeks straight to the key. Waits and fails like
    /// [`View::at`](crate::View::at).
    ///
    /// ```
    /// # use ivm::{Config, Engine};
    /// # fn main() -> ivm::Result<()> {
    /// let engine = Engine::start(Config::default())?;
    /// let cities = engine.keyed_table::<u32, String>("cities")?;
    /// let t = engine.commit(|tx| tx.upsert(&cities, 1, "Lyon".into()))?;
    /// assert_eq!(cities.value(&1, t)?, Some("Lyon".to_string()));
    /// assert_eq!(cities.value(&2, t)?, None);
    /// # Ok(()) }
    /// ```
    pub fn value(&self, key: &K, t: Time) -> Result<Option<V>> {
        let (read, owner) = self.lookup(key);
        let rows = self.core.read_rows::<((K, V), Diff)>(self.id, t, owner, read, None);
        one_value(sorted(rows, &self.name)?, &self.name, t)
    }

    /// Like [`value`](Self::value), as a future; see [`View::at_async`](crate::View::at_async).
    pub fn value_async(
        &self,
        key: &K,
        t: Time,
    ) -> impl Future<Output = Result<Option<V>>> + Send + use<K, V> {
        let (read, owner) = self.lookup(key);
        let rows = self.core.read_rows_async::<((K, V), Diff)>(self.id, t, owner, read);
        let name = Arc::clone(&self.name);
        async move { one_value(sorted(rows.await, &name)?, &name, t) }
    }

    /// The read of exactly `key`, and the worker that owns it.
    fn lookup(&self, key: &K) -> (ReadKind, Targets) {
        let owner = Targets::One(worker_of(key, self.core.peers()));
        (ReadKind::Keys(encode(&KeySelection::only(key))), owner)
    }

    /// The table's changes through `t`, as `((key, value), time, diff)` in time order: an
    /// upsert that replaces a value is its old pair at `-1` and its new pair at `+1`. As
    /// [`Table::history_at`]: writes older than the retained history are summed at `since`, and
    /// summing up to any retained `s <= t` gives [`at(s)`](Self::at). Waits and fails like
    /// [`at`](Self::at).
    #[allow(clippy::type_complexity, reason = "the update triple of a pair, spelt out for the docs")]
    pub fn history_at(&self, t: Time) -> Result<Vec<((K, V), Time, Diff)>> {
        let updates =
            self.core.read_rows::<((K, V), Time, Diff)>(self.id, t, Targets::All, ReadKind::History, None);
        in_time_order(updates, &self.name)
    }

    /// How much the table's arrangement holds, summed over every worker of every process:
    /// its line of [`Engine::stats`](crate::Engine::stats) (see [`TraceStats`]).
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

/// A table's history in time order, then row order (each worker's answer is in time order, not
/// their concatenation), or the read's error naming the table.
fn in_time_order<R: Ord>(updates: Result<Vec<(R, Time, Diff)>>, name: &str) -> Result<Vec<(R, Time, Diff)>> {
    let mut updates = updates.map_err(|error| error.reading(name))?;
    updates.sort_unstable_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
    Ok(updates)
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

    /// The rows of a bag table as `convert` makes them from each borrowed row: only what
    /// `convert` takes is copied out of the table's arrangement (`ivm::sql` reads Rust tables
    /// through it).
    #[cfg(feature = "sql")]
    pub(crate) fn table_converted<T: Row, D: differential_dataflow::Data>(
        &self,
        table: &Table<T>,
        convert: impl Fn(&T) -> D + Clone + 'static,
    ) -> VecCollection<'s, Time, D, Diff> {
        self.import_converted(table.engine(), table.id(), table.name(), "table", convert)
    }

    /// The `(key, value)` pairs of a keyed table.
    pub fn keyed_table<K: Row, V: Row>(
        &self,
        table: &KeyedTable<K, V>,
    ) -> VecCollection<'s, Time, (K, V), Diff> {
        self.import::<KeyedTrace<K, V>>(table.engine(), table.id(), table.name(), "keyed table")
    }

    /// A keyed table as its arrangement by key: the table's own shared arrangement, imported
    /// into the view without copying a row out of it or arranging it again. Join it with
    /// differential's `join_core` (or use any operator on arrangements) instead of
    /// [`keyed_table`](Self::keyed_table) and `join`, which copies every pair out and arranges
    /// them again in the view. In a batch run the table's rows are arranged once here.
    ///
    /// ```
    /// use ivm::{Config, Engine};
    /// # fn main() -> ivm::Result<()> {
    /// let engine = Engine::start(Config::default())?;
    /// let names = engine.keyed_table::<u32, String>("names")?; // customer -> name
    /// let orders = engine.table::<(u32, u64)>("orders")?; // (customer, cents)
    /// let named = engine.view("named_orders", {
    ///     let (names, orders) = (names.clone(), orders.clone());
    ///     move |v| {
    ///         let by_customer = v.table(&orders).arrange_by_key();
    ///         by_customer.join_core(v.keyed_table_arranged(&names), |_, cents, name| {
    ///             Some((name.clone(), *cents))
    ///         })
    ///     }
    /// })?;
    /// let t = engine.commit(|tx| {
    ///     tx.upsert(&names, 7, "ann".into());
    ///     tx.insert(&orders, (7, 250));
    /// })?;
    /// assert_eq!(named.at(t)?, vec![(("ann".to_string(), 250), 1)]);
    /// # Ok(()) }
    /// ```
    pub fn keyed_table_arranged<K: Row, V: Row>(
        &self,
        table: &KeyedTable<K, V>,
    ) -> KeyedArrangement<'s, K, V> {
        self.import_arranged(table.engine(), table.id(), table.name(), "keyed table")
    }
}
