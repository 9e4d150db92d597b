//! Stream reading: a view's changes as batches of `(row, time, diff)` with progress.
//!
//! [`Subscription`] is what [`View::subscribe`](crate::View::subscribe) returns. Summing its
//! snapshot and every update with `time <= t` gives exactly `view.at(t)` at the end of every
//! batch received (`t = upper - 1`), and at every `t` for a subscriber that keeps up.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::coordinator::Coordinator;
use crate::coordinator::receivers::FeedReceiver;
use crate::coordinator::subscribe::Start;
use crate::error::{Error, Result};
use crate::protocol::SourceId;
use crate::protocol::feed::{Batch, Feed, Take};
use crate::row::Row;
use crate::time::{Diff, Time};

/// Where a subscription starts and ends; pass to
/// [`View::subscribe_with`](crate::View::subscribe_with).
///
/// ```
/// use ivm::SubscribeOptions;
/// // Resume after a batch whose `upper` was 42: no snapshot, changes from 42 on.
/// let resume = SubscribeOptions::default().as_of(41).snapshot(false);
/// // Replay the collection at 10 and its changes through 20, then end.
/// let replay = SubscribeOptions::default().as_of(10).until(20);
/// # let _ = (resume, replay);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SubscribeOptions {
    as_of: Option<Time>,
    no_snapshot: bool,
    until: Option<Time>,
    /// Unread updates keep their times (no memory bound): for `ivm::testing`'s checker.
    #[cfg(any(feature = "testing", feature = "files"))]
    exact: bool,
}

impl SubscribeOptions {
    /// Starts at `t`: the snapshot is the collection at `t`, and changes follow from `t + 1`.
    /// Default: the latest commit time when `subscribe` is called. A `t` older than the
    /// retained history fails with [`Error::Compacted`].
    pub fn as_of(mut self, t: Time) -> Self {
        self.as_of = Some(t);
        self
    }

    /// Whether the first batch is the whole collection at `as_of` (default `true`). Turn it off
    /// to resume: with `as_of(upper - 1)` and no snapshot, a consumer that stored the `upper` of
    /// its last batch receives exactly the changes it has not seen.
    pub fn snapshot(mut self, snapshot: bool) -> Self {
        self.no_snapshot = !snapshot;
        self
    }

    /// Ends the subscription once it is complete through `t`: the last batch has `upper = t + 1`.
    /// A `t` before the subscription's first time (`as_of`, or `as_of + 1` without a snapshot)
    /// leaves nothing to deliver: the subscription is finished at once and yields no batch.
    pub fn until(mut self, t: Time) -> Self {
        self.until = Some(t);
        self
    }

    /// Unread updates keep their own times, however far the reader falls behind: the summed
    /// stream is exact at every time, and memory grows with the unread changes.
    #[cfg(any(feature = "testing", feature = "files"))]
    pub(crate) fn exact(mut self) -> Self {
        self.exact = true;
        self
    }
}

/// A view's changes, as batches covering contiguous intervals of time.
///
/// Each batch `{ lower, upper, updates }` holds every change with `lower <= time < upper`,
/// consolidated and in time order, and is delivered only once the view is complete through
/// `upper - 1`. The first batch is the snapshot at `as_of` (`lower = as_of`, `upper = as_of + 1`,
/// every row at time `as_of`) unless turned off; a batch with no updates is progress.
///
/// A subscriber that does not read never slows the engine, and what it has not read stays
/// bounded by the rows that changed, not by the number of commits: unread changes are
/// consolidated, with their times advanced to the last complete time. When it reads again it
/// gets one batch covering the whole interval it missed. Nothing is dropped, but summing is
/// then exact at that batch's end (`upper - 1`), not at each time inside it. A subscriber that
/// keeps up (it reads each batch before a few dozen unread updates pile up) gets every update
/// at its own time.
///
/// Read it as a blocking [`Iterator`] (items are `Result<Batch>`: after shutdown or a worker
/// panic it yields the error once, then ends), with [`try_next`](Self::try_next) or
/// [`next_timeout`](Self::next_timeout), or from async code through
/// [`into_stream`](Self::into_stream). Dropping it releases everything it held on the workers.
pub struct Subscription<D: Row> {
    core: Arc<Coordinator>,
    source: SourceId,
    /// The view's name, for errors.
    view: String,
    id: u64,
    feed: Arc<Feed<D>>,
    /// A streamed view's snapshot, made by a batch run, delivered before the feed's batches.
    first: Option<Box<Batch<D>>>,
    done: bool,
}

/// How a streamed view's subscription gets its snapshot: the view's rows at a time.
pub(crate) type Snapshot<'a, D> = &'a dyn Fn(Time) -> Result<Vec<(D, Diff)>>;

impl<D: Row> std::fmt::Debug for Subscription<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription").field("id", &self.id).field("pending", &self.pending()).finish()
    }
}

impl<D: Row> Subscription<D> {
    /// Subscribes to the view `source`, called `view`, on every worker. A streamed view passes
    /// `snapshot_from`: its workers keep no rows, so the snapshot (if asked for) is the view's
    /// rows at `as_of` from it, and the workers deliver only the changes after `as_of`.
    pub(crate) fn start(
        core: &Arc<Coordinator>,
        source: SourceId,
        view: &str,
        options: SubscribeOptions,
        snapshot_from: Option<Snapshot<'_, D>>,
    ) -> Result<Self> {
        let snapshot = !options.no_snapshot;
        let from_workers = snapshot && snapshot_from.is_none();
        let start = Start { as_of: options.as_of, snapshot: from_workers, kept: snapshot_from.is_none() };
        let mut first_time = 0;
        let (id, feed) = core.subscribe(source, view, start, &mut |peers, as_of| {
            first_time = as_of;
            let feed = Feed::new(peers, as_of, from_workers, options.until);
            #[cfg(any(feature = "testing", feature = "files"))]
            let feed = if options.exact { feed.keep_times() } else { feed };
            let feed = Arc::new(feed);
            let receiver = Box::new(FeedReceiver { feed: Arc::clone(&feed) });
            (feed, receiver)
        })?;
        let mut subscription = Subscription {
            core: Arc::clone(core),
            source,
            view: view.to_string(),
            id,
            feed,
            first: None,
            done: false,
        };
        if let Some(rows_at) = snapshot_from
            && snapshot
            && options.until.is_none_or(|until| until > first_time)
        {
            // On error, dropping the subscription unsubscribes it.
            let rows = rows_at(first_time)?;
            let updates = rows.into_iter().map(|(row, diff)| (row, first_time, diff)).collect();
            subscription.first = Some(Box::new(Batch { lower: first_time, upper: first_time + 1, updates }));
        }
        Ok(subscription)
    }

    /// The next complete batch, if one is ready now: `Ok(None)` if nothing is complete yet or
    /// the subscription has ended (see [`is_finished`](Self::is_finished)).
    pub fn try_next(&mut self) -> Result<Option<Batch<D>>> {
        if let Some(first) = self.first.take() {
            return Ok(Some(*first));
        }
        self.settle(self.feed.take()).map(|batch| batch.or(None))
    }

    /// The next complete batch, waiting up to `timeout`: `Ok(None)` once the subscription has
    /// reached its `until`, [`Error::Timeout`] if nothing was complete in time.
    pub fn next_timeout(&mut self, timeout: Duration) -> Result<Option<Batch<D>>> {
        if let Some(first) = self.first.take() {
            return Ok(Some(*first));
        }
        let started = Instant::now();
        match self.feed.take_waiting(Some(started + timeout)) {
            Take::Pending if !self.done => Err(Error::Timeout {
                name: self.view.clone(),
                requested: self.feed.lower(),
                waited: started.elapsed(),
            }),
            other => self.settle(other),
        }
    }

    /// True once the subscription has ended: it reached its `until`, or the engine stopped and
    /// the error was reported.
    pub fn is_finished(&self) -> bool {
        self.done
    }

    /// The subscription's id: how [`Engine::stats`](crate::Engine::stats) names it.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The number of unread updates the subscription holds.
    pub fn pending(&self) -> usize {
        self.feed.pending() + self.first.as_ref().map_or(0, |first| first.updates.len())
    }

    /// Turns what the feed gave into the caller's answer, remembering the end.
    fn settle(&mut self, taken: Take<D>) -> Result<Option<Batch<D>>> {
        if self.done {
            return Ok(None);
        }
        match taken {
            Take::Batch(batch) => Ok(Some(batch)),
            Take::Pending => Ok(None),
            Take::Finished => {
                self.done = true;
                Ok(None)
            }
            Take::Ended(reason) => {
                self.done = true;
                Err(reason.unwrap_or_else(|| self.core.terminal_error()))
            }
        }
    }

    pub(crate) fn poll_take(&mut self, waker: &std::task::Waker) -> Option<Take<D>> {
        if self.done {
            return None;
        }
        if let Some(first) = self.first.take() {
            return Some(Take::Batch(*first));
        }
        Some(self.feed.take_or_register(waker))
    }

    pub(crate) fn settle_async(&mut self, taken: Take<D>) -> Option<Result<Batch<D>>> {
        self.settle(taken).transpose()
    }
}

impl<D: Row> Iterator for Subscription<D> {
    type Item = Result<Batch<D>>;

    /// Blocks until the next batch is complete; `None` once the subscription has ended.
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if let Some(first) = self.first.take() {
            return Some(Ok(*first));
        }
        let taken = self.feed.take_waiting(None);
        self.settle(taken).transpose()
    }
}

impl<D: Row> Drop for Subscription<D> {
    fn drop(&mut self) {
        self.feed.close();
        self.core.unsubscribe(self.source, self.id);
    }
}
