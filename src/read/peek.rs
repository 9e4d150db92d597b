//! Batch reading: gather a view's collection at a time from the workers that hold it.
//!
//! A read is sent, in sequence with commits, to every worker holding part of the answer; each
//! answers once, from its own shard, as soon as the shard is complete through the time. The
//! answers are merged here. If the caller stops waiting (a timeout), the read is cancelled on
//! the workers so it no longer holds back compaction.

use std::any::Any;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};

use crate::error::{Error, Result};
use crate::row::Row;
use crate::runtime::Core;
use crate::runtime::arrangement::TraceStats;
use crate::runtime::cluster;
use crate::runtime::cluster::remote::{RowsReceiver, StatsReceiver};
use crate::runtime::cluster::wire::{Control, ReadKind, encode};
use crate::runtime::command::Command;
use crate::runtime::peek::{HistoryRead, KeySelection, KeyedRead, PeekReader, PendingPeek, Reply, RowsRead};
use crate::runtime::registry::SourceId;
use crate::runtime::typedefs::Layout;
use crate::time::{Diff, Time};

/// Which workers hold the answer to a read.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Targets {
    /// Every worker holds a shard of it.
    All,
    /// Only this worker does (it owns the key being read).
    One(usize),
}

/// Reads `source` at `time` on `targets` with readers built by `reader`, and concatenates the
/// answers (unsorted).
///
/// In process 0 of a cluster, the workers of the other processes get the read (as `read`)
/// over the link, and their answers come back into the same channel.
pub(crate) fn gather<T: Row>(
    core: &Core,
    source: SourceId,
    time: Time,
    targets: Targets,
    timeout: Option<Duration>,
    read: impl FnOnce() -> ReadKind,
    reader: impl Fn(Reply<T>) -> Box<dyn PeekReader>,
) -> Result<Vec<T>> {
    let started = Instant::now();
    let (reply, answers) = crossbeam_channel::unbounded();
    let cancelled = Arc::new(AtomicBool::new(false));
    let expected = core.sequence(|sequencer| {
        let local = sequencer.workers();
        let (workers, remote): (Vec<usize>, usize) = match targets {
            Targets::All => ((0..local).collect(), sequencer.remote_workers()),
            Targets::One(worker) if worker < local => (vec![worker], 0),
            Targets::One(_) => (Vec::new(), 1),
        };
        for &worker in &workers {
            let peek = PendingPeek {
                source,
                time,
                reader: reader(Reply::Local(reply.clone())),
                cancelled: Arc::clone(&cancelled),
            };
            sequencer.send(worker, Command::Peek(peek))?;
        }
        if remote > 0 {
            let request = cluster::next_request();
            let target = match targets {
                Targets::One(worker) => Some(worker),
                Targets::All => None,
            };
            let receiver = RowsReceiver { reply: reply.clone(), remaining: remote };
            let control = Control::Peek { request, source, time, target, read: read() };
            sequencer.forward(control, Some((request, Box::new(receiver))))?;
        }
        Ok(workers.len() + remote)
    })?;
    drop(reply);
    let deadline = timeout.map(|timeout| started + timeout);
    let result = collect(core, &answers, expected, deadline);
    if let Err(Error::Timeout { .. }) = result {
        cancelled.store(true, Ordering::Release);
        core.wake_workers();
        return Err(Error::Timeout { name: String::new(), requested: time, waited: started.elapsed() });
    }
    result
}

fn collect<T>(
    core: &Core,
    answers: &Receiver<Result<Vec<T>>>,
    expected: usize,
    deadline: Option<Instant>,
) -> Result<Vec<T>> {
    let mut rows = Vec::new();
    for _ in 0..expected {
        let answer = match deadline {
            None => answers.recv().map_err(|_| core.terminal_error()),
            Some(deadline) => answers.recv_deadline(deadline).map_err(|error| match error {
                RecvTimeoutError::Timeout => {
                    Error::Timeout { name: String::new(), requested: 0, waited: Duration::ZERO }
                }
                RecvTimeoutError::Disconnected => core.terminal_error(),
            }),
        };
        rows.extend(answer??);
    }
    Ok(rows)
}

/// The rows of a row-arranged `source` at `time`, sorted.
pub(crate) fn rows<R: Row>(
    core: &Core,
    source: SourceId,
    time: Time,
    timeout: Option<Duration>,
) -> Result<Vec<(R, Diff)>> {
    let mut rows = gather(
        core,
        source,
        time,
        Targets::All,
        timeout,
        || ReadKind::Rows,
        |reply| Box::new(RowsRead::<R> { reply }),
    )?;
    rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok(rows)
}

/// The selected `(key, value)` rows of a key-arranged `source` at `time`, sorted.
pub(crate) fn keyed_rows<K: Row, V: Row>(
    core: &Core,
    source: SourceId,
    time: Time,
    keys: KeySelection<K>,
    targets: Targets,
    timeout: Option<Duration>,
) -> Result<Vec<((K, V), Diff)>> {
    let read = || match &keys {
        KeySelection::All => ReadKind::Rows,
        range => ReadKind::Keys(encode(range)),
    };
    let mut rows = gather(core, source, time, targets, timeout, read, |reply| {
        Box::new(KeyedRead { keys: keys.clone(), reply })
    })?;
    rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok(rows)
}

/// One table's history through a time, for batch runs.
pub(crate) struct History {
    pub(crate) engine: u64,
    pub(crate) id: SourceId,
    pub(crate) name: String,
    /// `Vec<(row, time, diff)>` of the table's row type.
    pub(crate) rows: Arc<dyn Any + Send + Sync>,
}

/// Reads a table's history through `time` for batch runs, type-erased.
pub(crate) trait TableHistory: Send + Sync {
    /// `Vec<(row, time, diff)>` of every update with `time <= t`, behind an `Arc`.
    fn read(&self, core: &Core, source: SourceId, time: Time) -> Result<Arc<dyn Any + Send + Sync>>;
}

/// The history reader of tables kept as `Tr`.
pub(crate) struct HistoryOf<Tr>(PhantomData<fn() -> Tr>);

impl<Tr> HistoryOf<Tr> {
    pub(crate) fn new() -> Self {
        HistoryOf(PhantomData)
    }
}

impl<Tr: Layout> TableHistory for HistoryOf<Tr> {
    fn read(&self, core: &Core, source: SourceId, time: Time) -> Result<Arc<dyn Any + Send + Sync>> {
        let mut updates = gather(
            core,
            source,
            time,
            Targets::All,
            None,
            || ReadKind::History,
            |reply| Box::new(HistoryRead::<Tr> { reply }),
        )?;
        updates.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
        Ok(Arc::new(updates))
    }
}

/// The size of `source`'s arrangement, summed over workers.
pub(crate) fn stats(core: &Core, source: SourceId) -> Result<TraceStats> {
    let (reply, answers) = crossbeam_channel::unbounded();
    let workers = core.sequence(|sequencer| {
        for worker in 0..sequencer.workers() {
            sequencer.send(worker, Command::Stats { source, reply: reply.clone() })?;
        }
        let remote = sequencer.remote_workers();
        if remote > 0 {
            let request = cluster::next_request();
            let receiver = StatsReceiver { reply: reply.clone(), remaining: remote };
            sequencer.forward(Control::Stats { request, source }, Some((request, Box::new(receiver))))?;
        }
        Ok(sequencer.peers())
    })?;
    drop(reply);
    let mut total = TraceStats::default();
    for _ in 0..workers {
        total = total + answers.recv().map_err(|_| core.terminal_error())?;
    }
    Ok(total)
}
