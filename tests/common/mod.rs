//! What the model tests share: random histories over three tables, the views under test, and
//! naive oracles that recompute each view from scratch.
#![allow(dead_code)]

use std::collections::BTreeMap;

use ivm::{Config, Diff, Engine, KeyedTable, KeyedView, Retention, Table, Time, View};
use quickcheck::{Arbitrary, Gen};

/// One write. Keys and values come from small domains so that rows collide and cancel.
#[derive(Debug, Clone)]
pub enum Op {
    /// Insert `(key, value)` into the bag table `orders`.
    Insert(u8, u8),
    /// Delete one copy of the `index`-th present row of `orders` (if any).
    Delete(usize),
    /// Set the value of `key` in the keyed table `prices`.
    Upsert(u8, u8),
    /// Remove `key` from `prices`.
    DeleteKey(u8),
    /// Insert `key` into the bag table `watch`.
    Watch(u8),
    /// Delete one copy of the `index`-th present row of `watch` (if any).
    Unwatch(usize),
}

impl Arbitrary for Op {
    fn arbitrary(g: &mut Gen) -> Op {
        let key = u8::arbitrary(g) % 6;
        let value = u8::arbitrary(g) % 4;
        match u8::arbitrary(g) % 10 {
            0..=2 => Op::Insert(key, value),
            3..=4 => Op::Delete(usize::arbitrary(g)),
            5..=6 => Op::Upsert(key, value),
            7 => Op::DeleteKey(key),
            8 => Op::Watch(key),
            _ => Op::Unwatch(usize::arbitrary(g)),
        }
    }
}

/// A transaction, committed at an engine-assigned time or `gap` after the last one.
#[derive(Debug, Clone)]
pub struct Txn {
    pub ops: Vec<Op>,
    pub gap: Option<u8>,
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
pub struct History {
    pub txns: Vec<Txn>,
    pub retention: Option<u8>,
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
pub struct Inputs {
    pub orders: BTreeMap<(u8, u8), Diff>,
    pub prices: BTreeMap<u8, u8>,
    pub watch: BTreeMap<u8, Diff>,
}

impl Inputs {
    pub fn apply(&mut self, op: &Op) -> Option<Op> {
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
            Op::Watch(k) => *self.watch.entry(k).or_default() += 1,
            Op::Unwatch(index) => {
                if self.watch.is_empty() {
                    return None;
                }
                let key = *self.watch.keys().nth(index % self.watch.len()).unwrap();
                let count = self.watch.get_mut(&key).unwrap();
                *count -= 1;
                if *count == 0 {
                    self.watch.remove(&key);
                }
                return Some(Op::Watch(key)); // the row to delete, resolved
            }
        }
        Some(op.clone())
    }
}

/// The naive oracles: each view recomputed from scratch over the inputs.
pub fn joined(inputs: &Inputs) -> Vec<((u8, u8, u8), Diff)> {
    let mut out = BTreeMap::new();
    for (&(k, v), &n) in &inputs.orders {
        if let Some(&p) = inputs.prices.get(&k) {
            *out.entry((k, v, p)).or_insert(0) += n;
        }
    }
    out.into_iter().filter(|(_, n)| *n != 0).collect()
}

/// Per key: (number of orders, sum of their values).
pub type Aggregate = (u8, (isize, isize));

pub fn sums(inputs: &Inputs) -> Vec<(Aggregate, Diff)> {
    let mut per_key: BTreeMap<u8, (isize, isize)> = BTreeMap::new();
    for (&(k, v), &n) in &inputs.orders {
        let entry = per_key.entry(k).or_default();
        entry.0 += n;
        entry.1 += n * v as isize;
    }
    per_key.into_iter().filter(|(_, (count, _))| *count != 0).map(|(k, agg)| ((k, agg), 1)).collect()
}

pub fn distinct_keys(inputs: &Inputs) -> Vec<(u8, Diff)> {
    let mut keys: Vec<u8> = inputs.orders.keys().map(|(k, _)| *k).collect();
    keys.dedup();
    keys.into_iter().map(|k| (k, 1)).collect()
}

/// For each watched key: its smallest order value, with the key's price if it has one.
pub type Watched = (u8, (u8, Option<u8>));

pub fn watched(inputs: &Inputs) -> Vec<(Watched, Diff)> {
    let mut out = Vec::new();
    for key in inputs.watch.keys() {
        let mut values: Vec<u8> = Vec::new();
        for (&(k, v), &n) in &inputs.orders {
            if k == *key {
                values.extend(std::iter::repeat_n(v, n.max(0) as usize));
            }
        }
        values.sort();
        values.truncate(1);
        let mut counted: BTreeMap<u8, Diff> = BTreeMap::new();
        for v in values {
            *counted.entry(v).or_default() += 1;
        }
        for (v, n) in counted {
            out.push(((*key, (v, inputs.prices.get(key).copied())), n));
        }
    }
    out
}

/// An engine with the three tables and the four views under test.
pub struct Setup {
    pub engine: Engine,
    pub orders: Table<(u8, u8)>,
    pub prices: KeyedTable<u8, u8>,
    pub watch: Table<u8>,
    pub join: View<(u8, u8, u8)>,
    pub aggregate: KeyedView<u8, (isize, isize)>,
    pub distinct: View<u8>,
    /// Orders of watched keys, top 1 per key, left-joined with prices (three tables, ops).
    pub watched: View<Watched>,
}

impl Setup {
    pub fn new(workers: usize, retention: Retention) -> Setup {
        Setup::with_config(Config::default().with_workers(workers).with_retention(retention))
    }

    /// The tables and views on an engine started with `config` (every process of a cluster
    /// registers them the same way).
    pub fn with_config(config: Config) -> Setup {
        let engine = Engine::start(config).unwrap();
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
        let watch = engine.table::<u8>("watch").unwrap();
        let watched = engine
            .view("watched", {
                let (orders, prices, watch) = (orders.clone(), prices.clone(), watch.clone());
                move |v| {
                    use ivm::ops::*;
                    v.table(&orders).semi_join(v.table(&watch)).top_k(1).left_join(v.keyed_table(&prices))
                }
            })
            .unwrap();
        Setup { engine, orders, prices, watch, join, aggregate, distinct, watched }
    }

    /// Commits `txn`, applying it to `model` too, and returns the commit time.
    pub fn commit(&self, txn: &Txn, model: &mut Inputs, last: Time) -> Time {
        let mut tx = self.engine.transaction();
        for op in &txn.ops {
            match model.apply(op) {
                Some(Op::Insert(k, v)) if matches!(op, Op::Delete(_)) => tx.delete(&self.orders, (k, v)),
                Some(Op::Watch(k)) if matches!(op, Op::Unwatch(_)) => tx.delete(&self.watch, k),
                Some(Op::Watch(k)) => tx.insert(&self.watch, k),
                Some(Op::Insert(k, v)) => tx.insert(&self.orders, (k, v)),
                Some(Op::Upsert(k, v)) => tx.upsert(&self.prices, k, v),
                Some(Op::DeleteKey(k)) => tx.delete_key(&self.prices, k),
                _ => {}
            }
        }
        match txn.gap {
            None => tx.commit().unwrap(),
            Some(gap) => tx.commit_at(last + u64::from(gap)).unwrap(),
        }
    }
}

/// The inputs as of `t`, from `(commit time, inputs after it)` snapshots in time order.
pub fn inputs_at(snapshots: &[(Time, Inputs)], t: Time) -> &Inputs {
    &snapshots.iter().rev().find(|(time, _)| *time <= t).expect("snapshots start at 0").1
}

pub fn retention(history: &History) -> Retention {
    match history.retention {
        None => Retention::All,
        Some(n) => Retention::LastCommits(u64::from(n)),
    }
}
