//! Retention: which times stay readable, the typed error below them, and flat memory.

use std::time::Duration;

use ivm::{Config, Engine, Error, Retention};

#[test]
fn last_commits_keeps_exactly_the_last_n_times_readable() {
    let engine =
        Engine::start(Config::default().with_workers(2).with_retention(Retention::LastCommits(3))).unwrap();
    let table = engine.table::<u64>("t").unwrap();
    let view = engine
        .view("v", {
            let table = table.clone();
            move |v| v.table(&table).map(|x| x % 3).count()
        })
        .unwrap();
    for i in 1..=10u64 {
        engine.commit(|tx| tx.insert(&table, i)).unwrap();
    }
    assert_eq!(engine.since().unwrap(), 8);
    assert_eq!(view.at(7), Err(Error::Compacted { name: "v".into(), requested: 7, since: 8 }));
    assert_eq!(table.at(1), Err(Error::Compacted { name: "t".into(), requested: 1, since: 8 }));
    for t in 8..=10u64 {
        let expected: Vec<_> = (0..3u64)
            .map(|m| ((m, (1..=t).filter(|i| i % 3 == m).count() as isize), 1))
            .filter(|((_, c), _)| *c > 0)
            .collect();
        assert_eq!(view.at(t).unwrap(), expected, "at {t}");
    }
}

#[test]
fn a_window_keeps_times_within_d_of_the_latest() {
    let engine = Engine::start(Config::default().with_retention(Retention::Window(1_000))).unwrap();
    let table = engine.table::<u32>("t").unwrap();
    engine.commit_at(10_000, |tx| tx.insert(&table, 1)).unwrap();
    engine.commit_at(10_500, |tx| tx.insert(&table, 2)).unwrap();
    engine.commit_at(12_000, |tx| tx.insert(&table, 3)).unwrap();
    assert_eq!(engine.since().unwrap(), 11_000);
    assert_eq!(
        table.at(10_999),
        Err(Error::Compacted { name: "t".into(), requested: 10_999, since: 11_000 })
    );
    assert_eq!(table.at(11_000).unwrap(), vec![(1, 1), (2, 1)]);
    assert_eq!(table.at(12_000).unwrap(), vec![(1, 1), (2, 1), (3, 1)]);
}

#[test]
fn keeping_everything_keeps_every_time_exact() {
    let engine = Engine::start(Config::default().with_workers(2)).unwrap();
    let table = engine.table::<u64>("t").unwrap();
    let total = engine
        .view("total", {
            let table = table.clone();
            move |v| v.table(&table).explode(|x| Some(((), x as isize))).count()
        })
        .unwrap();
    for i in 1..=300u64 {
        engine.commit(|tx| tx.insert(&table, i)).unwrap();
    }
    for t in [1u64, 2, 77, 150, 299, 300] {
        let n = t as isize;
        assert_eq!(total.at(t).unwrap(), vec![(((), n * (n + 1) / 2), 1)], "at {t}");
    }
}

/// Ten rows of a table, each flipped in and out by one commit at a time, and the view `x % 5`.
struct Flips {
    engine: Engine,
    table: ivm::Table<u64>,
    view: ivm::View<u64>,
    present: [bool; 10],
    commits: u64,
}

impl Flips {
    fn start(config: Config) -> Flips {
        let engine = Engine::start(config.with_workers(2)).unwrap();
        let table = engine.table::<u64>("t").unwrap();
        let view = engine
            .view("v", {
                let table = table.clone();
                move |v| v.table(&table).map(|x| x % 5)
            })
            .unwrap();
        Flips { engine, table, view, present: [false; 10], commits: 0 }
    }

    /// Commits `commits` more flips, row after row; returns once the view has caught up.
    fn flip(&mut self, commits: u64) {
        let mut last = 0;
        for _ in 0..commits {
            let row = (self.commits % 10) as usize;
            let table = &self.table;
            let present = self.present[row];
            last = self
                .engine
                .commit(
                    |tx| if present { tx.delete(table, row as u64) } else { tx.insert(table, row as u64) },
                )
                .unwrap();
            self.present[row] = !present;
            self.commits += 1;
        }
        let expected: usize = self.present.iter().filter(|p| **p).count();
        let rows = self.view.at(last).unwrap();
        assert_eq!(rows.iter().map(|(_, d)| *d as usize).sum::<usize>(), expected);
    }
}

#[test]
fn bounded_retention_keeps_memory_flat_however_many_commits() {
    // Ten rows times ten retained commits is about 100 updates, however many commits there
    // were. Differential consolidates old times only when it merges two batches that both
    // hold updates (a batch merged with empty spans keeps its times). A burst stepped under
    // load can leave one batch covering thousands of commits, which idle merging alone never
    // rewrites; the next updates to the shard merge with it (ARCHITECTURE.md, "Retention and
    // compaction"). So after the burst every row flips once more, and the test waits (with a
    // deadline) for idle merging to settle. Without compaction the arrangements would keep one
    // update per commit, 20,000, and never get under the bound.
    let config = Config::default().with_retention(Retention::LastCommits(10)).with_idle_merge_effort(1_000);
    let mut flips = Flips::start(config);
    flips.flip(20_000);
    flips.flip(10);
    let bound = 1_000;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let (table, view) = (flips.table.stats().unwrap(), flips.view.stats().unwrap());
        if table.updates < bound && view.updates < bound {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "after {} commits the table still holds {table:?}, the view {view:?}",
            flips.commits
        );
        std::thread::yield_now();
    }
}

#[test]
fn keeping_everything_holds_one_update_per_commit() {
    // The contrast to the test above: without compaction every flip stays distinct.
    let commits = 5_000;
    let mut flips = Flips::start(Config::default().with_retention(Retention::All));
    flips.flip(commits);
    let (table, view) = (flips.table.stats().unwrap().updates, flips.view.stats().unwrap().updates);
    assert!(table >= commits as usize, "table holds {table} updates");
    assert!(view >= commits as usize, "view holds {view} updates");
}

#[test]
fn keyed_reads_below_since_are_typed_errors_too() {
    let engine =
        Engine::start(Config::default().with_workers(2).with_retention(Retention::LastCommits(1))).unwrap();
    let table = engine.keyed_table::<u32, u32>("kv").unwrap();
    let view = engine
        .keyed_view("by_key", {
            let table = table.clone();
            move |v| v.keyed_table(&table)
        })
        .unwrap();
    for i in 0..4 {
        engine.commit(|tx| tx.upsert(&table, i % 2, i)).unwrap();
    }
    let compacted = Error::Compacted { name: "by_key".into(), requested: 2, since: 4 };
    assert_eq!(view.get(&0, 2), Err(compacted.clone()));
    assert_eq!(view.range(0..2, 2), Err(compacted.clone()));
    assert_eq!(view.at(2), Err(compacted));
    assert_eq!(table.at(2), Err(Error::Compacted { name: "kv".into(), requested: 2, since: 4 }));
    assert_eq!(view.get(&1, 4).unwrap(), vec![(3, 1)]);
}

/// The view `x % 7` over the values `1..=t`, as `at(t)` returns it.
fn residues_through(t: u64) -> Vec<(u64, isize)> {
    (0..7).map(|r| (r, (1..=t).filter(|c| c % 7 == r).count() as isize)).filter(|(_, n)| *n > 0).collect()
}

#[test]
fn a_read_waiting_for_its_time_is_never_answered_from_compacted_state() {
    // Retention of one commit: `since` runs right behind the commits. A read of a time not yet
    // committed waits; the commits that follow move `since` past it before it is answered. The
    // read holds its view's compaction back, so it is answered exactly, or, if it reached the
    // workers only after `since` passed its time, refused. Never a wrong answer.
    let engine =
        Engine::start(Config::default().with_workers(2).with_retention(Retention::LastCommits(1))).unwrap();
    let table = engine.table::<u64>("t").unwrap();
    let view = engine
        .view("v", {
            let table = table.clone();
            move |v| v.table(&table).map(|x| x % 7)
        })
        .unwrap();
    let commits = 20_000u64;
    let committer = {
        let (engine, table) = (engine.clone(), table.clone());
        std::thread::spawn(move || {
            for next in 1..=commits {
                engine.commit(|tx| tx.insert(&table, next)).unwrap();
                // Commits arrive in bursts of 64, so reads are sequenced amid them rather than
                // behind a queue of thousands.
                if next % 64 == 0 {
                    table.at(next).unwrap();
                }
            }
        })
    };
    let (mut answered, mut refused) = (0, 0);
    loop {
        let finished = committer.is_finished();
        // A time just ahead of the commits: the read is sequenced before it is committed.
        let t = (engine.latest().unwrap() + 1).min(commits);
        match view.at(t) {
            Ok(rows) => {
                assert_eq!(rows, residues_through(t), "at({t})");
                answered += 1;
            }
            Err(Error::Compacted { requested, .. }) => {
                assert_eq!(requested, t);
                refused += 1;
            }
            Err(other) => panic!("at({t}): {other}"),
        }
        if finished {
            break;
        }
    }
    committer.join().unwrap();
    assert!(answered > 0, "no read was answered ({refused} refused)");
    println!("{answered} reads answered exactly, {refused} refused");
}

#[test]
fn a_read_given_up_on_stops_holding_its_source() {
    // A read of a time not committed yet waits on the workers, holding the view's compaction at
    // its time. Given up on (a timeout, or a dropped `at_async` future), it is cancelled there:
    // the workers drop it, and it holds nothing.
    let engine = Engine::start(Config::default().with_workers(2)).unwrap();
    let table = engine.table::<u64>("t").unwrap();
    let view = engine
        .view("v", {
            let table = table.clone();
            move |v| v.table(&table).map(|x| x % 7)
        })
        .unwrap();
    let waiting_reads = |view: &ivm::View<u64>| view.stats().unwrap().reads;
    // Waits (at most 20 s) until the number of waiting reads is `count`.
    let until_reads_wait = |view: &ivm::View<u64>, count: usize, otherwise: &str| {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while waiting_reads(view) != count {
            assert!(std::time::Instant::now() < deadline, "{otherwise}");
            std::thread::yield_now();
        }
    };
    // Waiting: both workers hold it.
    let (reader, answered) = std::sync::mpsc::channel();
    std::thread::spawn({
        let view = view.clone();
        move || reader.send(view.at_timeout(1_000, Duration::from_secs(60))).unwrap()
    });
    until_reads_wait(&view, 2, "the read never reached the workers");
    // Timed out: cancelled.
    assert!(matches!(view.at_timeout(1_000, Duration::from_millis(10)), Err(Error::Timeout { .. })));
    let t = engine.commit(|tx| tx.insert(&table, 3)).unwrap();
    assert_eq!(view.at(t).unwrap(), vec![(3, 1)]);
    assert_eq!(waiting_reads(&view), 2, "only the read still waited on holds the view");
    // A dropped future: cancelled.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    let gave_up = runtime
        .block_on(async { tokio::time::timeout(Duration::from_millis(10), view.at_async(2_000)).await });
    assert!(gave_up.is_err());
    // The first read, answered once its time is committed, holds nothing either.
    engine.commit_at(1_000, |tx| tx.insert(&table, 4)).unwrap();
    assert_eq!(answered.recv().unwrap().unwrap(), vec![(3, 1), (4, 1)]);
    until_reads_wait(&view, 0, "a read given up on still waits on the workers");
}
