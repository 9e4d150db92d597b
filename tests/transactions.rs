//! Transactions: atomic across tables, timestamps assigned or supplied, many committers.

use std::collections::BTreeSet;
use std::sync::Arc;

use ivm::{Config, Engine, Error};

#[test]
fn commit_returns_increasing_engine_assigned_times() {
    let engine = Engine::start(Config::default()).unwrap();
    let t1 = engine.commit(|_| {}).unwrap();
    let t2 = engine.commit(|_| {}).unwrap();
    assert_eq!((t1, t2), (1, 2));
    assert_eq!(engine.latest().unwrap(), 2);
}

#[test]
fn writes_to_several_tables_become_visible_at_one_time() {
    let engine = Engine::start(Config::default().with_workers(2)).unwrap();
    let accounts = engine.keyed_table::<u32, i64>("accounts").unwrap();
    let ledger = engine.table::<(u32, i64)>("ledger").unwrap();
    // A view that joins both tables: balance minus ledger sum must stay zero at every time.
    let audit = engine
        .view("audit", {
            let (accounts, ledger) = (accounts.clone(), ledger.clone());
            move |v| {
                let balances = v.keyed_table(&accounts).map(|(id, b)| (id, b));
                let sums = v.table(&ledger).explode(|(id, amount)| Some((id, amount as isize)));
                let sums = sums.count().map(|(id, s)| (id, s as i64));
                balances.join(sums).filter(|(_, (b, s))| b != s).map(|(id, _)| id)
            }
        })
        .unwrap();
    let mut times = Vec::new();
    for i in 1..=20i64 {
        let t = engine
            .commit(|tx| {
                tx.upsert(&accounts, 1, i * (i + 1) / 2);
                tx.insert(&ledger, (1, i));
            })
            .unwrap();
        times.push(t);
    }
    for t in times {
        assert_eq!(audit.at(t).unwrap(), vec![], "partial transaction visible at {t}");
    }
}

#[test]
fn caller_supplied_times_must_increase_and_failures_apply_nothing() {
    let engine = Engine::start(Config::default().with_workers(2)).unwrap();
    let table = engine.table::<u32>("t").unwrap();
    assert_eq!(engine.commit_at(100, |tx| tx.insert(&table, 1)).unwrap(), 100);
    assert_eq!(
        engine.commit_at(100, |tx| tx.insert(&table, 2)),
        Err(Error::TimeNotIncreasing { requested: 100, last: 100 })
    );
    assert_eq!(
        engine.commit_at(50, |tx| tx.insert(&table, 3)),
        Err(Error::TimeNotIncreasing { requested: 50, last: 100 })
    );
    assert_eq!(engine.commit_at(u64::MAX, |_| {}), Err(Error::TimeOutOfRange { requested: u64::MAX }));
    // Engine-assigned times continue after the caller's.
    let t = engine.commit(|tx| tx.insert(&table, 4)).unwrap();
    assert_eq!(t, 101);
    assert_eq!(table.at(t).unwrap(), vec![(1, 1), (4, 1)]);
    // Times between commits read the earlier state.
    assert_eq!(table.at(100).unwrap(), vec![(1, 1)]);
    assert_eq!(table.at(99).unwrap(), vec![]);
}

#[test]
fn a_transaction_value_commits_like_the_closure_form() {
    let engine = Engine::start(Config::default()).unwrap();
    let table = engine.table::<u32>("t").unwrap();
    let mut tx = engine.transaction();
    assert!(tx.is_empty());
    tx.insert(&table, 1);
    tx.insert(&table, 2);
    assert_eq!(tx.len(), 2);
    let dropped = {
        let mut tx = engine.transaction();
        tx.insert(&table, 99);
        tx.len()
        // dropped without commit: discarded
    };
    assert_eq!(dropped, 1);
    let t = tx.commit_at(7).unwrap();
    assert_eq!(table.at(t).unwrap(), vec![(1, 1), (2, 1)]);
}

#[test]
fn concurrent_committers_get_distinct_times_and_lose_nothing() {
    let engine = Engine::start(Config::default().with_workers(2)).unwrap();
    let table = engine.table::<(u32, u32)>("t").unwrap();
    let count = engine
        .view("count", {
            let table = table.clone();
            move |v| v.table(&table).map(|_| ()).count()
        })
        .unwrap();
    let engine = Arc::new(engine);
    let threads: Vec<_> = (0..8u32)
        .map(|thread| {
            let (engine, table) = (Arc::clone(&engine), table.clone());
            std::thread::spawn(move || {
                (0..200u32)
                    .map(|i| engine.commit(|tx| tx.insert(&table, (thread, i))).unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let times: Vec<u64> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
    let distinct: BTreeSet<u64> = times.iter().copied().collect();
    assert_eq!(distinct.len(), 1_600);
    let last = *distinct.last().unwrap();
    assert_eq!(last, 1_600);
    assert_eq!(count.at(last).unwrap(), vec![(((), 1_600), 1)]);
}

#[test]
fn a_transaction_counts_its_buffered_writes() {
    let engine = Engine::start(Config::default()).unwrap();
    let bag = engine.table::<u32>("bag").unwrap();
    let keyed = engine.keyed_table::<u32, u32>("keyed").unwrap();
    let mut tx = engine.transaction();
    assert!(tx.is_empty());
    assert_eq!(tx.len(), 0);
    tx.insert(&bag, 1);
    tx.update(&bag, 2, 0); // a zero diff is no write
    assert!(!tx.is_empty());
    tx.upsert(&keyed, 7, 1);
    tx.upsert(&keyed, 7, 2); // one key counts once
    tx.upsert(&keyed, 8, 3);
    tx.insert_all(&bag, [3, 4]);
    assert_eq!(tx.len(), 5);
    let t = tx.commit().unwrap();
    assert_eq!(bag.at(t).unwrap(), vec![(1, 1), (3, 1), (4, 1)]);
    assert_eq!(keyed.at(t).unwrap(), vec![(7, 2), (8, 3)]);
}
