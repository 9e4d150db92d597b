//! Tutorial, chapter 1: a first view.
//!
//! `cargo run --release --example tutorial_1`. The text that goes with it is the crate's
//! `tutorial` module (`cargo doc --open`, then `ivm::tutorial`).

use ivm::{Config, Engine};

fn main() -> ivm::Result<()> {
    // An engine runs timely worker threads in the background. Every table and view is sharded
    // across them; the handle is cheap to clone and can be shared between threads.
    let engine = Engine::start(Config::default().with_workers(2))?;

    // A table is a named bag of rows. Rows are plain Rust values: here `(customer, cents)`.
    let orders = engine.table::<(String, u64)>("orders")?;

    // A view is defined once, by a closure over the tables it reads. `view_over` takes the
    // tables by reference (one here; a tuple `(&a, &b)` for several) and hands the closure each
    // one as a differential dataflow collection. This one sums the cents each customer spent:
    // `explode` turns each order into `cents` copies of its customer, and `count` counts them
    // per customer.
    let spend = engine.view_over("spend", &orders, |_v, orders| {
        orders.explode(|(customer, cents)| Some((customer, cents as isize))).count()
    })?;

    // The closure's first argument, `v`, is the view's context: `v.table(&orders)` reads a
    // table too (that is the general form, `engine.view`, whose closure gets only `v` and owns
    // the handles it reads), and `v.constant(rows)` is a collection of fixed rows. Here: the
    // customers who spent nothing yet, from a list of known ones.
    let idle = engine.view_over("idle", &orders, |v, orders| {
        let known = v.constant(["ann", "bob", "cy"].map(String::from));
        let ordered = orders.map(|(customer, _cents)| customer).distinct();
        // `antijoin` keeps the `(key, value)` rows whose key is not in the other collection.
        known.map(|customer| (customer, ())).antijoin(ordered).map(|(customer, ())| customer)
    })?;

    // Writes happen in transactions. Everything a transaction writes becomes visible at once,
    // at the timestamp `commit` returns.
    let t1 = engine.commit(|tx| {
        tx.insert(&orders, ("ann".to_string(), 250));
        tx.insert(&orders, ("bob".to_string(), 100));
        tx.insert(&orders, ("ann".to_string(), 50));
    })?;

    // `at(t)` reads the whole view as of `t`: rows with their multiplicity (here always 1),
    // sorted. It waits until the view has caught up with `t`, so you always read your writes.
    let rows = spend.at(t1)?;
    println!("spend at {t1}: {rows:?}");
    assert_eq!(rows, vec![(("ann".to_string(), 300), 1), (("bob".to_string(), 100), 1)]);
    // Constant rows are there from time 0, before any commit.
    assert_eq!(idle.at(t1)?, vec![("cy".to_string(), 1)]);
    assert_eq!(idle.at(0)?.len(), 3);

    // A delete is a write like any other; the view follows.
    let t2 = engine.commit(|tx| tx.delete(&orders, ("ann".to_string(), 250)))?;
    let rows = spend.at(t2)?;
    println!("spend at {t2}: {rows:?}");
    assert_eq!(rows, vec![(("ann".to_string(), 50), 1), (("bob".to_string(), 100), 1)]);

    // Tables can be read like views.
    assert_eq!(orders.at(t2)?.len(), 2);

    // Stop the workers. Dropping the last handle does the same.
    engine.shutdown();
    println!("tutorial_1: all assertions held");
    Ok(())
}
