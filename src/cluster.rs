//! Where the processes of a cluster are: [`Cluster`], and parsing timely's command-line flags.
//!
//! A cluster is `P` processes of the same program, each running `W` workers
//! ([`Config::with_workers`](crate::Config::with_workers)); process `i` listens on
//! `addresses[i]`. Process 0 is the one the application talks to: it commits, reads and
//! subscribes, and sees the data of every worker of every process. The others register the
//! same tables and views in the same order and then call
//! [`Engine::serve`](crate::Engine::serve).

use std::path::Path;
use std::time::Duration;

use crate::error::{Error, Result};

/// The processes of a cluster and this process's place among them.
///
/// ```
/// use ivm::{Cluster, Config};
/// let cluster = Cluster::new(1, vec!["127.0.0.1:2101".into(), "127.0.0.1:2102".into()]);
/// let config = Config::default().with_workers(2).with_cluster(cluster);
/// assert_eq!(config.cluster().map(|c| c.processes()), Some(2));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    process: usize,
    addresses: Vec<String>,
    connect_timeout: Duration,
    peer_timeout: Duration,
}

impl Cluster {
    /// Process `process` of a cluster whose process `i` listens on `addresses[i]`
    /// (`host:port`).
    pub fn new(process: usize, addresses: Vec<String>) -> Self {
        Cluster {
            process,
            addresses,
            connect_timeout: Duration::from_secs(30),
            peer_timeout: Duration::from_secs(30),
        }
    }

    /// Process `process` of the cluster listed in `hostfile`: one `host:port` per line, the
    /// first `processes` lines used (timely's `-h` convention).
    pub fn from_hostfile(hostfile: impl AsRef<Path>, processes: usize, process: usize) -> Result<Self> {
        let path = hostfile.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(format!("reading the hostfile {}", path.display()), e))?;
        let addresses: Vec<String> = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .take(processes)
            .map(String::from)
            .collect();
        if addresses.len() < processes {
            return Err(Error::InvalidConfig(format!(
                "the hostfile {} lists {} addresses but the cluster has {processes} processes",
                path.display(),
                addresses.len()
            )));
        }
        Ok(Cluster::new(process, addresses))
    }

    /// How long [`Engine::start`](crate::Engine::start) waits for every process to connect
    /// before failing with [`Error::PeerUnreachable`] (default 30 s).
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long another process may stay silent before this one fails with
    /// [`Error::PeerLost`], and how long process 0 waits for the other processes to acknowledge
    /// a new table or view, or a shutdown, before failing with [`Error::ClusterMismatch`]
    /// (default 30 s). Other processes must register each table and view within this time of
    /// process 0.
    ///
    /// Silence is what reveals a process that is stopped, frozen or cut off by a network
    /// partition without its connections closing (a process that dies closes them, and is lost
    /// at once). Every worker sends a heartbeat at least every quarter of this timeout (every
    /// process sends at the shortest interval any peer asks for, so the processes may set
    /// different timeouts), and anything else that arrives counts too. Process 0 watches every
    /// other process and each other process watches process 0; one that finds a peer silent
    /// fails with `PeerLost` naming it, and every pending and later call returns that error
    /// (a process 0 that fails stops sending, so the others follow within their own timeout).
    ///
    /// Heartbeats are sent between dataflow steps: a process whose workers are all inside one
    /// step (applying a very large commit, or a view that blocks) is silent meanwhile. The
    /// timeout must exceed the longest step a worker may take. A worker's own long step is
    /// never counted against its peers.
    pub fn with_peer_timeout(mut self, timeout: Duration) -> Self {
        self.peer_timeout = timeout;
        self
    }

    /// This process's index.
    pub fn process(&self) -> usize {
        self.process
    }

    /// The number of processes.
    pub fn processes(&self) -> usize {
        self.addresses.len()
    }

    /// The processes' addresses, by index.
    pub fn addresses(&self) -> &[String] {
        &self.addresses
    }

    pub(crate) fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    pub(crate) fn peer_timeout(&self) -> Duration {
        self.peer_timeout
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.addresses.is_empty() {
            return Err(Error::InvalidConfig("a cluster needs at least one address".into()));
        }
        if self.process >= self.addresses.len() {
            return Err(Error::InvalidConfig(format!(
                "process index {} is out of range for {} addresses",
                self.process,
                self.addresses.len()
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostfiles_list_addresses() {
        let dir = std::env::temp_dir().join(format!("ivm-hostfile-{}", std::process::id()));
        std::fs::write(&dir, "h1:1\n\nh2:2\nh3:3\n").unwrap();
        let cluster = Cluster::from_hostfile(&dir, 2, 1).unwrap();
        assert_eq!(cluster.addresses(), ["h1:1", "h2:2"]);
        assert!(matches!(Cluster::from_hostfile(&dir, 4, 0), Err(Error::InvalidConfig(_))));
        let _ = std::fs::remove_file(&dir);
    }
}
