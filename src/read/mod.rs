//! Stream reading: the [`Subscription`](subscribe::Subscription) handle, blocking or (feature
//! `async`) as a `futures_core::Stream`.

#[cfg(feature = "async")]
mod stream;
pub(crate) mod subscribe;
