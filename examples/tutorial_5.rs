//! Tutorial, chapter 5: the same definition as a one-shot batch job.
//!
//! `cargo run --release --example tutorial_5`. The text that goes with it is the crate's
//! `tutorial` module.

use ivm::batch::{self, BatchInputs};
use ivm::{Config, Definition, Engine};

fn main() -> ivm::Result<()> {
    let engine = Engine::start(Config::default().with_workers(2))?;
    let orders = engine.table::<(String, u64)>("orders")?;

    // A definition is a value: the view logic, not yet attached to anything.
    let spend = Definition::new({
        let orders = orders.clone();
        move |v| v.table(&orders).explode(|(customer, cents)| Some((customer, cents as isize))).count()
    });
    // The engine keeps it up to date...
    let live = engine.view_from("spend", &spend)?;
    let t = engine.commit(|tx| {
        tx.insert_all(&orders, [("ann".into(), 250), ("bob".into(), 100), ("ann".into(), 50)]);
    })?;

    // ...and a batch run executes the very same definition once, over rows you hand it, on
    // its own worker threads, keeping nothing afterwards. Last night's export, say:
    let export = vec![("ann".to_string(), 250), ("bob".to_string(), 100), ("ann".to_string(), 50)];
    let inputs = BatchInputs::new().table(&orders, export);
    let from_export = batch::run(&spend, &inputs, 2)?;
    println!("batch over the export: {from_export:?}");
    assert_eq!(from_export, live.at(t)?);

    // Over the engine's own tables as of a time, a batch run answers exactly what the live
    // view answers at that time: one definition, one answer, read two ways.
    let t2 = engine.commit(|tx| tx.delete(&orders, ("ann".into(), 250)))?;
    for time in [t, t2] {
        let inputs = BatchInputs::from_engine(&engine, time)?;
        assert_eq!(batch::run(live.definition(), &inputs, 1)?, live.at(time)?);
    }

    // A table the definition reads but the inputs lack is a typed error, not an empty answer.
    let missing = batch::run(&spend, &BatchInputs::new(), 1);
    println!("without inputs: {}", missing.as_ref().unwrap_err());
    assert!(matches!(missing, Err(ivm::Error::MissingInput { .. })));

    engine.shutdown();
    println!("tutorial_5: all assertions held");
    Ok(())
}
