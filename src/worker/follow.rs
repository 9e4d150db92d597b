//! Following process 0: on a process other than 0 of a cluster, each control that arrives over
//! the link becomes the command process 0's own workers got, with answers routed to the outbox.
//!
//! This is the only place that knows controls come from elsewhere: once translated, a control
//! is applied by the same worker code as a local command. A control that creates a source waits
//! until this process's application has registered it (the processes register the same sources
//! in the same order, each at its own pace).

use std::collections::BTreeSet;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use crossbeam_channel::Receiver;

use super::command::{Command, Peek};
use super::link::Link;
use super::role::Registrations;
use crate::error::{Error, Result};
use crate::protocol::SourceId;
use crate::protocol::outbox::Outbox;
use crate::protocol::reply::{FeedTo, Reply};
use crate::protocol::wire::{Body, Control, WireError};
use crate::shard::input::Replay;

/// One worker's follower of process 0.
pub(crate) struct Follower {
    link: Link,
    registrations: Arc<Mutex<Registrations>>,
    outbox: Outbox,
    /// A control that waits for this process's application to register its source.
    waiting: Option<Control>,
    /// This process's index.
    process: usize,
    /// This worker's global index.
    worker: usize,
}

/// What a control asks of this worker.
pub(crate) enum Step {
    /// Apply the command; for a source being built, answer `request` with what `built` says.
    Apply { command: Command, built: Option<(u64, Receiver<Result<BTreeSet<SourceId>>>)> },
    /// Answer `request` with the size of the shards of `sources`.
    Stats { request: u64, sources: Vec<SourceId> },
    /// Acknowledge `request`, then stop.
    Shutdown { request: u64 },
    /// Nothing for this worker (a keyed read another worker answers).
    Skip,
    /// The processes disagree: the cluster fails with this error.
    Fail(Error),
}

impl Follower {
    pub(crate) fn new(
        link: Link,
        registrations: Arc<Mutex<Registrations>>,
        process: usize,
        worker: usize,
    ) -> Self {
        Follower { link, registrations, outbox: Outbox::new(worker), waiting: None, process, worker }
    }

    /// The next step, in process 0's order; `None` if no control has arrived, or the next one
    /// waits for this process's application to register its source.
    pub(crate) fn next(&mut self) -> Option<Step> {
        let control = self.waiting.take().or_else(|| self.link.next_control())?;
        match self.translate(control) {
            Ok(step) => Some(step),
            Err(control) => {
                self.waiting = Some(control);
                None
            }
        }
    }

    /// This process's index.
    pub(crate) fn process(&self) -> usize {
        self.process
    }

    /// Answers `request` through the link.
    pub(crate) fn answer(&self, request: u64, body: Body) {
        self.outbox.send(request, body);
    }

    /// This worker's end of the link.
    pub(crate) fn link(&mut self) -> &mut Link {
        &mut self.link
    }

    /// Sends what this worker's readers and hubs produced.
    pub(crate) fn flush(&mut self) {
        for answer in self.outbox.take() {
            self.link.answer(answer);
        }
        self.link.flush();
    }

    /// The step for `control`, or the control back if it must wait.
    fn translate(&self, control: Control) -> std::result::Result<Step, Control> {
        let outbox = self.outbox.clone();
        Ok(match control {
            Control::Create { request, id, ref name, ref kind, ref row } => {
                let registration = {
                    let registrations = self.registrations.lock().unwrap_or_else(|e| e.into_inner());
                    match registrations.entries.get(&id) {
                        Some(registration) => Ok(registration.clone()),
                        None if registrations.complete => Err(format!(
                            "process 0 created the {kind} {name:?} (#{id}) but this process registered no \
                             such table or view before serving"
                        )),
                        None => return Err(control),
                    }
                };
                let registration = registration.and_then(|r| {
                    let (noun, shape) = (r.kind.noun(), r.kind.row().shape());
                    if r.name == *name && noun == kind && shape == *row {
                        Ok(r)
                    } else {
                        Err(format!(
                            "process 0 created the {kind} {name:?} of rows shaped `{row}` as #{id}, \
                             this process registered the {noun} {:?} of `{}` (shaped `{shape}`) there",
                            r.name,
                            r.kind.row().name(),
                        ))
                    }
                });
                match registration {
                    Ok(registration) => {
                        let (built, answer) = crossbeam_channel::bounded(1);
                        let command = Command::Create {
                            id,
                            name: name.clone(),
                            kind: registration.kind,
                            history: Replay::Nothing,
                            // Storage, and so backfills, is for one process only.
                            held: Default::default(),
                            built: Some(built),
                        };
                        Step::Apply { command, built: Some((request, answer)) }
                    }
                    Err(detail) => {
                        outbox.send(request, Body::Done(Err(WireError::Mismatch(detail.clone()))));
                        Step::Fail(Error::ClusterMismatch { process: self.process, detail })
                    }
                }
            }
            Control::Advance { upper, since } => {
                Step::Apply { command: Command::Advance { upper, since }, built: None }
            }
            Control::Peek { request, source, time, target, read } => {
                if target.is_some_and(|target| target != self.worker) {
                    return Ok(Step::Skip);
                }
                let reply = Reply::Remote { request, outbox };
                let cancelled = Arc::new(AtomicBool::new(false));
                let command = Command::Peek(Peek { source, time, read, reply, cancelled });
                Step::Apply { command, built: None }
            }
            Control::Subscribe { request, source, as_of, snapshot } => {
                let feed = FeedTo::Remote { request, outbox };
                let command = Command::Subscribe { source, id: request, as_of, snapshot, feed };
                Step::Apply { command, built: None }
            }
            Control::Unsubscribe { source, id } => {
                Step::Apply { command: Command::Unsubscribe { source, id }, built: None }
            }
            Control::Drop { id, name } => {
                self.registrations.lock().unwrap_or_else(|e| e.into_inner()).entries.remove(&id);
                Step::Apply { command: Command::Drop { id, name }, built: None }
            }
            Control::Stats { request, sources } => Step::Stats { request, sources },
            Control::Shutdown { request } => Step::Shutdown { request },
            // The link keeps heartbeats out of the inbox; one would be nothing to do.
            Control::Heartbeat { .. } => Step::Skip,
        })
    }
}
