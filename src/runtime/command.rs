//! What the application side asks of the workers.
//!
//! Every command that changes dataflows or the clock reaches every worker, and all workers see
//! commands in the same order: the engine's sequencer sends them while holding one lock.

use std::any::Any;
use std::sync::Arc;

use crossbeam_channel::Sender;

use super::arrangement::TraceStats;
use super::cluster::remote::Receiver;
use super::cluster::wire::Control;
use super::peek::PendingPeek;
use super::registry::SourceId;
use super::subscribe::Request;
use super::table_input::TableFactory;
use super::view_build::ViewFactory;
use crate::error::Result;
use crate::time::Time;

/// One instruction for a worker.
pub(crate) enum Command {
    /// Create a table's input and arrangement, replaying this worker's share of its recovered
    /// history.
    CreateTable {
        id: SourceId,
        name: String,
        factory: Arc<dyn TableFactory>,
        history: Option<Box<dyn Any + Send>>,
    },
    /// Build a view's dataflow; every worker replies once.
    CreateView { id: SourceId, name: String, factory: Arc<dyn ViewFactory>, reply: Sender<Result<()>> },
    /// Writes of one transaction to one table (this worker's share of them) at `time`.
    Write { table: SourceId, time: Time, writes: Box<dyn Any + Send> },
    /// Every input is complete before `upper`; history before `since` may be forgotten.
    Advance { upper: Time, since: Time },
    /// Read a shard at a time, once it is complete.
    Peek(PendingPeek),
    /// Feed a subscriber (a `Subscriber<Row>`) from a view once it is complete through `as_of`.
    Subscribe { source: SourceId, id: u64, as_of: Time, subscriber: Box<dyn Request> },
    /// Stop feeding subscriber `id`.
    Unsubscribe { source: SourceId, id: u64 },
    /// Report the size of a shard.
    Stats { source: SourceId, reply: Sender<TraceStats> },
    /// Stop: answer pending reads with `Error::Shutdown`, drop every dataflow, return.
    Shutdown,
    /// For worker 0 of process 0 of a cluster: send `control` to the other processes' workers,
    /// and hand the answers to `request` to its receiver.
    Remote { control: Control, receiver: Option<(u64, Box<dyn Receiver>)> },
}
