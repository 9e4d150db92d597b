//! The worker side of the engine and the sequencer that feeds it.
//!
//! Everything that holds an `Rc`, a trace or a scope lives here, on timely worker threads.
//! The application side talks to workers only through [`Core`]: it takes the sequencer lock,
//! sends commands to the workers' channels in one global order, unparks them, and waits on
//! reply channels.

pub(crate) mod arrangement;
pub(crate) mod cluster;
pub(crate) mod command;
pub(crate) mod health;
pub(crate) mod panics;
pub(crate) mod peek;
pub(crate) mod registry;
pub(crate) mod subscribe;
pub(crate) mod table_input;
pub(crate) mod typedefs;
pub(crate) mod view_build;
mod worker;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::Thread;
use std::time::Duration;

use crossbeam_channel::Sender;
use timely::communication::WorkerGuards;

use self::cluster::Role;
use self::cluster::remote::{DoneReceiver, Receiver};
use self::cluster::wire::Control;
use self::command::Command;
use self::health::Health;
use self::registry::SourceId;
use crate::catalog::Catalog;
use crate::clock::Clock;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::persist::store::Store;

/// Engine ids distinguish handles of different engines in one process.
static NEXT_ENGINE: AtomicU64 = AtomicU64::new(1);

/// The application side's connection to a running set of workers.
pub(crate) struct Core {
    id: u64,
    workers: usize,
    /// What this process is in its cluster.
    role: Role,
    sequencer: Mutex<Sequencer>,
    health: Arc<Health>,
    guards: Mutex<Option<WorkerGuards<()>>>,
    /// Held while a checkpoint is written, so only one runs at a time.
    pub(crate) checkpointing: Mutex<()>,
}

/// State that changes only in command order: the clock, the catalog, the workers' channels.
pub(crate) struct Sequencer {
    senders: Vec<Sender<Command>>,
    threads: Vec<Thread>,
    pub(crate) clock: Clock,
    pub(crate) catalog: Catalog,
    /// The storage directory, if the engine is durable.
    pub(crate) store: Option<Store>,
    next_id: SourceId,
    next_writer: usize,
    role: Role,
    health: Arc<Health>,
}

impl Sequencer {
    /// The number of workers.
    pub(crate) fn workers(&self) -> usize {
        self.senders.len()
    }

    /// Every worker of the cluster (of this process, if it is not one).
    pub(crate) fn peers(&self) -> usize {
        self.workers() + self.role.remote_workers()
    }

    /// The workers of the other processes, which `forward` reaches.
    pub(crate) fn remote_workers(&self) -> usize {
        self.role.remote_workers()
    }

    /// What this process is in its cluster.
    pub(crate) fn role(&self) -> &Role {
        &self.role
    }

    /// In process 0 of a cluster, sends `control` to every worker of the other processes
    /// (through worker 0 and the link dataflow) and routes the answers to `request` to
    /// `receiver`. Does nothing otherwise.
    pub(crate) fn forward(&self, control: Control, receiver: Option<(u64, Box<dyn Receiver>)>) -> Result<()> {
        if self.remote_workers() == 0 {
            return Ok(());
        }
        self.send(0, Command::Remote { control, receiver })
    }

    /// In process 0 of a cluster, sends the control `control(request)` to the other processes
    /// and waits (at most the peer timeout) until each of their workers acknowledged it. A
    /// refusal or a silence fails the whole engine with the error returned: the processes no
    /// longer agree on what exists. Does nothing outside a cluster.
    pub(crate) fn acknowledged(&self, control: impl FnOnce(u64) -> Control) -> Result<()> {
        let Role::Leader { remote_workers, peer_timeout } = &self.role else { return Ok(()) };
        let (reply, acks) = crossbeam_channel::unbounded();
        let request = cluster::next_request();
        let receiver = DoneReceiver { reply, remaining: *remote_workers };
        self.forward(control(request), Some((request, Box::new(receiver))))?;
        let deadline = std::time::Instant::now() + *peer_timeout;
        let mut answered: Vec<bool> = (0..self.peers()).map(|worker| worker < self.workers()).collect();
        for _ in 0..*remote_workers {
            let outcome = match acks.recv_deadline(deadline) {
                Ok((worker, result)) => {
                    if let Some(done) = answered.get_mut(worker) {
                        *done = true;
                    }
                    result
                }
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                    let silent = answered.iter().position(|done| !done).unwrap_or(0);
                    Err(Error::ClusterMismatch {
                        process: silent / self.workers(),
                        detail: format!(
                            "it did not register the same table or view within {peer_timeout:?} \
                             (every process must register the same tables and views, in the same \
                             order, before calling serve)"
                        ),
                    })
                }
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => Err(self.health.terminal_error()),
            };
            if let Err(error) = outcome {
                self.health.fail_with(error.clone());
                return Err(error);
            }
        }
        Ok(())
    }

    /// A fresh table or view id.
    pub(crate) fn next_id(&mut self) -> SourceId {
        self.next_id += 1;
        self.next_id
    }

    /// The worker that receives the next small write, round robin.
    pub(crate) fn next_writer(&mut self) -> usize {
        self.next_writer = (self.next_writer + 1) % self.senders.len();
        self.next_writer
    }

    /// Sends `command` to `worker` and wakes it.
    pub(crate) fn send(&self, worker: usize, command: Command) -> Result<()> {
        self.senders[worker].send(command).map_err(|_| Error::Shutdown)?;
        self.threads[worker].unpark();
        Ok(())
    }

    /// Sends a command built by `command` to every worker, in worker order.
    pub(crate) fn broadcast(&self, command: impl Fn() -> Command) -> Result<()> {
        for worker in 0..self.senders.len() {
            self.send(worker, command())?;
        }
        Ok(())
    }
}

impl Core {
    /// Starts the workers and waits until each has reported in.
    pub(crate) fn start(config: &Config) -> Result<Arc<Core>> {
        config.validate()?;
        // Recover before starting any thread: a damaged directory fails here, untouched.
        let opened = match config.storage() {
            Some(dir) => Some(Store::open(
                dir,
                config.durability(),
                config.checkpoint_policy(),
                config.log_retention(),
            )?),
            None => None,
        };
        let workers = config.workers();
        let id = NEXT_ENGINE.fetch_add(1, Ordering::Relaxed);
        let cluster = config.cluster().filter(|cluster| cluster.processes() > 1);
        let (builders, others, role, network) = match cluster {
            Some(cluster) => {
                let (builders, others, network) = cluster::connect::connect(cluster, workers)?;
                let role = match cluster.process() {
                    0 => Role::Leader {
                        remote_workers: workers * (cluster.processes() - 1),
                        peer_timeout: cluster.peer_timeout(),
                    },
                    process => Role::Follower { process, registrations: Arc::default() },
                };
                (builders, others, role, Some(network))
            }
            None => {
                let (builders, others) = timely::CommunicationConfig::Process(workers)
                    .try_build()
                    .map_err(|e| Error::InvalidConfig(format!("cannot start workers: {e}")))?;
                (builders, others, Role::Single, None)
            }
        };
        let (senders, receivers): (Vec<_>, Vec<_>) =
            (0..workers).map(|_| crossbeam_channel::unbounded()).unzip();
        let (ready, ready_rx) = crossbeam_channel::unbounded();
        let health = Arc::new(Health::default());
        health.expect_workers(workers);
        let first_worker = cluster.map_or(0, |cluster| cluster.process() * workers);
        panics::watch(Arc::downgrade(&health), network);

        let mut worker_config = timely::WorkerConfig::default();
        let merge = differential_dataflow::Config::default().idle_merge_effort(config.idle_merge_effort());
        differential_dataflow::configure(&mut worker_config, &merge);
        let worker_health = Arc::clone(&health);
        let worker_role = role.clone();
        let guards = timely::execute::execute_from(builders, others, worker_config, move |worker| {
            // In a cluster, worker indices are global; this process's are `local` consecutive ones.
            let local = worker.index() % workers;
            let commands = receivers[local].clone();
            let _ = ready.send((local, std::thread::current()));
            worker::run(worker, commands, id, Arc::clone(&worker_health), worker_role.clone(), workers);
        })
        .map_err(|e| Error::InvalidConfig(format!("cannot start workers: {e}")))?;

        let mut threads: Vec<Option<Thread>> = vec![None; workers];
        for _ in 0..workers {
            let (index, thread) = ready_rx
                .recv_timeout(Duration::from_secs(30))
                .map_err(|_| Error::InvalidConfig("workers did not start".into()))?;
            threads[index] = Some(thread);
        }
        let threads: Vec<Thread> = threads.into_iter().map(|t| t.expect("every worker reported")).collect();
        health.set_threads(threads.clone(), first_worker);

        let (clock, store) = match opened {
            Some(opened) => {
                let clock = Clock::restore(config.retention(), opened.last, &opened.times, opened.floor);
                (clock, Some(opened.store))
            }
            None => (Clock::new(config.retention()), None),
        };
        let sequencer = Sequencer {
            senders,
            threads,
            clock,
            catalog: Catalog::default(),
            store,
            next_id: 0,
            next_writer: 0,
            role: role.clone(),
            health: Arc::clone(&health),
        };
        if sequencer.clock.last() > 0 {
            // Tables registered from now on start complete through the recovered history.
            let (upper, since) = (sequencer.clock.last() + 1, sequencer.clock.since());
            sequencer.broadcast(|| Command::Advance { upper, since })?;
        }
        Ok(Arc::new(Core {
            id,
            workers,
            role,
            sequencer: Mutex::new(sequencer),
            health,
            guards: Mutex::new(Some(guards)),
            checkpointing: Mutex::new(()),
        }))
    }

    /// This engine's id.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// The number of workers.
    pub(crate) fn workers(&self) -> usize {
        self.workers
    }

    /// Every worker of the cluster (of this process, if it is not one).
    pub(crate) fn peers(&self) -> usize {
        self.workers + self.role.remote_workers()
    }

    /// This process's index in its cluster (0 if it is not in one).
    pub(crate) fn process(&self) -> usize {
        match &self.role {
            Role::Follower { process, .. } => *process,
            _ => 0,
        }
    }

    /// Runs `f` with the sequencer locked, if the engine still runs and this process is the one
    /// that gives commands (not a process other than 0 of a cluster).
    pub(crate) fn sequence<T>(&self, f: impl FnOnce(&mut Sequencer) -> Result<T>) -> Result<T> {
        if let Role::Follower { process, .. } = &self.role {
            return Err(Error::NotLeader { process: *process });
        }
        self.sequence_any(f)
    }

    /// Like [`sequence`](Self::sequence), on any process: for registering tables and views.
    pub(crate) fn sequence_any<T>(&self, f: impl FnOnce(&mut Sequencer) -> Result<T>) -> Result<T> {
        let mut sequencer = self.lock();
        self.health.check()?;
        f(&mut sequencer).map_err(|error| match error {
            Error::Shutdown => self.health.terminal_error(),
            other => other,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Sequencer> {
        // A panic while holding the lock cannot leave the sequencer half-updated in a way that
        // matters: every update is a single assignment after all checks.
        self.sequencer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The error for a call whose worker went away.
    pub(crate) fn terminal_error(&self) -> Error {
        self.health.terminal_error()
    }

    /// Wakes every worker (after a read was cancelled, say).
    pub(crate) fn wake_workers(&self) {
        self.health.wake_all();
    }

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
    /// timeout) for each of their workers to acknowledge. If the cluster failed, or not every
    /// worker acknowledged, the threads are left to end on their own instead of being joined:
    /// joining would wait on a dead or stuck peer (and timely's network threads panic on a
    /// broken connection, which a join would re-raise).
    pub(crate) fn shutdown(&self) {
        let mut clean = true;
        {
            let sequencer = self.lock();
            if !self.health.is_shut_down() {
                if let Role::Leader { peer_timeout, .. } = &self.role
                    && !self.health.is_poisoned()
                {
                    clean = stop_peers(&sequencer, *peer_timeout);
                }
                self.health.mark_shut_down();
                let _ = sequencer.broadcast(|| Command::Shutdown);
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
            if !matches!(self.role, Role::Single) && (!clean || self.health.failure().is_some()) {
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
    /// the registered ones). A definition may hold handles, and each handle holds this core:
    /// kept past shutdown, they would keep each other alive forever.
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
}

/// Asks every worker of the other processes to stop and waits up to `timeout` for all of them
/// to acknowledge; true if they all did.
fn stop_peers(sequencer: &Sequencer, timeout: Duration) -> bool {
    let remote = sequencer.remote_workers();
    let (reply, acks) = crossbeam_channel::unbounded();
    let request = cluster::next_request();
    let receiver = DoneReceiver { reply, remaining: remote };
    if sequencer.forward(Control::Shutdown { request }, Some((request, Box::new(receiver)))).is_err() {
        return false;
    }
    let deadline = std::time::Instant::now() + timeout;
    (0..remote).all(|_| matches!(acks.recv_deadline(deadline), Ok((_, Ok(())))))
}
