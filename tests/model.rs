//! Model test: random transactions over three tables, views with a join, per-key aggregates, a
//! distinct, and a semi-join + top-k + left outer join, on 1, 2 and 4 workers. Every `at(t)` for every retained `t` must equal a naive
//! from-scratch recomputation of the view over the inputs as of `t`, and so must the one-shot
//! batch run of the same definition over the engine's tables as of `t`.

use crate::common;

use common::{History, Inputs, Setup, distinct_keys, inputs_at, joined, retention, sums};
use ivm::Time;
use ivm::batch::{self, BatchInputs};
use quickcheck::{QuickCheck, TestResult};

fn check(history: History, workers: usize) -> TestResult {
    let setup = Setup::new(workers, retention(&history));
    let mut model = Inputs::default();
    let mut snapshots: Vec<(Time, Inputs)> = vec![(0, Inputs::default())];
    for txn in &history.txns {
        let time = setup.commit(txn, &mut model, snapshots.last().unwrap().0);
        snapshots.push((time, model.clone()));
    }

    let Setup { engine, join, aggregate, distinct, watched, .. } = &setup;
    // The one-shot batch run of each definition over the tables as of t gives the same answer.
    for t in engine.since().unwrap()..=engine.latest().unwrap() {
        let inputs = BatchInputs::from_engine(engine, t).unwrap();
        let expected = inputs_at(&snapshots, t);
        if batch::run(join.definition(), &inputs, workers).unwrap() != joined(expected)
            || batch::run(aggregate.definition(), &inputs, workers).unwrap() != sums(expected)
            || batch::run(distinct.definition(), &inputs, workers).unwrap() != distinct_keys(expected)
            || batch::run(watched.definition(), &inputs, workers).unwrap() != common::watched(expected)
        {
            return TestResult::error(format!(
                "workers {workers}, t {t}: a batch run differs from the oracle"
            ));
        }
    }
    let since = engine.since().unwrap();
    let latest = engine.latest().unwrap();
    for t in since..=latest {
        let inputs = inputs_at(&snapshots, t);
        if watched.at(t).unwrap() != common::watched(inputs) {
            return TestResult::error(format!(
                "workers {workers}, t {t}: watched {:?} vs {:?}",
                watched.at(t).unwrap(),
                common::watched(inputs)
            ));
        }
        let agg = aggregate.at(t).unwrap();
        let expected_agg = sums(inputs);
        if join.at(t).unwrap() != joined(inputs)
            || agg != expected_agg
            || distinct.at(t).unwrap() != distinct_keys(inputs)
        {
            return TestResult::error(format!(
                "workers {workers}, t {t}: join {:?} vs {:?}; aggregate {agg:?} vs {expected_agg:?}; distinct {:?} vs {:?}",
                join.at(t).unwrap(),
                joined(inputs),
                distinct.at(t).unwrap(),
                distinct_keys(inputs)
            ));
        }
        for key in 0..6u8 {
            let expected: Vec<_> =
                expected_agg.iter().filter(|((k, _), _)| *k == key).map(|((_, a), d)| (*a, *d)).collect();
            if aggregate.get(&key, t).unwrap() != expected {
                return TestResult::error(format!("workers {workers}, t {t}: get({key}) differs"));
            }
        }
    }
    if since > 0 && join.at(since - 1).is_ok() {
        return TestResult::error(format!("a read below since {since} succeeded"));
    }
    TestResult::passed()
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
fn model_one_worker() {
    run(1, 40);
}

#[test]
fn model_two_workers() {
    run(2, 40);
}

#[test]
fn model_four_workers() {
    run(4, 25);
}

/// The long sweep: `cargo test --release --test suite -- --ignored model::`.
#[test]
#[ignore]
fn model_sweep() {
    for workers in [1, 2, 4] {
        run(workers, 1_000);
    }
}
