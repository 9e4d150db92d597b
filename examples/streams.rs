//! Event streams: inputs whose rows are not kept, and views whose result is not kept.
//!
//! Run it with `cargo run --release --example streams`. A stream of page views flows into two
//! views: a *streamed view* of the views of slow pages (its result is every slow event, so
//! nothing keeps it: subscribers get it as it comes) and a kept view counting views per page
//! (small, kept, read at any time). The events themselves are a *streamed table*: no worker
//! keeps them; with storage on, the write-ahead log is their history, so the table, the
//! streamed view and a view created late are all read at past times from it. The end shows
//! what an engine without storage says when asked for history it never kept.

use std::collections::BTreeMap;

use ivm::batch::{self, BatchInputs};
use ivm::{Config, Definition, Diff, Engine, Error, Table, Time};

/// A page view: (page, user, milliseconds to serve it).
type PageView = (String, u32, u32);

/// Slow page views: every event over 500 ms. Its result grows with the stream.
fn slow(views: &Table<PageView>) -> Definition<PageView> {
    Definition::over(views, |_, views| views.filter(|(_, _, ms)| *ms > 500))
}

/// Views per page: one row per page, whatever the stream's length.
fn per_page(views: &Table<PageView>) -> Definition<(String, Diff)> {
    Definition::over(views, |_, views| views.map(|(page, _, _)| page).count())
}

/// One batch of traffic: `n` page views, every seventh one slow.
fn traffic(from: u32, n: u32) -> Vec<PageView> {
    let pages = ["/home", "/search", "/cart", "/checkout"];
    (from..from + n)
        .map(|i| (pages[i as usize % pages.len()].to_string(), i % 50, if i % 7 == 0 { 900 } else { 40 }))
        .collect()
}

fn main() -> ivm::Result<()> {
    let dir = std::env::temp_dir().join(format!("ivm-streams-example-{}", std::process::id()));
    let engine = Engine::start(Config::default().with_workers(2).with_storage(&dir))?;

    // 1. The stream, and its two views. `streamed_table` is written and read in definitions
    //    like any table; `streamed_view` is defined like any view.
    let page_views = engine.streamed_table::<PageView>("page_views")?;
    let slow_views = engine.streamed_view_from("slow_views", &slow(&page_views))?;
    let counts = engine.view_from("views_per_page", &per_page(&page_views))?;

    // 2. A consumer of the slow events. Its first batch is the snapshot at the latest commit
    //    (empty: nothing committed yet), then every change as it commits.
    let mut alerts = slow_views.subscribe()?;
    let snapshot = alerts.next().expect("a live subscription")?;
    assert!(snapshot.updates.is_empty());

    // 3. Traffic: ten commits of 1,000 events, one of them taken back (a retraction flows too).
    let mut times = Vec::new();
    for round in 0..10 {
        let batch = traffic(round * 1_000, 1_000);
        times.push(engine.commit(|tx| tx.insert_all(&page_views, batch))?);
    }
    let retracted = traffic(7, 1).remove(0); // slow: 7 % 7 == 0
    let last = engine.commit(|tx| tx.delete(&page_views, retracted.clone()))?;
    times.push(last);

    // 4. The consumer got every slow event, and the retraction, as they committed.
    let mut slow_seen: BTreeMap<PageView, Diff> = BTreeMap::new();
    for batch in alerts.by_ref() {
        let batch = batch?;
        for (row, _, diff) in batch.updates {
            *slow_seen.entry(row).or_default() += diff;
        }
        if batch.upper > last {
            break;
        }
    }
    slow_seen.retain(|_, diff| *diff != 0);
    let slow_count: Diff = slow_seen.values().sum();
    println!("the consumer holds {slow_count} slow page views");
    // Every seventh of the 10,000 events was slow, and one of them was taken back.
    assert_eq!(slow_count, 10_000_isize.div_euclid(7) + 1 - 1);

    // 5. Nothing keeps the events or the slow views: their memory is what the count keeps.
    assert_eq!(page_views.stats()?.updates, 0);
    assert_eq!(slow_views.stats()?.updates, 0);
    println!(
        "kept: {} updates for the per-page counts, none for the events or slow views",
        counts.stats()?.updates
    );

    // 6. Past-time reads. The kept view answers from memory; the streamed table and the
    //    streamed view answer from the log (a batch run of the definition over the events as of
    //    that time); a batch run over the inputs as of the time gives the same.
    let past = times[4];
    let events_then: Diff = page_views.at(past)?.iter().map(|(_, n)| n).sum();
    assert_eq!(events_then, 5_000);
    let slow_then = slow_views.at(past)?;
    let batch_then = batch::run(&slow(&page_views), &BatchInputs::from_engine(&engine, past)?, 2)?;
    assert_eq!(slow_then, batch_then);
    assert_eq!(
        counts.at(past)?,
        batch::run(&per_page(&page_views), &BatchInputs::from_engine(&engine, past)?, 2)?
    );
    let slow_count: Diff = slow_then.iter().map(|(_, n)| n).sum();
    println!("at time {past}: {events_then} events, {slow_count} slow, counts {:?}", counts.at(past)?);

    // 7. A view created now, after the events arrived, starts from them: the engine replays the
    //    stream's history from the log into it.
    let late = engine.view_from("late_counts", &per_page(&page_views))?;
    assert_eq!(late.at(last)?, counts.at(last)?);
    println!("a view created after the events: {:?}", late.at(last)?);
    engine.shutdown();
    let _ = std::fs::remove_dir_all(&dir);

    // 8. Without storage, the stream flows just the same, but its history is gone: reading it,
    //    a late view and the streamed view's past each fail, naming the stream and what to do.
    let engine = Engine::start(Config::default())?;
    let page_views = engine.streamed_table::<PageView>("page_views")?;
    let counts = engine.view_from("views_per_page", &per_page(&page_views))?;
    let t: Time = engine.commit(|tx| tx.insert_all(&page_views, traffic(0, 100)))?;
    assert_eq!(counts.at(t)?.len(), 4);
    let refused = page_views.at(t).unwrap_err();
    println!("without storage: {refused}");
    assert!(matches!(refused, Error::NotKept { .. }));
    assert!(matches!(engine.view_from("late_counts", &per_page(&page_views)), Err(Error::NotKept { .. })));
    Ok(())
}
