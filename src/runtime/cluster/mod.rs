//! Running as one process of a timely cluster.
//!
//! Process 0 is the leader: its application side sequences every command as in a single
//! process and sends it to its own workers through their channels; its worker 0 forwards
//! each command (as a serializable [`wire::Control`]) to the workers of the other processes
//! over the [`link`] dataflow, and routes their answers back to the waiting callers. Table
//! writes never cross the link: process 0's workers feed them into the dataflows, whose
//! exchanges carry each row to the worker that owns it, wherever it runs.
//!
//! See `ARCHITECTURE.md` for the path of a commit, a read and a subscription in a cluster.

pub(crate) mod connect;
pub(crate) mod link;
pub(crate) mod remote;
pub(crate) mod wire;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use self::remote::Registrations;

/// What this process is in its cluster.
#[derive(Clone)]
pub(crate) enum Role {
    /// Not a cluster (or a cluster of one process).
    Single,
    /// Process 0 of a cluster; `remote_workers` run in the other processes.
    Leader { remote_workers: usize, peer_timeout: Duration },
    /// Process `process` (> 0): its application only registers sources, then serves.
    Follower { process: usize, registrations: Arc<Mutex<Registrations>> },
}

impl Role {
    /// The number of workers outside this process that take part in every command.
    pub(crate) fn remote_workers(&self) -> usize {
        match self {
            Role::Leader { remote_workers, .. } => *remote_workers,
            _ => 0,
        }
    }
}

static NEXT_REQUEST: AtomicU64 = AtomicU64::new(1);

/// A fresh id for a request whose answers come back over the link (subscriptions included).
pub(crate) fn next_request() -> u64 {
    NEXT_REQUEST.fetch_add(1, Ordering::Relaxed)
}
