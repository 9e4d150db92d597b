//! What worker 0 of process 0 does with the other processes' answers: one receiver per open
//! request, which decodes each answer with the caller's types and hands it to the caller's
//! channel or feed, where this process's own workers' answers arrive too.

use std::any::Any;
use std::sync::Arc;

use crossbeam_channel::Sender;

use crate::error::{Error, Result};
use crate::protocol::answers::AnswerSender;
use crate::protocol::feed::Feed;
use crate::protocol::stats::Shares;
use crate::protocol::wire::{Answer, Body, ReadKind, Receiver, decode};
use crate::row::Row;
use crate::shard::kind::Kind;
use crate::time::{Diff, Time};

/// Gathers the other processes' shares of a read into the caller's reply channel.
pub(crate) struct RowsReceiver {
    pub(crate) reply: AnswerSender,
    pub(crate) remaining: usize,
    /// The source read, which decodes its rows.
    pub(crate) kind: Arc<dyn Kind>,
    pub(crate) read: ReadKind,
}

impl Receiver for RowsReceiver {
    fn receive(&mut self, answer: Answer, process: usize) -> bool {
        let rows: Result<Box<dyn Any + Send>> = match answer.body {
            Body::Rows(Ok(bytes)) => self.kind.decode(&self.read, &bytes).map_err(|e| e.into_error(process)),
            Body::Rows(Err(error)) => Err(error.into_error(process)),
            other => Err(unexpected(process, &other)),
        };
        self.reply.send(rows);
        self.remaining = self.remaining.saturating_sub(1);
        self.remaining == 0
    }
}

/// Gathers the other processes' shard sizes.
pub(crate) struct StatsReceiver {
    pub(crate) reply: Sender<Shares>,
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
}

fn unexpected(process: usize, body: &Body) -> Error {
    Error::ClusterMismatch { process, detail: format!("it sent an unexpected answer {body:?}") }
}
