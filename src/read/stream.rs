//! `Subscription` as a `futures_core::Stream` (feature `async`).

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

use crate::error::Result;
use crate::protocol::feed::{Batch, Take};
use crate::read::subscribe::Subscription;
use crate::row::Row;

impl<D: Row> Stream for Subscription<D> {
    type Item = Result<Batch<D>>;

    /// Ready with the next complete batch; pending (with the waker registered) while nothing is
    /// complete; `None` once the subscription has ended.
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        match this.poll_take(cx.waker()) {
            None => Poll::Ready(None),
            Some(Take::Pending) => Poll::Pending,
            Some(taken) => Poll::Ready(this.settle_async(taken)),
        }
    }
}
