//! Subscriptions: the stream reading of a view, and how it agrees with the batch reading.
//!
//! Run it with `cargo run --release --example subscribe`. It subscribes, commits, reads
//! batches, drops the subscription and resumes from the stored `upper`, and checks at every step
//! that summing the stream up to `t` gives exactly `view.at(t)`.

use std::collections::BTreeMap;
use std::time::Duration;

use ivm::{Batch, Config, Diff, Engine, SubscribeOptions, Time};

/// The collection obtained by summing every update with `time <= t`.
fn sum_through(batches: &[Batch<(String, isize)>], t: Time) -> Vec<((String, isize), Diff)> {
    let mut sum = BTreeMap::new();
    for (row, time, diff) in batches.iter().flat_map(|b| &b.updates) {
        if *time <= t {
            *sum.entry(row.clone()).or_insert(0) += diff;
        }
    }
    sum.into_iter().filter(|(_, diff)| *diff != 0).collect()
}

fn main() -> ivm::Result<()> {
    let wait = Duration::from_secs(10);
    let engine = Engine::start(Config::default().with_workers(2))?;
    let clicks = engine.table::<(String, u32)>("clicks")?; // (page, user)
    let per_page = engine.view("clicks_per_page", {
        let clicks = clicks.clone();
        move |v| v.table(&clicks).map(|(page, _user)| page).count()
    })?;

    // 1. Some history before anyone subscribes.
    engine.commit(|tx| {
        tx.insert(&clicks, ("/home".into(), 1));
        tx.insert(&clicks, ("/home".into(), 2));
    })?;

    // 2. Subscribe. The default starts at the latest commit, with a snapshot: the first batch is
    //    the whole collection at that time, every row stamped with it.
    let mut sub = per_page.subscribe()?;
    let snapshot = sub.next_timeout(wait)?.expect("a live subscription");
    println!("snapshot {:?}..{:?}: {:?}", snapshot.lower, snapshot.upper, snapshot.updates);
    let mut seen = vec![snapshot];

    // 3. Commit more. Each batch covers `[lower, upper)`, holds the consolidated changes in that
    //    interval in time order, and arrives only once the view is complete through `upper - 1`.
    let t2 = engine.commit(|tx| tx.insert(&clicks, ("/about".into(), 1)))?;
    let t3 = engine.commit(|tx| tx.insert(&clicks, ("/home".into(), 3)))?;
    while seen.last().unwrap().upper <= t3 {
        let batch = sub.next_timeout(wait)?.expect("a live subscription");
        println!("batch {}..{}: {:?}", batch.lower, batch.upper, batch.updates);
        seen.push(batch);
    }
    // Batches are contiguous, and the stream sums to the batch reading at every time.
    for pair in seen.windows(2) {
        assert_eq!(pair[0].upper, pair[1].lower);
    }
    for t in [t2, t3] {
        assert_eq!(sum_through(&seen, t), per_page.at(t)?);
    }

    // 4. Store the `upper` of the last batch read, and drop the subscription (this releases
    //    everything it held on the workers).
    let stored_upper = seen.last().unwrap().upper;
    drop(sub);

    // 5. Meanwhile, more commits happen.
    let t4 = engine.commit(|tx| tx.delete(&clicks, ("/home".into(), 1)))?;
    let t5 = engine.commit(|tx| tx.insert(&clicks, ("/blog".into(), 7)))?;

    // 6. Resume: as_of(upper - 1) without a snapshot gives exactly the changes not seen yet:
    //    no gap, no duplicate.
    let mut resumed = per_page
        .subscribe_with(SubscribeOptions::default().as_of(stored_upper - 1).snapshot(false).until(t5))?;
    for batch in resumed.by_ref() {
        let batch = batch?;
        println!("resumed batch {}..{}: {:?}", batch.lower, batch.upper, batch.updates);
        assert_eq!(batch.lower, seen.last().unwrap().upper, "no gap, no overlap");
        seen.push(batch);
    }
    // `until(t5)` ended the subscription once it was complete through t5.
    assert!(resumed.is_finished());
    for t in [t2, t3, t4, t5] {
        assert_eq!(sum_through(&seen, t), per_page.at(t)?, "the identity at {t}");
    }
    println!("at({t5}) = {:?}", per_page.at(t5)?);

    // 7. Shutting down ends every open subscription with a final `Error::Shutdown`.
    let mut open = per_page.subscribe_with(SubscribeOptions::default().snapshot(false))?;
    engine.shutdown();
    assert_eq!(open.next(), Some(Err(ivm::Error::Shutdown)));
    assert_eq!(open.next(), None);
    println!("subscribe: all assertions held");
    Ok(())
}
