//! What this process is in its cluster, and what the application of a process other than 0
//! registered for its workers to build.
//!
//! Process 0 is the leader: its coordinator sequences every operation as in a single process
//! and sends it to its own workers; its worker 0 forwards the matching control (a serializable
//! `protocol::wire::Control`) to the workers of the other processes over the link dataflow
//! (`worker/link.rs`), and routes their answers back to the waiting callers. Table writes never
//! cross the link: process 0's workers feed them into the dataflows, whose exchanges carry each
//! row to the worker that owns it, wherever it runs.
//!
//! See `ARCHITECTURE.md` for the path of a commit, a read and a subscription in a cluster.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::protocol::SourceId;
use crate::protocol::liveness::Liveness;
use crate::shard::kind::Kind;

/// What this process is in its cluster.
#[derive(Clone)]
pub(crate) enum Role {
    /// Not a cluster (or a cluster of one process).
    Single,
    /// Process 0 of a cluster; `remote_workers` run in the other processes.
    Leader { remote_workers: usize, peer_timeout: Duration, liveness: Arc<Liveness> },
    /// Process `process` (> 0): its application only registers sources, then serves.
    Follower { process: usize, registrations: Arc<Mutex<Registrations>>, liveness: Arc<Liveness> },
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

/// A table or view as this process's application registered it.
#[derive(Clone)]
pub(crate) struct Registration {
    pub(crate) name: String,
    pub(crate) kind: Arc<dyn Kind>,
}

/// What the application of a process other than 0 registered, shared with its workers.
#[derive(Default)]
pub(crate) struct Registrations {
    pub(crate) entries: HashMap<SourceId, Registration>,
    /// The application called `serve`: nothing more will be registered.
    pub(crate) complete: bool,
}
