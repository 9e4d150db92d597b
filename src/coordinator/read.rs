//! Reads: a source at a time, gathered from the workers that hold it.
//!
//! A read is sent, in sequence with commits, to every worker holding part of the answer; each
//! answers once, from its own shard, as soon as the shard is complete through the time. The
//! answers are merged here. The caller waits blocking or polls a future; if it stops waiting
//! (a timeout, or the future dropped), the read is cancelled on the workers so it no longer
//! holds back compaction.

use std::any::Any;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::receivers::RowsReceiver;
use super::{Coordinator, Operation, Targets};
use crate::error::{Error, Result};
use crate::protocol::answers::LocalAnswer;
use crate::protocol::answers::{Answers, NoAnswer, answers};
use crate::protocol::health::Health;
use crate::protocol::wire::{ReadKind, Receiver};
use crate::protocol::{SourceId, next_request};
use crate::shard::kind::{Kind, mismatched};
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
        match self.send_read(source, time, targets, read)? {
            Routed::Workers(pending) => pending.wait(timeout),
            Routed::Files(kind, read) => {
                self.read_streamed(source, time, &read, kind).map_err(super::returned)
            }
        }
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
        concatenated(self.read(source, time, targets, read, timeout)?)
    }

    /// Like [`read_rows`](Self::read_rows), without a timeout, waiting without blocking a
    /// thread. Dropping the future cancels the read.
    pub(crate) fn read_rows_async<T: Send + 'static>(
        &self,
        source: SourceId,
        time: Time,
        targets: Targets,
        read: ReadKind,
    ) -> impl Future<Output = Result<Vec<T>>> + Send + use<T> {
        // A streamed table's answer comes from the files, read here, before the future.
        let pending = match self.send_read(source, time, targets, read) {
            Ok(Routed::Workers(pending)) => Ok(Ok(pending)),
            Ok(Routed::Files(kind, read)) => {
                self.read_streamed(source, time, &read, kind).map(Err).map_err(super::returned)
            }
            Err(error) => Err(error),
        };
        async move {
            match pending? {
                Ok(pending) => concatenated(pending.await?),
                Err(answer) => concatenated(answer),
            }
        }
    }

    /// Sends a read to the workers that hold the answer (and to the other processes, if some of
    /// theirs do); a streamed source's read is handed back, to be answered from the files.
    fn send_read(&self, source: SourceId, time: Time, targets: Targets, read: ReadKind) -> Result<Routed> {
        let started = Instant::now();
        let (reply, answers) = answers();
        let cancelled = Arc::new(AtomicBool::new(false));
        let expected = self.sequence(|state| {
            state.catalog.check_live(source)?;
            if let Some(kind) = state.catalog.streamed_kind(source) {
                return Ok(Err((kind, read)));
            }
            let placement = targets.place(state.workers(), self.role.remote_workers());
            if matches!(read, ReadKind::Visit(_)) && placement.others > 0 {
                let detail = "a visiting read needs every worker in this process".to_string();
                return Err(Error::ClusterMismatch { process: 0, detail });
            }
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
            self.dispatch(state, operation).map(Ok)
        })?;
        let expected = match expected {
            Ok(expected) => expected,
            Err((kind, read)) => return Ok(Routed::Files(kind, read)),
        };
        let parts = Vec::with_capacity(expected);
        let health = Arc::clone(&self.health);
        Ok(Routed::Workers(PendingRead {
            answers,
            expected,
            parts,
            cancelled,
            health,
            time,
            started,
            done: false,
        }))
    }

    /// Every table's history through `t`, in id order.
    pub(crate) fn histories(&self, t: Time) -> Result<Vec<History>> {
        let tables = self.sequence(|state| Ok(state.catalog.tables()))?;
        self.histories_of(tables, t)
    }

    /// The history through `t` of every table source `id` reads, directly or through views:
    /// the inputs of a batch run of its definition.
    pub(crate) fn histories_under(&self, id: SourceId, t: Time) -> Result<Vec<History>> {
        let tables = self.sequence(|state| {
            state.catalog.check_live(id)?;
            Ok(state.catalog.tables_under(id))
        })?;
        self.histories_of(tables, t)
    }

    fn histories_of(&self, tables: Vec<(String, super::catalog::Entry)>, t: Time) -> Result<Vec<History>> {
        tables
            .into_iter()
            .map(|(name, entry)| {
                let parts = self.read(entry.id, t, Targets::All, ReadKind::History, None)?;
                Ok(History { id: entry.id, name, rows: entry.kind.merge_history(parts)? })
            })
            .collect()
    }
}

/// Where a read goes: to the workers, or (a streamed source) to the storage directory.
enum Routed {
    Workers(PendingRead),
    Files(Arc<dyn Kind>, ReadKind),
}

/// Every worker's rows of type `T`, concatenated.
fn concatenated<T: 'static>(answers: Vec<Box<dyn Any + Send>>) -> Result<Vec<T>> {
    let mut rows = Vec::new();
    for answer in answers {
        rows.extend(*answer.downcast::<Vec<T>>().map_err(|_| mismatched())?);
    }
    Ok(rows)
}

/// A read sent to the workers, whose answers are still to come: waited for by a blocking
/// caller, or polled as a future. Given up on (a timeout, or the future dropped), it is
/// cancelled on the workers, so that it no longer holds back compaction.
struct PendingRead {
    answers: Answers,
    expected: usize,
    parts: Vec<Box<dyn Any + Send>>,
    cancelled: Arc<AtomicBool>,
    health: Arc<Health>,
    time: Time,
    started: Instant,
    /// Every answer arrived, or one failed: nothing to cancel.
    done: bool,
}

impl PendingRead {
    /// Every worker's answer, waiting at most `timeout`.
    fn wait(mut self, timeout: Option<Duration>) -> Result<Vec<Box<dyn Any + Send>>> {
        let deadline = timeout.map(|timeout| self.started + timeout);
        while self.parts.len() < self.expected {
            let answer = self.answers.recv(deadline);
            if let Some(outcome) = self.take(answer) {
                return outcome;
            }
        }
        self.done = true;
        Ok(std::mem::take(&mut self.parts))
    }

    /// Keeps one answer; the read's outcome if it ends the read with an error.
    fn take(
        &mut self,
        answer: std::result::Result<LocalAnswer, NoAnswer>,
    ) -> Option<Result<Vec<Box<dyn Any + Send>>>> {
        let error = match answer {
            Ok(Ok(part)) => {
                self.parts.push(part);
                return None;
            }
            Ok(Err(error)) => error,
            Err(NoAnswer::Disconnected) => self.health.terminal_error(),
            // Cancelled by the drop that follows.
            Err(NoAnswer::Timeout) => {
                return Some(Err(super::returned(Error::Timeout {
                    name: String::new(),
                    requested: self.time,
                    waited: self.started.elapsed(),
                })));
            }
        };
        self.done = true;
        Some(Err(super::returned(error)))
    }
}

impl Future for PendingRead {
    type Output = Result<Vec<Box<dyn Any + Send>>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        while this.parts.len() < this.expected {
            let answer = std::task::ready!(this.answers.poll_recv(cx));
            if let Some(outcome) = this.take(answer) {
                return Poll::Ready(outcome);
            }
        }
        this.done = true;
        Poll::Ready(Ok(std::mem::take(&mut this.parts)))
    }
}

impl Drop for PendingRead {
    fn drop(&mut self) {
        if !self.done {
            self.cancelled.store(true, Ordering::Release);
            self.health.wake_all();
        }
    }
}
