//! What a kind of source is: the one object each kind writes once (`source/*.rs`), which the
//! workers and the coordinator use without knowing its types.
//!
//! A kind's file implements [`SourceKind`]: its trace type, its noun, how it is built on a
//! worker and, for a table, how its writes and contents are stored. Everything else follows from
//! the trace type and is written here once, for every kind: which reads it answers and how
//! their answers cross a process boundary, how it feeds a subscriber, how the history its
//! workers return is merged. The catalog keeps one [`Kind`] object per name; every worker's
//! shard of the source keeps the same object.

use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;
use std::sync::Arc;

use timely::worker::Worker;

use super::hub::{Request, Subscriber};
use super::input::Replay;
use super::layout::Layout;
use super::peek::{PeekReader, Readable};
use super::registry::{Registry, Shard};
use crate::error::{Error, Result};
use crate::persist::codec::{StoredKind, TableCodec};
use crate::protocol::SourceId;
use crate::protocol::reply::{FeedTo, Reply};
use crate::protocol::wire::{ReadKind, WireError};
use crate::row::Row;
use crate::shape::shape_of;
use crate::time::{Diff, Time};

/// The row type of a source, checked on every reopen.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowType {
    id: TypeId,
    name: &'static str,
    shape: fn() -> String,
}

impl RowType {
    pub(crate) fn of<T: Row>() -> Self {
        RowType { id: TypeId::of::<T>(), name: std::any::type_name::<T>(), shape: shape_of::<T> }
    }

    /// The type's Rust name, as shown in errors.
    pub(crate) fn name(&self) -> &'static str {
        self.name
    }

    /// The type's shape: what stored files and other processes know it by.
    pub(crate) fn shape(&self) -> String {
        (self.shape)()
    }

    /// True for the same Rust type.
    pub(crate) fn is(&self, other: RowType) -> bool {
        self.id == other.id
    }
}

/// Where a source is built: the worker, the shards it holds already, and the engine's clock.
pub(crate) struct Site<'a> {
    pub(crate) worker: &'a mut Worker,
    /// The source's id.
    pub(crate) id: SourceId,
    pub(crate) registry: &'a Rc<RefCell<Registry>>,
    pub(crate) engine: u64,
    pub(crate) name: &'a str,
    /// Every input is complete before this time.
    pub(crate) upper: Time,
    /// History before this time may be forgotten.
    pub(crate) since: Time,
    /// A table's recovered history, this worker's share of it.
    pub(crate) history: Replay,
    /// The streamed tables a view attaches to held at `since`, for the backfill of their
    /// stored history that follows its creation.
    pub(crate) held: &'a BTreeSet<SourceId>,
}

/// What a kind's file implements; [`Kind`] follows from it.
pub(crate) trait SourceKind: Send + Sync + 'static {
    /// How the source is arranged on each worker, which fixes the rows users see.
    type Trace: Readable;
    /// The word users read in messages: "table", "keyed table", "view", "keyed view".
    const NOUN: &'static str;

    /// Builds the source on a worker. Fails (on every worker alike) if a view's definition
    /// reads something the engine does not have.
    fn build(&self, site: Site<'_>) -> Result<Shard>;

    /// For a table: how it is stored, and how its writes and contents are encoded.
    fn stored(&self) -> Option<(StoredKind, &dyn TableCodec)> {
        None
    }

    /// False for a source whose rows no worker keeps: a streamed table, whose reads are
    /// answered from its stored history (`coordinator/stream_read.rs`), and a streamed view,
    /// whose reads are batch runs of its definition (`view.rs`).
    fn keeps_rows(&self) -> bool {
        true
    }
}

/// A kind of source, as the workers and the coordinator use it.
pub(crate) trait Kind: Send + Sync + 'static {
    /// The word users read in messages.
    fn noun(&self) -> &'static str;
    /// The rows users see.
    fn row(&self) -> RowType;
    /// The kind's own value (a view's kind holds its definition).
    fn as_any(&self) -> &dyn Any;
    /// For a table: how it is stored; `None` for a view.
    fn stored(&self) -> Option<(StoredKind, &dyn TableCodec)>;
    /// True for a streamed table or view, whose rows are not kept on the workers.
    fn streamed(&self) -> bool;
    /// The answer to `read` at `t`, as this kind's readers would give it, from the source's
    /// history `rows` (a `Vec<(row, time, diff)>` through `t`): for a streamed table, whose
    /// reads are answered from its stored history. Fails for reads history cannot answer.
    fn answer_from_history(
        &self,
        read: &ReadKind,
        t: Time,
        rows: &Arc<dyn Any + Send + Sync>,
    ) -> Result<Box<dyn Any + Send>>;
    /// Builds the source on a worker.
    fn build(&self, site: Site<'_>) -> Result<Shard>;
    /// A reader of a shard of this source for `read`, answering to `reply`; `None` (after
    /// answering with the error) if the source cannot answer that read.
    fn reader(&self, read: &ReadKind, reply: Reply) -> Option<Box<dyn PeekReader>>;
    /// Decodes another process's answer to `read` as this process's reader would answer.
    fn decode(&self, read: &ReadKind, bytes: &[u8]) -> Result<Box<dyn Any + Send>, WireError>;
    /// Subscriber `id`, fed through `feed`; `None` if a local feed is not of this source's rows.
    fn subscriber(&self, id: u64, as_of: Time, snapshot: bool, feed: FeedTo) -> Option<Box<dyn Request>>;
    /// Every worker's answer to a history read, merged into one `Vec<(row, time, diff)>` in
    /// time order.
    fn merge_history(&self, parts: Vec<Box<dyn Any + Send>>) -> Result<Arc<dyn Any + Send + Sync>>;
}

/// The rows of a kind.
type RowOf<S> = <<S as SourceKind>::Trace as Layout>::Row;

impl<S: SourceKind> Kind for S {
    fn noun(&self) -> &'static str {
        S::NOUN
    }

    fn row(&self) -> RowType {
        RowType::of::<RowOf<S>>()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn stored(&self) -> Option<(StoredKind, &dyn TableCodec)> {
        SourceKind::stored(self)
    }

    fn streamed(&self) -> bool {
        !SourceKind::keeps_rows(self)
    }

    fn answer_from_history(
        &self,
        read: &ReadKind,
        t: Time,
        rows: &Arc<dyn Any + Send + Sync>,
    ) -> Result<Box<dyn Any + Send>> {
        let rows = rows.downcast_ref::<Vec<(RowOf<S>, Time, Diff)>>().ok_or_else(mismatched)?;
        let through = rows.iter().filter(|(_, time, _)| *time <= t);
        match read {
            ReadKind::Rows => {
                let mut answer: Vec<(RowOf<S>, Diff)> =
                    through.map(|(row, _, diff)| (row.clone(), *diff)).collect();
                differential_dataflow::consolidation::consolidate(&mut answer);
                Ok(Box::new(answer))
            }
            ReadKind::History => Ok(Box::new(through.cloned().collect::<Vec<_>>())),
            ReadKind::Keys(_) | ReadKind::Visit(_) => {
                Err(Error::NotKept { name: String::new(), reason: crate::error::NOT_FROM_LOG })
            }
        }
    }

    fn build(&self, site: Site<'_>) -> Result<Shard> {
        SourceKind::build(self, site)
    }

    fn reader(&self, read: &ReadKind, reply: Reply) -> Option<Box<dyn PeekReader>> {
        S::Trace::reader(read, reply)
    }

    fn decode(&self, read: &ReadKind, bytes: &[u8]) -> Result<Box<dyn Any + Send>, WireError> {
        S::Trace::decode(read, bytes)
    }

    fn subscriber(&self, id: u64, as_of: Time, snapshot: bool, feed: FeedTo) -> Option<Box<dyn Request>> {
        let feed = feed.typed::<RowOf<S>>()?;
        Some(Box::new(Subscriber { id, as_of, snapshot, feed }))
    }

    fn merge_history(&self, parts: Vec<Box<dyn Any + Send>>) -> Result<Arc<dyn Any + Send + Sync>> {
        let mut updates: Vec<(RowOf<S>, Time, Diff)> = Vec::new();
        for part in parts {
            let part = part.downcast::<Vec<(RowOf<S>, Time, Diff)>>().map_err(|_| mismatched())?;
            updates.extend(*part);
        }
        updates.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
        Ok(Arc::new(updates))
    }
}

/// A worker answered with rows of another type than its source's: the processes of a cluster
/// registered different types (every path inside one process is checked by the catalog).
pub(crate) fn mismatched() -> Error {
    Error::ClusterMismatch { process: 0, detail: "an answer did not hold the source's row type".into() }
}
