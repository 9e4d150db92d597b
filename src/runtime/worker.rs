//! The loop each timely worker runs: apply commands, step the dataflows, serve reads.
//!
//! A worker owns every `Rc`-based object (inputs, traces, dataflows) for its shard; only
//! commands and answers cross threads. When there is nothing to do it parks; a command unparks
//! it. It leaves the loop on `Shutdown` or when the engine is poisoned, then answers every
//! pending read and drops its dataflows, so timely's own epilogue finishes at once.

use std::cell::RefCell;
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use crossbeam_channel::{Receiver, TryRecvError};
use timely::worker::Worker;

use super::arrangement::TraceStats;
use super::cluster::Role;
use super::cluster::link::Link;
use super::cluster::remote::{Build, Outbox, Receiver as AnswerReceiver, Registrations, RemoteSource};
use super::cluster::wire::{Body, Control, WireError};
use super::command::Command;
use super::health::{Health, panic_message};
use super::peek::PendingPeek;
use super::registry::{Registry, Source, SourceId};
use super::subscribe::Request;
use super::view_build::BuildContext;
use crate::error::Error;
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
    peeks: Vec<PendingPeek>,
    subscriptions: Vec<PendingSubscription>,
    /// Every input is complete before this time.
    upper: Time,
    /// History before this time may be forgotten.
    since: Time,
    stop: bool,
    /// This worker's part in a cluster.
    peer: Peer,
}

/// A worker's part in a cluster (see `runtime::cluster`).
enum Peer {
    /// Not a cluster.
    Alone,
    /// Worker 0 of process 0: forwards controls, routes answers to their receivers.
    Leader { link: Link, receivers: HashMap<u64, Box<dyn AnswerReceiver>> },
    /// Another worker of process 0: it only takes part in the link dataflow.
    Quiet { _link: Link },
    /// A worker of another process: applies controls in order, answers through its outbox.
    Follower {
        link: Link,
        registrations: Arc<Mutex<Registrations>>,
        remotes: HashMap<SourceId, Arc<dyn RemoteSource>>,
        outbox: Outbox,
        /// A control that waits for this process's application to register its source.
        waiting: Option<Control>,
        process: usize,
    },
}

/// Whether a control could be applied yet.
enum Applied {
    Done,
    Wait(Control),
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
        let peer = match role {
            Role::Single => Peer::Alone,
            Role::Leader { .. } if worker.index() == 0 => {
                Peer::Leader { link: Link::build(worker, local), receivers: HashMap::new() }
            }
            Role::Leader { .. } => Peer::Quiet { _link: Link::build(worker, local) },
            Role::Follower { process, registrations } => Peer::Follower {
                link: Link::build(worker, local),
                registrations,
                remotes: HashMap::new(),
                outbox: Outbox::new(worker.index()),
                waiting: None,
                process,
            },
        };
        WorkerLoop {
            peer,
            worker,
            commands,
            engine,
            health,
            registry: Rc::default(),
            peeks: Vec::new(),
            subscriptions: Vec::new(),
            upper: 1,
            since: 0,
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
            self.worker.step_or_park(None);
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
            Command::CreateTable { id, name, factory, history } => {
                let (input, arrangement) = factory.build(self.worker, &name, self.upper, self.since, history);
                let source = Source { arrangement, input: Some(input), hub: None };
                self.registry.borrow_mut().insert(id, source);
            }
            Command::CreateView { id, name, factory, reply } => {
                let context = BuildContext {
                    worker: self.worker,
                    registry: &self.registry,
                    engine: self.engine,
                    name: &name,
                    since: self.since,
                };
                let built = factory.build(context);
                let answer = built.map(|(arrangement, hub)| {
                    let source = Source { arrangement, input: None, hub: Some(hub) };
                    self.registry.borrow_mut().insert(id, source);
                });
                let _ = reply.send(answer);
            }
            Command::Write { table, time, writes } => {
                let mut registry = self.registry.borrow_mut();
                let input = registry.get_mut(table).and_then(|source| source.input.as_mut());
                input.expect("writes name a table every worker created").write(time, writes);
            }
            Command::Advance { upper, since } => {
                self.upper = upper;
                self.since = since;
                for (_, source) in self.registry.borrow_mut().sources_mut() {
                    if let Some(input) = source.input.as_mut() {
                        input.advance(upper);
                    }
                }
            }
            Command::Peek(peek) => self.accept_peek(peek),
            Command::Subscribe { source, id, as_of, subscriber } => {
                self.subscriptions.push(PendingSubscription { source, id, as_of, subscriber });
            }
            Command::Unsubscribe { source, id } => {
                self.subscriptions.retain(|pending| pending.id != id);
                if let Some(hub) = self.registry.borrow_mut().get_mut(source).and_then(|s| s.hub.as_mut()) {
                    hub.unregister(id);
                }
            }
            Command::Stats { source, reply } => {
                let _ = reply.send(self.stats(source));
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

    /// The size of `source`'s shard here, with its subscribers.
    fn stats(&self, source: SourceId) -> TraceStats {
        let registry = self.registry.borrow();
        let mut stats = registry.get(source).map(|s| s.arrangement.stats()).unwrap_or_default();
        let registered = registry.get(source).and_then(|s| s.hub.as_ref()).map_or(0, |hub| hub.subscribers());
        let waiting = self.subscriptions.iter().filter(|p| p.source == source).count();
        stats.subscribers = registered + waiting;
        stats
    }

    /// On a process other than 0: applies the controls that have arrived, in order, until one
    /// waits for this process's application to register its source.
    fn follow(&mut self) {
        loop {
            let Peer::Follower { link, waiting, .. } = &mut self.peer else { return };
            let Some(control) = waiting.take().or_else(|| link.next_control()) else { return };
            match self.apply_control(control) {
                Applied::Done => {}
                Applied::Wait(control) => {
                    if let Peer::Follower { waiting, .. } = &mut self.peer {
                        *waiting = Some(control);
                    }
                    return;
                }
            }
            if self.stop || self.health.is_poisoned() {
                return;
            }
        }
    }

    /// Applies one control from process 0 (on a process other than 0).
    fn apply_control(&mut self, control: Control) -> Applied {
        let Peer::Follower { registrations, remotes, outbox, process, .. } = &mut self.peer else {
            return Applied::Done;
        };
        let (outbox, process) = (outbox.clone(), *process);
        match control {
            Control::CreateTable { request, id, ref name, ref kind, ref row }
            | Control::CreateView { request, id, ref name, ref kind, ref row } => {
                let registration = {
                    let registrations = registrations.lock().unwrap_or_else(|e| e.into_inner());
                    match registrations.entries.get(&id) {
                        Some(registration) => Ok(registration.clone()),
                        None if registrations.complete => Err(format!(
                            "process 0 created the {kind} {name:?} (#{id}) but this process registered no \
                             such table or view before serving"
                        )),
                        None => return Applied::Wait(control),
                    }
                };
                let registration = registration.and_then(|r| {
                    if r.name == *name && r.kind == kind && r.row == row {
                        Ok(r)
                    } else {
                        Err(format!(
                            "process 0 created the {kind} {name:?} of `{row}` as #{id}, this process \
                             registered the {} {:?} of `{}` there",
                            r.kind, r.name, r.row
                        ))
                    }
                });
                let registration = match registration {
                    Ok(registration) => registration,
                    Err(detail) => {
                        outbox.send(request, Body::Done(Err(WireError::Mismatch(detail.clone()))));
                        self.health.fail_with(Error::ClusterMismatch { process, detail });
                        return Applied::Done;
                    }
                };
                remotes.insert(id, Arc::clone(&registration.remote));
                let built = match registration.build {
                    Build::Table(factory) => {
                        self.apply(Command::CreateTable { id, name: name.clone(), factory, history: None });
                        Ok(())
                    }
                    Build::View(factory) => {
                        let (reply, answer) = crossbeam_channel::bounded(1);
                        self.apply(Command::CreateView { id, name: name.clone(), factory, reply });
                        answer.recv().unwrap_or(Err(Error::Shutdown))
                    }
                };
                outbox.send(request, Body::Done(built.map_err(|e| WireError::from_error(&e))));
            }
            Control::Advance { upper, since } => self.apply(Command::Advance { upper, since }),
            Control::Peek { request, source, time, target, read } => {
                if target.is_some_and(|target| target != self.worker.index()) {
                    return Applied::Done;
                }
                let reader = match remotes.get(&source) {
                    Some(remote) => remote.reader(&read, request, outbox.clone()),
                    None => Err(WireError::Mismatch(format!("this process has no source #{source}"))),
                };
                match reader {
                    Ok(reader) => {
                        let cancelled = Arc::new(AtomicBool::new(false));
                        self.accept_peek(PendingPeek { source, time, reader, cancelled });
                    }
                    Err(error) => outbox.send(request, Body::Rows(Err(error))),
                }
            }
            Control::Subscribe { request, source, as_of, snapshot } => match remotes.get(&source) {
                Some(remote) => {
                    let subscriber = remote.subscriber(request, as_of, snapshot, outbox);
                    self.subscriptions.push(PendingSubscription { source, id: request, as_of, subscriber });
                }
                None => {
                    let detail = format!("this process has no view #{source} to subscribe to");
                    self.health.fail_with(Error::ClusterMismatch { process, detail });
                }
            },
            Control::Unsubscribe { source, id } => self.apply(Command::Unsubscribe { source, id }),
            Control::Stats { request, source } => outbox.send(request, Body::Stats(self.stats(source))),
            Control::Shutdown { request } => {
                outbox.send(request, Body::Done(Ok(())));
                self.health.mark_shut_down();
                self.stop = true;
            }
        }
        Applied::Done
    }

    /// Moves answers across the link: worker 0 of process 0 hands what arrived to the
    /// receivers; workers of other processes send what their readers and hubs produced.
    fn exchange(&mut self) {
        match &mut self.peer {
            Peer::Leader { link, receivers } => {
                for answer in link.take_answers() {
                    let process = link.process_of(answer.worker);
                    let request = answer.request;
                    if let Some(receiver) = receivers.get_mut(&request)
                        && receiver.receive(answer, process)
                    {
                        receivers.remove(&request);
                    }
                }
            }
            Peer::Follower { link, outbox, .. } => {
                for answer in outbox.take() {
                    link.answer(answer);
                }
                link.flush();
            }
            Peer::Alone | Peer::Quiet { .. } => {}
        }
    }

    /// Refuses a read below `since` at once; otherwise queues it until its time is complete.
    ///
    /// The bound is the engine's `since` as of this command (every worker sees commands in the
    /// same order, so all agree), not the arrangement's, which may lag until `maintain` runs
    /// or be held back by other reads.
    fn accept_peek(&mut self, peek: PendingPeek) {
        if self.registry.borrow().get(peek.source).is_none() {
            let error = Error::UnknownName { kind: "view", name: format!("#{}", peek.source) };
            peek.reader.fail(error);
        } else if peek.time < self.since {
            peek.reader.fail(Error::Compacted {
                name: String::new(),
                requested: peek.time,
                since: self.since,
            });
        } else {
            self.peeks.push(peek);
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
            if upper.is_none_or(|upper| upper > pending.as_of) {
                let hub = source.hub.as_mut().expect("only views take subscribers");
                hub.register(source.arrangement.trace_mut(), pending.subscriber, upper);
            } else {
                waiting.push(pending);
            }
        }
        self.subscriptions = waiting;
        for (_, source) in registry.sources_mut() {
            if let Some(hub) = source.hub.as_mut() {
                hub.flush();
            }
        }
    }

    /// Advances every arrangement's compaction: logically to `since`, held back by open reads,
    /// and physically to its upper.
    fn maintain(&mut self) {
        let peeks = self.peeks.iter().map(|p| (p.source, p.time));
        let holds: Vec<(SourceId, Time)> =
            peeks.chain(self.subscriptions.iter().map(|s| (s.source, s.as_of))).collect();
        for (id, source) in self.registry.borrow_mut().sources_mut() {
            let hold = holds.iter().filter(|(source, _)| source == id).map(|(_, time)| *time).min();
            let since = hold.map_or(self.since, |hold| hold.min(self.since));
            source.arrangement.compact(since);
        }
    }

    /// Answers pending reads with the reason the loop ended, and drops every shard.
    fn close(&mut self) {
        let error = self.health.terminal_error();
        for peek in self.peeks.drain(..) {
            peek.reader.fail(error.clone());
        }
        for pending in self.subscriptions.drain(..) {
            pending.subscriber.end();
        }
        if let Peer::Leader { receivers, .. } = &mut self.peer {
            for (_, receiver) in receivers.drain() {
                receiver.fail(error.clone());
            }
        }
        self.registry.borrow_mut().clear();
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
