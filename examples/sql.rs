//! A tour of `ivm::sql`: tables and views defined in SQL, written in transactions, read exactly
//! at past times, subscribed to, and mixed with Rust.
//!
//! ```sh
//! cargo run --release --features sql --example sql
//! ```
//!
//! The program checks its own results: it panics if any reading disagrees.

use std::time::Duration;

use ivm::sql::{Outcome, Sql, SqlError};
use ivm::{Config, Engine};

/// Runs a statement and returns the time it committed at.
fn commit(sql: &Sql, statement: &str) -> Result<u64, SqlError> {
    match sql.execute(statement)? {
        Outcome::Changed { time: Some(t), .. } | Outcome::Committed(Some(t)) => Ok(t),
        other => panic!("{statement} did not commit: {other:?}"),
    }
}

/// A Rust row type, exposed to SQL below: a struct with named fields.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
struct Visit {
    customer: String,
    page: String,
}

/// What a query's rows decode into.
#[derive(Debug, PartialEq, serde::Deserialize)]
struct Spend {
    name: String,
    orders: i64,
    total: f64,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. An engine, and its SQL front. A Rust table is exposed to SQL before it opens.
    let engine = Engine::start(Config::default().with_workers(2))?;
    let visits = engine.table::<Visit>("visits")?;
    let sql = Sql::builder(&engine).table(&visits).open()?;

    // 2. Tables: a primary key makes a keyed table (one row per key, enforced).
    sql.execute(
        "CREATE TABLE customers (id BIGINT PRIMARY KEY, name TEXT NOT NULL, country TEXT);
         CREATE TABLE orders (id BIGINT PRIMARY KEY, customer BIGINT NOT NULL, amount DECIMAL(10, 2), day DATE)",
    )?;

    // 3. Views: maintained as the tables change, each kept once, read at any retained time.
    sql.execute(
        "CREATE VIEW spend AS
           SELECT c.name, COUNT(*) AS orders, CAST(SUM(o.amount) AS DOUBLE) AS total
           FROM customers c JOIN orders o ON o.customer = c.id
           GROUP BY c.name",
    )?;
    sql.execute(
        "CREATE VIEW biggest AS
           SELECT name, amount FROM (
             SELECT c.name, o.amount,
                    ROW_NUMBER() OVER (PARTITION BY c.name ORDER BY o.amount DESC) AS place
             FROM customers c JOIN orders o ON o.customer = c.id) AS ranked
           WHERE place <= 1",
    )?;
    sql.execute(
        "CREATE VIEW silent AS
           SELECT name FROM customers c
           WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.customer = c.id)",
    )?;
    // A view over the Rust table: SQL and Rust views mix in one engine.
    sql.execute("CREATE VIEW browsing AS SELECT customer, COUNT(*) AS pages FROM visits GROUP BY customer")?;

    // 4. A subscription: the view's changes, as (row, time, diff), from now on.
    let mut changes = sql.subscribe("SUBSCRIBE TO spend")?;

    // 5. Writes: one statement is one transaction; BEGIN ... COMMIT makes several one.
    let t1 =
        commit(&sql, "INSERT INTO customers VALUES (1, 'ada', 'uk'), (2, 'bob', 'fr'), (3, 'cy', NULL)")?;
    let mut connection = sql.connection();
    connection.execute(
        "BEGIN;
         INSERT INTO orders VALUES (10, 1, 25.50, '2026-12-01'), (11, 1, 4.50, '2026-12-02'), (12, 2, 99.99, '2026-12-02');
         UPDATE orders SET amount = amount * 2 WHERE customer = 1",
    )?;
    let Outcome::Committed(Some(t2)) = connection.execute("COMMIT")? else { unreachable!() };
    engine.commit(|tx| {
        tx.insert(&visits, Visit { customer: "ada".into(), page: "/".into() });
        tx.insert(&visits, Visit { customer: "ada".into(), page: "/shop".into() });
    })?;
    let t3 = commit(&sql, "DELETE FROM orders WHERE id = 12")?;

    // 6. Reads: a view at any retained time; results decode into your types.
    let now: Vec<Spend> = sql.query("SELECT * FROM spend ORDER BY name")?.decode()?;
    assert_eq!(now, vec![Spend { name: "ada".into(), orders: 2, total: 60.0 }]);
    let then: Vec<Spend> = sql.query(&format!("SELECT * FROM spend ORDER BY name AS OF {t2}"))?.decode()?;
    assert_eq!(then.len(), 2, "bob's order was still there at {t2}");
    println!("spend at {t2}:\n{}\n", sql.query(&format!("SELECT * FROM spend ORDER BY name AS OF {t2}"))?);
    assert!(sql.query(&format!("SELECT * FROM spend AS OF {t1}"))?.is_empty());
    assert_eq!(sql.query("SELECT name FROM silent ORDER BY name")?.decode::<String>()?, vec!["bob", "cy"]);
    assert_eq!(sql.query("SELECT * FROM browsing")?.decode::<(String, i64)>()?, vec![("ada".to_string(), 2)]);
    println!("the biggest order of each customer:\n{}\n", sql.query("SELECT * FROM biggest")?);

    // An ad-hoc query is exact too: it runs as a batch over the tables as of its time (an SQL
    // view it reads is read at that time, not computed again).
    let by_day =
        sql.query(&format!("SELECT day, COUNT(*) AS n FROM orders GROUP BY day ORDER BY day AS OF {t2}"))?;
    println!("orders per day at {t2}:\n{by_day}\n");
    assert_eq!(by_day.decode::<(String, i64)>()?, vec![("2026-12-01".into(), 1), ("2026-12-02".into(), 2)]);

    // 7. The subscription summed up to a time is the view at that time.
    let mut total = 0isize;
    let mut upper = 0;
    while upper <= t3 {
        let batch = changes.next_timeout(Duration::from_secs(10))?.expect("the subscription ended");
        for (row, time, diff) in &batch.updates {
            let cells: Vec<String> = row.iter().map(ToString::to_string).collect();
            println!("  change at {time}: ({}) {diff:+}", cells.join(", "));
            total += diff;
        }
        upper = batch.upper;
    }
    assert_eq!(total, 1, "one row in spend after {t3}");

    // 8. Errors are typed, and never panic: names, types and positions...
    match sql.execute("SELECT nme FROM customers") {
        Err(SqlError::UnknownColumn { name, at }) => println!("no column {name} at {at}"),
        other => panic!("{other:?}"),
    }
    // ...and a row a view cannot compute is an error of that view only, until it goes.
    sql.execute("CREATE VIEW per_order AS SELECT id, amount / (customer - 3) AS odd FROM orders")?;
    commit(&sql, "INSERT INTO orders VALUES (13, 3, 1.00, '2026-12-03')")?;
    match sql.query("SELECT * FROM per_order") {
        Err(error @ SqlError::Eval { .. }) => println!("{error}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(sql.query("SELECT COUNT(*) FROM spend")?.decode::<i64>()?, vec![2]);
    commit(&sql, "DELETE FROM orders WHERE id = 13")?;
    assert_eq!(sql.query("SELECT * FROM per_order")?.len(), 2);

    // 9. The plan of a query.
    if let Outcome::Plan(plan) = sql.execute("EXPLAIN SELECT * FROM silent")? {
        println!("EXPLAIN SELECT * FROM silent:\n{plan}");
    }

    // 10. Dropping: nothing a view reads goes while the view is there, so drop from the top.
    match sql.execute("DROP TABLE orders") {
        Err(SqlError::Engine(ivm::Error::InUse { readers, .. })) => println!("orders is read by {readers:?}"),
        other => panic!("{other:?}"),
    }
    sql.execute("DROP VIEW per_order")?;
    assert!(sql.names().iter().all(|(name, _)| name != "per_order"));
    engine.shutdown();
    Ok(())
}
