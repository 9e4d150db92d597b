//! The same program as a cluster of processes.
//!
//! Run it with `cargo run --release --example cluster`: with no flags it starts a second copy
//! of itself as process 1 on a free local port, so the two processes run on this machine.
//!
//! To start the processes yourself, use timely's flags (`-w` workers per process, `-n`
//! processes, `-p` this process's index, `-h` a hostfile with one `host:port` per line;
//! without it process `i` listens on `localhost:2101+i`), in two terminals:
//!
//! ```text
//! cargo run --release --example cluster -- -w 2 -n 2 -p 1
//! cargo run --release --example cluster -- -w 2 -n 2 -p 0
//! ```
//!
//! Every process runs the same code and registers the same tables and views in the same order.
//! Process 0 then commits, reads and subscribes, and sees the data of every worker of every
//! process; the others call `Engine::serve` until process 0 shuts the cluster down.

use std::process::Command;

use ivm::{Cluster, Config, Engine, KeyedTable, KeyedView, Table};

/// The tables and views every process registers, in this order.
struct Auctions {
    sellers: KeyedTable<u64, String>,
    bids: Table<(u64, u64)>,
    /// Total bid amount per seller's city: a join and an aggregate across processes.
    by_city: KeyedView<String, u64>,
}

fn register(engine: &Engine) -> ivm::Result<Auctions> {
    let sellers = engine.keyed_table::<u64, String>("sellers")?; // seller -> city
    let bids = engine.table::<(u64, u64)>("bids")?; // (seller, amount)
    let by_city = engine.keyed_view("bids_by_city", {
        let (sellers, bids) = (sellers.clone(), bids.clone());
        move |v| {
            v.keyed_table(&sellers)
                .join(v.table(&bids))
                .explode(|(_seller, (city, amount))| Some((city, amount as isize)))
                .count()
                .map(|(city, total)| (city, total as u64))
        }
    })?;
    Ok(Auctions { sellers, bids, by_city })
}

fn main() -> ivm::Result<()> {
    let (config, rest) = Config::from_args(std::env::args())?;
    if !rest.is_empty() {
        eprintln!("unexpected arguments {rest:?}; use -w, -n, -p and -h");
        std::process::exit(2);
    }
    let (config, helper) = match config.cluster() {
        Some(_) => (config, None),
        // No flags: be process 0 of two, and start process 1 ourselves.
        None => {
            let addresses = free_addresses();
            let helper = Command::new(std::env::current_exe().expect("the example's own path"))
                .args(["-w", "2", "-n", "2", "-p", "1", "-h"])
                .arg(hostfile(&addresses))
                .spawn()
                .expect("start process 1");
            (Config::default().with_workers(2).with_cluster(Cluster::new(0, addresses)), Some(helper))
        }
    };

    let engine = Engine::start(config)?;
    let auctions = register(&engine)?;
    if !engine.is_leader() {
        println!("process {}: serving until process 0 shuts the cluster down", engine.process());
        engine.serve()?;
        println!("process {}: done", engine.process());
        return Ok(());
    }

    println!("process 0: {} workers in the cluster", engine.cluster_workers());
    let mut changes = auctions.by_city.subscribe()?;
    let sellers = [(1, "Lyon"), (2, "Oslo"), (3, "Lyon"), (4, "Kyoto")];
    engine.commit(|tx| {
        for (seller, city) in sellers {
            tx.upsert(&auctions.sellers, seller, city.to_string());
        }
    })?;
    let t = engine.commit(|tx| {
        for i in 0..10_000u64 {
            tx.insert(&auctions.bids, (1 + i % 4, i % 100));
        }
    })?;
    // Rows of every seller live on whichever worker owns them, in either process; reads and
    // lookups from process 0 see them all.
    let totals = auctions.by_city.at(t)?;
    println!("process 0: totals at {t}: {totals:?}");
    let expected_total: u64 = (0..10_000u64).map(|i| i % 100).sum();
    assert_eq!(totals.iter().map(|((_, total), _)| total).sum::<u64>(), expected_total);
    assert_eq!(auctions.by_city.get(&"Oslo".to_string(), t)?.len(), 1);

    // Seller 2 moves: the view follows, and the subscription sums to the same answer.
    let t2 = engine.commit(|tx| tx.upsert(&auctions.sellers, 2, "Lyon".to_string()))?;
    let after = auctions.by_city.at(t2)?;
    println!("process 0: totals at {t2}: {after:?}");
    assert!(after.iter().all(|((city, _), _)| city != "Oslo"));
    let mut summed = std::collections::BTreeMap::new();
    for batch in changes.by_ref() {
        let batch = batch?;
        for ((city, total), _time, diff) in batch.updates {
            *summed.entry((city, total)).or_insert(0) += diff;
        }
        if batch.upper > t2 {
            break;
        }
    }
    summed.retain(|_, diff| *diff != 0);
    assert_eq!(summed.into_iter().collect::<Vec<_>>(), after);
    println!("process 0: the summed subscription equals at({t2})");

    engine.shutdown();
    if let Some(mut helper) = helper {
        assert!(helper.wait().expect("wait for process 1").success());
    }
    println!("process 0: cluster shut down");
    Ok(())
}

/// Two free local addresses.
fn free_addresses() -> Vec<String> {
    let listeners: Vec<_> =
        (0..2).map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("a free port")).collect();
    listeners.iter().map(|l| l.local_addr().expect("bound").to_string()).collect()
}

/// A hostfile listing `addresses`, in the temporary directory.
fn hostfile(addresses: &[String]) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("ivm-cluster-example-{}.hosts", std::process::id()));
    std::fs::write(&path, addresses.join("\n")).expect("write the hostfile");
    path
}
