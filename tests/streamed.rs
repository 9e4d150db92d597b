//! Streamed tables: rows that flow into views and are not kept. Views over them agree with a
//! recomputation from the rows written (live, summed subscription, batch run), on 1, 2 and 4
//! workers; with storage, the table itself, batch runs over it, views created after its rows
//! and a restarted engine read its history from the log and the checkpoints; without storage,
//! what needs that history fails with `NotKept` and nothing else changes.

use std::collections::BTreeMap;

use ivm::batch::{self, BatchInputs};
use ivm::{Config, Definition, Diff, Engine, Error, Retention, Subscription, Table, Time, View};
use quickcheck::{Arbitrary, QuickCheck, TestResult};

/// An event: a key and a value.
type Event = (u8, u16);

/// One step of a random workload.
#[derive(Clone, Debug)]
enum Step {
    /// Insert these events into the stream (one commit).
    Events(Vec<Event>),
    /// Delete one event the stream holds (the `n`-th, modulo how many it holds).
    Retract(usize),
    /// Set a key's label in the kept table.
    Label(u8, u16),
    /// Create the late views now (once; later ones are ignored).
    LateViews,
    /// Checkpoint (with storage), or nothing.
    Checkpoint,
}

impl Arbitrary for Step {
    fn arbitrary(g: &mut quickcheck::Gen) -> Self {
        match u8::arbitrary(g) % 10 {
            0 => Step::Retract(usize::arbitrary(g)),
            1 => Step::Label(u8::arbitrary(g) % 6, u16::arbitrary(g) % 4),
            2 => Step::LateViews,
            3 => Step::Checkpoint,
            _ => {
                let len = usize::arbitrary(g) % 6;
                Step::Events((0..len).map(|_| (u8::arbitrary(g) % 6, u16::arbitrary(g) % 50)).collect())
            }
        }
    }
}

/// What was committed: the stream's events and the labels, after each commit.
#[derive(Default, Clone)]
struct Written {
    events: BTreeMap<Event, Diff>,
    labels: BTreeMap<(u8, u16), Diff>,
}

/// The views of the test, by what they compute.
fn counts(events: &Table<Event>) -> Definition<(u8, Diff)> {
    Definition::over(events, |_, events| events.map(|(key, _)| key).count())
}

/// Each event with its key's labels: a join of the stream with a kept table.
fn labelled(events: &Table<Event>, labels: &Table<(u8, u16)>) -> Definition<(u8, u16, u16)> {
    let (events, labels) = (events.clone(), labels.clone());
    Definition::new(move |v| {
        v.table(&events).join(v.table(&labels)).map(|(key, (value, label))| (key, value, label))
    })
}

/// The stream read twice by one view (two inputs fed by one table): every key counted twice.
fn doubled(events: &Table<Event>) -> Definition<(u8, Diff)> {
    let events = events.clone();
    Definition::new(move |v| v.table(&events).concat(v.table(&events)).map(|(key, _)| key).count())
}

fn recount(events: &BTreeMap<Event, Diff>, times: Diff) -> Vec<((u8, Diff), Diff)> {
    let mut counts: BTreeMap<u8, Diff> = BTreeMap::new();
    for (&(key, _), &diff) in events {
        *counts.entry(key).or_default() += diff * times;
    }
    counts.into_iter().filter(|(_, n)| *n != 0).map(|row| (row, 1)).collect()
}

fn rejoin(written: &Written) -> Vec<((u8, u16, u16), Diff)> {
    let mut joined: BTreeMap<(u8, u16, u16), Diff> = BTreeMap::new();
    for (&(key, value), &diff) in &written.events {
        for (&(label_key, label), &count) in &written.labels {
            if label_key == key {
                *joined.entry((key, value, label)).or_default() += diff * count;
            }
        }
    }
    joined.into_iter().filter(|(_, n)| *n != 0).collect()
}

fn contents(events: &BTreeMap<Event, Diff>) -> Vec<(Event, Diff)> {
    events.iter().filter(|(_, n)| **n != 0).map(|(row, n)| (*row, *n)).collect()
}

/// The views made late: the stream read twice, and a second join.
type LateViews = (View<(u8, Diff)>, View<(u8, u16, u16)>);

/// The engine's tables and views, made again after a restart.
struct Handles {
    events: Table<Event>,
    labels: Table<(u8, u16)>,
    counts: View<(u8, Diff)>,
    labelled: View<(u8, u16, u16)>,
    late: Option<LateViews>,
    /// A streamed view (nothing kept) of the labelled events, its subscription and the sum of
    /// what it delivered.
    streamed: View<(u8, u16, u16)>,
    changes: Subscription<(u8, u16, u16)>,
    summed: BTreeMap<(u8, u16, u16), Diff>,
}

fn open(engine: &Engine, late: bool) -> Handles {
    let events = engine.streamed_table::<Event>("events").unwrap();
    let labels = engine.table::<(u8, u16)>("labels").unwrap();
    let counts_view = engine.view_from("counts", &counts(&events)).unwrap();
    let labelled_view = engine.view_from("labelled", &labelled(&events, &labels)).unwrap();
    let streamed = engine.streamed_view_from("streamed", &labelled(&events, &labels)).unwrap();
    let changes = streamed.subscribe().unwrap();
    let mut handles = Handles {
        events,
        labels,
        counts: counts_view,
        labelled: labelled_view,
        late: None,
        streamed,
        changes,
        summed: BTreeMap::new(),
    };
    if late {
        make_late(engine, &mut handles).unwrap();
    }
    handles
}

fn make_late(engine: &Engine, handles: &mut Handles) -> ivm::Result<()> {
    let doubled = engine.view_from("doubled", &doubled(&handles.events))?;
    let late_labelled = engine.view_from("late_labelled", &labelled(&handles.events, &handles.labels))?;
    handles.late = Some((doubled, late_labelled));
    Ok(())
}

/// Reads the streamed view's subscription through `t` and compares its sum with `written`.
fn summed_agrees(handles: &mut Handles, t: Time, written: &Written) -> Result<(), String> {
    loop {
        let batch = handles.changes.next().ok_or("the subscription ended")?.map_err(|e| e.to_string())?;
        for (row, _, diff) in batch.updates {
            *handles.summed.entry(row).or_default() += diff;
        }
        handles.summed.retain(|_, diff| *diff != 0);
        if batch.upper > t {
            break;
        }
    }
    let summed: Vec<_> = handles.summed.iter().map(|(row, diff)| (*row, *diff)).collect();
    match summed == rejoin(written) {
        true => Ok(()),
        false => Err(format!("streamed view summed at {t}: {summed:?}, expected {:?}", rejoin(written))),
    }
}

/// Every reading of every view at `t` against the recomputation from `written`.
fn agree(handles: &Handles, t: Time, written: &Written, stored: bool) -> Result<(), String> {
    let context = |what: &str| format!("{what} at {t}");
    let counted = handles.counts.at(t).map_err(|e| format!("{}: {e}", context("counts")))?;
    if counted != recount(&written.events, 1) {
        return Err(format!(
            "{}: {counted:?}, expected {:?}",
            context("counts"),
            recount(&written.events, 1)
        ));
    }
    let joined = handles.labelled.at(t).map_err(|e| format!("{}: {e}", context("labelled")))?;
    if joined != rejoin(written) {
        return Err(format!("{}: {joined:?}, expected {:?}", context("labelled"), rejoin(written)));
    }
    if let Some((doubled, late_labelled)) = &handles.late {
        let counted = doubled.at(t).map_err(|e| format!("{}: {e}", context("doubled")))?;
        if counted != recount(&written.events, 2) {
            return Err(format!("{}: {counted:?}", context("doubled")));
        }
        let joined = late_labelled.at(t).map_err(|e| format!("{}: {e}", context("late_labelled")))?;
        if joined != rejoin(written) {
            return Err(format!("{}: {joined:?}", context("late_labelled")));
        }
    }
    if stored {
        let events = handles.events.at(t).map_err(|e| format!("{}: {e}", context("events")))?;
        if events != contents(&written.events) {
            return Err(format!("{}: {events:?}", context("events")));
        }
        let recomputed = handles.streamed.at(t).map_err(|e| format!("{}: {e}", context("streamed")))?;
        if recomputed != rejoin(written) {
            return Err(format!("{}: {recomputed:?}", context("streamed")));
        }
    }
    Ok(())
}

/// Runs `steps` on an engine with `workers` (and storage in `dir` if given, restarting it
/// after every `restart_every` steps), checking every reading after every commit, and every
/// retained time again at the end.
fn run(workers: usize, steps: Vec<Step>, dir: Option<&std::path::Path>, restart_every: usize) -> TestResult {
    let config = || {
        let config = Config::default().with_workers(workers).with_retention(Retention::LastCommits(4));
        match dir {
            Some(dir) => config.with_storage(dir),
            None => config,
        }
    };
    let mut engine = Engine::start(config()).unwrap();
    let mut handles = open(&engine, false);
    let mut events: Vec<Event> = Vec::new();
    let mut written = Written::default();
    let mut history: Vec<(Time, Written)> = Vec::new();
    for (index, step) in steps.into_iter().enumerate() {
        let t = match step {
            Step::Events(batch) if !batch.is_empty() => {
                let t = engine.commit(|tx| tx.insert_all(&handles.events, batch.iter().copied())).unwrap();
                for event in batch {
                    events.push(event);
                    *written.events.entry(event).or_default() += 1;
                }
                t
            }
            Step::Retract(n) if !events.is_empty() => {
                let event = events.remove(n % events.len());
                *written.events.entry(event).or_default() -= 1;
                engine.commit(|tx| tx.delete(&handles.events, event)).unwrap()
            }
            Step::Label(key, label) => {
                *written.labels.entry((key, label)).or_default() += 1;
                engine.commit(|tx| tx.insert(&handles.labels, (key, label))).unwrap()
            }
            Step::LateViews if handles.late.is_none() => {
                let late = make_late(&engine, &mut handles);
                match (late, dir, written.events.is_empty()) {
                    (Ok(()), _, _) => {}
                    (Err(Error::NotKept { name, .. }), None, false) if name == "events" => {}
                    (other, _, _) => return TestResult::error(format!("late views: {other:?}")),
                }
                continue;
            }
            Step::Checkpoint if dir.is_some() => {
                engine.checkpoint().unwrap();
                continue;
            }
            _ => continue,
        };
        history.push((t, written.clone()));
        if let Err(failure) = agree(&handles, t, &written, dir.is_some()) {
            return TestResult::error(format!("{workers} workers, step {index}: {failure}"));
        }
        if let Err(failure) = summed_agrees(&mut handles, t, &written) {
            return TestResult::error(format!("{workers} workers, step {index}: {failure}"));
        }
        if dir.is_some() && (index + 1) % restart_every == 0 {
            let late = handles.late.is_some();
            drop(handles);
            engine.shutdown();
            engine = Engine::start(config()).unwrap();
            handles = open(&engine, late);
        }
    }
    // Every time still retained, again, and the batch run over the inputs as of it.
    let since = engine.since().unwrap();
    for (t, written) in history.iter().filter(|(t, _)| *t >= since) {
        if let Err(failure) = agree(&handles, *t, written, dir.is_some()) {
            return TestResult::error(format!("{workers} workers, at the end: {failure}"));
        }
        if dir.is_some() {
            let inputs = BatchInputs::from_engine(&engine, *t).unwrap();
            let batch = batch::run(&labelled(&handles.events, &handles.labels), &inputs, workers).unwrap();
            if batch != rejoin(written) {
                return TestResult::error(format!("batch at {t}: {batch:?}"));
            }
        }
    }
    let kept = handles.events.stats().unwrap();
    if kept.updates != 0 {
        return TestResult::error(format!("the streamed table keeps {} updates", kept.updates));
    }
    TestResult::passed()
}

#[test]
fn views_over_a_streamed_table_agree_with_a_recomputation_without_storage() {
    let properties: [fn(Vec<Step>) -> TestResult; 3] =
        [|steps| run(1, steps, None, 0), |steps| run(2, steps, None, 0), |steps| run(4, steps, None, 0)];
    for property in properties {
        QuickCheck::new().tests(15).quickcheck(property);
    }
}

fn stored(workers: usize, steps: Vec<Step>) -> TestResult {
    let dir = tempfile::tempdir().unwrap();
    run(workers, steps, Some(dir.path()), 7)
}

#[test]
fn with_storage_streamed_history_answers_reads_batch_runs_late_views_and_restarts() {
    let properties: [fn(Vec<Step>) -> TestResult; 3] =
        [|steps| stored(1, steps), |steps| stored(2, steps), |steps| stored(4, steps)];
    for property in properties {
        QuickCheck::new().tests(8).quickcheck(property);
    }
}

/// The backfill sends a long history in batches (of at least 262,144 rows, each log record or
/// checkpoint chunk kept whole), each advanced and consolidated on its own: a view created
/// late, and again after a restart from a checkpoint and the log's tail, must count every row
/// once, with retractions and duplicates whose other half is in another batch.
#[test]
fn a_late_view_over_a_long_history_counts_rows_retracted_in_another_batch() {
    let dir = tempfile::tempdir().unwrap();
    let config = |workers| Config::default().with_workers(workers).with_storage(dir.path());
    let per_key = |rows: &BTreeMap<(u32, u32), Diff>| {
        let mut counts: BTreeMap<u32, Diff> = BTreeMap::new();
        rows.iter().for_each(|((key, _), diff)| *counts.entry(*key).or_default() += diff);
        counts.into_iter().map(|(key, count)| ((key, count), 1)).collect::<Vec<_>>()
    };
    let definition = |rows: &Table<(u32, u32)>| {
        Definition::new({
            let rows = rows.clone();
            move |v| v.table(&rows).map(|(key, _)| key).count().map(|(key, count)| (key, count as Diff))
        })
    };
    let mut written: BTreeMap<(u32, u32), Diff> = BTreeMap::new();
    let engine = Engine::start(config(2)).unwrap();
    let rows = engine.streamed_table::<(u32, u32)>("rows").unwrap();
    for part in 0..3u32 {
        let part_rows: Vec<(u32, u32)> =
            (part * 200_000..(part + 1) * 200_000).map(|i| (i % 1_000, i)).collect();
        engine.commit(|tx| tx.insert_all(&rows, part_rows.iter().copied())).unwrap();
        part_rows.into_iter().for_each(|row| *written.entry(row).or_default() += 1);
    }
    // The fourth commit, in the backfill's second batch, retracts rows of the first commit and
    // adds second copies of rows of the second, both in the first batch (200,000-row records
    // make batches of 400,000 and then the rest).
    let retracted: Vec<(u32, u32)> = (0..100_000).step_by(3).map(|i| (i % 1_000, i)).collect();
    let doubled: Vec<(u32, u32)> = (200_000..260_000).step_by(7).map(|i| (i % 1_000, i)).collect();
    engine
        .commit(|tx| {
            retracted.iter().for_each(|row| tx.delete(&rows, *row));
            tx.insert_all(&rows, doubled.iter().copied());
        })
        .unwrap();
    retracted.iter().for_each(|row| *written.entry(*row).or_default() -= 1);
    doubled.iter().for_each(|row| *written.entry(*row).or_default() += 1);
    let late = engine.view_from("late", &definition(&rows)).unwrap();
    assert_eq!(late.at(engine.latest().unwrap()).unwrap(), per_key(&written));
    engine.checkpoint().unwrap();
    let tail: Vec<(u32, u32)> = (0..50_000).map(|i| (i % 1_000, 1_000_000 + i)).collect();
    engine.commit(|tx| tx.insert_all(&rows, tail.iter().copied())).unwrap();
    tail.into_iter().for_each(|row| *written.entry(row).or_default() += 1);
    engine.shutdown();
    for workers in [1, 4] {
        let engine = Engine::start(config(workers)).unwrap();
        let rows = engine.streamed_table::<(u32, u32)>("rows").unwrap();
        let again = engine.view_from("again", &definition(&rows)).unwrap();
        assert_eq!(again.at(engine.latest().unwrap()).unwrap(), per_key(&written), "{workers} workers");
        engine.shutdown();
    }
}

#[test]
fn a_subscription_to_a_view_over_a_streamed_table_sums_to_its_reads() {
    for workers in [1, 2, 4] {
        let engine = Engine::start(Config::default().with_workers(workers)).unwrap();
        let events = engine.streamed_table::<Event>("events").unwrap();
        let view = engine.view_from("counts", &counts(&events)).unwrap();
        let mut subscription = view.subscribe().unwrap();
        let mut t = 0;
        for round in 0..40u16 {
            t = engine
                .commit(|tx| {
                    tx.insert(&events, ((round % 3) as u8, round));
                    if round % 4 == 3 {
                        tx.delete(&events, ((round % 3) as u8, round - 3));
                    }
                })
                .unwrap();
        }
        let mut summed: BTreeMap<(u8, Diff), Diff> = BTreeMap::new();
        for batch in subscription.by_ref() {
            let batch = batch.unwrap();
            for (row, _, diff) in batch.updates {
                *summed.entry(row).or_default() += diff;
            }
            if batch.upper > t {
                break;
            }
        }
        summed.retain(|_, diff| *diff != 0);
        assert_eq!(summed.into_iter().collect::<Vec<_>>(), view.at(t).unwrap(), "{workers} workers");
        assert_eq!(events.stats().unwrap().updates, 0, "a streamed table keeps nothing");
    }
}

#[test]
fn without_storage_what_needs_the_history_fails_with_not_kept_and_changes_nothing() {
    let engine = Engine::start(Config::default().with_workers(2)).unwrap();
    let events = engine.streamed_table::<Event>("events").unwrap();
    // Before any row, a view needs no history.
    let early = engine.view_from("early", &counts(&events)).unwrap();
    let t = engine.commit(|tx| tx.insert(&events, (1, 2))).unwrap();
    let not_kept = |result: ivm::Error| match result {
        Error::NotKept { name, .. } => assert_eq!(name, "events"),
        other => panic!("expected NotKept, got {other:?}"),
    };
    not_kept(events.at(t).unwrap_err());
    not_kept(events.history_at(t).unwrap_err());
    not_kept(BatchInputs::from_engine(&engine, t).unwrap_err());
    not_kept(engine.view_from("late", &counts(&events)).unwrap_err());
    let message = engine.view_from("late", &counts(&events)).unwrap_err().to_string();
    assert!(message.contains("events") && message.contains("Config::with_storage"), "{message}");
    // The refused view left nothing behind: its name is free, the early view goes on.
    assert!(matches!(engine.open_view::<(u8, Diff)>("late"), Err(Error::UnknownName { .. })));
    let t = engine.commit(|tx| tx.insert(&events, (1, 3))).unwrap();
    assert_eq!(early.at(t).unwrap(), vec![((1, 2), 1)]);
    // A kept table cannot reopen it, and it can be dropped once nothing reads it.
    assert!(matches!(
        engine.table::<Event>("events"),
        Err(Error::KindMismatch { existing: "streamed table", .. })
    ));
    assert!(matches!(engine.drop_table("events"), Err(Error::InUse { .. })));
    engine.drop_view("early").unwrap();
    engine.drop_table("events").unwrap();
    assert!(matches!(events.at(t), Err(Error::Dropped { .. })));
}

#[test]
fn a_read_older_than_the_log_reaches_fails_with_compacted() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::default()
        .with_storage(dir.path())
        .with_retention(Retention::LastCommits(2))
        .with_log_retention(Retention::LastCommits(2));
    let engine = Engine::start(config).unwrap();
    let events = engine.streamed_table::<Event>("events").unwrap();
    let first = engine.commit(|tx| tx.insert(&events, (1, 1))).unwrap();
    for value in 2..10 {
        engine.commit(|tx| tx.insert(&events, (1, value))).unwrap();
        engine.checkpoint().unwrap();
    }
    let last = engine.latest().unwrap();
    assert_eq!(events.at(last).unwrap().len(), 9);
    match events.at(first) {
        Err(Error::Compacted { name, requested, .. }) => {
            assert_eq!((name.as_str(), requested), ("events", first))
        }
        other => panic!("expected Compacted, got {other:?}"),
    }
}

#[test]
fn a_streamed_view_keeps_nothing_starts_now_and_cannot_be_read_by_views() {
    for workers in [1, 2, 4] {
        let engine = Engine::start(Config::default().with_workers(workers)).unwrap();
        let events = engine.table::<Event>("events").unwrap();
        let view = engine.streamed_view_from("counts", &counts(&events)).unwrap();
        assert!(!view.is_kept());
        let kept = engine.view_from("kept", &counts(&events)).unwrap();
        let mut t = 0;
        for round in 0..30u16 {
            t = engine.commit(|tx| tx.insert(&events, ((round % 5) as u8, round))).unwrap();
        }
        // Reads are batch runs over the kept table's history: the same rows as a kept view.
        assert_eq!(view.at(t).unwrap(), kept.at(t).unwrap(), "{workers} workers");
        assert_eq!(view.at(t - 10).unwrap(), kept.at(t - 10).unwrap(), "{workers} workers");
        assert_eq!(view.stats().unwrap().updates, 0, "a streamed view keeps nothing");
        assert!(kept.stats().unwrap().updates > 0);
        // Its changes before the latest commit went by unkept.
        match view.subscribe_with(ivm::SubscribeOptions::default().as_of(t - 1)) {
            Err(Error::Compacted { name, requested, since }) => {
                assert_eq!((name.as_str(), requested, since), ("counts", t - 1, t));
            }
            other => panic!("expected Compacted, got {other:?}"),
        }
        // The snapshot is the read at the latest commit; then changes follow as they come.
        let mut changes = view.subscribe().unwrap();
        let snapshot = changes.next().unwrap().unwrap();
        assert_eq!((snapshot.lower, snapshot.upper), (t, t + 1));
        let rows: Vec<_> = snapshot.updates.iter().map(|(row, _, diff)| (*row, *diff)).collect();
        assert_eq!(rows, kept.at(t).unwrap());
        let next = engine.commit(|tx| tx.insert(&events, (9, 9))).unwrap();
        let batch = changes.next().unwrap().unwrap();
        assert_eq!(batch.updates, vec![((9, 1), next, 1)]);
        // Another view cannot read it.
        match engine.view("reader", {
            let view = view.clone();
            move |v| v.view(&view)
        }) {
            Err(Error::NotKept { name, .. }) => assert_eq!(name, "counts"),
            other => panic!("expected NotKept, got {other:?}"),
        }
        // Reopened by name, it is still streamed.
        assert!(!engine.open_view::<(u8, Diff)>("counts").unwrap().is_kept());
    }
}

#[test]
fn a_streamed_view_over_a_streamed_table_without_storage_streams_and_cannot_be_read() {
    let engine = Engine::start(Config::default().with_workers(2)).unwrap();
    let events = engine.streamed_table::<Event>("events").unwrap();
    let view = engine.streamed_view_from("counts", &counts(&events)).unwrap();
    // Before any row, its snapshot is empty and needs no history.
    let mut changes = view.subscribe().unwrap();
    assert!(changes.next().unwrap().unwrap().updates.is_empty());
    let t = engine.commit(|tx| tx.insert_all(&events, [(1, 1), (1, 2), (2, 3)])).unwrap();
    let batch = changes.next().unwrap().unwrap();
    assert_eq!(batch.updates, vec![((1, 2), t, 1), ((2, 1), t, 1)]);
    match view.at(t) {
        Err(Error::NotKept { name, .. }) => assert_eq!(name, "events"),
        other => panic!("expected NotKept, got {other:?}"),
    }
    // A new subscription needs the snapshot, which needs the history.
    assert!(matches!(view.subscribe(), Err(Error::NotKept { .. })));
    // The old one goes on.
    let t = engine.commit(|tx| tx.delete(&events, (1, 1))).unwrap();
    let batch = changes.next().unwrap().unwrap();
    assert_eq!(batch.updates, vec![((1, 1), t, 1), ((1, 2), t, -1)]);
}
