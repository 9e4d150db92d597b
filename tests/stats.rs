//! `Engine::stats` against known contents (rows inserted and deleted, `since` moved by the
//! retention policy, unread updates of a subscription nobody reads) on 1, 2 and 4 workers, and
//! the engine's tracing events (checkpoint, recovery, an error returned) seen by a subscriber.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ivm::{Config, Engine, EngineStats, Error, Retention, SubscribeOptions, Time};

/// What the engine holds after `deleted` of `inserted` rows are deleted again.
struct Loaded {
    engine: Engine,
    table: ivm::Table<u64>,
    odd: ivm::View<u64>,
    keyed: ivm::KeyedTable<u64, String>,
    latest: Time,
}

const INSERTED: u64 = 200;
const DELETED: u64 = 50;

/// A table of `1..=INSERTED` minus `1..=DELETED`, a view of its odd rows, a keyed table of ten
/// keys each written three times, and a streamed table; every kept source is complete through
/// the latest commit when this returns.
fn load(workers: usize) -> Loaded {
    load_with(Config::default().with_workers(workers))
}

/// Like [`load`], with `config` (its retention replaced by the last two commits).
fn load_with(config: Config) -> Loaded {
    let engine = Engine::start(config.with_retention(Retention::LastCommits(2))).unwrap();
    let table = engine.table::<u64>("numbers").unwrap();
    let odd = engine
        .view("odd", {
            let table = table.clone();
            move |v| v.table(&table).filter(|x| x % 2 == 1)
        })
        .unwrap();
    let keyed = engine.keyed_table::<u64, String>("names").unwrap();
    let events = engine.streamed_table::<u64>("events").unwrap();
    engine.commit(|tx| (1..=INSERTED).for_each(|x| tx.insert(&table, x))).unwrap();
    engine.commit(|tx| (1..=DELETED).for_each(|x| tx.delete(&table, x))).unwrap();
    for round in 0..3 {
        engine.commit(|tx| (0..10).for_each(|k| tx.upsert(&keyed, k, format!("{k}-{round}")))).unwrap();
    }
    let latest = engine.commit(|tx| tx.insert(&events, 7)).unwrap();
    // Reads at the latest time return once every worker's shard is complete through it.
    assert_eq!(table.at(latest).unwrap().len() as u64, INSERTED - DELETED);
    odd.at(latest).unwrap();
    keyed.at(latest).unwrap();
    Loaded { engine, table, odd, keyed, latest }
}

fn odd_rows() -> usize {
    (DELETED + 1..=INSERTED).filter(|x| x % 2 == 1).count()
}

#[test]
fn every_source_reports_its_rows_frontiers_and_kind() {
    for workers in [1, 2, 4] {
        let Loaded { engine, latest, .. } = load(workers);
        let stats = engine.stats().unwrap();
        let since = engine.since().unwrap();
        assert_eq!(since, latest - 1, "two retained commits");
        let names: Vec<_> = stats.sources.iter().map(|s| (s.name.as_str(), s.kind)).collect();
        assert_eq!(
            names,
            [("numbers", "table"), ("odd", "view"), ("names", "keyed table"), ("events", "streamed table")],
            "in creation order, on {workers} workers"
        );
        let source = |name| stats.source(name).unwrap().trace;
        let (numbers, odd, names, events) =
            (source("numbers"), source("odd"), source("names"), source("events"));
        assert_eq!(numbers.rows as u64, INSERTED - DELETED, "on {workers} workers");
        assert_eq!(odd.rows, odd_rows(), "on {workers} workers");
        assert_eq!(names.rows, 10, "one value per key, on {workers} workers");
        for (name, kept) in [("numbers", numbers), ("odd", odd), ("names", names)] {
            assert!(kept.kept, "{name}");
            assert_eq!((kept.since, kept.upper), (since, latest + 1), "{name} on {workers} workers");
            assert!(kept.updates >= kept.rows && kept.batches > 0, "{name}: {kept:?}");
        }
        // The estimate: 24 bytes per `(u64, Time, Diff)` update.
        assert_eq!(numbers.bytes, numbers.updates * 24);
        // A streamed table keeps nothing, and says so.
        assert!(!events.kept);
        assert_eq!((events.rows, events.updates, events.batches, events.bytes), (0, 0, 0, 0));
        assert_eq!(events.upper, latest + 1);
        let total = stats.total;
        assert_eq!(total.rows, numbers.rows + odd.rows + names.rows);
        assert_eq!(total.updates, numbers.updates + odd.updates + names.updates);
        assert_eq!(total.bytes, numbers.bytes + odd.bytes + names.bytes);
        assert_eq!(total.unread, 0);
    }
}

#[test]
fn a_handle_reports_its_own_line() {
    let Loaded { engine, table, odd, keyed, .. } = load(2);
    let stats = engine.stats().unwrap();
    assert_eq!(table.stats().unwrap().rows, stats.source("numbers").unwrap().trace.rows);
    assert_eq!(odd.stats().unwrap().rows, stats.source("odd").unwrap().trace.rows);
    assert_eq!(keyed.stats().unwrap().since, stats.source("names").unwrap().trace.since);
}

#[test]
fn compaction_moves_since_and_drops_old_updates() {
    for workers in [1, 2, 4] {
        // Idle merging, so that old batches merge without waiting for more writes.
        let Loaded { engine, table, odd, .. } =
            load_with(Config::default().with_workers(workers).with_idle_merge_effort(1_000));
        // One row flipped in and out 500 times: without compaction, 1,000 updates more.
        for _ in 0..500 {
            engine.commit(|tx| tx.insert(&table, 1)).unwrap();
            engine.commit(|tx| tx.delete(&table, 1)).unwrap();
        }
        // One more change to every shard, so that merges reach the old batches (see
        // tests/retention.rs), then the figures settle within a deadline.
        let last = engine.commit(|tx| (1..=DELETED).for_each(|x| tx.insert(&table, x))).unwrap();
        odd.at(last).unwrap();
        let stats = table.stats().unwrap();
        assert_eq!(stats.since, last - 1, "since follows the retention on {workers} workers");
        assert_eq!(stats.rows as u64, INSERTED, "on {workers} workers");
        assert_eq!(odd.stats().unwrap().rows, (1..=INSERTED).filter(|x| x % 2 == 1).count());
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let updates = table.stats().unwrap().updates;
            if updates < INSERTED as usize + 300 {
                break;
            }
            assert!(Instant::now() < deadline, "{updates} updates held on {workers} workers");
            std::thread::yield_now();
        }
    }
}

#[test]
fn a_subscription_nobody_reads_shows_its_unread_updates() {
    for workers in [1, 2, 4] {
        let Loaded { engine, table, odd, .. } = load(workers);
        // The unread one first: a worker feeds its subscribers in id order, so once the one
        // that reads has seen a time, the unread one holds every update through it. Without a
        // snapshot: a snapshot walks the arrangement, whose batches may not be merged yet (a
        // row inserted and deleted there twice), so its count of updates is not fixed.
        let unread = odd.subscribe_with(SubscribeOptions::default().snapshot(false)).unwrap();
        let mut reader = odd.subscribe().unwrap();
        let snapshot = reader.next().unwrap().unwrap();
        assert_eq!(snapshot.updates.len(), odd_rows());
        let added = 11u64;
        let mut last = 0;
        for x in 0..added {
            last = engine.commit(|tx| tx.insert(&table, 1_001 + 2 * x)).unwrap();
        }
        while reader.next().unwrap().unwrap().upper <= last {}
        let stats = engine.stats().unwrap();
        let line = stats.subscription(unread.id()).expect("the unread subscription is live");
        assert_eq!(line.view, "odd");
        assert_eq!(line.unread, added as usize, "one update per commit, on {workers} workers");
        assert_eq!(line.unread, unread.pending());
        assert_eq!(line.bytes, line.unread * 24);
        assert_eq!(stats.subscription(reader.id()).map(|s| s.unread), Some(0));
        assert_eq!(stats.total.unread, line.unread);
        assert_eq!(
            stats.total.bytes,
            stats.sources.iter().map(|s| s.trace.bytes).sum::<usize>() + line.bytes
        );
        let id = unread.id();
        drop(unread);
        assert_eq!(engine.stats().unwrap().subscription(id), None, "a dropped subscription is gone");
    }
}

#[test]
fn the_table_prints_a_line_per_source_and_subscription() {
    let Loaded { engine, odd, .. } = load(1);
    let _changes = odd.subscribe().unwrap();
    let stats: EngineStats = engine.stats().unwrap();
    let text = stats.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1 + 4 + 1 + 1, "{text}");
    for (line, name) in lines[1..].iter().zip(["numbers", "odd", "names", "events", "#", "total"]) {
        assert!(line.starts_with(name), "{line:?} should start with {name:?}:\n{text}");
    }
    assert!(lines[4].contains("not kept"), "{text}");
    assert!(lines[1].contains(&format!(" {} ", INSERTED - DELETED)), "{text}");
}

#[test]
fn stats_after_shutdown_fail() {
    let Loaded { engine, .. } = load(1);
    engine.shutdown();
    assert_eq!(engine.stats().err(), Some(Error::Shutdown));
}

/// The events an in-test subscriber saw: level, message and fields, as text, and the thread
/// that emitted each.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<Event>>>);

#[derive(Debug, Clone)]
struct Event {
    level: tracing::Level,
    thread: std::thread::ThreadId,
    fields: Vec<(String, String)>,
}

impl Event {
    fn field(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(field, _)| field == name).map(|(_, value)| value.as_str())
    }
}

impl Captured {
    /// The subscriber of this test binary, installed once as the global default. (A scoped
    /// one, `tracing::subscriber::with_default`, misses events now and then while other
    /// tests run: a callsite's interest may be cached from another thread without it.)
    fn global() -> Captured {
        static CAPTURED: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();
        CAPTURED
            .get_or_init(|| {
                let captured = Captured::default();
                tracing::subscriber::set_global_default(captured.clone()).expect("the first subscriber");
                captured
            })
            .clone()
    }

    /// The events with this message emitted on this thread.
    fn with_message(&self, message: &str) -> Vec<Event> {
        let events = self.0.lock().unwrap();
        let here = std::thread::current().id();
        let mine = events.iter().filter(|event| event.thread == here);
        mine.filter(|event| event.field("message") == Some(message)).cloned().collect()
    }
}

struct Fields<'a>(&'a mut Vec<(String, String)>);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push((field.name().to_string(), format!("{value:?}")));
    }
}

impl tracing::Subscriber for Captured {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = Vec::new();
        event.record(&mut Fields(&mut fields));
        let (level, thread) = (*event.metadata().level(), std::thread::current().id());
        self.0.lock().unwrap().push(Event { level, thread, fields });
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[test]
fn a_subscriber_sees_checkpoints_recovery_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let config = || Config::default().with_storage(dir.path()).with_retention(Retention::LastCommits(1));
    let captured = Captured::global();
    {
        let engine = Engine::start(config()).unwrap();
        let table = engine.table::<u64>("numbers").unwrap();
        for x in 1..=5 {
            engine.commit(|tx| tx.insert(&table, x)).unwrap();
        }
        let checkpoint = engine.checkpoint().unwrap().expect("since moved: a checkpoint is due");
        assert_eq!(checkpoint, 5);
        engine.commit(|tx| tx.insert(&table, 6)).unwrap();
        engine.commit(|tx| tx.insert(&table, 7)).unwrap();
        // An error returned as a value: a read below `since`.
        assert!(matches!(table.at(1), Err(Error::Compacted { .. })));
        engine.shutdown();

        let started = captured.with_message("engine started");
        assert_eq!(started.len(), 1);
        assert_eq!(started[0].level, tracing::Level::INFO);
        let written = captured.with_message("checkpoint written");
        assert_eq!(written.len(), 1, "{written:?}");
        assert_eq!(written[0].field("time"), Some("5"));
        let bytes: usize = written[0].field("bytes").unwrap().parse().unwrap();
        assert!(bytes > 0);
        let returned = captured.with_message("error returned to the caller");
        assert!(
            returned.iter().any(|e| e.level == tracing::Level::DEBUG
                && e.field("error").is_some_and(
                    |error| error.contains("at time 1: the retained history starts at since = 7")
                )),
            "{returned:?}"
        );

        let engine = Engine::start(config()).unwrap();
        let recovered = captured.with_message("storage recovered");
        // The first start recovered an empty directory; the second the checkpoint at 5 and
        // the two commits logged after it.
        assert_eq!(recovered.len(), 2, "{recovered:?}");
        // A `None` field is not recorded.
        assert_eq!(recovered[0].field("checkpoint"), None);
        assert_eq!(recovered[1].field("checkpoint"), Some("5"));
        assert_eq!(recovered[1].field("records"), Some("2"));
        assert_eq!(recovered[1].field("last"), Some("7"));
        let table = engine.table::<u64>("numbers").unwrap();
        assert_eq!(table.at(7).unwrap().len(), 7);
    }
}
