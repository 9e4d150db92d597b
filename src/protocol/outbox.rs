//! Where a worker of a process other than 0 puts its answers until the link sends them.

use std::sync::{Arc, Mutex};

use super::wire::{Answer, Body};

/// The answers one worker has queued for process 0.
#[derive(Clone)]
pub(crate) struct Outbox {
    queue: Arc<Mutex<Vec<Answer>>>,
    worker: usize,
}

impl Outbox {
    pub(crate) fn new(worker: usize) -> Self {
        Outbox { queue: Arc::default(), worker }
    }

    /// Queues the answer `body` to `request`.
    pub(crate) fn send(&self, request: u64, body: Body) {
        let answer = Answer { request, worker: self.worker, body };
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).push(answer);
    }

    /// Everything queued so far.
    pub(crate) fn take(&self) -> Vec<Answer> {
        std::mem::take(&mut *self.queue.lock().unwrap_or_else(|e| e.into_inner()))
    }
}
