//! Connecting the processes of a cluster, with a deadline and a handshake, before timely
//! takes the sockets over.
//!
//! Timely's own `create_sockets` retries a refused connection forever and checks nothing
//! about the peer. Here process `i` connects to every process `j < i` and accepts a
//! connection from every `j > i`, exactly as timely does, but gives up at a deadline with
//! [`Error::PeerUnreachable`], and first exchanges a hello (a magic string, the process
//! index, the number of processes and of workers per process), so that processes started
//! with different settings fail with [`Error::ClusterMismatch`] instead of hanging or
//! computing a wrong answer. The connected sockets are then handed to timely's
//! `initialize_networking_from_sockets`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use timely::communication::Hooks;
use timely::communication::allocator::zero_copy::initialize::initialize_networking_from_sockets;
use timely::communication::allocator::{AllocatorBuilder, ProcessBuilder};
use timely::communication::logging::CommunicationSetup;

use crate::cluster::Cluster;
use crate::error::{Error, Result};

/// The first bytes each side of a connection writes. Bumped whenever what crosses the link changes (`02`: heartbeats), so that processes of
/// different versions are a `ClusterMismatch` at connect rather than a decoding failure later.
const MAGIC: &[u8; 8] = b"ivm-cl02";

/// What one process tells another when they connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Hello {
    process: u64,
    processes: u64,
    workers: u64,
}

impl Hello {
    fn write(&self, stream: &mut TcpStream) -> std::io::Result<()> {
        let mut bytes = Vec::with_capacity(32);
        bytes.extend_from_slice(MAGIC);
        for value in [self.process, self.processes, self.workers] {
            bytes.extend_from_slice(&value.to_be_bytes());
        }
        stream.write_all(&bytes)
    }

    /// Reads a hello; `Ok(None)` if the bytes are not one (not an `ivm` cluster process).
    fn read(stream: &mut TcpStream) -> std::io::Result<Option<Hello>> {
        let mut bytes = [0u8; 32];
        stream.read_exact(&mut bytes)?;
        if &bytes[..8] != MAGIC {
            return Ok(None);
        }
        let value = |i: usize| u64::from_be_bytes(bytes[8 + 8 * i..16 + 8 * i].try_into().expect("8 bytes"));
        Ok(Some(Hello { process: value(0), processes: value(1), workers: value(2) }))
    }

    /// Checks that `other` (which should be process `expected`) runs with our settings.
    fn check(&self, other: Option<Hello>, expected: usize, address: &str) -> Result<()> {
        let other = other.ok_or_else(|| Error::ClusterMismatch {
            process: expected,
            detail: format!("{address} does not speak the ivm cluster protocol"),
        })?;
        let mismatch = |detail: String| Err(Error::ClusterMismatch { process: expected, detail });
        if other.process != expected as u64 {
            return mismatch(format!("it says it is process {} (expected {expected})", other.process));
        }
        if other.processes != self.processes {
            return mismatch(format!(
                "it expects {} processes, this one {}",
                other.processes, self.processes
            ));
        }
        if other.workers != self.workers {
            return mismatch(format!(
                "it runs {} workers per process, this one {}",
                other.workers, self.workers
            ));
        }
        Ok(())
    }
}

/// The ids of one engine's network threads (timely's send and receive thread per peer), each
/// recorded by the thread itself as it starts, before it can fail.
pub(crate) type NetworkThreads = Arc<Mutex<Vec<ThreadId>>>;

/// Timely's allocators for this process's workers, the guard of its network threads, and
/// their ids.
pub(crate) type Connected = (Vec<AllocatorBuilder>, Box<dyn std::any::Any + Send>, NetworkThreads);

/// Connects to every other process (within the cluster's connect timeout) and builds timely's
/// allocators for this process's `workers` workers over the sockets.
pub(crate) fn connect(cluster: &Cluster, workers: usize) -> Result<Connected> {
    let started = Instant::now();
    let budget = Budget { started, deadline: started + cluster.connect_timeout() };
    let me = cluster.process();
    let hello = Hello { process: me as u64, processes: cluster.processes() as u64, workers: workers as u64 };
    let addresses = cluster.addresses();
    let listener = TcpListener::bind(&addresses[me]).map_err(|e| {
        Error::io(format!("listening on {} (this process's cluster address)", addresses[me]), e)
    })?;
    let (lower, higher) = std::thread::scope(|scope| {
        let lower = scope
            .spawn(|| (0..me).map(|j| dial(&addresses[j], j, hello, budget)).collect::<Result<Vec<_>>>());
        let higher = scope.spawn(|| accept(&listener, cluster, hello, budget));
        (lower.join(), higher.join())
    });
    let lower = lower.map_err(|_| Error::InvalidConfig("connecting to the cluster panicked".into()))??;
    let higher = higher.map_err(|_| Error::InvalidConfig("connecting to the cluster panicked".into()))??;
    let mut sockets: Vec<Option<TcpStream>> = lower.into_iter().map(Some).collect();
    sockets.push(None);
    sockets.extend(higher.into_iter().map(Some));
    for socket in sockets.iter().flatten() {
        socket.set_read_timeout(None).map_err(|e| Error::io("configuring a cluster socket", e))?;
        socket.set_nodelay(true).map_err(|e| Error::io("configuring a cluster socket", e))?;
    }
    let network = NetworkThreads::default();
    // Timely calls `log_fn` first thing on each network thread it starts.
    let log_fn = {
        let network = Arc::clone(&network);
        Arc::new(move |_: CommunicationSetup| {
            network.lock().unwrap_or_else(|e| e.into_inner()).push(std::thread::current().id());
            None
        })
    };
    let hooks = Hooks { log_fn, ..Hooks::default() };
    let processes = ProcessBuilder::new_typed_vector(workers, hooks.refill.clone(), hooks.spill.clone());
    let (builders, guard) = initialize_networking_from_sockets(processes, sockets, me, workers, hooks)
        .map_err(|e| Error::io("starting the cluster's network threads", e))?;
    Ok((builders.into_iter().map(AllocatorBuilder::Tcp).collect(), Box::new(guard), network))
}

/// Connects to process `index` at `address`, retrying until `deadline`, and shakes hands.
fn dial(address: &str, index: usize, hello: Hello, budget: Budget) -> Result<TcpStream> {
    let unreachable =
        || Error::PeerUnreachable { address: address.to_string(), waited: budget.started.elapsed() };
    loop {
        let attempt = address.to_socket_addrs().ok().and_then(|mut addrs| addrs.next()).and_then(|addr| {
            let left = budget.left().max(Duration::from_millis(1));
            TcpStream::connect_timeout(&addr, left.min(Duration::from_secs(1))).ok()
        });
        if let Some(mut stream) = attempt {
            let left = budget.left().max(Duration::from_millis(100));
            stream.set_read_timeout(Some(left)).map_err(|e| Error::io("configuring a cluster socket", e))?;
            hello
                .write(&mut stream)
                .map_err(|e| Error::io(format!("greeting process {index} at {address}"), e))?;
            let theirs = Hello::read(&mut stream).map_err(|_| unreachable())?;
            hello.check(theirs, index, address)?;
            return Ok(stream);
        }
        if budget.over() {
            return Err(unreachable());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Accepts one connection from every process after this one, until `deadline`.
fn accept(listener: &TcpListener, cluster: &Cluster, hello: Hello, budget: Budget) -> Result<Vec<TcpStream>> {
    let me = cluster.process();
    let mut streams: Vec<Option<TcpStream>> = (me + 1..cluster.processes()).map(|_| None).collect();
    listener.set_nonblocking(true).map_err(|e| Error::io("configuring the cluster listener", e))?;
    while let Some(missing) = streams.iter().position(Option::is_none) {
        match listener.accept() {
            Ok((mut stream, peer)) => {
                stream.set_nonblocking(false).map_err(|e| Error::io("configuring a cluster socket", e))?;
                let left = budget.left().max(Duration::from_millis(100));
                stream
                    .set_read_timeout(Some(left))
                    .map_err(|e| Error::io("configuring a cluster socket", e))?;
                let Ok(theirs) = Hello::read(&mut stream) else { continue };
                let index = theirs.map_or(me + 1 + missing, |h| h.process as usize);
                // Answer before checking, so that the other side can find any mismatch too.
                hello.write(&mut stream).map_err(|e| Error::io(format!("greeting process {index}"), e))?;
                hello.check(theirs, index, &peer.to_string())?;
                if index <= me || index >= cluster.processes() {
                    return Err(Error::ClusterMismatch {
                        process: index,
                        detail: "its process index is out of range".into(),
                    });
                }
                streams[index - me - 1] = Some(stream);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if budget.over() {
                    let address = cluster.addresses()[me + 1 + missing].clone();
                    return Err(Error::PeerUnreachable { address, waited: budget.started.elapsed() });
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(Error::io("accepting a cluster connection", e)),
        }
    }
    Ok(streams.into_iter().map(|s| s.expect("every slot is filled")).collect())
}

/// When connecting started and when it gives up.
#[derive(Clone, Copy)]
struct Budget {
    started: Instant,
    deadline: Instant,
}

impl Budget {
    fn left(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    fn over(&self) -> bool {
        Instant::now() >= self.deadline
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Process 1 of a cluster of `processes` accepts, for up to `wait`, connections that each
    /// send `greeting` (a hello, or other bytes).
    fn accept_from(processes: usize, greetings: Vec<[u8; 32]>, wait: Duration) -> Result<Vec<TcpStream>> {
        accept_slow(processes, greetings, wait, Duration::ZERO)
    }

    /// Like `accept_from`, with each peer greeting `delay` after it connects (a slow network).
    fn accept_slow(
        processes: usize,
        greetings: Vec<[u8; 32]>,
        wait: Duration,
        delay: Duration,
    ) -> Result<Vec<TcpStream>> {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let addresses = (0..processes).map(|i| if i == 1 { address.to_string() } else { format!("h{i}:1") });
        let cluster = Cluster::new(1, addresses.collect());
        let hello = Hello { process: 1, processes: processes as u64, workers: 2 };
        let peers = std::thread::spawn(move || {
            let mut streams = Vec::new();
            for greeting in greetings {
                let mut stream = TcpStream::connect(address).unwrap();
                std::thread::sleep(delay);
                stream.write_all(&greeting).unwrap();
                // Keep the connection open until the other side has answered.
                let _ = Hello::read(&mut stream);
                streams.push(stream);
            }
        });
        let started = Instant::now();
        let accepted = accept(&listener, &cluster, hello, Budget { started, deadline: started + wait });
        peers.join().unwrap();
        accepted
    }

    fn hello(process: u64, processes: u64) -> [u8; 32] {
        let mut bytes = [0; 32];
        bytes[..8].copy_from_slice(MAGIC);
        for (i, value) in [process, processes, 2].into_iter().enumerate() {
            bytes[8 + 8 * i..16 + 8 * i].copy_from_slice(&value.to_be_bytes());
        }
        bytes
    }

    const WAIT: Duration = Duration::from_secs(10);

    #[test]
    fn a_peer_claiming_a_process_index_out_of_range_is_a_mismatch() {
        assert_eq!(accept_from(3, vec![hello(2, 3)], WAIT).unwrap().len(), 1);
        for process in [0, 1, 3, 7] {
            let error = accept_from(3, vec![hello(process, 3)], WAIT).unwrap_err();
            assert!(
                matches!(&error, Error::ClusterMismatch { process: p, .. } if *p == process as usize),
                "{process}: {error}"
            );
        }
    }

    #[test]
    fn a_stranger_is_a_mismatch_named_by_the_slot_it_took() {
        // Process 1 of 4 has accepted process 2; the stranger stands where process 3 should be.
        let error = accept_from(4, vec![hello(2, 4), [b'x'; 32]], WAIT).unwrap_err();
        assert!(matches!(&error, Error::ClusterMismatch { process: 3, .. }), "{error}");
        assert!(error.to_string().contains("does not speak the ivm cluster protocol"), "{error}");
    }

    #[test]
    fn a_peer_slow_to_greet_is_waited_for_as_long_as_the_budget_lasts() {
        // Its hello comes a second after it connects: the wait for it is what is left of the
        // connect budget, not a fixed short time.
        let accepted = accept_slow(3, vec![hello(2, 3)], WAIT, Duration::from_secs(1));
        assert_eq!(accepted.unwrap().len(), 1);
    }

    #[test]
    fn a_missing_peer_is_unreachable_at_its_own_address() {
        // Process 2 connects, process 3 never does.
        let error = accept_from(4, vec![hello(2, 4)], Duration::from_millis(300)).unwrap_err();
        assert!(matches!(&error, Error::PeerUnreachable { address, .. } if address == "h3:1"), "{error}");
    }

    #[test]
    fn a_hello_round_trips_and_a_stranger_is_not_one() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let sent = Hello { process: 3, processes: 5, workers: 7 };
        let writer = std::thread::spawn(move || {
            let mut stream = TcpStream::connect(address).unwrap();
            sent.write(&mut stream).unwrap();
            stream.write_all(&[b'x'; 32]).unwrap();
        });
        let (mut stream, _) = listener.accept().unwrap();
        assert_eq!(Hello::read(&mut stream).unwrap(), Some(sent));
        assert_eq!(Hello::read(&mut stream).unwrap(), None);
        writer.join().unwrap();
        let error = sent.check(None, 3, "somewhere:1").unwrap_err();
        assert!(error.to_string().contains("somewhere:1"), "{error}");
    }
}
