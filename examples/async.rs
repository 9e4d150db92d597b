//! From async code: a small shop service on tokio, with a durable engine.
//!
//! Run it with `cargo run --release --example async`. Several writer tasks commit orders with
//! `commit_async`, a subscriber task follows the revenue per country through
//! `subscribe()?.into_stream()`, and reader tasks ask `at_async` and `get_async`; none of them
//! blocks a runtime thread (the log's syncs run on `ivm`'s own small pool). At the end it checks
//! that the subscriber's sum, the reads and a batch recomputation all agree.
//!
//! The text that goes with it is the crate's `tutorial` module, chapter 8.

use std::collections::BTreeMap;

use ivm::{Config, Diff, Durability, Engine, KeyedView, Table, Time};

/// Orders `(customer, country, cents)` and the revenue per country, keyed by country.
type Shop = (Table<(u32, String, u64)>, KeyedView<String, u64>);

fn shop(engine: &Engine) -> ivm::Result<Shop> {
    let orders = engine.table::<(u32, String, u64)>("orders")?;
    let revenue = engine.keyed_view("revenue", {
        let orders = orders.clone();
        move |v| {
            v.table(&orders)
                .explode(|(_customer, country, cents)| Some((country, cents as Diff)))
                .count()
                .map(|(country, cents)| (country, cents as u64))
        }
    })?;
    Ok((orders, revenue))
}

const COUNTRIES: [&str; 3] = ["de", "fr", "nl"];

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let config =
        Config::default().with_workers(2).with_storage(dir.path()).with_durability(Durability::Group);
    let engine = Engine::start(config)?;
    let (orders, revenue) = shop(&engine)?;

    // The subscriber: `.next().await` on the stream, summing every change it receives.
    let mut changes = revenue.subscribe()?.into_stream();
    let subscriber = tokio::spawn(async move {
        let mut sum: BTreeMap<(String, u64), Diff> = BTreeMap::new();
        let mut complete_through: Time = 0;
        while let Some(batch) = changes.next().await {
            let batch = batch?;
            for (row, _time, diff) in batch.updates {
                *sum.entry(row).or_default() += diff;
            }
            complete_through = batch.upper - 1;
            if complete_through >= 40 {
                break;
            }
        }
        sum.retain(|_, diff| *diff != 0);
        Ok::<_, ivm::Error>((complete_through, sum))
    });

    // Four writers, ten orders each: 40 commits, each durable (group-synced) before it returns.
    let writers: Vec<_> = (0..4u32)
        .map(|writer| {
            let (engine, orders) = (engine.clone(), orders.clone());
            tokio::spawn(async move {
                for i in 0..10u32 {
                    let country = COUNTRIES[((writer + i) % 3) as usize].to_string();
                    let order = (writer * 100 + i, country, 100 + u64::from(i));
                    engine.commit_async(|tx| tx.insert(&orders, order)).await?;
                }
                Ok::<_, ivm::Error>(())
            })
        })
        .collect();
    for writer in writers {
        writer.await??;
    }
    let last = engine.latest()?;
    assert_eq!(last, 40);

    // Readers: the whole view and one key, awaited.
    let whole = revenue.at_async(last).await?;
    let germany = revenue.get_async(&"de".to_string(), last).await?;
    println!("revenue at {last}: {whole:?}");
    assert_eq!(
        germany,
        whole.iter().filter(|((c, _), _)| c == "de").map(|((_, v), n)| (*v, *n)).collect::<Vec<_>>()
    );

    // The stream summed up to `last` is the view at `last`.
    let (through, sum) = subscriber.await??;
    assert!(through >= last);
    let summed: Vec<_> = sum.into_iter().collect();
    assert_eq!(summed, whole);

    // And the revenue recomputed from the orders themselves.
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for ((_, country, cents), n) in orders.at_async(last).await? {
        *expected.entry(country).or_default() += cents * n as u64;
    }
    let expected: Vec<_> = expected.into_iter().map(|row| (row, 1)).collect();
    assert_eq!(whole, expected);
    println!("the stream, the reads and a recomputation agree at {last}");
    engine.shutdown();
    Ok(())
}
