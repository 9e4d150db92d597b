//! Tutorial, chapter 7: a clustered, subscribed engine.
//!
//! `cargo run --release --example tutorial_7` starts a second copy of itself as process 1 of
//! a two-process cluster on this machine. To run the processes yourself, in two terminals:
//!
//! ```text
//! cargo run --release --example tutorial_7 -- -w 2 -n 2 -p 1
//! cargo run --release --example tutorial_7 -- -w 2 -n 2 -p 0
//! ```
//!
//! The text that goes with it is the crate's `tutorial` module.

use std::collections::BTreeMap;
use std::process::Command;

use ivm::{Config, Engine, Table, View};

/// The orders, `(customer, cents)`, and the spend per customer.
type Shop = (Table<(String, u64)>, View<(String, isize)>);

/// Every process runs this: the same tables and views, in the same order.
fn register(engine: &Engine) -> ivm::Result<Shop> {
    let orders = engine.table::<(String, u64)>("orders")?;
    let spend = engine.view("spend", {
        let orders = orders.clone();
        move |v| v.table(&orders).explode(|(customer, cents)| Some((customer, cents as isize))).count()
    })?;
    Ok((orders, spend))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Timely's flags: -w workers per process, -n processes, -p this process, -h a hostfile
    // (one host:port per line; without it process i listens on localhost:2101+i).
    let (config, rest) = Config::from_args(std::env::args())?;
    if !rest.is_empty() {
        eprintln!("unexpected arguments {rest:?}; use -w, -n, -p and -h");
        std::process::exit(2);
    }
    let (config, process_1) = if config.cluster().is_some() {
        (config, None)
    } else {
        // No flags: become process 0 of two, and start process 1 as a copy of this program.
        let hostfile = local_hostfile()?;
        let child = Command::new(std::env::current_exe()?)
            .args(["-w", "2", "-n", "2", "-p", "1", "-h"])
            .arg(&hostfile)
            .spawn()?;
        let args = ["-w", "2", "-n", "2", "-p", "0", "-h"].map(String::from);
        let hostfile = hostfile.display().to_string();
        let (config, _) =
            Config::from_args(std::iter::once("tutorial_7".into()).chain(args).chain([hostfile]))?;
        (config, Some(child))
    };

    let engine = Engine::start(config)?;
    let (orders, spend) = register(&engine)?;
    if !engine.is_leader() {
        // Processes other than 0 hold their share of every table and view, and do their
        // share of the work, until process 0 shuts the cluster down.
        engine.serve()?;
        return Ok(());
    }

    // Process 0 is the application: it commits, reads and subscribes, over all the workers of
    // all the processes.
    println!("process 0 of a cluster of {} workers", engine.cluster_workers());
    let mut changes = spend.subscribe()?;
    let mut summed = BTreeMap::new();
    let customers = ["ann", "bob", "cy", "dee", "eve"];
    let mut last = 0;
    for round in 0..20u64 {
        last = engine.commit(|tx| {
            for (i, customer) in customers.iter().enumerate() {
                tx.insert(&orders, (customer.to_string(), round * 10 + i as u64));
            }
        })?;
    }
    for batch in changes.by_ref() {
        let batch = batch?;
        for (row, _time, diff) in batch.updates {
            *summed.entry(row).or_insert(0) += diff;
        }
        if batch.upper > last {
            break;
        }
    }
    summed.retain(|_, diff| *diff != 0);
    let at_last = spend.at(last)?;
    println!("spend at {last}: {at_last:?}");
    assert_eq!(summed.into_iter().collect::<Vec<_>>(), at_last, "the summed stream equals at(t)");
    assert_eq!(at_last.len(), customers.len());

    engine.shutdown();
    if let Some(mut child) = process_1 {
        assert!(child.wait()?.success(), "process 1 failed");
    }
    println!("tutorial_7: all assertions held");
    Ok(())
}

/// A hostfile naming two free ports on this machine.
fn local_hostfile() -> std::io::Result<std::path::PathBuf> {
    let listeners =
        [std::net::TcpListener::bind("127.0.0.1:0")?, std::net::TcpListener::bind("127.0.0.1:0")?];
    let addresses: Vec<String> =
        listeners.iter().map(|l| l.local_addr().map(|a| a.to_string())).collect::<Result<_, _>>()?;
    let path = std::env::temp_dir().join(format!("ivm-tutorial-7-{}.hosts", std::process::id()));
    std::fs::write(&path, addresses.join("\n"))?;
    Ok(path)
}
