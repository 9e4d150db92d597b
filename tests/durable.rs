//! Durability: restart answers exactly as before, damage is detected, nothing is lost.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ivm::{Batch, Config, Durability, Engine, Error, Retention, SubscribeOptions, Table, Time, View};

fn config(dir: &Path) -> Config {
    Config::default().with_workers(2).with_storage(dir).with_durability(Durability::Buffered)
}

/// An engine with its tables and view.
type Opened = (Engine, Table<(u32, String)>, ivm::KeyedTable<u32, i64>, View<(u32, isize)>);

/// Registers the tables and views the tests use, in the same order every time.
fn open(config: Config) -> ivm::Result<Opened> {
    let engine = Engine::start(config)?;
    let events = engine.table::<(u32, String)>("events")?;
    let balances = engine.keyed_table::<u32, i64>("balances")?;
    let per_user = engine.view("per_user", {
        let (events, balances) = (events.clone(), balances.clone());
        move |v| {
            let counts = v.table(&events).map(|(user, _)| user).count();
            let positive = v.keyed_table(&balances).filter(|(_, b)| *b > 0).map(|(user, _)| user);
            counts.semijoin(positive)
        }
    })?;
    Ok((engine, events, balances, per_user))
}

fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap()))
        .collect()
}

#[test]
fn a_restart_answers_every_retained_time_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, events, balances, per_user) = open(config(dir.path())).unwrap();
    let mut times = vec![];
    for i in 0..30u32 {
        times.push(
            engine
                .commit(|tx| {
                    tx.insert(&events, (i % 5, format!("e{i}")));
                    tx.upsert(&balances, i % 7, i64::from(i % 3) - 1);
                    if i % 4 == 0 {
                        tx.delete(&events, (i % 5, format!("e{}", i.saturating_sub(4))));
                    }
                })
                .unwrap(),
        );
    }
    let before: Vec<_> = times.iter().map(|t| per_user.at(*t).unwrap()).collect();
    let tables_before: Vec<_> =
        times.iter().map(|t| (events.at(*t).unwrap(), balances.at(*t).unwrap())).collect();
    drop((engine, events, balances, per_user));

    let (engine, events, balances, per_user) = open(config(dir.path())).unwrap();
    assert_eq!(engine.latest().unwrap(), *times.last().unwrap(), "timestamps continue where they stopped");
    for (i, t) in times.iter().enumerate() {
        assert_eq!(per_user.at(*t).unwrap(), before[i], "view at {t}");
        assert_eq!((events.at(*t).unwrap(), balances.at(*t).unwrap()), tables_before[i], "tables at {t}");
    }
    let next = engine.commit(|tx| tx.insert(&events, (9, "new".into()))).unwrap();
    assert_eq!(next, times.last().unwrap() + 1);
}

#[test]
fn a_resumed_subscription_sees_no_gap_and_no_duplicate_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, events, balances, per_user) = open(config(dir.path())).unwrap();
    engine.commit(|tx| tx.upsert(&balances, 1, 10)).unwrap();
    let mut sub = per_user.subscribe().unwrap();
    let mut seen: Vec<Batch<(u32, isize)>> = vec![];
    for i in 0..5 {
        let t = engine.commit(|tx| tx.insert(&events, (1, format!("a{i}")))).unwrap();
        while seen.last().is_none_or(|b| b.upper <= t) {
            seen.push(sub.next_timeout(Duration::from_secs(30)).unwrap().unwrap());
        }
    }
    let stored_upper = seen.last().unwrap().upper;
    drop(sub);
    for i in 0..3 {
        engine.commit(|tx| tx.insert(&events, (1, format!("b{i}")))).unwrap();
    }
    let last = engine.latest().unwrap();
    drop((engine, events, balances, per_user));

    let (_engine, _events, _balances, per_user) = open(config(dir.path())).unwrap();
    let mut resumed =
        per_user.subscribe_with(SubscribeOptions::default().as_of(stored_upper - 1).snapshot(false)).unwrap();
    while seen.last().unwrap().upper <= last {
        let batch = resumed.next_timeout(Duration::from_secs(30)).unwrap().unwrap();
        assert_eq!(batch.lower, seen.last().unwrap().upper, "no gap, no overlap");
        seen.push(batch);
    }
    let mut total = BTreeMap::new();
    for (row, _, diff) in seen.iter().flat_map(|b| &b.updates) {
        *total.entry(*row).or_insert(0) += diff;
    }
    total.retain(|_, d| *d != 0);
    assert_eq!(total.into_iter().collect::<Vec<_>>(), per_user.at(last).unwrap());
}

#[test]
fn reopening_a_table_with_another_row_type_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    {
        let engine = Engine::start(config(dir.path())).unwrap();
        let t = engine.table::<u32>("t").unwrap();
        engine.commit(|tx| tx.insert(&t, 1)).unwrap();
    }
    let before = snapshot(dir.path());
    let engine = Engine::start(config(dir.path())).unwrap();
    let error = engine.table::<String>("t").unwrap_err();
    // The stored type's shape is read back from the manifest.
    let expected = Error::TypeMismatch {
        name: "t".into(),
        expected: "shape u32",
        found: Box::leak(format!("{} (shape str)", std::any::type_name::<String>()).into_boxed_str()),
    };
    assert_eq!(error, expected);
    let error = engine.keyed_table::<u32, u32>("t").unwrap_err();
    assert!(matches!(error, Error::KindMismatch { .. }), "{error}");
    drop(engine);
    let after = snapshot(dir.path());
    // Only new, empty log segments may appear; nothing written before changes.
    for (name, bytes) in &before {
        assert_eq!(after.get(name), Some(bytes), "{name} changed");
    }
    let engine = Engine::start(config(dir.path())).unwrap();
    let t = engine.table::<u32>("t").unwrap();
    assert_eq!(t.at(1).unwrap(), vec![(1, 1)]);
}

/// A `u64` that refuses odd values while decoding: it has `u64`'s shape, so a table of `u64`
/// reopens as it and its stored odd rows fail to decode.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "u64", into = "u64")]
struct Even(u64);

impl TryFrom<u64> for Even {
    type Error = String;
    fn try_from(value: u64) -> Result<Even, String> {
        if value.is_multiple_of(2) { Ok(Even(value)) } else { Err(format!("{value} is odd")) }
    }
}

impl From<Even> for u64 {
    fn from(even: Even) -> u64 {
        even.0
    }
}

#[test]
fn stored_rows_that_do_not_decode_fail_every_registration_and_lose_nothing() {
    // Regression: the first registration took the recovered rows out of the store and failed,
    // and the next one found the table empty (its rows were lost at the next checkpoint).
    // A bag table's history is replayed in batches after the table is built on the workers;
    // one that fails part way is dropped again. Many commits make several batches.
    let dir = tempfile::tempdir().unwrap();
    let (bag_rows, keyed_rows) = {
        let engine = Engine::start(config(dir.path()).with_checkpoint_every(u64::MAX)).unwrap();
        let bag = engine.table::<u64>("bag").unwrap();
        let keyed = engine.keyed_table::<u64, u64>("keyed").unwrap();
        for commit in 0..40u64 {
            engine
                .commit(|tx| {
                    for i in 0..20_000 {
                        // Odd rows only in the last commits: the first batches decode.
                        let row = if commit >= 38 { 2 * i + 1 } else { 2 * i };
                        tx.insert(&bag, row);
                    }
                    tx.upsert(&keyed, commit, if commit == 39 { 1 } else { 2 });
                })
                .unwrap();
        }
        let latest = engine.latest().unwrap();
        let bag_rows: Vec<(u64, isize)> = bag.at(latest).unwrap();
        (bag_rows, keyed.at(latest).unwrap())
    };
    let engine = Engine::start(config(dir.path())).unwrap();
    for _ in 0..2 {
        let error = engine.table::<Even>("bag").unwrap_err();
        assert!(
            matches!(&error, Error::Corrupted { reason, .. } if reason.contains("do not decode as")),
            "{error}"
        );
        let error = engine.keyed_table::<u64, Even>("keyed").unwrap_err();
        assert!(
            matches!(&error, Error::Corrupted { reason, .. } if reason.contains("do not decode as")),
            "{error}"
        );
    }
    // Nothing is lost, and the right types still read every row.
    let latest = engine.latest().unwrap();
    assert_eq!(engine.table::<u64>("bag").unwrap().at(latest).unwrap(), bag_rows);
    assert_eq!(engine.keyed_table::<u64, u64>("keyed").unwrap().at(latest).unwrap(), keyed_rows);
}

#[test]
fn reopening_a_bag_table_as_keyed_says_the_kind_differs() {
    // Regression: this said `TypeMismatch { expected: "(u8, u16)", found: "(u8, u16)" }`.
    let dir = tempfile::tempdir().unwrap();
    {
        let engine = Engine::start(config(dir.path())).unwrap();
        let t = engine.table::<(u8, u16)>("t").unwrap();
        engine.commit(|tx| tx.insert(&t, (1, 2))).unwrap();
    }
    let before = snapshot(dir.path());
    let engine = Engine::start(config(dir.path())).unwrap();
    let error = engine.keyed_table::<u8, u16>("t").unwrap_err();
    assert_eq!(error, Error::KindMismatch { name: "t".into(), existing: "table", requested: "keyed table" });
    let t = engine.table::<(u8, u16)>("t").unwrap();
    assert_eq!(t.at(engine.latest().unwrap()).unwrap(), vec![((1, 2), 1)]);
    drop(engine);
    let after = snapshot(dir.path());
    for (name, bytes) in &before {
        assert_eq!(after.get(name), Some(bytes), "{name} changed");
    }
}

#[test]
fn an_incompatible_format_version_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    drop(Engine::start(config(dir.path())).unwrap());
    let manifest = dir.path().join("MANIFEST");
    let mut bytes = std::fs::read(&manifest).unwrap();
    bytes[8] = 99; // the format version
    std::fs::write(&manifest, &bytes).unwrap();
    let before = snapshot(dir.path());
    let error = Engine::start(config(dir.path())).unwrap_err();
    assert!(matches!(error, Error::IncompatibleFormat { found: 99, supported: FORMAT, .. }), "{error}");
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn checkpoints_replace_old_log_segments_and_restarts_still_answer_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let config = || config(dir.path()).with_retention(Retention::LastCommits(5));
    let (engine, events, balances, per_user) = open(config()).unwrap();
    let mut answers = BTreeMap::new();
    for i in 0..40u32 {
        let t = engine
            .commit(|tx| {
                tx.insert(&events, (i % 3, format!("e{i}")));
                tx.upsert(&balances, i % 3, i64::from(i));
            })
            .unwrap();
        if i % 10 == 9 {
            let checkpointed = engine.checkpoint().unwrap();
            assert_eq!(checkpointed, Some(engine.since().unwrap()));
        }
        answers.insert(t, ());
    }
    let since = engine.since().unwrap();
    let latest = engine.latest().unwrap();
    let expected: Vec<_> = (since..=latest).map(|t| per_user.at(t).unwrap()).collect();
    drop((engine, events, balances, per_user));
    let segments = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with("wal-"))
        .count();
    assert!(segments <= 3, "{segments} log segments left after checkpoints");

    let (engine, _events, _balances, per_user) = open(config()).unwrap();
    assert_eq!(engine.since().unwrap(), since);
    let got: Vec<_> = (since..=latest).map(|t| per_user.at(t).unwrap()).collect();
    assert_eq!(got, expected);
}

/// A checkpoint holds a table's rows sorted, so a restart arranges them as runs of whole chunks
/// (`shard/sorted_runs.rs`): with many chunks' worth of rows, repeated rows and rows deleted
/// before the checkpoint, the restored table, a view over it and the changes after the restart
/// must be exactly what a from-scratch count says, on 1 and 2 workers.
#[test]
fn a_table_restored_from_a_checkpoint_in_sorted_runs_holds_exactly_its_rows() {
    for workers in [1, 2] {
        let dir = tempfile::tempdir().unwrap();
        let config = || {
            Config::default()
                .with_workers(workers)
                .with_storage(dir.path())
                .with_durability(Durability::Buffered)
                .with_retention(Retention::LastCommits(1))
        };
        type Restored = (Engine, Table<(u64, u64)>, View<(u64, isize)>);
        let open = || -> Restored {
            let engine = Engine::start(config()).unwrap();
            let rows = engine.table::<(u64, u64)>("rows").unwrap();
            let per_key = engine
                .view("per_key", {
                    let rows = rows.clone();
                    move |v| v.table(&rows).map(|(key, _)| key).count()
                })
                .unwrap();
            (engine, rows, per_key)
        };
        // Rows in scrambled order, some twice, some deleted again.
        let row = |i: u64| (i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % 20_000, i % 7);
        let mut oracle: BTreeMap<(u64, u64), isize> = BTreeMap::new();
        let (engine, rows, per_key) = open();
        for round in 0..3u64 {
            engine
                .commit(|tx| {
                    for i in 0..40_000u64 {
                        let (r, diff) = if round > 0 && (i + round) % 11 == 0 {
                            (row(i), -1)
                        } else {
                            (row(i + round), 1)
                        };
                        let count = oracle.entry(r).or_default();
                        if *count + diff >= 0 {
                            tx.update(&rows, r, diff);
                            *count += diff;
                        }
                    }
                })
                .unwrap();
        }
        engine.checkpoint().unwrap().expect("since moved");
        drop((engine, rows, per_key));

        let (engine, rows, per_key) = open();
        let counts = |oracle: &BTreeMap<(u64, u64), isize>| {
            let mut counts: BTreeMap<u64, isize> = BTreeMap::new();
            for ((key, _), diff) in oracle {
                *counts.entry(*key).or_default() += diff;
            }
            counts.into_iter().filter(|(_, c)| *c != 0).map(|pair| (pair, 1)).collect::<Vec<_>>()
        };
        let held = |oracle: &BTreeMap<(u64, u64), isize>| {
            oracle.iter().filter(|(_, d)| **d != 0).map(|(r, d)| (*r, *d)).collect::<Vec<_>>()
        };
        let latest = engine.latest().unwrap();
        assert_eq!(rows.at(latest).unwrap(), held(&oracle), "{workers} workers: restored table");
        assert_eq!(per_key.at(latest).unwrap(), counts(&oracle), "{workers} workers: restored view");
        // Changes after the restart meet the restored rows in the same arrangement.
        let t = engine
            .commit(|tx| {
                for i in (0..40_000u64).step_by(3) {
                    let count = oracle.entry(row(i)).or_default();
                    if *count > 0 {
                        tx.update(&rows, row(i), -1);
                        *count -= 1;
                    }
                }
            })
            .unwrap();
        assert_eq!(rows.at(t).unwrap(), held(&oracle), "{workers} workers: after a later commit");
        assert_eq!(per_key.at(t).unwrap(), counts(&oracle), "{workers} workers: view after a later commit");
    }
}

#[test]
fn checkpoint_needs_storage() {
    let engine = Engine::start(Config::default()).unwrap();
    assert!(matches!(engine.checkpoint(), Err(Error::InvalidConfig(_))));
}

/// Commits `n` transactions to a fresh directory and returns the acknowledged times with the
/// table contents after each.
fn write_small(dir: &Path, n: u32) -> Vec<(Time, Vec<(u32, isize)>)> {
    let engine = Engine::start(config(dir)).unwrap();
    let t = engine.table::<u32>("t").unwrap();
    (0..n)
        .map(|i| {
            let time = engine.commit(|tx| tx.insert(&t, i)).unwrap();
            (time, t.at(time).unwrap())
        })
        .collect()
}

/// Reopens `dir` and returns the table's last time and contents, or the error.
fn reopen(dir: &Path) -> ivm::Result<(Time, Vec<(u32, isize)>)> {
    let engine = Engine::start(config(dir))?;
    let t = engine.table::<u32>("t")?;
    let last = engine.latest()?;
    Ok((last, t.at(last)?))
}

fn the_log(dir: &Path) -> std::path::PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("wal-"))
        .min()
        .unwrap()
}

#[test]
fn every_byte_flip_and_truncation_of_a_log_is_caught_or_a_torn_tail_cut_away() {
    let dir = tempfile::tempdir().unwrap();
    let acknowledged = write_small(dir.path(), 4);
    let log = the_log(dir.path());
    let pristine = std::fs::read(&log).unwrap();
    let work = tempfile::tempdir().unwrap();
    let restore = |bytes: &[u8]| {
        let _ = std::fs::remove_dir_all(work.path());
        std::fs::create_dir_all(work.path()).unwrap();
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), work.path().join(entry.file_name())).unwrap();
        }
        std::fs::write(work.path().join(log.file_name().unwrap()), bytes).unwrap();
    };
    let is_prefix = |(last, rows): &(Time, Vec<(u32, isize)>)| {
        *last == 0 && rows.is_empty() || acknowledged.iter().any(|(t, r)| t == last && r == rows)
    };
    for at in 0..pristine.len() {
        let mut damaged = pristine.clone();
        damaged[at] ^= 0x5A;
        restore(&damaged);
        match reopen(work.path()) {
            Err(Error::Corrupted { file, offset, .. }) => {
                assert_eq!(file.file_name(), log.file_name());
                assert!(offset as usize <= at, "flip at {at} reported at {offset}");
            }
            Err(Error::IncompatibleFormat { .. }) => assert!((8..12).contains(&at)),
            Ok(state) => panic!("flip at byte {at} went unnoticed: {state:?}"),
            Err(other) => panic!("flip at byte {at}: unexpected {other}"),
        }
    }
    for cut in 0..pristine.len() {
        restore(&pristine[..cut]);
        match reopen(work.path()) {
            Ok(state) => {
                assert!(is_prefix(&state), "cut at {cut} gave {state:?}");
                // Cutting the torn tail away keeps every whole record before it.
                assert_eq!(reopen(work.path()).unwrap(), state, "cut at {cut}, reopened twice");
            }
            Err(error) => panic!("cut at {cut}: {error}"),
        }
    }
    restore(&pristine);
    assert_eq!(reopen(work.path()).unwrap(), acknowledged.last().unwrap().clone());
}

#[test]
fn every_byte_flip_and_truncation_of_a_checkpoint_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    {
        let engine = Engine::start(config(dir.path()).with_retention(Retention::LastCommits(1))).unwrap();
        let t = engine.table::<u32>("t").unwrap();
        for i in 0..3 {
            engine.commit(|tx| tx.insert(&t, i)).unwrap();
        }
        assert!(engine.checkpoint().unwrap().is_some());
    }
    let checkpoint = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "ckpt"))
        .unwrap();
    let pristine = std::fs::read(&checkpoint).unwrap();
    for (label, bytes) in (0..pristine.len())
        .map(|at| {
            let mut damaged = pristine.clone();
            damaged[at] ^= 0x81;
            (format!("flip at {at}"), damaged)
        })
        .chain((0..pristine.len()).map(|cut| (format!("cut at {cut}"), pristine[..cut].to_vec())))
    {
        std::fs::write(&checkpoint, &bytes).unwrap();
        match reopen(dir.path()) {
            Err(Error::Corrupted { .. } | Error::IncompatibleFormat { .. }) => {}
            other => panic!("{label}: expected a corruption error, got {other:?}"),
        }
        assert!(checkpoint.exists(), "{label}: nothing is ever deleted");
    }
    std::fs::write(&checkpoint, &pristine).unwrap();
    let (_, rows) = reopen(dir.path()).unwrap();
    assert_eq!(rows, vec![(0, 1), (1, 1), (2, 1)]);
}

#[test]
fn a_missing_manifest_is_corruption_not_a_fresh_start() {
    let dir = tempfile::tempdir().unwrap();
    write_small(dir.path(), 2);
    std::fs::remove_file(dir.path().join("MANIFEST")).unwrap();
    assert!(matches!(Engine::start(config(dir.path())), Err(Error::Corrupted { .. })));
}

#[test]
fn a_missing_manifest_is_corruption_with_only_a_log_or_only_a_checkpoint() {
    for keep in ["log", "ckpt"] {
        let dir = tempfile::tempdir().unwrap();
        {
            let engine = Engine::start(config(dir.path()).with_retention(Retention::LastCommits(1))).unwrap();
            let t = engine.table::<u32>("t").unwrap();
            engine.commit(|tx| tx.insert(&t, 1)).unwrap();
            engine.checkpoint().unwrap().expect("a checkpoint");
            engine.commit(|tx| tx.insert(&t, 2)).unwrap();
        }
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            let path = entry.unwrap().path();
            let extension = path.extension().map(|e| e.to_string_lossy().into_owned());
            if path.file_name().unwrap() == "MANIFEST" || extension.is_some_and(|e| e != keep && e != "lock")
            {
                std::fs::remove_file(&path).unwrap();
            }
        }
        let error = Engine::start(config(dir.path())).unwrap_err();
        assert!(
            matches!(&error, Error::Corrupted { file, .. } if file.ends_with("MANIFEST")),
            "{keep}: {error}"
        );
    }
}

#[test]
fn durability_policies_all_recover_what_they_acknowledged() {
    for durability in [Durability::EveryCommit, Durability::Group, Durability::Buffered] {
        let dir = tempfile::tempdir().unwrap();
        let config = || Config::default().with_storage(dir.path()).with_durability(durability);
        {
            let engine = Engine::start(config()).unwrap();
            let t = engine.table::<u64>("t").unwrap();
            let threads: Vec<_> = (0..4u64)
                .map(|k| {
                    let (engine, t) = (engine.clone(), t.clone());
                    std::thread::spawn(move || {
                        for i in 0..25 {
                            engine.commit(|tx| tx.insert(&t, k * 100 + i)).unwrap();
                        }
                    })
                })
                .collect();
            threads.into_iter().for_each(|h| h.join().unwrap());
        }
        let engine = Engine::start(config()).unwrap();
        let t = engine.table::<u64>("t").unwrap();
        assert_eq!(engine.latest().unwrap(), 100, "{durability:?}");
        assert_eq!(t.at(100).unwrap().len(), 100, "{durability:?}");
    }
}

#[test]
fn history_beyond_memory_is_answered_from_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let config = || {
        config(dir.path())
            .with_retention(Retention::LastCommits(2))
            .with_log_retention(Retention::LastCommits(8))
    };
    let (engine, events, balances, per_user) = open(config()).unwrap();
    let mut answers = Vec::new();
    for i in 0..12u32 {
        let t = engine
            .commit(|tx| {
                tx.insert(&events, (i % 4, format!("e{i}")));
                tx.upsert(&balances, i % 4, i64::from(i % 2));
            })
            .unwrap();
        answers.push((t, per_user.at(t).unwrap()));
        if i % 3 == 2 {
            engine.checkpoint().unwrap();
        }
    }
    assert_eq!(engine.since().unwrap(), 11);
    // Older than memory, within the log's retention: answered exactly by a batch run.
    for (t, expected) in &answers[4..] {
        assert_eq!(&per_user.at(*t).unwrap(), expected, "at {t}");
    }
    // Older than the log's retention too: compacted.
    assert!(matches!(per_user.at(1), Err(Error::Compacted { .. })));
    drop((engine, events, balances, per_user));
    // The same after a restart.
    let (_engine, _events, _balances, per_user) = open(config()).unwrap();
    for (t, expected) in &answers[4..] {
        assert_eq!(&per_user.at(*t).unwrap(), expected, "after restart, at {t}");
    }
}

#[test]
fn arbitrary_bytes_in_a_log_segment_never_panic_the_recovery() {
    fn property(garbage: Vec<u8>) -> bool {
        let dir = tempfile::tempdir().unwrap();
        write_small(dir.path(), 2);
        let log = the_log(dir.path());
        let mut bytes = std::fs::read(&log).unwrap();
        bytes.extend_from_slice(&garbage);
        std::fs::write(&log, &bytes).unwrap();
        match reopen(dir.path()) {
            // Garbage that looks like a partial record is a torn tail; the two commits survive.
            Ok((last, rows)) => last == 2 && rows == vec![(0, 1), (1, 1)],
            Err(Error::Corrupted { .. }) => true,
            Err(other) => panic!("unexpected {other}"),
        }
    }
    quickcheck::QuickCheck::new().tests(100).quickcheck(property as fn(Vec<u8>) -> bool);
}

/// The names of the checkpoint files in `dir`.
fn checkpoint_names(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".ckpt"))
        .collect()
}

fn checkpoints_in(dir: &Path) -> usize {
    checkpoint_names(dir).len()
}

/// An engine keeping one commit in memory, with one row committed and checkpointed; returns
/// the table and the checkpoint file's path.
fn checkpointed_once(dir: &Path) -> (Engine, Table<u64>, std::path::PathBuf) {
    let engine = Engine::start(config(dir).with_retention(Retention::LastCommits(1))).unwrap();
    let t = engine.table::<u64>("t").unwrap();
    engine.commit(|tx| tx.insert(&t, 1)).unwrap();
    let first = engine.checkpoint().unwrap().expect("since moved to the first commit");
    (engine, t, dir.join(format!("checkpoint-{first:020}.ckpt")))
}

#[test]
fn checkpoints_happen_by_size_and_by_time_policy() {
    for config in [
        |dir: &Path| config(dir).with_checkpoint_every(1),
        |dir: &Path| config(dir).with_checkpoint_interval(Duration::ZERO),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::start(config(dir.path()).with_retention(Retention::LastCommits(2))).unwrap();
        let t = engine.table::<u32>("t").unwrap();
        assert_eq!(checkpoints_in(dir.path()), 0);
        for i in 0..5 {
            engine.commit(|tx| tx.insert(&t, i)).unwrap();
        }
        assert_eq!(checkpoints_in(dir.path()), 1, "one checkpoint, the older ones replaced");
        drop((t, engine));
        let engine = Engine::start(config(dir.path()).with_retention(Retention::LastCommits(2))).unwrap();
        let t = engine.table::<u32>("t").unwrap();
        assert_eq!(t.at(5).unwrap(), (0..5).map(|i| (i, 1)).collect::<Vec<_>>());
    }
    // Without a policy that fires (the default 64 MiB, no interval), no checkpoint appears.
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::start(config(dir.path()).with_retention(Retention::LastCommits(2))).unwrap();
    let t = engine.table::<u32>("t").unwrap();
    for i in 0..5 {
        engine.commit(|tx| tx.insert(&t, i)).unwrap();
    }
    assert_eq!(checkpoints_in(dir.path()), 0);
}

#[test]
fn a_checkpoint_of_a_keyed_table_keeps_only_the_current_values() {
    let dir = tempfile::tempdir().unwrap();
    let config = || config(dir.path()).with_retention(Retention::LastCommits(1));
    {
        let engine = Engine::start(config()).unwrap();
        let kv = engine.keyed_table::<u32, u32>("kv").unwrap();
        for i in 0..50u32 {
            // Decreasing values: a restore that picked any but the last would show a larger one.
            engine.commit(|tx| tx.upsert(&kv, i % 3, 100 - i)).unwrap();
        }
        // Right after the commits, before the trace has merged its batches.
        assert!(engine.checkpoint().unwrap().is_some());
    }
    let engine = Engine::start(config()).unwrap();
    let kv = engine.keyed_table::<u32, u32>("kv").unwrap();
    assert_eq!(kv.at(50).unwrap(), vec![(0, 52), (1, 51), (2, 53)]);
}

#[test]
fn a_directory_is_open_in_one_engine_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let first = Engine::start(config(dir.path())).unwrap();
    let table = first.table::<u32>("t").unwrap();
    let error = Engine::start(config(dir.path())).unwrap_err();
    assert_eq!(error, Error::StorageLocked { dir: dir.path().to_path_buf() });
    assert!(error.to_string().contains("in use"), "{error}");
    first.shutdown();
    // Shutdown releases the directory even while handles of the old engine live on.
    let second = Engine::start(config(dir.path())).unwrap();
    assert_eq!(table.at(0), Err(Error::Shutdown));
    drop(second);
}

/// A program started by another thread holds a copy of every open file until it has started
/// (the copies made by `fork` close at `exec`), the directory's lock too: shutting down must
/// release the lock itself, not only close the engine's copy, or a restart that races a started
/// program finds the directory in use (seen in CI, beside the tests that run Python).
#[test]
fn a_directory_shut_down_while_other_threads_start_programs_opens_again_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let starter = std::thread::spawn({
        let stop = stop.clone();
        move || {
            let mut started = 0u32;
            while !stop.load(Ordering::Relaxed) {
                std::process::Command::new("true").status().unwrap();
                started += 1;
            }
            started
        }
    });
    for life in 0..200 {
        let engine = Engine::start(Config::default().with_storage(dir.path()))
            .unwrap_or_else(|e| panic!("life {life}: {e}"));
        engine.shutdown();
    }
    stop.store(true, Ordering::Relaxed);
    assert!(starter.join().unwrap() > 0, "no program was started while the engine restarted");
}

#[test]
fn a_keyed_table_replayed_from_the_log_past_since_keeps_the_last_values() {
    let dir = tempfile::tempdir().unwrap();
    let config = || config(dir.path()).with_retention(Retention::LastCommits(2));
    {
        let engine = Engine::start(config()).unwrap();
        let kv = engine.keyed_table::<u32, u32>("kv").unwrap();
        let rows = engine.table::<u32>("rows").unwrap();
        for i in 0..30u32 {
            // Decreasing values: a replay that kept any but the last write would show a larger one.
            engine
                .commit(|tx| {
                    tx.upsert(&kv, i % 3, 100 - i);
                    tx.insert(&rows, i);
                })
                .unwrap();
        }
    }
    let engine = Engine::start(config()).unwrap();
    let kv = engine.keyed_table::<u32, u32>("kv").unwrap();
    let rows = engine.table::<u32>("rows").unwrap();
    assert_eq!(engine.since().unwrap(), 29);
    assert_eq!(kv.at(29).unwrap(), vec![(0, 73), (1, 72), (2, 74)]);
    assert_eq!(kv.at(30).unwrap(), vec![(0, 73), (1, 72), (2, 71)]);
    assert_eq!(rows.at(30).unwrap().len(), 30);
    assert_eq!(rows.at(29).unwrap().len(), 29);
}

#[test]
fn the_size_policy_counts_the_bytes_logged_since_the_last_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path()).with_retention(Retention::LastCommits(1)).with_checkpoint_every(4_096);
    let engine = Engine::start(config).unwrap();
    let t = engine.table::<u64>("t").unwrap();
    // Small commits, far below 4 KiB in all: no checkpoint.
    for i in 0..3 {
        engine.commit(|tx| tx.insert(&t, i)).unwrap();
    }
    assert_eq!(checkpoints_in(dir.path()), 0);
    // One commit of 1,000 large numbers (10 bytes each as varints, 11 KB and more) crosses it.
    let big = engine.commit(|tx| tx.insert_all(&t, (0..1_000).map(|i| u64::MAX - i))).unwrap();
    assert_eq!(checkpoints_in(dir.path()), 1);
    // It was taken as of the current `since`: asking for another one finds nothing new.
    assert_eq!(engine.checkpoint().unwrap(), None);
    // The count starts again from the checkpoint: the next small commit does not take another.
    engine.commit(|tx| tx.insert(&t, 7)).unwrap();
    assert_eq!(checkpoint_names(dir.path()), [format!("checkpoint-{big:020}.ckpt")]);
}

#[test]
fn a_file_already_removed_by_hand_does_not_fail_the_next_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, t, old) = checkpointed_once(dir.path());
    // Someone removes the old checkpoint, which the next checkpoint would remove anyway.
    std::fs::remove_file(old).unwrap();
    let last = engine.commit(|tx| tx.insert(&t, 2)).unwrap();
    assert_eq!(engine.checkpoint().unwrap(), Some(last));
    assert_eq!(checkpoints_in(dir.path()), 1);
    assert_eq!(t.at(last).unwrap(), vec![(1, 1), (2, 1)]);
}

#[test]
fn reads_older_than_memory_wait_until_every_stored_table_is_registered_again() {
    let dir = tempfile::tempdir().unwrap();
    let config =
        || config(dir.path()).with_retention(Retention::LastCommits(2)).with_log_retention(Retention::All);
    let (engine, events, balances, per_user) = open(config()).unwrap();
    for i in 0..6u32 {
        engine
            .commit(|tx| {
                tx.insert(&events, (i, format!("e{i}")));
                tx.upsert(&balances, i, 1);
            })
            .unwrap();
    }
    drop((engine, events, balances, per_user));
    let engine = Engine::start(config()).unwrap();
    let events = engine.table::<(u32, String)>("events").unwrap();
    let users = engine
        .view("users", {
            let events = events.clone();
            move |v| v.table(&events).map(|(user, _)| user)
        })
        .unwrap();
    // `balances` is in the files but not registered yet: the log cannot be read back.
    let error = users.at(2).unwrap_err();
    assert!(matches!(&error, Error::Compacted { name, requested: 2, .. } if name == "users"), "{error}");
    let _balances = engine.keyed_table::<u32, i64>("balances").unwrap();
    assert_eq!(users.at(2).unwrap(), vec![(0, 1), (1, 1)]);
}

#[test]
fn a_file_that_cannot_be_removed_fails_the_checkpoint_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, t, old) = checkpointed_once(dir.path());
    // The old checkpoint becomes something `remove_file` refuses: a directory.
    std::fs::remove_file(&old).unwrap();
    std::fs::create_dir(&old).unwrap();
    let last = engine.commit(|tx| tx.insert(&t, 2)).unwrap();
    let error = engine.checkpoint().unwrap_err();
    assert!(matches!(&error, Error::Io { .. }) && error.to_string().contains("removing"), "{error}");
    // The operating system's error is kept whole, and is the error's source.
    let Error::Io { error: cause, .. } = &error else { unreachable!() };
    assert_eq!(cause.kind(), std::io::ErrorKind::IsADirectory);
    let source = std::error::Error::source(&error).and_then(|source| source.downcast_ref::<std::io::Error>());
    assert_eq!(source.map(std::io::Error::kind), Some(std::io::ErrorKind::IsADirectory));
    assert_eq!(t.at(last).unwrap(), vec![(1, 1), (2, 1)]);
    // The new checkpoint was durable before the removal failed; the next one removes the old.
    std::fs::remove_dir(&old).unwrap();
    std::fs::write(&old, b"left over").unwrap();
    let next = engine.commit(|tx| tx.insert(&t, 3)).unwrap();
    assert_eq!(engine.checkpoint().unwrap(), Some(next));
    assert!(!old.exists());
    assert_eq!(checkpoints_in(dir.path()), 1);
}

// The stored format: directories written by earlier versions, and row types known by their shape.

/// The format this build writes (`persist::frame::VERSION`); `tests/fixtures/format-N` holds a
/// directory written by each version, by `write_the_fixture_of_this_format`.
const FORMAT: u32 = 2;

/// A row type as an application would declare it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
struct Order {
    id: u64,
    customer: String,
    cents: i64,
}

/// The fixtures' history: orders and prices over 9 commits, a checkpoint after the sixth.
fn fixture_history(
    engine: &Engine,
    checkpoint: bool,
) -> ivm::Result<(Table<Order>, ivm::KeyedTable<String, i64>)> {
    let orders = engine.table::<Order>("orders")?;
    let prices = engine.keyed_table::<String, i64>("prices")?;
    let order = |i: u64| Order { id: i, customer: format!("c{}", i % 3), cents: 100 * i as i64 };
    for i in 0..6u64 {
        engine.commit(|tx| {
            tx.insert(&orders, order(i));
            tx.upsert(&prices, format!("p{}", i % 2), i as i64);
        })?;
    }
    if checkpoint {
        engine.checkpoint()?;
    }
    for i in 6..9u64 {
        engine.commit(|tx| tx.delete(&orders, order(i - 6)))?;
    }
    Ok((orders, prices))
}

fn fixture_config(dir: &Path) -> Config {
    Config::default()
        .with_storage(dir)
        .with_durability(Durability::EveryCommit)
        .with_retention(Retention::LastCommits(2))
        .with_log_retention(Retention::LastCommits(100))
}

/// A copy of `tests/fixtures/<name>` in a temporary directory (tests never change the fixture).
fn fixture(name: &str) -> tempfile::TempDir {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    dir
}

/// Writes `tests/fixtures/format-<FORMAT>` anew. Run it once when the format version changes
/// (`cargo test --test suite -- --ignored durable::write_the_fixture`), and keep the older fixtures.
#[test]
#[ignore = "writes the fixture of the current format into the source tree"]
fn write_the_fixture_of_this_format() {
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/format-{FORMAT}"));
    let _ = std::fs::remove_dir_all(&out);
    let engine = Engine::start(fixture_config(&out)).unwrap();
    fixture_history(&engine, true).unwrap();
    engine.shutdown();
    std::fs::remove_file(out.join("LOCK")).unwrap();
}

#[test]
fn a_directory_of_this_format_written_by_an_earlier_build_reads_back_exactly() {
    let dir = fixture(&format!("format-{FORMAT}"));
    let before = snapshot(dir.path());
    assert_eq!(before["MANIFEST"][8..12], FORMAT.to_le_bytes(), "the fixture is of the current format");
    // The same history in memory, to compare with.
    let fresh = Engine::start(Config::default()).unwrap();
    let (fresh_orders, fresh_prices) = fixture_history(&fresh, false).unwrap();
    let latest = fresh.latest().unwrap();

    let engine = Engine::start(fixture_config(dir.path())).unwrap();
    assert_eq!(engine.latest().unwrap(), latest);
    let orders = engine.table::<Order>("orders").unwrap();
    let prices = engine.keyed_table::<String, i64>("prices").unwrap();
    assert_eq!(orders.at(latest).unwrap(), fresh_orders.at(latest).unwrap());
    assert_eq!(prices.at(latest).unwrap(), fresh_prices.at(latest).unwrap());
    assert_eq!(orders.at(latest).unwrap().len(), 3, "the fixture holds the history it should");
    // It takes new commits, which the next open finds.
    let t = engine.commit(|tx| tx.upsert(&prices, "p9".to_string(), 9)).unwrap();
    drop((orders, prices, engine));
    let engine = Engine::start(fixture_config(dir.path())).unwrap();
    let prices = engine.keyed_table::<String, i64>("prices").unwrap();
    assert!(prices.at(t).unwrap().contains(&("p9".to_string(), 9)));
}

#[test]
fn a_directory_of_format_1_is_refused_with_its_version_and_left_as_it_was() {
    let dir = fixture("format-1");
    let before = snapshot(dir.path());
    let error = Engine::start(fixture_config(dir.path())).unwrap_err();
    match &error {
        Error::IncompatibleFormat { file, found: 1, supported } => {
            assert_eq!(*supported, FORMAT);
            assert!(file.starts_with(dir.path()), "{error}");
        }
        other => panic!("expected IncompatibleFormat, got {other:?}"),
    }
    let message = error.to_string();
    assert!(
        message.contains("format version 1") && message.contains("nothing was changed on disk"),
        "{message}"
    );
    // Only the directory's (empty) lock file is new.
    let mut after = snapshot(dir.path());
    assert_eq!(after.remove("LOCK"), Some(Vec::new()));
    assert_eq!(after, before);
}

/// The same row type as `Order`, declared in another module: another Rust type name, the same
/// shape.
mod moved {
    #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
    pub struct Order {
        pub id: u64,
        pub customer: String,
        pub cents: i64,
    }
}

#[test]
fn a_row_type_is_known_by_its_shape_not_its_rust_name() {
    let dir = tempfile::tempdir().unwrap();
    let row = Order { id: 1, customer: "ann".into(), cents: 250 };
    {
        let engine = Engine::start(config(dir.path())).unwrap();
        let orders = engine.table::<Order>("orders").unwrap();
        engine.commit(|tx| tx.insert(&orders, row.clone())).unwrap();
    }
    // Moved to another module (as a refactor, or another compiler's naming, would): it opens.
    let engine = Engine::start(config(dir.path())).unwrap();
    let orders = engine.table::<moved::Order>("orders").unwrap();
    let moved = moved::Order { id: row.id, customer: row.customer.clone(), cents: row.cents };
    assert_eq!(orders.at(engine.latest().unwrap()).unwrap(), vec![(moved, 1)]);
    drop((orders, engine));

    // A field of another type changes the shape: refused, naming both shapes.
    #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
    #[serde(rename = "Order")]
    struct Unsigned {
        id: u64,
        customer: String,
        cents: u64,
    }
    let engine = Engine::start(config(dir.path())).unwrap();
    let error = engine.table::<Unsigned>("orders").unwrap_err();
    match &error {
        Error::TypeMismatch { name, expected, found } => {
            assert_eq!(name, "orders");
            assert_eq!(*expected, "shape Order{id:u64,customer:str,cents:i64}");
            assert!(found.ends_with("(shape Order{id:u64,customer:str,cents:u64})"), "{found}");
        }
        other => panic!("expected TypeMismatch, got {other:?}"),
    }
}
