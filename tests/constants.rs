//! Constant rows in a view (`Views::constant`): held once across all workers, from time 0, in
//! every reading (live, late views, subscriptions, batch runs).

use std::time::Duration;

use ivm::batch::{self, BatchInputs};
use ivm::{Config, Definition, Diff, Engine, SubscribeOptions, Table};

const WORKERS: [usize; 3] = [1, 2, 4];

/// Known customers (constants) with their number of orders (a table), zero included.
fn orders_per_customer(orders: &Table<(u32, u64)>) -> Definition<(u32, Diff)> {
    let orders = orders.clone();
    Definition::new(move |v| {
        let known = v.constant([1u32, 2, 3, 4, 5]);
        let ordered = v.table(&orders).map(|(customer, _cents)| customer);
        // Each known customer once plus once per order, minus one: the order count, zeros kept.
        known.concat(ordered).count().map(|(customer, n)| (customer, n - 1))
    })
}

fn expected(counts: [Diff; 5]) -> Vec<((u32, Diff), Diff)> {
    (1..=5).zip(counts).map(|(customer, n)| ((customer, n), 1)).collect()
}

#[test]
fn constant_rows_are_held_once_on_any_number_of_workers() {
    for workers in WORKERS {
        let engine = Engine::start(Config::default().with_workers(workers)).unwrap();
        let orders = engine.table::<(u32, u64)>("orders").unwrap();
        let early = engine.view_from("early", &orders_per_customer(&orders)).unwrap();
        assert_eq!(early.at(0).unwrap(), expected([0; 5]), "workers {workers}, before any commit");
        let t1 = engine.commit(|tx| tx.insert_all(&orders, [(1, 10), (1, 20), (3, 5)])).unwrap();
        let t2 = engine.commit(|tx| tx.delete(&orders, (1, 10))).unwrap();
        // A view created after the commits shows the constants at every retained time.
        let late = engine.view_from("late", &orders_per_customer(&orders)).unwrap();
        for view in [&early, &late] {
            assert_eq!(view.at(0).unwrap(), expected([0; 5]), "workers {workers}");
            assert_eq!(view.at(t1).unwrap(), expected([2, 0, 1, 0, 0]), "workers {workers}");
            assert_eq!(view.at(t2).unwrap(), expected([1, 0, 1, 0, 0]), "workers {workers}");
            let snapshot = view
                .subscribe_with(SubscribeOptions::default().as_of(0))
                .unwrap()
                .next_timeout(Duration::from_secs(60))
                .unwrap()
                .unwrap();
            let rows: Vec<_> = snapshot.updates.into_iter().map(|(row, _t, diff)| (row, diff)).collect();
            assert_eq!(rows, expected([0; 5]), "workers {workers}: the snapshot at 0");
        }
        for t in [0, t1, t2] {
            let inputs = BatchInputs::from_engine(&engine, t).unwrap();
            assert_eq!(batch::run(late.definition(), &inputs, workers).unwrap(), late.at(t).unwrap());
        }
    }
}

#[cfg(feature = "testing")]
#[test]
fn live_streamed_and_batch_readings_agree() {
    use ivm::testing::{History, check};
    let history = History::new()
        .commit(|orders: &Table<(u32, u64)>, tx| tx.insert_all(orders, [(1, 10), (2, 20), (9, 1)]))
        .commit(|orders, tx| tx.delete(orders, (2, 20)))
        .commit_at(10, |orders, tx| tx.insert(orders, (5, 7)));
    for workers in WORKERS {
        let report = check(
            workers,
            |engine| {
                let orders = engine.table::<(u32, u64)>("orders")?;
                let definition = orders_per_customer(&orders);
                Ok((orders, definition))
            },
            &history,
        )
        .unwrap();
        assert_eq!(report.commits, 3);
    }
}

#[test]
fn a_batch_run_over_constants_alone_needs_no_inputs() {
    let definition = Definition::new(|v| v.constant((0..100u32).map(|i| i % 10)).count());
    let expected: Vec<((u32, Diff), Diff)> = (0..10).map(|i| ((i, 10), 1)).collect();
    for workers in WORKERS {
        let inputs = BatchInputs::new().as_of(7);
        assert_eq!(batch::run(&definition, &inputs, workers).unwrap(), expected, "workers {workers}");
    }
}

#[test]
fn repeated_rows_and_exploded_pairs_give_multiplicities() {
    let engine = Engine::start(Config::default().with_workers(2)).unwrap();
    let table = engine.table::<u8>("unused").unwrap();
    let repeated = engine.view("repeated", |v| v.constant(["a", "a", "b"].map(String::from))).unwrap();
    let pairs = engine
        .view("pairs", |v| {
            v.constant([('x', 3), ('y', -1), ('z', 0)]).explode(|(row, diff)| Some((row, diff)))
        })
        .unwrap();
    let t = engine.commit(|tx| tx.insert(&table, 1)).unwrap();
    assert_eq!(repeated.at(t).unwrap(), vec![("a".to_string(), 2), ("b".to_string(), 1)]);
    assert_eq!(pairs.at(t).unwrap(), vec![('x', 3), ('y', -1)]);
}

#[test]
fn a_view_of_constants_alone_is_complete_for_every_time() {
    for workers in WORKERS {
        let engine = Engine::start(Config::default().with_workers(workers)).unwrap();
        let colors =
            engine.view("colors", |v| v.constant(["red", "green", "blue"].map(String::from))).unwrap();
        let expected: Vec<(String, Diff)> =
            ["blue", "green", "red"].into_iter().map(|c| (c.to_string(), 1)).collect();
        assert_eq!(colors.at(0).unwrap(), expected);
        // No commit will ever change it: a read at a later time answers at once.
        assert_eq!(colors.at_timeout(1_000, Duration::from_secs(60)).unwrap(), expected);
        // Its subscription delivers the snapshot; nothing ever changes after it.
        let mut changes = colors.subscribe().unwrap();
        let snapshot = changes.next_timeout(Duration::from_secs(60)).unwrap().unwrap();
        assert_eq!(snapshot.updates.len(), 3, "workers {workers}");
        while let Ok(Some(batch)) = changes.next_timeout(Duration::from_millis(200)) {
            assert!(batch.updates.is_empty(), "workers {workers}: {batch:?}");
        }
    }
}
