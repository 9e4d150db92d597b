//! Parquet export and load against DuckDB's own writer and reader, on the same rows, in one run.
//!
//! ```sh
//! pip install duckdb
//! cargo bench -p ivm-benches --features files --bench files
//! IVM_FILES_ROWS=1000000 IVM_FILES_REPS=5 cargo bench -p ivm-benches --features files --bench files
//! ```
//!
//! The rows: `IVM_FILES_ROWS` (default 10M) orders `{ id: u64, shop: String, cents: i64, note:
//! Option<String> }`, made by the same formula on both sides. Each repetition measures, with
//! Snappy compression on both sides:
//! - **export**: ours, `write_parquet` of a table of the rows at `t` (the read from the
//!   arrangement included); DuckDB, `COPY orders TO 'f.parquet'` from its in-memory table;
//! - **load**: ours, `load_parquet` of DuckDB's file into a new table of a fresh engine,
//!   until a view counting the table has seen the load (so the rows are arranged); DuckDB, `CREATE TABLE ... AS SELECT * FROM read_parquet(...)`.
//!
//! It prints each time, the medians, and the ratios DuckDB time / our time (1.0 = as fast).

use std::process::Command;
use std::time::Instant;

use ivm::files::{ParquetOptions, load_parquet, write_parquet};
use ivm::{Config, Engine, Table};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Order {
    id: u64,
    shop: String,
    cents: i64,
    note: Option<String>,
}

const SHOPS: [&str; 5] = ["Lyon", "Oslo", "Porto", "Riga", "Turin"];

fn order(i: u64) -> Order {
    Order {
        id: i,
        shop: SHOPS[(i % 5) as usize].to_string(),
        cents: ((i * 7919) % 100_000) as i64 - 50_000,
        note: if i.is_multiple_of(3) { None } else { Some(format!("note {}", i % 11)) },
    }
}

/// DuckDB makes the same rows, then times its export and its load `reps` times; prints
/// `export <seconds>` and `load <seconds>` lines.
const DUCKDB: &str = r#"
import sys, time, duckdb
rows, reps, d = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
con = duckdb.connect()
con.execute(f"""CREATE TABLE orders AS SELECT i::UBIGINT AS id,
    ['Lyon', 'Oslo', 'Porto', 'Riga', 'Turin'][1 + (i % 5)::INTEGER] AS shop,
    ((i * 7919) % 100000)::BIGINT - 50000 AS cents,
    CASE WHEN i % 3 = 0 THEN NULL ELSE 'note ' || (i % 11)::VARCHAR END AS note
    FROM range({rows}) t(i)""")
for rep in range(reps):
    start = time.perf_counter()
    con.execute(f"COPY orders TO '{d}/duckdb.parquet' (FORMAT parquet, COMPRESSION snappy)")
    print("export", time.perf_counter() - start, flush=True)
    start = time.perf_counter()
    con.execute(f"CREATE OR REPLACE TABLE loaded AS SELECT * FROM read_parquet('{d}/duckdb.parquet')")
    print("load", time.perf_counter() - start, flush=True)
    assert con.execute("SELECT count(*) FROM loaded").fetchone()[0] == rows
"#;

fn median(mut times: Vec<f64>) -> f64 {
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn main() {
    let env =
        |name: &str, default: u64| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    let rows = env("IVM_FILES_ROWS", 10_000_000);
    let reps = env("IVM_FILES_REPS", 3) as usize;
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path();

    let output = Command::new("python3")
        .args(["-c", DUCKDB, &rows.to_string(), &reps.to_string(), &dir.to_string_lossy()])
        .output()
        .expect("python3 with duckdb is needed (pip install duckdb)");
    assert!(output.status.success(), "DuckDB failed: {}", String::from_utf8_lossy(&output.stderr));
    let printed = String::from_utf8(output.stdout).unwrap();
    let duckdb = |what: &str| -> Vec<f64> {
        printed.lines().filter_map(|l| l.strip_prefix(what)).map(|s| s.trim().parse().unwrap()).collect()
    };
    let (duck_export, duck_load) = (duckdb("export "), duckdb("load "));

    let engine = Engine::start(Config::default().with_workers(2)).unwrap();
    let orders: Table<Order> = engine.table("orders").unwrap();
    let t = engine.commit(|tx| tx.insert_all(&orders, (0..rows).map(order))).unwrap();
    let options = ParquetOptions::default();
    let (mut our_export, mut our_load) = (Vec::new(), Vec::new());
    let (mut our_read, mut our_decode) = (Vec::new(), Vec::new());
    for _ in 0..reps {
        // The read alone, for the breakdown: the export's share that is `at(t)`.
        let start = Instant::now();
        assert_eq!(orders.at(t).unwrap().len() as u64, rows);
        our_read.push(start.elapsed().as_secs_f64());
        let start = Instant::now();
        let written = write_parquet(&orders, t, dir.join("ours.parquet"), &options).unwrap();
        our_export.push(start.elapsed().as_secs_f64());
        assert_eq!(written.rows, rows);
        // A fresh engine per load; the load counts once a view over the table has seen it.
        let fresh = Engine::start(Config::default().with_workers(2)).unwrap();
        let loaded_into: Table<Order> = fresh.table("loaded").unwrap();
        let count = fresh.view_over("count", &loaded_into, |_, rows| rows.map(|_| ()).count()).unwrap();
        let start = Instant::now();
        let loaded = load_parquet(&loaded_into, dir.join("duckdb.parquet")).unwrap();
        our_decode.push(start.elapsed().as_secs_f64());
        assert_eq!(count.at(loaded.time).unwrap(), vec![(((), rows as isize), 1)]);
        our_load.push(start.elapsed().as_secs_f64());
        fresh.shutdown();
    }
    let show = |v: &[f64]| v.iter().map(|s| format!("{s:.2}")).collect::<Vec<_>>().join(" ");
    println!("rows {rows}, {reps} repetitions, seconds:");
    println!("  export  ours   {}  median {:.2}", show(&our_export), median(our_export.clone()));
    println!("  export  duckdb {}  median {:.2}", show(&duck_export), median(duck_export.clone()));
    println!("    of which the read, at(t):  {}  median {:.2}", show(&our_read), median(our_read.clone()));
    println!("  load    ours   {}  median {:.2}", show(&our_load), median(our_load.clone()));
    println!(
        "    of which until load_parquet returned (decoded, committed): {}  median {:.2}",
        show(&our_decode),
        median(our_decode.clone())
    );
    println!("  load    duckdb {}  median {:.2}", show(&duck_load), median(duck_load.clone()));
    println!(
        "ratios (DuckDB time / ours, 1.0 = as fast): export {:.2}, load {:.2}",
        median(duck_export) / median(our_export),
        median(duck_load) / median(our_load)
    );
}
