//! Committing a transaction: a time from the clock, the log, then every worker's share.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::Arc;

use super::{Coordinator, Operation};
use crate::blocking;
use crate::error::{Error, Result};
use crate::protocol::SourceId;
use crate::protocol::backlog::{self, Permit, Wait};
use crate::time::Time;

/// A transaction with at least this many writes to one table is split across all workers
/// instead of going to one of them, so bulk loads use every worker.
const SPLIT_THRESHOLD: usize = 4_096;

/// One table's writes in a transaction, in its kind's own form; each table kind implements it
/// for its write type (`source/bag_table.rs`, `source/keyed_table.rs`).
pub(crate) trait TableWrites: Default + Send + 'static {
    fn len(&self) -> usize;
    /// An estimate of the writes' size in memory (their rows' in-line size), for the backlog.
    fn bytes(&self) -> usize;
    /// The writes as the table's codec decodes them from the log.
    fn encode(&self) -> Vec<u8>;
    /// Splits the writes into `parts` pieces, each what the table's input takes on a worker.
    fn split(self, parts: usize) -> Vec<Box<dyn Any + Send>>;
}

/// The writes of one transaction to one table, before they are sent to workers.
pub(crate) struct Buffer<W> {
    pub(crate) writes: W,
    /// The table's name, as the log records it.
    table: Arc<str>,
}

impl<W: TableWrites> Buffer<W> {
    pub(crate) fn new(table: Arc<str>) -> Self {
        Buffer { writes: W::default(), table }
    }
}

/// A [`Buffer`] of any table's writes, as a transaction holds it.
pub(crate) trait Writes: Send {
    fn as_any(&mut self) -> &mut dyn Any;
    fn len(&self) -> usize;
    fn bytes(&self) -> usize;
    fn table(&self) -> &str;
    fn encode(&self) -> Vec<u8>;
    fn split(self: Box<Self>, parts: usize) -> Vec<Box<dyn Any + Send>>;
}

impl<W: TableWrites> Writes for Buffer<W> {
    fn as_any(&mut self) -> &mut dyn Any {
        self
    }

    fn len(&self) -> usize {
        self.writes.len()
    }

    fn bytes(&self) -> usize {
        self.writes.bytes()
    }

    fn table(&self) -> &str {
        &self.table
    }

    fn encode(&self) -> Vec<u8> {
        self.writes.encode()
    }

    fn split(self: Box<Self>, parts: usize) -> Vec<Box<dyn Any + Send>> {
        self.writes.split(parts)
    }
}

/// One transaction's writes, by table.
pub(crate) type TransactionWrites = BTreeMap<SourceId, Box<dyn Writes>>;

impl Coordinator {
    /// Commits `writes` at `at` (which must be after the last commit) or at the next time, and
    /// returns the time, once the backlog has room for it (waiting as long as it takes).
    /// Logged before anything is applied: a failed append (or a write to a dropped table)
    /// fails the commit and applies nothing.
    pub(crate) fn commit(&self, writes: TransactionWrites, at: Option<Time>) -> Result<Time> {
        let permit = self.admit(&writes, Wait::Forever)?;
        self.commit_admitted(writes, at, permit)
    }

    /// Room in the backlog for `writes`, waiting as `wait` allows; [`Error::Backlogged`]
    /// if the wait ends first.
    pub(crate) fn admit(&self, writes: &TransactionWrites, wait: Wait) -> Result<Permit<'_>> {
        self.health.check()?;
        let bytes = writes.values().map(|writes| writes.bytes()).sum();
        self.health.backlog().admit(bytes, wait).map_err(|error| match error {
            Error::Shutdown => super::returned(self.health.terminal_error()),
            other => super::returned(other),
        })
    }

    /// Commits `writes`, for which `permit` holds room in the backlog.
    pub(crate) fn commit_admitted(
        &self,
        writes: TransactionWrites,
        at: Option<Time>,
        permit: Permit<'_>,
    ) -> Result<Time> {
        let (time, ticket, checkpoint) = self.sequence(|state| {
            for &table in writes.keys() {
                state.catalog.check_live(table)?;
            }
            let time = match at {
                Some(time) => state.clock.check(time)?,
                None => state.clock.next()?,
            };
            let mut ticket = None;
            let mut checkpoint = false;
            if let Some(store) = state.store.as_mut() {
                let encoded = writes.values().map(|w| (w.table().to_string(), w.encode())).collect();
                ticket = store.append(time, encoded)?;
                checkpoint = store.wants_checkpoint();
            }
            let workers = state.workers();
            for (table, writes) in writes {
                if writes.len() > 0 {
                    state.catalog.wrote(table);
                }
                let pieces = if writes.len() >= SPLIT_THRESHOLD && workers > 1 {
                    writes.split(workers).into_iter().enumerate().collect()
                } else if writes.len() > 0 {
                    let worker = state.next_writer();
                    writes.split(1).into_iter().map(|piece| (worker, piece)).collect()
                } else {
                    continue;
                };
                self.dispatch(state, Operation::Write { table, time, pieces })?;
            }
            state.clock.record(time);
            state.drop_lagging_consumers(time);
            let since = state.clock.since();
            self.dispatch(state, Operation::Advance { upper: time + 1, since })?;
            permit.accept(time);
            Ok((time, ticket, checkpoint))
        })?;
        if let Some(ticket) = ticket {
            ticket.wait().map_err(super::returned)?;
        }
        if checkpoint {
            self.checkpoint(false)?;
        }
        Ok(time)
    }

    /// Like [`commit`](Self::commit), without blocking the polling thread: with storage (whose
    /// appends, syncs and checkpoints block), or when it must wait for room in the backlog,
    /// the commit runs on a thread of the blocking pool; otherwise it only takes the
    /// coordinator's lock briefly and runs where it is polled. Once polled, the commit happens
    /// even if the future is dropped before it is ready.
    pub(crate) fn commit_async(
        self: &Arc<Self>,
        writes: TransactionWrites,
        at: Option<Time>,
    ) -> impl Future<Output = Result<Time>> + Send + use<> {
        let coordinator = Arc::clone(self);
        async move {
            if !coordinator.stored {
                match coordinator.admit(&writes, backlog::at_once()) {
                    Ok(permit) => return coordinator.commit_admitted(writes, at, permit),
                    Err(Error::Backlogged { .. }) => {}
                    Err(error) => return Err(error),
                }
            }
            blocking::run(move || coordinator.commit(writes, at)).await
        }
    }
}
