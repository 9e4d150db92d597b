//! A subscription read from async code: [`SubscriptionStream`].

use std::future::Future;
use std::task::{Context, Poll};

use crate::error::Result;
use crate::protocol::feed::{Batch, Take};
use crate::read::subscribe::Subscription;
use crate::row::Row;

/// A [`Subscription`] read from async code, made by [`Subscription::into_stream`]: its
/// [`next`](Self::next) waits for the next complete batch without blocking a thread, on any
/// executor. With the `async` feature it is also a `futures_core::Stream`, for the combinators of
/// `futures` or `tokio-stream`.
///
/// It is a type of its own because [`Subscription`] is a blocking [`Iterator`]: on it,
/// `.next()` is the iterator's, which blocks. Here `.next().await` is always the async one,
/// whatever traits are in scope.
///
/// ```
/// # use ivm::{Config, Engine};
/// # async fn example() -> ivm::Result<()> {
/// let engine = Engine::start(Config::default())?;
/// let clicks = engine.table::<u32>("clicks")?;
/// let pages = engine.view("pages", {
///     let clicks = clicks.clone();
///     move |v| v.table(&clicks).distinct()
/// })?;
/// let mut changes = pages.subscribe()?.into_stream();
/// let t = engine.commit_async(|tx| tx.insert(&clicks, 7)).await?;
/// let mut seen = Vec::new();
/// while let Some(batch) = changes.next().await {
///     let batch = batch?;
///     seen.extend(batch.updates);
///     if batch.upper > t {
///         break;
///     }
/// }
/// assert_eq!(seen, vec![(7, t, 1)]);
/// # Ok(()) }
/// ```
pub struct SubscriptionStream<D: Row> {
    subscription: Subscription<D>,
}

impl<D: Row> std::fmt::Debug for SubscriptionStream<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("SubscriptionStream").field(&self.subscription).finish()
    }
}

impl<D: Row> Subscription<D> {
    /// This subscription, read from async code: see [`SubscriptionStream`].
    pub fn into_stream(self) -> SubscriptionStream<D> {
        SubscriptionStream { subscription: self }
    }
}

impl<D: Row> SubscriptionStream<D> {
    /// The next complete batch, once there is one; `None` once the subscription has ended.
    /// After shutdown or a worker panic it is the error once, then `None`.
    ///
    /// Cancel-safe: dropping the future before it is ready loses nothing; the batch is
    /// returned by the next call.
    #[allow(
        clippy::should_implement_trait,
        reason = "the async `next` of a stream, as tokio's and futures' own streams name it; not an Iterator"
    )]
    pub fn next(&mut self) -> impl Future<Output = Option<Result<Batch<D>>>> + '_ {
        std::future::poll_fn(|cx| self.poll_batch(cx))
    }

    /// The blocking subscription back.
    pub fn into_inner(self) -> Subscription<D> {
        self.subscription
    }

    /// The subscription, for its other methods (`pending`, `is_finished`, ...).
    pub fn get_ref(&self) -> &Subscription<D> {
        &self.subscription
    }

    fn poll_batch(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Batch<D>>>> {
        match self.subscription.poll_take(cx.waker()) {
            None => Poll::Ready(None),
            Some(Take::Pending) => Poll::Pending,
            Some(taken) => Poll::Ready(self.subscription.settle_async(taken)),
        }
    }
}

#[cfg(feature = "async")]
impl<D: Row> futures_core::Stream for SubscriptionStream<D> {
    type Item = Result<Batch<D>>;

    /// Ready with the next complete batch; pending (with the waker registered) while nothing is
    /// complete; `None` once the subscription has ended.
    fn poll_next(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_batch(cx)
    }
}
