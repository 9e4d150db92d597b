//! Durability: write, close, reopen, and read the past exactly as before.
//!
//! Run it with `cargo run --release --example durable`. It keeps its data in a fresh temporary
//! directory (printed), so it can run any number of times.

use std::collections::BTreeMap;
use std::time::Duration;

use ivm::{Config, Durability, Engine, Error, Retention, SubscribeOptions, Table, View};

/// The application's engine, table and view.
struct App {
    engine: Engine,
    orders: Table<(String, u64)>, // (customer, cents)
    spend: View<(String, isize)>,
}

/// Registers the tables and the view. After a restart the application calls this again: same
/// names, same row types, same definitions.
fn open(config: Config) -> ivm::Result<App> {
    let engine = Engine::start(config)?;
    let orders = engine.table::<(String, u64)>("orders")?;
    let spend = engine.view("spend", {
        let orders = orders.clone();
        move |v| v.table(&orders).explode(|(customer, cents)| Some((customer, cents as isize))).count()
    })?;
    Ok(App { engine, orders, spend })
}

fn main() -> ivm::Result<()> {
    let dir = std::env::temp_dir().join(format!("ivm-durable-example-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    println!("storage directory: {}", dir.display());
    // Every commit is appended to a checksummed write-ahead log and synced before `commit`
    // returns. Memory keeps the last 3 commits; the files keep the last 10.
    let config = || {
        Config::default()
            .with_storage(&dir)
            .with_durability(Durability::EveryCommit)
            .with_retention(Retention::LastCommits(3))
            .with_log_retention(Retention::LastCommits(10))
    };

    // 1. Write some history.
    let App { engine, orders, spend } = open(config())?;
    let mut answers = BTreeMap::new();
    for (i, customer) in ["ann", "bob", "ann", "cy", "bob", "ann"].iter().enumerate() {
        let t = engine.commit(|tx| tx.insert(&orders, (customer.to_string(), 100 * (i as u64 + 1))))?;
        answers.insert(t, spend.at(t)?);
    }
    // A checkpoint stores every table as of `since`; older log segments can then go.
    println!("checkpoint as of {:?}", engine.checkpoint()?);
    // A subscriber stores where it got to.
    let mut sub = spend.subscribe()?;
    let stored_upper = sub.next_timeout(Duration::from_secs(10))?.expect("a snapshot").upper;
    let last = engine.latest()?;

    // 2. Close. (Dropping the last handle shuts the engine down; so would a crash: every
    //    acknowledged commit is on disk.)
    drop((sub, spend, orders, engine));

    // 3. Reopen and register the same tables and views: the tables are restored from the
    //    checkpoint plus the log tail, the views rebuilt from them.
    let App { engine, orders, spend } = open(config())?;
    assert_eq!(engine.latest()?, last, "timestamps continue where they stopped");
    for (t, expected) in &answers {
        // Times still in memory are read from the view; older ones that the files still cover
        // are answered by a one-shot batch run over the stored tables: exact either way.
        assert_eq!(&spend.at(*t)?, expected, "at({t}) after the restart");
    }
    println!("after restart, spend at {last}: {:?}", spend.at(last)?);

    // 4. The subscriber resumes from its stored upper: no gap, no duplicate.
    let t = engine.commit(|tx| tx.insert(&orders, ("dee".into(), 42)))?;
    let mut resumed =
        spend.subscribe_with(SubscribeOptions::default().as_of(stored_upper - 1).snapshot(false).until(t))?;
    let batch = resumed.next_timeout(Duration::from_secs(10))?.expect("the new order");
    assert_eq!(batch.lower, stored_upper);
    assert_eq!(batch.updates, vec![(("dee".to_string(), 42), t, 1)]);

    // 5. Reopening a table with another row type is refused, and the files stay untouched.
    let error = engine.table::<u64>("orders").unwrap_err();
    assert!(matches!(error, Error::TypeMismatch { .. }));
    println!("reopening with another type: {error}");
    drop((resumed, spend, orders, engine));
    let _ = std::fs::remove_dir_all(&dir);
    println!("durable: all assertions held");
    Ok(())
}
