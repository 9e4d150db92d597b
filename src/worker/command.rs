//! What the coordinator asks of a worker.
//!
//! Every command that changes dataflows or the clock reaches every worker, and all workers see
//! commands in the same order: the coordinator sends them while holding one lock. On a process
//! other than 0 of a cluster, the follower adapter (`worker/follow.rs`) turns each control from
//! process 0 into the same commands.

use std::any::Any;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use crossbeam_channel::Sender;

use crate::error::Result;
use crate::protocol::SourceId;
use crate::protocol::reply::{FeedTo, Reply};
use crate::protocol::stats::Shares;
use crate::protocol::wire::{Control, ReadKind, Receiver};
use crate::shard::input::Replay;
use crate::shard::kind::Kind;
use crate::time::Time;

/// One instruction for a worker.
pub(crate) enum Command {
    /// Build source `id` of `kind` (a table replays this worker's share of its recovered
    /// `history`, or holds for the batches of it that follow); answer on `built` if given.
    Create {
        id: SourceId,
        name: String,
        kind: Arc<dyn Kind>,
        history: Replay,
        /// For a view: the streamed tables it attaches to held, for a `Backfill`.
        held: BTreeSet<SourceId>,
        built: Option<Sender<Result<BTreeSet<SourceId>>>>,
    },
    /// This worker's share of a batch of table `stream`'s stored history, for view `reader`,
    /// which attached to that streamed table held (`shard/stream.rs`), or for the kept table
    /// itself (`reader == stream`, built with `Replay::InBatches`); the last batch
    /// `release`s it.
    Backfill { reader: SourceId, stream: SourceId, rows: Box<dyn Any + Send>, release: bool },
    /// Drop source `id`, called `name`: its waiting reads and its subscriptions end with
    /// `Error::Dropped`, its dataflow is dropped. No other source reads it.
    Drop { id: SourceId, name: String },
    /// Writes of one transaction to one table (this worker's share of them) at `time`.
    Write { table: SourceId, time: Time, writes: Box<dyn Any + Send> },
    /// Every input is complete before `upper`; history before `since` may be forgotten.
    Advance { upper: Time, since: Time },
    /// Read a shard at a time, once it is complete.
    Peek(Peek),
    /// Feed subscriber `id` from a view once it is complete through `as_of`.
    Subscribe { source: SourceId, id: u64, as_of: Time, snapshot: bool, feed: FeedTo },
    /// Stop feeding subscriber `id`.
    Unsubscribe { source: SourceId, id: u64 },
    /// Report the size of the shards of `sources`.
    Stats { sources: Vec<SourceId>, reply: Sender<Shares> },
    /// Stop: answer pending reads with `Error::Shutdown`, drop every dataflow, return.
    Shutdown,
    /// For worker 0 of process 0 of a cluster: send `control` to the other processes' workers,
    /// and hand the answers to `request` to its receiver.
    Remote { control: Control, receiver: Option<(u64, Box<dyn Receiver>)> },
}

/// A read of one shard at a time.
pub(crate) struct Peek {
    pub(crate) source: SourceId,
    pub(crate) time: Time,
    pub(crate) read: ReadKind,
    pub(crate) reply: Reply,
    /// Set once the caller gave up waiting (a timeout); the read is then dropped unanswered.
    pub(crate) cancelled: Arc<AtomicBool>,
}
