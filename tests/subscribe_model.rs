//! Model test of the stream reading: on random histories, for views with a join, a per-key
//! aggregate and a distinct, on 1, 2 and 4 workers, the snapshot plus every subscribed update with
//! `time <= t` equals both `at(t)` and a naive recomputation, for every complete `t`; and a
//! subscription dropped and resumed from its stored `upper` sees each change exactly once.

use crate::common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{History, Inputs, Setup, distinct_keys, inputs_at, joined, sums};
use ivm::{Batch, Diff, Retention, Row, SubscribeOptions, Subscription, Time};
use quickcheck::{QuickCheck, TestResult};

const WAIT: Duration = Duration::from_secs(30);

/// Adds batches to `out` until one reaches past `t`.
fn extend_through<D: Row>(sub: &mut Subscription<D>, out: &mut Vec<Batch<D>>, t: Time) -> Result<(), String> {
    while out.last().is_none_or(|b| b.upper <= t) {
        match sub.next_timeout(WAIT) {
            Ok(Some(batch)) => out.push(batch),
            other => return Err(format!("no batch: {other:?}")),
        }
    }
    Ok(())
}

/// Batches until one reaches past `t`.
fn batches_through<D: Row>(sub: &mut Subscription<D>, t: Time) -> Result<Vec<Batch<D>>, String> {
    let mut out = Vec::new();
    extend_through(sub, &mut out, t)?;
    Ok(out)
}

/// Checks contiguity and returns the collection summed through each `t` in `times`.
fn sums_at<D: Row>(
    batches: &[Batch<D>],
    times: impl Iterator<Item = Time>,
) -> Result<Vec<Vec<(D, Diff)>>, String> {
    for pair in batches.windows(2) {
        if pair[0].upper != pair[1].lower {
            return Err(format!("gap or overlap: {} then {}", pair[0].upper, pair[1].lower));
        }
    }
    Ok(times
        .map(|t| {
            let mut sum = BTreeMap::new();
            for (row, time, diff) in batches.iter().flat_map(|b| b.updates.iter()) {
                if *time <= t {
                    *sum.entry(row.clone()).or_insert(0) += diff;
                }
            }
            sum.into_iter().filter(|(_, d)| *d != 0).collect()
        })
        .collect())
}

/// Compares one view's stream with its oracle and its batch reading at every time.
fn compare<D: Row>(
    name: &str,
    batches: &[Batch<D>],
    from: Time,
    to: Time,
    oracle: impl Fn(Time) -> Vec<(D, Diff)>,
    at: impl Fn(Time) -> Vec<(D, Diff)>,
) -> Result<(), String> {
    let sums = sums_at(batches, from..=to)?;
    for (t, sum) in (from..=to).zip(sums) {
        if sum != oracle(t) || sum != at(t) {
            return Err(format!("{name} at {t}: stream {sum:?}, oracle {:?}, at {:?}", oracle(t), at(t)));
        }
    }
    Ok(())
}

fn check(history: History, workers: usize) -> TestResult {
    let setup = Setup::new(workers, Retention::All);
    let mut join_sub = setup.join.subscribe().unwrap();
    let mut aggregate_sub = setup.aggregate.subscribe().unwrap();
    let mut distinct_sub = setup.distinct.subscribe().unwrap();
    let mut watched_sub = setup.watched.subscribe().unwrap();

    let mut model = Inputs::default();
    let mut snapshots: Vec<(Time, Inputs)> = vec![(0, Inputs::default())];
    let half = history.txns.len() / 2;
    let mut resumable = None;
    for (i, txn) in history.txns.iter().enumerate() {
        if i == half {
            resumable = Some(setup.join.subscribe().unwrap());
        }
        let time = setup.commit(txn, &mut model, snapshots.last().unwrap().0);
        snapshots.push((time, model.clone()));
    }
    let latest = snapshots.last().unwrap().0;
    let oracle_join = |t| joined(inputs_at(&snapshots, t));
    let at_join = |t| setup.join.at(t).unwrap();

    let outcome = (|| {
        let joins = batches_through(&mut join_sub, latest)?;
        compare("join", &joins, 0, latest, oracle_join, at_join)?;
        let aggregates = batches_through(&mut aggregate_sub, latest)?;
        compare(
            "aggregate",
            &aggregates,
            0,
            latest,
            |t| sums(inputs_at(&snapshots, t)),
            |t| setup.aggregate.at(t).unwrap(),
        )?;
        let watched = batches_through(&mut watched_sub, latest)?;
        compare(
            "watched",
            &watched,
            0,
            latest,
            |t| common::watched(inputs_at(&snapshots, t)),
            |t| setup.watched.at(t).unwrap(),
        )?;
        let distincts = batches_through(&mut distinct_sub, latest)?;
        compare(
            "distinct",
            &distincts,
            0,
            latest,
            |t| distinct_keys(inputs_at(&snapshots, t)),
            |t| setup.distinct.at(t).unwrap(),
        )?;

        // Read part of the mid-history subscription, drop it, resume from the stored upper.
        let mut first = resumable.take().expect("histories are not empty");
        let mut seen = batches_through(&mut first, 0)?; // the snapshot
        let as_of = seen[0].lower;
        extend_through(&mut first, &mut seen, as_of + (latest - as_of) / 2)?;
        let stored_upper = seen.last().unwrap().upper;
        drop(first);
        let mut resumed = setup
            .join
            .subscribe_with(SubscribeOptions::default().as_of(stored_upper - 1).snapshot(false))
            .unwrap();
        if stored_upper <= latest {
            let mut rest = Vec::new();
            extend_through(&mut resumed, &mut rest, latest)?;
            if rest[0].lower != stored_upper {
                return Err(format!("resumed at {} instead of {stored_upper}", rest[0].lower));
            }
            seen.extend(rest);
        }
        compare("resumed join", &seen, as_of, latest, oracle_join, at_join)
    })();
    match outcome {
        Ok(()) => TestResult::passed(),
        Err(message) => TestResult::error(format!("workers {workers}: {message}")),
    }
}

fn run(workers: usize, tests: u64) {
    let property: fn(History) -> TestResult = match workers {
        1 => |h| check(h, 1),
        2 => |h| check(h, 2),
        _ => |h| check(h, 4),
    };
    QuickCheck::new().tests(tests).quickcheck(property);
}

#[test]
fn stream_model_one_worker() {
    run(1, 30);
}

#[test]
fn stream_model_two_workers() {
    run(2, 30);
}

#[test]
fn stream_model_four_workers() {
    run(4, 20);
}

/// The long sweep: `cargo test --release --test suite -- --ignored subscribe_model::`.
#[test]
#[ignore]
fn stream_model_sweep() {
    for workers in [1, 2, 4] {
        run(workers, 500);
    }
}
