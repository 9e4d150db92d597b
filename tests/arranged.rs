//! Views that read a keyed table's or keyed view's arrangement directly
//! (`Views::keyed_table_arranged`, `Views::keyed_view_arranged`) and join it with `join_core`:
//! on random upserts, deletions and orders, on 1, 2 and 4 workers, they equal the same view
//! written with `join` (which copies the rows out and arranges them again), a recomputation,
//! and a batch run of their own definition.

use std::collections::BTreeMap;

use ivm::batch::{self, BatchInputs};
use ivm::ops::Aggregate;
use ivm::{Config, Definition, Diff, Engine, Error, KeyedTable, KeyedView, Table, Time};
use quickcheck::{Arbitrary, QuickCheck, TestResult};

#[derive(Clone, Debug)]
enum Step {
    /// Name customer `0` as `1`.
    Name(u8, u8),
    /// Forget customer `0`'s name.
    Forget(u8),
    /// An order of customer `0` for `1` cents.
    Order(u8, u16),
    /// Take back the `n`-th order still held.
    Cancel(usize),
}

impl Arbitrary for Step {
    fn arbitrary(g: &mut quickcheck::Gen) -> Self {
        match u8::arbitrary(g) % 6 {
            0 => Step::Name(u8::arbitrary(g) % 5, u8::arbitrary(g) % 3),
            1 => Step::Forget(u8::arbitrary(g) % 5),
            2 => Step::Cancel(usize::arbitrary(g)),
            _ => Step::Order(u8::arbitrary(g) % 5, u16::arbitrary(g) % 100),
        }
    }
}

/// Each order with its customer's name, joined on the keyed table's own arrangement.
fn named_core(orders: &Table<(u8, u16)>, names: &KeyedTable<u8, u8>) -> Definition<(u8, u16)> {
    let (orders, names) = (orders.clone(), names.clone());
    Definition::new(move |v| {
        v.table(&orders)
            .arrange_by_key()
            .join_core(v.keyed_table_arranged(&names), |_, cents, name| Some((*name, *cents)))
    })
}

/// The same, with `join` over the keyed table's pairs.
fn named_join(orders: &Table<(u8, u16)>, names: &KeyedTable<u8, u8>) -> Definition<(u8, u16)> {
    let (orders, names) = (orders.clone(), names.clone());
    Definition::new(move |v| {
        v.table(&orders).join(v.keyed_table(&names)).map(|(_, (cents, name))| (name, cents))
    })
}

/// Each named customer's total, joined on the keyed view of totals' own arrangement.
fn totals_named(totals: &KeyedView<u8, i128>, names: &KeyedTable<u8, u8>) -> Definition<(u8, i128)> {
    let (totals, names) = (totals.clone(), names.clone());
    Definition::new(move |v| {
        v.keyed_view_arranged(&totals)
            .join_core(v.keyed_table_arranged(&names), |_, total, name| Some((*name, *total)))
    })
}

fn agree(workers: usize, steps: Vec<Step>) -> TestResult {
    let engine = Engine::start(Config::default().with_workers(workers)).unwrap();
    let orders = engine.table::<(u8, u16)>("orders").unwrap();
    let names = engine.keyed_table::<u8, u8>("names").unwrap();
    let core = engine.view_from("core", &named_core(&orders, &names)).unwrap();
    let joined = engine.view_from("joined", &named_join(&orders, &names)).unwrap();
    let totals = engine
        .keyed_view_over("totals", &orders, |_, orders| {
            orders.map(|(c, cents)| (c, i128::from(cents))).sum_per_key()
        })
        .unwrap();
    let totals_core = engine.view_from("totals_core", &totals_named(&totals, &names)).unwrap();
    let (mut held, mut named): (Vec<(u8, u16)>, BTreeMap<u8, u8>) = (Vec::new(), BTreeMap::new());
    for step in steps {
        let t: Time = match step {
            Step::Name(customer, name) => {
                named.insert(customer, name);
                engine.commit(|tx| tx.upsert(&names, customer, name)).unwrap()
            }
            Step::Forget(customer) => {
                named.remove(&customer);
                engine.commit(|tx| tx.delete_key(&names, customer)).unwrap()
            }
            Step::Order(customer, cents) => {
                held.push((customer, cents));
                engine.commit(|tx| tx.insert(&orders, (customer, cents))).unwrap()
            }
            Step::Cancel(n) if !held.is_empty() => {
                let order = held.remove(n % held.len());
                engine.commit(|tx| tx.delete(&orders, order)).unwrap()
            }
            Step::Cancel(_) => continue,
        };
        let mut expected: BTreeMap<(u8, u16), Diff> = BTreeMap::new();
        let mut sums: BTreeMap<u8, i128> = BTreeMap::new();
        for (customer, cents) in &held {
            *sums.entry(*customer).or_default() += i128::from(*cents);
            if let Some(name) = named.get(customer) {
                *expected.entry((*name, *cents)).or_default() += 1;
            }
        }
        let expected: Vec<_> = expected.into_iter().collect();
        let mut expected_totals: Vec<((u8, i128), Diff)> = sums
            .into_iter()
            .filter_map(|(customer, sum)| named.get(&customer).map(|name| ((*name, sum), 1)))
            .collect();
        expected_totals.sort();
        ivm::differential_dataflow::consolidation::consolidate(&mut expected_totals);
        let read = core.at(t).unwrap();
        if read != expected || joined.at(t).unwrap() != expected {
            return TestResult::error(format!("{workers} workers at {t}: {read:?}, expected {expected:?}"));
        }
        if totals_core.at(t).unwrap() != expected_totals {
            return TestResult::error(format!(
                "totals at {t}: {:?}, expected {expected_totals:?}",
                totals_core.at(t)
            ));
        }
        let inputs = BatchInputs::from_engine(&engine, t).unwrap();
        if batch::run(core.definition(), &inputs, workers).unwrap() != expected
            || batch::run(totals_core.definition(), &inputs, workers).unwrap() != expected_totals
        {
            return TestResult::error(format!("the batch runs at {t} disagree"));
        }
    }
    TestResult::passed()
}

#[test]
fn joins_on_shared_arrangements_agree_with_joins_on_copies_and_a_recomputation() {
    let properties: [fn(Vec<Step>) -> TestResult; 3] =
        [|steps| agree(1, steps), |steps| agree(2, steps), |steps| agree(4, steps)];
    for property in properties {
        QuickCheck::new().tests(15).quickcheck(property);
    }
}

#[test]
fn an_arranged_read_is_a_read_and_fails_like_one() {
    let engine = Engine::start(Config::default()).unwrap();
    let orders = engine.table::<(u8, u16)>("orders").unwrap();
    let names = engine.keyed_table::<u8, u8>("names").unwrap();
    engine.view_from("core", &named_core(&orders, &names)).unwrap();
    // The view reads the keyed table: it cannot be dropped under it.
    assert!(matches!(engine.drop_table("names"), Err(Error::InUse { .. })));
    // A handle of another engine is refused as with any read.
    let other = Engine::start(Config::default()).unwrap();
    let foreign = other.keyed_table::<u8, u8>("names").unwrap();
    match engine.view_from("foreign", &named_core(&orders, &foreign)) {
        Err(Error::ForeignHandle { name }) => assert_eq!(name, "names"),
        other => panic!("expected ForeignHandle, got {other:?}"),
    }
}
