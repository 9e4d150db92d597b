//! Dropping tables and views: what waits on a dropped source ends with `Error::Dropped`, the
//! handles made before the drop fail the same way, the name is free again, nothing a view
//! still reads is dropped, and views made after drops still agree with a recomputation.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ivm::Table;
use ivm::{Config, Definition, Diff, Engine, Error, Time, View};
use quickcheck::{Arbitrary, QuickCheck, TestResult};

const WORKERS: [usize; 3] = [1, 2, 4];

fn dropped(name: &str) -> Error {
    Error::Dropped { name: name.into() }
}

/// Waits (a minute at most) until `condition` holds.
fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !condition() {
        assert!(Instant::now() < deadline, "gave up waiting until {what}");
        std::thread::yield_now();
    }
}

#[test]
fn a_dropped_view_ends_its_waiting_reads_and_subscriptions_and_its_old_handles_fail() {
    for workers in WORKERS {
        let engine = Engine::start(Config::default().with_workers(workers)).unwrap();
        let clicks = engine.table::<u64>("clicks").unwrap();
        let parity = engine.view_over("parity", &clicks, |_, clicks| clicks.map(|c| c % 2).count()).unwrap();
        let mut subscription = parity.subscribe().unwrap();
        let t = engine.commit(|tx| tx.insert_all(&clicks, 0..9)).unwrap();
        let waiting = {
            let parity = parity.clone();
            std::thread::spawn(move || parity.at(t + 5))
        };
        wait_until("the read waits on every worker", || parity.stats().unwrap().reads == workers);

        engine.drop_view("parity").unwrap();
        assert_eq!(waiting.join().unwrap(), Err(dropped("parity")), "{workers} workers");

        // The subscription delivers what was complete, then ends with the reason.
        let mut changes = Vec::new();
        let end = loop {
            match subscription.next() {
                Some(Ok(batch)) => changes.extend(batch.updates),
                Some(Err(error)) => break error,
                None => panic!("the subscription ended without an error"),
            }
        };
        assert_eq!(end, dropped("parity"));
        assert!(subscription.is_finished() && subscription.next().is_none());
        let through_t: Diff = changes.iter().filter(|(_, time, _)| *time <= t).map(|(_, _, d)| d).sum();
        assert!(through_t == 0 || through_t == 2, "whole rows only: {changes:?}");

        assert_eq!(parity.at(t), Err(dropped("parity")));
        assert_eq!(parity.subscribe().err(), Some(dropped("parity")));
        assert_eq!(parity.stats().err(), Some(dropped("parity")));
        assert!(matches!(engine.open_view::<(u64, Diff)>("parity"), Err(Error::UnknownName { .. })));
        assert!(matches!(engine.drop_view("parity"), Err(Error::UnknownName { kind: "view", .. })));

        // The name is free for a new view, of another type; the old handle stays dropped.
        let again = engine.view_over("parity", &clicks, |_, clicks| clicks.map(|c| c % 2 == 0)).unwrap();
        let t2 = engine.commit(|tx| tx.insert(&clicks, 10)).unwrap();
        assert_eq!(again.at(t2).unwrap(), vec![(false, 4), (true, 6)]);
        assert_eq!(parity.at(t2), Err(dropped("parity")));
    }
}

#[test]
fn a_dropped_table_refuses_writes_whole_and_its_name_is_free_again() {
    for workers in WORKERS {
        let engine = Engine::start(Config::default().with_workers(workers)).unwrap();
        let events = engine.table::<u32>("events").unwrap();
        let prices = engine.keyed_table::<u32, u32>("prices").unwrap();
        let other = engine.table::<u32>("other").unwrap();
        let t = engine
            .commit(|tx| {
                tx.insert_all(&events, 0..100);
                tx.upsert(&prices, 1, 10);
            })
            .unwrap();
        engine.drop_table("events").unwrap();
        engine.drop_table("prices").unwrap();

        // A transaction that writes to a dropped table commits nothing, not even its other writes.
        let refused = engine.commit(|tx| {
            tx.insert(&other, 1);
            tx.insert(&events, 1);
        });
        assert_eq!(refused, Err(dropped("events")));
        assert_eq!(engine.latest().unwrap(), t, "no time was taken");
        assert_eq!(other.at(t).unwrap(), vec![]);
        assert_eq!(events.at(t), Err(dropped("events")));
        assert_eq!(prices.value(&1, t), Err(dropped("prices")));
        assert!(matches!(engine.open_table::<u32>("events"), Err(Error::UnknownName { .. })));

        // A new table under the name starts empty.
        let events = engine.table::<String>("events").unwrap();
        let t2 = engine.commit(|tx| tx.insert(&events, "new".into())).unwrap();
        assert_eq!(events.at(t2).unwrap(), vec![("new".to_string(), 1)], "{workers} workers");
    }
}

#[test]
fn nothing_a_view_reads_is_dropped_and_the_kind_must_match() {
    let engine = Engine::start(Config::default().with_workers(2)).unwrap();
    let edges = engine.table::<(u32, u32)>("edges").unwrap();
    let names = engine.keyed_table::<u32, String>("names").unwrap();
    let degree = engine.view_over("degree", &edges, |_, edges| edges.map(|(from, _)| from).count()).unwrap();
    let named = engine
        .view_over("named", (&degree, &names), |_, (degree, names)| {
            degree.map(|(node, d)| (node, d)).join(names).map(|(_, (d, name))| (name, d))
        })
        .unwrap();
    let histogram =
        engine.view_over("histogram", &degree, |_, degree| degree.map(|(_, d)| d).count()).unwrap();

    let in_use = |name: &str, readers: &[&str]| Error::InUse {
        name: name.into(),
        readers: readers.iter().map(|r| r.to_string()).collect(),
    };
    assert_eq!(engine.drop_table("edges"), Err(in_use("edges", &["degree"])));
    assert_eq!(engine.drop_view("degree"), Err(in_use("degree", &["histogram", "named"])));
    assert_eq!(engine.drop_table("names"), Err(in_use("names", &["named"])));
    assert!(matches!(engine.drop_table("degree"), Err(Error::KindMismatch { existing: "view", .. })));
    assert!(matches!(engine.drop_view("edges"), Err(Error::KindMismatch { existing: "table", .. })));
    assert!(matches!(engine.drop_view("nope"), Err(Error::UnknownName { .. })));
    assert!(matches!(engine.drop_view(""), Err(Error::InvalidName { .. })));

    // Refused drops changed nothing.
    let t = engine.commit(|tx| tx.insert_all(&edges, [(1, 2), (1, 3)])).unwrap();
    assert_eq!(degree.at(t).unwrap(), vec![((1, 2), 1)]);

    // From the top down, everything goes.
    engine.drop_view("named").unwrap();
    engine.drop_table("names").unwrap();
    assert_eq!(engine.drop_view("degree"), Err(in_use("degree", &["histogram"])));
    engine.drop_view("histogram").unwrap();
    engine.drop_view("degree").unwrap();
    engine.drop_table("edges").unwrap();
    assert_eq!(histogram.at(t), Err(dropped("histogram")));
    assert_eq!(named.at(t), Err(dropped("named")));
}

#[test]
fn a_dropped_view_frees_its_definition_and_its_rows() {
    let engine = Engine::start(Config::default().with_workers(2)).unwrap();
    let numbers = engine.table::<u64>("numbers").unwrap();
    let captured = Arc::new(7u64);
    let weak = Arc::downgrade(&captured);
    let modulo = engine
        .view_over("modulo", &numbers, move |_, numbers| {
            let m = Arc::clone(&captured);
            numbers.map(move |n| n % *m)
        })
        .unwrap();
    let t = engine.commit(|tx| tx.insert_all(&numbers, 0..1000)).unwrap();
    assert_eq!(modulo.at(t).unwrap().len(), 7);
    assert!(modulo.stats().unwrap().updates > 0);
    drop(modulo);
    engine.drop_view("modulo").unwrap();
    // A read that every worker answers comes after the drop on every worker.
    numbers.at(t).unwrap();
    assert_eq!(weak.strong_count(), 0, "the definition and its dataflow are gone");
}

#[test]
fn with_storage_views_drop_and_tables_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = || Config::default().with_workers(2).with_storage(dir.path());
    {
        let engine = Engine::start(config()).unwrap();
        let events = engine.table::<u32>("events").unwrap();
        let _count = engine.view_over("count", &events, |_, events| events.map(|_| ()).count()).unwrap();
        engine.commit(|tx| tx.insert_all(&events, 0..10)).unwrap();
        engine.drop_view("count").unwrap();
        assert_eq!(engine.drop_table("events"), Err(Error::StoredTable { name: "events".into() }));
        let t = engine.latest().unwrap();
        assert_eq!(events.at(t).unwrap().len(), 10, "a refused drop keeps the table");
        engine.shutdown();
    }
    let engine = Engine::start(config()).unwrap();
    let events = engine.table::<u32>("events").unwrap();
    assert_eq!(events.at(engine.latest().unwrap()).unwrap().len(), 10);
}

/// One step of a random workload over one table and a view that is dropped and made again.
#[derive(Clone, Debug)]
enum Step {
    /// Insert (or, if negative, delete a copy of) a value.
    Write(i8),
    /// Drop the view and make it again, from definition `0` or `1`.
    Remake(bool),
}

impl Arbitrary for Step {
    fn arbitrary(g: &mut quickcheck::Gen) -> Self {
        if u8::arbitrary(g) % 5 == 0 {
            Step::Remake(bool::arbitrary(g))
        } else {
            Step::Write(i8::arbitrary(g) % 8)
        }
    }
}

/// The view's definition: the count of each value, or (`second`) of each absolute value.
fn definition(table: &Table<i8>, second: bool) -> Definition<(i8, Diff)> {
    Definition::over(
        table,
        move |_, values| {
            if second { values.map(|x| x.saturating_abs()).count() } else { values.count() }
        },
    )
}

/// The view's rows, recomputed from the table's rows.
fn recomputed(values: &[i8], second: bool) -> Vec<((i8, Diff), Diff)> {
    let mut counts = std::collections::BTreeMap::new();
    for &x in values {
        *counts.entry(if second { x.saturating_abs() } else { x }).or_insert(0) += 1;
    }
    counts.into_iter().map(|row| (row, 1)).collect()
}

fn remade_views_agree_with_a_recomputation(workers: usize, steps: Vec<Step>) -> TestResult {
    let engine = Engine::start(Config::default().with_workers(workers)).unwrap();
    let table = engine.table::<i8>("values").unwrap();
    let mut second = false;
    let mut view: View<(i8, Diff)> = engine.view_from("counts", &definition(&table, second)).unwrap();
    let mut values: Vec<i8> = Vec::new();
    let mut t: Time = engine.latest().unwrap();
    for step in steps {
        match step {
            Step::Write(x) if x >= 0 => {
                t = engine.commit(|tx| tx.insert(&table, x)).unwrap();
                values.push(x);
            }
            Step::Write(x) => {
                let Some(at) = values.iter().position(|&v| v == -x - 1) else { continue };
                t = engine.commit(|tx| tx.delete(&table, -x - 1)).unwrap();
                values.remove(at);
            }
            Step::Remake(definition_1) => {
                engine.drop_view("counts").unwrap();
                assert_eq!(view.at(t), Err(dropped("counts")));
                second = definition_1;
                view = engine.view_from("counts", &definition(&table, second)).unwrap();
            }
        }
        let read = view.at(t).unwrap();
        if read != recomputed(&values, second) {
            return TestResult::error(format!("at {t} on {workers} workers: {read:?}, values {values:?}"));
        }
    }
    TestResult::passed()
}

#[test]
fn views_made_again_after_drops_agree_with_a_recomputation() {
    let properties: [fn(Vec<Step>) -> TestResult; 3] = [
        |steps| remade_views_agree_with_a_recomputation(1, steps),
        |steps| remade_views_agree_with_a_recomputation(2, steps),
        |steps| remade_views_agree_with_a_recomputation(4, steps),
    ];
    for property in properties {
        QuickCheck::new().tests(20).quickcheck(property);
    }
}
