//! Tables (the inputs) and transactions (how they change).
//!
//! A bag [`Table`] holds a multiset of rows: `insert`, `delete`, or `update` with any
//! multiplicity. A [`KeyedTable`] holds at most one value per key: `upsert` replaces the value,
//! `delete_key` removes it, and the caller never needs to know the old value.
//!
//! A [`Transaction`] gathers writes to any number of tables; `commit` makes all of them visible
//! at one timestamp, or none of them.

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::persist::{checkpoint, codec};
use crate::read::peek::{self, Targets};
use crate::row::Row;
use crate::runtime::Core;
use crate::runtime::arrangement::TraceStats;
use crate::runtime::cluster::wire::Control;
use crate::runtime::command::Command;
use crate::runtime::peek::KeySelection;
use crate::runtime::registry::SourceId;
use crate::runtime::table_input::{BagWrites, KeyedWrites, split_vec};
use crate::time::{Diff, Time};

/// A transaction with at least this many writes to one table is split across all workers
/// instead of going to one of them, so bulk loads use every worker.
const SPLIT_THRESHOLD: usize = 4_096;

/// A bag table of rows of type `T`. Cheap to clone; `Send + Sync`.
pub struct Table<T> {
    pub(crate) core: Arc<Core>,
    pub(crate) id: SourceId,
    pub(crate) name: Arc<str>,
    pub(crate) row: PhantomData<fn() -> T>,
}

/// A keyed table: at most one value of type `V` per key of type `K`. Cheap to clone;
/// `Send + Sync`.
pub struct KeyedTable<K, V> {
    pub(crate) core: Arc<Core>,
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

    /// How much the table's arrangement holds, summed over workers.
    pub fn stats(&self) -> Result<TraceStats> {
        peek::stats(&self.core, self.id)
    }

    fn at_inner(&self, t: Time, timeout: Option<Duration>) -> Result<Vec<(T, Diff)>> {
        peek::rows(&self.core, self.id, t, timeout).map_err(|error| error.reading(&self.name))
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
        let rows = peek::keyed_rows(&self.core, self.id, t, KeySelection::All, Targets::All, None)
            .map_err(|error| error.reading(&self.name))?;
        Ok(rows.into_iter().map(|(pair, _)| pair).collect())
    }

    /// How much the table's arrangement holds, summed over workers.
    pub fn stats(&self) -> Result<TraceStats> {
        peek::stats(&self.core, self.id)
    }
}

/// The writes of one transaction to one table, before they are sent to workers.
trait PendingWrites: Send {
    fn as_any(&mut self) -> &mut dyn Any;
    fn len(&self) -> usize;
    /// The table's name, as the log records it.
    fn table(&self) -> &str;
    /// The writes as the table's codec decodes them from the log.
    fn encode(&self) -> Vec<u8>;
    /// Splits the writes into `parts` pieces of the table's write type.
    fn split(self: Box<Self>, parts: usize) -> Vec<Box<dyn Any + Send>>;
}

struct BagBuffer<T>(BagWrites<T>, Arc<str>);

impl<T: Row> PendingWrites for BagBuffer<T> {
    fn as_any(&mut self) -> &mut dyn Any {
        self
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn table(&self) -> &str {
        &self.1
    }

    fn encode(&self) -> Vec<u8> {
        codec::encode(&self.0.iter().map(|(row, _, diff)| (row, *diff)).collect::<Vec<_>>())
    }

    fn split(self: Box<Self>, parts: usize) -> Vec<Box<dyn Any + Send>> {
        split_vec(self.0, parts)
    }
}

/// The last write per key wins within a transaction.
struct KeyedBuffer<K, V>(hashbrown::HashMap<K, Option<V>>, Arc<str>);

impl<K: Row, V: Row> PendingWrites for KeyedBuffer<K, V> {
    fn as_any(&mut self) -> &mut dyn Any {
        self
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn table(&self) -> &str {
        &self.1
    }

    fn encode(&self) -> Vec<u8> {
        codec::encode(&self.0.iter().collect::<Vec<_>>())
    }

    fn split(self: Box<Self>, parts: usize) -> Vec<Box<dyn Any + Send>> {
        let writes: KeyedWrites<K, V> = self.0.into_iter().map(|(k, v)| (k, v, 0)).collect();
        split_vec(writes, parts)
    }
}

/// Writes to several tables that become visible together at one timestamp.
///
/// Build one with [`Engine::transaction`](crate::Engine::transaction), or use
/// [`Engine::commit`](crate::Engine::commit) with a closure. Writes are buffered here; nothing
/// is visible before `commit`, and a failed commit applies nothing. Dropping a transaction
/// without committing discards it.
///
/// ```
/// use ivm::{Config, Engine};
/// # fn main() -> ivm::Result<()> {
/// let engine = Engine::start(Config::default())?;
/// let accounts = engine.keyed_table::<String, i64>("accounts")?;
/// let transfers = engine.table::<(String, String, i64)>("transfers")?;
///
/// // A transfer and both balances change at one time, or not at all.
/// let mut tx = engine.transaction();
/// tx.upsert(&accounts, "ann".into(), 70);
/// tx.upsert(&accounts, "bob".into(), 130);
/// tx.insert(&transfers, ("ann".into(), "bob".into(), 30));
/// assert_eq!(tx.len(), 3);
/// let t = tx.commit()?;
/// assert_eq!(accounts.at(t)?, vec![("ann".into(), 70), ("bob".into(), 130)]);
/// # Ok(()) }
/// ```
pub struct Transaction {
    core: Arc<Core>,
    writes: BTreeMap<SourceId, Box<dyn PendingWrites>>,
    error: Option<Error>,
}

impl fmt::Debug for Transaction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transaction").field("writes", &self.len()).finish()
    }
}

impl Transaction {
    pub(crate) fn new(core: Arc<Core>) -> Self {
        Transaction { core, writes: BTreeMap::new(), error: None }
    }

    /// Adds one copy of `row` to `table`.
    pub fn insert<T: Row>(&mut self, table: &Table<T>, row: T) {
        self.update(table, row, 1);
    }

    /// Removes one copy of `row` from `table`. Removing a row that is not there leaves a
    /// negative multiplicity (bag semantics), which views see as such.
    pub fn delete<T: Row>(&mut self, table: &Table<T>, row: T) {
        self.update(table, row, -1);
    }

    /// Changes the multiplicity of `row` in `table` by `diff` (zero is ignored).
    pub fn update<T: Row>(&mut self, table: &Table<T>, row: T, diff: Diff) {
        if diff == 0 {
            return;
        }
        if let Some(buffer) = self.bag(table) {
            buffer.0.push((row, 0, diff));
        }
    }

    /// Adds every row of `rows` to `table` once: the fast path for bulk loads.
    pub fn insert_all<T: Row>(&mut self, table: &Table<T>, rows: impl IntoIterator<Item = T>) {
        if let Some(buffer) = self.bag(table) {
            buffer.0.extend(rows.into_iter().map(|row| (row, 0, 1)));
        }
    }

    /// Sets the value of `key` in `table`, replacing the old value if there is one.
    pub fn upsert<K: Row, V: Row>(&mut self, table: &KeyedTable<K, V>, key: K, value: V) {
        if let Some(buffer) = self.keyed(table) {
            buffer.0.insert(key, Some(value));
        }
    }

    /// Removes `key` (and its value) from `table`, if it is there.
    pub fn delete_key<K: Row, V: Row>(&mut self, table: &KeyedTable<K, V>, key: K) {
        if let Some(buffer) = self.keyed(table) {
            buffer.0.insert(key, None);
        }
    }

    /// The number of buffered writes (upserts of one key count once).
    pub fn len(&self) -> usize {
        self.writes.values().map(|w| w.len()).sum()
    }

    /// True if nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Commits at the next engine-assigned time (the last commit time plus one) and returns it.
    ///
    /// Fails with [`Error::ForeignHandle`] if a write named a table of another engine, with
    /// [`Error::Io`] if the write-ahead log could not be written (with storage), and with the
    /// errors every call can return (see [`Engine`](crate::Engine#errors-every-call-can-return)).
    /// A failed commit applies nothing.
    pub fn commit(self) -> Result<Time> {
        self.finish(None)
    }

    /// Commits at `time`, which must be greater than the last commit time; otherwise fails
    /// with [`Error::TimeNotIncreasing`] and applies nothing. `Time::MAX` is
    /// [`Error::TimeOutOfRange`]. Fails otherwise like [`commit`](Self::commit).
    pub fn commit_at(self, time: Time) -> Result<Time> {
        self.finish(Some(time))
    }

    fn bag<T: Row>(&mut self, table: &Table<T>) -> Option<&mut BagBuffer<T>> {
        if !self.owns(table.engine(), &table.name) {
            return None;
        }
        let name = Arc::clone(&table.name);
        let buffer =
            self.writes.entry(table.id).or_insert_with(|| Box::new(BagBuffer::<T>(Vec::new(), name)));
        buffer.as_any().downcast_mut::<BagBuffer<T>>()
    }

    fn keyed<K: Row, V: Row>(&mut self, table: &KeyedTable<K, V>) -> Option<&mut KeyedBuffer<K, V>> {
        if !self.owns(table.engine(), &table.name) {
            return None;
        }
        let buffer = self.writes.entry(table.id).or_insert_with(|| {
            Box::new(KeyedBuffer::<K, V>(hashbrown::HashMap::new(), Arc::clone(&table.name)))
        });
        buffer.as_any().downcast_mut::<KeyedBuffer<K, V>>()
    }

    /// Records an error (failing the commit) if a handle belongs to another engine.
    fn owns(&mut self, engine: u64, name: &str) -> bool {
        if engine == self.core.id() {
            return true;
        }
        self.error.get_or_insert(Error::ForeignHandle { name: name.to_string() });
        false
    }

    fn finish(self, at: Option<Time>) -> Result<Time> {
        let Transaction { core, writes, error } = self;
        if let Some(error) = error {
            return Err(error);
        }
        let (time, ticket, checkpoint) = core.sequence(|sequencer| {
            let time = match at {
                Some(time) => sequencer.clock.check(time)?,
                None => sequencer.clock.next()?,
            };
            // Logged before anything is applied: a failed append fails the commit.
            let mut ticket = None;
            let mut checkpoint = false;
            if let Some(store) = sequencer.store.as_mut() {
                let encoded = writes.values().map(|w| (w.table().to_string(), w.encode())).collect();
                ticket = store.append(time, encoded)?;
                checkpoint = store.wants_checkpoint();
            }
            let workers = sequencer.workers();
            for (table, writes) in writes {
                if writes.len() >= SPLIT_THRESHOLD && workers > 1 {
                    for (worker, part) in writes.split(workers).into_iter().enumerate() {
                        sequencer.send(worker, Command::Write { table, time, writes: part })?;
                    }
                } else if writes.len() > 0 {
                    let worker = sequencer.next_writer();
                    for part in writes.split(1) {
                        sequencer.send(worker, Command::Write { table, time, writes: part })?;
                    }
                }
            }
            let since = sequencer.clock.record(time);
            sequencer.broadcast(|| Command::Advance { upper: time + 1, since })?;
            sequencer.forward(Control::Advance { upper: time + 1, since }, None)?;
            Ok((time, ticket, checkpoint))
        })?;
        if let Some(ticket) = ticket {
            ticket.wait()?;
        }
        if checkpoint {
            checkpoint::run(&core, false)?;
        }
        Ok(time)
    }
}

#[cfg(test)]
mod tests {
    use crate::runtime::table_input::split_vec;

    #[test]
    fn split_keeps_every_write_once() {
        for len in [0, 1, 5, 4_096, 10_001] {
            for parts in 1..5 {
                let pieces = split_vec((0..len).collect::<Vec<u32>>(), parts);
                assert!(pieces.len() <= parts.max(1));
                let mut all: Vec<u32> =
                    pieces.into_iter().flat_map(|p| *p.downcast::<Vec<u32>>().unwrap()).collect();
                all.sort();
                assert_eq!(all, (0..len).collect::<Vec<u32>>());
            }
        }
    }
}
