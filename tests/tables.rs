//! Bag and keyed tables: what each write does, read back through the table itself.

use ivm::{Config, Engine, Error};

#[test]
fn bag_tables_count_copies() {
    let engine = Engine::start(Config::default().with_workers(2)).unwrap();
    let words = engine.table::<String>("words").unwrap();
    let t1 = engine
        .commit(|tx| {
            tx.insert(&words, "a".to_string());
            tx.insert(&words, "a".to_string());
            tx.insert(&words, "b".to_string());
            tx.update(&words, "c".to_string(), 5);
        })
        .unwrap();
    let t2 = engine
        .commit(|tx| {
            tx.delete(&words, "a".to_string());
            tx.delete(&words, "b".to_string());
            tx.update(&words, "c".to_string(), -2);
            tx.update(&words, "d".to_string(), 0);
        })
        .unwrap();
    assert_eq!(words.at(t1).unwrap(), vec![("a".into(), 2), ("b".into(), 1), ("c".into(), 5)]);
    assert_eq!(words.at(t2).unwrap(), vec![("a".into(), 1), ("c".into(), 3)]);
}

#[test]
fn deleting_a_missing_row_leaves_a_negative_multiplicity() {
    let engine = Engine::start(Config::default()).unwrap();
    let table = engine.table::<u8>("t").unwrap();
    let t = engine.commit(|tx| tx.delete(&table, 9)).unwrap();
    assert_eq!(table.at(t).unwrap(), vec![(9, -1)]);
}

#[test]
fn keyed_tables_replace_and_delete_by_key() {
    let engine = Engine::start(Config::default().with_workers(2)).unwrap();
    let users = engine.keyed_table::<u32, String>("users").unwrap();
    let t1 = engine
        .commit(|tx| {
            tx.upsert(&users, 1, "ann".into());
            tx.upsert(&users, 2, "bob".into());
        })
        .unwrap();
    let t2 = engine
        .commit(|tx| {
            tx.upsert(&users, 1, "anne".into()); // replaces without knowing "ann"
            tx.delete_key(&users, 2);
            tx.delete_key(&users, 3); // not there: nothing happens
        })
        .unwrap();
    let t3 = engine.commit(|tx| tx.upsert(&users, 1, "anne".into())).unwrap(); // same value
    assert_eq!(users.at(t1).unwrap(), vec![(1, "ann".into()), (2, "bob".into())]);
    assert_eq!(users.at(t2).unwrap(), vec![(1, "anne".into())]);
    assert_eq!(users.at(t3).unwrap(), vec![(1, "anne".into())]);
}

#[test]
fn the_last_write_to_a_key_in_a_transaction_wins() {
    let engine = Engine::start(Config::default().with_workers(2)).unwrap();
    let kv = engine.keyed_table::<u32, u32>("kv").unwrap();
    let t = engine
        .commit(|tx| {
            tx.upsert(&kv, 1, 10);
            tx.upsert(&kv, 1, 11);
            tx.upsert(&kv, 2, 20);
            tx.delete_key(&kv, 2);
            tx.delete_key(&kv, 3);
            tx.upsert(&kv, 3, 30);
        })
        .unwrap();
    assert_eq!(kv.at(t).unwrap(), vec![(1, 11), (3, 30)]);
}

#[test]
fn reopening_a_table_returns_the_same_table() {
    let engine = Engine::start(Config::default()).unwrap();
    let first = engine.table::<u64>("t").unwrap();
    let again = engine.table::<u64>("t").unwrap();
    let opened = engine.open_table::<u64>("t").unwrap();
    let t = engine.commit(|tx| tx.insert(&first, 1)).unwrap();
    assert_eq!(again.at(t).unwrap(), vec![(1, 1)]);
    assert_eq!(opened.at(t).unwrap(), vec![(1, 1)]);
}

#[test]
fn a_table_created_after_commits_starts_empty_and_works() {
    let engine = Engine::start(Config::default().with_workers(2)).unwrap();
    let a = engine.table::<u32>("a").unwrap();
    for i in 0..5 {
        engine.commit(|tx| tx.insert(&a, i)).unwrap();
    }
    let b = engine.table::<u32>("b").unwrap();
    assert_eq!(b.at(5).unwrap(), vec![]);
    let t = engine.commit(|tx| tx.insert(&b, 42)).unwrap();
    assert_eq!(b.at(t).unwrap(), vec![(42, 1)]);
    assert_eq!(a.at(t).unwrap().len(), 5);
}

#[test]
fn bulk_inserts_split_across_workers_keep_every_row() {
    let engine = Engine::start(Config::default().with_workers(4)).unwrap();
    let table = engine.table::<(u64, u64)>("big").unwrap();
    let t = engine.commit(|tx| tx.insert_all(&table, (0..20_000u64).map(|i| (i % 100, i)))).unwrap();
    let rows = table.at(t).unwrap();
    assert_eq!(rows.len(), 20_000);
    assert!(rows.iter().all(|(_, diff)| *diff == 1));
    assert_eq!(rows.iter().map(|((_, i), _)| *i).sum::<u64>(), (0..20_000u64).sum::<u64>());
}

#[test]
fn keyed_bulk_upserts_split_across_workers() {
    let engine = Engine::start(Config::default().with_workers(2)).unwrap();
    let kv = engine.keyed_table::<u64, u64>("kv").unwrap();
    let t1 = engine
        .commit(|tx| {
            for k in 0..10_000u64 {
                tx.upsert(&kv, k, k);
            }
        })
        .unwrap();
    let t2 = engine
        .commit(|tx| {
            for k in 0..10_000u64 {
                tx.upsert(&kv, k, k + 1);
            }
        })
        .unwrap();
    assert_eq!(kv.at(t1).unwrap(), (0..10_000).map(|k| (k, k)).collect::<Vec<_>>());
    assert_eq!(kv.at(t2).unwrap(), (0..10_000).map(|k| (k, k + 1)).collect::<Vec<_>>());
}

#[test]
fn a_foreign_table_handle_fails_the_commit_and_applies_nothing() {
    let engine = Engine::start(Config::default()).unwrap();
    let other = Engine::start(Config::default()).unwrap();
    let mine = engine.table::<u32>("t").unwrap();
    let theirs = other.table::<u32>("t").unwrap();
    let error = engine
        .commit(|tx| {
            tx.insert(&mine, 1);
            tx.insert(&theirs, 2);
        })
        .unwrap_err();
    assert_eq!(error, Error::ForeignHandle { name: "t".into() });
    assert_eq!(engine.latest().unwrap(), 0);
    let t = engine.commit(|_| {}).unwrap();
    assert_eq!(mine.at(t).unwrap(), vec![]);
}

#[test]
fn table_stats_count_what_each_table_holds() {
    let engine = Engine::start(Config::default().with_workers(2)).unwrap();
    let bag = engine.table::<u32>("bag").unwrap();
    let keyed = engine.keyed_table::<u32, String>("keyed").unwrap();
    assert_eq!((bag.stats().unwrap().updates, keyed.stats().unwrap().updates), (0, 0));
    let t = engine
        .commit(|tx| {
            tx.insert_all(&bag, 0..10);
            for key in 0..4 {
                tx.upsert(&keyed, key, format!("v{key}"));
            }
        })
        .unwrap();
    // Reading at `t` waits until both arrangements hold the commit.
    assert_eq!((bag.at(t).unwrap().len(), keyed.at(t).unwrap().len()), (10, 4));
    let (bag_stats, keyed_stats) = (bag.stats().unwrap(), keyed.stats().unwrap());
    assert_eq!(bag_stats.updates, 10);
    assert_eq!(keyed_stats.updates, 4);
    assert!(bag_stats.batches >= 1 && keyed_stats.batches >= 1);
    engine.shutdown();
    assert_eq!(keyed.stats(), Err(Error::Shutdown));
}

#[test]
fn a_table_s_history_comes_in_time_order_from_every_worker() {
    let engine = Engine::start(Config::default().with_workers(2)).unwrap();
    let numbers = engine.table::<u64>("numbers").unwrap();
    let prices = engine.keyed_table::<u64, u64>("prices").unwrap();
    let t1 = engine
        .commit(|tx| {
            tx.insert_all(&numbers, [9, 1, 5]);
            tx.upsert(&prices, 1, 10);
            tx.upsert(&prices, 2, 20);
        })
        .unwrap();
    let t2 = engine
        .commit(|tx| {
            tx.delete(&numbers, 5);
            tx.upsert(&prices, 1, 11);
        })
        .unwrap();
    // Rows of every worker, ordered by time first, then by row.
    assert_eq!(numbers.history_at(t2).unwrap(), vec![(1, t1, 1), (5, t1, 1), (9, t1, 1), (5, t2, -1)]);
    assert_eq!(
        prices.history_at(t2).unwrap(),
        vec![((1, 10), t1, 1), ((2, 20), t1, 1), ((1, 10), t2, -1), ((1, 11), t2, 1)]
    );
    assert_eq!(numbers.history_at(t1).unwrap(), vec![(1, t1, 1), (5, t1, 1), (9, t1, 1)]);
}
