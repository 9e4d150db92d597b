//! Core engine benchmarks: the latency of "commit one row, then read the view at its time".
//!
//! Run (release build; takes about two minutes on a 2-core machine):
//!
//! ```text
//! CARGO_TARGET_DIR=/work/target-bench cargo bench --bench core
//! ```
//!
//! Setup, the same for every system under test: a `(u64, u64)` table pre-loaded with 100,000 rows
//! over 1,000 keys, and a count-per-key view (`map(|(k, _)| k).count()`, so the view holds 1,000
//! rows). One measured operation commits one new row (a seeded random key) and then returns the
//! whole view at that commit's time, waiting until it is complete. The systems are:
//!
//! - `ours/w`: the engine with `w` workers (`Engine::commit` + `View::at`), retaining the last
//!   100 commits.
//! - `bare/w`: a bare differential program on `w` timely worker threads, driven the same way
//!   from the application thread: the row goes over a channel to one worker (round robin), the
//!   advance to every worker, each worker steps (parking when idle) until its probe passes the
//!   time and replies; the application waits for every reply. Dataflow: input -> map -> count.
//! - `bare_same_shape/w`: the bare program with the engine's dataflow shape: the input is
//!   arranged (like a table), the count is arranged (like a view) and read whole at the time
//!   by walking its trace on each worker, with the same 100-commit compaction.
//!
//! Criterion reports the mean per operation. Afterwards (only under `cargo bench`), a second
//! pass interleaves the systems in rounds and prints each one's median, p90 and p99 per
//! operation, and the ratios ours/bare. `IVM_LATENCY_ROUNDS` (default 20) and
//! `IVM_LATENCY_OPS` (operations per system per round, default 500) size that pass.

#[path = "baselines/round_trip.rs"]
mod round_trip;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use ivm::{Config, Engine, Retention, Table, View};

use round_trip::{Bare, RoundTrip, Shape};

/// Rows loaded into the table before measuring.
const PRELOAD_ROWS: u64 = 100_000;
/// Distinct keys, and so rows in the view.
const KEYS: u64 = 1_000;
/// Commits that stay readable (the engine's `Retention::LastCommits`).
const RETAINED_COMMITS: u64 = 100;

/// A bijection on `u64` that scatters consecutive numbers (keys are `mix(i % KEYS)`).
fn mix(x: u64) -> u64 {
    x.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// The pre-loaded rows, `(key, i)`.
fn preload() -> impl Iterator<Item = (u64, u64)> {
    (0..PRELOAD_ROWS).map(|i| (mix(i % KEYS), i))
}

/// A seeded source of new rows: random keys (xorshift64) with fresh values.
struct Rows {
    state: u64,
    next: u64,
}

impl Rows {
    fn new() -> Self {
        Rows { state: 0x2545_F491_4F6C_DD1D, next: PRELOAD_ROWS }
    }

    fn next_row(&mut self) -> (u64, u64) {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.next += 1;
        (mix(self.state % KEYS), self.next)
    }
}

/// The engine under test.
struct Ours {
    engine: Engine,
    table: Table<(u64, u64)>,
    view: View<(u64, isize)>,
    workers: usize,
}

impl Ours {
    fn start(workers: usize) -> Self {
        let config =
            Config::default().with_workers(workers).with_retention(Retention::LastCommits(RETAINED_COMMITS));
        let engine = Engine::start(config).expect("engine starts");
        let table = engine.table::<(u64, u64)>("rows").expect("new table");
        let view = engine
            .view("count_per_key", {
                let table = table.clone();
                move |v| v.table(&table).map(|(k, _)| k).count()
            })
            .expect("new view");
        let t = engine.commit(|tx| tx.insert_all(&table, preload())).expect("preload commits");
        assert_eq!(view.at(t).expect("preload readable").len(), KEYS as usize);
        Ours { engine, table, view, workers }
    }
}

impl RoundTrip for Ours {
    fn name(&self) -> String {
        format!("ours/{}", self.workers)
    }

    fn commit_then_read(&mut self, row: (u64, u64)) -> usize {
        let t = self.engine.commit(|tx| tx.insert(&self.table, row)).expect("commit");
        self.view.at(t).expect("read").len()
    }
}

/// Every system under test, for 1 and 2 workers.
fn systems() -> Vec<(Box<dyn RoundTrip>, Rows)> {
    let mut systems: Vec<(Box<dyn RoundTrip>, Rows)> = Vec::new();
    for workers in [1, 2] {
        systems.push((Box::new(Ours::start(workers)), Rows::new()));
        for shape in [Shape::ProbeOnly, Shape::SameAsEngine] {
            let bare = Bare::start(workers, shape, preload(), RETAINED_COMMITS);
            systems.push((Box::new(bare), Rows::new()));
        }
    }
    systems
}

fn commit_then_read(c: &mut Criterion, systems: &mut [(Box<dyn RoundTrip>, Rows)]) {
    let mut group = c.benchmark_group("commit_then_read");
    for (system, rows) in systems.iter_mut() {
        group.bench_function(system.name(), |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(system.commit_then_read(rows.next_row()));
                }
                start.elapsed()
            })
        });
    }
    group.finish();
}

/// Per-operation latencies, with the systems interleaved in rounds so that load changes on a
/// shared machine hit all of them alike.
fn latency_distribution(systems: &mut [(Box<dyn RoundTrip>, Rows)]) {
    let rounds = env_usize("IVM_LATENCY_ROUNDS", 20);
    let ops = env_usize("IVM_LATENCY_OPS", 500);
    let mut samples: Vec<Vec<Duration>> = vec![Vec::with_capacity(rounds * ops); systems.len()];
    for _ in 0..rounds {
        for ((system, rows), samples) in systems.iter_mut().zip(&mut samples) {
            for _ in 0..ops {
                let start = Instant::now();
                black_box(system.commit_then_read(rows.next_row()));
                samples.push(start.elapsed());
            }
        }
    }
    println!(
        "\ncommit_then_read latency per operation ({rounds} rounds x {ops} ops per system, interleaved)"
    );
    println!("loadavg: {}", loadavg());
    println!("{:<22} {:>10} {:>10} {:>10} {:>10}", "system", "median", "p90", "p99", "max");
    let mut medians = Vec::new();
    for ((system, _), samples) in systems.iter().zip(&mut samples) {
        samples.sort_unstable();
        let q = |p: f64| samples[((samples.len() - 1) as f64 * p).round() as usize];
        println!(
            "{:<22} {:>10} {:>10} {:>10} {:>10}",
            system.name(),
            micros(q(0.5)),
            micros(q(0.9)),
            micros(q(0.99)),
            micros(q(1.0))
        );
        medians.push((system.name(), q(0.5), q(0.99)));
    }
    for workers in [1, 2] {
        let find = |name: String| medians.iter().find(|m| m.0 == name).map(|m| (m.1, m.2));
        let ours = find(format!("ours/{workers}"));
        for base in ["bare", "bare_same_shape"] {
            if let (Some(ours), Some(bare)) = (ours, find(format!("{base}/{workers}"))) {
                println!(
                    "ratio ours/{base} with {workers} worker(s): median {:.2}, p99 {:.2}",
                    ours.0.as_secs_f64() / bare.0.as_secs_f64(),
                    ours.1.as_secs_f64() / bare.1.as_secs_f64()
                );
            }
        }
    }
}

fn micros(d: Duration) -> String {
    format!("{:.1} us", d.as_secs_f64() * 1e6)
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg").map(|s| s.trim().to_string()).unwrap_or_default()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let benchmarking = args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test");
    println!(
        "nproc: {}, loadavg: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        loadavg()
    );
    let mut systems = systems();
    let mut criterion = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    commit_then_read(&mut criterion, &mut systems);
    if benchmarking {
        latency_distribution(&mut systems);
    }
    criterion.final_summary();
}
