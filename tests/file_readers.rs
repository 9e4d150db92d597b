//! Readers none of us wrote read what `ivm::files` writes, and write what it loads: DuckDB and
//! Polars (the PyPI packages; `.ci/run` installs them, and these tests fail without them).
//!
//! Over a random history, on 1, 2 and 4 workers: a bag view and a keyed view exported at every
//! time, their change streams summed up to every time with SQL (DuckDB) and with Polars, a
//! table's history recomputed into the view with SQL, and a partitioned export, all equal to
//! the engine's `at(t)`. And the other way: files DuckDB writes (Parquet and CSV) load into a
//! table equal to what DuckDB holds.

use crate::common_files;

use std::collections::BTreeMap;
use std::time::Duration;

use common_files::{Order, Rng, Totals, canonical, flattened, order, python};
use ivm::files::{ChangeFiles, ChangeOptions, CsvOptions, ParquetOptions, load_csv, load_parquet};
use ivm::files::{write_history, write_parquet, write_parquet_partitioned};
use ivm::{Config, Engine, KeyedView, Table, Time, View};

/// `(reader, reading, time)` → the rows as sorted canonical JSON.
type Readings = BTreeMap<(String, String, Time), Vec<String>>;

const WAIT: Duration = Duration::from_secs(60);

#[test]
fn duckdb_and_polars_read_exports_and_change_streams_equal_to_at_every_time() {
    let mut repeated = false;
    for workers in [1, 2, 4] {
        for seed in 0..2 {
            repeated |= check_exports(workers, seed);
        }
    }
    assert!(repeated, "no history held a row twice: the seeds no longer test multiplicities");
}

/// Returns whether the view held a row more than once at the end (so that the test covers
/// multiplicities).
fn check_exports(workers: usize, seed: u64) -> bool {
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path();
    let engine = Engine::start(Config::default().with_workers(workers)).unwrap();
    let orders: Table<Order> = engine.table("orders").unwrap();
    let large: View<Order> =
        engine.view_over("large", &orders, |_, orders| orders.filter(|o| o.cents > 500)).unwrap();
    let totals: KeyedView<String, Totals> = engine
        .keyed_view_over("totals", &orders, |_, orders| {
            orders.map(|o| (o.shop, o.cents)).reduce(|_, cents, out| {
                let orders = cents.iter().map(|(_, n)| *n as i64).sum();
                let sum = cents.iter().map(|(c, n)| **c * *n as i64).sum();
                out.push((Totals { orders, cents: sum }, 1));
            })
        })
        .unwrap();
    let start = engine.latest().unwrap();
    let mut large_changes =
        ChangeFiles::open(&large, dir.join("changes_large"), ChangeOptions::default().as_of(start)).unwrap();
    let mut totals_changes =
        ChangeFiles::open(&totals, dir.join("changes_totals"), ChangeOptions::default().as_of(start))
            .unwrap();

    let mut random = Rng::new(seed * 31 + workers as u64);
    let mut held: Vec<Order> = Vec::new();
    let mut expected = Readings::new();
    let mut times = Vec::new();
    let options = ParquetOptions::default();
    for _ in 0..16 {
        let t = engine
            .commit(|tx| {
                for _ in 0..1 + random.below(5) {
                    let row = order(&mut random, 8);
                    held.push(row.clone());
                    tx.insert(&orders, row);
                }
                if !held.is_empty() && random.chance(60) {
                    let gone = held.swap_remove(random.below(held.len() as u64) as usize);
                    tx.delete(&orders, gone);
                }
            })
            .unwrap();
        times.push(t);
        write_parquet(&large, t, dir.join(format!("large-{t}.parquet")), &options).unwrap();
        write_parquet(&totals, t, dir.join(format!("totals-{t}.parquet")), &options).unwrap();
        large_changes.sync_through(t, WAIT).unwrap();
        totals_changes.sync_through(t, WAIT).unwrap();
        let large_rows: Vec<String> = large.rows_at(t).unwrap().iter().map(canonical).collect();
        let totals_rows: Vec<String> =
            totals.entries_at(t).unwrap().iter().map(|(k, v)| flattened(k, v)).collect();
        for reader in ["duckdb", "polars"] {
            for (reading, rows) in [
                ("large", &large_rows),
                ("totals", &totals_rows),
                ("changes_large", &large_rows),
                ("changes_totals", &totals_rows),
                ("history_large", &large_rows),
            ] {
                expected.insert((reader.into(), reading.into(), t), sorted(rows.clone()));
            }
        }
    }
    let last = *times.last().unwrap();
    write_history(&orders, last, dir.join("history.parquet"), &options).unwrap();
    write_parquet_partitioned(&orders, last, dir.join("partitioned"), "shop", &options).unwrap();
    let all: Vec<String> = sorted(orders.rows_at(last).unwrap().iter().map(canonical).collect());
    for reader in ["duckdb", "polars"] {
        expected.insert((reader.into(), "partitioned".into(), last), all.clone());
    }
    std::fs::write(dir.join("times.json"), serde_json::to_string(&times).unwrap()).unwrap();

    let compared: usize = expected.values().map(Vec::len).sum();
    assert!(compared > 300, "too few rows to compare ({compared})");
    let repeated = large.at(last).unwrap().iter().any(|(_, n)| *n > 1);
    let read = readings(&python(READ_EXPORTS, &[dir]));
    for (key, rows) in &expected {
        let got = read.get(key).cloned().unwrap_or_default();
        assert_eq!(&got, rows, "{key:?} on {workers} workers, seed {seed}");
    }
    engine.shutdown();
    repeated
}

/// What the Python script printed: `reader \t reading \t time \t row` lines.
fn readings(printed: &str) -> Readings {
    let mut readings = Readings::new();
    for line in printed.lines() {
        let mut fields = line.splitn(4, '\t');
        let (Some(reader), Some(reading), Some(time), Some(row)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            panic!("unexpected line from the reader: {line:?}");
        };
        let row: serde_json::Value = serde_json::from_str(row).unwrap();
        let key = (reader.to_string(), reading.to_string(), time.parse().unwrap());
        readings.entry(key).or_default().push(serde_json::to_string(&row).unwrap());
    }
    for rows in readings.values_mut() {
        rows.sort();
    }
    readings
}

fn sorted(mut rows: Vec<String>) -> Vec<String> {
    rows.sort();
    rows
}

/// Reads every export with DuckDB and Polars; prints one line per row read.
const READ_EXPORTS: &str = r#"
d = sys.argv[1]
times = json.load(open(f"{d}/times.json"))
con = duckdb.connect()

def out(reader, reading, t, rows):
    for row in rows:
        print(reader, reading, t, json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False), sep="\t")

def sql(query):
    cursor = con.execute(query)
    names = [c[0] for c in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]

def expanded(rows):
    # Each row repeated by its summed diff `n`; a negative n is kept once, so that it fails.
    listed = []
    for row in rows:
        n = int(row.pop("n"))
        listed.extend([row] * n if n > 0 else [dict(row, negative=n)])
    return listed

columns = {"large": ["id", "shop", "cents", "note"], "totals": ["key", "orders", "cents"]}
for t in times:
    for name in ["large", "totals"]:
        path = f"{d}/{name}-{t}.parquet"
        out("duckdb", name, t, sql(f"SELECT * FROM read_parquet('{path}')"))
        out("polars", name, t, pl.read_parquet(path).to_dicts())
        cols = ", ".join(columns[name])
        glob = f"{d}/changes_{name}/changes-*.parquet"
        out("duckdb", f"changes_{name}", t, expanded(sql(
            f"SELECT {cols}, sum(diff) AS n FROM read_parquet('{glob}') WHERE time <= {t} "
            f"GROUP BY ALL HAVING sum(diff) <> 0")))
        summed = (pl.scan_parquet(glob).filter(pl.col("time") <= t)
                  .group_by(columns[name]).agg(pl.col("diff").sum().alias("n"))
                  .filter(pl.col("n") != 0).collect())
        out("polars", f"changes_{name}", t, expanded(summed.to_dicts()))
    history = f"{d}/history.parquet"
    out("duckdb", "history_large", t, expanded(sql(
        f"SELECT id, shop, cents, note, sum(diff) AS n FROM read_parquet('{history}') "
        f"WHERE time <= {t} AND cents > 500 GROUP BY ALL HAVING sum(diff) <> 0")))
    recomputed = (pl.scan_parquet(history).filter((pl.col("time") <= t) & (pl.col("cents") > 500))
                  .group_by(columns["large"]).agg(pl.col("diff").sum().alias("n"))
                  .filter(pl.col("n") != 0).collect())
    out("polars", "history_large", t, expanded(recomputed.to_dicts()))
last = times[-1]
out("duckdb", "partitioned", last, sql(
    f"SELECT id, shop, cents, note FROM read_parquet('{d}/partitioned/**/*.parquet', hive_partitioning = true)"))
frame = pl.read_parquet(f"{d}/partitioned/", hive_partitioning=True)
out("polars", "partitioned", last, frame.select(columns["large"]).to_dicts())
"#;

#[test]
fn files_duckdb_writes_load_into_a_table_equal_to_what_duckdb_holds() {
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path();
    // DuckDB makes a table of 50,000 random orders (INTEGER ids, nulls among the notes) and
    // writes it as one Parquet file, a folder of Parquet files partitioned by shop (once with
    // the shop in the files too, once only in the folder names, as DuckDB does by default) and
    // a CSV file; it prints its rows.
    let printed = python(WRITE_ORDERS, &[dir]);
    let held: Vec<String> = sorted(
        printed
            .lines()
            .map(|line| {
                let row: serde_json::Value = serde_json::from_str(line).unwrap();
                serde_json::to_string(&row).unwrap()
            })
            .collect(),
    );
    assert_eq!(held.len(), 50_000);
    for workers in [1, 2, 4] {
        let engine = Engine::start(Config::default().with_workers(workers)).unwrap();
        for (name, path, csv) in [
            ("from_parquet", dir.join("orders.parquet"), false),
            ("from_folder", dir.join("folder"), false),
            ("from_hive_folder", dir.join("hive"), false),
            ("from_csv", dir.join("orders.csv"), true),
        ] {
            let table: Table<Order> = engine.table(name).unwrap();
            let loaded = if csv {
                load_csv(&table, &path, &CsvOptions::default())
            } else {
                load_parquet(&table, &path)
            }
            .unwrap();
            assert_eq!(loaded.rows, 50_000, "{name}");
            let rows = sorted(table.rows_at(loaded.time).unwrap().iter().map(canonical).collect());
            assert_eq!(rows, held, "{name} on {workers} workers");
        }
        engine.shutdown();
    }
}

const WRITE_ORDERS: &str = r#"
d = sys.argv[1]
con = duckdb.connect()
con.execute("""
    CREATE TABLE orders AS SELECT
        (i % 40000)::INTEGER AS id,
        ['Lyon', 'Oslo', 'Porto', 'Riga', 'Zürich'][1 + (hash(i) % 5)::INTEGER] AS shop,
        (hash(i * 7) % 100000)::BIGINT - 50000 AS cents,
        CASE WHEN i % 3 = 0 THEN NULL ELSE 'note ' || (i % 11)::VARCHAR END AS note
    FROM range(50000) t(i)""")
con.execute(f"COPY orders TO '{d}/orders.parquet' (FORMAT parquet)")
con.execute(f"COPY orders TO '{d}/folder' (FORMAT parquet, PARTITION_BY (shop), WRITE_PARTITION_COLUMNS true)")
con.execute(f"COPY orders TO '{d}/hive' (FORMAT parquet, PARTITION_BY (shop))")
con.execute(f"COPY orders TO '{d}/orders.csv' (FORMAT csv, HEADER true)")
cursor = con.execute("SELECT id, shop, cents, note FROM orders")
for row in cursor.fetchall():
    print(json.dumps(dict(zip(["id", "shop", "cents", "note"], row)), sort_keys=True, separators=(",", ":"), ensure_ascii=False))
"#;
