//! The model-test harness for the operator library: random histories over two bag tables, a
//! log of every update with its commit time for the oracles, and a driver that compares, on 1,
//! 2 and 4 workers, a view with its oracle at every time, and with its two other readings: the
//! subscription summed up to that time, and the one-shot batch run of the same definition over
//! the tables as of that time.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use std::time::Duration;

use ivm::batch::{self, BatchInputs};
use ivm::differential_dataflow::VecCollection;
use ivm::{Batch, Config, Diff, Engine, Row, SubscribeOptions, Table, Time};

/// The worker counts every model runs on.
pub const WORKERS: [usize; 3] = [1, 2, 4];

/// Seeds per worker count in the regular tests; `IVM_OPS_SEEDS` overrides it for sweeps.
pub const SEEDS: u64 = 6;

/// Time added after the last commit by a final empty commit, so that scheduled updates
/// (temporal filters) and open windows are seen to finish.
pub const TAIL: Time = 30;

/// A small deterministic random generator (xorshift64*), so a failing seed reproduces.
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed` (any value, zero included).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A small number in `0..n`, as a `u8`.
    pub fn small(&mut self, n: u8) -> u8 {
        self.below(u64::from(n)) as u8
    }

    /// True with probability `percent`%.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// Every update of one table with its commit time: what the oracles compute from.
#[derive(Debug, Clone)]
pub struct Log<T> {
    updates: Vec<(T, Time, Diff)>,
}

impl<T: Ord + Clone> Log<T> {
    fn new() -> Self {
        Log { updates: Vec::new() }
    }

    /// The table at time `t`: every row with a nonzero multiplicity.
    pub fn at(&self, t: Time) -> BTreeMap<T, Diff> {
        let mut rows = BTreeMap::new();
        for (row, _, diff) in self.updates.iter().filter(|(_, time, _)| *time <= t) {
            *rows.entry(row.clone()).or_insert(0) += diff;
        }
        rows.retain(|_, diff| *diff != 0);
        rows
    }

    /// The rows present at `t` (positive multiplicity), with their multiplicities.
    pub fn present(&self, t: Time) -> BTreeMap<T, Diff> {
        let mut rows = self.at(t);
        rows.retain(|_, diff| *diff > 0);
        rows
    }
}

/// The multiset difference `after - before`, zeros removed.
pub fn minus<T: Ord + Clone>(after: &BTreeMap<T, Diff>, before: &BTreeMap<T, Diff>) -> BTreeMap<T, Diff> {
    let mut delta = after.clone();
    for (row, diff) in before {
        *delta.entry(row.clone()).or_insert(0) -= diff;
    }
    delta.retain(|_, diff| *diff != 0);
    delta
}

/// Adds `diff` to `row` in `rows`, dropping it at zero.
pub fn add<T: Ord>(rows: &mut BTreeMap<T, Diff>, row: T, diff: Diff) {
    match rows.entry(row) {
        Entry::Occupied(mut entry) => {
            *entry.get_mut() += diff;
            if *entry.get() == 0 {
                entry.remove();
            }
        }
        Entry::Vacant(entry) if diff != 0 => {
            entry.insert(diff);
        }
        Entry::Vacant(_) => {}
    }
}

/// One table's share of a random history: how to make rows, how often to delete.
pub struct Input<T> {
    /// Makes a random row.
    pub row: fn(&mut Rng) -> T,
    /// Percent of writes that delete a present row (the rest insert).
    pub deletes: u64,
    /// Percent of writes that delete a random row, present or not (negative multiplicities).
    pub strays: u64,
}

impl<T> Input<T> {
    /// Inserts and deletes of present rows, two to one, and now and then a stray deletion.
    pub fn new(row: fn(&mut Rng) -> T) -> Input<T> {
        Input { row, deletes: 30, strays: 3 }
    }
}

/// A random write, applied to `now` (the table's current rows) and added to `writes`.
fn write<T: Row>(rng: &mut Rng, input: &Input<T>, now: &mut BTreeMap<T, Diff>, writes: &mut Vec<(T, Diff)>) {
    let roll = rng.below(100);
    let present: Vec<&T> = now.iter().filter(|(_, d)| **d > 0).map(|(row, _)| row).collect();
    let (row, diff) = if roll < input.strays {
        ((input.row)(rng), -1)
    } else if roll < input.strays + input.deletes && !present.is_empty() {
        (present[rng.below(present.len() as u64) as usize].clone(), -1)
    } else {
        ((input.row)(rng), 1)
    };
    add(now, row.clone(), diff);
    writes.push((row, diff));
}

/// Random commits to two tables: `(time, writes to a, writes to b)`.
pub type History<A, B> = Vec<(Time, Vec<(A, Diff)>, Vec<(B, Diff)>)>;

/// A random history of 5 to 9 commits at increasing times with gaps, then an empty commit
/// `TAIL` later.
pub fn history<A: Row, B: Row>(rng: &mut Rng, a: &Input<A>, b: &Input<B>) -> History<A, B> {
    let (mut now_a, mut now_b) = (BTreeMap::new(), BTreeMap::new());
    let mut time = 0;
    let mut commits = Vec::new();
    for _ in 0..5 + rng.below(5) {
        time += 1 + rng.below(3);
        let (mut writes_a, mut writes_b) = (Vec::new(), Vec::new());
        for _ in 0..rng.below(7) {
            write(rng, a, &mut now_a, &mut writes_a);
        }
        for _ in 0..rng.below(5) {
            write(rng, b, &mut now_b, &mut writes_b);
        }
        commits.push((time, writes_a, writes_b));
    }
    commits.push((time + TAIL, Vec::new(), Vec::new()));
    commits
}

/// Runs `define` as a view over two bag tables on 1, 2 and 4 workers for several seeded random
/// histories, and checks `view.at(t)` against `oracle(log_a, log_b, t)` for every `t` from 0
/// to the last commit. Fails naming the seed, the worker count and the time; fails too if the
/// oracle was empty at every time (the test would prove nothing).
pub fn check<A, B, R, F>(
    name: &str,
    a: Input<A>,
    b: Input<B>,
    define: F,
    oracle: impl Fn(&Log<A>, &Log<B>, Time) -> BTreeMap<R, Diff>,
) where
    A: Row,
    B: Row,
    R: Row,
    F: for<'s> Fn(
            VecCollection<'s, Time, A, Diff>,
            VecCollection<'s, Time, B, Diff>,
        ) -> VecCollection<'s, Time, R, Diff>
        + Clone
        + Send
        + Sync
        + 'static,
{
    let seeds = std::env::var("IVM_OPS_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(SEEDS);
    let mut nonempty = 0;
    for seed in 0..seeds {
        let history = history(&mut Rng::new(seed), &a, &b);
        for workers in WORKERS {
            nonempty += run(name, seed, workers, &history, define.clone(), &oracle);
        }
    }
    assert!(nonempty > 0, "{name}: the oracle was always empty; the test proves nothing");
}

/// The subscription's updates summed through `t`.
fn summed<R: Row>(batches: &[Batch<R>], t: Time) -> Vec<(R, Diff)> {
    let mut rows = BTreeMap::new();
    for (row, time, diff) in batches.iter().flat_map(|b| &b.updates) {
        if *time <= t {
            add(&mut rows, row.clone(), *diff);
        }
    }
    rows.into_iter().collect()
}

/// One history on one engine; returns how many times the expected result was non-empty.
fn run<A: Row, B: Row, R: Row, F>(
    name: &str,
    seed: u64,
    workers: usize,
    history: &History<A, B>,
    define: F,
    oracle: &impl Fn(&Log<A>, &Log<B>, Time) -> BTreeMap<R, Diff>,
) -> usize
where
    F: for<'s> Fn(
            VecCollection<'s, Time, A, Diff>,
            VecCollection<'s, Time, B, Diff>,
        ) -> VecCollection<'s, Time, R, Diff>
        + Send
        + Sync
        + 'static,
{
    let engine = Engine::start(Config::default().with_workers(workers)).expect("the engine starts");
    let table_a: Table<A> = engine.table("a").expect("a new table");
    let table_b: Table<B> = engine.table("b").expect("a new table");
    let view = engine
        .view(name, {
            let (table_a, table_b) = (table_a.clone(), table_b.clone());
            move |v| define(v.table(&table_a), v.table(&table_b))
        })
        .expect("the view is created");
    let mut subscription = view.subscribe_with(SubscribeOptions::default().as_of(0)).expect("a subscription");
    let (mut log_a, mut log_b) = (Log::new(), Log::new());
    for (time, writes_a, writes_b) in history {
        engine
            .commit_at(*time, |tx| {
                for (row, diff) in writes_a {
                    tx.update(&table_a, row.clone(), *diff);
                }
                for (row, diff) in writes_b {
                    tx.update(&table_b, row.clone(), *diff);
                }
            })
            .expect("the commit succeeds");
        log_a.updates.extend(writes_a.iter().map(|(row, diff)| (row.clone(), *time, *diff)));
        log_b.updates.extend(writes_b.iter().map(|(row, diff)| (row.clone(), *time, *diff)));
    }
    let last = history.last().map_or(0, |(time, _, _)| *time);
    let mut stream: Vec<Batch<R>> = Vec::new();
    while stream.last().is_none_or(|b| b.upper <= last) {
        let batch =
            subscription.next_timeout(Duration::from_secs(60)).expect("a batch").expect("not finished");
        stream.push(batch);
    }
    let commits: Vec<Time> = history.iter().map(|(time, _, _)| *time).collect();
    let mut nonempty = 0;
    for t in 0..=last {
        let expected: Vec<(R, Diff)> =
            oracle(&log_a, &log_b, t).into_iter().filter(|(_, d)| *d != 0).collect();
        let context = || format!("{name}: seed {seed}, {workers} workers, time {t}\nhistory: {history:?}");
        let actual = view.at(t).expect("the view is readable");
        assert_eq!(actual, expected, "at(t) vs the oracle; {}", context());
        assert_eq!(summed(&stream, t), expected, "the summed stream vs the oracle; {}", context());
        // The batch run spawns its own workers: check it at every commit time and the time
        // before each (where the answers change), not at every time in between.
        if commits.contains(&t) || commits.contains(&(t + 1)) {
            let inputs = BatchInputs::from_engine(&engine, t).expect("the tables as of t");
            let batch = batch::run(view.definition(), &inputs, workers).expect("the batch run");
            assert_eq!(batch, expected, "the batch run vs the oracle; {}", context());
        }
        nonempty += usize::from(!expected.is_empty());
    }
    nonempty
}
