//! Reads: a source at a time, gathered from the workers that hold it.
//!
//! A read is sent, in sequence with commits, to every worker holding part of the answer; each
//! answers once, from its own shard, as soon as the shard is complete through the time. The
//! answers are merged here. If the caller stops waiting (a timeout), the read is cancelled on
//! the workers so it no longer holds back compaction.

use std::any::Any;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::RecvTimeoutError;

use super::receivers::{RowsReceiver, StatsReceiver};
use super::{Coordinator, Operation, Targets};
use crate::error::{Error, Result};
use crate::protocol::reply::LocalAnswer;
use crate::protocol::stats::TraceStats;
use crate::protocol::wire::{ReadKind, Receiver};
use crate::protocol::{SourceId, next_request};
use crate::shard::kind::mismatched;
use crate::time::Time;

/// One table's history through a time, for batch runs and checkpoints.
pub(crate) struct History {
    pub(crate) id: SourceId,
    pub(crate) name: String,
    /// `Vec<(row, time, diff)>` of the table's row type, in time order.
    pub(crate) rows: Arc<dyn Any + Send + Sync>,
}

impl Coordinator {
    /// Reads `source` at `time` on `targets` and returns every worker's answer (a `Vec` of the
    /// read's row type), unmerged. Waits until the source is complete through `time`, at most
    /// `timeout`.
    pub(crate) fn read(
        &self,
        source: SourceId,
        time: Time,
        targets: Targets,
        read: ReadKind,
        timeout: Option<Duration>,
    ) -> Result<Vec<Box<dyn Any + Send>>> {
        let started = Instant::now();
        let (reply, answers) = crossbeam_channel::unbounded();
        let cancelled = Arc::new(AtomicBool::new(false));
        let expected = self.sequence(|state| {
            let placement = targets.place(state.workers(), self.role.remote_workers());
            let remote = match placement.others {
                0 => None,
                remaining => {
                    let kind = state
                        .catalog
                        .kind_of(source)
                        .ok_or_else(|| Error::UnknownName { kind: "view", name: format!("#{source}") })?;
                    let (reply, read) = (reply.clone(), read.clone());
                    let receiver: Box<dyn Receiver> = Box::new(RowsReceiver { reply, remaining, kind, read });
                    Some((next_request(), receiver))
                }
            };
            let cancelled = Arc::clone(&cancelled);
            let operation =
                Operation::Peek { source, time, placement, read, reply: reply.clone(), cancelled, remote };
            self.dispatch(state, operation)
        })?;
        drop(reply);
        let deadline = timeout.map(|timeout| started + timeout);
        let result = self.collect(&answers, expected, deadline);
        if let Err(Error::Timeout { .. }) = result {
            cancelled.store(true, Ordering::Release);
            self.wake_workers();
            return Err(Error::Timeout { name: String::new(), requested: time, waited: started.elapsed() });
        }
        result
    }

    /// Like [`read`](Self::read), with every worker's rows of type `T` concatenated (unsorted).
    pub(crate) fn read_rows<T: Send + 'static>(
        &self,
        source: SourceId,
        time: Time,
        targets: Targets,
        read: ReadKind,
        timeout: Option<Duration>,
    ) -> Result<Vec<T>> {
        let mut rows = Vec::new();
        for answer in self.read(source, time, targets, read, timeout)? {
            rows.extend(*answer.downcast::<Vec<T>>().map_err(|_| mismatched())?);
        }
        Ok(rows)
    }

    /// Every table's history through `t`, in id order.
    pub(crate) fn histories(&self, t: Time) -> Result<Vec<History>> {
        let tables = self.sequence(|state| Ok(state.catalog.tables()))?;
        tables
            .into_iter()
            .map(|(name, entry)| {
                let parts = self.read(entry.id, t, Targets::All, ReadKind::History, None)?;
                Ok(History { id: entry.id, name, rows: entry.kind.merge_history(parts)? })
            })
            .collect()
    }

    /// The size of `source`'s arrangement, summed over workers.
    pub(crate) fn stats(&self, source: SourceId) -> Result<TraceStats> {
        let (reply, answers) = crossbeam_channel::unbounded();
        let workers = self.sequence(|state| {
            let remaining = self.role.remote_workers();
            let receiver: Box<dyn Receiver> = Box::new(StatsReceiver { reply: reply.clone(), remaining });
            let operation =
                Operation::Stats { source, reply: reply.clone(), remote: Some((next_request(), receiver)) };
            self.dispatch(state, operation)
        })?;
        drop(reply);
        let mut total = TraceStats::default();
        for _ in 0..workers {
            total = total + answers.recv().map_err(|_| self.terminal_error())?;
        }
        Ok(total)
    }

    fn collect(
        &self,
        answers: &crossbeam_channel::Receiver<LocalAnswer>,
        expected: usize,
        deadline: Option<Instant>,
    ) -> Result<Vec<Box<dyn Any + Send>>> {
        let mut parts = Vec::with_capacity(expected);
        for _ in 0..expected {
            let answer = match deadline {
                None => answers.recv().map_err(|_| self.terminal_error()),
                Some(deadline) => answers.recv_deadline(deadline).map_err(|error| match error {
                    RecvTimeoutError::Timeout => {
                        Error::Timeout { name: String::new(), requested: 0, waited: Duration::ZERO }
                    }
                    RecvTimeoutError::Disconnected => self.terminal_error(),
                }),
            };
            parts.push(answer??);
        }
        Ok(parts)
    }
}
