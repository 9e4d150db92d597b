//! A named consumer killed with SIGKILL at random moments, 20 times, and started again: the
//! batches it acknowledged, concatenated, are the view's whole change stream, with no gap and
//! no duplicate.
//!
//! The child process commits one transaction after another and consumes its own view: each
//! batch is appended to a file and synced, then acknowledged. Started again, it first cuts the
//! file back to the batches up to the `upper` the engine says it acknowledged (a batch written
//! but not acknowledged before the kill is delivered again). The test checks the file after
//! every kill and at the end: the batches are contiguous from the consumer's first time, and
//! their updates summed through each batch's end equal a recomputation of the view there.

use crate::common_kill;
use std::collections::BTreeMap;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common_kill::{run_and_kill, test_name};

use ivm::{Config, Consumer, Durability, Engine, Retention, Table};

const DIR_VAR: &str = "IVM_CONSUMER_CRASH_DIR";
/// What precedes each upper the child reports acknowledged.
const ACKNOWLEDGED: &str = "acknowledged ";
const FILE: &str = "consumed.txt";

type Opened = (Engine, Table<u64>, Consumer<(u64, isize)>);

/// Transaction `t` inserts `t`; the view counts the rows per residue mod 3.
fn open(dir: &Path) -> Opened {
    let config = Config::default()
        .with_workers(2)
        .with_storage(dir)
        .with_durability(Durability::Buffered)
        .with_retention(Retention::LastCommits(1))
        .with_checkpoint_every(16 << 10);
    let engine = Engine::start(config).unwrap();
    let numbers = engine.table::<u64>("numbers").unwrap();
    let view = engine
        .view("per_residue", {
            let numbers = numbers.clone();
            move |v| v.table(&numbers).map(|t| t % 3).count()
        })
        .unwrap();
    let consumer = view.consumer("auditor").unwrap();
    (engine, numbers, consumer)
}

/// One line of the file: `lower upper r:count:time:diff ...`.
type Line = (u64, u64, Vec<((u64, isize), u64, isize)>);

fn parse(line: &str) -> Option<Line> {
    let mut fields = line.split_whitespace();
    let lower = fields.next()?.parse().ok()?;
    let upper = fields.next()?.parse().ok()?;
    let updates = fields
        .map(|update| {
            let parts: Vec<&str> = update.split(':').collect();
            let number = |i: usize| parts.get(i).and_then(|p| p.parse::<i64>().ok());
            Some(((number(0)? as u64, number(1)? as isize), number(2)? as u64, number(3)? as isize))
        })
        .collect::<Option<Vec<_>>>()?;
    Some((lower, upper, updates))
}

/// The file's complete lines (a line cut by a kill has no newline and is not counted).
fn read_lines(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let complete = text.rfind('\n').map_or("", |end| &text[..=end]);
    complete.lines().map(str::to_string).collect()
}

/// The child: consumes and commits until killed.
#[test]
#[ignore = "run by consumer_crash's test as a child process"]
fn consumer_crash_child() {
    let Ok(dir) = std::env::var(DIR_VAR) else { return };
    let dir = PathBuf::from(dir);
    let (engine, numbers, mut consumer) = open(&dir);
    // Keep exactly the acknowledged batches: those after it will be delivered again.
    let acknowledged = consumer.acknowledged().unwrap_or(0);
    let kept: Vec<String> = read_lines(&dir.join(FILE))
        .into_iter()
        .filter(|line| parse(line).is_some_and(|(_, upper, _)| upper <= acknowledged))
        .collect();
    let mut text = kept.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    std::fs::write(dir.join(FILE), text).unwrap();
    let mut file = std::fs::OpenOptions::new().append(true).open(dir.join(FILE)).unwrap();
    let mut out = std::io::stdout().lock();
    loop {
        let t = engine.latest().unwrap() + 1;
        engine.commit(|tx| tx.insert(&numbers, t)).unwrap();
        while let Some(batch) = consumer.try_next().unwrap() {
            let mut line = format!("{} {}", batch.lower, batch.upper);
            for ((residue, count), time, diff) in &batch.updates {
                line.push_str(&format!(" {residue}:{count}:{time}:{diff}"));
            }
            line.push('\n');
            file.write_all(line.as_bytes()).unwrap();
            file.sync_data().unwrap();
            consumer.acknowledge(batch.upper).unwrap();
            writeln!(out, "{ACKNOWLEDGED}{}", batch.upper).unwrap();
            out.flush().unwrap();
        }
    }
}

/// Checks the file holds a contiguous change stream from time 0 whose sum through each
/// batch's end is the view recomputed there; returns the last batch's upper.
fn check_file(path: &Path, cycle: u64) -> u64 {
    let mut sum = BTreeMap::<(u64, isize), isize>::new();
    let mut lower = 0;
    for line in read_lines(path) {
        let (batch_lower, upper, updates) =
            parse(&line).unwrap_or_else(|| panic!("cycle {cycle}: bad line {line:?}"));
        assert_eq!(batch_lower, lower, "cycle {cycle}: a gap or a duplicate before {line:?}");
        for (row, _, diff) in updates {
            *sum.entry(row).or_default() += diff;
        }
        sum.retain(|_, d| *d != 0);
        let at = upper - 1;
        let expected: BTreeMap<(u64, isize), isize> = (0..3u64)
            .map(|r| (r, (1..=at).filter(|t| t % 3 == r).count() as isize))
            .filter(|(_, n)| *n > 0)
            .map(|row| (row, 1))
            .collect();
        assert_eq!(sum, expected, "cycle {cycle}: the acknowledged stream summed through {at}");
        lower = upper;
    }
    lower
}

#[test]
fn a_named_consumer_killed_20_times_acknowledged_exactly_the_change_stream() {
    let dir = tempfile::tempdir().unwrap();
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut acknowledged = 0;
    for cycle in 0..20 {
        let child = test_name(module_path!(), "consumer_crash_child");
        let reports =
            run_and_kill(&child, DIR_VAR, dir.path(), ACKNOWLEDGED, Duration::from_millis(200), &mut seed);
        let last = reports.into_iter().max().unwrap();
        assert!(last > acknowledged, "cycle {cycle}: nothing new acknowledged ({last})");
        acknowledged = last;
        // The file may hold one batch written and not acknowledged; the acknowledged ones
        // are all there.
        let in_file = check_file(&dir.path().join(FILE), cycle);
        assert!(
            in_file >= acknowledged,
            "cycle {cycle}: acknowledged {acknowledged}, the file ends at {in_file}"
        );
    }
    // The engine's stored position is the last acknowledged upper, and the history it holds
    // still answers from there.
    let (engine, _, consumer) = open(dir.path());
    let stored = consumer.acknowledged().expect("acknowledged");
    assert!(stored >= acknowledged, "stored {stored}, reported {acknowledged}");
    assert!(engine.since().unwrap() < stored, "history is held at the resume point");
}
