//! Bulk load: throughput and memory of loading N `(u64, u64)` rows into a table with a
//! count-per-key view, ours against bare differential programs doing the same work.
//!
//! Run (release build; about a minute for the default 10,000,000 rows on 2 cores, after
//! compiling):
//!
//! ```text
//! CARGO_TARGET_DIR=/work/target-bench cargo bench -p ivm-benches --bench bulk_load
//! IVM_BULK_ROWS=1000000 IVM_BULK_REPS=5 CARGO_TARGET_DIR=/work/target-bench cargo bench -p ivm-benches --bench bulk_load
//! ```
//!
//! Rows are `(key(i), i)` for `i < N` with 1,000,000 distinct keys (`key` is a fixed bijective
//! mix of `i % 1_000_000`, so the data is the same on every run). The variants:
//!
//! - `ours`: `Engine::commit` with `insert_all` of all N rows (generated on the application
//!   thread), then `View::at(t)`, which waits until the view is complete and returns it whole
//!   (1M rows). The time is from the start of the commit to the return of `at`.
//! - `ours_streamed`: the same into a streamed table (`Engine::streamed_table`, rows not kept):
//!   what compares with `bare`, which does not keep its input either.
//! - `bare`: input -> map(key) -> count -> probe on `timely::execute` workers; each worker
//!   generates its share of the rows and inserts it, then steps (parking when idle) until the
//!   probe passes. Timed on worker 0 from a barrier after dataflow construction to the probe.
//! - `bare_arranged`: like `bare`, but the input is first arranged by row (`arrange_by_self`)
//!   and the count reads that arrangement, as a view reads our table's arrangement.
//! - `bare_same_shape`: like `bare_arranged`, and the count is arranged too (our view's
//!   arrangement) and read whole at the end on every worker, as `at(t)` does.
//!
//! Each run is a child process (this binary re-executed with `--child VARIANT WORKERS ROWS`) so
//! peak RSS (`VmHWM`) is per variant; the runs go ours, bare, bare_arranged, bare_same_shape,
//! repeated `IVM_BULK_REPS` times (default 3), for 1 and 2 workers (`IVM_BULK_WORKERS`, default
//! `1,2`). The summary gives medians, ratios ours/bare, and bytes per row:
//! (peak RSS - an empty child's RSS) / N. Without `--bench` (under `cargo test --benches`)
//! it runs one small smoke round.

#[path = "baselines/bulk.rs"]
mod bulk;
#[path = "common/measure.rs"]
mod measure;
use measure::median;

use std::process::Command;
use std::time::Instant;

use ivm::{Config, Engine};

use bulk::{KEYS, Measurement, key};

const VARIANTS: [&str; 5] = ["ours", "ours_streamed", "bare", "bare_arranged", "bare_same_shape"];

/// Loads `rows` rows through the engine (into a streamed table if `streamed`) and waits for
/// the view.
fn run_ours(workers: usize, rows: u64, streamed: bool) -> Measurement {
    let engine = Engine::start(Config::default().with_workers(workers)).expect("engine starts");
    let table = match streamed {
        true => engine.streamed_table::<(u64, u64)>("rows"),
        false => engine.table::<(u64, u64)>("rows"),
    }
    .expect("new table");
    let view = engine
        .view("count_per_key", {
            let table = table.clone();
            move |v| v.table(&table).map(|(k, _)| k).count()
        })
        .expect("new view");
    let start = Instant::now();
    let t = engine.commit(|tx| tx.insert_all(&table, (0..rows).map(|i| (key(i), i)))).expect("commit");
    let committed = start.elapsed();
    let counts = view.at(t).expect("read");
    let elapsed = start.elapsed();
    let read_again = Instant::now();
    let again = view.at(t).expect("read again");
    let read = read_again.elapsed();
    assert_eq!(counts.len(), rows.min(KEYS) as usize);
    assert_eq!(counts.iter().map(|((_, c), _)| *c as u64).sum::<u64>(), rows);
    assert_eq!(again.len(), counts.len());
    let memory = bulk::memory();
    let notes = format!(
        "commit_returned_s={:.3} read_complete_view_s={:.3} table_updates={} view_updates={}",
        committed.as_secs_f64(),
        read.as_secs_f64(),
        table.stats().expect("stats").updates,
        view.stats().expect("stats").updates,
    );
    Measurement { elapsed, memory, notes }
}

/// Runs one variant in this process and prints its `RESULT` line for the parent.
fn child(variant: &str, workers: usize, rows: u64) {
    let measurement = match variant {
        "ours" => run_ours(workers, rows, false),
        "ours_streamed" => run_ours(workers, rows, true),
        "baseline" => {
            Measurement { elapsed: Default::default(), memory: bulk::memory(), notes: String::new() }
        }
        bare => bulk::run_bare(bare.parse().expect("a known variant"), workers, rows),
    };
    println!("{}", measurement.result_line());
}

/// One finished child run.
struct Run {
    variant: String,
    workers: usize,
    secs: f64,
    peak_kib: u64,
    end_kib: u64,
}

fn spawn(variant: &str, workers: usize, rows: u64) -> (Run, String) {
    let exe = std::env::current_exe().expect("own path");
    let output = Command::new(exe)
        .args(["--child", variant, &workers.to_string(), &rows.to_string()])
        .output()
        .expect("child runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{variant}/{workers} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let line = stdout.lines().find(|l| l.starts_with("RESULT")).expect("child prints RESULT").to_string();
    let field = |name: &str| bulk::field(&line, name).expect("RESULT field");
    let run = Run {
        variant: variant.to_string(),
        workers,
        secs: field("secs").parse().expect("secs"),
        peak_kib: field("peak_kib").parse().expect("peak_kib"),
        end_kib: field("end_kib").parse().expect("end_kib"),
    };
    (run, line)
}

fn summarize(runs: &[Run], rows: u64, baseline_kib: u64, workers: &[usize]) {
    println!("\nsummary: {rows} rows, {KEYS} keys; medians over runs; baseline child RSS {baseline_kib} KiB");
    println!(
        "{:<18} {:>2} {:>8} {:>12} {:>8} {:>8} {:>11} {:>10} {:>10}",
        "variant", "w", "secs", "rows/s", "min s", "max s", "peak MiB", "B/row pk", "B/row end"
    );
    for &w in workers {
        let mut medians = Vec::new();
        for variant in VARIANTS {
            let mine: Vec<&Run> = runs.iter().filter(|r| r.variant == variant && r.workers == w).collect();
            let secs: Vec<f64> = mine.iter().map(|r| r.secs).collect();
            let peak = median(mine.iter().map(|r| r.peak_kib as f64).collect());
            let end = median(mine.iter().map(|r| r.end_kib as f64).collect());
            let per_row = |kib: f64| (kib - baseline_kib as f64) * 1024.0 / rows as f64;
            let m = median(secs.clone());
            println!(
                "{:<18} {:>2} {:>8.3} {:>12.0} {:>8.3} {:>8.3} {:>11.1} {:>10.1} {:>10.1}",
                variant,
                w,
                m,
                rows as f64 / m,
                secs.iter().copied().fold(f64::INFINITY, f64::min),
                secs.iter().copied().fold(0.0, f64::max),
                peak / 1024.0,
                per_row(peak),
                per_row(end),
            );
            medians.push((variant, m, per_row(peak)));
        }
        let (ours, streamed, bare) = (medians[0], medians[1], medians[2]);
        println!(
            "   w={w} throughput ratio ours_streamed/bare: {:.2}   peak bytes/row ratio ours_streamed/bare: {:.2}",
            bare.1 / streamed.1,
            streamed.2 / bare.2
        );
        for other in &medians[1..] {
            println!(
                "   w={w} throughput ratio ours/{}: {:.2}   peak bytes/row ratio ours/{}: {:.2}",
                other.0,
                other.1 / ours.1,
                other.0,
                ours.2 / other.2
            );
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child") {
        let workers = args[3].parse().expect("workers");
        let rows = args[4].parse().expect("rows");
        child(&args[2], workers, rows);
        return;
    }
    let benchmarking = args.iter().any(|a| a == "--bench");
    let env = |name: &str| std::env::var(name).ok();
    let (default_rows, default_reps) = if benchmarking { (10_000_000, 3) } else { (100_000, 1) };
    let rows: u64 = env("IVM_BULK_ROWS").and_then(|v| v.parse().ok()).unwrap_or(default_rows);
    let reps: usize = env("IVM_BULK_REPS").and_then(|v| v.parse().ok()).unwrap_or(default_reps);
    let workers: Vec<usize> = env("IVM_BULK_WORKERS")
        .map(|v| v.split(',').map(|w| w.trim().parse().expect("IVM_BULK_WORKERS: 1,2")).collect())
        .unwrap_or_else(|| vec![1, 2]);
    println!(
        "bulk_load: rows={rows} keys={KEYS} reps={reps} workers={workers:?} nproc={} loadavg: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        bulk::loadavg()
    );
    let (baseline, _) = spawn("baseline", 1, rows);
    let mut runs = Vec::new();
    for rep in 0..reps {
        for &w in &workers {
            for variant in VARIANTS {
                let (run, line) = spawn(variant, w, rows);
                println!("rep={rep} {variant}/{w}: {line} loadavg={}", bulk::load1());
                runs.push(run);
            }
        }
    }
    summarize(&runs, rows, baseline.end_kib, &workers);
    println!("loadavg at end: {}", bulk::loadavg());
}
