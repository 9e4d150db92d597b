//! Tutorial, chapter 3: keys, joins and the operator library.
//!
//! `cargo run --release --example tutorial_3`. The text that goes with it is the crate's
//! `tutorial` module.

use ivm::ops::*;
use std::cmp::Reverse;

use ivm::{Config, Engine, Error};

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
            .top_k_by(2, |cents| Reverse(*cents))
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

    // ----- Plain reads: without multiplicities, checked ---------------------------------------

    // `at` and `get` are exact: every row with its multiplicity. Beside them, plain reads give
    // what most code wants, and fail with a typed error when the exact answer cannot be said
    // that way. A keyed view holds one value per key: `value` gives it (`None` for a key it
    // does not hold), `entries_at` the whole view as `(key, value)` pairs. A key with two
    // values would be `Error::KeyNotUnique`: the definition is not a function of its key.
    assert_eq!(revenue.value(&lyon, t2)?, Some(1_000));
    assert_eq!(revenue.value(&"Oslo".to_string(), t2)?, None);
    assert_eq!(revenue.entries_at(t2)?, vec![(lyon.clone(), 1_000)]);

    // A global total holds one row, 0 on an empty input (`count` would hold no row at all),
    // and `rows_at` lists a view's rows without their multiplicities.
    let order_count = engine.view_over("order_count", &orders, |_, orders| orders.count_total())?;
    assert_eq!(order_count.rows_at(0)?, vec![0]);
    assert_eq!(order_count.rows_at(t2)?, vec![3]);

    // `biggest` is sorted by row: Lyon's 300 before its 500. Ranked, row order is rank order.
    let podium = engine.keyed_view_over("podium", (&customers, &orders), |_, (customers, orders)| {
        customers
            .join(orders)
            .map(|(_customer, (city, cents))| (city, cents))
            .top_k_by_ranked(2, |cents| Reverse(*cents)) // (city, (rank, cents))
    })?;
    assert_eq!(podium.get(&lyon, t2)?, vec![((1, 500), 1), ((2, 300), 1)]);

    // ----- Bags and keys: deleting what is not there ------------------------------------------

    // A bag table is a multiset, not a set of rows with identity: `delete` removes one copy of
    // a row, and deleting a row the table does not hold (here: an order cancelled twice)
    // leaves it with multiplicity -1. Operators that decide existence (aggregates, top-k)
    // ignore it, the exact read shows it, and `rows_at` refuses to list it.
    let t3 = engine.commit(|tx| tx.delete(&orders, (3, 900)))?;
    assert_eq!(orders.at(t3)?.last(), Some(&((3, 900), -1)));
    match orders.rows_at(t3) {
        Err(Error::NegativeMultiplicity { row, diff: -1, .. }) => assert_eq!(row, "(3, 900)"),
        other => panic!("expected a negative multiplicity, got {other:?}"),
    }
    // Insert the row back to cancel the stray delete.
    let t4 = engine.commit(|tx| tx.insert(&orders, (3, 900)))?;
    assert_eq!(orders.rows_at(t4)?, vec![(1, 200), (1, 500), (2, 300)]);

    // Rows with identity belong in a keyed table, keyed by that identity: `delete_key` of a key
    // that is not there does nothing, so a cancellation that arrives twice is harmless.
    let orders_by_id = engine.keyed_table::<u32, (u32, u64)>("orders_by_id")?; // id -> order
    let t5 = engine.commit(|tx| tx.upsert(&orders_by_id, 17, (1, 500)))?;
    let t6 = engine.commit(|tx| tx.delete_key(&orders_by_id, 17))?;
    let t7 = engine.commit(|tx| tx.delete_key(&orders_by_id, 17))?; // again: nothing happens
    assert_eq!(orders_by_id.value(&17, t5)?, Some((1, 500)));
    assert_eq!(orders_by_id.at(t6)?, vec![]);
    assert_eq!(orders_by_id.at(t7)?, vec![]);

    engine.shutdown();
    println!("tutorial_3: all assertions held");
    Ok(())
}
