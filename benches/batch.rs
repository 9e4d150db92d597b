//! One-shot batch runs: `ivm::batch::run` of a view definition over rows in memory, against the
//! same computation as a hand-written differential program and as a single-threaded hash map.
//!
//! Run (release build; about a minute on a 2-core machine, after compiling):
//!
//! ```text
//! CARGO_TARGET_DIR=/work/target-bench cargo bench -p ivm-benches --bench batch
//! IVM_BATCH_ROWS=1000000 IVM_BATCH_REPS=5 IVM_BATCH_QUERIES=count CARGO_TARGET_DIR=/work/target-bench cargo bench -p ivm-benches --bench batch
//! ```
//!
//! Data: N = `IVM_BATCH_ROWS` (default 10,000,000) facts `(key(i), i)` over 1,000,000 distinct
//! keys (as in `bulk_load`), and for the join one dimension row `(key(j), j % 1000)` per key
//! (1,000,000; fewer when N is smaller). The queries (`IVM_BATCH_QUERIES`, default `count,join`):
//!
//! - `count`: `facts.map(|(k, _)| k).count()`, 1,000,000 result rows;
//! - `join`: `facts.join_map(dims, |_, _, group| *group).count()`, 1,000 result rows.
//!
//! The systems, each timed from the call to a consolidated, sorted `Vec<((u64, isize), isize)>`
//! on the calling thread:
//!
//! - `ours`: `batch::run(view.definition(), &inputs, w)`. The `BatchInputs` are built before
//!   the clock starts (reported as `inputs_s`); the engine that owns the table handles runs
//!   1 idle (parked) worker.
//! - `bare`: a differential program on `timely::execute` with `w` workers, each inserting its
//!   share of an `Arc<Vec<_>>` of the rows through an `InputSession` and closing it before it
//!   steps, a sink collecting the result (`benches/baselines/batch.rs`).
//! - `bare_stream`: the same program fed by a timely source (`to_stream` over the worker's
//!   share), which hands rows over a chunk per activation, interleaved with the computation, as
//!   `batch::run` feeds its inputs.
//! - `hashmap`: one thread, a `hashbrown::HashMap` of counts (and of key -> group for the
//!   join), then sorted.
//!
//! Every run is a child process (this binary re-run with `--child SYSTEM QUERY WORKERS ROWS`),
//! so peak RSS is per run; the rows are generated in the child before timing. The order is
//! ours/1, bare/1, bare_stream/1, ours/2, bare/2, bare_stream/2, hashmap per query, repeated
//! `IVM_BATCH_REPS` times (default 3); the summary gives medians and ratios. `IVM_BATCH_WORKERS` (default `1,2`). Without
//! `--bench` (under `cargo test --benches`) it runs one 20,000-row smoke round and checks that
//! all systems agree.

#[path = "baselines/batch.rs"]
mod baseline;
#[path = "common/measure.rs"]
mod measure;
use measure::{env, loadavg, median, memory_kib};

use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use ivm::batch::{self, BatchInputs};
use ivm::{Config, Engine};

use baseline::{Count, Feed, Inputs, Query, Row};

/// The systems run with 1 and 2 workers (`hashmap` runs once, on one thread).
const SYSTEMS: [&str; 3] = ["ours", "bare", "bare_stream"];

/// Distinct keys of the facts.
const KEYS: u64 = 1_000_000;
/// Groups of the dimension rows.
const GROUPS: u64 = 1_000;

fn key(i: u64) -> u64 {
    (i % KEYS).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

fn fact(i: u64) -> Row {
    (key(i), i)
}

fn dim(j: u64) -> Row {
    (key(j), j % GROUPS)
}

fn parse_query(name: &str) -> Query {
    match name {
        "count" => Query::Count,
        "join" => Query::Join,
        other => panic!("unknown query {other}: count or join"),
    }
}

/// `batch::run` of the query's definition; returns the result, the run's time and the time to
/// build the inputs.
fn run_ours(query: Query, workers: usize, rows: u64) -> (Vec<(Count, isize)>, f64, f64) {
    let engine = Engine::start(Config::default()).expect("engine starts");
    let facts = engine.table::<Row>("facts").expect("new table");
    let dims = engine.table::<Row>("dims").expect("new table");
    let view = match query {
        Query::Count => engine.view("count", {
            let facts = facts.clone();
            move |v| v.table(&facts).map(|(k, _)| k).count()
        }),
        Query::Join => engine.view("join", {
            let (facts, dims) = (facts.clone(), dims.clone());
            move |v| v.table(&facts).join_map(v.table(&dims), |_key, _i, group| *group).count()
        }),
    }
    .expect("new view");
    let building = Instant::now();
    let mut inputs = BatchInputs::new().table(&facts, (0..rows).map(fact));
    if query == Query::Join {
        inputs = inputs.table(&dims, (0..rows.min(KEYS)).map(dim));
    }
    let inputs_secs = building.elapsed().as_secs_f64();
    let start = Instant::now();
    let result = batch::run(view.definition(), &inputs, workers).expect("batch run");
    (result, start.elapsed().as_secs_f64(), inputs_secs)
}

fn inputs(query: Query, rows: u64) -> Inputs {
    let dims = if query == Query::Join { (0..rows.min(KEYS)).map(dim).collect() } else { Vec::new() };
    Inputs { facts: Arc::new((0..rows).map(fact).collect()), dims: Arc::new(dims) }
}

/// Runs one system in this process; returns its result and its time.
fn run(system: &str, query: Query, workers: usize, rows: u64) -> (Vec<(Count, isize)>, String) {
    match system {
        "ours" => {
            let (result, secs, inputs_secs) = run_ours(query, workers, rows);
            (result, format!("secs={secs:.3} inputs_s={inputs_secs:.3}"))
        }
        "bare" | "bare_stream" => {
            let feed = if system == "bare" { Feed::Session } else { Feed::Stream };
            let data = inputs(query, rows);
            let start = Instant::now();
            let result = baseline::differential(query, &data, workers, feed);
            (result, format!("secs={:.3}", start.elapsed().as_secs_f64()))
        }
        "hashmap" => {
            let data = inputs(query, rows);
            let start = Instant::now();
            let result = baseline::hash_map(query, &data);
            (result, format!("secs={:.3}", start.elapsed().as_secs_f64()))
        }
        "baseline" => (Vec::new(), String::new()),
        other => panic!("unknown system {other}"),
    }
}

/// A short fingerprint of a result, so the parent can check that every system agrees.
fn fingerprint(result: &[(Count, isize)]) -> String {
    let sum: i128 =
        result.iter().map(|((k, c), d)| (*k as i128 % 1_000_003) * (*c as i128) * (*d as i128)).sum();
    format!("result_rows={} result_check={sum}", result.len())
}

fn child(system: &str, query: Query, workers: usize, rows: u64) {
    let (result, timing) = run(system, query, workers, rows);
    if system != "baseline" {
        let expected_rows = match query {
            Query::Count => rows.min(KEYS),
            Query::Join => rows.min(GROUPS),
        };
        assert_eq!(result.len() as u64, expected_rows, "{system} {query:?}");
        assert_eq!(result.iter().map(|((_, c), d)| *c * *d).sum::<isize>() as u64, rows);
    }
    let (peak, now) = memory_kib();
    println!("RESULT {timing} {} peak_kib={peak} end_kib={now}", fingerprint(&result));
}

/// One finished child run.
struct Run {
    system: String,
    query: String,
    workers: usize,
    line: String,
}

impl Run {
    fn field(&self, name: &str) -> Option<&str> {
        self.line.split_whitespace().find_map(|t| t.strip_prefix(name)?.strip_prefix('='))
    }

    fn number(&self, name: &str) -> Option<f64> {
        self.field(name).and_then(|v| v.parse().ok())
    }
}

fn spawn(system: &str, query: &str, workers: usize, rows: u64) -> Run {
    let exe = std::env::current_exe().expect("own path");
    let output = Command::new(exe)
        .args(["--child", system, query, &workers.to_string(), &rows.to_string()])
        .output()
        .expect("child runs");
    assert!(
        output.status.success(),
        "{system}/{workers} {query} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().find(|l| l.starts_with("RESULT")).expect("child prints RESULT").to_string();
    Run { system: system.to_string(), query: query.to_string(), workers, line }
}

fn summarize(runs: &[Run], queries: &[String], workers: &[usize], rows: u64, baseline_kib: f64) {
    println!("\nsummary: {rows} facts; medians over runs; baseline child RSS {baseline_kib} KiB");
    println!(
        "{:<6} {:<13} {:>8} {:>12} {:>8} {:>8} {:>10} {:>9} {:>9}",
        "query", "system", "secs", "rows/s", "min s", "max s", "inputs s", "peak MiB", "B/row pk"
    );
    for query in queries {
        let mut medians: Vec<(String, f64)> = Vec::new();
        let mut names: Vec<String> =
            workers.iter().flat_map(|w| SYSTEMS.map(|system| format!("{system}/{w}"))).collect();
        names.push("hashmap/1".to_string());
        for name in names {
            let mine: Vec<&Run> = runs
                .iter()
                .filter(|r| &r.query == query && format!("{}/{}", r.system, r.workers) == name)
                .collect();
            let all = |field: &str| mine.iter().filter_map(|r| r.number(field)).collect::<Vec<f64>>();
            let secs = all("secs");
            let m = median(secs.clone());
            let peak = median(all("peak_kib"));
            println!(
                "{:<6} {:<13} {:>8.3} {:>12.0} {:>8.3} {:>8.3} {:>10.3} {:>9.1} {:>9.1}",
                query,
                name,
                m,
                rows as f64 / m,
                secs.iter().copied().fold(f64::INFINITY, f64::min),
                secs.iter().copied().fold(0.0, f64::max),
                median(all("inputs_s")),
                peak / 1024.0,
                (peak - baseline_kib) * 1024.0 / rows as f64,
            );
            medians.push((name, m));
        }
        let find = |name: &str| medians.iter().find(|m| m.0 == name).map(|m| m.1);
        let hash = find("hashmap/1").unwrap_or(f64::NAN);
        for w in workers {
            let time = |system: &str| find(&format!("{system}/{w}")).unwrap_or(f64::NAN);
            let (ours, bare, stream) = (time("ours"), time("bare"), time("bare_stream"));
            println!(
                "   {query} w={w}: time ours/bare {:.2}, ours/bare_stream {:.2}, ours/best bare {:.2}, \
                 ours/hashmap {:.2}, best bare/hashmap {:.2}",
                ours / bare,
                ours / stream,
                ours / bare.min(stream),
                ours / hash,
                bare.min(stream) / hash
            );
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child") {
        let workers = args[4].parse().expect("workers");
        let rows = args[5].parse().expect("rows");
        child(&args[2], parse_query(&args[3]), workers, rows);
        return;
    }
    let benchmarking = args.iter().any(|a| a == "--bench");
    let (default_rows, default_reps) = if benchmarking { (10_000_000, 3) } else { (20_000, 1) };
    let rows: u64 = env("IVM_BATCH_ROWS").and_then(|v| v.parse().ok()).unwrap_or(default_rows);
    let reps: usize = env("IVM_BATCH_REPS").and_then(|v| v.parse().ok()).unwrap_or(default_reps);
    let workers: Vec<usize> = env("IVM_BATCH_WORKERS")
        .map(|v| v.split(',').map(|w| w.trim().parse().expect("IVM_BATCH_WORKERS: 1,2")).collect())
        .unwrap_or_else(|| vec![1, 2]);
    let queries: Vec<String> = env("IVM_BATCH_QUERIES")
        .map(|v| v.split(',').map(|q| q.trim().to_string()).collect())
        .unwrap_or_else(|| vec!["count".into(), "join".into()]);
    for query in &queries {
        parse_query(query);
    }
    println!(
        "batch: rows={rows} keys={KEYS} reps={reps} workers={workers:?} queries={queries:?} nproc={} loadavg: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        loadavg()
    );
    let baseline_kib = spawn("baseline", "count", 1, rows).number("end_kib").unwrap_or(0.0);
    let mut runs = Vec::new();
    for rep in 0..reps {
        for query in &queries {
            let mut order: Vec<(&str, usize)> =
                workers.iter().flat_map(|&w| SYSTEMS.map(|system| (system, w))).collect();
            order.push(("hashmap", 1));
            for (system, w) in order {
                let run = spawn(system, query, w, rows);
                println!("rep={rep} {query} {system}/{w}: {} loadavg={}", run.line, loadavg());
                runs.push(run);
            }
        }
    }
    for query in &queries {
        let checks: Vec<&str> =
            runs.iter().filter(|r| &r.query == query).filter_map(|r| r.field("result_check")).collect();
        assert!(checks.windows(2).all(|w| w[0] == w[1]), "{query}: the systems disagree: {checks:?}");
    }
    summarize(&runs, &queries, &workers, rows, baseline_kib);
    println!("loadavg at end: {}", loadavg());
}
