//! Cluster tests: this test binary runs as process 0 and starts copies of itself as the other
//! processes (the `cluster_process` entry point, which does nothing unless the environment
//! says which process it is). Processes talk over 127.0.0.1 on free ports.

use crate::common;
use crate::common_kill;

use std::io::Read;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::{Inputs, Setup, Txn};
use ivm::{Cluster, Config, Diff, Engine, Error, Retention, Time};
use quickcheck::{Arbitrary, Gen};

/// Which process a copy of this binary is (unset: not a cluster process).
const PROCESS: &str = "IVM_TEST_CLUSTER_PROCESS";
/// The cluster's addresses, comma-separated.
const ADDRESSES: &str = "IVM_TEST_CLUSTER_ADDRESSES";
/// What the copy does: `same` (register like process 0), `other-type`, `other-workers`,
/// `nothing` (serve without registering), `silent` (connect, then do nothing), `panicking`
/// (register a view that panics, then serve), `panicking-keyed` (the same with a keyed view),
/// `stuck` (register a view that blocks its worker, then serve), `streamed` (register the
/// streamed table and views of [`Streams`], then serve), `lead` (be process 0: register like
/// this test's process 0 does, say [`LEADING`], then wait to be ended), `durable` (process 0
/// with storage in [`DIR`]: commits the transactions of [`SEED`] from where its storage is,
/// consuming its join view as a named consumer, until killed).
const MODE: &str = "IVM_TEST_CLUSTER_MODE";
/// The storage directory of a `durable` process 0.
const DIR: &str = "IVM_TEST_CLUSTER_DIR";
/// The seed of a `durable` process 0's transactions ([`seeded_txns`]).
const SEED: &str = "IVM_TEST_CLUSTER_SEED";
/// How many transactions a `durable` process 0 commits at most.
const DURABLE_TXNS: usize = 5_000;

const WORKERS: usize = 2;

/// The entry point of the other processes: registers the tables and views, then serves.
#[test]
fn cluster_process() {
    let Ok(process) = std::env::var(PROCESS) else { return };
    let process: usize = process.parse().unwrap();
    let addresses: Vec<String> = std::env::var(ADDRESSES).unwrap().split(',').map(String::from).collect();
    let mode = std::env::var(MODE).unwrap();
    let cluster = Cluster::new(process, addresses).with_connect_timeout(Duration::from_secs(20));
    // A mode ending in `-one` runs with one worker.
    let (mode, workers) = match mode.strip_suffix("-one") {
        Some(mode) => (mode.to_string(), 1),
        None if mode == "other-workers" => (mode, WORKERS + 1),
        None => (mode, WORKERS),
    };
    let config = Config::default().with_workers(workers).with_cluster(cluster);
    match mode.as_str() {
        "same" => {
            let setup = Setup::with_config(config);
            assert_eq!((setup.engine.process(), setup.engine.is_leader()), (process, false));
            setup.engine.serve().unwrap();
        }
        "other-type" => {
            let engine = Engine::start(config).unwrap();
            engine.table::<(u8, u16)>("orders").unwrap();
            assert!(matches!(engine.serve(), Err(Error::ClusterMismatch { .. })));
        }
        "other-workers" => {
            assert!(matches!(Engine::start(config), Err(Error::ClusterMismatch { .. })));
        }
        "nothing" => {
            // Serves without registering anything, then stays connected until process 0 ends it,
            // so that its mismatch report always arrives.
            let engine = Engine::start(config).unwrap();
            assert!(matches!(engine.serve(), Err(Error::ClusterMismatch { .. })));
            loop {
                std::thread::park();
            }
        }
        "panicking" => {
            // Its view panics on rows of 1,000 and up; the panic names the worker by its index in
            // the cluster (process 1's workers are 2 and 3; with one worker per process, 1).
            let engine = Engine::start(config).unwrap();
            let numbers = engine.table::<u32>("numbers").unwrap();
            let _view = engine.view("fragile", move |v| v.table(&numbers).distinct().map(fragile)).unwrap();
            match engine.serve() {
                Err(Error::WorkerPanicked { message }) => {
                    let named = (0..workers)
                        .any(|local| message.starts_with(&format!("worker {}:", workers * process + local)));
                    assert!(named, "the panic does not name one of process 1's workers: {message}");
                }
                other => panic!("serve ended with {other:?}, not the worker's panic"),
            }
        }
        "stuck" => {
            // Its view blocks its worker for good on rows of 1,000 and up: the process stays
            // connected but its workers never answer again.
            let engine = Engine::start(config).unwrap();
            let numbers = engine.table::<u32>("numbers").unwrap();
            let _view = engine.view("stuck", move |v| v.table(&numbers).distinct().map(stuck)).unwrap();
            let _ = engine.serve();
        }
        "panicking-keyed" => {
            let engine = Engine::start(config).unwrap();
            let numbers = engine.table::<u32>("numbers").unwrap();
            let _view = engine.keyed_view("fragile", move |v| fragile_by_key(v.table(&numbers))).unwrap();
            assert!(matches!(engine.serve(), Err(Error::WorkerPanicked { .. })));
            // Stays up, so that its answers reach process 0 before the connection closes:
            // process 0 ends it.
            loop {
                std::thread::park();
            }
        }
        "late" => {
            // Registers its table a second after it connected, when process 0's control to
            // build it has most likely arrived and its workers wait for the registration.
            let engine = Engine::start(config).unwrap();
            std::thread::sleep(Duration::from_secs(1));
            let _numbers = engine.table::<u32>("numbers").unwrap();
            engine.serve().unwrap();
        }
        "streamed" => {
            let engine = Engine::start(config).unwrap();
            let _streams = Streams::register(&engine);
            // Process 0's view over the stream made after rows arrived is refused there and
            // dropped again; this process registers it too, as every process must.
            let _late = engine.view_from("late", &Streams::counted(&_streams.events));
            engine.serve().unwrap();
        }
        "durable" => durable_process_0(config),
        "lead" => {
            // Process 0 of a cluster whose other process is the test: it registers, then idles.
            let setup = Setup::with_config(config);
            assert!(setup.engine.is_leader());
            eprintln!("{LEADING}");
            loop {
                std::thread::park();
            }
        }
        "silent" => {
            // Connected, but never registers anything nor serves: process 0 ends it.
            let _engine = Engine::start(config).unwrap();
            loop {
                std::thread::park();
            }
        }
        other => panic!("unknown mode {other}"),
    }
}

/// What a `lead` process writes once it has registered everything.
const LEADING: &str = "process 0 registered everything";

/// `n` free local addresses. They are taken below the range the system hands out for outgoing
/// connections and `bind(0)` (32768 and up on Linux): a port found free there could be taken
/// again by another test's connection before the engine binds it. Each test process counts up
/// from the start of a block of its own, chosen by its process id, checking that each port is
/// free: a port checked free is bound by the engine only later, so two test processes running
/// side by side (as under `cargo nextest`, one process per test) must not count through the same
/// ports, which adjacent offsets would.
fn free_addresses(n: usize) -> Vec<String> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    const FIRST: u32 = 20_000;
    const PORTS: u32 = 12_000;
    /// More ports than the tests of one process take.
    const BLOCK: u32 = 128;
    let offset = std::process::id() % (PORTS / BLOCK) * BLOCK;
    let mut addresses = Vec::with_capacity(n);
    while addresses.len() < n {
        let step = NEXT.fetch_add(1, Ordering::Relaxed);
        let address = format!("127.0.0.1:{}", FIRST + (offset + step) % PORTS);
        if TcpListener::bind(&address).is_ok() {
            addresses.push(address);
        }
    }
    addresses
}

/// Starts process `process` of the cluster at `addresses` as a copy of this test binary. Its
/// output is kept, not mixed into this test's: it is shown only if the test fails.
fn spawn(process: usize, addresses: &[String], mode: &str) -> OtherProcess {
    spawn_with(process, addresses, mode, &[])
}

/// Like [`spawn`], with more environment variables for the mode.
fn spawn_with(process: usize, addresses: &[String], mode: &str, env: &[(&str, String)]) -> OtherProcess {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([test_name("cluster_process").as_str(), "--exact", "--nocapture", "--test-threads=1"])
        .env(PROCESS, process.to_string())
        .env(ADDRESSES, addresses.join(","))
        .env(MODE, mode)
        .envs(env.iter().map(|(name, value)| (*name, value.as_str())))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let output = Arc::new(Mutex::new(Vec::new()));
    let stdout = child.stdout.take().map(|pipe| keep(pipe, &output));
    let stderr = child.stderr.take().map(|pipe| keep(pipe, &output));
    OtherProcess { child, process, output, readers: stdout.into_iter().chain(stderr).collect() }
}

/// A thread that appends everything `pipe` carries to `output`, until the pipe closes.
fn keep(mut pipe: impl Read + Send + 'static, output: &Arc<Mutex<Vec<u8>>>) -> JoinHandle<()> {
    let output = Arc::clone(output);
    std::thread::spawn(move || {
        let mut chunk = [0; 4096];
        while let Ok(n @ 1..) = pipe.read(&mut chunk) {
            output.lock().unwrap().extend_from_slice(&chunk[..n]);
        }
    })
}

/// Another process of a test's cluster. It is killed if the test lets go of it while it runs
/// (a failed assertion, say), so that no copy of this binary outlives its test; its output is
/// printed then if the test is failing.
struct OtherProcess {
    child: Child,
    process: usize,
    output: Arc<Mutex<Vec<u8>>>,
    readers: Vec<JoinHandle<()>>,
}

impl OtherProcess {
    /// Waits for the process to end on its own; true if it exited with success (its output is
    /// printed otherwise).
    fn ends_cleanly(&mut self) -> bool {
        let success = self.child.wait().unwrap().success();
        if !success {
            self.show_output();
        }
        success
    }

    /// Like [`ends_cleanly`](Self::ends_cleanly), but false if the process is still running
    /// after `timeout` (a process that hangs fails the test instead of hanging it).
    fn ends_cleanly_within(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.child.try_wait().unwrap().is_some() {
                return self.ends_cleanly();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Waits until the process has written `text` (to stdout or stderr); false if it has not
    /// after `timeout`.
    fn has_written_within(&self, text: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if String::from_utf8_lossy(&self.output.lock().unwrap()).contains(text) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// What the process wrote (stdout and stderr): all of it once it has ended.
    fn written(&mut self) -> String {
        if let Ok(Some(_)) = self.child.try_wait() {
            for reader in self.readers.drain(..) {
                let _ = reader.join();
            }
        }
        String::from_utf8_lossy(&self.output.lock().unwrap()).into_owned()
    }

    /// Sends the process signal `name` (`STOP`, `CONT`) with the `kill` command.
    fn signal(&self, name: &str) {
        let status = Command::new("kill").args([format!("-{name}"), self.child.id().to_string()]).status();
        assert!(status.as_ref().is_ok_and(|status| status.success()), "kill -{name} failed: {status:?}");
    }

    /// Kills the process and waits for it.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Prints what the process wrote (once it ended), for the failing test's report; once.
    fn show_output(&mut self) {
        if self.readers.is_empty() {
            return;
        }
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        let output = self.output.lock().unwrap();
        eprintln!("--- output of cluster process {} ---\n{}", self.process, String::from_utf8_lossy(&output));
    }
}

impl Drop for OtherProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.kill();
        }
        if std::thread::panicking() {
            self.show_output();
        }
    }
}

/// A cluster of two processes with `WORKERS` workers each: this one (process 0) and a child.
fn cluster(mode: &str) -> (Config, OtherProcess) {
    let (config, mut children) = cluster_of(&[mode]);
    (config, children.pop().unwrap())
}

/// A cluster with `WORKERS` workers per process: this one (process 0) and a child per mode
/// (processes 1 and up), each doing what its mode says.
fn cluster_of(modes: &[&str]) -> (Config, Vec<OtherProcess>) {
    let addresses = free_addresses(modes.len() + 1);
    let children = modes.iter().enumerate().map(|(i, mode)| spawn(i + 1, &addresses, mode)).collect();
    let cluster = Cluster::new(0, addresses)
        .with_connect_timeout(Duration::from_secs(20))
        .with_peer_timeout(Duration::from_secs(20));
    (Config::default().with_workers(WORKERS).with_cluster(cluster), children)
}

/// Every update of `subscription` up to `through`, consolidated.
fn summed<D: ivm::Row>(subscription: &mut ivm::Subscription<D>, through: Time) -> Vec<(D, Diff)> {
    let mut updates = Vec::new();
    let mut upper = 0;
    while upper <= through {
        let batch = subscription.next_timeout(Duration::from_secs(20)).unwrap().unwrap();
        upper = batch.upper;
        updates.extend(batch.updates.into_iter().filter(|(_, t, _)| *t <= through).map(|(d, _, r)| (d, r)));
    }
    consolidate(updates)
}

fn consolidate<D: Ord>(mut updates: Vec<(D, Diff)>) -> Vec<(D, Diff)> {
    ivm::differential_dataflow::consolidation::consolidate(&mut updates);
    updates
}

#[test]
fn two_processes_answer_like_one() {
    let mut random = Gen::new(12);
    for round in 0..5 {
        let txns: Vec<Txn> =
            (0..8 + round * 8).map(|_| Txn::arbitrary(&mut random)).filter(|t| !t.ops.is_empty()).collect();
        assert_answers_like_one(2, &txns);
    }
}

#[test]
fn three_processes_answer_like_one() {
    // Process 0 counts the answers it awaits from the other processes' workers: with three
    // processes that count is no longer the number of workers of one other process.
    let mut random = Gen::new(12);
    let txns: Vec<Txn> = (0..16).map(|_| Txn::arbitrary(&mut random)).filter(|t| !t.ops.is_empty()).collect();
    assert_answers_like_one(3, &txns);
}

/// Runs `txns` on a cluster of `processes` processes and on one engine with as many workers as
/// a process; asserts that every read, subscription and batch run of the two agree.
fn assert_answers_like_one(processes: usize, txns: &[Txn]) {
    let (config, children) = cluster_of(&vec!["same"; processes - 1]);
    let clustered = Setup::with_config(config.with_retention(Retention::All));
    let single = Setup::new(WORKERS, Retention::All);
    assert_eq!(clustered.engine.cluster_workers(), processes * WORKERS);
    assert_eq!((clustered.engine.process(), clustered.engine.is_leader()), (0, true));
    let mut join = clustered.join.subscribe().unwrap();
    let mut aggregate = clustered.aggregate.subscribe().unwrap();
    let mut watched = clustered.watched.subscribe().unwrap();
    let (mut model_c, mut model_s) = (Inputs::default(), Inputs::default());
    let (mut last_c, mut last_s) = (0, 0);
    let mut times = Vec::new();
    for txn in txns {
        last_c = clustered.commit(txn, &mut model_c, last_c);
        last_s = single.commit(txn, &mut model_s, last_s);
        assert_eq!(last_c, last_s, "{txns:?}");
        times.push(last_c);
        let t = last_c;
        assert_eq!(clustered.join.at(t).unwrap(), single.join.at(t).unwrap(), "join at {t}: {txns:?}");
        assert_eq!(clustered.aggregate.at(t).unwrap(), single.aggregate.at(t).unwrap(), "{txns:?}");
        assert_eq!(clustered.distinct.at(t).unwrap(), single.distinct.at(t).unwrap(), "{txns:?}");
        assert_eq!(clustered.watched.at(t).unwrap(), single.watched.at(t).unwrap(), "{txns:?}");
        assert_eq!(clustered.join.at(t).unwrap(), common::joined(&model_c), "{txns:?}");
        for key in 0..6u8 {
            assert_eq!(clustered.aggregate.get(&key, t).unwrap(), single.aggregate.get(&key, t).unwrap());
        }
        assert_eq!(clustered.aggregate.range(1..4, t).unwrap(), single.aggregate.range(1..4, t).unwrap());
        assert_eq!(clustered.orders.at(t).unwrap(), single.orders.at(t).unwrap());
        assert_eq!(clustered.prices.at(t).unwrap(), single.prices.at(t).unwrap());
    }
    // Older times read back exactly, and the batch run over the cluster's tables agrees.
    for &t in &times {
        assert_eq!(clustered.join.at(t).unwrap(), single.join.at(t).unwrap());
    }
    let last = last_c;
    let inputs = ivm::batch::BatchInputs::from_engine(&clustered.engine, last).unwrap();
    let batch = ivm::batch::run(clustered.watched.definition(), &inputs, 1).unwrap();
    assert_eq!(batch, single.watched.at(last).unwrap());
    assert_eq!(summed(&mut join, last), single.join.at(last).unwrap());
    assert_eq!(summed(&mut aggregate, last), single.aggregate.at(last).unwrap());
    assert_eq!(summed(&mut watched, last), single.watched.at(last).unwrap());
    assert_eq!(clustered.join.stats().unwrap().subscribers, 1);
    // Every process's workers add to the engine's figures: each source read at `last` above
    // holds as many rows as in one process, and is complete through `last` everywhere.
    let (stats_c, stats_s) = (clustered.engine.stats().unwrap(), single.engine.stats().unwrap());
    for name in stats_s.sources.iter().map(|source| source.name.as_str()) {
        let (c, s) = (stats_c.source(name).unwrap().trace, stats_s.source(name).unwrap().trace);
        assert_eq!((c.rows, c.upper), (s.rows, s.upper), "{name}: {txns:?}");
        assert_eq!(c.upper, last + 1, "{name}");
    }
    assert_eq!(stats_c.subscriptions.len(), 3);
    drop((join, aggregate, watched));
    clustered.engine.shutdown();
    for mut child in children {
        assert!(child.ends_cleanly(), "every other process must end cleanly on shutdown");
    }
    assert_eq!(clustered.join.at(last), Err(Error::Shutdown));
}

/// Creates the table `orders` on process 0 (started with `config`), as the `same` mode does,
/// beside `children`; asserts a `ClusterMismatch` naming `process` (which never registered it)
/// whose detail contains `detail`, then ends the children.
fn assert_unregistered_table_refused(
    config: Config,
    children: Vec<OtherProcess>,
    process: usize,
    detail: &str,
) {
    let engine = Engine::start(config).unwrap();
    let error = engine.table::<(u8, u8)>("orders").unwrap_err();
    assert!(
        matches!(&error, Error::ClusterMismatch { process: p, detail: d } if *p == process && d.contains(detail)),
        "{error}"
    );
    drop(children);
}

#[test]
fn a_process_that_never_registers_is_named_after_the_peer_timeout() {
    // Two workers per process, and the silent process is the third: its first worker is worker
    // 4 of the cluster, so naming it takes the division by the workers per process (with one
    // worker per process, or process 1, several wrong rules give the same answer).
    let (config, children) = cluster_of(&["same", "silent"]);
    let cluster = config.cluster().unwrap().clone().with_peer_timeout(Duration::from_secs(2));
    assert_unregistered_table_refused(config.with_cluster(cluster), children, 2, "did not register");
}

#[test]
fn a_silent_process_1_is_named_with_one_worker_per_process() {
    // One worker per process, process 1 silent and process 2 answering: process 1's worker is
    // the first of the other processes, so a rule off by one there names process 2 or 0.
    let (config, children) = cluster_of(&["silent-one", "same-one"]);
    let cluster = config.cluster().unwrap().clone().with_peer_timeout(Duration::from_secs(2));
    assert_unregistered_table_refused(
        config.with_workers(1).with_cluster(cluster),
        children,
        1,
        "did not register",
    );
}

/// The `panicking` view's logic: on the other processes (not on this one, which stays
/// quiet), rows of 1,000 and up panic.
fn fragile(x: u32) -> u32 {
    assert!(x < 1_000 || std::env::var(PROCESS).is_err(), "fragile view met {x}");
    x
}

#[test]
fn a_panic_on_another_process_names_its_worker_by_its_cluster_index() {
    let (config, child) = cluster("panicking");
    panic_on_process_1(config, child);
}

#[test]
fn a_process_whose_only_worker_panics_still_returns_from_serve() {
    // With one worker per process, process 1 has no healthy worker left to tell this process,
    // which keeps its connections open: process 1 must not wait for them to close.
    let (config, child) = cluster("panicking-one");
    panic_on_process_1(config.with_workers(1), child);
}

/// Runs the `panicking` view with process 1 in `child`, whose workers panic; it must return
/// from `serve` with the panic, named by the worker's cluster index.
fn panic_on_process_1(config: Config, mut child: OtherProcess) {
    let engine = Engine::start(config).unwrap();
    let numbers = engine.table::<u32>("numbers").unwrap();
    let _view = engine
        .view("fragile", {
            let numbers = numbers.clone();
            move |v| v.table(&numbers).distinct().map(fragile)
        })
        .unwrap();
    // Spread over every worker by `distinct`'s exchange: some land on process 1, whose workers
    // panic; this process then loses its peer.
    let _ = engine.commit(|tx| tx.insert_all(&numbers, 1_000..1_064));
    // Before the fix, `serve` there never returned: its shutdown joined a network thread that
    // still read from this process.
    assert!(
        child.ends_cleanly_within(Duration::from_secs(60)),
        "process 1 did not return from serve with its worker's panic, named by the worker's cluster index"
    );
    drop(engine);
}

/// What a process writes once one of its workers is stuck in the `stuck` view.
const STUCK: &str = "a worker is stuck in the view";

/// The `stuck` view's logic: on the other processes, rows of 1,000 and up block the worker
/// (after saying so, once).
fn stuck(x: u32) -> u32 {
    static SAID: std::sync::Once = std::sync::Once::new();
    while x >= 1_000 && std::env::var(PROCESS).is_ok() {
        SAID.call_once(|| eprintln!("{STUCK}"));
        std::thread::park();
    }
    x
}

#[test]
fn shutdown_returns_when_a_process_never_acknowledges_it() {
    // Process 1's workers are stuck in a view and its connections stay open: the stop goes
    // unacknowledged past the peer timeout, and shutdown must then leave the network threads
    // to end on their own rather than join them (they would wait for process 1 forever).
    let (config, mut child) = cluster("stuck");
    let cluster = config.cluster().unwrap().clone().with_peer_timeout(Duration::from_secs(2));
    let engine = Engine::start(config.with_cluster(cluster)).unwrap();
    let numbers = engine.table::<u32>("numbers").unwrap();
    let view = engine
        .view("stuck", {
            let numbers = numbers.clone();
            move |v| v.table(&numbers).distinct().map(stuck)
        })
        .unwrap();
    let t = engine.commit(|tx| tx.insert_all(&numbers, 1_000..1_064)).unwrap();
    // Process 1's workers are stuck in the view, not just slow to take the stop, so the commit
    // never completes.
    assert!(child.has_written_within(STUCK, Duration::from_secs(60)), "process 1 never got stuck");
    let read = view.at_timeout(t, Duration::from_millis(500));
    // Its workers stuck, process 1 sends no heartbeats either: past the peer timeout it is
    // lost, which a loaded machine may reach before the read's own timeout.
    assert!(matches!(read, Err(Error::Timeout { .. } | Error::PeerLost { .. })), "{read:?}");
    let (stopped, stopping) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        engine.shutdown();
        let _ = stopped.send(());
    });
    let outcome = stopping.recv_timeout(Duration::from_secs(60));
    child.kill();
    assert!(outcome.is_ok(), "shutdown waited for a process that never acknowledged it");
}

/// Every number, distinct (so spread over every worker), keyed by itself. On the other
/// processes the first number of 1,000 and up panics, so one worker panics and the others
/// stay healthy.
fn fragile_by_key<'s>(
    numbers: ivm::differential_dataflow::VecCollection<'s, Time, u32, Diff>,
) -> ivm::differential_dataflow::VecCollection<'s, Time, (u32, u32), Diff> {
    static PANICKED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    numbers.distinct().map(|x| {
        let first = x >= 1_000 && !PANICKED.swap(true, Ordering::SeqCst);
        (x, if first { fragile(x) } else { x })
    })
}

#[test]
fn keyed_reads_waiting_on_a_process_whose_worker_panics_end_with_its_panic() {
    // Keyed reads of a time not yet committed wait on the worker that owns the key: some on
    // process 1. One of its workers then panics: every read must end with that panic, those
    // on the panicking worker too (nothing else tells this process: process 1's connections
    // close cleanly and the process stays up).
    let (config, mut child) = cluster("panicking-keyed");
    let engine = Engine::start(config).unwrap();
    let numbers = engine.table::<u32>("numbers").unwrap();
    let view = engine
        .keyed_view("fragile", {
            let numbers = numbers.clone();
            move |v| fragile_by_key(v.table(&numbers))
        })
        .unwrap();
    let t = engine.commit(|tx| tx.insert_all(&numbers, 0..16)).unwrap();
    // Enough keys that each of the four workers owns some.
    let keys = 64u32;
    let (answers, answered) = std::sync::mpsc::channel();
    for key in 0..keys {
        let (view, answers) = (view.clone(), answers.clone());
        std::thread::spawn(move || answers.send((key, view.get(&key, t + 1))));
    }
    // Every read is waiting on its worker (the stats count them) before anything panics.
    let deadline = Instant::now() + Duration::from_secs(60);
    while view.stats().unwrap().reads < keys as usize {
        assert!(Instant::now() < deadline, "the keyed reads never all reached their workers");
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = engine.commit(|tx| tx.insert_all(&numbers, 1_000..1_064));
    for _ in 0..keys {
        let (key, answer) = answered
            .recv_timeout(Duration::from_secs(60))
            .expect("a keyed read waiting on the panicking process was never answered");
        match answer {
            Err(Error::WorkerPanicked { message }) if message.contains("fragile view met") => {}
            other => panic!("the read of key {key} ended with {other:?}, not the worker's panic"),
        }
    }
    child.kill();
    drop(engine);
}

/// In a cluster the workers of the other processes cannot encode their rows into columns
/// where they are, so an export reads every row back to process 0 and encodes it there: the
/// files then hold what `at` answers, for every kind of source.
#[cfg(feature = "files")]
#[test]
fn a_cluster_exports_every_kind_of_source_as_at_reads_it() {
    let (config, mut child) = cluster("same");
    let clustered = Setup::with_config(config);
    let mut random = Gen::new(12);
    let (mut model, mut last) = (Inputs::default(), 0);
    for txn in (0..24).map(|_| Txn::arbitrary(&mut random)) {
        last = clustered.commit(&txn, &mut model, last);
    }
    let folder = tempfile::tempdir().unwrap();
    let back = Engine::start(Config::default()).unwrap();

    let orders = back.table::<(u8, u8)>("orders").unwrap();
    let t = exported(&clustered.orders, last, &orders, folder.path());
    assert!(!clustered.orders.at(last).unwrap().is_empty());
    assert_eq!(orders.at(t).unwrap(), clustered.orders.at(last).unwrap());

    let prices = back.keyed_table::<u8, u8>("prices").unwrap();
    let t = exported(&clustered.prices, last, &prices, folder.path());
    assert!(!clustered.prices.at(last).unwrap().is_empty());
    assert_eq!(prices.at(t).unwrap(), clustered.prices.at(last).unwrap());

    let join = back.table::<(u8, u8, u8)>("join").unwrap();
    let t = exported(&clustered.join, last, &join, folder.path());
    assert!(!clustered.join.at(last).unwrap().is_empty());
    assert_eq!(join.at(t).unwrap(), clustered.join.at(last).unwrap());

    let aggregate = back.keyed_table::<u8, (isize, isize)>("aggregate").unwrap();
    let t = exported(&clustered.aggregate, last, &aggregate, folder.path());
    let expected: Vec<(u8, (isize, isize))> = clustered
        .aggregate
        .at(last)
        .unwrap()
        .into_iter()
        .map(|(pair, diff)| {
            assert_eq!(diff, 1);
            pair
        })
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(aggregate.at(t).unwrap(), expected);

    back.shutdown();
    clustered.engine.shutdown();
    assert!(child.ends_cleanly(), "process 1 must end cleanly on shutdown");
}

#[test]
fn a_process_that_registers_after_the_control_arrived_is_waited_for() {
    let (config, mut child) = cluster("late");
    let engine = Engine::start(config).unwrap();
    let numbers = engine.table::<u32>("numbers").unwrap();
    let t = engine.commit(|tx| tx.insert_all(&numbers, 0..10)).unwrap();
    assert_eq!(numbers.at(t).unwrap().len(), 10);
    engine.shutdown();
    assert!(child.ends_cleanly(), "process 1 must end cleanly on shutdown");
}

#[test]
fn drops_reach_every_process_and_end_what_waits_there() {
    let (config, mut child) = cluster("same");
    let clustered = Setup::with_config(config.with_retention(Retention::All));
    let single = Setup::new(WORKERS, Retention::All);
    let mut random = Gen::new(12);
    let (mut model_c, mut model_s, mut last_c, mut last_s) = (Inputs::default(), Inputs::default(), 0, 0);
    let mut commit = |count: usize| {
        for txn in (0..count).map(|_| Txn::arbitrary(&mut random)) {
            last_c = clustered.commit(&txn, &mut model_c, last_c);
            last_s = single.commit(&txn, &mut model_s, last_s);
        }
        assert_eq!(last_c, last_s);
        last_c
    };
    let t = commit(8);
    let mut watched = clustered.watched.subscribe().unwrap();
    // Keyed reads of a time to come, each waiting on the one worker that holds its key, some of
    // them on process 1.
    let waiting: Vec<_> = (0..6u8)
        .map(|key| {
            let aggregate = clustered.aggregate.clone();
            std::thread::spawn(move || aggregate.get(&key, t + 100))
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while clustered.aggregate.stats().unwrap().reads < 6 {
        assert!(Instant::now() < deadline, "the keyed reads never waited");
        std::thread::yield_now();
    }
    clustered.engine.drop_view("aggregate").unwrap();
    for read in waiting {
        assert_eq!(read.join().unwrap(), Err(Error::Dropped { name: "aggregate".into() }));
    }
    clustered.engine.drop_view("watched").unwrap();
    let end = loop {
        match watched.next_timeout(Duration::from_secs(20)) {
            Ok(Some(_)) => {}
            other => break other,
        }
    };
    assert_eq!(end, Err(Error::Dropped { name: "watched".into() }));

    // The views left still answer like one process's, and the dropped ones are gone everywhere.
    let t = commit(8);
    assert_eq!(clustered.join.at(t).unwrap(), single.join.at(t).unwrap());
    assert_eq!(clustered.distinct.at(t).unwrap(), single.distinct.at(t).unwrap());
    assert_eq!(clustered.aggregate.at(t), Err(Error::Dropped { name: "aggregate".into() }));
    assert!(matches!(clustered.engine.drop_table("orders"), Err(Error::InUse { .. })));
    clustered.engine.drop_view("join").unwrap();
    clustered.engine.drop_view("distinct").unwrap();
    clustered.engine.drop_table("orders").unwrap();
    let t = clustered.engine.commit(|tx| tx.upsert(&clustered.prices, 1, 2)).unwrap();
    single.engine.commit_at(t, |tx| tx.upsert(&single.prices, 1, 2)).unwrap();
    assert_eq!(clustered.prices.at(t).unwrap(), single.prices.at(t).unwrap());
    assert_eq!(clustered.orders.at(t), Err(Error::Dropped { name: "orders".into() }));
    clustered.engine.shutdown();
    assert!(child.ends_cleanly(), "process 1 must end cleanly on shutdown");
}

/// A streamed table of `(key, value)` events, a kept view counting them per key, and a
/// streamed view of the events joined with a kept table of labels.
struct Streams {
    events: ivm::Table<(u8, u16)>,
    labels: ivm::Table<(u8, u16)>,
    counts: ivm::View<(u8, Diff)>,
    labelled: ivm::View<(u8, u16, u16)>,
}

impl Streams {
    /// The cluster's sources; `streamed` false makes them all kept, for the single process
    /// the cluster is compared with.
    fn register_as(engine: &Engine, streamed: bool) -> Streams {
        let events = match streamed {
            true => engine.streamed_table::<(u8, u16)>("events"),
            false => engine.table::<(u8, u16)>("events"),
        }
        .unwrap();
        let labels = engine.table::<(u8, u16)>("labels").unwrap();
        let counts = engine.view_from("counts", &Streams::counted(&events)).unwrap();
        let definition = ivm::Definition::over((&events, &labels), |_, (events, labels)| {
            events.join(labels).map(|(key, (value, label))| (key, value, label))
        });
        let labelled = match streamed {
            true => engine.streamed_view_from("labelled", &definition),
            false => engine.view_from("labelled", &definition),
        }
        .unwrap();
        Streams { events, labels, counts, labelled }
    }

    fn register(engine: &Engine) -> Streams {
        Streams::register_as(engine, true)
    }

    fn counted(events: &ivm::Table<(u8, u16)>) -> ivm::Definition<(u8, Diff)> {
        ivm::Definition::over(events, |_, events| events.map(|(key, _)| key).count())
    }
}

#[test]
fn streamed_tables_and_views_answer_like_one_process() {
    streamed_like_one_process(false);
}

#[test]
fn streamed_tables_with_storage_on_process_0_backfill_a_late_view_on_every_process() {
    streamed_like_one_process(true);
}

/// Streamed tables and views on two processes against one process's kept ones; `stored`:
/// process 0 has storage, so a view made late is backfilled from its log.
fn streamed_like_one_process(stored: bool) {
    let dir = tempfile::tempdir().unwrap();
    let (config, mut child) = cluster("streamed");
    let config = if stored { config.with_storage(dir.path()) } else { config };
    let clustered_engine = Engine::start(config).unwrap();
    let clustered = Streams::register(&clustered_engine);
    let single_engine = Engine::start(Config::default().with_workers(WORKERS)).unwrap();
    let single = Streams::register_as(&single_engine, false);
    let mut labelled = clustered.labelled.subscribe().unwrap();
    let mut random = Gen::new(12);
    let mut held: Vec<(u8, u16)> = Vec::new();
    let mut last = 0;
    let mut late_changes = None;
    for round in 0..40u16 {
        if round == 20 {
            // Mid-stream, without a snapshot (it would need the events' history): every change
            // after the latest commit, computed on either process, reaches it.
            let options = ivm::SubscribeOptions::default().snapshot(false);
            late_changes = Some((last, clustered.labelled.subscribe_with(options).unwrap()));
        }
        let events: Vec<(u8, u16)> =
            (0..u8::arbitrary(&mut random) % 20).map(|_| (u8::arbitrary(&mut random) % 6, round)).collect();
        let retract =
            (round % 3 == 2 && !held.is_empty()).then(|| held.remove(usize::from(round) % held.len()));
        let label = (round % 4 == 0).then_some(((round % 6) as u8, round));
        let write = |tx: &mut ivm::Transaction, streams: &Streams| {
            tx.insert_all(&streams.events, events.iter().copied());
            if let Some(event) = retract {
                tx.delete(&streams.events, event);
            }
            if let Some(label) = label {
                tx.insert(&streams.labels, label);
            }
        };
        last = clustered_engine.commit(|tx| write(tx, &clustered)).unwrap();
        single_engine.commit_at(last, |tx| write(tx, &single)).unwrap();
        held.extend(events);
        assert_eq!(clustered.counts.at(last).unwrap(), single.counts.at(last).unwrap(), "round {round}");
    }
    // The streamed view's subscription, summed, equals one process's recomputation of it.
    assert_eq!(summed(&mut labelled, last), single.labelled.at(last).unwrap());
    assert!(!single.labelled.at(last).unwrap().is_empty());
    let (from, mut late_changes) = late_changes.unwrap();
    let mut expected = single.labelled.at(last).unwrap();
    expected.extend(single.labelled.at(from).unwrap().into_iter().map(|(row, diff)| (row, -diff)));
    assert_eq!(summed(&mut late_changes, last), consolidate(expected));
    let late = clustered_engine.view_from("late", &Streams::counted(&clustered.events));
    let late = match (stored, late) {
        // Backfilled from process 0's log: the rows enter there and the exchanges route them.
        (true, Ok(late)) => {
            assert_eq!(late.at(last).unwrap(), single.counts.at(last).unwrap());
            Some(late)
        }
        // Nothing kept: a view made now has no history to start from, on any process.
        (false, Err(Error::NotKept { name, .. })) => {
            assert_eq!(name, "events");
            None
        }
        (_, other) => panic!("stored: {stored}, got {other:?}"),
    };
    let t = clustered_engine.commit(|tx| tx.insert(&clustered.events, (1, 1))).unwrap();
    single_engine.commit_at(t, |tx| tx.insert(&single.events, (1, 1))).unwrap();
    assert_eq!(clustered.counts.at(t).unwrap(), single.counts.at(t).unwrap());
    if let Some(late) = late {
        assert_eq!(late.at(t).unwrap(), single.counts.at(t).unwrap(), "the late view goes on");
    }
    assert_eq!(clustered.events.stats().unwrap().updates, 0);
    drop((labelled, late_changes));
    clustered_engine.shutdown();
    assert!(child.ends_cleanly(), "process 1 must end cleanly on shutdown");
}

/// Writes `source` as of `t` to a Parquet file in `folder`, loads the file into `into` and
/// returns the time of the load.
#[cfg(feature = "files")]
fn exported<S, I>(source: &S, t: Time, into: &I, folder: &std::path::Path) -> Time
where
    S: ivm::files::Source,
    I: ivm::files::Input<Row = S::Row>,
{
    use ivm::files::{ParquetOptions, load_parquet, write_parquet};
    let path = folder.join(format!("{}.parquet", source.source_name()));
    let written = write_parquet(source, t, &path, &ParquetOptions::default()).unwrap();
    let loaded = load_parquet(into, &path).unwrap();
    assert_eq!(loaded.rows, written.rows);
    loaded.time
}

#[test]
fn a_table_the_serving_process_never_registered_is_a_mismatch_at_once() {
    let (config, child) = cluster("nothing");
    assert_unregistered_table_refused(config, vec![child], 1, "registered no such");
}

#[test]
fn a_mismatch_names_the_process_that_reported_it() {
    // Process 1 registers `orders` as process 0 does; process 2 serves without registering it.
    let (config, children) = cluster_of(&["same", "nothing"]);
    assert_unregistered_table_refused(config, children, 2, "registered no such");
}

#[test]
fn other_processes_cannot_commit_or_read() {
    let (config, mut child) = cluster("same");
    let setup = Setup::with_config(config);
    let t = setup.engine.commit(|tx| tx.insert(&setup.orders, (1, 1))).unwrap();
    assert_eq!(setup.join.at(t).unwrap(), vec![]);
    assert!(setup.engine.is_leader());
    assert!(matches!(setup.engine.serve(), Err(Error::InvalidConfig(_))));
    setup.engine.shutdown();
    assert!(child.ends_cleanly());
}

#[test]
fn a_killed_process_is_a_typed_error() {
    let (config, mut child) = cluster("same");
    let setup = Setup::with_config(config);
    let t = setup.engine.commit(|tx| tx.insert(&setup.orders, (1, 1))).unwrap();
    assert_eq!(setup.distinct.at(t).unwrap(), vec![(1, 1)]);
    let mut subscription = setup.distinct.subscribe().unwrap();
    child.kill();
    // The loss is noticed when the connection breaks; until then calls may still succeed.
    let deadline = Instant::now() + Duration::from_secs(30);
    let error = loop {
        let attempt =
            setup.engine.commit(|tx| tx.insert(&setup.orders, (2, 2))).and_then(|t| setup.distinct.at(t));
        match attempt {
            Err(error) => break error,
            Ok(_) => assert!(Instant::now() < deadline, "the lost process was never noticed"),
        }
        std::thread::yield_now();
    };
    assert!(matches!(error, Error::PeerLost { .. }), "{error:?}");
    assert!(matches!(setup.engine.latest(), Err(Error::PeerLost { .. })));
    let ended = loop {
        match subscription.next_timeout(Duration::from_secs(30)) {
            Ok(Some(_)) => continue,
            other => break other,
        }
    };
    assert!(matches!(ended, Err(Error::PeerLost { .. })), "{ended:?}");
    setup.engine.shutdown();
}

#[test]
fn a_stopped_process_is_lost_after_the_peer_timeout() {
    // A process stopped with SIGSTOP keeps its connections open, as one behind a network
    // partition does: nothing breaks, only its silence tells.
    let timeout = Duration::from_secs(2);
    let (config, mut child) = cluster("same");
    let cluster = config.cluster().unwrap().clone().with_peer_timeout(timeout);
    let setup = Setup::with_config(config.with_cluster(cluster));
    let t = setup.engine.commit(|tx| tx.insert(&setup.orders, (1, 1))).unwrap();
    assert_eq!(setup.distinct.at(t).unwrap(), vec![(1, 1)]);
    child.signal("STOP");
    let stopped = Instant::now();
    // The read waits on process 1's workers, which no longer answer, until the loss ends it.
    let attempt =
        setup.engine.commit(|tx| tx.insert(&setup.orders, (2, 2))).and_then(|t| setup.distinct.at(t));
    let waited = stopped.elapsed();
    match attempt {
        Err(Error::PeerLost { reason }) => assert!(reason.contains("process 1 "), "{reason}"),
        other => panic!("expected PeerLost naming process 1, got {other:?}"),
    }
    // Not a speed check (the machine may be loaded): the loss is found, and not long after the
    // timeout. It cannot be found before process 1 was silent for most of the timeout.
    assert!(waited >= timeout / 2, "lost after {waited:?}, before process 1 was silent long enough");
    assert!(waited < 10 * timeout, "lost only after {waited:?}");
    assert!(matches!(setup.engine.latest(), Err(Error::PeerLost { .. })));
    child.signal("CONT");
    child.kill();
    setup.engine.shutdown();
}

#[test]
fn a_stopped_process_0_is_lost_to_the_others() {
    // Here this test is process 1 and the child process 0: process 0's heartbeats stop, and
    // `serve` ends with the loss.
    let timeout = Duration::from_secs(2);
    let addresses = free_addresses(2);
    let mut leader = spawn(0, &addresses, "lead");
    let cluster =
        Cluster::new(1, addresses).with_connect_timeout(Duration::from_secs(20)).with_peer_timeout(timeout);
    let setup = Setup::with_config(Config::default().with_workers(WORKERS).with_cluster(cluster));
    assert!(leader.has_written_within(LEADING, Duration::from_secs(60)), "process 0 never registered");
    leader.signal("STOP");
    let stopped = Instant::now();
    let served = setup.engine.serve();
    let waited = stopped.elapsed();
    match served {
        Err(Error::PeerLost { reason }) => assert!(reason.contains("process 0 "), "{reason}"),
        other => panic!("expected PeerLost naming process 0, got {other:?}"),
    }
    assert!(waited >= timeout / 2, "lost after {waited:?}, before process 0 was silent long enough");
    assert!(waited < 10 * timeout, "lost only after {waited:?}");
    leader.signal("CONT");
    leader.kill();
}

#[test]
fn an_idle_cluster_is_not_lost() {
    // Nothing but heartbeats crosses for three peer timeouts: the cluster must still be whole.
    // (The sleep is the point of the test, not a stand-in for waiting on an event.)
    let timeout = Duration::from_secs(1);
    let (config, mut child) = cluster("same");
    let cluster = config.cluster().unwrap().clone().with_peer_timeout(timeout);
    let setup = Setup::with_config(config.with_cluster(cluster));
    let t = setup.engine.commit(|tx| tx.insert(&setup.orders, (1, 1))).unwrap();
    assert_eq!(setup.distinct.at(t).unwrap(), vec![(1, 1)]);
    std::thread::sleep(3 * timeout);
    let t = setup.engine.commit(|tx| tx.insert(&setup.orders, (2, 2))).unwrap();
    assert_eq!(setup.distinct.at(t).unwrap(), vec![(1, 1), (2, 1)]);
    setup.engine.shutdown();
    assert!(child.ends_cleanly(), "process 1 must end cleanly on shutdown");
}

#[test]
fn an_unreachable_process_is_a_typed_error() {
    let addresses = free_addresses(2);
    let cluster = Cluster::new(0, addresses.clone()).with_connect_timeout(Duration::from_millis(300));
    let started = Instant::now();
    match Engine::start(Config::default().with_cluster(cluster)) {
        Err(Error::PeerUnreachable { address, waited }) => {
            assert_eq!(address, addresses[1]);
            assert!(waited >= Duration::from_millis(300));
        }
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[test]
fn processes_with_other_settings_are_refused() {
    let (config, mut child) = cluster("other-workers");
    assert!(matches!(Engine::start(config), Err(Error::ClusterMismatch { process: 1, .. })));
    assert!(child.ends_cleanly());
}

#[test]
fn processes_with_other_tables_are_refused() {
    let (config, mut child) = cluster("other-type");
    let engine = Engine::start(config).unwrap();
    let error = engine.table::<(u8, u8)>("orders").unwrap_err();
    // Process 1 stops as soon as it sees the mismatch. Usually process 0 gets its report first;
    // on a loaded machine the closed connection can win, and timely's network layer then
    // drops what was still queued (ARCHITECTURE.md, "A cluster of processes"). Either way the
    // engine stops with a typed error, and process 1's own `serve` returns `ClusterMismatch`
    // (asserted there; its exit status is checked below). Once the report is read, it is the
    // engine's error from then on, even if the closed connection was noticed first.
    match &error {
        Error::ClusterMismatch { process: 1, .. } => {
            assert!(matches!(engine.latest(), Err(Error::ClusterMismatch { process: 1, .. })));
        }
        Error::PeerLost { .. } => {
            let later = engine.latest();
            assert!(
                matches!(later, Err(Error::PeerLost { .. } | Error::ClusterMismatch { .. })),
                "{later:?}"
            );
        }
        other => panic!("expected ClusterMismatch from process 1, got {other:?}"),
    }
    engine.shutdown();
    assert!(child.ends_cleanly());
}

/// `n` random transactions from `seed` (the same on every call, unlike quickcheck's `Gen`).
fn seeded_txns(mut seed: u64, n: usize) -> Vec<Txn> {
    use common::Op;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    (0..n)
        .map(|_| {
            let ops = (0..1 + next() % 6)
                .map(|_| {
                    let (key, value) = ((next() % 6) as u8, (next() % 4) as u8);
                    match next() % 10 {
                        0..=2 => Op::Insert(key, value),
                        3..=4 => Op::Delete(next() as usize),
                        5..=6 => Op::Upsert(key, value),
                        7 => Op::DeleteKey(key),
                        8 => Op::Watch(key),
                        _ => Op::Unwatch(next() as usize),
                    }
                })
                .collect();
            let gap = (next() % 3 == 0).then(|| 1 + (next() % 5) as u8);
            Txn { ops, gap }
        })
        .collect()
}

/// The time each of `txns` commits at, committed in order from an empty engine.
fn commit_times(txns: &[Txn]) -> Vec<Time> {
    let mut last = 0;
    txns.iter()
        .map(|txn| {
            last += txn.gap.map_or(1, u64::from);
            last
        })
        .collect()
}

/// How many of `txns` an engine whose latest commit is `latest` holds, and the model of its
/// tables after them.
fn replayed(txns: &[Txn], latest: Time) -> (usize, Inputs) {
    let done = commit_times(txns).iter().take_while(|t| **t <= latest).count();
    let mut model = Inputs::default();
    for txn in &txns[..done] {
        for op in &txn.ops {
            model.apply(op);
        }
    }
    (done, model)
}

/// The `durable` mode: process 0 with storage goes on with the seeded transactions from what
/// its storage holds, reporting `committed <index> <time>` after each and `acknowledged
/// <upper>` for each batch its named consumer of `join` acknowledged, until it is killed.
fn durable_process_0(config: Config) {
    let dir = std::env::var(DIR).unwrap();
    let seed: u64 = std::env::var(SEED).unwrap().parse().unwrap();
    let setup = Setup::with_config(config.with_storage(dir).with_retention(Retention::All));
    let txns = seeded_txns(seed, DURABLE_TXNS);
    let (done, mut model) = replayed(&txns, setup.engine.latest().unwrap());
    let mut consumer = setup.join.consumer("audit").unwrap();
    let mut last = setup.engine.latest().unwrap();
    for (index, txn) in txns.iter().enumerate().skip(done) {
        last = setup.commit(txn, &mut model, last);
        println!("committed {index} {last}");
        while let Some(batch) = consumer.try_next().unwrap() {
            consumer.acknowledge(batch.upper).unwrap();
            println!("acknowledged {}", batch.upper);
        }
    }
    loop {
        std::thread::park();
    }
}

/// The largest of the numbers that end the lines of `output` holding `marker`.
fn largest_after(output: &str, marker: &str) -> Option<u64> {
    output
        .lines()
        .filter_map(|line| line.rsplit_once(marker))
        .filter_map(|(_, rest)| rest.split_whitespace().last()?.parse().ok())
        .max()
}

#[test]
fn a_cluster_with_storage_answers_as_before_after_both_processes_are_killed() {
    let dir = tempfile::tempdir().unwrap();
    let seed = 0x5DEE_CE66_D1CE_4E5Bu64;
    let txns = seeded_txns(seed, DURABLE_TXNS);
    let times = commit_times(&txns);
    let (mut committed, mut acknowledged) = (0, 0);
    let mut pause = seed;
    // Two runs of both processes, each killed (SIGKILL) while process 0 commits.
    for run in 0..2 {
        let addresses = free_addresses(2);
        let env = [(DIR, dir.path().display().to_string()), (SEED, seed.to_string())];
        let mut leader = spawn_with(0, &addresses, "durable", &env);
        let mut follower = spawn(1, &addresses, "same");
        assert!(
            leader.has_written_within("committed ", Duration::from_secs(60)),
            "run {run}: nothing committed"
        );
        pause = pause.rotate_left(17) ^ 0x9E37_79B9;
        std::thread::sleep(Duration::from_millis(50 + pause % 300));
        leader.kill();
        follower.kill();
        let output = leader.written();
        // `committed <index> <time>`: the largest time.
        committed = largest_after(&output, "committed ").unwrap_or(committed);
        acknowledged = largest_after(&output, "acknowledged ").unwrap_or(acknowledged);
    }
    // Both restarted: this process is process 0 again, on the directory.
    let addresses = free_addresses(2);
    let mut follower = spawn(1, &addresses, "same");
    let cluster = Cluster::new(0, addresses)
        .with_connect_timeout(Duration::from_secs(20))
        .with_peer_timeout(Duration::from_secs(20));
    let config = Config::default().with_workers(WORKERS).with_cluster(cluster).with_storage(dir.path());
    let clustered = Setup::with_config(config.with_retention(Retention::All));
    let recovered = clustered.engine.latest().unwrap();
    assert!(recovered >= committed, "committed {committed}, recovered {recovered}");
    let (done, mut model_c) = replayed(&txns, recovered);
    assert_eq!(times[done - 1], recovered, "the recovered time is a commit's");
    let single = Setup::new(WORKERS, Retention::All);
    let (mut model_s, mut last_s) = (Inputs::default(), 0);
    for txn in &txns[..done] {
        last_s = single.commit(txn, &mut model_s, last_s);
    }
    // Every retained time answers as one process's engine does.
    for &t in times[..done].iter().step_by(1 + done / 40) {
        assert_eq!(clustered.join.at(t).unwrap(), single.join.at(t).unwrap(), "join at {t}");
        assert_eq!(clustered.aggregate.at(t).unwrap(), single.aggregate.at(t).unwrap(), "aggregate at {t}");
        assert_eq!(clustered.distinct.at(t).unwrap(), single.distinct.at(t).unwrap(), "distinct at {t}");
        assert_eq!(clustered.watched.at(t).unwrap(), single.watched.at(t).unwrap(), "watched at {t}");
        assert_eq!(clustered.orders.at(t).unwrap(), single.orders.at(t).unwrap(), "orders at {t}");
        assert_eq!(clustered.prices.at(t).unwrap(), single.prices.at(t).unwrap(), "prices at {t}");
    }
    assert_eq!(clustered.join.at(recovered).unwrap(), common::joined(&model_c));
    // The named consumer resumes right after what it acknowledged: the view there plus what it
    // receives is the view at the recovered time.
    let mut consumer = clustered.join.consumer("audit").unwrap();
    let resumed_at = consumer.acknowledged().expect("it acknowledged before the kills");
    assert!(resumed_at >= acknowledged, "acknowledged {acknowledged}, stored {resumed_at}");
    let mut sum: Vec<((u8, u8, u8), Diff)> = single.join.at(resumed_at - 1).unwrap();
    while consumer.delivered() <= recovered {
        let batch = consumer.next_timeout(Duration::from_secs(20)).unwrap().unwrap();
        sum.extend(batch.updates.into_iter().map(|(row, _, diff)| (row, diff)));
    }
    assert_eq!(consolidate(sum), single.join.at(recovered).unwrap(), "resumed from {resumed_at}");
    // And it takes new commits.
    let mut last_c = recovered;
    for txn in &txns[done..done + 10] {
        last_c = clustered.commit(txn, &mut model_c, last_c);
        last_s = single.commit(txn, &mut model_s, last_s);
        assert_eq!(clustered.watched.at(last_c).unwrap(), single.watched.at(last_s).unwrap());
    }
    drop(consumer);
    clustered.engine.shutdown();
    assert!(follower.ends_cleanly());
}

/// The name the test harness knows `test`, a test of this file, by (see `common_kill`).
fn test_name(test: &str) -> String {
    common_kill::test_name(module_path!(), test)
}
