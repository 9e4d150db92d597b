//! Plain reads beside the exact ones: `rows_at` (rows listed by multiplicity), `value` and
//! `entries_at` (one value per key, checked), their async forms, and the typed errors where the
//! exact answer cannot be said plainly (a negative multiplicity, a key with two values), on 1,
//! 2 and 4 workers. Each plain read is compared with the exact read it is made from.

use ivm::ops::*;
use ivm::{Config, Diff, Engine, Error, Time};

const WORKERS: [usize; 3] = [1, 2, 4];

fn engine(workers: usize) -> Engine {
    Engine::start(Config::default().with_workers(workers)).unwrap()
}

/// The exact answer `rows` with each row repeated by its (positive) multiplicity.
fn listed<R: Clone>(rows: &[(R, Diff)]) -> Vec<R> {
    rows.iter()
        .flat_map(|(row, diff)| std::iter::repeat_n(row.clone(), usize::try_from(*diff).unwrap()))
        .collect()
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(future)
}

#[test]
fn rows_at_lists_each_row_as_often_as_it_is_held_in_row_order() {
    for workers in WORKERS {
        let engine = engine(workers);
        let clicks = engine.table::<u32>("clicks").unwrap();
        let tens = engine.view_over("tens", &clicks, |_, clicks| clicks.map(|page| page / 10)).unwrap();
        assert_eq!(tens.rows_at(0).unwrap(), Vec::<u32>::new());
        let t = engine.commit(|tx| tx.insert_all(&clicks, [93, 71, 75, 71, 12, 99, 93])).unwrap();
        assert_eq!(clicks.rows_at(t).unwrap(), vec![12, 71, 71, 75, 93, 93, 99], "{workers} workers");
        assert_eq!(tens.rows_at(t).unwrap(), vec![1, 7, 7, 7, 9, 9, 9], "{workers} workers");
        assert_eq!(tens.rows_at(t).unwrap(), listed(&tens.at(t).unwrap()));
        let t = engine.commit(|tx| tx.update(&clicks, 71, -2)).unwrap();
        assert_eq!(tens.rows_at(t).unwrap(), vec![1, 7, 9, 9, 9], "{workers} workers");
        assert_eq!(block_on(tens.rows_at_async(t)).unwrap(), vec![1, 7, 9, 9, 9]);
        assert_eq!(block_on(clicks.rows_at_async(t)).unwrap(), vec![12, 75, 93, 93, 99]);
        engine.shutdown();
    }
}

#[test]
fn a_row_deleted_more_often_than_inserted_cannot_be_listed() {
    for workers in WORKERS {
        let engine = engine(workers);
        let tags = engine.table::<String>("tags").unwrap();
        let upper = engine.view_over("upper", &tags, |_, tags| tags.map(|tag| tag.to_uppercase())).unwrap();
        engine.commit(|tx| tx.insert(&tags, "red".into())).unwrap();
        let t = engine.commit(|tx| tx.delete(&tags, "green".into())).unwrap();
        // The exact reads show the -1; the plain ones say why they cannot list it.
        assert_eq!(tags.at(t).unwrap(), vec![("green".to_string(), -1), ("red".to_string(), 1)]);
        let expected = |name: &str, row: &str| Error::NegativeMultiplicity {
            name: name.to_string(),
            row: row.to_string(),
            diff: -1,
            time: t,
        };
        assert_eq!(tags.rows_at(t), Err(expected("tags", "\"green\"")), "{workers} workers");
        assert_eq!(upper.rows_at(t), Err(expected("upper", "\"GREEN\"")), "{workers} workers");
        assert_eq!(block_on(tags.rows_at_async(t)), Err(expected("tags", "\"green\"")));
        assert_eq!(block_on(upper.rows_at_async(t)), Err(expected("upper", "\"GREEN\"")));
        let message = tags.rows_at(t).unwrap_err().to_string();
        assert!(message.contains("\"tags\"") && message.contains("-1"), "{message}");
        // Earlier times are unaffected, and inserting the row back makes it listable again.
        assert_eq!(tags.rows_at(t - 1).unwrap(), vec!["red".to_string()]);
        let t = engine.commit(|tx| tx.insert(&tags, "green".into())).unwrap();
        assert_eq!(tags.rows_at(t).unwrap(), vec!["red".to_string()]);
        engine.shutdown();
    }
}

#[test]
fn a_long_row_is_shortened_in_the_error() {
    let engine = engine(1);
    let notes = engine.table::<String>("notes").unwrap();
    let t = engine.commit(|tx| tx.delete(&notes, "x".repeat(1000))).unwrap();
    match notes.rows_at(t) {
        Err(Error::NegativeMultiplicity { row, .. }) => {
            assert!(row.starts_with("\"xxx") && row.ends_with('…') && row.chars().count() == 65, "{row}")
        }
        other => panic!("expected NegativeMultiplicity, got {other:?}"),
    }
}

#[test]
fn a_keyed_view_gives_one_value_per_key() {
    for workers in WORKERS {
        let engine = engine(workers);
        let orders = engine.table::<(u32, u64)>("orders").unwrap();
        let spend = engine.keyed_view_over("spend", &orders, |_, orders| orders.sum_per_key()).unwrap();
        assert_eq!(spend.value(&1, 0).unwrap(), None);
        assert_eq!(spend.entries_at(0).unwrap(), vec![]);
        let t = engine.commit(|tx| tx.insert_all(&orders, (0..20).map(|i| (i % 7, u64::from(i))))).unwrap();
        let exact = spend.at(t).unwrap();
        let entries = spend.entries_at(t).unwrap();
        assert_eq!(entries, exact.iter().map(|(pair, _)| *pair).collect::<Vec<_>>(), "{workers} workers");
        assert_eq!(entries.len(), 7);
        for (key, total) in &entries {
            assert_eq!(spend.value(key, t).unwrap(), Some(*total), "key {key}, {workers} workers");
            assert_eq!(block_on(spend.value_async(key, t)).unwrap(), Some(*total));
        }
        assert_eq!(spend.value(&7, t).unwrap(), None);
        assert_eq!(block_on(spend.entries_at_async(t)).unwrap(), entries);
        // Deleting a key's last order removes its value.
        let t = engine
            .commit(|tx| {
                tx.delete(&orders, (6, 6));
                tx.delete(&orders, (6, 13));
            })
            .unwrap();
        assert_eq!(spend.value(&6, t).unwrap(), None, "{workers} workers");
        assert_eq!(spend.entries_at(t).unwrap().len(), 6);
        engine.shutdown();
    }
}

#[test]
fn a_keyed_view_with_two_values_for_a_key_is_a_typed_error() {
    for workers in WORKERS {
        let engine = engine(workers);
        let orders = engine.table::<(u32, u64)>("orders").unwrap();
        // Not a function of the key: every order of a customer is a value.
        let wrong = engine.keyed_view_over("wrong", &orders, |_, orders| orders).unwrap();
        let t = engine
            .commit(|tx| tx.insert_all(&orders, [(1, 250), (2, 100), (2, 300), (3, 5), (3, 5)]))
            .unwrap();
        let not_unique = |key: &str, found: &str| Error::KeyNotUnique {
            name: "wrong".to_string(),
            key: key.to_string(),
            found: found.to_string(),
            time: t,
        };
        assert_eq!(wrong.value(&1, t), Ok(Some(250)), "{workers} workers");
        assert_eq!(wrong.value(&2, t), Err(not_unique("2", "[(100, 1), (300, 1)]")), "{workers} workers");
        assert_eq!(wrong.value(&3, t), Err(not_unique("3", "[(5, 2)]")), "{workers} workers");
        assert_eq!(block_on(wrong.value_async(&2, t)), Err(not_unique("2", "[(100, 1), (300, 1)]")));
        // The whole view fails at its first such key; the exact reads still show everything.
        assert_eq!(wrong.entries_at(t), Err(not_unique("2", "[(100, 1), (300, 1)]")), "{workers} workers");
        assert_eq!(block_on(wrong.entries_at_async(t)), Err(not_unique("2", "[(100, 1), (300, 1)]")));
        assert_eq!(wrong.get(&2, t).unwrap(), vec![(100, 1), (300, 1)]);
        let message = wrong.value(&2, t).unwrap_err().to_string();
        assert!(message.contains("\"wrong\"") && message.contains("one value per key"), "{message}");
        // Once each key has one value again, the plain reads answer.
        let t = engine
            .commit(|tx| {
                tx.delete(&orders, (2, 100));
                tx.delete(&orders, (3, 5));
            })
            .unwrap();
        assert_eq!(wrong.entries_at(t).unwrap(), vec![(1, 250), (2, 300), (3, 5)], "{workers} workers");
        engine.shutdown();
    }
}

#[test]
fn a_negative_multiplicity_in_a_keyed_view_is_not_one_value() {
    let engine = engine(2);
    let orders = engine.table::<(u32, u64)>("orders").unwrap();
    let rows = engine.keyed_view_over("rows", &orders, |_, orders| orders).unwrap();
    let t = engine.commit(|tx| tx.delete(&orders, (4, 40))).unwrap();
    let expected =
        Error::KeyNotUnique { name: "rows".into(), key: "4".into(), found: "[(40, -1)]".into(), time: t };
    assert_eq!(rows.value(&4, t), Err(expected.clone()));
    assert_eq!(rows.entries_at(t), Err(expected));
}

#[test]
fn a_keyed_table_answers_the_value_of_a_key() {
    for workers in WORKERS {
        let engine = engine(workers);
        let cities = engine.keyed_table::<u32, String>("cities").unwrap();
        assert_eq!(cities.value(&1, 0).unwrap(), None);
        let t1 = engine
            .commit(|tx| {
                for id in 0..10 {
                    tx.upsert(&cities, id, format!("city {id}"));
                }
            })
            .unwrap();
        for id in 0..10 {
            assert_eq!(cities.value(&id, t1).unwrap(), Some(format!("city {id}")), "{workers} workers");
        }
        let t2 = engine.commit(|tx| tx.upsert(&cities, 3, "Oslo".into())).unwrap();
        assert_eq!(cities.value(&3, t2).unwrap(), Some("Oslo".to_string()));
        assert_eq!(block_on(cities.value_async(&3, t2)).unwrap(), Some("Oslo".to_string()));
        assert_eq!(cities.value(&3, t1).unwrap(), Some("city 3".to_string()), "an older time");
        let t3 = engine.commit(|tx| tx.delete_key(&cities, 3)).unwrap();
        assert_eq!(cities.value(&3, t3).unwrap(), None, "{workers} workers");
        assert_eq!(block_on(cities.value_async(&3, t3)).unwrap(), None);
        engine.shutdown();
    }
}

#[test]
fn deleting_an_absent_key_of_a_keyed_table_does_nothing() {
    for workers in WORKERS {
        let engine = engine(workers);
        let cities = engine.keyed_table::<u32, String>("cities").unwrap();
        let count = engine.view_over("count", &cities, |_, cities| cities.count_total()).unwrap();
        let t1 = engine.commit(|tx| tx.upsert(&cities, 1, "Lyon".into())).unwrap();
        // Key 2 was never there; key 1 is deleted twice, in two commits.
        let t2 = engine.commit(|tx| tx.delete_key(&cities, 2)).unwrap();
        assert_eq!(cities.at(t2).unwrap(), cities.at(t1).unwrap(), "{workers} workers");
        assert_eq!(cities.value(&2, t2).unwrap(), None);
        engine.commit(|tx| tx.delete_key(&cities, 1)).unwrap();
        let t4 = engine.commit(|tx| tx.delete_key(&cities, 1)).unwrap();
        assert_eq!(cities.at(t4).unwrap(), vec![], "{workers} workers");
        assert_eq!(count.at(t4).unwrap(), vec![(0, 1)], "no row is left at -1");
        let t5 = engine.commit(|tx| tx.upsert(&cities, 1, "Oslo".into())).unwrap();
        assert_eq!(cities.at(t5).unwrap(), vec![(1, "Oslo".to_string())]);
        assert_eq!(count.rows_at(t5).unwrap(), vec![1]);
        engine.shutdown();
    }
}

#[test]
fn plain_reads_wait_and_fail_like_the_exact_ones() {
    let engine =
        Engine::start(Config::default().with_workers(2).with_retention(ivm::Retention::LastCommits(1)))
            .unwrap();
    let orders = engine.table::<(u32, u64)>("orders").unwrap();
    let spend = engine.keyed_view_over("spend", &orders, |_, orders| orders.sum_per_key()).unwrap();
    let list = engine.view_over("list", &orders, |_, orders| orders).unwrap();
    let cities = engine.keyed_table::<u32, String>("cities").unwrap();
    let mut t: Time = 0;
    for i in 0..5 {
        t = engine
            .commit(|tx| {
                tx.insert(&orders, (i, 1));
                tx.upsert(&cities, i, "x".into());
            })
            .unwrap();
    }
    let compacted = |error: Error, name: &str| match error {
        Error::Compacted { name: read, requested: 1, .. } => assert_eq!(read, name),
        other => panic!("expected Compacted for {name}, got {other:?}"),
    };
    compacted(orders.rows_at(1).unwrap_err(), "orders");
    compacted(cities.value(&0, 1).unwrap_err(), "cities");
    // Views read older than memory are answered from storage, and there is none here.
    compacted(list.rows_at(1).unwrap_err(), "list");
    compacted(spend.value(&0, 1).unwrap_err(), "spend");
    compacted(spend.entries_at(1).unwrap_err(), "spend");
    assert_eq!(spend.entries_at(t).unwrap().len(), 5);
    engine.shutdown();
    assert_eq!(spend.value(&0, t), Err(Error::Shutdown));
    assert_eq!(orders.rows_at(t), Err(Error::Shutdown));
}
