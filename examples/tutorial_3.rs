//! Tutorial, chapter 3: keys, joins and the operator library.
//!
//! `cargo run --release --example tutorial_3`. The text that goes with it is the crate's
//! `tutorial` module.

use ivm::ops::*;
use ivm::{Config, Engine};

fn main() -> ivm::Result<()> {
    let engine = Engine::start(Config::default().with_workers(2))?;

    // A keyed table holds one value per key: `upsert` replaces it, `delete_key` removes it.
    // Here: customer id -> city.
    let customers = engine.keyed_table::<u32, String>("customers")?;
    // A bag table: (customer id, cents).
    let orders = engine.table::<(u32, u64)>("orders")?;

    // A keyed view has `(key, value)` rows and is arranged by key, so besides `at(t)` it answers
    // `get(&key, t)` and `range(keys, t)` without scanning. Revenue per city: a join of the two
    // tables on the customer id, then a sum per city from `ivm::ops`. The view names both
    // tables once, as a tuple, and gets both collections in the same shape.
    let revenue =
        engine.keyed_view_over("revenue_by_city", (&customers, &orders), |_, (customers, orders)| {
            customers // (customer, city)
                .join(orders) // (customer, (city, cents))
                .map(|(_customer, (city, cents))| (city, cents))
                .sum_per_key() // (city, total cents)
        })?;

    // Every customer with their number of orders, zero included: a left join keeps customers
    // without orders, with `None` on the right.
    let activity = engine.view_over("activity", (&customers, &orders), |_, (customers, orders)| {
        let counts = orders.count_per_key(); // (customer, orders)
        customers.left_join(counts).map(|(customer, (_city, orders))| (customer, orders.unwrap_or(0)))
    })?;

    // The two biggest orders per city: top-k keeps its answer exact when an order is deleted.
    let biggest = engine.view_over("biggest_orders", (&customers, &orders), |_, (customers, orders)| {
        customers
            .join(orders)
            .map(|(_customer, (city, cents))| (city, cents))
            .top_k_by(2, |cents| std::cmp::Reverse(*cents))
    })?;

    let t1 = engine.commit(|tx| {
        tx.upsert(&customers, 1, "Lyon".into());
        tx.upsert(&customers, 2, "Oslo".into());
        tx.upsert(&customers, 3, "Lyon".into());
        tx.insert_all(&orders, [(1, 500), (1, 200), (2, 300), (3, 900)]);
    })?;
    let lyon = "Lyon".to_string();
    assert_eq!(revenue.get(&lyon, t1)?, vec![(1_600, 1)]);
    assert_eq!(revenue.range("M".to_string().., t1)?, vec![(("Oslo".to_string(), 300), 1)]);
    assert_eq!(activity.at(t1)?, vec![((1, 2), 1), ((2, 1), 1), ((3, 1), 1)]);
    assert_eq!(
        biggest.at(t1)?,
        vec![((lyon.clone(), 500), 1), ((lyon.clone(), 900), 1), (("Oslo".into(), 300), 1)]
    );

    // Customer 2 moves to Lyon: one upsert, and every view that joins on it follows.
    // The biggest Lyon order is cancelled: the top 2 refills from what is left.
    let t2 = engine.commit(|tx| {
        tx.upsert(&customers, 2, "Lyon".into());
        tx.delete(&orders, (3, 900));
        tx.upsert(&customers, 4, "Kyoto".into());
    })?;
    assert_eq!(revenue.at(t2)?, vec![((lyon.clone(), 1_000), 1)]);
    assert_eq!(activity.at(t2)?, vec![((1, 2), 1), ((2, 1), 1), ((3, 0), 1), ((4, 0), 1)]);
    assert_eq!(biggest.at(t2)?, vec![((lyon.clone(), 300), 1), ((lyon.clone(), 500), 1)]);
    println!("revenue at {t2}: {:?}", revenue.at(t2)?);
    println!("activity at {t2}: {:?}", activity.at(t2)?);

    // The first read is still there.
    assert_eq!(revenue.get(&"Oslo".to_string(), t1)?, vec![(300, 1)]);

    engine.shutdown();
    println!("tutorial_3: all assertions held");
    Ok(())
}
