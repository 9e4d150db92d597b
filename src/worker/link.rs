//! The link dataflow: how process 0's worker 0 reaches the workers of the other processes, and
//! how their answers come back, through timely itself.
//!
//! Every worker of every process builds this dataflow first, so that every later dataflow has
//! the same index everywhere. It has two inputs:
//! - **controls**: worker 0 of process 0 sends each [`Control`] to every worker of the other
//!   processes (an exchange on the target worker), numbered so that each receiver applies them
//!   in the order they were sent, whatever order the network delivers them in;
//! - **answers**: any worker sends an [`Answer`]; an exchange routes it to worker 0.
//!
//! Sinks put what arrives in inboxes that the worker loop drains after each step. Both inputs
//! advance their time after each send: an exchange channel holds records until their time
//! closes, so that is what sends them.
//!
//! The link also carries heartbeats (`protocol/liveness.rs`): each worker of process 0 sends one
//! to its counterpart in every other process (worker `k` to worker `k + j * local`), each worker
//! of another process sends one to worker 0, at least every heartbeat interval. The sinks note
//! everything that arrives as heard from its process and keep heartbeats out of the inboxes.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use timely::dataflow::InputHandleVec;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::operator::Operator;
use timely::dataflow::operators::vec::Input as _;
use timely::worker::Worker;

use crate::error::Error;
use crate::protocol::liveness::Liveness;
use crate::protocol::wire::{Answer, Body, Control};

/// A control numbered for ordering, addressed to one worker.
type Addressed = (usize, u64, Control);

/// One worker's end of the link.
pub(crate) struct Link {
    /// This worker's global index.
    index: usize,
    peers: usize,
    /// Workers per process: workers `0..local` are process 0's.
    local: usize,
    controls: InputHandleVec<u64, Addressed>,
    answers: InputHandleVec<u64, Answer>,
    control_inbox: Rc<RefCell<Vec<(u64, Control)>>>,
    answer_inbox: Rc<RefCell<Vec<Answer>>>,
    /// The number of the next control sent (worker 0) or applied (the others).
    next: u64,
    /// Controls received ahead of their turn.
    early: BTreeMap<u64, Control>,
    /// Answers were sent since the last flush.
    unsent: bool,
    /// When each process was last heard from.
    liveness: Arc<Liveness>,
    /// When this worker last sent a heartbeat (`None`: not yet).
    beat: Option<Instant>,
}

impl Link {
    /// Builds the link dataflow on this worker; `local` is the number of workers per process.
    pub(crate) fn build(worker: &mut Worker, local: usize, liveness: Arc<Liveness>) -> Link {
        let (index, peers) = (worker.index(), worker.peers());
        let control_inbox: Rc<RefCell<Vec<(u64, Control)>>> = Rc::default();
        let answer_inbox: Rc<RefCell<Vec<Answer>>> = Rc::default();
        let (controls, answers) = worker.dataflow_named::<u64, _, _>("cluster link", |scope| {
            let (controls, control_stream) = scope.new_input::<Addressed>();
            let (answers, answer_stream) = scope.new_input::<Answer>();
            let (inbox, heard) = (Rc::clone(&control_inbox), Arc::clone(&liveness));
            control_stream.sink(
                Exchange::new(|(target, _, _): &Addressed| *target as u64),
                "cluster controls",
                move |(input, _frontier)| {
                    let mut inbox = inbox.borrow_mut();
                    input.for_each(|_time, data| {
                        for (_, number, control) in data.drain(..) {
                            match control {
                                Control::Heartbeat { interval } => heard.heard_from(0, Some(interval)),
                                control => {
                                    heard.heard_from(0, None);
                                    inbox.push((number, control));
                                }
                            }
                        }
                    });
                },
            );
            let (inbox, heard) = (Rc::clone(&answer_inbox), Arc::clone(&liveness));
            answer_stream.sink(
                Exchange::new(|_: &Answer| 0),
                "cluster answers",
                move |(input, _frontier)| {
                    let mut inbox = inbox.borrow_mut();
                    input.for_each(|_time, data| {
                        for answer in data.drain(..) {
                            let process = answer.worker / local;
                            match answer.body {
                                Body::Heartbeat { interval } => heard.heard_from(process, Some(interval)),
                                _ => {
                                    heard.heard_from(process, None);
                                    inbox.push(answer);
                                }
                            }
                        }
                    });
                },
            );
            (controls, answers)
        });
        Link {
            index,
            peers,
            local,
            controls,
            answers,
            control_inbox,
            answer_inbox,
            next: 0,
            early: BTreeMap::new(),
            unsent: false,
            liveness,
            beat: None,
        }
    }

    /// The process of worker `worker`.
    pub(crate) fn process_of(&self, worker: usize) -> usize {
        worker / self.local
    }

    /// Sends `control` to every worker of every other process (worker 0 of process 0 only).
    pub(crate) fn broadcast(&mut self, control: Control) {
        let number = self.next;
        self.next += 1;
        for target in self.local..self.peers {
            self.controls.send((target, number, control.clone()));
        }
        self.send_controls();
    }

    /// Exchange channels hold records until their time closes: closes it to send them now.
    fn send_controls(&mut self) {
        let next = self.controls.time() + 1;
        self.controls.advance_to(next);
    }

    /// Sends `answer` to worker 0 of process 0.
    pub(crate) fn answer(&mut self, answer: Answer) {
        self.answers.send(answer);
        self.unsent = true;
    }

    /// Pushes sent answers into the dataflow (closing their time, which is what makes an
    /// exchange channel send what it holds).
    pub(crate) fn flush(&mut self) {
        if self.unsent {
            let next = self.answers.time() + 1;
            self.answers.advance_to(next);
            self.unsent = false;
        }
    }

    /// The next control in send order, if it has arrived.
    pub(crate) fn next_control(&mut self) -> Option<Control> {
        for (number, control) in self.control_inbox.borrow_mut().drain(..) {
            self.early.insert(number, control);
        }
        let control = self.early.remove(&self.next)?;
        self.next += 1;
        Some(control)
    }

    /// Every answer that has arrived (worker 0 of process 0).
    pub(crate) fn take_answers(&mut self) -> Vec<Answer> {
        std::mem::take(&mut *self.answer_inbox.borrow_mut())
    }

    /// Sends a heartbeat if one is due: to this worker's counterparts in the other processes
    /// (on process 0), or to worker 0 (on the others).
    pub(crate) fn heartbeat(&mut self) {
        if self.beat.is_some_and(|beat| beat.elapsed() < self.liveness.interval()) {
            return;
        }
        self.beat = Some(Instant::now());
        let interval = self.liveness.wanted();
        if self.process_of(self.index) == 0 {
            for target in (self.index + self.local..self.peers).step_by(self.local) {
                self.controls.send((target, 0, Control::Heartbeat { interval }));
            }
            self.send_controls();
        } else {
            self.answer(Answer { request: 0, worker: self.index, body: Body::Heartbeat { interval } });
            self.flush();
        }
    }

    /// How long this worker may park: until its next heartbeat is due.
    pub(crate) fn park_timeout(&self) -> Duration {
        let interval = self.liveness.interval();
        self.beat.map_or(Duration::ZERO, |beat| interval.saturating_sub(beat.elapsed()))
    }

    /// The loss of a process this worker listens to (worker 0 of process 0: every other
    /// process; a worker of another process: process 0) that was silent for longer than the
    /// peer timeout before `began`, when this worker's last step began.
    pub(crate) fn lost(&self, began: Instant) -> Option<Error> {
        let processes = self.peers / self.local;
        let listened = match (self.index, self.process_of(self.index)) {
            (0, _) => 1..processes,
            (_, 0) => 0..0,
            _ => 0..1,
        };
        self.liveness.lost(listened, began)
    }
}
