//! What an SQL row costs per operator: one SQL view at a time over a Rust table of synthetic
//! bids, committed in 40,000-row transactions on 1 worker and read once at the end, each
//! shape timed from the first commit to the read (BENCHMARKS.md §7, "Where q5's remaining
//! time goes"). The shapes grow q5's `HOP` step by step: a count of the table, of its rows five
//! times, of its join with five constant rows, and of the whole `HOP` (that join, its filter
//! and the window arithmetic).
//!
//! ```sh
//! cargo bench -p ivm-benches --bench sql_rows
//! IVM_SQL_ROWS=200000 cargo bench -p ivm-benches --bench sql_rows
//! IVM_SQL_SHAPE=HOP cargo bench -p ivm-benches --bench sql_rows   # the shapes whose name has it
//! ```

use std::time::Instant;

use ivm::sql::Sql;
use ivm::{Config, Engine};

/// A bid, as the view reads it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
struct Bid {
    auction: u64,
    bidder: u64,
    price: u64,
    date_time: u64,
}

/// Rows per transaction.
const TRANSACTION: u64 = 40_000;

const HOP: &str = "(SELECT b.*, b.date_time - b.date_time % 2000 - h.i * 2000 AS window_start, \
     b.date_time - b.date_time % 2000 - h.i * 2000 + 10000 AS window_end \
     FROM bids AS b, (VALUES (0), (1), (2), (3), (4)) AS h(i) \
     WHERE b.date_time - b.date_time % 2000 >= h.i * 2000) AS hop";

/// Each shape's name and view.
fn shapes() -> Vec<(&'static str, String)> {
    let bids = "SELECT auction FROM bids";
    vec![
        ("count", "SELECT COUNT(*) AS n FROM bids".to_string()),
        (
            "count of 5 copies",
            format!(
                "SELECT COUNT(*) AS n FROM ({0} UNION ALL {0} UNION ALL {0} UNION ALL {0} UNION ALL {0}) AS u",
                bids
            ),
        ),
        (
            "count of join with 5 rows",
            "SELECT COUNT(*) AS n FROM bids AS b, (VALUES (0), (1), (2), (3), (4)) AS h(i)".to_string(),
        ),
        ("count of HOP", format!("SELECT COUNT(*) AS n FROM {HOP}")),
    ]
}

/// Seconds to maintain `view` over `rows` bids, with the view's row count at the end.
fn run(view: &str, rows: u64) -> (f64, usize) {
    let engine = Engine::start(Config::default().with_workers(1)).expect("engine");
    let bids = engine.table::<Bid>("bids").expect("table");
    let sql = Sql::builder(&engine).table(&bids).open().expect("sql");
    sql.execute(&format!("CREATE VIEW v AS {view}")).expect("view");
    let start = Instant::now();
    let mut seed = 1u64;
    let mut last = 0;
    for chunk in 0..rows / TRANSACTION {
        last = engine
            .commit(|tx| {
                for i in 0..TRANSACTION {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    let k = chunk * TRANSACTION + i;
                    // Nine bids in ten to one of five recent auctions, the others to any before.
                    let auction = if (seed >> 33) % 10 < 9 {
                        k / 200 + (seed >> 40) % 5
                    } else {
                        (seed >> 20) % (k / 200 + 1)
                    };
                    let bid =
                        Bid { auction, bidder: (seed >> 13) % 1000, price: seed % 10_000, date_time: k * 10 };
                    tx.insert(&bids, bid);
                }
            })
            .expect("commit");
    }
    // The view itself, read whole.
    let read = sql.query(&format!("SELECT * FROM v AS OF {last}")).expect("read");
    (start.elapsed().as_secs_f64(), read.rows().len())
}

fn main() {
    let rows = std::env::var("IVM_SQL_ROWS").ok().and_then(|r| r.parse().ok()).unwrap_or(1_000_000);
    let only = std::env::var("IVM_SQL_SHAPE").unwrap_or_default();
    println!("{rows} bids in {TRANSACTION}-row transactions, 1 worker");
    for (name, view) in shapes().into_iter().filter(|(name, _)| name.contains(only.as_str())) {
        let (seconds, read) = run(&view, rows);
        println!("{name:28} {seconds:6.2} s  ({read} rows)");
    }
}
