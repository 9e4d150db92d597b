//! What crosses process boundaries: control commands from process 0's worker 0 to the workers
//! of the other processes, and their answers back to it.
//!
//! Everything here is plain serializable data; typed values (rows, keys, feeds) travel as
//! postcard bytes that the receiving side decodes with the type it registered for the source.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::SourceId;
use super::stats::Shares;
use crate::error::Error;
use crate::time::Time;

/// A command for the workers of the other processes, in the order process 0 applied it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum Control {
    /// Build source `id`, which this process must have registered as the `kind` `name` with
    /// row type of shape `row` (see `crate::shape`).
    Create { request: u64, id: SourceId, name: String, kind: String, row: String },
    /// Inputs are complete before `upper`; history before `since` may be forgotten.
    Advance { upper: Time, since: Time },
    /// Read `source` at `time` (only worker `target`, if given) and answer `request`.
    Peek { request: u64, source: SourceId, time: Time, target: Option<usize>, read: ReadKind },
    /// Feed subscription `request` from view `source`.
    Subscribe { request: u64, source: SourceId, as_of: Time, snapshot: bool },
    /// Stop feeding subscription `id`.
    Unsubscribe { source: SourceId, id: u64 },
    /// Drop source `id`, called `name`.
    Drop { id: SourceId, name: String },
    /// Report the size of the shards of `sources`.
    Stats { request: u64, sources: Vec<SourceId> },
    /// Acknowledge, then stop.
    Shutdown { request: u64 },
    /// Process 0 is alive, and wants to hear from this process at least every `interval`
    /// (`protocol/liveness.rs`). Not numbered: the link takes it out before ordering.
    Heartbeat { interval: Duration },
}

/// Which reader a peek uses on the other processes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum ReadKind {
    /// Every `(row, diff)` (row views and bag tables) or `((key, value), diff)` (keyed sources).
    Rows,
    /// The `((key, value), diff)` of a key range: a postcard `KeySelection<K>`.
    Keys(Vec<u8>),
    /// Every `(row, time, diff)` through the time, for batch runs.
    History,
    /// Every `(row, diff)`, handed by reference to a sink that the worker holding the rows makes
    /// and finishes: for readers that encode rows without copying them (file exports). Answered
    /// in this process only; it never crosses to another.
    #[serde(skip)]
    #[cfg_attr(not(feature = "files"), allow(dead_code, reason = "only file exports visit"))]
    Visit(Visitor),
}

/// What a [`ReadKind::Visit`] read carries: the sink factory, type-erased (its type names the
/// source's key and value types; see `shard::peek::SinkFactory`). Public only to be named by
/// `files::Source`, in a private module.
#[derive(Clone)]
pub struct Visitor(pub(crate) std::sync::Arc<dyn std::any::Any + Send + Sync>);

impl std::fmt::Debug for Visitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Visitor")
    }
}

/// One worker's answer to request `request`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Answer {
    pub(crate) request: u64,
    pub(crate) worker: usize,
    pub(crate) body: Body,
}

/// What an answer says.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum Body {
    /// A peek's rows, as a postcard `Vec<T>` of the reader's row type.
    Rows(Result<Vec<u8>, WireError>),
    /// The sizes of the shards asked about.
    Stats(Shares),
    /// A subscription's updates (a postcard `Vec<(D, Time, Diff)>`) and the worker's progress.
    Feed { updates: Vec<u8>, frontier: Option<Time> },
    /// A table or view was built, or the worker stopped.
    Done(Result<(), WireError>),
    /// Unasked: the sender's engine stopped with this error (a worker of its process panicked),
    /// so process 0 stops too instead of waiting for answers that will not come.
    Failed(WireError),
    /// Unasked: the sender's process is alive, and wants to hear from process 0 at least every
    /// `interval` (`protocol/liveness.rs`). The link takes it out before any receiver.
    Heartbeat { interval: Duration },
}

/// An error as it crosses the wire.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum WireError {
    Compacted {
        requested: Time,
        since: Time,
    },
    /// The process registered something else under this id, or nothing.
    Mismatch(String),
    /// A worker of the process panicked, with this message.
    Panicked(String),
    /// The source read was dropped while the read waited; its name.
    Dropped(String),
    /// Anything else, by its message.
    Other(String),
}

impl WireError {
    pub(crate) fn from_error(error: &Error) -> Self {
        match error {
            Error::Compacted { requested, since, .. } => {
                WireError::Compacted { requested: *requested, since: *since }
            }
            Error::WorkerPanicked { message } => WireError::Panicked(message.clone()),
            Error::Dropped { name } => WireError::Dropped(name.clone()),
            other => WireError::Other(other.to_string()),
        }
    }

    /// The error a caller on process 0 sees; `process` sent it.
    pub(crate) fn into_error(self, process: usize) -> Error {
        match self {
            WireError::Compacted { requested, since } => {
                Error::Compacted { name: String::new(), requested, since }
            }
            WireError::Mismatch(detail) => Error::ClusterMismatch { process, detail },
            WireError::Panicked(message) => Error::WorkerPanicked { message },
            WireError::Dropped(name) => Error::Dropped { name },
            WireError::Other(message) => Error::ClusterMismatch {
                process,
                detail: format!("it failed where process 0 did not: {message}"),
            },
        }
    }
}

/// Encodes a value for the wire.
pub(crate) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    postcard::to_allocvec(value).expect("rows serialize: they are plain serde data")
}

/// Decodes a value from the wire.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, WireError> {
    postcard::from_bytes(bytes)
        .map_err(|e| WireError::Mismatch(format!("its data does not decode as this type: {e}")))
}

/// What takes the answers to one request on process 0 (held by its worker 0, which receives
/// them from the link).
///
/// A receiver has no way to fail: if the engine stops first, it is dropped unanswered, and the
/// caller reads its closed channel (or ended feed) as the engine's terminal error.
pub(crate) trait Receiver: Send {
    /// Takes one answer from a worker of `process`; true once nothing more is expected.
    fn receive(&mut self, answer: Answer, process: usize) -> bool;
}
