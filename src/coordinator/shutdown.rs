//! Stopping an engine, and serving as a process other than 0 of a cluster until it stops.

use std::time::Duration;

use super::receivers::DoneReceiver;
use super::{Coordinator, Operation, State};
use crate::error::{Error, Result};
use crate::protocol::next_request;
use crate::worker::role::Role;

impl Coordinator {
    /// On a process other than 0 of a cluster: marks registration complete and waits until
    /// process 0 shuts the cluster down (`Ok`) or the cluster fails (the error).
    pub(crate) fn serve(&self) -> Result<()> {
        let Role::Follower { registrations, .. } = &self.role else {
            return Err(Error::InvalidConfig(
                "serve is for the processes of a cluster other than process 0, which runs the \
                 application itself"
                    .into(),
            ));
        };
        registrations.lock().unwrap_or_else(|e| e.into_inner()).complete = true;
        self.health.wake_all();
        self.health.wait_workers_exited();
        let outcome = if self.health.is_poisoned() { Err(self.health.terminal_error()) } else { Ok(()) };
        self.shutdown();
        outcome
    }

    /// Stops the workers and waits for their threads. Idempotent.
    ///
    /// Process 0 of a cluster first stops the other processes and waits (at most the peer
    /// timeout) for each of their workers to acknowledge. If the cluster failed, a worker
    /// panicked, or not every worker acknowledged, the threads are left to end on their own
    /// instead of being joined:
    /// joining would wait on a dead or stuck peer (and timely's network threads panic on a
    /// broken connection, which a join would re-raise).
    pub(crate) fn shutdown(&self) {
        let mut clean = true;
        {
            let state = self.lock();
            if !self.health.is_shut_down() {
                if let Role::Leader { peer_timeout, .. } = &self.role
                    && !self.health.is_poisoned()
                {
                    clean = self.stop_peers(&state, *peer_timeout);
                }
                self.health.mark_shut_down();
                let _ = self.dispatch(&state, Operation::Shutdown);
            }
        }
        self.forget_definitions();
        self.health.wake_all();
        if self.health.is_worker(&std::thread::current()) {
            // Joining from a worker thread would wait for ourselves; the workers still stop.
            return;
        }
        let guards = self.guards.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(guards) = guards {
            // A cluster engine stopped by a panic or a failure does not join either: its
            // network threads read from peers that may still run and keep the connections open
            // (a process other than 0 whose worker panicked would otherwise never return from
            // `serve`, and its peers would never learn that it stopped).
            let abnormal = !clean || self.health.failure().is_some() || self.health.is_poisoned();
            if !matches!(self.role, Role::Single) && abnormal {
                self.health.wait_workers_exited();
                std::mem::forget(guards);
            } else {
                let _ = guards.join();
            }
        }
        // Close the storage directory (and release its lock) now, not when the last handle goes.
        self.lock().store = None;
    }

    /// Forgets every definition the engine keeps (the catalog's, and on a process other than 0
    /// the registered ones). A definition may hold handles, and each handle holds this
    /// coordinator: kept past shutdown, they would keep each other alive forever.
    fn forget_definitions(&self) {
        let catalog = std::mem::take(&mut self.lock().catalog);
        let registered = match &self.role {
            Role::Follower { registrations, .. } => {
                std::mem::take(&mut registrations.lock().unwrap_or_else(|e| e.into_inner()).entries)
            }
            _ => Default::default(),
        };
        // Dropped outside the locks: a definition's handles only release their references.
        drop((catalog, registered));
    }

    /// Asks every worker of the other processes to stop and waits up to `timeout` for all of
    /// them to acknowledge; true if they all did.
    fn stop_peers(&self, state: &State, timeout: Duration) -> bool {
        let remote = self.role.remote_workers();
        let (reply, acks) = crossbeam_channel::unbounded();
        let request = next_request();
        let receiver = Box::new(DoneReceiver { reply, remaining: remote });
        if self.dispatch(state, Operation::StopOthers { remote: (request, receiver) }).is_err() {
            return false;
        }
        let deadline = std::time::Instant::now() + timeout;
        (0..remote).all(|_| matches!(acks.recv_deadline(deadline), Ok((_, Ok(())))))
    }
}
