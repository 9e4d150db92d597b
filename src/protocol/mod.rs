//! What crosses between the application side and the workers, and between processes, as data.
//!
//! Nothing here holds a trace, a scope or a typed source: these are the plain values both sides
//! agree on. [`wire`] is what travels between processes (controls from process 0, answers back);
//! [`feed`] is the buffer between the workers and one subscriber; [`reply`] is where a worker
//! sends a read's answer or a subscription's changes (the caller's channel in this process,
//! [`answers`], or the [`outbox`] towards process 0); [`health`] is whether the engine still runs,
//! [`liveness`] whether the other processes of a cluster are still heard from, and [`backlog`]
//! how far the workers are behind the commits (the bound on writers).
//!
//! The one message that carries live objects, `worker::command::Command`, sits with the
//! worker that executes it; the coordinator imports it from there.

pub(crate) mod answers;
pub(crate) mod backlog;
pub(crate) mod feed;
pub(crate) mod health;
pub(crate) mod liveness;
pub(crate) mod outbox;
pub(crate) mod reply;
pub(crate) mod stats;
pub(crate) mod wire;

use std::sync::atomic::{AtomicU64, Ordering};

/// The id of a table or view, unique within one engine.
pub(crate) type SourceId = u64;

static NEXT_REQUEST: AtomicU64 = AtomicU64::new(1);

/// A fresh id for a request whose answers come back over the link (subscriptions included).
pub(crate) fn next_request() -> u64 {
    NEXT_REQUEST.fetch_add(1, Ordering::Relaxed)
}
