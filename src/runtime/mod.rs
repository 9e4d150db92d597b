//! The worker side of the engine and the sequencer that feeds it.
//!
//! Everything that holds an `Rc`, a trace or a scope lives here, on timely worker threads.
//! The application side talks to workers only through [`Core`]: it takes the sequencer lock,
//! sends commands to the workers' channels in one global order, unparks them, and waits on
//! reply channels.

pub(crate) mod arrangement;
pub(crate) mod command;
pub(crate) mod health;
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
}

impl Sequencer {
    /// The number of workers.
    pub(crate) fn workers(&self) -> usize {
        self.senders.len()
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
        let (senders, receivers): (Vec<_>, Vec<_>) =
            (0..workers).map(|_| crossbeam_channel::unbounded()).unzip();
        let (ready, ready_rx) = crossbeam_channel::unbounded();
        let health = Arc::new(Health::default());

        let mut worker_config = timely::WorkerConfig::default();
        let merge = differential_dataflow::Config::default().idle_merge_effort(config.idle_merge_effort());
        differential_dataflow::configure(&mut worker_config, &merge);
        let (builders, others) = timely::CommunicationConfig::Process(workers)
            .try_build()
            .map_err(|e| Error::InvalidConfig(format!("cannot start workers: {e}")))?;
        let worker_health = Arc::clone(&health);
        let guards = timely::execute::execute_from(builders, others, worker_config, move |worker| {
            let commands = receivers[worker.index()].clone();
            let _ = ready.send((worker.index(), std::thread::current()));
            worker::run(worker, commands, id, Arc::clone(&worker_health));
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
        health.set_threads(threads.clone());

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
        };
        if sequencer.clock.last() > 0 {
            // Tables registered from now on start complete through the recovered history.
            let (upper, since) = (sequencer.clock.last() + 1, sequencer.clock.since());
            sequencer.broadcast(|| Command::Advance { upper, since })?;
        }
        Ok(Arc::new(Core {
            id,
            workers,
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

    /// Runs `f` with the sequencer locked, if the engine still runs.
    pub(crate) fn sequence<T>(&self, f: impl FnOnce(&mut Sequencer) -> Result<T>) -> Result<T> {
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

    /// Stops the workers and waits for their threads. Idempotent.
    pub(crate) fn shutdown(&self) {
        {
            let sequencer = self.lock();
            if !self.health.is_shut_down() {
                self.health.mark_shut_down();
                let _ = sequencer.broadcast(|| Command::Shutdown);
            }
        }
        self.health.wake_all();
        if self.health.is_worker(&std::thread::current()) {
            // Joining from a worker thread would wait for ourselves; the workers still stop.
            return;
        }
        let guards = self.guards.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(guards) = guards {
            let _ = guards.join();
        }
        // Close the storage directory (and release its lock) now, not when the last handle goes.
        self.lock().store = None;
    }
}
