//! `ivm::files` on its own: bad files are typed errors that load nothing, change files resume
//! after a stop (and an engine restart) without a gap or a duplicate, keyed tables, CSV
//! without headers, and the layout errors. The readers none of us wrote are in
//! `file_readers.rs`.

use crate::common_files;

use std::path::Path;
use std::time::Duration;

use common_files::{Order, Rng, order};
use ivm::files::{
    ChangeFiles, ChangeOptions, CsvOptions, ParquetOptions, change_files, load_csv, load_parquet,
    write_history, write_parquet, write_parquet_partitioned,
};
use ivm::{Config, Engine, Error, FileError, FileProblem, Retention, SubscribeOptions, Table, Time};
use serde::{Deserialize, Serialize};

const WAIT: Duration = Duration::from_secs(60);

fn orders(n: u64) -> Vec<Order> {
    let mut random = Rng::new(n);
    (0..n).map(|_| order(&mut random, 1_000)).collect()
}

/// A Parquet file of `rows`, written through a table of its own engine.
fn parquet_of<T: ivm::Row>(rows: Vec<T>, path: &Path) {
    let engine = Engine::start(Config::default()).unwrap();
    let table: Table<T> = engine.table("rows").unwrap();
    let t = engine.commit(|tx| tx.insert_all(&table, rows)).unwrap();
    write_parquet(&table, t, path, &ParquetOptions::default()).unwrap();
}

/// Loads `path` into a fresh table of `T` and returns the error; checks that nothing was
/// loaded (no commit happened, the table is empty).
fn load_fails<T: ivm::Row>(path: &Path, csv: bool) -> FileError {
    let engine = Engine::start(Config::default().with_workers(2)).unwrap();
    let table: Table<T> = engine.table("target").unwrap();
    let before = engine.latest().unwrap();
    let result =
        if csv { load_csv(&table, path, &CsvOptions::default()) } else { load_parquet(&table, path) };
    assert_eq!(engine.latest().unwrap(), before, "a failed load committed");
    assert_eq!(table.at(before).unwrap(), vec![]);
    match result {
        Err(Error::File(error)) => error,
        other => panic!("expected a file error, got {other:?}"),
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct SmallCents {
    id: u64,
    shop: String,
    cents: i8,
    note: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct NoteRequired {
    id: u64,
    note: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct WithCountry {
    id: u64,
    country: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct ShopAsNumber {
    id: u64,
    shop: u32,
}

#[test]
fn bad_parquet_files_are_typed_errors_that_load_nothing() {
    let folder = tempfile::tempdir().unwrap();
    let good = folder.path().join("orders.parquet");
    let mut rows = orders(2_000);
    rows.sort();
    parquet_of(rows.clone(), &good);

    // Truncated: half of the file.
    let bytes = std::fs::read(&good).unwrap();
    let truncated = folder.path().join("truncated.parquet");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let error = load_fails::<Order>(&truncated, false);
    assert!(matches!(error.problem, FileProblem::Malformed(_)), "{error}");
    assert_eq!(error.path, truncated);

    // Not Parquet at all.
    let text = folder.path().join("text.parquet");
    std::fs::write(&text, "id,shop\n1,Lyon\n").unwrap();
    assert!(matches!(load_fails::<Order>(&text, false).problem, FileProblem::Malformed(_)));

    // Wrong schema: the row type needs a column the file does not have.
    let error = load_fails::<WithCountry>(&good, false);
    assert_eq!((error.column.as_deref(), &error.problem), (Some("country"), &FileProblem::MissingColumn));

    // Wrong type: text where the row type has a number.
    let error = load_fails::<ShopAsNumber>(&good, false);
    assert_eq!(error.column.as_deref(), Some("shop"));
    assert!(
        matches!(&error.problem, FileProblem::WrongType { expected, found } if expected == "UInt32" && found == "Utf8")
    );

    // A value that does not fit: the first order whose cents are outside i8, by its row.
    let error = load_fails::<SmallCents>(&good, false);
    let first = rows.iter().position(|o| i8::try_from(o.cents).is_err()).unwrap() as u64 + 1;
    assert_eq!((error.row, error.column.as_deref()), (Some(first), Some("cents")), "{error}");
    assert!(matches!(error.problem, FileProblem::BadValue(_)));

    // A null where the field is not an Option.
    let error = load_fails::<NoteRequired>(&good, false);
    let first = rows.iter().position(|o| o.note.is_none()).unwrap() as u64 + 1;
    assert_eq!((error.row, error.column.as_deref()), (Some(first), Some("note")), "{error}");

    // A folder with one bad file among good ones loads nothing either.
    let mixed = folder.path().join("mixed");
    std::fs::create_dir(&mixed).unwrap();
    std::fs::copy(&good, mixed.join("a.parquet")).unwrap();
    std::fs::write(mixed.join("b.parquet"), &bytes[..100]).unwrap();
    assert_eq!(load_fails::<Order>(&mixed, false).path, mixed.join("b.parquet"));
}

#[test]
fn bad_csv_files_are_typed_errors_naming_row_and_column() {
    let folder = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = folder.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let path = write("value.csv", "id,shop,cents,note\n1,Lyon,5,\n2,Oslo,lots,x\n");
    let error = load_fails::<Order>(&path, true);
    assert_eq!((error.row, error.column.as_deref()), (Some(2), Some("cents")), "{error}");
    assert!(matches!(error.problem, FileProblem::BadValue(_)));

    let path = write("missing.csv", "id,shop,note\n1,Lyon,\n");
    let error = load_fails::<Order>(&path, true);
    assert_eq!((error.column.as_deref(), &error.problem), (Some("cents"), &FileProblem::MissingColumn));

    let path = write("ragged.csv", "id,shop,cents,note\n1,Lyon,5,\n2,Oslo\n");
    let error = load_fails::<Order>(&path, true);
    assert_eq!(error.row, Some(2));
    assert!(matches!(error.problem, FileProblem::Malformed(_)), "{error}");

    let path = write("negative.csv", "id,shop,cents,note\n-1,Lyon,5,\n");
    let error = load_fails::<Order>(&path, true);
    assert_eq!((error.row, error.column.as_deref()), (Some(1), Some("id")), "{error}");
}

#[test]
fn loads_fill_keyed_tables_and_read_csv_by_position() {
    let folder = tempfile::tempdir().unwrap();
    let engine = Engine::start(Config::default().with_workers(2)).unwrap();
    // Keyed: the last value of a key wins, as upserts do.
    let path = folder.path().join("prices.csv");
    std::fs::write(&path, "key,value\napple,3\npear,5\napple,4\n").unwrap();
    let prices = engine.keyed_table::<String, i64>("prices").unwrap();
    let loaded = load_csv(&prices, &path, &CsvOptions::default()).unwrap();
    assert_eq!(prices.at(loaded.time).unwrap(), vec![("apple".into(), 4), ("pear".into(), 5)]);

    // Keyed, from Parquet written from another keyed table: key column, then the value's.
    let parquet = folder.path().join("by_id.parquet");
    let source = engine.keyed_table::<u64, Order>("source").unwrap();
    let rows = orders(300);
    let t = engine.commit(|tx| rows.iter().for_each(|o| tx.upsert(&source, o.id, o.clone()))).unwrap();
    write_parquet(&source, t, &parquet, &ParquetOptions::default()).unwrap();
    let copy = engine.keyed_table::<u64, Order>("copy").unwrap();
    let loaded = load_parquet(&copy, &parquet).unwrap();
    assert_eq!(copy.at(loaded.time).unwrap(), source.at(t).unwrap());

    // No header line: the row type's columns in order; `;` as the delimiter.
    let path = folder.path().join("plain.csv");
    std::fs::write(&path, "1;Lyon;250;\n2;Oslo;-90;gift\n").unwrap();
    let plain: Table<Order> = engine.table("plain").unwrap();
    let loaded = load_csv(&plain, &path, &CsvOptions::default().headers(false).delimiter(b';')).unwrap();
    let expected = vec![
        Order { id: 1, shop: "Lyon".into(), cents: 250, note: None },
        Order { id: 2, shop: "Oslo".into(), cents: -90, note: Some("gift".into()) },
    ];
    assert_eq!(plain.rows_at(loaded.time).unwrap(), expected);

    // Tuples are one (struct) column, `value`, and come back as they went.
    let pairs = engine.table::<(u32, String)>("pairs").unwrap();
    let t = engine
        .commit(|tx| tx.insert_all(&pairs, [(1, "a".into()), (1, "a".into()), (2, "b".into())]))
        .unwrap();
    let path = folder.path().join("pairs.parquet");
    assert_eq!(write_parquet(&pairs, t, &path, &ParquetOptions::default()).unwrap().rows, 3);
    let again = engine.table::<(u32, String)>("pairs_again").unwrap();
    let loaded = load_parquet(&again, &path).unwrap();
    assert_eq!(again.at(loaded.time).unwrap(), pairs.at(t).unwrap());
    engine.shutdown();
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Side {
    Buy,
    Sell { limit: i64 },
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Event {
    time: u64,
    side: Side,
}

#[test]
fn writes_that_cannot_be_made_are_typed_errors_and_leave_no_file() {
    let folder = tempfile::tempdir().unwrap();
    let engine = Engine::start(Config::default()).unwrap();
    let options = ParquetOptions::default();

    // An enum with data has no Parquet form.
    let events = engine.table::<Event>("events").unwrap();
    let t = engine.commit(|tx| tx.insert(&events, Event { time: 1, side: Side::Sell { limit: 3 } })).unwrap();
    let path = folder.path().join("events.parquet");
    let error = write_parquet(&events, t, &path, &options).unwrap_err();
    assert!(matches!(&error, Error::File(FileError { problem: FileProblem::Layout(_), .. })), "{error}");
    assert_eq!(std::fs::read_dir(folder.path()).unwrap().count(), 0, "a failed write left a file");

    // A history's `time` column meets the row's `time` field: named, and renamed in the options.
    let plain = engine.table::<WithTime>("with_time").unwrap();
    let t = engine.commit(|tx| tx.insert(&plain, WithTime { time: 5 })).unwrap();
    let error = write_history(&plain, t, folder.path().join("h.parquet"), &options).unwrap_err();
    assert!(matches!(&error, Error::File(FileError { column: Some(c), .. }) if c == "time"), "{error}");
    let renamed = options.clone().time_column("committed");
    assert_eq!(write_history(&plain, t, folder.path().join("h.parquet"), &renamed).unwrap().rows, 1);

    // A negative multiplicity cannot be a list of rows.
    let numbers = engine.table::<u64>("numbers").unwrap();
    let t = engine.commit(|tx| tx.delete(&numbers, 7)).unwrap();
    let error = write_parquet(&numbers, t, folder.path().join("n.parquet"), &options).unwrap_err();
    assert!(matches!(error, Error::NegativeMultiplicity { diff: -1, .. }), "{error}");
    assert!(!folder.path().join("n.parquet").exists());

    // Partitions: by a column that exists, into a folder that is empty.
    let orders = engine.table::<Order>("orders").unwrap();
    let t = engine.commit(|tx| tx.insert_all(&orders, self::orders(50))).unwrap();
    let error =
        write_parquet_partitioned(&orders, t, folder.path().join("p"), "country", &options).unwrap_err();
    assert!(matches!(&error, Error::File(FileError { problem: FileProblem::Layout(_), .. })), "{error}");
    let written = write_parquet_partitioned(&orders, t, folder.path().join("p"), "shop", &options).unwrap();
    assert_eq!(written.rows, 50);
    assert!(written.files.iter().all(
        |f| f.exists() && f.parent().unwrap().file_name().unwrap().to_string_lossy().starts_with("shop=")
    ));
    let error = write_parquet_partitioned(&orders, t, folder.path().join("p"), "shop", &options).unwrap_err();
    assert!(
        matches!(&error, Error::Io { error, .. } if error.kind() == std::io::ErrorKind::AlreadyExists),
        "{error}"
    );
    // The folder loads back whole: the shop comes from the folder names.
    let back = engine.table::<Order>("back").unwrap();
    let loaded = load_parquet(&back, folder.path().join("p")).unwrap();
    assert_eq!(back.at(loaded.time).unwrap(), orders.at(t).unwrap());
    // A partition value that is not of the field's type is a bad value, named by column.
    #[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
    struct Located {
        country: String,
        shop: u32,
    }
    let places = engine.table::<WithCountry>("places").unwrap();
    let t = engine.commit(|tx| tx.insert(&places, WithCountry { id: 1, country: "FR".into() })).unwrap();
    write_parquet_partitioned(&places, t, folder.path().join("q"), "id", &options).unwrap();
    std::fs::rename(folder.path().join("q/id=1"), folder.path().join("q/shop=x")).unwrap();
    let located = engine.table::<Located>("located").unwrap();
    let error = load_parquet(&located, folder.path().join("q")).unwrap_err();
    assert!(
        matches!(&error, Error::File(FileError { column: Some(c), problem: FileProblem::BadValue(_), .. }) if c == "shop"),
        "{error}"
    );

    // Reads before the retained history fail as reads do.
    let short = Engine::start(Config::default().with_retention(Retention::LastCommits(1))).unwrap();
    let table = short.table::<u64>("t").unwrap();
    let first = short.commit(|tx| tx.insert(&table, 1)).unwrap();
    short.commit(|tx| tx.insert(&table, 2)).unwrap();
    short.commit(|tx| tx.insert(&table, 3)).unwrap();
    let error = write_parquet(&table, first, folder.path().join("old.parquet"), &options).unwrap_err();
    assert!(matches!(error, Error::Compacted { .. }), "{error}");
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct WithTime {
    time: u64,
}

/// A row of a change file of `Order`s, as loaded back.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct OrderChange {
    id: u64,
    shop: String,
    cents: i64,
    note: Option<String>,
    time: u64,
    diff: i64,
}

/// Every change in the folder's files, loaded back through `load_parquet`, with each file's
/// interval checked to hold its changes.
fn changes_in(folder: &Path) -> Vec<(Order, Time, i64)> {
    let engine = Engine::start(Config::default()).unwrap();
    let mut all = Vec::new();
    for (i, file) in change_files(folder).unwrap().into_iter().enumerate() {
        let table: Table<OrderChange> = engine.table(&format!("file{i}")).unwrap();
        let loaded = load_parquet(&table, &file.path).unwrap();
        for c in table.rows_at(loaded.time).unwrap() {
            assert!(file.lower <= c.time && c.time < file.upper, "{c:?} outside {file:?}");
            all.push((Order { id: c.id, shop: c.shop, cents: c.cents, note: c.note }, c.time, c.diff));
        }
    }
    all
}

#[test]
fn change_files_resume_after_stops_and_restarts_without_a_gap_or_a_duplicate() {
    let storage = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let changes = out.path().join("changes");
    let config = || Config::default().with_workers(2).with_storage(storage.path());
    let mut random = Rng::new(7);
    let mut held: Vec<Order> = Vec::new();
    let mut first = None;
    // Five lives of the engine; in each, the writer stops (is dropped, changes it held unwritten)
    // two or three times at random points.
    for life in 0..5 {
        let engine = Engine::start(config()).unwrap();
        let orders: Table<Order> = engine.table("orders").unwrap();
        let large = engine.view_over("large", &orders, |_, orders| orders.filter(|o| o.cents > 0)).unwrap();
        first.get_or_insert(engine.latest().unwrap());
        for stop in 0..2 + life % 2 {
            let options =
                ChangeOptions::default().as_of(first.unwrap()).rows_per_file(1 + random.below(6) as usize);
            let mut writer = ChangeFiles::open(&large, &changes, options).unwrap();
            for _ in 0..1 + random.below(6) {
                let t = engine
                    .commit(|tx| {
                        let row = order(&mut random, 30);
                        held.push(row.clone());
                        tx.insert(&orders, row);
                        if random.chance(40) {
                            tx.delete(&orders, held.swap_remove(random.below(held.len() as u64) as usize));
                        }
                    })
                    .unwrap();
                match random.below(3) {
                    0 => drop(writer.sync().unwrap()),
                    1 => drop(writer.sync_through(t, WAIT).unwrap()),
                    _ => {}
                }
            }
            if stop % 2 == 0 {
                writer.sync().unwrap();
            }
            // Dropped: whatever it received and did not write is read again next time.
        }
        engine.shutdown();
    }
    // The last writer catches up; then the files must hold exactly the view's changes.
    let engine = Engine::start(config()).unwrap();
    let orders: Table<Order> = engine.table("orders").unwrap();
    let large = engine.view_over("large", &orders, |_, orders| orders.filter(|o| o.cents > 0)).unwrap();
    let last = engine.latest().unwrap();
    let mut writer = ChangeFiles::open(&large, &changes, ChangeOptions::default()).unwrap();
    writer.sync_through(last, WAIT).unwrap();
    assert_eq!(writer.written_through(), Some(last + 1));
    let mut written = changes_in(&changes);
    written.sort();
    // The reference: one exact subscription from the same start, summed per (row, time).
    let reference =
        large.subscribe_with(SubscribeOptions::default().as_of(first.unwrap()).until(last)).unwrap();
    let mut expected: Vec<(Order, Time, i64)> = Vec::new();
    for batch in reference {
        expected.extend(batch.unwrap().updates.into_iter().map(|(row, t, d)| (row, t, d as i64)));
    }
    expected.sort();
    assert!(expected.len() > 20, "too few changes to test with ({})", expected.len());
    assert_eq!(written, expected);
    let files = change_files(&changes).unwrap();
    assert!(files.len() > 5, "the stops should have cut several files, got {}", files.len());

    // A file missing in the middle is a gap: named, never read past.
    std::fs::remove_file(&files[1].path).unwrap();
    let error = ChangeFiles::open(&large, &changes, ChangeOptions::default()).unwrap_err();
    assert!(matches!(&error, Error::File(FileError { path, .. }) if *path == files[2].path), "{error}");
    // A file whose name gives an empty interval is refused too (resuming from it would start
    // before time 0).
    let empty = tempfile::tempdir().unwrap();
    std::fs::write(empty.path().join(format!("changes-{:020}-{:020}.parquet", 0, 0)), b"").unwrap();
    let error = ChangeFiles::open(&large, empty.path(), ChangeOptions::default()).unwrap_err();
    assert!(matches!(&error, Error::File(FileError { problem: FileProblem::Malformed(_), .. })), "{error}");
    engine.shutdown();
}

#[test]
fn a_history_file_recomputes_the_table_at_every_retained_time() {
    let folder = tempfile::tempdir().unwrap();
    let engine = Engine::start(Config::default().with_workers(2)).unwrap();
    let prices = engine.keyed_table::<String, i64>("prices").unwrap();
    let mut random = Rng::new(3);
    let mut times = Vec::new();
    for _ in 0..20 {
        let key = ["a", "b", "c"][random.below(3) as usize].to_string();
        let delete = random.chance(20);
        let value = random.below(100) as i64;
        times.push(
            engine
                .commit(
                    |tx| if delete { tx.delete_key(&prices, key) } else { tx.upsert(&prices, key, value) },
                )
                .unwrap(),
        );
    }
    let last = *times.last().unwrap();
    let path = folder.path().join("prices.parquet");
    let written = write_history(&prices, last, &path, &ParquetOptions::default()).unwrap();
    #[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
    struct Update {
        key: String,
        value: i64,
        time: u64,
        diff: i64,
    }
    let back: Table<Update> = engine.table("back").unwrap();
    let loaded = load_parquet(&back, &path).unwrap();
    let updates = back.rows_at(loaded.time).unwrap();
    assert_eq!(updates.len() as u64, written.rows);
    for t in times {
        let mut at: std::collections::BTreeMap<(String, i64), i64> = Default::default();
        for u in updates.iter().filter(|u| u.time <= t) {
            *at.entry((u.key.clone(), u.value)).or_default() += u.diff;
        }
        let at: Vec<(String, i64)> = at
            .into_iter()
            .filter(|(_, n)| *n != 0)
            .map(|(pair, n)| {
                assert_eq!(n, 1);
                pair
            })
            .collect();
        assert_eq!(at, prices.at(t).unwrap(), "at {t}");
    }
}

/// A view read older than memory is answered from the stored files by a batch run; its export
/// takes the same road (the workers no longer hold that time), and equals `at(t)`.
#[test]
fn a_view_exported_at_a_time_older_than_memory_is_answered_from_storage() {
    let storage = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let config = Config::default()
        .with_workers(2)
        .with_storage(storage.path())
        .with_retention(Retention::LastCommits(1));
    let engine = Engine::start(config).unwrap();
    let orders: Table<Order> = engine.table("orders").unwrap();
    let large = engine.view_over("large", &orders, |_, orders| orders.filter(|o| o.cents > 0)).unwrap();
    let mut random = Rng::new(11);
    let first = engine.commit(|tx| tx.insert_all(&orders, (0..40).map(|_| order(&mut random, 10)))).unwrap();
    for _ in 0..4 {
        engine.commit(|tx| tx.insert(&orders, order(&mut random, 10))).unwrap();
    }
    assert!(engine.since().unwrap() > first, "the first commit must be older than memory");
    let path = out.path().join("old.parquet");
    let written = write_parquet(&large, first, &path, &ParquetOptions::default()).unwrap();
    let back: Table<Order> = engine.table("back").unwrap();
    let loaded = load_parquet(&back, &path).unwrap();
    assert_eq!(written.rows, large.rows_at(first).unwrap().len() as u64);
    assert_eq!(back.rows_at(loaded.time).unwrap(), large.rows_at(first).unwrap());
    // A table has no definition to rerun: the export fails as its read does.
    let error =
        write_parquet(&orders, first, out.path().join("t.parquet"), &ParquetOptions::default()).unwrap_err();
    assert!(matches!(error, Error::Compacted { ref name, .. } if name == "orders"), "{error}");
}
