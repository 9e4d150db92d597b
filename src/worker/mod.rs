//! The loop each timely worker runs: apply commands, step the dataflows, serve reads.
//!
//! A worker owns every `Rc`-based object (inputs, traces, dataflows) for its shard; only
//! commands and answers cross threads. When there is nothing to do it parks; a command unparks
//! it. In a cluster it parks at most until its next heartbeat is due, and after each step checks
//! that the processes it listens to are still heard from (`protocol/liveness.rs`). It leaves the loop on `Shutdown` or when the engine is poisoned, then answers every
//! pending read and drops its dataflows, so timely's own epilogue finishes at once.

pub(crate) mod command;
pub(crate) mod follow;
pub(crate) mod link;
pub(crate) mod role;

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, TryRecvError};
use timely::worker::Worker;

use self::command::{Command, Peek};
use self::follow::{Follower, Step};
use self::link::Link;
use self::role::Role;
use crate::error::Error;
use crate::protocol::SourceId;
use crate::protocol::health::{Health, panic_message};
use crate::protocol::stats::{Shares, TraceStats};
use crate::protocol::wire::{Body, Control, Receiver as AnswerReceiver, WireError};
use crate::shard::hub::Request;
use crate::shard::kind::{Kind, Site};
use crate::shard::peek::PendingPeek;
use crate::shard::registry::{Registry, Shard};
use crate::time::Time;

/// Runs one worker until shutdown or poison. Never panics: a panic in a dataflow (user view
/// code) poisons the engine instead.
pub(crate) fn run(
    worker: &mut Worker,
    commands: Receiver<Command>,
    engine: u64,
    health: Arc<Health>,
    role: Role,
    local: usize,
) {
    let index = worker.index();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        WorkerLoop::new(worker, commands, engine, Arc::clone(&health), role, local).run();
    }));
    if let Err(payload) = outcome {
        health.set_panic_message(format!("worker {index}: {}", panic_message(payload.as_ref())));
    }
    let _ = catch_unwind(AssertUnwindSafe(|| {
        for dataflow in worker.installed_dataflows() {
            worker.drop_dataflow(dataflow);
        }
    }));
    health.worker_exited();
}

/// A subscriber waiting for its view to be complete through `as_of` on this worker; it holds
/// the view's compaction at `as_of` meanwhile.
struct PendingSubscription {
    source: SourceId,
    id: u64,
    as_of: Time,
    subscriber: Box<dyn Request>,
}

/// How many commits a worker applies before it steps its dataflows.
const ADVANCES_PER_STEP: usize = 32;

struct WorkerLoop<'w> {
    worker: &'w mut Worker,
    commands: Receiver<Command>,
    engine: u64,
    health: Arc<Health>,
    registry: Rc<RefCell<Registry>>,
    /// The kind of each source in the registry, which builds its readers and subscribers.
    kinds: BTreeMap<SourceId, Arc<dyn Kind>>,
    /// The dataflow of each source in the registry (one each), dropped with the source.
    dataflows: BTreeMap<SourceId, usize>,
    /// The name of each source in the registry, for events.
    names: BTreeMap<SourceId, String>,
    peeks: Vec<PendingPeek>,
    subscriptions: Vec<PendingSubscription>,
    /// Every input is complete before this time.
    upper: Time,
    /// History before this time may be forgotten.
    since: Time,
    /// This worker's index in its process, and the frontier it last reported applied.
    position: usize,
    applied: Time,
    stop: bool,
    /// This worker's part in a cluster.
    peer: Peer,
}

/// A worker's part in a cluster (see `worker/role.rs`).
enum Peer {
    /// Not a cluster.
    Alone,
    /// Worker 0 of process 0: forwards controls, routes answers to their receivers.
    Leader { link: Link, receivers: HashMap<u64, Box<dyn AnswerReceiver>> },
    /// Another worker of process 0: it only takes part in the link dataflow, and sends
    /// heartbeats.
    Quiet { link: Link },
    /// A worker of another process: follows process 0's controls, answers through its outbox.
    Follower(Follower),
}

impl Peer {
    /// This worker's end of the link, in a cluster.
    fn link(&mut self) -> Option<&mut Link> {
        match self {
            Peer::Alone => None,
            Peer::Leader { link, .. } | Peer::Quiet { link } => Some(link),
            Peer::Follower(follower) => Some(follower.link()),
        }
    }
}

impl<'w> WorkerLoop<'w> {
    fn new(
        worker: &'w mut Worker,
        commands: Receiver<Command>,
        engine: u64,
        health: Arc<Health>,
        role: Role,
        local: usize,
    ) -> Self {
        let position = worker.index() % local;
        let peer = match role {
            Role::Single => Peer::Alone,
            Role::Leader { liveness, .. } if worker.index() == 0 => {
                Peer::Leader { link: Link::build(worker, local, liveness), receivers: HashMap::new() }
            }
            Role::Leader { liveness, .. } => Peer::Quiet { link: Link::build(worker, local, liveness) },
            Role::Follower { process, registrations, liveness } => {
                let link = Link::build(worker, local, liveness);
                Peer::Follower(Follower::new(link, registrations, process, worker.index()))
            }
        };
        WorkerLoop {
            peer,
            worker,
            commands,
            engine,
            health,
            registry: Rc::default(),
            kinds: BTreeMap::new(),
            dataflows: BTreeMap::new(),
            names: BTreeMap::new(),
            peeks: Vec::new(),
            subscriptions: Vec::new(),
            upper: 1,
            since: 0,
            position,
            applied: 0,
            stop: false,
        }
    }

    fn run(mut self) {
        while !self.stop {
            self.drain_commands();
            if self.stop || self.health.is_poisoned() {
                break;
            }
            self.follow();
            self.serve_peeks();
            self.serve_subscriptions();
            self.maintain();
            self.exchange();
            self.heartbeat();
            let (began, park) = (Instant::now(), self.park_timeout());
            self.worker.step_or_park(park);
            self.watch_peers(began);
        }
    }

    /// In a cluster, tells the other processes this one is alive, if a heartbeat is due
    /// (`protocol/liveness.rs`).
    fn heartbeat(&mut self) {
        if let Some(link) = self.peer.link() {
            link.heartbeat();
        }
    }

    /// How long the worker may park with nothing to do: forever alone, until its next
    /// heartbeat is due in a cluster.
    fn park_timeout(&mut self) -> Option<Duration> {
        self.peer.link().map(|link| link.park_timeout())
    }

    /// In a cluster, fails the engine with `PeerLost` if a process this worker listens to was
    /// silent for longer than the peer timeout before this worker's last step `began`.
    fn watch_peers(&mut self, began: Instant) {
        if let Some(error) = self.peer.link().and_then(|link| link.lost(began)) {
            self.health.fail_with(error);
        }
    }

    /// Applies waiting commands, but at most `ADVANCES_PER_STEP` commits' worth before the
    /// dataflows get to run: a flood of commits then becomes many modest batches that merge
    /// and compact as they go, instead of one batch holding every commit's distinct times.
    fn drain_commands(&mut self) {
        let mut advances = 0;
        while advances < ADVANCES_PER_STEP {
            match self.commands.try_recv() {
                Ok(command) => {
                    advances += usize::from(matches!(command, Command::Advance { .. }));
                    self.apply(command);
                }
                Err(TryRecvError::Empty) => return,
                Err(TryRecvError::Disconnected) => {
                    self.stop = true;
                    return;
                }
            }
            if self.stop {
                return;
            }
        }
    }

    fn apply(&mut self, command: Command) {
        match command {
            Command::Create { id, name, kind, history, held, built } => {
                let dataflow = self.worker.next_dataflow_index();
                let site = Site {
                    worker: self.worker,
                    id,
                    registry: &self.registry,
                    engine: self.engine,
                    name: &name,
                    upper: self.upper,
                    since: self.since,
                    history,
                    held: &held,
                };
                let answer = kind.build(site).map(|mut shard| {
                    let reads = std::mem::take(&mut shard.reads);
                    self.registry.borrow_mut().insert(id, shard);
                    self.kinds.insert(id, kind);
                    self.dataflows.insert(id, dataflow);
                    self.names.insert(id, name.clone());
                    reads
                });
                if answer.is_err() {
                    self.detach(id);
                }
                if let Some(built) = built {
                    let _ = built.send(answer);
                }
            }
            Command::Drop { id, name } => self.drop_source(id, name),
            Command::Backfill { reader, stream, rows, release } => {
                let mut registry = self.registry.borrow_mut();
                let input = registry.get_mut(stream).and_then(|shard| shard.input.as_mut());
                let input = input.expect("a backfill names a table every worker created");
                input.backfill(reader, rows, release);
            }
            Command::Write { table, time, writes } => {
                let mut registry = self.registry.borrow_mut();
                let input = registry.get_mut(table).and_then(|shard| shard.input.as_mut());
                input.expect("writes name a table every worker created").write(time, writes);
            }
            Command::Advance { upper, since } => {
                // Commands come from one sequencer, in order: an upper never moves back.
                debug_assert!(upper >= self.upper, "Advance to {upper} after {}", self.upper);
                self.upper = upper;
                self.since = since;
                for (_, shard) in self.registry.borrow_mut().shards_mut() {
                    if let Some(input) = shard.input.as_mut() {
                        input.advance(upper);
                    }
                }
            }
            Command::Peek(peek) => self.accept_peek(peek),
            Command::Subscribe { source, id, as_of, snapshot, feed } => {
                let kind = self.kinds.get(&source);
                match kind.and_then(|kind| kind.subscriber(id, as_of, snapshot, feed)) {
                    Some(subscriber) => {
                        self.subscriptions.push(PendingSubscription { source, id, as_of, subscriber });
                    }
                    None => {
                        let detail =
                            format!("this process has no view #{source} of that type to subscribe to");
                        self.health.fail_with(Error::ClusterMismatch { process: self.process(), detail });
                    }
                }
            }
            Command::Unsubscribe { source, id } => {
                self.subscriptions.retain(|pending| pending.id != id);
                if let Some(hub) = self.registry.borrow_mut().get_mut(source).and_then(|s| s.hub.as_mut()) {
                    hub.unregister(id);
                }
            }
            Command::Stats { sources, reply } => {
                let _ = reply.send(self.stats(&sources));
            }
            Command::Shutdown => self.stop = true,
            Command::Remote { control, receiver } => {
                if let Peer::Leader { link, receivers } = &mut self.peer {
                    if let Control::Unsubscribe { id, .. } = &control {
                        receivers.remove(id);
                    }
                    if let Some((request, receiver)) = receiver {
                        receivers.insert(request, receiver);
                    }
                    link.broadcast(control);
                }
            }
        }
    }

    /// Drops source `id` (`name`): its waiting reads fail and its subscriptions end with
    /// `Error::Dropped`, then its shard and its dataflow go. Nothing else reads it (the
    /// coordinator checked), so no other dataflow holds its trace.
    fn drop_source(&mut self, id: SourceId, name: String) {
        let dropped = Error::Dropped { name };
        let (ended, waiting) = std::mem::take(&mut self.peeks).into_iter().partition(|p| p.source == id);
        self.peeks = waiting;
        for peek in ended {
            peek.reader.fail(dropped.clone());
        }
        let (ended, waiting) =
            std::mem::take(&mut self.subscriptions).into_iter().partition(|s| s.source == id);
        self.subscriptions = waiting;
        for pending in ended {
            pending.subscriber.end_with(&dropped);
        }
        if let Some(mut shard) = self.registry.borrow_mut().remove(id)
            && let Some(hub) = shard.hub.as_mut()
        {
            hub.end_all(&dropped);
        }
        self.kinds.remove(&id);
        self.names.remove(&id);
        self.detach(id);
        if let Some(dataflow) = self.dataflows.remove(&id) {
            self.worker.drop_dataflow(dataflow);
        }
    }

    /// Removes view `reader`'s inputs from every streamed table it attached to (it is
    /// dropped, or its definition failed and its half-built dataflow with it).
    fn detach(&mut self, reader: SourceId) {
        for (_, shard) in self.registry.borrow_mut().shards_mut() {
            if let Some(input) = shard.input.as_mut() {
                input.forget(reader);
            }
        }
    }

    /// This process's index in its cluster (0 outside one).
    fn process(&self) -> usize {
        match &self.peer {
            Peer::Follower(follower) => follower.process(),
            _ => 0,
        }
    }

    /// The size of each of `sources`' shards here, with its subscribers and waiting reads.
    ///
    /// Compaction is brought up to date first, so that `since` is what the commands so far
    /// allow (every worker then reports the same `since` for the same commands).
    fn stats(&mut self, sources: &[SourceId]) -> Shares {
        self.maintain();
        let mut registry = self.registry.borrow_mut();
        let stats_of = |source: SourceId, shard: Option<&mut Shard>| {
            let Some(shard) = shard else { return TraceStats::default() };
            let mut stats = shard.arrangement.stats();
            let registered = shard.hub.as_ref().map_or(0, |hub| hub.subscribers());
            let waiting = self.subscriptions.iter().filter(|p| p.source == source).count();
            stats.subscribers = registered + waiting;
            stats.reads = self.peeks.iter().filter(|peek| peek.source == source).count();
            stats
        };
        sources.iter().map(|&source| (source, stats_of(source, registry.get_mut(source)))).collect()
    }

    /// On a process other than 0: applies the controls that have arrived, in order, until one
    /// waits for this process's application to register its source.
    fn follow(&mut self) {
        loop {
            let Peer::Follower(follower) = &mut self.peer else { return };
            let Some(step) = follower.next() else { return };
            match step {
                Step::Apply { command, built } => {
                    self.apply(command);
                    if let (Some((request, answer)), Peer::Follower(follower)) = (built, &self.peer) {
                        let built = answer.recv().unwrap_or(Err(Error::Shutdown)).map(|_reads| ());
                        follower.answer(request, Body::Done(built.map_err(|e| WireError::from_error(&e))));
                    }
                }
                Step::Stats { request, sources } => {
                    let stats = self.stats(&sources);
                    if let Peer::Follower(follower) = &self.peer {
                        follower.answer(request, Body::Stats(stats));
                    }
                }
                Step::Shutdown { request } => {
                    if let Peer::Follower(follower) = &self.peer {
                        follower.answer(request, Body::Done(Ok(())));
                    }
                    self.health.mark_shut_down();
                    self.stop = true;
                }
                Step::Skip => {}
                Step::Fail(error) => self.health.fail_with(error),
            }
            if self.stop || self.health.is_poisoned() {
                return;
            }
        }
    }

    /// Moves answers across the link: worker 0 of process 0 hands what arrived to the
    /// receivers; workers of other processes send what their readers and hubs produced.
    fn exchange(&mut self) {
        match &mut self.peer {
            Peer::Leader { link, receivers } => {
                for answer in link.take_answers() {
                    let process = link.process_of(answer.worker);
                    if let Body::Failed(error) = answer.body {
                        match error.into_error(process) {
                            Error::WorkerPanicked { message } => self.health.set_panic_message(message),
                            other => self.health.fail_with(other),
                        }
                        continue;
                    }
                    let request = answer.request;
                    if let Some(receiver) = receivers.get_mut(&request)
                        && receiver.receive(answer, process)
                    {
                        receivers.remove(&request);
                    }
                }
            }
            Peer::Follower(follower) => follower.flush(),
            Peer::Alone | Peer::Quiet { .. } => {}
        }
    }

    /// Refuses a read below `since` at once; otherwise queues it until its time is complete.
    ///
    /// The bound is the engine's `since` as of this command (every worker sees commands in the
    /// same order, so all agree), not the arrangement's, which may lag until `maintain` runs
    /// or be held back by other reads.
    fn accept_peek(&mut self, peek: Peek) {
        let Peek { source, time, read, reply, cancelled } = peek;
        let Some(kind) = self.kinds.get(&source) else {
            reply.fail(Error::UnknownName { kind: "view", name: format!("#{source}") });
            return;
        };
        if time < self.since {
            reply.fail(Error::Compacted { name: String::new(), requested: time, since: self.since });
            return;
        }
        if let Some(reader) = kind.reader(&read, reply) {
            self.peeks.push(PendingPeek { source, time, reader, cancelled });
        }
    }

    /// Answers every read whose time is complete; drops cancelled ones.
    fn serve_peeks(&mut self) {
        if self.peeks.is_empty() {
            return;
        }
        let mut registry = self.registry.borrow_mut();
        let mut waiting = Vec::with_capacity(self.peeks.len());
        for peek in self.peeks.drain(..) {
            if peek.is_cancelled() {
                continue;
            }
            let source = registry.get_mut(peek.source).expect("accepted peeks name a source");
            let arrangement = &mut source.arrangement;
            if arrangement.upper().is_none_or(|upper| upper > peek.time) {
                peek.reader.read(arrangement.trace_mut(), peek.time);
            } else {
                waiting.push(peek);
            }
        }
        self.peeks = waiting;
    }

    /// Registers subscribers whose view is complete through their `as_of`, then hands every
    /// view's new changes and progress to its subscribers.
    fn serve_subscriptions(&mut self) {
        let mut registry = self.registry.borrow_mut();
        let mut waiting = Vec::new();
        for pending in self.subscriptions.drain(..) {
            let source = registry.get_mut(pending.source).expect("subscriptions name a view");
            let upper = source.arrangement.upper();
            let at_once = source.hub.as_ref().is_some_and(|hub| hub.registers_at_once());
            if at_once || upper.is_none_or(|upper| upper > pending.as_of) {
                let hub = source.hub.as_mut().expect("only views take subscribers");
                hub.register(source.arrangement.trace_mut(), pending.subscriber, upper);
            } else {
                waiting.push(pending);
            }
        }
        self.subscriptions = waiting;
        for (_, source) in registry.shards_mut() {
            if let Some(hub) = source.hub.as_mut() {
                hub.flush();
            }
        }
    }

    /// Advances every arrangement's compaction: logically to `since`, held back by open reads,
    /// and physically to its upper. A `since` that moves is a debug event (once per source and
    /// worker each time, which is at most once per command that moves the engine's `since`).
    /// Reports the worker's applied frontier to the backlog from the uppers it reads anyway:
    /// every step is followed by a turn of the loop, so by a `maintain`, before the worker can
    /// park, and no frontier a step moved goes unreported.
    fn maintain(&mut self) {
        let peeks = self.peeks.iter().map(|p| (p.source, p.time));
        let holds: Vec<(SourceId, Time)> =
            peeks.chain(self.subscriptions.iter().map(|s| (s.source, s.as_of))).collect();
        // Every source is complete before the smallest of their uppers (before `upper` if there
        // is none): how far this worker has applied the commits, for the backlog.
        let mut applied = self.upper;
        for (id, source) in self.registry.borrow_mut().shards_mut() {
            let hold = holds.iter().filter(|(source, _)| source == id).map(|(_, time)| *time).min();
            let since = hold.map_or(self.since, |hold| hold.min(self.since));
            let compaction = source.arrangement.compact(since);
            if compaction.moved {
                let name = self.names.get(id).map_or("", String::as_str);
                tracing::debug!(worker = self.worker.index(), source = name, since, "compacted");
            }
            applied = compaction.upper.map_or(applied, |upper| upper.min(applied));
        }
        if applied != self.applied {
            self.applied = applied;
            self.health.backlog().applied(self.position, applied);
        }
    }

    /// Ends what waits on this worker, and drops every shard.
    ///
    /// Pending reads and process 0's receivers are dropped unanswered: their callers read a
    /// closed channel as the engine's terminal error. A process other than 0 whose worker
    /// panicked tells process 0, which then stops too.
    fn close(&mut self) {
        self.peeks.clear();
        for pending in self.subscriptions.drain(..) {
            pending.subscriber.end();
        }
        if let Peer::Follower(follower) = &mut self.peer
            && self.health.is_poisoned()
            && let error @ Error::WorkerPanicked { .. } = self.health.terminal_error()
        {
            // Without this, process 0 would wait for answers that will not come: this
            // process's connections close cleanly, which reads as no failure there. The
            // answer leaves only with a step.
            follower.answer(0, Body::Failed(WireError::from_error(&error)));
            follower.flush();
            self.worker.step();
        }
        if let Peer::Leader { receivers, .. } = &mut self.peer {
            // Dropped unanswered: each caller reads that as the terminal error.
            receivers.clear();
        }
        self.registry.borrow_mut().clear();
        self.kinds.clear();
        self.dataflows.clear();
        self.names.clear();
    }
}

impl Drop for WorkerLoop<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // Mark the poison before the pending reads' channels close, so their callers
            // learn why; subscribers still waiting to register are ended too.
            self.health.mark_poisoned();
            for pending in &self.subscriptions {
                pending.subscriber.end();
            }
        } else {
            self.close();
        }
    }
}
