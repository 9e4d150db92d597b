//! The engine's lifecycle: start, handles across threads, idle, shutdown and drop.

use std::time::{Duration, Instant};

use ivm::{Config, Engine, Error};

use crate::common_kill;
use common_kill::test_name;

fn assert_send_sync_clone<T: Send + Sync + Clone>() {}

#[test]
fn handles_are_send_sync_clone() {
    assert_send_sync_clone::<Engine>();
    assert_send_sync_clone::<ivm::Table<u64>>();
    assert_send_sync_clone::<ivm::KeyedTable<u64, String>>();
    assert_send_sync_clone::<ivm::View<u64>>();
    assert_send_sync_clone::<ivm::KeyedView<u64, u64>>();
}

#[test]
fn starts_with_the_configured_workers() {
    for workers in [1, 2, 4] {
        let engine = Engine::start(Config::default().with_workers(workers)).unwrap();
        assert_eq!(engine.workers(), workers);
        assert_eq!(engine.latest().unwrap(), 0);
    }
}

#[test]
fn invalid_config_is_a_typed_error() {
    let error = Engine::start(Config::default().with_workers(0)).unwrap_err();
    assert!(matches!(error, Error::InvalidConfig(_)), "{error}");
}

#[test]
fn storage_is_refused_only_on_processes_other_than_0() {
    let dir = tempfile::tempdir().unwrap();
    // Addresses no one can listen on: a cluster of one process opens no socket at all.
    let addresses = |n: usize| (0..n).map(|i| format!("nowhere.invalid:{}", 1 + i)).collect::<Vec<_>>();
    let clustered =
        |n| Config::default().with_storage(dir.path()).with_cluster(ivm::Cluster::new(0, addresses(n)));
    let follower =
        Config::default().with_storage(dir.path()).with_cluster(ivm::Cluster::new(1, addresses(2)));
    let error = Engine::start(follower).unwrap_err();
    assert!(matches!(&error, Error::InvalidConfig(reason) if reason.contains("only process 0")), "{error}");
    // Process 0 of two may have storage: it goes on to connect (and fails to, here).
    assert!(!matches!(Engine::start(clustered(2)), Err(Error::InvalidConfig(_)) | Ok(_)));
    // A cluster of one process is a single engine: its storage works.
    let engine = Engine::start(clustered(1)).unwrap();
    let table = engine.table::<u8>("t").unwrap();
    let t = engine.commit(|tx| tx.insert(&table, 7)).unwrap();
    drop((table, engine));
    let engine = Engine::start(Config::default().with_storage(dir.path())).unwrap();
    assert_eq!(engine.table::<u8>("t").unwrap().at(t).unwrap(), vec![(7, 1)]);
}

#[test]
fn every_call_after_shutdown_is_a_typed_error() {
    let engine = Engine::start(Config::default().with_workers(2)).unwrap();
    let table = engine.table::<u32>("t").unwrap();
    let view = engine
        .view("v", {
            let table = table.clone();
            move |v| v.table(&table)
        })
        .unwrap();
    let t = engine.commit(|tx| tx.insert(&table, 1)).unwrap();
    engine.shutdown();
    engine.shutdown(); // idempotent

    assert_eq!(engine.commit(|tx| tx.insert(&table, 2)), Err(Error::Shutdown));
    assert_eq!(engine.commit_at(100, |_| {}).unwrap_err(), Error::Shutdown);
    assert_eq!(view.at(t), Err(Error::Shutdown));
    assert_eq!(table.at(t), Err(Error::Shutdown));
    assert_eq!(engine.table::<u32>("t2").unwrap_err(), Error::Shutdown);
    assert_eq!(engine.view("v2", move |v| v.table(&table)).unwrap_err(), Error::Shutdown);
    assert_eq!(engine.latest(), Err(Error::Shutdown));
    assert_eq!(view.stats(), Err(Error::Shutdown));
}

#[test]
fn shutdown_answers_reads_that_are_waiting() {
    let engine = Engine::start(Config::default().with_workers(2)).unwrap();
    let table = engine.table::<u32>("t").unwrap();
    let view = engine.view("v", move |v| v.table(&table)).unwrap();
    // Time 50 is never committed, so these reads wait until the shutdown answers them.
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let view = view.clone();
            std::thread::spawn(move || view.at(50))
        })
        .collect();
    // Let the readers reach the workers; the assertion below does not depend on it.
    std::thread::sleep(Duration::from_millis(50));
    engine.shutdown();
    for reader in readers {
        assert_eq!(reader.join().unwrap(), Err(Error::Shutdown));
    }
}

#[test]
fn dropping_the_last_engine_handle_stops_the_workers() {
    let started = Instant::now();
    let view = {
        let engine = Engine::start(Config::default().with_workers(4)).unwrap();
        let table = engine.table::<u32>("t").unwrap();
        engine.commit(|tx| tx.insert(&table, 7)).unwrap();
        engine.view("v", move |v| v.table(&table)).unwrap()
        // `engine` is dropped here: the workers stop and are joined.
    };
    assert_eq!(view.at(1), Err(Error::Shutdown));
    assert!(started.elapsed() < Duration::from_secs(30), "drop must not hang");
}

#[test]
fn clones_keep_the_engine_running() {
    let engine = Engine::start(Config::default()).unwrap();
    let other = engine.clone();
    let table = engine.table::<u32>("t").unwrap();
    drop(engine);
    let t = other.commit(|tx| tx.insert(&table, 3)).unwrap();
    assert_eq!(table.at(t).unwrap(), vec![(3, 1)]);
}

#[test]
fn reads_with_a_timeout_expire_with_a_typed_error() {
    let engine = Engine::start(Config::default().with_workers(2)).unwrap();
    let table = engine.table::<u32>("t").unwrap();
    let view = engine
        .view("v", {
            let table = table.clone();
            move |v| v.table(&table)
        })
        .unwrap();
    let keyed = engine
        .keyed_view("k", {
            let table = table.clone();
            move |v| v.table(&table).map(|x| (x % 2, x))
        })
        .unwrap();
    let error = keyed.at_timeout(1_000, Duration::from_millis(20)).unwrap_err();
    assert!(matches!(&error, Error::Timeout { name, requested: 1_000, .. } if name == "k"), "{error}");
    let error = view.at_timeout(1_000, Duration::from_millis(20)).unwrap_err();
    match error {
        Error::Timeout { name, requested, waited } => {
            assert_eq!((name.as_str(), requested), ("v", 1_000));
            assert!(waited >= Duration::from_millis(20));
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    // The engine keeps working after a cancelled read.
    let t = engine.commit(|tx| tx.insert_all(&table, [4, 5])).unwrap();
    assert_eq!(view.at_timeout(t, Duration::from_secs(30)).unwrap(), vec![(4, 1), (5, 1)]);
    assert_eq!(keyed.at_timeout(t, Duration::from_secs(30)).unwrap(), vec![((0, 4), 1), ((1, 5), 1)]);
    assert_eq!(table.at_timeout(t, Duration::from_secs(30)).unwrap(), vec![(4, 1), (5, 1)]);
    let error = table.at_timeout(1_000, Duration::from_millis(20)).unwrap_err();
    assert!(matches!(&error, Error::Timeout { name, requested: 1_000, .. } if name == "t"), "{error}");
}

/// Total CPU time (user + system) of this process, from /proc.
#[cfg(target_os = "linux")]
fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap().split_whitespace().collect();
    // Fields after the command: state is index 0, utime 11, stime 12 (in clock ticks).
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

/// Measures an idle engine's CPU in a process of its own: this binary runs other tests beside
/// this one, whose CPU the process's counters would include.
#[cfg(target_os = "linux")]
#[test]
fn an_idle_engine_uses_no_cpu() {
    let child = test_name(module_path!(), "idle_engine_child");
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([child.as_str(), "--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .env(IDLE_CHILD, "1")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{child}: {said}{}", String::from_utf8_lossy(&output.stderr));
    // The harness says how many tests it ran: a misspelt name would run none and succeed.
    assert!(said.contains("1 passed"), "{child} did not run: {said}");
}

/// The environment variable that tells [`idle_engine_child`] it runs on its own.
const IDLE_CHILD: &str = "IVM_IDLE_ENGINE_CHILD";

#[cfg(target_os = "linux")]
#[test]
#[ignore = "run by an_idle_engine_uses_no_cpu, in a process of its own"]
fn idle_engine_child() {
    assert!(std::env::var_os(IDLE_CHILD).is_some(), "run by an_idle_engine_uses_no_cpu");
    let engine = Engine::start(Config::default().with_workers(4)).unwrap();
    let table = engine.table::<u64>("t").unwrap();
    let view = engine.view("v", move |v| v.table(&table).map(|x| x % 10).count()).unwrap();
    let t = engine.commit(|_| {}).unwrap();
    view.at(t).unwrap();
    let before = process_cpu();
    std::thread::sleep(Duration::from_millis(500));
    let used = process_cpu() - before;
    // Four spinning workers would burn ~2 s of CPU here (the machine has 2 cores: ~1 s).
    assert!(used < Duration::from_millis(150), "idle engine used {used:?} of CPU in 500 ms");
}

#[test]
fn an_engine_outside_a_cluster_is_process_0_and_the_leader() {
    let engine = Engine::start(Config::default().with_workers(3)).unwrap();
    assert_eq!((engine.process(), engine.is_leader()), (0, true));
    assert_eq!((engine.workers(), engine.cluster_workers()), (3, 3));
    // `serve` is for the other processes of a cluster.
    assert!(matches!(engine.serve(), Err(Error::InvalidConfig(_))));
    let table = engine.table::<u8>("t").unwrap();
    assert_eq!(engine.commit(|tx| tx.insert(&table, 1)).unwrap(), 1);
}
