//! Typed ends of the link: what the other processes need to serve a source, and what worker 0
//! of process 0 does with their answers.
//!
//! A process other than 0 never receives typed values: its application registers the same
//! tables and views as process 0 ([`Registrations`]), and its workers turn each [`Control`]
//! into the same typed readers and subscribers the local path uses, replying through an
//! [`Outbox`]. On process 0, worker 0 holds one [`Receiver`] per open request and hands it the
//! answers, decoded with the caller's types.
//!
//! [`Control`]: super::wire::Control

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};

use crossbeam_channel::Sender;

use super::wire::{Answer, Body, ReadKind, WireError, decode};
use crate::error::{Error, Result};
use crate::read::feed::Feed;
use crate::row::Row;
use crate::runtime::arrangement::TraceStats;
use crate::runtime::peek::{HistoryRead, KeySelection, KeyedRead, PeekReader, Reply, RowsRead};
use crate::runtime::registry::SourceId;
use crate::runtime::subscribe::{FeedSink, Request, Subscriber};
use crate::runtime::table_input::TableFactory;
use crate::runtime::typedefs::{KeyedTrace, RowTrace};
use crate::runtime::view_build::ViewFactory;
use crate::time::{Diff, Time};

/// Where a worker of another process puts its answers until it sends them.
#[derive(Clone)]
pub(crate) struct Outbox {
    queue: Arc<Mutex<Vec<Answer>>>,
    worker: usize,
}

impl Outbox {
    pub(crate) fn new(worker: usize) -> Self {
        Outbox { queue: Arc::default(), worker }
    }

    /// Queues the answer `body` to `request`.
    pub(crate) fn send(&self, request: u64, body: Body) {
        let answer = Answer { request, worker: self.worker, body };
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).push(answer);
    }

    /// Everything queued so far.
    pub(crate) fn take(&self) -> Vec<Answer> {
        std::mem::take(&mut *self.queue.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Builds the typed readers and subscribers of one source on another process.
pub(crate) trait RemoteSource: Send + Sync {
    /// A reader for `read` that answers `request` through `outbox`.
    fn reader(&self, read: &ReadKind, request: u64, outbox: Outbox)
    -> Result<Box<dyn PeekReader>, WireError>;
    /// A subscriber `id` whose feed goes through `outbox`.
    fn subscriber(&self, id: u64, as_of: Time, snapshot: bool, outbox: Outbox) -> Box<dyn Request>;
}

/// A source arranged by its whole row (bag tables, views).
pub(crate) struct RemoteRows<R>(PhantomData<fn() -> R>);

impl<R> RemoteRows<R> {
    pub(crate) fn new() -> Self {
        RemoteRows(PhantomData)
    }
}

impl<R: Row> RemoteSource for RemoteRows<R> {
    fn reader(
        &self,
        read: &ReadKind,
        request: u64,
        outbox: Outbox,
    ) -> Result<Box<dyn PeekReader>, WireError> {
        match read {
            ReadKind::Rows => Ok(Box::new(RowsRead::<R> { reply: Reply::Remote { request, outbox } })),
            ReadKind::History => {
                Ok(Box::new(HistoryRead::<RowTrace<R>> { reply: Reply::Remote { request, outbox } }))
            }
            ReadKind::Keys(_) => {
                Err(WireError::Mismatch("a keyed read of a source this process has unkeyed".into()))
            }
        }
    }

    fn subscriber(&self, id: u64, as_of: Time, snapshot: bool, outbox: Outbox) -> Box<dyn Request> {
        Box::new(Subscriber::<R> { id, as_of, snapshot, feed: FeedSink::Remote { request: id, outbox } })
    }
}

/// A source of `(key, value)` rows arranged by key (keyed tables, keyed views).
pub(crate) struct RemoteKeyed<K, V>(PhantomData<fn() -> (K, V)>);

impl<K, V> RemoteKeyed<K, V> {
    pub(crate) fn new() -> Self {
        RemoteKeyed(PhantomData)
    }
}

impl<K: Row, V: Row> RemoteSource for RemoteKeyed<K, V> {
    fn reader(
        &self,
        read: &ReadKind,
        request: u64,
        outbox: Outbox,
    ) -> Result<Box<dyn PeekReader>, WireError> {
        let keys = match read {
            ReadKind::History => {
                return Ok(Box::new(HistoryRead::<KeyedTrace<K, V>> {
                    reply: Reply::Remote { request, outbox },
                }));
            }
            ReadKind::Rows => KeySelection::All,
            ReadKind::Keys(bytes) => decode(bytes)?,
        };
        Ok(Box::new(KeyedRead::<K, V> { keys, reply: Reply::Remote { request, outbox } }))
    }

    fn subscriber(&self, id: u64, as_of: Time, snapshot: bool, outbox: Outbox) -> Box<dyn Request> {
        Box::new(Subscriber::<(K, V)> { id, as_of, snapshot, feed: FeedSink::Remote { request: id, outbox } })
    }
}

/// How a process builds a registered source.
#[derive(Clone)]
pub(crate) enum Build {
    Table(Arc<dyn TableFactory>),
    View(Arc<dyn ViewFactory>),
}

/// A table or view as this process's application registered it.
#[derive(Clone)]
pub(crate) struct Registration {
    pub(crate) name: String,
    pub(crate) kind: &'static str,
    pub(crate) row: &'static str,
    pub(crate) build: Build,
    pub(crate) remote: Arc<dyn RemoteSource>,
}

/// What the application of a process other than 0 registered, shared with its workers.
#[derive(Default)]
pub(crate) struct Registrations {
    pub(crate) entries: HashMap<SourceId, Registration>,
    /// The application called `serve`: nothing more will be registered.
    pub(crate) complete: bool,
}

/// Worker 0 of process 0's handler for the answers to one request.
pub(crate) trait Receiver: Send {
    /// Takes one answer from a worker of `process`; true once nothing more is expected.
    fn receive(&mut self, answer: Answer, process: usize) -> bool;
    /// The engine stopped first.
    fn fail(self: Box<Self>, error: Error);
}

/// Gathers the other processes' shares of a read into the caller's reply channel.
pub(crate) struct RowsReceiver<T> {
    pub(crate) reply: Sender<Result<Vec<T>>>,
    pub(crate) remaining: usize,
}

impl<T: Row> Receiver for RowsReceiver<T> {
    fn receive(&mut self, answer: Answer, process: usize) -> bool {
        let rows = match answer.body {
            Body::Rows(Ok(bytes)) => decode::<Vec<T>>(&bytes).map_err(|e| e.into_error(process)),
            Body::Rows(Err(error)) => Err(error.into_error(process)),
            other => Err(unexpected(process, &other)),
        };
        let _ = self.reply.send(rows);
        self.remaining = self.remaining.saturating_sub(1);
        self.remaining == 0
    }

    fn fail(self: Box<Self>, error: Error) {
        let _ = self.reply.send(Err(error));
    }
}

/// Gathers the other processes' shard sizes.
pub(crate) struct StatsReceiver {
    pub(crate) reply: Sender<TraceStats>,
    pub(crate) remaining: usize,
}

impl Receiver for StatsReceiver {
    fn receive(&mut self, answer: Answer, _process: usize) -> bool {
        if let Body::Stats(stats) = answer.body {
            let _ = self.reply.send(stats);
        }
        self.remaining = self.remaining.saturating_sub(1);
        self.remaining == 0
    }

    fn fail(self: Box<Self>, _error: Error) {}
}

/// Gathers acknowledgements (a table or view built, a shutdown), each with its worker.
pub(crate) struct DoneReceiver {
    pub(crate) reply: Sender<(usize, Result<()>)>,
    pub(crate) remaining: usize,
}

impl Receiver for DoneReceiver {
    fn receive(&mut self, answer: Answer, process: usize) -> bool {
        let done = match answer.body {
            Body::Done(result) => result.map_err(|e| e.into_error(process)),
            other => Err(unexpected(process, &other)),
        };
        let _ = self.reply.send((answer.worker, done));
        self.remaining = self.remaining.saturating_sub(1);
        self.remaining == 0
    }

    fn fail(self: Box<Self>, error: Error) {
        let _ = self.reply.send((0, Err(error)));
    }
}

/// Feeds a subscription from the other processes' workers, each under its own index.
pub(crate) struct FeedReceiver<D> {
    pub(crate) feed: Arc<Feed<D>>,
}

impl<D: Row> Receiver for FeedReceiver<D> {
    fn receive(&mut self, answer: Answer, _process: usize) -> bool {
        if let Body::Feed { updates, frontier } = answer.body {
            match decode::<Vec<(D, Time, Diff)>>(&updates) {
                Ok(updates) => self.feed.push(answer.worker, updates, frontier),
                Err(_) => self.feed.end(),
            }
        }
        self.feed.is_closed()
    }

    fn fail(self: Box<Self>, _error: Error) {
        self.feed.end();
    }
}

fn unexpected(process: usize, body: &Body) -> Error {
    Error::ClusterMismatch { process, detail: format!("it sent an unexpected answer {body:?}") }
}
