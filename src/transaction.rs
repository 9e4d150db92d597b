//! Transactions: how tables change.
//!
//! A [`Transaction`] gathers writes to any number of tables; `commit` makes all of them visible
//! at one timestamp, or none of them. Each table kind buffers its own writes
//! (`source/bag_table.rs`, `source/keyed_table.rs`); the coordinator logs and applies them.

use std::collections::BTreeMap;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::coordinator::Coordinator;
use crate::coordinator::commit::{Buffer, TableWrites, Writes};
use crate::error::{Error, Result};
use crate::protocol::SourceId;
use crate::protocol::backlog::{self, Wait};
use crate::row::Row;
use crate::shard::input::BagWrites;
use crate::source::keyed_table::KeyedUpserts;
use crate::table::{KeyedTable, Table};
use crate::time::{Diff, Time};

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
    core: Arc<Coordinator>,
    writes: BTreeMap<SourceId, Box<dyn Writes>>,
    error: Option<Error>,
}

impl fmt::Debug for Transaction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transaction").field("writes", &self.len()).finish()
    }
}

impl Transaction {
    pub(crate) fn new(core: Arc<Coordinator>) -> Self {
        Transaction { core, writes: BTreeMap::new(), error: None }
    }

    /// Adds one copy of `row` to `table`.
    pub fn insert<T: Row>(&mut self, table: &Table<T>, row: T) {
        self.update(table, row, 1);
    }

    /// Removes one copy of `row` from `table`. Removing a row that is not there leaves a
    /// negative multiplicity (bag semantics), which views see as such: the commit does not
    /// check the table. [`Table::rows_at`](crate::Table::rows_at) catches such a row with
    /// [`Error::NegativeMultiplicity`]; for rows with an identity, a [`KeyedTable`] and
    /// [`delete_key`](Self::delete_key) (a no-op for an absent key) avoid it.
    pub fn delete<T: Row>(&mut self, table: &Table<T>, row: T) {
        self.update(table, row, -1);
    }

    /// Changes the multiplicity of `row` in `table` by `diff` (zero is ignored).
    pub fn update<T: Row>(&mut self, table: &Table<T>, row: T, diff: Diff) {
        if diff == 0 {
            return;
        }
        if let Some(buffer) = self.bag(table) {
            buffer.push((row, 0, diff));
        }
    }

    /// Adds every row of `rows` to `table` once: the fast path for bulk loads.
    pub fn insert_all<T: Row>(&mut self, table: &Table<T>, rows: impl IntoIterator<Item = T>) {
        if let Some(buffer) = self.bag(table) {
            buffer.extend(rows.into_iter().map(|row| (row, 0, 1)));
        }
    }

    /// Sets the value of `key` in `table`, replacing the old value if there is one.
    pub fn upsert<K: Row, V: Row>(&mut self, table: &KeyedTable<K, V>, key: K, value: V) {
        if let Some(buffer) = self.keyed(table) {
            buffer.insert(key, Some(value));
        }
    }

    /// Removes `key` (and its value) from `table`, if it is there; nothing happens if it is
    /// not.
    pub fn delete_key<K: Row, V: Row>(&mut self, table: &KeyedTable<K, V>, key: K) {
        if let Some(buffer) = self.keyed(table) {
            buffer.insert(key, None);
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

    /// Like [`commit`](Self::commit), but waits at most `timeout` for room in the engine's
    /// backlog (see [`BacklogLimit`](crate::BacklogLimit)); [`commit`](Self::commit) waits as
    /// long as it takes.
    ///
    /// On success the transaction is left empty, ready for new writes. If the backlog stays
    /// full, fails with [`Error::Backlogged`]: nothing was applied and the transaction keeps
    /// its writes, to be committed again. On any other error the writes are discarded, as with
    /// `commit`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use ivm::{BacklogLimit, Config, Engine, Error};
    /// # fn main() -> ivm::Result<()> {
    /// let engine = Engine::start(Config::default().with_backlog(BacklogLimit::new(100, 1 << 20)))?;
    /// let events = engine.table::<u64>("events")?;
    /// let mut tx = engine.transaction();
    /// tx.insert(&events, 7);
    /// loop {
    ///     match tx.commit_timeout(Duration::from_millis(10)) {
    ///         Ok(_) => break,
    ///         Err(Error::Backlogged { .. }) => continue, // the writes are still in `tx`
    ///         Err(other) => return Err(other),
    ///     }
    /// }
    /// assert!(tx.is_empty());
    /// # Ok(()) }
    /// ```
    pub fn commit_timeout(&mut self, timeout: Duration) -> Result<Time> {
        self.finish_waiting(backlog::within(timeout))
    }

    /// Like [`commit_timeout`](Self::commit_timeout) with no wait at all: commits only if the
    /// engine's backlog has room now, else fails with [`Error::Backlogged`] and keeps the
    /// writes.
    pub fn try_commit(&mut self) -> Result<Time> {
        self.finish_waiting(backlog::at_once())
    }

    /// Commits at `time`, which must be greater than the last commit time; otherwise fails
    /// with [`Error::TimeNotIncreasing`] and applies nothing. `Time::MAX` is
    /// [`Error::TimeOutOfRange`]. Fails otherwise like [`commit`](Self::commit).
    pub fn commit_at(self, time: Time) -> Result<Time> {
        self.finish(Some(time))
    }

    /// Like [`commit`](Self::commit), as a future that never blocks the thread polling it:
    /// with storage, the log's append and sync (and a checkpoint it may start) run on a thread
    /// of a small pool of `ivm`'s own, shared by every engine of the process; without storage,
    /// a commit does not block and runs where it is polled. Works with any executor.
    ///
    /// Nothing is committed before the future is first polled; once it has been, the commit
    /// happens even if the future is dropped before it is ready. Fails like
    /// [`commit`](Self::commit).
    ///
    /// The future owns what it needs (`'static`), so it can be spawned:
    ///
    /// ```
    /// # use ivm::{Config, Engine};
    /// # async fn example() -> ivm::Result<()> {
    /// let engine = Engine::start(Config::default())?;
    /// let orders = engine.table::<(u32, u64)>("orders")?;
    /// let mut tx = engine.transaction();
    /// tx.insert(&orders, (1, 250));
    /// let t = tx.commit_async().await?;
    /// assert_eq!(orders.at_async(t).await?, vec![((1, 250), 1)]);
    /// # Ok(()) }
    /// ```
    pub fn commit_async(self) -> CommitFuture {
        self.finish_async(None)
    }

    /// Like [`commit_at`](Self::commit_at), as a future; see [`commit_async`](Self::commit_async).
    pub fn commit_at_async(self, time: Time) -> CommitFuture {
        self.finish_async(Some(time))
    }

    fn bag<T: Row>(&mut self, table: &Table<T>) -> Option<&mut BagWrites<T>> {
        self.buffer(table.engine(), table.id, &table.name)
    }

    fn keyed<K: Row, V: Row>(&mut self, table: &KeyedTable<K, V>) -> Option<&mut KeyedUpserts<K, V>> {
        self.buffer(table.engine(), table.id, &table.name)
    }

    /// The writes to table `id` (of engine `engine`) so far, in its kind's form `W`; `None`
    /// (recording the error) if the table belongs to another engine.
    fn buffer<W: TableWrites>(&mut self, engine: u64, id: SourceId, name: &Arc<str>) -> Option<&mut W> {
        if !self.owns(engine, name) {
            return None;
        }
        let buffer = self.writes.entry(id).or_insert_with(|| Box::new(Buffer::<W>::new(Arc::clone(name))));
        buffer.as_any().downcast_mut::<Buffer<W>>().map(|buffer| &mut buffer.writes)
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
        core.commit(writes, at)
    }

    fn finish_waiting(&mut self, wait: Wait) -> Result<Time> {
        if let Some(error) = self.error.take() {
            self.writes.clear();
            return Err(error);
        }
        let permit = self.core.admit(&self.writes, wait)?;
        self.core.commit_admitted(std::mem::take(&mut self.writes), None, permit)
    }

    fn finish_async(self, at: Option<Time>) -> CommitFuture {
        let Transaction { core, writes, error } = self;
        let commit = match error {
            None => Ok(core.commit_async(writes, at)),
            Some(error) => Err(error),
        };
        CommitFuture(Box::pin(async move { commit?.await }))
    }
}

/// A commit on its way: the future of [`Transaction::commit_async`] and
/// [`Engine::commit_async`](crate::Engine::commit_async), ready with the commit's time. It owns
/// what it needs, so it is `Send + 'static`: it can be spawned or kept in a struct.
#[must_use = "nothing is committed until the future is polled"]
pub struct CommitFuture(Pin<Box<dyn Future<Output = Result<Time>> + Send>>);

impl Future for CommitFuture {
    type Output = Result<Time>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<Time>> {
        self.0.as_mut().poll(cx)
    }
}

impl fmt::Debug for CommitFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CommitFuture").finish_non_exhaustive()
    }
}
