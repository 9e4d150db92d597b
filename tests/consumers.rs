//! Named consumers: a consumer resumes exactly after what it acknowledged (in one engine and
//! across restarts of a stored one), holds history back meanwhile, is listed and dropped, and
//! one that lags past the limit is dropped with a typed error. The SIGKILL test is in
//! `tests/consumer_crash.rs`.

use std::collections::BTreeMap;

use ivm::{Batch, Config, Consumer, Engine, Error, Retention, Table, Time, View};
use quickcheck::{Arbitrary, Gen, QuickCheck, TestResult};

fn rows_view(engine: &Engine) -> (Table<u64>, View<u64>) {
    let table = engine.table::<u64>("events").unwrap();
    let view = engine
        .view("large", {
            let table = table.clone();
            move |v| v.table(&table).filter(|n| *n >= 10)
        })
        .unwrap();
    (table, view)
}

fn all_batches<D: ivm::Row>(consumer: &mut Consumer<D>) -> Vec<Batch<D>> {
    let mut batches = Vec::new();
    while let Some(batch) = consumer.try_next().unwrap() {
        batches.push(batch);
    }
    batches
}

#[test]
fn a_consumer_resumes_after_what_it_acknowledged_and_holds_history_until_dropped() {
    let engine = Engine::start(Config::default().with_retention(Retention::LastCommits(1))).unwrap();
    let (table, view) = rows_view(&engine);
    engine.commit(|tx| tx.insert(&table, 10)).unwrap();
    let mut consumer = view.consumer("mailer").unwrap();
    let snapshot = consumer.next().unwrap().unwrap();
    assert_eq!((snapshot.lower, snapshot.upper, snapshot.updates), (1, 2, vec![(10, 1, 1)]));
    assert_eq!(
        consumer.acknowledge(5),
        Err(Error::NotDelivered { name: "mailer".into(), requested: 5, delivered: 2 })
    );
    consumer.acknowledge(0).unwrap();
    assert_eq!(consumer.acknowledged(), None, "an upper at or before the start acknowledges nothing");
    consumer.acknowledge(2).unwrap();
    assert!(matches!(view.consumer("mailer"), Err(Error::DuplicateName { .. })), "one handle per name");
    drop(consumer);

    for n in [5, 11, 12, 13] {
        engine.commit(|tx| tx.insert(&table, n)).unwrap();
    }
    assert_eq!(engine.latest().unwrap(), 5);
    assert_eq!(engine.since().unwrap(), 1, "the consumer holds history at its resume point");
    let listed = engine.consumers().unwrap();
    assert_eq!(listed.len(), 1);
    let info = &listed[0];
    assert_eq!(
        (info.name.as_str(), info.view.as_str(), info.start, info.acknowledged, info.hold, info.open),
        ("mailer", "large", 1, Some(2), 1, false)
    );

    let mut consumer = view.consumer("mailer").unwrap();
    let mut resumed: Vec<(u64, Time, isize)> = Vec::new();
    let mut lower = 2;
    while consumer.delivered() < 6 {
        let batch = consumer.next().unwrap().unwrap();
        assert_eq!(batch.lower, lower, "batches are contiguous from the acknowledged upper");
        lower = batch.upper;
        resumed.extend(batch.updates);
    }
    assert_eq!(resumed, vec![(11, 3, 1), (12, 4, 1), (13, 5, 1)], "exactly the changes after upper 2");
    consumer.acknowledge(4).unwrap();
    assert_eq!(engine.since().unwrap(), 3, "the hold moved to the new acknowledgement");

    engine.drop_consumer("mailer").unwrap();
    assert_eq!(engine.since().unwrap(), 5, "dropping released the hold");
    assert!(engine.consumers().unwrap().is_empty());
    match consumer.try_next() {
        Err(Error::ConsumerDropped { name, acknowledged: Some(4), latest: 5, .. }) => {
            assert_eq!(name, "mailer")
        }
        other => panic!("expected ConsumerDropped, got {other:?}"),
    }
    assert!(matches!(consumer.acknowledge(6), Err(Error::ConsumerDropped { .. })));
    assert_eq!(
        engine.drop_consumer("mailer"),
        Err(Error::UnknownName { kind: "consumer", name: "mailer".into() })
    );
    drop(consumer);
    // Opened again: a new consumer, at the latest commit, with a snapshot.
    let mut again = view.consumer("mailer").unwrap();
    let snapshot = again.next().unwrap().unwrap();
    assert_eq!((snapshot.lower, snapshot.updates.len()), (5, 4));
}

#[test]
fn a_consumer_past_the_lag_limit_is_dropped_with_a_typed_error() {
    let config = Config::default().with_retention(Retention::LastCommits(1)).with_consumer_lag_limit(3);
    let engine = Engine::start(config).unwrap();
    let (table, view) = rows_view(&engine);
    engine.commit(|tx| tx.insert(&table, 10)).unwrap();
    let mut consumer = view.consumer("slow").unwrap();
    for n in 0..3 {
        engine.commit(|tx| tx.insert(&table, n)).unwrap();
    }
    assert_eq!((engine.latest().unwrap(), engine.since().unwrap()), (4, 1), "3 behind: still held");
    assert!(consumer.try_next().is_ok());
    engine.commit(|tx| tx.insert(&table, 20)).unwrap();
    assert_eq!(engine.since().unwrap(), 5, "4 behind: dropped, history released");
    match consumer.try_next() {
        Err(Error::ConsumerDropped { acknowledged: None, latest: 5, reason, .. }) => {
            assert!(reason.contains("with_consumer_lag_limit"), "{reason}")
        }
        other => panic!("expected ConsumerDropped, got {other:?}"),
    }
    assert!(engine.consumers().unwrap().is_empty());
}

#[test]
fn names_views_and_streamed_views_are_checked() {
    let engine = Engine::start(Config::default()).unwrap();
    let (table, view) = rows_view(&engine);
    let other = engine
        .view("other", {
            let table = table.clone();
            move |v| v.table(&table)
        })
        .unwrap();
    let streamed = engine
        .streamed_view("streamed", {
            let table = table.clone();
            move |v| v.table(&table)
        })
        .unwrap();
    drop(view.consumer("c").unwrap());
    assert!(matches!(other.consumer("c"), Err(Error::DuplicateName { .. })), "c reads another view");
    assert!(matches!(view.consumer("not a name!"), Err(Error::InvalidName { .. })));
    assert!(matches!(streamed.consumer("s"), Err(Error::NotKept { .. })));
    // Dropping the view drops its consumers (and nothing else's).
    drop(other.consumer("o").unwrap());
    drop(view);
    engine.drop_view("large").unwrap();
    let names: Vec<String> = engine.consumers().unwrap().into_iter().map(|c| c.name).collect();
    assert_eq!(names, vec!["o".to_string()]);
}

/// One step of the stored workload.
#[derive(Debug, Clone)]
enum Step {
    /// Insert (or delete, if the row is held) these rows in one commit.
    Commit(Vec<u8>),
    /// Take what is ready and acknowledge a prefix of the batches taken so far.
    Consume { acknowledge: u8 },
    /// Checkpoint (the hold keeps it at or before the consumer's resume point).
    Checkpoint,
    /// Drop the engine without acknowledging what was taken since, and start it again.
    Restart,
}

impl Arbitrary for Step {
    fn arbitrary(g: &mut Gen) -> Self {
        match u8::arbitrary(g) % 8 {
            0..=3 => Step::Commit((0..1 + u8::arbitrary(g) % 4).map(|_| u8::arbitrary(g) % 12).collect()),
            4 | 5 => Step::Consume { acknowledge: u8::arbitrary(g) },
            6 => Step::Checkpoint,
            _ => Step::Restart,
        }
    }
}

type Opened = (Engine, Table<u8>, View<(u8, isize)>, Consumer<(u8, isize)>);

fn open(dir: &std::path::Path, workers: usize) -> Opened {
    let config = Config::default()
        .with_workers(workers)
        .with_storage(dir)
        .with_retention(Retention::LastCommits(1))
        .with_durability(ivm::Durability::Buffered);
    let engine = Engine::start(config).unwrap();
    let table = engine.table::<u8>("events").unwrap();
    let view = engine
        .view("per_residue", {
            let table = table.clone();
            move |v| v.table(&table).map(|n| n % 3).count()
        })
        .unwrap();
    let consumer = view.consumer("c").unwrap();
    (engine, table, view, consumer)
}

/// The view's contents after `rows` (the table's rows with multiplicities).
fn per_residue(rows: &BTreeMap<u8, isize>) -> BTreeMap<(u8, isize), isize> {
    let mut counts = BTreeMap::<u8, isize>::new();
    for (n, m) in rows {
        *counts.entry(n % 3).or_default() += m;
    }
    counts.into_iter().filter(|(_, c)| *c != 0).map(|(r, c)| ((r, c), 1)).collect()
}

fn resumes_exactly(workers: usize, steps: Vec<Step>) -> TestResult {
    let dir = tempfile::tempdir().unwrap();
    let (mut engine, mut table, mut view, mut consumer) = open(dir.path(), workers);
    // The model: the table's rows after each commit time.
    let mut rows = BTreeMap::<u8, isize>::new();
    let mut model: BTreeMap<Time, BTreeMap<(u8, isize), isize>> = BTreeMap::from([(0, BTreeMap::new())]);
    // What the consumer acknowledged (its batches, in order) and what it took since.
    let mut acknowledged: Vec<Batch<(u8, isize)>> = Vec::new();
    let mut taken: Vec<Batch<(u8, isize)>> = Vec::new();
    for step in steps {
        match step {
            Step::Commit(ns) => {
                let ns: std::collections::BTreeSet<u8> = ns.into_iter().collect();
                let time = engine
                    .commit(|tx| {
                        for &n in &ns {
                            if rows.get(&n).is_some_and(|m| *m > 0) {
                                tx.delete(&table, n);
                            } else {
                                tx.insert(&table, n);
                            }
                        }
                    })
                    .unwrap();
                for n in ns {
                    let held = rows.get(&n).is_some_and(|m| *m > 0);
                    // The transaction's writes to one row add up: apply them in order.
                    *rows.entry(n).or_default() += if held { -1 } else { 1 };
                }
                rows.retain(|_, m| *m != 0);
                model.insert(time, per_residue(&rows));
            }
            Step::Consume { acknowledge } => {
                taken.extend(all_batches(&mut consumer));
                if !taken.is_empty() {
                    let keep = 1 + acknowledge as usize % taken.len();
                    let upper = taken[keep - 1].upper;
                    consumer.acknowledge(upper).unwrap();
                    acknowledged.extend(taken.drain(..keep));
                }
            }
            Step::Checkpoint => {
                engine.checkpoint().unwrap();
            }
            Step::Restart => {
                drop(consumer);
                engine.shutdown();
                taken.clear();
                (engine, table, view, consumer) = open(dir.path(), workers);
            }
        }
    }
    let _ = &view;
    // Everything acknowledged, summed up to each batch's end, is the model at that time; the
    // batches are contiguous.
    let mut sum = BTreeMap::<(u8, isize), isize>::new();
    let mut lower = Some(0);
    for batch in &acknowledged {
        if lower.is_some_and(|lower| lower != batch.lower) {
            return TestResult::error(format!("a gap or an overlap at {}: expected {lower:?}", batch.lower));
        }
        lower = Some(batch.upper);
        for (row, _, diff) in &batch.updates {
            *sum.entry(*row).or_default() += diff;
        }
        sum.retain(|_, d| *d != 0);
        let at = batch.upper - 1;
        let expected =
            model.range(..=at).next_back().map(|(_, contents)| contents.clone()).unwrap_or_default();
        if sum != expected {
            return TestResult::error(format!("summed to {at}: {sum:?}, expected {expected:?}"));
        }
    }
    TestResult::passed()
}

#[test]
fn a_stored_consumer_resumes_exactly_across_restarts_and_checkpoints_on_1_2_and_4_workers() {
    fn one(steps: Vec<Step>) -> TestResult {
        resumes_exactly(1, steps)
    }
    fn two(steps: Vec<Step>) -> TestResult {
        resumes_exactly(2, steps)
    }
    fn four(steps: Vec<Step>) -> TestResult {
        resumes_exactly(4, steps)
    }
    for property in [one as fn(Vec<Step>) -> TestResult, two, four] {
        QuickCheck::new().tests(12).quickcheck(property);
    }
}
