//! Starting an engine: recovering the storage, connecting the cluster, starting the workers.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::Thread;
use std::time::{Duration, Instant};

use super::catalog::Catalog;
use super::consumers::Consumers;
use super::{Coordinator, Operation, State, connect, panics};
use crate::clock::Clock;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::persist::store::{Opened, Store};
use crate::protocol::health::Health;
use crate::protocol::liveness::Liveness;
use crate::worker::role::Role;

/// Opens the storage directory `dir`, recovering what it holds: an info event says what was
/// read (the checkpoint's time, the log records and segments after it) and how long it took.
fn recover(dir: &Path, config: &Config) -> Result<Opened> {
    let started = Instant::now();
    let opened = Store::open(dir, config.durability(), config.checkpoint_policy(), config.log_retention())?;
    tracing::info!(
        dir = %dir.display(),
        checkpoint = (opened.floor > 0).then_some(opened.floor),
        records = opened.times.len(),
        segments = opened.segments,
        last = opened.last,
        elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
        "storage recovered"
    );
    Ok(opened)
}

/// Engine ids distinguish handles of different engines in one process.
static NEXT_ENGINE: AtomicU64 = AtomicU64::new(1);

impl Coordinator {
    /// Starts the workers and waits until each has reported in. The start, and a recovery
    /// from storage, are info events; a failure to start is a debug event, like every error
    /// the coordinator returns.
    pub(crate) fn start(config: &Config) -> Result<Arc<Coordinator>> {
        let coordinator = Self::start_workers(config).map_err(super::returned)?;
        let cluster = config.cluster().filter(|cluster| cluster.processes() > 1);
        tracing::info!(
            engine = coordinator.id,
            workers = coordinator.workers,
            processes = cluster.map_or(1, |cluster| cluster.processes()),
            process = coordinator.process(),
            storage = config.storage().map(|dir| dir.display().to_string()),
            "engine started"
        );
        Ok(coordinator)
    }

    fn start_workers(config: &Config) -> Result<Arc<Coordinator>> {
        config.validate()?;
        // Recover before starting any thread: a damaged directory fails here, untouched.
        let opened = match config.storage() {
            Some(dir) => Some(recover(dir, config)?),
            None => None,
        };
        let workers = config.workers();
        let id = NEXT_ENGINE.fetch_add(1, Ordering::Relaxed);
        let cluster = config.cluster().filter(|cluster| cluster.processes() > 1);
        let (builders, others, role, network) = match cluster {
            Some(cluster) => {
                let (builders, others, network) = connect::connect(cluster, workers)?;
                let liveness = Arc::new(Liveness::new(cluster.processes(), cluster.peer_timeout()));
                let role = match cluster.process() {
                    0 => Role::Leader {
                        remote_workers: workers * (cluster.processes() - 1),
                        peer_timeout: cluster.peer_timeout(),
                        liveness,
                    },
                    process => Role::Follower { process, registrations: Arc::default(), liveness },
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
        health.backlog().configure(config.backlog(), workers);
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
            crate::worker::run(
                worker,
                commands,
                id,
                Arc::clone(&worker_health),
                worker_role.clone(),
                workers,
            );
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

        let (mut clock, store) = match opened {
            Some(opened) => {
                let clock = Clock::restore(config.retention(), opened.last, &opened.times, opened.floor);
                (clock, Some(opened.store))
            }
            None => (Clock::new(config.retention()), None),
        };
        let positions = match &store {
            Some(store) => crate::persist::consumers::load(store.dir())?,
            None => Vec::new(),
        };
        let consumers = Consumers::new(positions, config.consumer_lag_limit());
        clock.set_hold(consumers.hold());
        let state = State {
            senders,
            threads,
            clock,
            catalog: Catalog::default(),
            store,
            next_id: 0,
            next_writer: 0,
            subscriptions: Default::default(),
            consumers,
        };
        let coordinator = Coordinator {
            id,
            workers,
            role,
            state: Mutex::new(state),
            health,
            guards: Mutex::new(Some(guards)),
            stored: config.storage().is_some(),
            checkpointing: Mutex::new(()),
        };
        if !matches!(coordinator.role, Role::Follower { .. }) {
            let state = coordinator.lock();
            // Tables registered from now on start complete through the recovered history (on a
            // fresh engine, through time 0, where the workers already are). Only process 0
            // says so: on the other processes, process 0's own `Advance` control (which may
            // arrive first) is the one to follow, and one from here would move them back.
            let (upper, since) = (state.clock.last() + 1, state.clock.since());
            coordinator.dispatch(&state, Operation::Advance { upper, since })?;
        }
        Ok(Arc::new(coordinator))
    }
}
