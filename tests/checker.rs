//! The built-in checker (feature `testing`) passes agreeing views and pinpoints disagreements.
#![cfg(feature = "testing")]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use ivm::Definition;
use ivm::testing::{CheckFailure, History, check};

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
