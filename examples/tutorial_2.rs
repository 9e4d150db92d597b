//! Tutorial, chapter 2: time, past reads and retention.
//!
//! `cargo run --release --example tutorial_2`. The text that goes with it is the crate's
//! `tutorial` module.

use std::time::Duration;

use ivm::{Config, Engine, Error, Retention};

fn main() -> ivm::Result<()> {
    // Keep the last 3 commits readable. Older times are compacted: their state is merged into
    // the present, so memory does not grow with the number of commits.
    let engine = Engine::start(Config::default().with_workers(2).with_retention(Retention::LastCommits(3)))?;
    let orders = engine.table::<(String, u64)>("orders")?;
    let order_count = engine.view("order_count", {
        let orders = orders.clone();
        move |v| v.table(&orders).map(|_| ()).count()
    })?;

    // Timestamps are plain `u64`s. `commit` takes the next one; `commit_at` takes yours, for
    // example seconds since some epoch, as long as they increase.
    let t10 = engine.commit_at(10, |tx| tx.insert(&orders, ("ann".into(), 250)))?;
    let t20 = engine.commit_at(20, |tx| tx.insert(&orders, ("bob".into(), 100)))?;
    assert_eq!((t10, t20), (10, 20));
    let t21 = engine.commit(|tx| tx.insert(&orders, ("cy".into(), 75)))?;
    assert_eq!(t21, 21);
    assert_eq!(engine.latest()?, 21);

    // A time that does not increase is refused, and nothing of that transaction is applied.
    let refused = engine.commit_at(15, |tx| tx.insert(&orders, ("dee".into(), 1)));
    println!("commit_at(15): {}", refused.as_ref().unwrap_err());
    assert_eq!(refused, Err(Error::TimeNotIncreasing { requested: 15, last: 21 }));

    // Any retained time can be read, not only the latest: between commits, the view is what
    // the last commit before made it.
    assert_eq!(order_count.at(10)?, vec![(((), 1), 1)]);
    assert_eq!(order_count.at(15)?, vec![(((), 1), 1)]);
    assert_eq!(order_count.at(21)?, vec![(((), 3), 1)]);

    // One more commit, and time 10 falls out of the last 3 commits. `since` is the oldest
    // time still exact; older reads are a typed error, never a wrong answer.
    engine.commit(|tx| tx.delete(&orders, ("ann".into(), 250)))?;
    assert_eq!(engine.since()?, 20);
    let compacted = order_count.at(10);
    println!("at(10): {}", compacted.as_ref().unwrap_err());
    assert!(matches!(compacted, Err(Error::Compacted { requested: 10, since: 20, .. })));

    // A read at a time nobody committed yet waits for it. `at_timeout` bounds the wait.
    let future = order_count.at_timeout(100, Duration::from_millis(50));
    println!("at_timeout(100): {}", future.as_ref().unwrap_err());
    assert!(matches!(future, Err(Error::Timeout { requested: 100, .. })));

    engine.shutdown();
    println!("tutorial_2: all assertions held");
    Ok(())
}
