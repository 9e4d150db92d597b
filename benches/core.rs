//! Core engine benchmarks: the latency of "commit one row, then read the view at its time".
//!
//! Run (release build; about a minute and a half on a 2-core machine, after compiling):
//!
//! ```text
//! CARGO_TARGET_DIR=/work/target-bench cargo bench -p ivm-benches --bench core
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
//! - `bare_two_dataflows/w`: `bare_same_shape` split as the engine splits it: the table is one
//!   dataflow and the view a second one that imports the table's arrangement.
//!
//! Criterion reports the time per operation, back to back. Afterwards (only under
//! `cargo bench`), two more passes interleave the systems in rounds and print each one's
//! median, p90, p99 and max per operation, and the ratios ours/bare:
//!
//! - back to back: `IVM_LATENCY_ROUNDS` (default 20) rounds of `IVM_LATENCY_OPS` (default 500)
//!   operations per system;
//! - with a pause before each operation (not timed), as when commits are not back to back:
//!   `IVM_LATENCY_PAUSE_US` (default 2000; 0 skips the pass), `IVM_LATENCY_PAUSED_ROUNDS`
//!   (default 10) rounds of `IVM_LATENCY_PAUSED_OPS` (default 60) operations.
//!
//! `IVM_SYSTEMS=ours/1,bare/1` keeps only the named systems. `IVM_IDLE_MERGE_EFFORT=n` starts
//! the engine with `Config::with_idle_merge_effort(n)` instead of the default.

#[path = "common/measure.rs"]
mod measure;
#[path = "baselines/round_trip.rs"]
mod round_trip;
use measure::loadavg;

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
        let config = match env_usize("IVM_IDLE_MERGE_EFFORT", usize::MAX) {
            usize::MAX => config,
            effort => config.with_idle_merge_effort(effort),
        };
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

/// A system under test with its own seeded row source.
type System = (Box<dyn RoundTrip>, Rows);

/// Every system under test, for 1 and 2 workers.
fn systems() -> Vec<System> {
    let mut systems: Vec<System> = Vec::new();
    for workers in [1, 2] {
        systems.push((Box::new(Ours::start(workers)), Rows::new()));
        for shape in [Shape::ProbeOnly, Shape::SameAsEngine, Shape::TwoDataflows] {
            let bare = Bare::start(workers, shape, preload(), RETAINED_COMMITS);
            systems.push((Box::new(bare), Rows::new()));
        }
    }
    if let Ok(only) = std::env::var("IVM_SYSTEMS") {
        systems.retain(|(system, _)| only.split(',').any(|name| system.name() == name.trim()));
    }
    systems
}

fn commit_then_read(c: &mut Criterion, systems: &mut [System]) {
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

/// How one latency pass runs: `rounds` rounds of `ops` operations per system, each operation
/// after a pause of `pause` (not timed).
struct Pass {
    rounds: usize,
    ops: usize,
    pause: Duration,
}

/// Per-operation latencies, with the systems interleaved in rounds so that load changes on a
/// shared machine hit all of them alike.
fn latency_distribution(systems: &mut [System], pass: &Pass) {
    let Pass { rounds, ops, pause } = *pass;
    let mut samples: Vec<Vec<Duration>> = vec![Vec::with_capacity(rounds * ops); systems.len()];
    for _ in 0..rounds {
        for ((system, rows), samples) in systems.iter_mut().zip(&mut samples) {
            for _ in 0..ops {
                if !pause.is_zero() {
                    std::thread::sleep(pause);
                }
                let start = Instant::now();
                black_box(system.commit_then_read(rows.next_row()));
                samples.push(start.elapsed());
            }
        }
    }
    println!(
        "\ncommit_then_read latency per operation, {} before each ({rounds} rounds x {ops} ops per system, interleaved)",
        if pause.is_zero() { "no pause".to_string() } else { format!("{pause:?} pause") }
    );
    println!("loadavg after the pass: {}", loadavg());
    println!("{:<22} {:>10} {:>10} {:>10} {:>10}", "system", "median", "p90", "p99", "max");
    let mut summary = Vec::new();
    for ((system, _), samples) in systems.iter().zip(&mut samples) {
        samples.sort_unstable();
        let q = |p: f64| samples[((samples.len() - 1) as f64 * p).round() as usize];
        let (name, median, p99) = (system.name(), q(0.5), q(0.99));
        println!(
            "{name:<22} {:>10} {:>10} {:>10} {:>10}",
            micros(median),
            micros(q(0.9)),
            micros(p99),
            micros(q(1.0))
        );
        summary.push((name, median, p99));
    }
    for workers in [1, 2] {
        let find = |name: String| summary.iter().find(|m| m.0 == name).map(|m| (m.1, m.2));
        let Some(ours) = find(format!("ours/{workers}")) else { continue };
        for base in ["bare", "bare_same_shape", "bare_two_dataflows"] {
            if let Some(bare) = find(format!("{base}/{workers}")) {
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
        let back_to_back = Pass {
            rounds: env_usize("IVM_LATENCY_ROUNDS", 20),
            ops: env_usize("IVM_LATENCY_OPS", 500),
            pause: Duration::ZERO,
        };
        latency_distribution(&mut systems, &back_to_back);
        let pause_us = env_usize("IVM_LATENCY_PAUSE_US", 2_000);
        if pause_us > 0 {
            let paused = Pass {
                rounds: env_usize("IVM_LATENCY_PAUSED_ROUNDS", 10),
                ops: env_usize("IVM_LATENCY_PAUSED_OPS", 60),
                pause: Duration::from_micros(pause_us as u64),
            };
            latency_distribution(&mut systems, &paused);
        }
    }
    criterion.final_summary();
}
