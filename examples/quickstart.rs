//! Quick start: tables, a join + aggregate view, commits, and exact reads at past times.
//!
//! Run it with `cargo run --release --example quickstart`. Every step states what the engine
//! promises and checks it with an assertion, so this file doubles as a test.

use ivm::{Config, Engine, Retention};
use serde::{Deserialize, Serialize};

/// An order placed by a customer. Rows are plain Rust types: serde + Ord + Hash + Clone + Debug.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
struct Order {
    id: u64,
    customer: u32,
    cents: u64,
}

fn main() -> ivm::Result<()> {
    // 1. Start an engine. It runs two timely worker threads in the background; every table and
    //    view is sharded across them. We keep the last 3 commits readable (older times are
    //    compacted away, so memory stays flat however many commits follow).
    let engine = Engine::start(Config::default().with_workers(2).with_retention(Retention::LastCommits(3)))?;

    // 2. Create tables. `customers` is keyed (one region per customer, upserts replace);
    //    `orders` is a bag of rows.
    let customers = engine.keyed_table::<u32, String>("customers")?;
    let orders = engine.table::<Order>("orders")?;

    // 3. Define a view once: revenue per region, a join followed by an aggregate. The closure
    //    receives the tables as differential collections; any differential operator works here.
    //    It is a keyed view (rows are `(region, cents)`), so it also answers lookups by region.
    let revenue = engine.keyed_view("revenue_by_region", {
        let (customers, orders) = (customers.clone(), orders.clone());
        move |v| {
            let regions = v.keyed_table(&customers); // (customer, region)
            let spend = v.table(&orders).map(|o| (o.customer, o.cents)); // (customer, cents)
            regions
                .join(spend) // (customer, (region, cents))
                .explode(|(_customer, (region, cents))| Some((region, cents as isize)))
                .count() // (region, total cents)
                .map(|(region, total)| (region, total as u64))
        }
    })?;

    // 4. Commit transactions. All writes of one transaction become visible at one timestamp,
    //    which `commit` returns.
    let t1 = engine.commit(|tx| {
        tx.upsert(&customers, 1, "north".into());
        tx.upsert(&customers, 2, "south".into());
        tx.insert(&orders, Order { id: 100, customer: 1, cents: 2_500 });
        tx.insert(&orders, Order { id: 101, customer: 2, cents: 1_000 });
    })?;
    // Read your writes: a read at the time `commit` returned always sees that commit.
    let north = "north".to_string();
    let south = "south".to_string();
    assert_eq!(revenue.at(t1)?, vec![((north.clone(), 2_500), 1), ((south.clone(), 1_000), 1)]);
    println!("revenue at t1={t1}: {:?}", revenue.at(t1)?);
    let t2 = engine.commit(|tx| {
        tx.insert(&orders, Order { id: 102, customer: 1, cents: 500 });
    })?;
    // Customer 2 moves north: an upsert replaces the old region without us naming it.
    let t3 = engine.commit(|tx| tx.upsert(&customers, 2, "north".into()))?;
    // An order is cancelled.
    let t4 = engine.commit(|tx| tx.delete(&orders, Order { id: 100, customer: 1, cents: 2_500 }))?;

    // 5. Read the view at any retained time. `at(t)` waits until the view is complete through
    //    `t`. Results are consolidated, sorted and exact: the collection as of that commit.
    assert_eq!(revenue.at(t2)?, vec![((north.clone(), 3_000), 1), ((south.clone(), 1_000), 1)]);
    assert_eq!(revenue.at(t3)?, vec![((north.clone(), 4_000), 1)]);
    assert_eq!(revenue.at(t4)?, vec![((north.clone(), 1_500), 1)]);
    println!("revenue at t4={t4}: {:?}", revenue.at(t4)?);

    // 6. Keyed lookups ask only the worker that owns the key and seek straight to it.
    assert_eq!(revenue.get(&north, t2)?, vec![(3_000, 1)]);
    assert_eq!(revenue.get(&south, t4)?, vec![]);

    // 7. Reading older than the retained history is a typed error, never a wrong answer.
    //    With the last 3 commits retained, `since` is now t2 and t1 is gone.
    assert_eq!(engine.since()?, t2);
    assert_eq!(
        revenue.at(t1),
        Err(ivm::Error::Compacted { name: "revenue_by_region".into(), requested: t1, since: t2 })
    );
    println!("reading t1 now: {}", revenue.at(t1).unwrap_err());

    // 8. Views can also be created later: they show all retained history.
    let order_count = engine.view("order_count", {
        let orders = orders.clone();
        move |v| v.table(&orders).map(|_| ()).count()
    })?;
    assert_eq!(order_count.at(t2)?, vec![(((), 3), 1)]);
    assert_eq!(order_count.at(t3)?, vec![(((), 3), 1)]);
    assert_eq!(order_count.at(t4)?, vec![(((), 2), 1)]);

    // 9. Shutting down (or dropping the last `Engine`) stops the workers; later calls fail with
    //    `Error::Shutdown`.
    engine.shutdown();
    assert_eq!(revenue.at(t4), Err(ivm::Error::Shutdown));
    println!("quickstart: all assertions held");
    Ok(())
}
