//! The application side of an engine: the coordinator, which owns the catalog, the clock, the
//! storage and the engine's health, and orders every operation.
//!
//! Every handle (`Engine`, tables, views, subscriptions, transactions) is a thin typed wrapper
//! around one method of [`Coordinator`]: `create`, `open`, `commit` (`admit` and
//! `commit_admitted` for the forms that wait for the backlog only so long), `read`,
//! `histories`, `stats`, `engine_stats`, `subscribe`, `unsubscribe`, `open_consumer`,
//! `acknowledge`, `drop_consumer`, `drop_source`, `checkpoint`, `shutdown`, `serve`. Each
//! method takes the coordinator's lock, checks what it must (names, times, retention), and
//! hands the operation to [`Coordinator::dispatch`], the one place that turns an operation into
//! the commands of this process's workers and, on process 0 of a cluster, the one control the
//! other processes need. Answers come back on channels the method waits on, outside the lock.

pub(crate) mod catalog;
pub(crate) mod checkpoint;
pub(crate) mod commit;
pub(crate) mod connect;
pub(crate) mod consumers;
pub(crate) mod create;
pub(crate) mod drop;
pub(crate) mod panics;
pub(crate) mod read;
pub(crate) mod receivers;
pub(crate) mod shutdown;
pub(crate) mod start;
pub(crate) mod stats;
pub(crate) mod stream_read;
pub(crate) mod subscribe;

use std::any::Any;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::Thread;

use crossbeam_channel::Sender;
use timely::communication::WorkerGuards;

use self::catalog::Catalog;
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::persist::store::Store;
use crate::protocol::SourceId;
use crate::protocol::answers::AnswerSender;
use crate::protocol::health::Health;
use crate::protocol::reply::{FeedTo, Reply};
use crate::protocol::stats::Shares;
use crate::protocol::wire::{Control, ReadKind, Receiver};
use crate::shard::input::Replay;
use crate::shard::kind::Kind;
use crate::time::Time;
use crate::worker::command::{Command, Peek};
use crate::worker::role::Role;

/// Reports `error` on its way back to the application, as a debug event, and returns it.
///
/// Debug, not warn: an error returned as a value is the caller's to handle (a read below
/// `since`, a name taken, a timeout in a polling loop are often expected), and the caller
/// sees it anyway; a warning for each would flood logs with what the application already
/// handles. What no caller asked for, a worker's panic or a lost peer, is an error event where
/// it happens (`protocol/health.rs`).
pub(crate) fn returned(error: Error) -> Error {
    tracing::debug!(error = %error, "error returned to the caller");
    error
}

/// The application side's connection to a running set of workers.
pub(crate) struct Coordinator {
    id: u64,
    workers: usize,
    /// What this process is in its cluster.
    role: Role,
    state: Mutex<State>,
    health: Arc<Health>,
    guards: Mutex<Option<WorkerGuards<()>>>,
    /// Whether the engine has storage: its commits write (and may sync) the log and
    /// checkpoints, which block.
    stored: bool,
    /// Held while a checkpoint is written (or stored files are read), so that no checkpoint
    /// removes a file in use.
    checkpointing: Mutex<()>,
}

/// What changes only in operation order, under the coordinator's lock.
pub(crate) struct State {
    senders: Vec<Sender<Command>>,
    threads: Vec<Thread>,
    clock: Clock,
    catalog: Catalog,
    /// The storage directory, if the engine is durable.
    store: Option<Store>,
    next_id: SourceId,
    next_writer: usize,
    /// Every live subscription, by id: what `stats` reports of each.
    subscriptions: BTreeMap<u64, stats::Subscribed>,
    /// The named consumers and their positions.
    consumers: consumers::Consumers,
}

/// Which workers hold the answer to a read.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Targets {
    /// Every worker holds a shard of it.
    All,
    /// Only this worker (a global index) does: it owns the key being read.
    One(usize),
}

impl Targets {
    /// Where a read for these targets goes, with `local` workers in this process and `remote`
    /// in the others.
    fn place(self, local: usize, remote: usize) -> Placement {
        match self {
            Targets::All => Placement { workers: (0..local).collect(), target: None, others: remote },
            Targets::One(worker) if worker < local => {
                Placement { workers: vec![worker], target: Some(worker), others: 0 }
            }
            Targets::One(worker) => Placement { workers: Vec::new(), target: Some(worker), others: 1 },
        }
    }
}

/// Where a read goes.
pub(crate) struct Placement {
    /// The workers of this process that answer.
    workers: Vec<usize>,
    /// The one worker (a global index) that answers, if only one does.
    target: Option<usize>,
    /// How many workers of the other processes answer.
    others: usize,
}

/// One operation, as the coordinator hands it to [`Coordinator::dispatch`].
pub(crate) enum Operation {
    /// Build source `id` of `kind` on every worker, each with its share of the history.
    Create {
        id: SourceId,
        name: String,
        kind: Arc<dyn Kind>,
        shares: Vec<Replay>,
        /// For a view: the streamed tables it attaches to held, for a `Backfill` that follows.
        held: BTreeSet<SourceId>,
        /// For a view: where each worker answers once built, with the sources it read.
        built: Option<Sender<Result<BTreeSet<SourceId>>>>,
        /// For the other processes: the request their acknowledgements answer.
        remote: Option<(u64, Box<dyn Receiver>)>,
    },
    /// Each worker's share of one batch of table `stream`'s stored history, for view `reader`
    /// (or, `reader == stream`, for the kept table itself); the batch that `release`s goes to
    /// every worker, and ends the backfill (this process only: storage is for one process).
    Backfill { reader: SourceId, stream: SourceId, shares: Vec<Box<dyn Any + Send>>, release: bool },
    /// One table's writes of one transaction, each piece to one worker of this process.
    Write { table: SourceId, time: Time, pieces: Vec<(usize, Box<dyn Any + Send>)> },
    /// Every input is complete before `upper`; history before `since` may be forgotten.
    Advance { upper: Time, since: Time },
    /// Read `source` at `time` where `placement` says; `remote` receives the other processes'
    /// answers (given exactly when some of their workers answer).
    Peek {
        source: SourceId,
        time: Time,
        placement: Placement,
        read: ReadKind,
        reply: AnswerSender,
        cancelled: Arc<AtomicBool>,
        remote: Option<(u64, Box<dyn Receiver>)>,
    },
    /// Feed subscriber `id` (its local feed is `feed`) from view `source`.
    Subscribe {
        source: SourceId,
        id: u64,
        as_of: Time,
        snapshot: bool,
        feed: Arc<dyn Any + Send + Sync>,
        remote: Box<dyn Receiver>,
    },
    /// Stop feeding subscriber `id`.
    Unsubscribe { source: SourceId, id: u64 },
    /// Drop source `id`, called `name`, on every worker of every process.
    Drop { id: SourceId, name: String },
    /// Report the size of the shards of `sources`.
    Stats { sources: Vec<SourceId>, reply: Sender<Shares>, remote: Option<(u64, Box<dyn Receiver>)> },
    /// Stop the workers of the other processes, which acknowledge to the receiver.
    StopOthers { remote: (u64, Box<dyn Receiver>) },
    /// Stop every worker of this process (after the other processes' workers).
    Shutdown,
}

impl State {
    /// The number of workers of this process.
    fn workers(&self) -> usize {
        self.senders.len()
    }

    /// A fresh table or view id.
    fn next_id(&mut self) -> SourceId {
        self.next_id += 1;
        self.next_id
    }

    /// The worker that receives the next small write, round robin.
    fn next_writer(&mut self) -> usize {
        self.next_writer = (self.next_writer + 1) % self.senders.len();
        self.next_writer
    }

    /// Sends `command` to `worker` and wakes it.
    fn send(&self, worker: usize, command: Command) -> Result<()> {
        self.senders[worker].send(command).map_err(|_| Error::Shutdown)?;
        self.threads[worker].unpark();
        Ok(())
    }

    /// Sends a command built by `command` to every worker, in worker order.
    fn broadcast(&self, mut command: impl FnMut(usize) -> Command) -> Result<()> {
        for worker in 0..self.senders.len() {
            self.send(worker, command(worker))?;
        }
        Ok(())
    }
}

impl Coordinator {
    /// This engine's id.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// The number of workers of this process.
    pub(crate) fn workers(&self) -> usize {
        self.workers
    }

    /// Every worker of the cluster (of this process, if it is not one).
    pub(crate) fn peers(&self) -> usize {
        self.workers + self.role.remote_workers()
    }

    /// This process's index in its cluster (0 if it is not in one).
    pub(crate) fn process(&self) -> usize {
        match &self.role {
            Role::Follower { process, .. } => *process,
            _ => 0,
        }
    }

    /// The time of the last commit.
    pub(crate) fn latest(&self) -> Result<Time> {
        self.sequence(|state| Ok(state.clock.last()))
    }

    /// The oldest time reads can ask for.
    pub(crate) fn since(&self) -> Result<Time> {
        self.sequence(|state| Ok(state.clock.since()))
    }

    /// The error for a call whose worker went away.
    pub(crate) fn terminal_error(&self) -> Error {
        self.health.terminal_error()
    }

    /// Wakes every worker (after a read was cancelled, say).
    pub(crate) fn wake_workers(&self) {
        self.health.wake_all();
    }

    /// Runs `f` with the state locked, if the engine still runs and this process is the one
    /// that gives commands (not a process other than 0 of a cluster).
    fn sequence<T>(&self, f: impl FnOnce(&mut State) -> Result<T>) -> Result<T> {
        if let Role::Follower { process, .. } = &self.role {
            return Err(Error::NotLeader { process: *process });
        }
        self.sequence_any(f)
    }

    /// Like [`sequence`](Self::sequence), on any process: for registering tables and views.
    fn sequence_any<T>(&self, f: impl FnOnce(&mut State) -> Result<T>) -> Result<T> {
        let mut state = self.lock();
        self.health.check()?;
        f(&mut state).map_err(|error| match error {
            Error::Shutdown => returned(self.health.terminal_error()),
            other => returned(other),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the state half-updated in a way that
        // matters: every update is a single assignment after all checks.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Turns `operation` into the commands of this process's workers and, on process 0 of a
    /// cluster, the control for the other processes (whose answers go to the operation's
    /// receiver). Returns how many answers the operation's reply channel will get.
    fn dispatch(&self, state: &State, operation: Operation) -> Result<usize> {
        let local = state.workers();
        let remote = self.role.remote_workers();
        let (control, receiver, answers) = match operation {
            Operation::Create { id, name, kind, shares, held, built, remote } => {
                for (worker, history) in shares.into_iter().enumerate() {
                    let (name, kind, built, held) =
                        (name.clone(), Arc::clone(&kind), built.clone(), held.clone());
                    state.send(worker, Command::Create { id, name, kind, history, held, built })?;
                }
                let receiver = remote.map(|(request, receiver)| {
                    let (noun, row) = (kind.noun().to_string(), kind.row().shape());
                    (Control::Create { request, id, name, kind: noun, row }, (request, receiver))
                });
                let (control, receiver) = receiver.unzip();
                (control, receiver, local)
            }
            Operation::Backfill { reader, stream, shares, release } => {
                for (worker, rows) in shares.into_iter().enumerate() {
                    state.send(worker, Command::Backfill { reader, stream, rows, release })?;
                }
                (None, None, 0)
            }
            Operation::Write { table, time, pieces } => {
                for (worker, writes) in pieces {
                    state.send(worker, Command::Write { table, time, writes })?;
                }
                (None, None, 0)
            }
            Operation::Advance { upper, since } => {
                state.broadcast(|_| Command::Advance { upper, since })?;
                (Some(Control::Advance { upper, since }), None, 0)
            }
            Operation::Peek { source, time, placement, read, reply, cancelled, remote: receiver } => {
                for &worker in &placement.workers {
                    let reply = Reply::Local(reply.clone());
                    let (read, cancelled) = (read.clone(), Arc::clone(&cancelled));
                    state.send(worker, Command::Peek(Peek { source, time, read, reply, cancelled }))?;
                }
                let target = placement.target;
                let control = receiver.as_ref().map(|(request, _)| Control::Peek {
                    request: *request,
                    source,
                    time,
                    target,
                    read,
                });
                (control, receiver, placement.workers.len() + placement.others)
            }
            Operation::Subscribe { source, id, as_of, snapshot, feed, remote: receiver } => {
                state.broadcast(|_| Command::Subscribe {
                    source,
                    id,
                    as_of,
                    snapshot,
                    feed: FeedTo::Local(Arc::clone(&feed)),
                })?;
                let control = Control::Subscribe { request: id, source, as_of, snapshot };
                (Some(control), Some((id, receiver)), 0)
            }
            Operation::Unsubscribe { source, id } => {
                state.broadcast(|_| Command::Unsubscribe { source, id })?;
                (Some(Control::Unsubscribe { source, id }), None, 0)
            }
            Operation::Drop { id, name } => {
                state.broadcast(|_| Command::Drop { id, name: name.clone() })?;
                (Some(Control::Drop { id, name }), None, 0)
            }
            Operation::Stats { sources, reply, remote: receiver } => {
                state.broadcast(|_| Command::Stats { sources: sources.clone(), reply: reply.clone() })?;
                let control =
                    receiver.as_ref().map(|(request, _)| Control::Stats { request: *request, sources });
                (control, receiver, local + remote)
            }
            Operation::StopOthers { remote: (request, receiver) } => {
                (Some(Control::Shutdown { request }), Some((request, receiver)), 0)
            }
            Operation::Shutdown => {
                state.broadcast(|_| Command::Shutdown)?;
                (None, None, 0)
            }
        };
        if remote > 0
            && let Some(control) = control
        {
            state.send(0, Command::Remote { control, receiver })?;
        }
        Ok(answers)
    }
}
