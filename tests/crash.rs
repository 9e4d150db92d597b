//! Crash test: a child process commits as fast as it can with an fsync per commit and reports
//! each acknowledged time; the test kills it with SIGKILL at random moments, reopens the
//! directory, and checks that every acknowledged transaction is there, none is partial, and the
//! views equal a naive recomputation. Then the next child continues from there.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use ivm::{Config, Durability, Engine, KeyedTable, Table, View};

const DIR_VAR: &str = "IVM_CRASH_DIR";
/// What precedes each time the child reports as acknowledged.
const ACKNOWLEDGED: &str = "acknowledged ";

/// An engine with its tables (`pairs`, `latest`) and view (`by_residue`).
type Opened = (Engine, Table<(u64, u8)>, KeyedTable<u64, u64>, View<(u64, isize)>);

/// Transaction `t` inserts `(t, 0)` and `(t, 1)` into `pairs` and sets `latest[t % 10] = t`.
fn open(dir: &Path) -> Opened {
    let engine = Engine::start(
        Config::default().with_workers(2).with_storage(dir).with_durability(Durability::EveryCommit),
    )
    .unwrap();
    let pairs = engine.table::<(u64, u8)>("pairs").unwrap();
    let latest = engine.keyed_table::<u64, u64>("latest").unwrap();
    let by_residue = engine
        .view("by_residue", {
            let pairs = pairs.clone();
            move |v| v.table(&pairs).map(|(t, _)| t % 3).count()
        })
        .unwrap();
    (engine, pairs, latest, by_residue)
}

/// The child: commits until killed, printing `acknowledged <t>` for each acknowledged time (on
/// lines the test harness shares with its own output, hence the marker).
#[test]
#[ignore = "run by the crash tests as a child process"]
fn crash_child() {
    let Ok(dir) = std::env::var(DIR_VAR) else { return };
    let (engine, pairs, latest, _) = open(Path::new(&dir));
    let mut out = std::io::stdout().lock();
    loop {
        let t = engine.latest().unwrap() + 1;
        let acknowledged = engine
            .commit(|tx| {
                tx.insert(&pairs, (t, 0));
                tx.insert(&pairs, (t, 1));
                tx.upsert(&latest, t % 10, t);
            })
            .unwrap();
        assert_eq!(acknowledged, t);
        writeln!(out, "{ACKNOWLEDGED}{t}").unwrap();
        out.flush().unwrap();
    }
}

/// Runs `cycles` kill/reopen cycles.
fn crash_cycles(cycles: u64) {
    let dir = tempfile::tempdir().unwrap();
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut acknowledged = 0;
    for cycle in 0..cycles {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                test_name("crash_child").as_str(),
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(DIR_VAR, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // The harness's own lines ("running 1 test", "test crash_child ... ") come first and
        // share a line with the first report; the last line may be cut by the kill.
        let stdout = child.stdout.take().unwrap();
        let (reports, reported) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(t) = line.rsplit_once(ACKNOWLEDGED).and_then(|(_, t)| t.parse::<u64>().ok()) {
                    let _ = reports.send(t);
                }
            }
        });
        // Killed at a random moment after its first acknowledged commit, so that every cycle
        // checks some acknowledgement however slowly the child starts.
        let first = reported.recv_timeout(Duration::from_secs(120));
        if first.is_err() {
            let _ = child.kill();
        }
        assert!(first.is_ok(), "cycle {cycle}: the child acknowledged no commit within 120 s");
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_millis(seed % 150));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        reader.join().unwrap();
        let last = first.into_iter().chain(reported.try_iter()).max().unwrap();
        assert!(
            last > acknowledged,
            "cycle {cycle}: the child acknowledged {last}, which was recovered before"
        );
        acknowledged = last;

        let (engine, pairs, latest, by_residue) = open(dir.path());
        let recovered = engine.latest().unwrap();
        assert!(
            recovered >= acknowledged,
            "cycle {cycle}: acknowledged {acknowledged}, recovered {recovered}"
        );
        let expected_pairs: Vec<_> = (1..=recovered).flat_map(|t| [((t, 0u8), 1), ((t, 1u8), 1)]).collect();
        assert_eq!(pairs.at(recovered).unwrap(), expected_pairs, "cycle {cycle}: a transaction is partial");
        let expected_latest: Vec<_> =
            (0..10u64).filter_map(|k| (1..=recovered).rev().find(|t| t % 10 == k).map(|t| (k, t))).collect();
        assert_eq!(latest.at(recovered).unwrap(), expected_latest, "cycle {cycle}");
        let expected_view: Vec<_> = (0..3u64)
            .map(|r| ((r, 2 * (1..=recovered).filter(|t| t % 3 == r).count() as isize), 1))
            .filter(|((_, n), _)| *n > 0)
            .collect();
        assert_eq!(by_residue.at(recovered).unwrap(), expected_view, "cycle {cycle}");
        acknowledged = recovered;
    }
}

#[test]
fn acknowledged_commits_survive_sigkill() {
    crash_cycles(20);
}

/// The long run: `cargo test --release --test crash -- --ignored acknowledged_commits_survive_many`.
#[test]
#[ignore]
fn acknowledged_commits_survive_many_sigkills() {
    crash_cycles(500);
}

/// The name the test harness knows `test`, a test of this file, by: this file is a test binary
/// of its own, and also a module of `tests/suite.rs`, whose tests are named by their module.
fn test_name(test: &str) -> String {
    match module_path!().split_once("::") {
        Some((_, module)) => format!("{module}::{test}"),
        None => test.to_string(),
    }
}
