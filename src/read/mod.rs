//! Stream reading: the [`Subscription`](subscribe::Subscription) handle, blocking, and its async
//! form [`SubscriptionStream`](stream::SubscriptionStream) (with feature `async`, also a
//! `futures_core::Stream`).

pub(crate) mod stream;
pub(crate) mod subscribe;
