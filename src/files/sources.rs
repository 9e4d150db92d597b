//! What the file functions take: the engine's handles, through three sealed traits.

use std::any::Any;

use crate::coordinator::{Coordinator, Targets};
use crate::error::{Error, Result};
use crate::files::columns::{Pair, Shape, Whole};
use crate::protocol::SourceId;
use crate::protocol::wire::{ReadKind, Visitor};
use crate::read::subscribe::{SubscribeOptions, Subscription};
use crate::row::Row;
use crate::table::{KeyedTable, Table};
use crate::time::{Diff, Time};
use crate::transaction::Transaction;
use crate::view::{KeyedView, View};

mod sealed {
    pub trait Sealed {}
}
use sealed::Sealed;

/// A table or view that can be written as a file: [`Table`], [`KeyedTable`], [`View`] and
/// [`KeyedView`]. Sealed: the crate's handles are the only ones.
pub trait Source: Sealed {
    /// The source's rows: `T`, or `(K, V)` for a keyed source.
    type Row: Row;
    #[doc(hidden)]
    type Shape: Shape<Row = Self::Row>;
    /// The table's or view's name.
    fn source_name(&self) -> &str;
    /// The source's rows at `t`, with their multiplicities, in the order the workers answered.
    #[doc(hidden)]
    fn rows_with_diffs(&self, t: Time) -> Result<Vec<(Self::Row, Diff)>>;
    /// Each worker's finished sink of a visit read at `t`; `None` where only a row read
    /// answers (see [`visited`]).
    #[doc(hidden)]
    fn visit_at(&self, t: Time, visitor: Visitor) -> Result<Option<Vec<Box<dyn Any + Send>>>>;
}

/// The workers' answers to a visit read of `id` (called `name`) at `t`, if this process holds
/// every worker; `None` in a cluster of processes (the other processes answer rows only) and
/// at a time older than memory (a view's row read answers it from the stored files, a table's
/// fails with the error that names it).
fn visited(
    core: &Coordinator,
    id: SourceId,
    name: &str,
    t: Time,
    visitor: Visitor,
) -> Result<Option<Vec<Box<dyn Any + Send>>>> {
    if core.workers() != core.peers() {
        return Ok(None);
    }
    match core.read(id, t, Targets::All, ReadKind::Visit(visitor), None) {
        Ok(parts) => Ok(Some(parts)),
        Err(Error::Compacted { .. }) => Ok(None),
        Err(error) => Err(error.reading(name)),
    }
}

/// A view whose change stream can be written as files: [`View`] and [`KeyedView`].
pub trait Changing: Source {
    #[doc(hidden)]
    fn subscribe_exactly(&self, options: SubscribeOptions) -> Result<Subscription<Self::Row>>;
}

/// A table that files can be loaded into, and whose history can be written: [`Table`] (each
/// row inserted) and [`KeyedTable`] (each `(key, value)` upserted: a key met twice keeps its
/// last value).
pub trait Input: Source {
    /// A new transaction on the table's engine.
    #[doc(hidden)]
    fn transaction(&self) -> Transaction;
    #[doc(hidden)]
    fn write(&self, transaction: &mut Transaction, row: Self::Row);
    #[doc(hidden)]
    fn history(&self, t: Time) -> Result<Vec<(Self::Row, Time, Diff)>>;
}

impl<R: Row> Sealed for View<R> {}
impl<K: Row, V: Row> Sealed for KeyedView<K, V> {}
impl<T: Row> Sealed for Table<T> {}
impl<K: Row, V: Row> Sealed for KeyedTable<K, V> {}

impl<R: Row> Source for View<R> {
    type Row = R;
    type Shape = Whole<R>;
    fn source_name(&self) -> &str {
        self.name()
    }
    fn rows_with_diffs(&self, t: Time) -> Result<Vec<(R, Diff)>> {
        self.at_unsorted(t)
    }
    fn visit_at(&self, t: Time, visitor: Visitor) -> Result<Option<Vec<Box<dyn Any + Send>>>> {
        visited(&self.core, self.id, self.name(), t, visitor)
    }
}

impl<K: Row, V: Row> Source for KeyedView<K, V> {
    type Row = (K, V);
    type Shape = Pair<K, V>;
    fn source_name(&self) -> &str {
        self.name()
    }
    fn rows_with_diffs(&self, t: Time) -> Result<Vec<((K, V), Diff)>> {
        self.at_unsorted(t)
    }
    fn visit_at(&self, t: Time, visitor: Visitor) -> Result<Option<Vec<Box<dyn Any + Send>>>> {
        visited(&self.core, self.id, self.name(), t, visitor)
    }
}

impl<T: Row> Source for Table<T> {
    type Row = T;
    type Shape = Whole<T>;
    fn source_name(&self) -> &str {
        self.name()
    }
    fn rows_with_diffs(&self, t: Time) -> Result<Vec<(T, Diff)>> {
        self.at_unsorted(t)
    }
    fn visit_at(&self, t: Time, visitor: Visitor) -> Result<Option<Vec<Box<dyn Any + Send>>>> {
        visited(&self.core, self.id(), self.name(), t, visitor)
    }
}

impl<K: Row, V: Row> Source for KeyedTable<K, V> {
    type Row = (K, V);
    type Shape = Pair<K, V>;
    fn source_name(&self) -> &str {
        self.name()
    }
    fn rows_with_diffs(&self, t: Time) -> Result<Vec<((K, V), Diff)>> {
        self.at_unsorted(t)
    }
    fn visit_at(&self, t: Time, visitor: Visitor) -> Result<Option<Vec<Box<dyn Any + Send>>>> {
        visited(&self.core, self.id(), self.name(), t, visitor)
    }
}

impl<R: Row> Changing for View<R> {
    fn subscribe_exactly(&self, options: SubscribeOptions) -> Result<Subscription<R>> {
        self.subscribe_with(options.exact())
    }
}

impl<K: Row, V: Row> Changing for KeyedView<K, V> {
    fn subscribe_exactly(&self, options: SubscribeOptions) -> Result<Subscription<(K, V)>> {
        self.subscribe_with(options.exact())
    }
}

impl<T: Row> Input for Table<T> {
    fn transaction(&self) -> Transaction {
        Transaction::new(std::sync::Arc::clone(&self.core))
    }
    fn write(&self, transaction: &mut Transaction, row: T) {
        transaction.insert(self, row);
    }
    fn history(&self, t: Time) -> Result<Vec<(T, Time, Diff)>> {
        self.history_at(t)
    }
}

impl<K: Row, V: Row> Input for KeyedTable<K, V> {
    fn transaction(&self) -> Transaction {
        Transaction::new(std::sync::Arc::clone(&self.core))
    }
    fn write(&self, transaction: &mut Transaction, (key, value): (K, V)) {
        transaction.upsert(self, key, value);
    }
    fn history(&self, t: Time) -> Result<Vec<((K, V), Time, Diff)>> {
        self.history_at(t)
    }
}
