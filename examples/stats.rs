//! Memory and progress you can see: `engine.stats()`, and the engine's events.
//!
//! Run it with `cargo run --release --example stats`. It builds a small shop (orders, a keyed
//! table of prices, a view of the revenue per product, a streamed table of clicks), writes,
//! deletes, subscribes without reading for a while, prints what the engine holds as a table,
//! and checks its own figures against what it wrote.

use ivm::{Config, Engine, Retention, SubscribeOptions};

fn main() -> ivm::Result<()> {
    // 1. The engine reports through the `tracing` crate, and stays silent unless the application
    //    installs a subscriber. Here: the `fmt` subscriber of `tracing-subscriber`, printing
    //    the info events (engine started, checkpoints, storage recovered) to stderr. With
    //    `.with_max_level(tracing::Level::DEBUG)` it would also print each source's `since` as
    //    it moves, and every error the engine returns.
    tracing_subscriber::fmt().with_max_level(tracing::Level::INFO).with_target(false).init();

    // 2. Two workers, and only the last ten commits readable: older times are compacted.
    let config = Config::default().with_workers(2).with_retention(Retention::LastCommits(10));
    let engine = Engine::start(config)?;
    let orders = engine.table::<(u32, u32)>("orders")?; // (order id, product)
    let prices = engine.keyed_table::<u32, u64>("prices")?; // product -> cents
    let clicks = engine.streamed_table::<u32>("clicks")?; // product clicked: kept nowhere
    let revenue = engine.keyed_view("revenue", {
        let (orders, prices) = (orders.clone(), prices.clone());
        move |v| {
            let sold = v.table(&orders).map(|(_order, product)| (product, ()));
            sold.join(v.keyed_table(&prices)).map(|(product, ((), cents))| (product, cents)).reduce(
                |_product, sales, out| {
                    let total: u64 = sales.iter().map(|(cents, count)| **cents * *count as u64).sum();
                    out.push((total, 1));
                },
            )
        }
    })?;

    // 3. Ten products with a price, 1,000 orders, then 100 of them cancelled.
    engine.commit(|tx| (0..10).for_each(|product| tx.upsert(&prices, product, 100 + u64::from(product))))?;
    engine.commit(|tx| (0..1_000).for_each(|order| tx.insert(&orders, (order, order % 10))))?;
    engine.commit(|tx| (0..100).for_each(|order| tx.delete(&orders, (order, order % 10))))?;

    // 4. A subscriber that does not read: what the workers deliver to it waits in its buffer.
    //    (Without a snapshot, so that what it holds is exactly the changes below.)
    let idle = revenue.subscribe_with(SubscribeOptions::default().snapshot(false))?;

    // 5. Twenty more commits: each a new order of product 3, and a click.
    let mut last = 0;
    for order in 1_000..1_020 {
        last = engine.commit(|tx| {
            tx.insert(&orders, (order, 3));
            tx.insert(&clicks, 3);
        })?;
    }

    // 6. A read at the latest time waits until every worker holds it; the figures are then
    //    those of that time. (`stats` itself answers at once with whatever each worker has.)
    revenue.at(last)?;
    orders.at(last)?;
    prices.at(last)?;
    // The idle subscriber is fed after the view's step, a moment after the read returns:
    // wait until the workers have handed it all twenty changes (each a retraction of product
    // 3's old revenue and its new one).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while idle.pending() < 40 {
        assert!(std::time::Instant::now() < deadline, "the idle subscriber was not fed in 60 s");
        std::thread::yield_now();
    }

    // 7. What the engine holds, as a table: rows, updates and batches held, an estimate of
    //    their bytes, `since` (the compaction frontier) and `upper` (the first time not yet
    //    complete); a line per live subscription with its unread updates; and the total.
    let stats = engine.stats()?;
    println!("{stats}");

    // 8. The figures agree with what was written.
    let line = |name| stats.source(name).expect("every table and view has a line").trace;
    assert_eq!(line("orders").rows, 1_000 - 100 + 20, "inserted minus deleted");
    assert_eq!(line("prices").rows, 10, "one value per key");
    assert_eq!(line("revenue").rows, 10, "one total per product");
    for name in ["orders", "prices", "revenue"] {
        let trace = line(name);
        assert_eq!(trace.upper, last + 1, "{name} is complete through the last commit");
        assert_eq!(trace.since, engine.since()?, "{name} is compacted up to the retention");
        assert!(trace.updates >= trace.rows && trace.bytes > 0);
    }
    // The streamed table keeps nothing on the workers, and says so.
    let clicked = line("clicks");
    assert!(!clicked.kept && clicked.rows == 0 && clicked.updates == 0);
    assert_eq!(stats.source("clicks").map(|source| source.kind), Some("streamed table"));
    // The idle subscription holds the twenty changes' updates it has not read.
    let unread = stats.subscription(idle.id()).expect("the subscription is live").unread;
    assert_eq!(unread, 40);
    assert_eq!(stats.total.unread, 40);
    assert_eq!(stats.total.rows, 920 + 10 + 10);

    // 9. Dropping the subscription frees its buffer; it no longer appears.
    drop(idle);
    assert!(engine.stats()?.subscriptions.is_empty());
    println!("stats: every figure checked");
    Ok(())
}
