//! The operator library (`ivm::ops`) against naive oracles.
//!
//! Every test runs seeded random histories of inserts and deletes (a few stray deletions of
//! absent rows among them, for negative multiplicities) over two bag tables on 1, 2 and 4
//! workers, and compares the view at every time from 0 to the last commit with an oracle that
//! recomputes the operator's documented result from the tables' contents in plain Rust
//! (see `common_ops`). Set `IVM_OPS_SEEDS` to sweep more seeds.

use crate::common_ops;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroU64;

use common_ops::{Input, Log, Rng, add, check, minus};
use ivm::ops::*;
use ivm::{Config, Diff, Engine, Time};

// ----- rows ---------------------------------------------------------------------------------

/// A `(key, value)` row from small domains, so keys collide and rows cancel.
fn pair(rng: &mut Rng) -> (u8, u8) {
    (rng.small(4), rng.small(5))
}

/// A key for semi- and anti-joins; inserted twice now and then.
fn key(rng: &mut Rng) -> u8 {
    rng.small(5)
}

/// A `(group, (rank, tiebreak))` row for top-k: ranks tie often.
fn ranked(rng: &mut Rng) -> (u8, (u8, u8)) {
    (rng.small(3), (rng.small(3), rng.small(4)))
}

/// An edge between six nodes.
fn edge(rng: &mut Rng) -> (u8, u8) {
    (rng.small(6), rng.small(6))
}

/// A root among the first three nodes.
fn root(rng: &mut Rng) -> u8 {
    rng.small(3)
}

/// A plain row for windows.
fn item(rng: &mut Rng) -> u8 {
    rng.small(4)
}

/// `(id, start, end)`: an interval of visibility over the times the histories use, sometimes
/// open-ended, sometimes empty.
fn timed(rng: &mut Rng) -> (u8, u8, Option<u8>) {
    let end = if rng.chance(20) { None } else { Some(rng.small(50)) };
    (rng.small(3), rng.small(40), end)
}

/// The second table of tests that read only the first.
fn unused() -> Input<u8> {
    Input::new(|_| 0)
}

// ----- outer joins --------------------------------------------------------------------------

type Pairs = BTreeMap<(u8, u8), Diff>;

/// The total multiplicity of `key` in `rows`.
fn key_count(rows: &Pairs, key: u8) -> Diff {
    rows.iter().filter(|((k, _), _)| *k == key).map(|(_, m)| m).sum()
}

/// Matches multiply; a left row whose key has no positive total on the right is padded.
fn left_join_oracle(left: &Pairs, right: &Pairs) -> BTreeMap<(u8, (u8, Option<u8>)), Diff> {
    let mut out = BTreeMap::new();
    for (&(k, v1), &m1) in left {
        for (&(_, v2), &m2) in right.iter().filter(|((k2, _), _)| *k2 == k) {
            add(&mut out, (k, (v1, Some(v2))), m1 * m2);
        }
        if key_count(right, k) <= 0 {
            add(&mut out, (k, (v1, None)), m1);
        }
    }
    out
}

#[test]
fn left_join_matches_the_oracle() {
    check(
        "left_join",
        Input::new(pair),
        Input::new(pair),
        |a, b| a.left_join(b),
        |a, b, t| left_join_oracle(&a.at(t), &b.at(t)),
    );
}

#[test]
fn full_join_matches_the_oracle() {
    check(
        "full_join",
        Input::new(pair),
        Input::new(pair),
        |a, b| a.full_join(b),
        |a, b, t| {
            let (left, right) = (a.at(t), b.at(t));
            let mut out = BTreeMap::new();
            for ((k, (v1, v2)), m) in left_join_oracle(&left, &right) {
                add(&mut out, (k, (Some(v1), v2)), m);
            }
            for (&(k, v2), &m2) in &right {
                if key_count(&left, k) <= 0 {
                    add(&mut out, (k, (None, Some(v2))), m2);
                }
            }
            out
        },
    );
}

// ----- semi- and anti-joins -----------------------------------------------------------------

/// The rows whose key has a positive multiplicity in `keys` (or not), each as often as held.
fn by_key_presence(rows: &Pairs, keys: &BTreeMap<u8, Diff>, wanted: bool) -> Pairs {
    let present = |k: &u8| keys.get(k).is_some_and(|m| *m > 0);
    rows.iter().filter(|((k, _), _)| present(k) == wanted).map(|(row, m)| (*row, *m)).collect()
}

#[test]
fn semi_join_matches_the_oracle() {
    check(
        "semi_join",
        Input::new(pair),
        Input::new(key),
        |a, b| a.semi_join(b),
        |a, b, t| by_key_presence(&a.at(t), &b.at(t), true),
    );
}

#[test]
fn anti_join_matches_the_oracle() {
    check(
        "anti_join",
        Input::new(pair),
        Input::new(key),
        |a, b| a.anti_join(b),
        |a, b, t| by_key_presence(&a.at(t), &b.at(t), false),
    );
}

// ----- aggregates ---------------------------------------------------------------------------

/// Each key's present values with their multiplicities, sorted by value.
fn groups(log: &Log<(u8, u8)>, t: Time) -> BTreeMap<u8, Vec<(u8, Diff)>> {
    let mut groups: BTreeMap<u8, Vec<(u8, Diff)>> = BTreeMap::new();
    for ((k, v), m) in log.present(t) {
        groups.entry(k).or_default().push((v, m));
    }
    groups
}

/// Applies `fold` to every group, each result once.
fn per_group<O: Ord>(
    log: &Log<(u8, u8)>,
    t: Time,
    fold: impl Fn(&[(u8, Diff)]) -> O,
) -> BTreeMap<(u8, O), Diff> {
    groups(log, t).into_iter().map(|(k, values)| ((k, fold(&values)), 1)).collect()
}

fn total(values: &[(u8, Diff)]) -> Diff {
    values.iter().map(|(_, m)| m).sum()
}

fn sum(values: &[(u8, Diff)]) -> i128 {
    values.iter().map(|(v, m)| i128::from(*v) * *m as i128).sum()
}

#[test]
fn count_per_key_matches_the_oracle() {
    check(
        "count_per_key",
        Input::new(pair),
        unused(),
        |a, _| a.count_per_key(),
        |a, _, t| per_group(a, t, total),
    );
}

#[test]
fn sum_per_key_matches_the_oracle() {
    check("sum_per_key", Input::new(pair), unused(), |a, _| a.sum_per_key(), |a, _, t| per_group(a, t, sum));
}

#[test]
fn min_per_key_matches_the_oracle() {
    check(
        "min_per_key",
        Input::new(pair),
        unused(),
        |a, _| a.min_per_key(),
        |a, _, t| {
            per_group(a, t, |values| values.iter().map(|(v, _)| *v).min().expect("groups are non-empty"))
        },
    );
}

#[test]
fn max_per_key_matches_the_oracle() {
    check(
        "max_per_key",
        Input::new(pair),
        unused(),
        |a, _| a.max_per_key(),
        |a, _, t| {
            per_group(a, t, |values| values.iter().map(|(v, _)| *v).max().expect("groups are non-empty"))
        },
    );
}

#[test]
fn mean_per_key_matches_the_oracle() {
    check(
        "mean_per_key",
        Input::new(pair),
        unused(),
        |a, _| a.mean_per_key(),
        |a, _, t| {
            per_group(a, t, |values| Mean::new(sum(values), total(values)).expect("present values count"))
        },
    );
}

// ----- top-k --------------------------------------------------------------------------------

/// The first `k` copies of each group's present values in `order` (then by value), best
/// first.
fn top_k_places<O: Ord>(
    log: &Log<(u8, (u8, u8))>,
    t: Time,
    k: usize,
    order: impl Fn(&(u8, u8)) -> O,
) -> BTreeMap<u8, Vec<(u8, u8)>> {
    let mut by_group: BTreeMap<u8, Vec<(u8, u8)>> = BTreeMap::new();
    for ((group, value), m) in log.present(t) {
        by_group.entry(group).or_default().extend((0..m).map(|_| value));
    }
    for copies in by_group.values_mut() {
        copies.sort_by(|x, y| order(x).cmp(&order(y)).then(x.cmp(y)));
        copies.truncate(k);
    }
    by_group
}

/// The places of [`top_k_places`] as rows (copies adding up).
fn top_k_oracle<O: Ord>(
    log: &Log<(u8, (u8, u8))>,
    t: Time,
    k: usize,
    order: impl Fn(&(u8, u8)) -> O,
) -> BTreeMap<(u8, (u8, u8)), Diff> {
    let mut out = BTreeMap::new();
    for (group, places) in top_k_places(log, t, k, order) {
        for value in places {
            add(&mut out, (group, value), 1);
        }
    }
    out
}

/// A ranked top-k's value: `(rank, value)`.
type Place = (usize, (u8, u8));

/// The places of [`top_k_places`] numbered from 1, one row each.
fn ranked_oracle<O: Ord>(
    log: &Log<(u8, (u8, u8))>,
    t: Time,
    k: usize,
    order: impl Fn(&(u8, u8)) -> O,
) -> BTreeMap<(u8, Place), Diff> {
    let mut out = BTreeMap::new();
    for (group, places) in top_k_places(log, t, k, order) {
        for (place, value) in places.into_iter().enumerate() {
            add(&mut out, (group, (place + 1, value)), 1);
        }
    }
    out
}

#[test]
fn top_k_matches_the_oracle() {
    for k in [1, 3] {
        check(
            "top_k",
            Input::new(ranked),
            unused(),
            move |a, _| a.top_k(k),
            move |a, _, t| top_k_oracle(a, t, k, |_| ()),
        );
    }
}

#[test]
fn top_k_by_breaks_ties_by_the_whole_row() {
    // Largest rank first; equal ranks by the whole value, ascending.
    check(
        "top_k_by",
        Input::new(ranked),
        unused(),
        |a, _| a.top_k_by(2, |(rank, _)| Reverse(*rank)),
        |a, _, t| top_k_oracle(a, t, 2, |(rank, _)| Reverse(*rank)),
    );
}

#[test]
fn top_k_ranked_numbers_the_places_of_top_k() {
    for k in [1, 3] {
        check(
            "top_k_ranked",
            Input::new(ranked),
            unused(),
            move |a, _| a.top_k_ranked(k),
            move |a, _, t| ranked_oracle(a, t, k, |_| ()),
        );
    }
}

#[test]
fn top_k_by_ranked_numbers_the_places_of_top_k_by() {
    check(
        "top_k_by_ranked",
        Input::new(ranked),
        unused(),
        |a, _| a.top_k_by_ranked(2, |(rank, _)| Reverse(*rank)),
        |a, _, t| ranked_oracle(a, t, 2, |(rank, _)| Reverse(*rank)),
    );
}

#[test]
fn a_ranked_top_k_reads_in_rank_order_and_moves_up_when_the_top_row_goes() {
    for workers in common_ops::WORKERS {
        let engine = Engine::start(Config::default().with_workers(workers)).unwrap();
        let scores = engine.table::<(char, u32)>("scores").unwrap();
        let best = engine
            .keyed_view_over("best", &scores, |_, scores| scores.top_k_by_ranked(3, |score| Reverse(*score)))
            .unwrap();
        let t = engine
            .commit(|tx| tx.insert_all(&scores, [('a', 5), ('a', 9), ('a', 7), ('a', 9), ('a', 1)]))
            .unwrap();
        // Best first, whatever the value order; the two copies of 9 fill two places.
        assert_eq!(
            best.get(&'a', t).unwrap(),
            vec![((1, 9), 1), ((2, 9), 1), ((3, 7), 1)],
            "{workers} workers"
        );
        let t = engine.commit(|tx| tx.delete(&scores, ('a', 9))).unwrap();
        assert_eq!(
            best.get(&'a', t).unwrap(),
            vec![((1, 9), 1), ((2, 7), 1), ((3, 5), 1)],
            "{workers} workers"
        );
        let t = engine.commit(|tx| tx.delete(&scores, ('a', 9))).unwrap();
        assert_eq!(
            best.get(&'a', t).unwrap(),
            vec![((1, 7), 1), ((2, 5), 1), ((3, 1), 1)],
            "{workers} workers"
        );
        let t = engine.commit(|tx| tx.delete(&scores, ('a', 7))).unwrap();
        assert_eq!(best.get(&'a', t).unwrap(), vec![((1, 5), 1), ((2, 1), 1)], "{workers} workers");
        // The plain read of the ranked rows is the ranking itself.
        let t = engine.commit(|tx| tx.insert(&scores, ('b', 3))).unwrap();
        let ranking: Vec<(char, usize, u32)> =
            best.at(t).unwrap().into_iter().map(|((key, (rank, score)), _)| (key, rank, score)).collect();
        assert_eq!(ranking, vec![('a', 1, 5), ('a', 2, 1), ('b', 1, 3)]);
        engine.shutdown();
    }
}

// ----- totals -------------------------------------------------------------------------------

#[test]
fn count_total_matches_the_oracle() {
    check(
        "count_total",
        Input::new(pair),
        unused(),
        |a, _| a.count_total(),
        |a, _, t| BTreeMap::from([(a.present(t).values().sum::<Diff>(), 1)]),
    );
}

#[test]
fn sum_total_matches_the_oracle() {
    check(
        "sum_total",
        Input::new(item),
        unused(),
        |a, _| a.sum_total(),
        |a, _, t| {
            BTreeMap::from([(a.present(t).iter().map(|(v, m)| i128::from(*v) * *m as i128).sum::<i128>(), 1)])
        },
    );
}

#[test]
fn totals_are_zero_on_an_empty_input_and_return_to_zero_when_it_empties() {
    for workers in common_ops::WORKERS {
        let engine = Engine::start(Config::default().with_workers(workers)).unwrap();
        let amounts = engine.table::<i64>("amounts").unwrap();
        let count = engine.view_over("count", &amounts, |_, amounts| amounts.count_total()).unwrap();
        let sum = engine.view_over("sum", &amounts, |_, amounts| amounts.sum_total()).unwrap();
        let totals = |t: Time| (count.at(t).unwrap(), sum.at(t).unwrap());
        assert_eq!(totals(0), (vec![(0, 1)], vec![(0, 1)]), "{workers} workers");
        let t1 = engine.commit(|tx| tx.insert_all(&amounts, (-20..=30).chain([7, 7]))).unwrap();
        assert_eq!(totals(t1), (vec![(53, 1)], vec![(269, 1)]), "{workers} workers");
        // Values that sum to zero: one row, 0, counted.
        let t2 = engine
            .commit(|tx| {
                tx.update(&amounts, 7, -2);
                (21..=30).for_each(|v| tx.delete(&amounts, v));
            })
            .unwrap();
        assert_eq!(totals(t2), (vec![(41, 1)], vec![(0, 1)]), "{workers} workers");
        // Everything deleted: back to 0, not to no row.
        let t3 = engine.commit(|tx| (-20..=20).for_each(|v| tx.delete(&amounts, v))).unwrap();
        assert_eq!(totals(t3), (vec![(0, 1)], vec![(0, 1)]), "{workers} workers");
        // A stray deletion leaves a -1 in the table; totals count present rows only.
        let t4 = engine.commit(|tx| tx.delete(&amounts, 99)).unwrap();
        assert_eq!(totals(t4), (vec![(0, 1)], vec![(0, 1)]), "{workers} workers");
        let t5 = engine.commit(|tx| tx.insert_all(&amounts, [4, 4])).unwrap();
        assert_eq!(totals(t5), (vec![(2, 1)], vec![(8, 1)]), "{workers} workers");
        // A view created late shows the same history, zeros included.
        let late = engine.view_over("late", &amounts, |_, amounts| amounts.count_total()).unwrap();
        for (t, expected) in [(0, 0), (t1, 53), (t3, 0), (t5, 2)] {
            assert_eq!(late.rows_at(t).unwrap(), vec![expected], "time {t}, {workers} workers");
        }
        engine.shutdown();
    }
}

// ----- reachability -------------------------------------------------------------------------

/// Breadth-first search over the present edges from the present roots.
fn bfs(edges: &Log<(u8, u8)>, roots: &Log<u8>, t: Time) -> BTreeMap<u8, Diff> {
    let edges: Vec<(u8, u8)> = edges.present(t).into_keys().collect();
    let mut seen: BTreeSet<u8> = roots.present(t).into_keys().collect();
    let mut frontier: Vec<u8> = seen.iter().copied().collect();
    while let Some(node) = frontier.pop() {
        for &(_, to) in edges.iter().filter(|(from, _)| *from == node) {
            if seen.insert(to) {
                frontier.push(to);
            }
        }
    }
    seen.into_iter().map(|node| (node, 1)).collect()
}

#[test]
fn reachable_matches_breadth_first_search() {
    let edges = Input { row: edge, deletes: 35, strays: 3 };
    check("reachable", edges, Input::new(root), reachable, bfs);
}

// ----- windows ------------------------------------------------------------------------------

/// For each window `[s, s + width)` with `s` a multiple of `hop` and `s <= t`: the change the
/// commits in it (up to `t`) made to the table, i.e. the table at its end minus before it.
fn windows_oracle(log: &Log<u8>, t: Time, width: Time, hop: Time) -> BTreeMap<(Time, u8), Diff> {
    let mut out = BTreeMap::new();
    for start in (0..=t).filter(|s| s % hop == 0) {
        let before = if start == 0 { BTreeMap::new() } else { log.at(start - 1) };
        let after = log.at((start + width - 1).min(t));
        out.extend(minus(&after, &before).into_iter().map(|(row, m)| ((start, row), m)));
    }
    out
}

fn nonzero(n: u64) -> NonZeroU64 {
    NonZeroU64::new(n).expect("a positive width")
}

#[test]
fn tumbling_windows_hold_the_changes_committed_in_them() {
    for width in [1, 4] {
        check(
            "tumbling",
            Input::new(item),
            unused(),
            move |a, _| a.tumbling_window(nonzero(width)),
            move |a, _, t| windows_oracle(a, t, width, width),
        );
    }
}

#[test]
fn hopping_windows_hold_the_changes_committed_in_them() {
    // Overlapping windows, windows with gaps between them, and hop = width (tumbling).
    for (width, hop) in [(6, 4), (5, 2), (2, 5), (3, 3)] {
        check(
            "hopping",
            Input::new(item),
            unused(),
            move |a, _| a.hopping_window(nonzero(width), nonzero(hop)),
            move |a, _, t| windows_oracle(a, t, width, hop),
        );
    }
}

// ----- temporal filter ----------------------------------------------------------------------

type Timed = (u8, u8, Option<u8>);

fn interval(&(_, start, end): &Timed) -> (Time, Option<Time>) {
    (Time::from(start), end.map(Time::from))
}

#[test]
fn temporal_filter_shows_rows_during_their_interval() {
    check(
        "temporal_filter",
        Input::new(timed),
        unused(),
        |a, _| a.temporal_filter(interval),
        |a, _, t| {
            let visible = |row: &Timed| {
                let (start, end) = interval(row);
                start <= t && end.is_none_or(|end| t < end)
            };
            a.at(t).into_iter().filter(|(row, _)| visible(row)).collect()
        },
    );
}

#[test]
fn temporal_filter_retracts_rows_as_time_passes_without_writes() {
    for workers in common_ops::WORKERS {
        let engine = Engine::start(Config::default().with_workers(workers)).unwrap();
        let offers = engine.table::<Timed>("offers").unwrap();
        let valid = engine
            .view("valid", {
                let offers = offers.clone();
                move |v| v.table(&offers).temporal_filter(interval)
            })
            .unwrap();
        let row = (1, 5, Some(8));
        engine.commit_at(2, |tx| tx.insert(&offers, row)).unwrap();
        assert_eq!(valid.at(2).unwrap(), vec![], "not yet started");
        engine.commit_at(6, |_| {}).unwrap();
        assert_eq!(valid.at(5).unwrap(), vec![(row, 1)], "started, with no write since");
        assert_eq!(valid.at(6).unwrap(), vec![(row, 1)]);
        engine.commit_at(20, |_| {}).unwrap();
        assert_eq!(valid.at(7).unwrap(), vec![(row, 1)]);
        assert_eq!(valid.at(8).unwrap(), vec![], "ended, with no write since");
        assert_eq!(valid.at(20).unwrap(), vec![]);
    }
}

#[test]
fn a_deletion_counts_in_the_window_it_was_committed_in() {
    let engine = Engine::start(Config::default().with_workers(2)).unwrap();
    let items = engine.table::<u8>("items").unwrap();
    let windows = engine
        .view("windows", {
            let items = items.clone();
            move |v| v.table(&items).tumbling_window(nonzero(10))
        })
        .unwrap();
    engine.commit_at(3, |tx| tx.insert(&items, 7)).unwrap();
    engine.commit_at(12, |tx| tx.delete(&items, 7)).unwrap();
    engine.commit_at(14, |tx| tx.insert(&items, 8)).unwrap();
    engine.commit_at(15, |tx| tx.delete(&items, 8)).unwrap();
    // Window 0 gained 7; window 10 lost it, and 8 came and went within it.
    assert_eq!(windows.at(15).unwrap(), vec![((0, 7), 1), ((10, 7), -1)]);
    assert_eq!(windows.at(14).unwrap(), vec![((0, 7), 1), ((10, 7), -1), ((10, 8), 1)]);
}

// ----- composition --------------------------------------------------------------------------

#[test]
fn rows_committed_per_window_compose_with_aggregates() {
    check(
        "windowed_counts",
        Input::new(item),
        unused(),
        |a, _| a.tumbling_window(nonzero(4)).count_per_key(),
        |a, _, t| {
            let mut counts = BTreeMap::new();
            for ((start, _row), m) in windows_oracle(a, t, 4, 4).into_iter().filter(|(_, m)| *m > 0) {
                *counts.entry(start).or_insert(0) += m;
            }
            counts.into_iter().map(|(start, n)| ((start, n), 1)).collect()
        },
    );
}
