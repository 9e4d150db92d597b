//! Views that read a keyed table's or keyed view's arrangement directly
//! (`Views::keyed_table_arranged`, `Views::keyed_view_arranged`) and join it with `join_core`:
//! on random upserts, deletions and orders, on 1, 2 and 4 workers, they equal the same view
//! written with `join` (which copies the rows out and arranges them again), a recomputation,
//! and a batch run of their own definition. Every keyed operator of `ivm::ops` given such an
//! arrangement equals the same operator given the rows (which `tests/ops.rs` checks against
//! recomputations), and its batch run.

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

/// Commits `step`, keeping `held` (the orders still held) up to date; `None` for a step that
/// has nothing to do (a cancellation with no order held).
fn commit(
    engine: &Engine,
    orders: &Table<(u8, u16)>,
    names: &KeyedTable<u8, u8>,
    held: &mut Vec<(u8, u16)>,
    step: Step,
) -> Option<Time> {
    let t = match step {
        Step::Name(customer, name) => engine.commit(|tx| tx.upsert(names, customer, name)),
        Step::Forget(customer) => engine.commit(|tx| tx.delete_key(names, customer)),
        Step::Order(customer, cents) => {
            held.push((customer, cents));
            engine.commit(|tx| tx.insert(orders, (customer, cents)))
        }
        Step::Cancel(n) if !held.is_empty() => {
            let order = held.remove(n % held.len());
            engine.commit(|tx| tx.delete(orders, order))
        }
        Step::Cancel(_) => return None,
    };
    Some(t.unwrap())
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
        match step {
            Step::Name(customer, name) => _ = named.insert(customer, name),
            Step::Forget(customer) => _ = named.remove(&customer),
            _ => {}
        }
        let Some(t) = commit(&engine, &orders, &names, &mut held, step) else { continue };
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

/// A check at a time, with a batch run or without: `Err` says what disagreed.
type Check = Box<dyn Fn(&Engine, Time, bool) -> Result<(), String>>;

/// Makes two views of one operator, over a shared arrangement and over a copy of its rows, and
/// a check that they (and, if asked, a batch run of the arranged one) agree at a time.
fn same<R: ivm::Row>(engine: &Engine, name: &str, arranged: Definition<R>, copied: Definition<R>) -> Check {
    let on_arrangement = engine.view_from(&format!("{name}_arranged"), &arranged).unwrap();
    let on_copy = engine.view_from(&format!("{name}_copied"), &copied).unwrap();
    let name = name.to_string();
    Box::new(move |engine, t, with_batch| {
        let (read, expected) = (on_arrangement.at(t).unwrap(), on_copy.at(t).unwrap());
        if read != expected {
            return Err(format!("{name} at {t}: {read:?} on the arrangement, {expected:?} on a copy"));
        }
        if !with_batch {
            return Ok(());
        }
        let inputs = BatchInputs::from_engine(engine, t).unwrap();
        let batch = batch::run(on_arrangement.definition(), &inputs, engine.workers()).unwrap();
        if batch != expected {
            return Err(format!("{name} at {t}: the batch run gives {batch:?}, expected {expected:?}"));
        }
        Ok(())
    })
}

/// Every keyed operator of `ivm::ops` given a keyed table's or keyed view's arrangement, beside
/// the same operator given the rows.
fn operators_agree(workers: usize, steps: Vec<Step>) -> TestResult {
    use ivm::ops::{OuterJoin, SemiJoin, TopK};
    use std::cmp::Reverse;

    let engine = Engine::start(Config::default().with_workers(workers)).unwrap();
    let orders = engine.table::<(u8, u16)>("orders").unwrap();
    let names = engine.keyed_table::<u8, u8>("names").unwrap();
    // The orders by customer, several values per key.
    let by_customer = engine.keyed_view_over("by_customer", &orders, |_, orders| orders).unwrap();
    // The same operator given an arrangement (`arranged`) or the rows (`copied`) of a keyed
    // view or table: `input` is bound to one and the other in turn, and `captured` are the
    // handles the body uses besides.
    macro_rules! both {
        ($name:literal, [$($captured:ident),*], |$input:ident, $v:ident| $arranged:expr, $copied:expr, $body:expr) => {{
            let of = |arranged: bool| {
                $(let $captured = $captured.clone();)*
                Definition::new(move |$v| {
                    if arranged {
                        let $input = $arranged;
                        $body
                    } else {
                        let $input = $copied;
                        $body
                    }
                })
            };
            same(&engine, $name, of(true), of(false))
        }};
    }
    macro_rules! of_view {
        ($name:literal, |$input:ident| $body:expr) => {
            both!(
                $name,
                [by_customer],
                |$input, v| v.keyed_view_arranged(&by_customer),
                v.keyed_view(&by_customer),
                $body
            )
        };
    }
    macro_rules! of_table {
        ($name:literal, [$($captured:ident),*], |$input:ident, $v:ident| $body:expr) => {
            both!($name, [names $(, $captured)*], |$input, $v| $v.keyed_table_arranged(&names), $v.keyed_table(&names), $body)
        };
    }
    let checks: Vec<Check> = vec![
        of_view!("count", |orders| orders.count_per_key()),
        of_view!("sum", |orders| orders.sum_per_key()),
        of_view!("min", |orders| orders.min_per_key()),
        of_view!("max", |orders| orders.max_per_key()),
        of_view!("mean", |orders| orders.mean_per_key()),
        of_view!("top", |orders| orders.top_k(2)),
        of_view!("top_by", |orders| orders.top_k_by(2, |cents| Reverse(*cents))),
        of_view!("ranked", |orders| orders.top_k_ranked(2)),
        of_view!("ranked_by", |orders| orders.top_k_by_ranked(2, |cents| Reverse(*cents))),
        of_table!("semi", [orders], |names, v| names
            .semi_join(v.table(&orders).map(|(customer, _)| customer))),
        of_table!("anti", [orders], |names, v| names
            .anti_join(v.table(&orders).map(|(customer, _)| customer))),
        // The arrangement on the left, then on the right, then on both sides.
        of_table!("left", [orders], |names, v| names.left_join(v.table(&orders))),
        of_table!("left_of_orders", [orders], |names, v| v.table(&orders).left_join(names)),
        of_table!("full", [by_customer], |names, v| names.full_join(v.keyed_view_arranged(&by_customer))),
    ];
    let mut held: Vec<(u8, u16)> = Vec::new();
    let last = steps.len().saturating_sub(1);
    for (n, step) in steps.into_iter().enumerate() {
        let Some(t) = commit(&engine, &orders, &names, &mut held, step) else { continue };
        // A batch run starts a dataflow of its own: every tenth step and the last.
        let with_batch = n % 10 == 0 || n == last;
        for check in &checks {
            if let Err(disagreement) = check(&engine, t, with_batch) {
                return TestResult::error(format!("{workers} workers: {disagreement}"));
            }
        }
    }
    TestResult::passed()
}

#[test]
fn keyed_operators_on_shared_arrangements_agree_with_the_same_operators_on_copies() {
    let properties: [fn(Vec<Step>) -> TestResult; 3] = [
        |steps| operators_agree(1, steps),
        |steps| operators_agree(2, steps),
        |steps| operators_agree(4, steps),
    ];
    // Histories of up to 40 steps: each step reads 28 views.
    for property in properties {
        QuickCheck::new().tests(8).rng(quickcheck::Gen::new(40)).quickcheck(property);
    }
}
