//! Tutorial, chapter 6: a durable engine.
//!
//! `cargo run --release --example tutorial_6`. The text that goes with it is the crate's
//! `tutorial` module.

use ivm::{Config, Durability, Engine, Error, Retention, Table, View};

/// The application's orders, `(customer, cents)`, and the spend per customer.
type Shop = (Engine, Table<(String, u64)>, View<(String, isize)>);

/// What the application registers at every start: the same tables and views, by name.
fn open(config: Config) -> ivm::Result<Shop> {
    let engine = Engine::start(config)?;
    let orders = engine.table::<(String, u64)>("orders")?;
    let spend = engine.view("spend", {
        let orders = orders.clone();
        move |v| v.table(&orders).explode(|(customer, cents)| Some((customer, cents as isize))).count()
    })?;
    Ok((engine, orders, spend))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("ivm-tutorial-6-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    // With storage, every commit is appended to a checksummed write-ahead log in `dir` and
    // synced before `commit` returns (`Durability::EveryCommit`, the default); tables are
    // checkpointed now and then (here: by hand), so a restart does not replay the whole log.
    // Memory keeps the last 2 commits; the files keep every commit, and reads older than
    // memory are answered from them, exactly.
    let config = || {
        Config::default()
            .with_workers(2)
            .with_storage(&dir)
            .with_durability(Durability::EveryCommit)
            .with_retention(Retention::LastCommits(2))
            .with_log_retention(Retention::All)
    };

    let (engine, orders, spend) = open(config())?;
    let t1 = engine.commit(|tx| tx.insert(&orders, ("ann".into(), 250)))?;
    let t2 = engine.commit(|tx| tx.insert(&orders, ("bob".into(), 100)))?;
    let before = (spend.at(t1)?, spend.at(t2)?);
    // A checkpoint holds the tables as of `since`, the oldest time memory still answers.
    let checkpoint = engine.checkpoint()?;
    println!("checkpoint of the tables as of time {checkpoint:?}");
    assert_eq!(checkpoint, Some(engine.since()?));
    let t3 = engine.commit(|tx| tx.insert(&orders, ("ann".into(), 50)))?;
    let at_t3 = spend.at(t3)?;
    // Only one engine may have the directory open at a time.
    let locked = Engine::start(config());
    println!("a second engine on the same directory: {}", locked.as_ref().unwrap_err());
    assert!(matches!(locked, Err(Error::StorageLocked { .. })));
    engine.shutdown();

    // Start again: register the same tables and views, and every retained time reads as
    // before, including commits made after the checkpoint (replayed from the log) and t1,
    // which is older than memory now (answered from the files).
    let (engine, orders, spend) = open(config())?;
    assert_eq!(engine.latest()?, t3, "timestamps continue where they stopped");
    assert_eq!((spend.at(t1)?, spend.at(t2)?), before);
    assert_eq!(spend.at(t3)?, at_t3);
    let t4 = engine.commit(|tx| tx.delete(&orders, ("bob".into(), 100)))?;
    println!("after the restart, spend at {t4}: {:?}", spend.at(t4)?);
    assert_eq!(spend.at(t4)?, vec![(("ann".to_string(), 300), 1)]);

    // Registering a table with another row type than the stored one is refused.
    let wrong = engine.table::<u64>("orders");
    println!("opening orders as u64: {}", wrong.as_ref().unwrap_err());
    assert!(matches!(wrong, Err(Error::TypeMismatch { .. })));

    engine.shutdown();
    std::fs::remove_dir_all(&dir)?;
    println!("tutorial_6: all assertions held");
    Ok(())
}
