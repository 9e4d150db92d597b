//! Tutorial, chapter 4: subscribing to a view's changes.
//!
//! `cargo run --release --example tutorial_4`. The text that goes with it is the crate's
//! `tutorial` module.

use std::collections::BTreeMap;
use std::time::Duration;

use ivm::{Batch, Config, Engine, SubscribeOptions};

/// Adds a batch's updates to `state`, a collection kept as row -> multiplicity.
fn apply(state: &mut BTreeMap<(String, isize), isize>, batch: &Batch<(String, isize)>) {
    for (row, _time, diff) in &batch.updates {
        *state.entry(row.clone()).or_insert(0) += diff;
    }
    state.retain(|_, diff| *diff != 0);
}

fn main() -> ivm::Result<()> {
    let engine = Engine::start(Config::default().with_workers(2))?;
    let orders = engine.table::<(String, u64)>("orders")?;
    let spend = engine.view("spend", {
        let orders = orders.clone();
        move |v| v.table(&orders).explode(|(customer, cents)| Some((customer, cents as isize))).count()
    })?;
    let t1 = engine.commit(|tx| tx.insert(&orders, ("ann".into(), 250)))?;

    // A subscription starts at the latest commit with a snapshot: one batch holding the whole
    // view at that time. Then come batches of changes `(row, time, diff)`, each covering
    // `lower <= time < upper`, each delivered once the view is complete through `upper - 1`.
    let mut changes = spend.subscribe()?;
    let snapshot = changes.next_timeout(Duration::from_secs(30))?.expect("the snapshot");
    assert_eq!((snapshot.lower, snapshot.upper), (t1, t1 + 1));
    println!("snapshot: {:?}", snapshot.updates);
    let mut state = BTreeMap::new();
    apply(&mut state, &snapshot);

    // Each commit that changes the view shows up as retractions (diff -1) and insertions
    // (diff +1): ann's total goes from 250 to 300.
    let t2 = engine.commit(|tx| tx.insert(&orders, ("ann".into(), 50)))?;
    let t3 = engine.commit(|tx| tx.insert(&orders, ("bob".into(), 100)))?;
    let mut upper = snapshot.upper;
    while upper <= t3 {
        // A subscription is an iterator; this blocks until the next batch is complete.
        let batch = changes.next().expect("the engine is running")?;
        println!("[{}, {}): {:?}", batch.lower, batch.upper, batch.updates);
        assert_eq!(batch.lower, upper, "batches are contiguous");
        apply(&mut state, &batch);
        upper = batch.upper;
    }
    assert!(upper > t2);

    // The promise: the snapshot plus every change up to t equals the view read at t.
    let summed: Vec<_> = state.clone().into_iter().collect();
    assert_eq!(summed, spend.at(t3)?);

    // A consumer that stored the `upper` of its last batch resumes where it stopped: as of
    // `upper - 1`, without a snapshot. `until` ends the subscription at a time.
    drop(changes);
    let t4 = engine.commit(|tx| tx.delete(&orders, ("bob".into(), 100)))?;
    let resumed =
        spend.subscribe_with(SubscribeOptions::default().as_of(upper - 1).snapshot(false).until(t4))?;
    for batch in resumed {
        let batch = batch?;
        assert!(batch.lower >= upper);
        apply(&mut state, &batch);
    }
    assert_eq!(state.into_iter().collect::<Vec<_>>(), spend.at(t4)?);
    println!("after resuming, the consumer's copy equals at({t4})");

    engine.shutdown();
    println!("tutorial_4: all assertions held");
    Ok(())
}
