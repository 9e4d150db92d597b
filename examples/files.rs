//! A stream of events kept live, synced to Parquet, and read back by a batch query.
//!
//! ```sh
//! cargo run --release --features files --example files
//! ```
//!
//! Clicks arrive in commits; a view counts them per page. While the stream runs:
//! - the view's change stream goes to `changes/` as Parquet files, one per completed interval
//!   (`ChangeFiles`), which any batch tool can read while the engine keeps writing;
//! - the clicks table's history goes to `clicks.parquet` (`write_history`).
//!
//! Then a batch query reads the files back: the same view definition run once over the
//! history file (`ivm::batch::run`) and the change files summed up to the last time both give
//! exactly the live view's `at(t)`. The folder stays for DuckDB (the program prints where):
//!
//! ```sh
//! cd <folder>
//! # the view at time 40, from its change stream:
//! duckdb -c "SELECT key AS page, clicks FROM 'changes/*.parquet'
//!            WHERE time <= 40 GROUP BY ALL HAVING sum(diff) <> 0 ORDER BY page"
//! # the same, recomputed from the clicks themselves:
//! duckdb -c "SELECT page, sum(diff) AS clicks FROM 'clicks.parquet' WHERE time <= 40
//!            GROUP BY page HAVING sum(diff) <> 0 ORDER BY page"
//! ```

use std::time::Duration;

use ivm::batch::{self, BatchInputs};
use ivm::files::{ChangeFiles, ChangeOptions, ParquetOptions, change_files, load_parquet, write_history};
use ivm::{Config, Engine, KeyedView, Table};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Click {
    user: u32,
    page: String,
    ms: u64,
}

/// A page's count, the value of the keyed view.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Count {
    clicks: i64,
}

/// A row of the change files, as loaded back: the key, the value's fields, time and diff.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct CountChange {
    key: String,
    clicks: i64,
    time: u64,
    diff: i64,
}

/// A row of the history file: the click's fields, time and diff.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct ClickUpdate {
    user: u32,
    page: String,
    ms: u64,
    time: u64,
    diff: i64,
}

const PAGES: [&str; 5] = ["/", "/cart", "/docs", "/pricing", "/blog"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let folder = std::env::temp_dir().join("ivm-files-example");
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder)?;

    let engine = Engine::start(Config::default().with_workers(2))?;
    let clicks: Table<Click> = engine.table("clicks")?;
    let per_page: KeyedView<String, Count> = engine.keyed_view_over("per_page", &clicks, |_, clicks| {
        clicks.map(|c| c.page).count().map(|(page, n)| (page, Count { clicks: n as i64 }))
    })?;

    // The live part: 50 commits of 200 clicks; the change files follow, cut every 100 changes.
    let options = ChangeOptions::default().as_of(engine.latest()?).rows_per_file(100);
    let mut changes = ChangeFiles::open(&per_page, folder.join("changes"), options)?;
    let mut t = 0;
    for second in 0..50u64 {
        t = engine.commit(|tx| {
            for i in 0..200u64 {
                let n = second * 200 + i;
                let page = PAGES[(n * 7 % 11 % 5) as usize].to_string();
                tx.insert(&clicks, Click { user: (n % 97) as u32, page, ms: second * 1_000 + i });
            }
        })?;
        changes.sync()?;
    }
    // Everything up to `t` into files; the table's history beside them.
    changes.sync_through(t, Duration::from_secs(30))?;
    let history = write_history(&clicks, t, folder.join("clicks.parquet"), &ParquetOptions::default())?;
    let files = change_files(folder.join("changes"))?;
    println!("{} change files and a history of {} clicks in {}", files.len(), history.rows, folder.display());

    // The batch part, from the files alone. The history, read back into plain rows...
    let reader = Engine::start(Config::default())?;
    let updates: Table<ClickUpdate> = reader.table("history")?;
    let loaded = load_parquet(&updates, folder.join("clicks.parquet"))?;
    let rows = updates.rows_at(loaded.time)?;
    let history: Vec<(Click, u64, isize)> = rows
        .into_iter()
        .map(|u| (Click { user: u.user, page: u.page, ms: u.ms }, u.time, u.diff as isize))
        .collect();
    // ... and the view's own definition run once over it:
    let inputs = BatchInputs::new().as_of(t).table_updates(&clicks, history);
    let recomputed = batch::run(per_page.definition(), &inputs, 2)?;
    assert_eq!(recomputed, per_page.at(t)?);

    // The change files summed up to `t` give the view at `t` too.
    let change_rows: Table<CountChange> = reader.table("changes")?;
    let loaded = load_parquet(&change_rows, folder.join("changes"))?;
    let mut summed = std::collections::BTreeMap::<(String, i64), i64>::new();
    for c in change_rows.rows_at(loaded.time)?.into_iter().filter(|c| c.time <= t) {
        *summed.entry((c.key, c.clicks)).or_default() += c.diff;
    }
    let summed: Vec<(String, Count)> = summed
        .into_iter()
        .filter(|(_, n)| *n != 0)
        .map(|((page, clicks), _)| (page, Count { clicks }))
        .collect();
    assert_eq!(summed, per_page.entries_at(t)?);

    for (page, count) in &summed {
        println!("{page:10} {:6} clicks", count.clicks);
    }
    println!("the files agree with the live view at time {t}; try them in DuckDB:");
    println!(
        "  cd {} && duckdb -c \"SELECT key AS page, clicks FROM 'changes/*.parquet' WHERE time <= {t} GROUP BY ALL HAVING sum(diff) <> 0 ORDER BY page\"",
        folder.display()
    );
    Ok(())
}
