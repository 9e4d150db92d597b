//! One definition, two runs: a view with a join, an aggregate, a top-k and a window, maintained
//! live and run again as a one-shot batch job; the two agree at every time.
//!
//! Windows are over commit time: a window holds the net changes committed inside it, so the
//! refund at 95 is a change of the window starting at 60 (where games had no revenue, so it
//! does not show), not of the sale's window.
//!
//! Run it with `cargo run --release --example unified`.

use std::cmp::Reverse;
use std::num::NonZeroU64;

use ivm::batch::{self, BatchInputs};
use ivm::ops::*;
use ivm::{Config, Engine};

fn main() -> ivm::Result<()> {
    let engine = Engine::start(Config::default().with_workers(2))?;
    // Commit times are event times in seconds here (`commit_at`), so windows mean something.
    let products = engine.keyed_table::<u32, String>("products")?; // product -> category
    let sales = engine.table::<(u32, u64)>("sales")?; // (product, cents)

    // The definition, once: revenue per category in 60-second tumbling windows (join,
    // window, aggregate), then the two best categories of each window (top-k).
    let best = engine.view("best_categories", {
        let (products, sales) = (products.clone(), sales.clone());
        move |v| {
            let width = NonZeroU64::new(60).expect("60 is not zero");
            v.table(&sales)
                .join(v.keyed_table(&products)) // (product, (cents, category))
                .map(|(_product, (cents, category))| (category, cents))
                .tumbling_window(width) // (window start, (category, cents))
                .map(|(window, (category, cents))| ((window, category), cents))
                .sum_per_key() // ((window, category), revenue)
                .map(|((window, category), revenue)| (window, (revenue, category)))
                .top_k_by(2, |(revenue, _)| Reverse(*revenue)) // the two largest per window
        }
    })?;

    let mut times = Vec::new();
    times.push(engine.commit_at(10, |tx| {
        tx.upsert(&products, 1, "books".into());
        tx.upsert(&products, 2, "games".into());
        tx.upsert(&products, 3, "music".into());
        tx.insert(&sales, (1, 1_200));
        tx.insert(&sales, (2, 3_000));
    })?);
    times.push(engine.commit_at(30, |tx| tx.insert(&sales, (3, 2_000)))?);
    times.push(engine.commit_at(45, |tx| tx.insert(&sales, (1, 2_500)))?); // books overtake music
    times.push(engine.commit_at(70, |tx| {
        tx.upsert(&products, 4, "toys".into()); // a new product
        tx.insert(&sales, (4, 4_000)); // a new window starts at 60
        tx.insert(&sales, (3, 900));
    })?);
    times.push(engine.commit_at(95, |tx| tx.delete(&sales, (2, 3_000)))?); // a refund, in window 60

    for &t in &times {
        let live = best.at(t)?;
        // The same definition value, run once over the tables as of `t`, on 3 workers: no
        // engine, no history kept afterwards.
        let inputs = BatchInputs::from_engine(&engine, t)?;
        let batch = batch::run(best.definition(), &inputs, 3)?;
        assert_eq!(live, batch, "live and batch disagree at {t}");
        println!("t={t:>3}: {live:?}");
    }

    // The batch job can also run over rows from anywhere, with their event times, e.g. an
    // export of the same history: the answer at 95 is the same.
    let exported = BatchInputs::new()
        .as_of(95)
        .keyed_table_updates(
            &products,
            [
                ((1, "books".to_string()), 10, 1),
                ((2, "games".to_string()), 10, 1),
                ((3, "music".to_string()), 10, 1),
                ((4, "toys".to_string()), 70, 1),
            ],
        )
        .table_updates(
            &sales,
            [
                ((1, 1_200), 10, 1),
                ((2, 3_000), 10, 1),
                ((3, 2_000), 30, 1),
                ((1, 2_500), 45, 1),
                ((4, 4_000), 70, 1),
                ((3, 900), 70, 1),
                ((2, 3_000), 95, -1),
            ],
        );
    assert_eq!(batch::run(best.definition(), &exported, 1)?, best.at(95)?);
    println!("unified: live and batch agree at every time");
    Ok(())
}
