//! Whether an engine still runs: shut down, or poisoned by a worker panic.
//!
//! Shared by the application side and every worker. A panicking worker marks the engine
//! poisoned before anything it held is dropped, so a caller that sees its reply channel close
//! always finds out why; it then wakes every other worker, which leave their loops too.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::thread::Thread;
use std::time::{Duration, Instant};

use super::backlog::Backlog;
use crate::error::Error;

/// The liveness of one engine.
#[derive(Default)]
pub(crate) struct Health {
    shut_down: AtomicBool,
    poisoned: AtomicBool,
    message: Mutex<Option<String>>,
    /// Why the engine stopped, when it is not a panic (a lost or disagreeing cluster peer).
    failure: Mutex<Option<Error>>,
    /// The worker threads, and the global index of the first (in a cluster,
    /// `process * workers`).
    threads: OnceLock<(Vec<Thread>, usize)>,
    /// Worker loops that have not ended yet.
    running: Mutex<usize>,
    ended: Condvar,
    /// The commits accepted and not yet applied; writers waiting for room wake when the
    /// engine stops.
    backlog: Backlog,
}

impl Health {
    /// Records the worker threads, so that anyone can wake them all; the first is the worker
    /// with global index `first_worker`.
    pub(crate) fn set_threads(&self, threads: Vec<Thread>, first_worker: usize) {
        let _ = self.threads.set((threads, first_worker));
    }

    /// Expects `workers` worker loops (before they start).
    pub(crate) fn expect_workers(&self, workers: usize) {
        *self.running.lock().unwrap_or_else(|e| e.into_inner()) = workers;
    }

    /// A worker's loop ended (shutdown, poison, or a cluster's stop).
    pub(crate) fn worker_exited(&self) {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        *running = running.saturating_sub(1);
        self.ended.notify_all();
    }

    /// Waits until every worker's loop has ended.
    pub(crate) fn wait_workers_exited(&self) {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        while *running > 0 {
            running = self.ended.wait(running).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// True if `thread` is one of this engine's workers.
    pub(crate) fn is_worker(&self, thread: &Thread) -> bool {
        self.worker_index(thread).is_some()
    }

    /// The global worker index of `thread`, if it is one of this engine's workers.
    pub(crate) fn worker_index(&self, thread: &Thread) -> Option<usize> {
        let (threads, first_worker) = self.threads.get()?;
        let position = threads.iter().position(|t| t.id() == thread.id())?;
        Some(first_worker + position)
    }

    /// Unparks every worker so it looks at its commands and at this state.
    pub(crate) fn wake_all(&self) {
        for thread in self.threads.get().into_iter().flat_map(|(threads, _)| threads) {
            thread.unpark();
        }
    }

    pub(crate) fn mark_shut_down(&self) {
        self.shut_down.store(true, Ordering::Release);
        self.backlog.close();
    }

    /// The commits accepted and not yet applied.
    pub(crate) fn backlog(&self) -> &Backlog {
        &self.backlog
    }

    pub(crate) fn is_shut_down(&self) -> bool {
        self.shut_down.load(Ordering::Acquire)
    }

    /// Marks the engine poisoned (a worker is unwinding) and wakes every worker.
    pub(crate) fn mark_poisoned(&self) {
        self.poisoned.store(true, Ordering::Release);
        self.backlog.close();
        self.wake_all();
    }

    /// Records why the engine is poisoned (an error event, the first time).
    pub(crate) fn set_panic_message(&self, message: String) {
        let mut kept = self.message.lock().unwrap_or_else(|e| e.into_inner());
        if kept.is_none() {
            tracing::error!(panic = message.as_str(), "a worker panicked: the engine is poisoned");
            *kept = Some(message);
        }
        drop(kept);
        self.mark_poisoned();
    }

    /// Stops the engine with `error`: every pending and later call returns it. The first
    /// error stays, except that a peer's mismatch report replaces a lost connection: a process
    /// that finds a mismatch reports it and stops, and its connection may be seen closing
    /// before the report is read, but the mismatch is the cause.
    pub(crate) fn fail_with(&self, error: Error) {
        let mut failure = self.failure.lock().unwrap_or_else(|e| e.into_inner());
        match (&*failure, &error) {
            (None, _) | (Some(Error::PeerLost { .. }), Error::ClusterMismatch { .. }) => {
                tracing::error!(error = %error, "the engine failed");
                *failure = Some(error)
            }
            _ => {}
        }
        drop(failure);
        self.mark_poisoned();
    }

    /// The error the engine was stopped with, if it was not a panic.
    pub(crate) fn failure(&self) -> Option<Error> {
        self.failure.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn is_poisoned(&self) -> bool {
        self.poisoned.load(Ordering::Acquire)
    }

    /// `Ok` while the engine runs, else the error every call now returns.
    pub(crate) fn check(&self) -> Result<(), Error> {
        if self.is_poisoned() {
            Err(self.poison_error())
        } else if self.is_shut_down() {
            Err(Error::Shutdown)
        } else {
            Ok(())
        }
    }

    /// The error for a call that lost its worker: poisoned or shut down.
    ///
    /// A worker only goes away on shutdown or by panicking, and the panic hook
    /// ([`panics`](super::panics)) poisons the engine before the panicking worker drops
    /// anything. If neither is marked (an application replaced the hook), the worker is
    /// unwinding and will mark the poison as it leaves its loop: wait for it briefly.
    pub(crate) fn terminal_error(&self) -> Error {
        let deadline = Instant::now() + Duration::from_secs(1);
        while !self.is_poisoned() && !self.is_shut_down() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        if self.is_poisoned() || !self.is_shut_down() { self.poison_error() } else { Error::Shutdown }
    }

    /// The poison error, waiting briefly for the panic message if the panicking worker is
    /// still unwinding.
    fn poison_error(&self) -> Error {
        if let Some(failure) = self.failure() {
            return failure;
        }
        let deadline = Instant::now() + Duration::from_millis(500);
        loop {
            if let Some(message) = self.message.lock().unwrap_or_else(|e| e.into_inner()).clone() {
                return Error::WorkerPanicked { message };
            }
            if Instant::now() >= deadline {
                return Error::WorkerPanicked { message: "a worker thread panicked".into() };
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// The message of a panic payload (`&str` or `String`), for `Error::WorkerPanicked`.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lost() -> Error {
        Error::PeerLost { reason: "socket closed".into() }
    }

    fn mismatch() -> Error {
        Error::ClusterMismatch { process: 1, detail: "another row type".into() }
    }

    #[test]
    fn the_first_failure_stays_unless_a_mismatch_explains_a_lost_connection() {
        let health = Health::default();
        assert_eq!(health.check(), Ok(()));
        health.fail_with(lost());
        assert_eq!(health.check(), Err(lost()));
        health.fail_with(mismatch());
        assert_eq!(health.check(), Err(mismatch()));
        health.fail_with(lost());
        assert_eq!(health.check(), Err(mismatch()), "a mismatch is not replaced");
        let health = Health::default();
        health.fail_with(Error::Shutdown);
        health.fail_with(mismatch());
        assert_eq!(health.failure(), Some(Error::Shutdown), "only a lost connection gives way");
    }

    #[test]
    fn a_panic_message_is_read_from_either_payload_type() {
        let health = Health::default();
        health.set_panic_message("first".into());
        health.set_panic_message("second".into());
        assert_eq!(health.check(), Err(Error::WorkerPanicked { message: "first".into() }));
        assert_eq!(panic_message(&"static"), "static");
        assert_eq!(panic_message(&String::from("owned")), "owned");
        assert_eq!(panic_message(&7u8), "non-string panic payload");
    }
}
