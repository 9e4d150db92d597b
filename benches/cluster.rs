//! What crossing process boundaries costs: one Nexmark join (q20 by default: bids joined to the
//! auctions of category 10) committed live on 1 process x 2 workers and on 2 processes x 1
//! worker of this machine.
//!
//! ```text
//! cargo bench -p ivm-benches --bench cluster -- [--events N] [--batch B] [--query q20|q3] [--runs R]
//! ```
//!
//! Each run is a fresh child process (`--layout 1x2` or `--layout 2x1`); a `2x1` child starts
//! process 1 of its cluster as a further copy of this binary (`--serve`), which registers the
//! same tables and view and serves. The events (the `nexmark` crate's standard generator) are
//! generated before timing. The timed loop commits `--batch` events per transaction and waits
//! until a subscriber on process 0 holds the transaction's changes; throughput is events per
//! second of that loop, latency is per transaction from the commit call to the subscriber
//! holding it. At the end the view is read at the last commit and must equal the summed
//! subscription; its row count is printed so that the two layouts can be compared.

#[path = "common/measure.rs"]
mod measure;
#[path = "nexmark/model.rs"]
mod model;
#[allow(dead_code)]
#[path = "nexmark/queries/mod.rs"]
mod queries;
// The oracle side of `Query` (`recompute`, `State`) is the Nexmark harness's, unused here.
#[allow(dead_code)]
#[path = "nexmark/query.rs"]
mod query;

use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use ivm::{Cluster, Config, Engine, Retention, Time};

use model::Event;
use query::{Query, Tables};

/// The same allocator as the Nexmark harness, so the figures compare.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The bench's settings.
#[derive(Clone)]
struct Options {
    events: usize,
    batch: usize,
    query: String,
    runs: usize,
}

const USAGE: &str = "cargo bench -p ivm-benches --bench cluster -- [--events N (default 2000000)] [--batch B (default 40000)] \
                     [--query q20|q3 (default q20)] [--runs R (default 3)]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("cluster bench: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let mut options = Options { events: 2_000_000, batch: 40_000, query: "q20".into(), runs: 3 };
    let mut layout = None;
    let mut serve = None;
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        let mut value = || rest.next().cloned().ok_or_else(|| format!("{flag} needs a value; {USAGE}"));
        let number = |v: String| v.parse::<usize>().map_err(|_| format!("{flag} needs a number, got {v:?}"));
        match flag.as_str() {
            "--events" => options.events = number(value()?)?,
            "--batch" => options.batch = number(value()?)?.max(1),
            "--query" => options.query = value()?,
            "--runs" => options.runs = number(value()?)?.max(1),
            "--layout" => layout = Some(value()?),
            "--serve" => serve = Some(value()?),
            "--help" | "-h" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown argument {other:?}; {USAGE}")),
        }
    }
    if !["q20", "q3"].contains(&options.query.as_str()) {
        return Err(format!("--query must be q20 or q3, not {:?}", options.query));
    }
    if let Some(addresses) = serve {
        return serve_process(&options, addresses.split(',').map(String::from).collect());
    }
    if let Some(layout) = layout {
        return child(&options, &layout);
    }
    parent(&options)
}

/// Runs every layout `runs` times, each in a fresh child, and prints medians and the ratio.
fn parent(options: &Options) -> Result<(), String> {
    println!(
        "query {} | {} events | {} events per transaction | load {}",
        options.query,
        options.events,
        options.batch,
        measure::loadavg()
    );
    let mut medians = Vec::new();
    for layout in ["1x2", "2x1"] {
        let mut throughputs = Vec::new();
        let mut latencies = Vec::new();
        for _ in 0..options.runs {
            let output = Command::new(std::env::current_exe().map_err(|e| e.to_string())?)
                .args(["--layout", layout, "--events", &options.events.to_string()])
                .args(["--batch", &options.batch.to_string(), "--query", &options.query])
                .output()
                .map_err(|e| format!("start a child: {e}"))?;
            let stdout = String::from_utf8_lossy(&output.stdout);
            if !output.status.success() {
                return Err(format!(
                    "the {layout} child failed: {}{}",
                    stdout,
                    String::from_utf8_lossy(&output.stderr)
                ));
            }
            let line =
                stdout.lines().find(|l| l.starts_with("result ")).ok_or("the child printed no result")?;
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (throughput, p50, rows): (f64, f64, u64) = (
                fields[1].parse().map_err(|_| "bad result line")?,
                fields[2].parse().map_err(|_| "bad result line")?,
                fields[3].parse().map_err(|_| "bad result line")?,
            );
            println!("  {layout}: {throughput:>10.0} events/s, p50 transaction {p50:>8.1} ms, {rows} rows");
            throughputs.push(throughput);
            latencies.push(p50);
        }
        let (throughput, latency) = (measure::median(throughputs), measure::median(latencies));
        println!(
            "{layout} (processes x workers): median {throughput:.0} events/s, p50 transaction {latency:.1} ms"
        );
        medians.push(throughput);
    }
    println!("2x1 / 1x2 throughput: {:.2}", medians[1] / medians[0]);
    Ok(())
}

/// One timed run in layout `1x2` or `2x1`; prints `result <events/s> <p50 ms> <rows>`.
fn child(options: &Options, layout: &str) -> Result<(), String> {
    let events = model::generate(options.events, 0);
    let (config, helper) = match layout {
        "1x2" => (Config::default().with_workers(2), None),
        "2x1" => {
            let addresses = free_addresses();
            let helper = Command::new(std::env::current_exe().map_err(|e| e.to_string())?)
                .args(["--serve", &addresses.join(","), "--query", &options.query])
                .spawn()
                .map_err(|e| format!("start process 1: {e}"))?;
            (Config::default().with_workers(1).with_cluster(Cluster::new(0, addresses)), Some(helper))
        }
        other => return Err(format!("unknown layout {other:?}")),
    };
    let engine =
        Engine::start(config.with_retention(Retention::LastCommits(1))).map_err(|e| e.to_string())?;
    let outcome = match options.query.as_str() {
        "q3" => timed::<queries::q3::Q3>(&engine, &events, options.batch),
        _ => timed::<queries::q20::Q20>(&engine, &events, options.batch),
    };
    engine.shutdown();
    if let Some(mut helper) = helper {
        let status = helper.wait().map_err(|e| e.to_string())?;
        if !status.success() {
            return Err(format!("process 1 ended with {status}"));
        }
    }
    let (throughput, p50, rows) = outcome?;
    println!("result {throughput} {p50} {rows}");
    Ok(())
}

/// Process 1 of a `2x1` run: registers the same tables and view, then serves.
fn serve_process(options: &Options, addresses: Vec<String>) -> Result<(), String> {
    let config = Config::default()
        .with_workers(1)
        .with_retention(Retention::LastCommits(1))
        .with_cluster(Cluster::new(1, addresses));
    let engine = Engine::start(config).map_err(|e| e.to_string())?;
    match options.query.as_str() {
        "q3" => drop(register::<queries::q3::Q3>(&engine)?),
        _ => drop(register::<queries::q20::Q20>(&engine)?),
    }
    engine.serve().map_err(|e| e.to_string())
}

/// The three tables and `Q`'s view, registered in the same order on every process.
fn register<Q: Query>(engine: &Engine) -> Result<(Tables, ivm::View<Q::Out>), String> {
    let tables = Tables {
        persons: engine.table("persons").map_err(|e| e.to_string())?,
        auctions: engine.table("auctions").map_err(|e| e.to_string())?,
        bids: engine.table("bids").map_err(|e| e.to_string())?,
    };
    let view = engine.view_from(Q::NAME, &Q::definition(&tables)).map_err(|e| e.to_string())?;
    Ok((tables, view))
}

/// Commits `events` in transactions of `batch`, each waited for by a subscriber; returns the
/// throughput, the median transaction latency in ms, and the view's row count at the end.
fn timed<Q: Query>(engine: &Engine, events: &[Event], batch: usize) -> Result<(f64, f64, u64), String> {
    let (tables, view) = register::<Q>(engine)?;
    let mut subscription = view.subscribe().map_err(|e| e.to_string())?;
    let mut summed = std::collections::HashMap::<Q::Out, ivm::Diff>::new();
    let mut upper: Time = 0;
    let mut latencies = Vec::new();
    let started = Instant::now();
    let mut last = 0;
    for chunk in events.chunks(batch) {
        let called = Instant::now();
        last = engine.commit(|tx| insert(tx, &tables, chunk)).map_err(|e| e.to_string())?;
        while upper <= last {
            let held = subscription.next_timeout(Duration::from_secs(600)).map_err(|e| e.to_string())?;
            let held = held.ok_or("the subscription ended")?;
            upper = held.upper;
            for (row, _, diff) in held.updates {
                *summed.entry(row).or_default() += diff;
            }
        }
        latencies.push(called.elapsed().as_secs_f64() * 1e3);
    }
    let throughput = events.len() as f64 / started.elapsed().as_secs_f64();
    summed.retain(|_, diff| *diff != 0);
    let mut summed: Vec<(Q::Out, ivm::Diff)> = summed.into_iter().collect();
    summed.sort();
    let read = view.at(last).map_err(|e| e.to_string())?;
    if read != summed {
        return Err(format!(
            "the summed subscription ({} rows) differs from at({last}) ({} rows)",
            summed.len(),
            read.len()
        ));
    }
    Ok((throughput, measure::median(latencies), read.len() as u64))
}

fn insert(tx: &mut ivm::Transaction, tables: &Tables, events: &[Event]) {
    for event in events {
        match event {
            Event::Person(p) => tx.insert(&tables.persons, p.clone()),
            Event::Auction(a) => tx.insert(&tables.auctions, a.clone()),
            Event::Bid(b) => tx.insert(&tables.bids, b.clone()),
        }
    }
}

/// Two free local addresses.
fn free_addresses() -> Vec<String> {
    let listeners: Vec<_> = (0..2).filter_map(|_| std::net::TcpListener::bind("127.0.0.1:0").ok()).collect();
    listeners.iter().filter_map(|l| l.local_addr().ok()).map(|a| a.to_string()).collect()
}
