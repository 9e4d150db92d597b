//! Model test: random transactions over two tables, views with a join, per-key aggregates and a
//! distinct, on 1, 2 and 4 workers. Every `at(t)` for every retained `t` must equal a naive
//! from-scratch recomputation of the view over the inputs as of `t`.

use std::collections::BTreeMap;

use ivm::{Config, Diff, Engine, Retention, Time};
use quickcheck::{Arbitrary, Gen, QuickCheck, TestResult};

/// One write. Keys and values come from small domains so that rows collide and cancel.
#[derive(Debug, Clone)]
enum Op {
    /// Insert `(key, value)` into the bag table `orders`.
    Insert(u8, u8),
    /// Delete one copy of the `index`-th present row of `orders` (if any).
    Delete(usize),
    /// Set the value of `key` in the keyed table `prices`.
    Upsert(u8, u8),
    /// Remove `key` from `prices`.
    DeleteKey(u8),
}

impl Arbitrary for Op {
    fn arbitrary(g: &mut Gen) -> Op {
        let key = u8::arbitrary(g) % 6;
        let value = u8::arbitrary(g) % 4;
        match u8::arbitrary(g) % 8 {
            0..=2 => Op::Insert(key, value),
            3..=4 => Op::Delete(usize::arbitrary(g)),
            5..=6 => Op::Upsert(key, value),
            _ => Op::DeleteKey(key),
        }
    }
}

/// A transaction, committed at an engine-assigned time or `gap` after the last one.
#[derive(Debug, Clone)]
struct Txn {
    ops: Vec<Op>,
    gap: Option<u8>,
}

impl Arbitrary for Txn {
    fn arbitrary(g: &mut Gen) -> Txn {
        let len = usize::arbitrary(g) % 7;
        let gap = if bool::arbitrary(g) { None } else { Some(1 + u8::arbitrary(g) % 5) };
        Txn { ops: (0..len).map(|_| Op::arbitrary(g)).collect(), gap }
    }

    fn shrink(&self) -> Box<dyn Iterator<Item = Txn>> {
        let gap = self.gap;
        Box::new(self.ops.shrink().map(move |ops| Txn { ops, gap }))
    }
}

#[derive(Debug, Clone)]
struct History {
    txns: Vec<Txn>,
    retention: Option<u8>,
}

impl Arbitrary for History {
    fn arbitrary(g: &mut Gen) -> History {
        let len = 1 + usize::arbitrary(g) % 10;
        let retention = if bool::arbitrary(g) { None } else { Some(1 + u8::arbitrary(g) % 4) };
        History { txns: (0..len).map(|_| Txn::arbitrary(g)).collect(), retention }
    }

    fn shrink(&self) -> Box<dyn Iterator<Item = History>> {
        let retention = self.retention;
        Box::new(self.txns.shrink().filter(|t| !t.is_empty()).map(move |txns| History { txns, retention }))
    }
}

/// The inputs as of one time, kept by the oracle.
#[derive(Debug, Clone, Default)]
struct Inputs {
    orders: BTreeMap<(u8, u8), Diff>,
    prices: BTreeMap<u8, u8>,
}

impl Inputs {
    fn apply(&mut self, op: &Op) -> Option<Op> {
        match *op {
            Op::Insert(k, v) => *self.orders.entry((k, v)).or_default() += 1,
            Op::Delete(index) => {
                if self.orders.is_empty() {
                    return None;
                }
                let row = *self.orders.keys().nth(index % self.orders.len()).unwrap();
                let count = self.orders.get_mut(&row).unwrap();
                *count -= 1;
                if *count == 0 {
                    self.orders.remove(&row);
                }
                return Some(Op::Insert(row.0, row.1)); // the row to delete, resolved
            }
            Op::Upsert(k, v) => {
                self.prices.insert(k, v);
            }
            Op::DeleteKey(k) => {
                self.prices.remove(&k);
            }
        }
        Some(op.clone())
    }
}

/// The naive oracles: each view recomputed from scratch over the inputs.
fn joined(inputs: &Inputs) -> Vec<((u8, u8, u8), Diff)> {
    let mut out = BTreeMap::new();
    for (&(k, v), &n) in &inputs.orders {
        if let Some(&p) = inputs.prices.get(&k) {
            *out.entry((k, v, p)).or_insert(0) += n;
        }
    }
    out.into_iter().filter(|(_, n)| *n != 0).collect()
}

/// Per key: (number of orders, sum of their values).
type Aggregate = (u8, (isize, isize));

fn sums(inputs: &Inputs) -> Vec<(Aggregate, Diff)> {
    let mut per_key: BTreeMap<u8, (isize, isize)> = BTreeMap::new();
    for (&(k, v), &n) in &inputs.orders {
        let entry = per_key.entry(k).or_default();
        entry.0 += n;
        entry.1 += n * v as isize;
    }
    per_key.into_iter().filter(|(_, (count, _))| *count != 0).map(|(k, agg)| ((k, agg), 1)).collect()
}

fn distinct_keys(inputs: &Inputs) -> Vec<(u8, Diff)> {
    let mut keys: Vec<u8> = inputs.orders.keys().map(|(k, _)| *k).collect();
    keys.dedup();
    keys.into_iter().map(|k| (k, 1)).collect()
}

fn check(history: History, workers: usize) -> TestResult {
    let retention = match history.retention {
        None => Retention::All,
        Some(n) => Retention::LastCommits(u64::from(n)),
    };
    let engine = Engine::start(Config::default().with_workers(workers).with_retention(retention)).unwrap();
    let orders = engine.table::<(u8, u8)>("orders").unwrap();
    let prices = engine.keyed_table::<u8, u8>("prices").unwrap();
    let join = engine
        .view("join", {
            let (orders, prices) = (orders.clone(), prices.clone());
            move |v| v.table(&orders).join(v.keyed_table(&prices)).map(|(k, (v, p))| (k, v, p))
        })
        .unwrap();
    let aggregate = engine
        .keyed_view("aggregate", {
            let orders = orders.clone();
            move |v| {
                v.table(&orders).reduce(|_key, values, output| {
                    let count: isize = values.iter().map(|(_, n)| *n).sum();
                    let sum: isize = values.iter().map(|(v, n)| **v as isize * *n).sum();
                    output.push(((count, sum), 1));
                })
            }
        })
        .unwrap();
    let distinct = engine
        .view("distinct", {
            let orders = orders.clone();
            move |v| v.table(&orders).map(|(k, _)| k).distinct()
        })
        .unwrap();

    let mut model = Inputs::default();
    let mut snapshots: Vec<(Time, Inputs)> = vec![(0, Inputs::default())];
    for txn in &history.txns {
        let mut tx = engine.transaction();
        for op in &txn.ops {
            match model.apply(op) {
                Some(Op::Insert(k, v)) if matches!(op, Op::Delete(_)) => tx.delete(&orders, (k, v)),
                Some(Op::Insert(k, v)) => tx.insert(&orders, (k, v)),
                Some(Op::Upsert(k, v)) => tx.upsert(&prices, k, v),
                Some(Op::DeleteKey(k)) => tx.delete_key(&prices, k),
                _ => {}
            }
        }
        let last = snapshots.last().unwrap().0;
        let time = match txn.gap {
            None => tx.commit().unwrap(),
            Some(gap) => tx.commit_at(last + u64::from(gap)).unwrap(),
        };
        snapshots.push((time, model.clone()));
    }

    let since = engine.since().unwrap();
    let latest = engine.latest().unwrap();
    for t in since..=latest {
        let inputs = &snapshots.iter().rev().find(|(time, _)| *time <= t).unwrap().1;
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

/// The long sweep: `cargo test --release --test model -- --ignored`.
#[test]
#[ignore]
fn model_sweep() {
    for workers in [1, 2, 4] {
        run(workers, 1_000);
    }
}
