//! Crash test: a child process commits as fast as it can with an fsync per commit and reports
//! each acknowledged time; the test kills it with SIGKILL at random moments, reopens the
//! directory, and checks that every acknowledged transaction is there, none is partial, and the
//! views equal a naive recomputation. Then the next child continues from there.

use crate::common_kill;

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use common_kill::{run_and_kill, test_name};

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
        let child = test_name(module_path!(), "crash_child");
        let reports =
            run_and_kill(&child, DIR_VAR, dir.path(), ACKNOWLEDGED, Duration::from_millis(150), &mut seed);
        let last = reports.into_iter().max().unwrap();
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

/// The long run: `cargo test --release --test suite -- --ignored acknowledged_commits_survive_many`.
#[test]
#[ignore]
fn acknowledged_commits_survive_many_sigkills() {
    crash_cycles(500);
}
