//! The built-in checker (feature `testing`) passes agreeing views and pinpoints disagreements.
#![cfg(feature = "testing")]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use ivm::Definition;
use ivm::testing::{CheckFailure, Checker, History, check, check_against};

fn history() -> History<ivm::Table<u32>> {
    History::new()
        .commit(|t, tx| tx.insert_all(t, [1, 2, 3]))
        .commit(|t, tx| tx.delete(t, 2))
        .commit_at(20, |t, tx| tx.insert(t, 7))
}

#[test]
fn a_history_counts_its_transactions() {
    assert_eq!((history().len(), history().is_empty()), (3, false));
    assert_eq!(
        (History::<ivm::Table<u32>>::new().len(), History::<ivm::Table<u32>>::new().is_empty()),
        (0, true)
    );
}

#[test]
fn agreeing_readings_pass_on_every_worker_count() {
    for workers in [1, 2, 4] {
        let report = check(
            workers,
            |engine| {
                let t = engine.table::<u32>("t")?;
                let definition = Definition::new({
                    let t = t.clone();
                    move |v| v.table(&t).map(|x| x % 2).count()
                });
                Ok((t, definition))
            },
            &history(),
        )
        .unwrap();
        assert_eq!(report.commits, 3);
        assert!(report.times.contains(&20) && report.times.contains(&19));
    }
}

#[test]
fn times_at_which_the_view_changes_without_a_commit_are_checked_too() {
    // A row valid from 5 until 8 makes the view change at 5 and 8, between commits at 1 and 12.
    let history = History::new()
        .commit_at(1, |t: &ivm::Table<(u32, u64, u64)>, tx| tx.insert(t, (7, 5, 8)))
        .commit_at(12, |_, _| {});
    let report = check(
        2,
        |engine| {
            let t = engine.table::<(u32, u64, u64)>("offers")?;
            let definition = Definition::new({
                let t = t.clone();
                move |v| {
                    use ivm::ops::TemporalFilter;
                    v.table(&t).temporal_filter(|(_, from, until)| (*from, Some(*until)))
                }
            });
            Ok((t, definition))
        },
        &history,
    )
    .unwrap();
    assert_eq!(report.times, vec![0, 1, 4, 5, 7, 8, 11, 12]);
}

#[test]
fn an_impure_definition_is_caught_with_time_and_row() {
    // This definition changes its logic every time it is built, so the batch run (built later)
    // disagrees with the live view: exactly what the checker exists to catch.
    let builds = Arc::new(AtomicU32::new(0));
    let failure = check(
        1,
        |engine| {
            let t = engine.table::<u32>("t")?;
            let definition = Definition::new({
                let t = t.clone();
                move |v| {
                    let offset = builds.fetch_add(1, Ordering::SeqCst);
                    v.table(&t).map(move |x| x + 100 * offset)
                }
            });
            Ok((t, definition))
        },
        &history(),
    )
    .unwrap_err();
    match failure {
        CheckFailure::Disagreement(d) => {
            assert_eq!(d.time, 1, "first commit time");
            assert_eq!((d.row, d.at, d.stream, d.batch), (1, 1, 1, 0));
        }
        other => panic!("expected a disagreement, got {other}"),
    }
}

#[test]
fn setup_errors_are_reported_as_errors() {
    let failure = check(
        1,
        |engine| {
            let t = engine.table::<u32>("t")?;
            let _ = engine.table::<String>("t")?; // a type mismatch
            Ok((t.clone(), Definition::new(move |v| v.table(&t))))
        },
        &History::new(),
    )
    .unwrap_err();
    assert!(matches!(failure, CheckFailure::Error(ivm::Error::TypeMismatch { .. })), "{failure}");
}

/// A seeded history of `commits` transactions of five writes each over rows `0..100`: inserts
/// of fresh rows and deletes of rows inserted earlier, so the table grows and shrinks.
/// Returns the history and, per transaction, the table's contents after it (the oracle).
fn long_history(commits: usize, seed: u64) -> (History<ivm::Table<u32>>, Vec<BTreeMap<u32, isize>>) {
    let mut state = seed | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let (mut history, mut contents, mut after) = (History::new(), BTreeMap::<u32, isize>::new(), Vec::new());
    for _ in 0..commits {
        let mut writes = Vec::new();
        for _ in 0..5 {
            let row = (next() % 100) as u32;
            let diff = if contents.get(&row).copied().unwrap_or(0) > 0 && next() % 2 == 0 { -1 } else { 1 };
            *contents.entry(row).or_insert(0) += diff;
            contents.retain(|_, d| *d != 0);
            writes.push((row, diff));
        }
        history = history.commit(move |t, tx| {
            for &(row, diff) in &writes {
                tx.update(t, row, diff);
            }
        });
        after.push(contents.clone());
    }
    (history, after)
}

#[test]
fn a_table_read_back_passes_over_a_hundred_commits() {
    // Regression: the checker read its subscription only after the whole history, got the
    // missed updates with their times moved forward, and reported
    // `Disagreement { time: 1, at: 1, stream: 0, batch: 1 }` on this correct view.
    for workers in [1, 2, 4] {
        let (history, _) = long_history(100, 7);
        let report = check(
            workers,
            |engine| {
                let t = engine.table::<u32>("t")?;
                Ok((t.clone(), Definition::new(move |v| v.table(&t))))
            },
            &history,
        )
        .unwrap_or_else(|failure| panic!("workers {workers}: {failure}"));
        assert_eq!(report.commits, 100);
    }
}

#[test]
fn correct_views_pass_over_a_thousand_commits_with_an_oracle() {
    for workers in [1, 2, 4] {
        let (history, after) = long_history(1_000, 11 + workers as u64);
        // Each row's count, and the join of the table with itself on `row % 10`, counted.
        let oracle = |_: ivm::Time, applied: usize| -> Vec<((u32, isize), isize)> {
            let Some(contents) = applied.checked_sub(1).map(|i| &after[i]) else { return Vec::new() };
            let mut per_class = BTreeMap::new();
            for (row, diff) in contents {
                *per_class.entry(row % 10).or_insert(0) += diff;
            }
            per_class.into_iter().map(|(class, n): (u32, isize)| ((class, n * n), 1)).collect()
        };
        let report = check_against(
            workers,
            |engine| {
                let t = engine.table::<u32>("t")?;
                let definition = Definition::new({
                    let t = t.clone();
                    move |v| {
                        let by_class = v.table(&t).map(|x| (x % 10, x));
                        by_class.clone().join(by_class).map(|(class, _)| class).count()
                    }
                });
                Ok((t, definition))
            },
            &history,
            oracle,
        )
        .unwrap_or_else(|failure| panic!("workers {workers}: {failure}"));
        assert_eq!(report.commits, 1_000);
        assert!(report.times.len() >= 1_000, "every commit time is compared");
    }
}

#[test]
fn a_view_wrong_at_one_time_in_the_middle_is_caught_by_the_oracle() {
    for workers in [1, 2, 4] {
        // Row 1_000 exists only at the 500th commit; the view drops it (a planted bug), the
        // same way live, streamed and in batch, so only the oracle can tell.
        let (mut history, mut after) = long_history(499, 3);
        history = history.commit(|t, tx| tx.insert(t, 1_000)).commit(|t, tx| tx.delete(t, 1_000));
        let mut with_row = after.last().cloned().unwrap_or_default();
        after.push({
            with_row.insert(1_000, 1);
            with_row.clone()
        });
        with_row.remove(&1_000);
        after.push(with_row);
        let oracle = |_: ivm::Time, applied: usize| -> Vec<(u32, isize)> {
            applied.checked_sub(1).map_or(Vec::new(), |i| after[i].iter().map(|(r, d)| (*r, *d)).collect())
        };
        let failure = check_against(
            workers,
            |engine| {
                let t = engine.table::<u32>("t")?;
                Ok((t.clone(), Definition::new(move |v| v.table(&t).filter(|x| *x != 1_000))))
            },
            &history,
            oracle,
        )
        .unwrap_err();
        match failure {
            CheckFailure::Disagreement(d) => {
                assert_eq!((d.time, d.row), (500, 1_000), "workers {workers}");
                assert_eq!((d.at, d.stream, d.batch, d.expected), (0, 0, 0, Some(1)));
            }
            other => panic!("workers {workers}: expected a disagreement, got {other}"),
        }
        // Without the oracle, the three readings agree: the bug is consistent.
        let (history, _) = long_history(50, 3);
        check(
            workers,
            |engine| {
                let t = engine.table::<u32>("t")?;
                Ok((t.clone(), Definition::new(move |v| v.table(&t).filter(|x| *x != 1_000))))
            },
            &history,
        )
        .unwrap();
    }
}

/// A count per residue class.
type Counts = Definition<(u32, isize)>;

/// Counts per residue class of a streamed table's rows: the setup of the `Checker` tests.
fn streamed_counts(engine: &ivm::Engine) -> ivm::Result<(ivm::Table<u32>, Counts)> {
    let t = engine.streamed_table::<u32>("t")?;
    let definition = Definition::new({
        let t = t.clone();
        move |v| v.table(&t).map(|x| x % 7).count()
    });
    Ok((t, definition))
}

/// What `streamed_counts`' view holds over `contents`: the oracle of the `Checker` tests.
fn counts_of(contents: &BTreeMap<u32, isize>) -> Vec<((u32, isize), isize)> {
    let mut counts = BTreeMap::<u32, isize>::new();
    for (row, diff) in contents {
        *counts.entry(row % 7).or_insert(0) += diff;
    }
    counts.into_iter().filter(|(_, count)| *count != 0).map(|row| (row, 1)).collect()
}

#[test]
fn a_streamed_view_over_a_streamed_table_passes_with_storage_and_restarts() {
    for (workers, seed) in [(1, 3), (2, 5), (4, 11)] {
        let (history, after) = long_history(40, seed);
        let dir = tempfile::tempdir().unwrap();
        for (view, restart_every) in [("kept", 7), ("streamed", 6)] {
            let dir = dir.path().join(view);
            let checker = Checker::new(workers).with_storage(&dir).restart_every(restart_every);
            let checker = if view == "streamed" { checker.streamed_view() } else { checker };
            let oracle = |_: ivm::Time, applied: usize| match applied {
                0 => Vec::new(),
                n => counts_of(&after[n - 1]),
            };
            let report = checker
                .check_against(streamed_counts, &history, oracle)
                .unwrap_or_else(|failure| panic!("{workers} workers, {view} view: {failure}"));
            assert_eq!((report.commits, report.restarts), (40, 39 / restart_every), "{view}");
        }
    }
}

#[test]
fn a_view_that_changes_across_a_restart_is_caught() {
    // The definition after the restart drops the rows of residue 0: the subscription summed
    // from before the restart, the restarted view's reads and the batch run disagree.
    let (history, _) = long_history(12, 9);
    let setups = Arc::new(AtomicU32::new(0));
    let dir = tempfile::tempdir().unwrap();
    let failure = Checker::new(2)
        .with_storage(dir.path())
        .restart_every(6)
        .check(
            |engine| {
                let restarted = setups.fetch_add(1, Ordering::SeqCst) > 0;
                let t = engine.streamed_table::<u32>("t")?;
                let definition = Definition::new({
                    let t = t.clone();
                    move |v| v.table(&t).filter(move |x| !restarted || x % 7 != 0).map(|x| x % 7).count()
                });
                Ok((t, definition))
            },
            &history,
        )
        .unwrap_err();
    assert!(matches!(failure, CheckFailure::Disagreement(_)), "{failure}");
    assert_eq!(setups.load(Ordering::SeqCst), 2, "set up again after the one restart");
}

#[test]
fn a_streamed_table_without_storage_fails_with_not_kept() {
    let (history, _) = long_history(3, 1);
    let failure = Checker::new(1).check(streamed_counts, &history).unwrap_err();
    assert!(
        matches!(&failure, CheckFailure::Error(ivm::Error::NotKept { name, .. }) if name == "t"),
        "{failure}"
    );
}

#[test]
fn settings_that_cannot_work_are_refused_before_anything_runs() {
    let (history, _) = long_history(3, 1);
    let failure = Checker::new(1).restart_every(2).check(streamed_counts, &history).unwrap_err();
    assert!(
        matches!(&failure, CheckFailure::Error(ivm::Error::InvalidConfig(message)) if message.contains("with_storage")),
        "{failure}"
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("other"), b"not the check's").unwrap();
    let failure = Checker::new(1).with_storage(dir.path()).check(streamed_counts, &history).unwrap_err();
    assert!(
        matches!(&failure, CheckFailure::Error(ivm::Error::InvalidConfig(message)) if message.contains("not empty")),
        "{failure}"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "nothing was written");
}
