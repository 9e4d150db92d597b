//! Reads beyond `at`. Stream reading: the [`Subscription`](subscribe::Subscription) handle, blocking, and its async
//! form [`SubscriptionStream`](stream::SubscriptionStream) (with feature `async`, also a
//! `futures_core::Stream`), and plain reads: an exact read's answer as rows without
//! multiplicities or one value per key ([`plain`]).

pub(crate) mod consumer;
pub(crate) mod plain;
pub(crate) mod stream;
pub(crate) mod subscribe;
