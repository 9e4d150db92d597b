//! Named consumers: a subscription with a name that keeps its place (see
//! `coordinator/consumers.rs` for the positions and the holds they put on history).

use std::sync::Arc;
use std::time::Duration;

use super::subscribe::{SubscribeOptions, Subscription};
use crate::coordinator::Coordinator;
use crate::error::{Error, Result};
use crate::protocol::SourceId;
use crate::protocol::feed::Batch;
use crate::row::Row;
use crate::time::Time;

/// A view's change stream under a name, resumable: what
/// [`View::consumer`](crate::View::consumer) returns.
///
/// It reads like a [`Subscription`]: batches `{ lower, upper, updates }` covering contiguous
/// intervals of time, the first of a new consumer being the snapshot at the latest commit.
/// Once it has processed a batch, it [`acknowledge`](Self::acknowledge)s the batch's `upper`.
/// Opening the same name again, in this engine or (with
/// [`Config::with_storage`](crate::Config::with_storage)) after a restart or a crash, resumes
/// exactly after the last acknowledged `upper`: nothing missing, and nothing repeated beyond
/// what was received and not acknowledged. Until then the engine keeps the history the
/// consumer needs (it holds [`Engine::since`](crate::Engine::since) back), within
/// [`Config::with_consumer_lag_limit`](crate::Config::with_consumer_lag_limit).
///
/// One handle per name at a time; dropping the handle keeps the position (and its hold);
/// [`Engine::drop_consumer`](crate::Engine::drop_consumer) forgets it.
///
/// ```
/// use ivm::{Config, Engine};
/// # fn main() -> ivm::Result<()> {
/// let engine = Engine::start(Config::default())?;
/// let orders = engine.table::<(u32, u64)>("orders")?;
/// let large = engine.view("large", {
///     let orders = orders.clone();
///     move |v| v.table(&orders).filter(|(_, cents)| *cents >= 100)
/// })?;
/// engine.commit(|tx| tx.insert(&orders, (1, 250)))?;
///
/// let mut mailer = large.consumer("mailer")?;
/// let snapshot = mailer.next().expect("a first batch")?;
/// assert_eq!(snapshot.updates, vec![((1, 250), 1, 1)]);
/// mailer.acknowledge(snapshot.upper)?;
/// drop(mailer);
///
/// engine.commit(|tx| tx.insert(&orders, (2, 100)))?;
/// let mut mailer = large.consumer("mailer")?; // resumes after what it acknowledged
/// let change = mailer.next().expect("the next batch")?;
/// assert_eq!(change.updates, vec![((2, 100), 2, 1)]);
/// # Ok(()) }
/// ```
pub struct Consumer<D: Row> {
    core: Arc<Coordinator>,
    name: String,
    handle: u64,
    subscription: Subscription<D>,
    acknowledged: Option<Time>,
    /// The `upper` of the last batch received (the first batch's `lower` before any).
    delivered: Time,
    /// The time of the consumer's first batch (the snapshot): acknowledging up to it is nothing.
    start: Time,
    /// The iterator yielded an error: it has ended.
    ended: bool,
}

impl<D: Row> std::fmt::Debug for Consumer<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("name", &self.name)
            .field("acknowledged", &self.acknowledged)
            .field("delivered", &self.delivered)
            .finish()
    }
}

impl<D: Row> Consumer<D> {
    /// Opens consumer `name` of view `source` (called `view`; `kept` false for a streamed
    /// view, which cannot have one).
    pub(crate) fn open(
        core: &Arc<Coordinator>,
        source: SourceId,
        view: &str,
        kept: bool,
        name: &str,
    ) -> Result<Self> {
        let opened = core.open_consumer(name, view, source, kept)?;
        let options = SubscribeOptions::default().as_of(opened.as_of).snapshot(opened.snapshot);
        let subscription = match Subscription::start(core, source, view, options, None) {
            Ok(subscription) => subscription,
            Err(error) => {
                core.close_consumer(name, opened.handle);
                return Err(error);
            }
        };
        // The first batch starts at the hold: the snapshot's time, or the acknowledged upper.
        let delivered = opened.acknowledged.unwrap_or(opened.as_of);
        Ok(Consumer {
            core: Arc::clone(core),
            name: name.to_string(),
            handle: opened.handle,
            subscription,
            acknowledged: opened.acknowledged,
            delivered,
            start: opened.start,
            ended: false,
        })
    }

    /// The consumer's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The `upper` it acknowledged last (`None`: nothing yet).
    pub fn acknowledged(&self) -> Option<Time> {
        self.acknowledged
    }

    /// The `upper` of the last batch it received: everything before it was delivered.
    pub fn delivered(&self) -> Time {
        self.delivered
    }

    /// Records that every change before `upper` (a received batch's `upper`) is processed: it
    /// is stored (with storage, on disk) before this returns, and the consumer resumes there.
    /// An `upper` at or before the last acknowledged one (or the snapshot's time) changes
    /// nothing. Fails with
    /// [`Error::NotDelivered`] beyond the last batch received, with
    /// [`Error::ConsumerDropped`] if the consumer was dropped, and with [`Error::Io`] if the
    /// position could not be stored (then nothing changed).
    pub fn acknowledge(&mut self, upper: Time) -> Result<()> {
        if upper > self.delivered {
            return Err(Error::NotDelivered {
                name: self.name.clone(),
                requested: upper,
                delivered: self.delivered,
            });
        }
        if upper <= self.start || self.acknowledged.is_some_and(|acknowledged| acknowledged >= upper) {
            return self.core.check_consumer(&self.name, self.handle);
        }
        self.core.acknowledge(&self.name, self.handle, upper)?;
        self.acknowledged = Some(upper);
        Ok(())
    }

    /// The next complete batch, if one is ready now (`Ok(None)` otherwise); fails with
    /// [`Error::ConsumerDropped`] once the consumer was dropped.
    pub fn try_next(&mut self) -> Result<Option<Batch<D>>> {
        self.core.check_consumer(&self.name, self.handle)?;
        let batch = self.subscription.try_next()?;
        self.received(batch)
    }

    /// The next complete batch, waiting up to `timeout` ([`Error::Timeout`] if none came).
    pub fn next_timeout(&mut self, timeout: Duration) -> Result<Option<Batch<D>>> {
        self.core.check_consumer(&self.name, self.handle)?;
        let batch = self.subscription.next_timeout(timeout)?;
        self.received(batch)
    }

    /// Checks that the consumer still exists before handing out `batch` (it may have been
    /// dropped while the batch was awaited), and records its end.
    fn received(&mut self, batch: Option<Batch<D>>) -> Result<Option<Batch<D>>> {
        let Some(batch) = batch else { return Ok(None) };
        self.core.check_consumer(&self.name, self.handle)?;
        self.delivered = batch.upper;
        Ok(Some(batch))
    }
}

impl<D: Row> Iterator for Consumer<D> {
    type Item = Result<Batch<D>>;

    /// Blocks until the next batch is complete; after an error (the consumer dropped, the
    /// engine stopped) it yields that error, then ends.
    fn next(&mut self) -> Option<Self::Item> {
        if self.ended {
            return None;
        }
        let next = match self.core.check_consumer(&self.name, self.handle) {
            Err(error) => Some(Err(error)),
            Ok(()) => match self.subscription.next()? {
                Ok(batch) => self.received(Some(batch)).transpose(),
                Err(error) => Some(Err(error)),
            },
        };
        self.ended = matches!(next, Some(Err(_)));
        next
    }
}

impl<D: Row> Drop for Consumer<D> {
    fn drop(&mut self) {
        self.core.close_consumer(&self.name, self.handle);
    }
}
