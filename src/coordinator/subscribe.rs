//! Subscribing to a view's changes, and stopping.

use std::any::Any;
use std::sync::Arc;

use super::stats::Subscribed;
use super::{Coordinator, Operation};
use crate::error::{Error, Result};
use crate::protocol::feed::Unread;
use crate::protocol::wire::Receiver;
use crate::protocol::{SourceId, next_request};
use crate::time::Time;

/// Where a subscription starts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Start {
    /// The snapshot's time; `None`: the latest commit.
    pub(crate) as_of: Option<Time>,
    /// Whether the workers send a snapshot.
    pub(crate) snapshot: bool,
    /// False for a streamed view, which keeps nothing: it starts at the latest commit.
    pub(crate) kept: bool,
}

/// A subscription's buffer, made once its first time and the number of workers are known: the
/// local feed (an `Arc<Feed<D>>`) and the receiver that feeds it from the other processes.
pub(crate) type MakeFeed<'a, F> = &'a mut dyn FnMut(usize, Time) -> (Arc<F>, Box<dyn Receiver>);

impl Coordinator {
    /// Subscribes to view `source` (called `view`, for errors) from `start` on every worker;
    /// `feed(peers, as_of)` makes its buffer. Returns the subscription's id and its feed.
    pub(crate) fn subscribe<F: Unread + 'static>(
        &self,
        source: SourceId,
        view: &str,
        start: Start,
        feed: MakeFeed<'_, F>,
    ) -> Result<(u64, Arc<F>)> {
        let id = next_request();
        self.sequence(|state| {
            state.catalog.check_live(source)?;
            let since = state.clock.since();
            let as_of = start.as_of.unwrap_or(state.clock.last());
            if as_of < since {
                return Err(Error::Compacted { name: view.to_string(), requested: as_of, since });
            }
            let latest = state.clock.last();
            if !start.kept && as_of < latest {
                // Its changes since `as_of` went by unkept: its history starts now.
                return Err(Error::Compacted { name: view.to_string(), requested: as_of, since: latest });
            }
            if as_of == Time::MAX {
                return Err(Error::TimeOutOfRange { requested: as_of });
            }
            let (typed, remote) = feed(self.peers(), as_of);
            let local: Arc<dyn Any + Send + Sync> = Arc::clone(&typed) as _;
            let operation =
                Operation::Subscribe { source, id, as_of, snapshot: start.snapshot, feed: local, remote };
            self.dispatch(state, operation)?;
            state.subscriptions.insert(id, Subscribed::new(view, &typed));
            Ok((id, typed))
        })
    }

    /// Stops feeding subscription `id` of view `source`, on every worker.
    pub(crate) fn unsubscribe(&self, source: SourceId, id: u64) {
        let _ = self.sequence(|state| {
            state.subscriptions.remove(&id);
            self.dispatch(state, Operation::Unsubscribe { source, id })
        });
    }
}
