//! Where a worker sends what a caller asked for: a read's rows or a subscription's changes.
//!
//! In this process that is the caller's own channel or feed, and the values cross as they are
//! (no encoding); on a process other than 0 of a cluster it is the [`Outbox`] towards process 0,
//! and the values cross as bytes. A worker's typed readers and hubs never need to know which.

use std::any::Any;
use std::sync::Arc;

use serde::Serialize;

use super::answers::AnswerSender;
use super::feed::Feed;
use super::outbox::Outbox;
use super::wire::{Body, WireError, encode};
use crate::error::{Error, Result};
use crate::row::Row;
use crate::time::{Diff, Time};

/// Where a worker sends its share of a read's answer.
pub(crate) enum Reply {
    /// The caller's channel, in this process.
    Local(AnswerSender),
    /// The link back to process 0, for request `request`.
    Remote { request: u64, outbox: Outbox },
}

impl Reply {
    /// Sends a worker's answer: rows of the reader's type, or an error.
    pub(crate) fn send<T: Serialize + Send + 'static>(self, answer: Result<Vec<T>>) {
        match self {
            Reply::Local(sender) => {
                sender.send(answer.map(|rows| Box::new(rows) as Box<dyn Any + Send>));
            }
            Reply::Remote { request, outbox } => {
                let rows = answer.map(|rows| encode(&rows)).map_err(|e| WireError::from_error(&e));
                outbox.send(request, Body::Rows(rows));
            }
        }
    }

    /// Sends a worker's answer that is not rows (a visit read's finished sink): only a reader
    /// in this process can take it.
    pub(crate) fn send_local(self, answer: Result<Box<dyn Any + Send>>) {
        match self {
            Reply::Local(sender) => sender.send(answer),
            remote @ Reply::Remote { .. } => {
                let detail = "a visiting read was sent to another process".to_string();
                remote.fail(crate::error::Error::ClusterMismatch { process: 0, detail });
            }
        }
    }

    /// Answers with an error instead of rows.
    pub(crate) fn fail(self, error: Error) {
        self.send::<()>(Err(error));
    }
}

/// Where a subscriber's changes go, before its row type is known: the subscriber's feed (an
/// `Arc<Feed<D>>`), or the link back to process 0.
pub(crate) enum FeedTo {
    Local(Arc<dyn Any + Send + Sync>),
    Remote { request: u64, outbox: Outbox },
}

impl FeedTo {
    /// The typed sink; `None` if a local feed is not of rows `D` (the caller's and the
    /// source's row types disagree, which the catalog rules out).
    pub(crate) fn typed<D: Row>(self) -> Option<FeedSink<D>> {
        match self {
            FeedTo::Local(feed) => feed.downcast::<Feed<D>>().ok().map(FeedSink::Local),
            FeedTo::Remote { request, outbox } => Some(FeedSink::Remote { request, outbox }),
        }
    }
}

/// Where a worker hands a subscriber's changes.
pub(crate) enum FeedSink<D> {
    Local(Arc<Feed<D>>),
    Remote { request: u64, outbox: Outbox },
}

impl<D: Row> FeedSink<D> {
    /// Worker `worker` adds `updates` and is complete before `frontier` (`None`: forever).
    pub(crate) fn push(
        &self,
        worker: usize,
        updates: impl IntoIterator<Item = (D, Time, Diff)>,
        frontier: Option<Time>,
    ) {
        match self {
            FeedSink::Local(feed) => feed.push(worker, updates, frontier),
            FeedSink::Remote { request, outbox } => {
                let updates = encode(&updates.into_iter().collect::<Vec<_>>());
                outbox.send(*request, Body::Feed { updates, frontier });
            }
        }
    }

    /// No more pushes will come (process 0 learns that by other means in a cluster).
    pub(crate) fn end(&self) {
        if let FeedSink::Local(feed) = self {
            feed.end();
        }
    }

    /// No more pushes will come, for the reason `error`. In a cluster, only process 0's own
    /// workers end the feed: each process drops the view on its own.
    pub(crate) fn end_with(&self, error: &Error) {
        if let FeedSink::Local(feed) = self {
            feed.end_with(error);
        }
    }
}
