//! What a run leaves: a table on the terminal, `nexmark.json` (the machine, the options, every
//! outcome and the summary with its ratios) and `nexmark.svg` (the chart) in the output
//! directory.

use serde::Serialize;

use crate::args::Options;
use crate::chart;
use crate::measure::loadavg;
use crate::outcome::Outcome;
use crate::peer;

/// The machine and conditions of a run.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub nproc: usize,
    pub memory_total: String,
    pub loadavg_before: String,
    pub loadavg_after: String,
    pub commit: String,
    pub command: String,
}

impl Machine {
    /// The machine as it is now.
    pub fn now() -> Machine {
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let commit = std::process::Command::new("git")
            .args(["rev-parse", "--short", "HEAD"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default();
        Machine {
            nproc: std::thread::available_parallelism().map_or(0, |n| n.get()),
            memory_total: meminfo.lines().next().unwrap_or_default().split_whitespace().skip(1).collect(),
            loadavg_before: loadavg(),
            loadavg_after: String::new(),
            commit,
            command: std::env::args().skip(1).filter(|a| a != "--bench").collect::<Vec<_>>().join(" "),
        }
    }
}

/// One query with one worker count, every system side by side.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub query: String,
    pub workers: usize,
    /// Live throughput, events/s per worker.
    pub live: Option<f64>,
    /// Live throughput with streamed tables as inputs, events/s per worker.
    pub streamed: Option<f64>,
    /// streamed / bare throughput (target ≥ 0.85; ≥ 0.9 for q0, q3, q4, q9, q17, q20).
    pub streamed_over_bare: Option<f64>,
    /// Peak memory of the streamed run (the harness's events excluded), MiB.
    pub streamed_peak_mib: Option<f64>,
    /// Streamed peak memory / the peer's (target ≤ 1, aim 0.7).
    pub streamed_vs_peer_memory: Option<f64>,
    /// Streamed commit latency p99 / p50 (target ≤ 3).
    pub streamed_p99_over_p50: Option<f64>,
    /// Bare differential's transaction latency p99 / p50, the same closed loop without the
    /// engine: what differential's own merges cost the tail.
    pub bare_p99_over_p50: Option<f64>,
    /// Live throughput with the view written in SQL, events/s per worker.
    pub sql: Option<f64>,
    /// sql / live throughput (target ≥ 0.8).
    pub sql_over_live: Option<f64>,
    /// live / sql user CPU seconds (CPU less the kernel's): the same ratio without the page
    /// faults, whose cost on this VM varies from run to run more than the engine's work does.
    pub sql_over_live_user_cpu: Option<f64>,
    /// Bare differential throughput, events/s per worker.
    pub bare: Option<f64>,
    /// Bare differential in the engine's shape (inputs and result arranged), events/s per worker.
    pub bare_arranged: Option<f64>,
    /// Recompute-after-every-transaction throughput (estimated past the budget), events/s.
    pub recompute: Option<f64>,
    /// live / bare throughput (target ≥ 1 / 1.15).
    pub live_over_bare: Option<f64>,
    /// live / bare_arranged throughput: the engine's own cost.
    pub live_over_bare_arranged: Option<f64>,
    pub batch_seconds: Option<f64>,
    pub recompute_final_seconds: Option<f64>,
    /// One DuckDB recompute of the final state (feature `nexmark-duckdb`), s.
    pub duckdb_seconds: Option<f64>,
    /// One final recompute / one live transaction (average over the run).
    pub speedup: Option<f64>,
    /// One final recompute / one tail transaction (1,000 events on the final state).
    pub tail_speedup: Option<f64>,
    pub latency_p50_ms: Option<f64>,
    pub latency_p99_ms: Option<f64>,
    pub cpu_seconds: Option<f64>,
    pub peak_mib: Option<f64>,
    /// Live throughput / the peer's (target ≥ 1.5).
    pub vs_peer_throughput: Option<f64>,
    /// Live peak memory / the peer's (target ≤ 0.7).
    pub vs_peer_memory: Option<f64>,
}

/// The whole report, as written to `nexmark.json`.
#[derive(Serialize)]
struct Report<'a> {
    machine: &'a Machine,
    events: u64,
    batch: u64,
    seed: u64,
    /// Rounds of each run; every figure is from the round of median wall time.
    repeat: u64,
    summary: Vec<Summary>,
    outcomes: &'a [Outcome],
    failures: &'a [String],
}

/// Prints the table and writes the JSON report and the chart into `options.out`; returns the
/// summary rows.
pub fn write(
    options: &Options,
    machine: &Machine,
    outcomes: &[Outcome],
    failures: &[String],
) -> Result<Vec<Summary>, String> {
    let summary = summarize(options, outcomes);
    print_table(options, machine, &summary);
    let report = Report {
        machine,
        events: options.events,
        batch: options.batch,
        seed: options.seed,
        repeat: options.repeat,
        summary: summary.clone(),
        outcomes,
        failures,
    };
    let json = serde_json::to_string_pretty(&report).map_err(|e| format!("report to JSON: {e}"))?;
    let json_path = options.out.join("nexmark.json");
    std::fs::write(&json_path, json).map_err(|e| format!("cannot write {}: {e}", json_path.display()))?;
    let svg_path = options.out.join("nexmark.svg");
    std::fs::write(&svg_path, chart::svg(&summary, options))
        .map_err(|e| format!("cannot write {}: {e}", svg_path.display()))?;
    println!("report: {}\nchart:  {}", json_path.display(), svg_path.display());
    Ok(summary)
}

/// One summary row per (query, workers) that has any outcome.
fn summarize(options: &Options, outcomes: &[Outcome]) -> Vec<Summary> {
    let mut rows = Vec::new();
    let mut queries: Vec<&str> = Vec::new();
    for outcome in outcomes {
        if !queries.contains(&outcome.query.as_str()) {
            queries.push(&outcome.query);
        }
    }
    for query in queries {
        for &workers in &options.workers {
            let find = |mode: &str, w: usize| {
                outcomes.iter().find(|o| o.query == query && o.mode == mode && o.workers == w)
            };
            let (live, bare, batch) = (find("live", workers), find("bare", workers), find("batch", workers));
            let recompute = find("recompute", 1);
            let streamed = find("streamed", workers);
            if live.is_none() && streamed.is_none() && bare.is_none() && batch.is_none() {
                continue;
            }
            let final_seconds = recompute.and_then(|r| r.recompute_final_seconds);
            let live_throughput = live.map(Outcome::throughput_per_worker);
            let sql = find("sql", workers);
            let sql_throughput = sql.map(Outcome::throughput_per_worker);
            let bare_throughput = bare.map(Outcome::throughput_per_worker);
            let arranged_throughput = find("bare_arranged", workers).map(Outcome::throughput_per_worker);
            let streamed_throughput = streamed.map(Outcome::throughput_per_worker);
            rows.push(Summary {
                query: query.to_string(),
                workers,
                live: live_throughput,
                streamed: streamed_throughput,
                streamed_over_bare: streamed_throughput.zip(bare_throughput).map(|(s, b)| s / b),
                streamed_peak_mib: streamed.map(|s| s.peak_mib),
                streamed_vs_peer_memory: streamed.zip(peer::memory_mib(query)).map(|(s, p)| s.peak_mib / p),
                streamed_p99_over_p50: streamed
                    .and_then(|s| s.latency_p99_us.zip(s.latency_p50_us))
                    .map(|(p99, p50)| p99 / p50),
                bare_p99_over_p50: bare
                    .and_then(|b| b.latency_p99_us.zip(b.latency_p50_us))
                    .map(|(p99, p50)| p99 / p50),
                sql: sql_throughput,
                sql_over_live: sql_throughput.zip(live_throughput).map(|(s, l)| s / l),
                sql_over_live_user_cpu: sql.zip(live).map(|(s, l)| l.user_seconds() / s.user_seconds()),
                bare: bare_throughput,
                bare_arranged: arranged_throughput,
                recompute: recompute.map(|r| r.events as f64 / r.seconds),
                live_over_bare: live_throughput.zip(bare_throughput).map(|(l, b)| l / b),
                live_over_bare_arranged: live_throughput.zip(arranged_throughput).map(|(l, b)| l / b),
                batch_seconds: batch.map(|b| b.seconds),
                recompute_final_seconds: final_seconds,
                duckdb_seconds: find("duckdb", 1).and_then(|d| d.recompute_final_seconds),
                speedup: final_seconds.zip(live).map(|(f, l)| f / l.seconds_per_transaction()),
                tail_speedup: final_seconds.zip(live.and_then(|l| l.tail_seconds)).map(|(f, t)| f / t),
                latency_p50_ms: live.and_then(|l| l.latency_p50_us).map(|us| us / 1e3),
                latency_p99_ms: live.and_then(|l| l.latency_p99_us).map(|us| us / 1e3),
                cpu_seconds: live.map(|l| l.cpu_seconds),
                peak_mib: live.map(|l| l.peak_mib),
                vs_peer_throughput: live_throughput.zip(peer::throughput(query)).map(|(l, p)| l / p),
                vs_peer_memory: live.zip(peer::memory_mib(query)).map(|(l, p)| l.peak_mib / p),
            });
        }
    }
    rows
}

/// The terminal table.
fn print_table(options: &Options, machine: &Machine, summary: &[Summary]) {
    let rounds = match options.repeat {
        1 => String::new(),
        n => format!(", each run the median of {n} rounds"),
    };
    println!(
        "\nnexmark: {} events, {}-event transactions, seed {}{rounds}, commit {}, nproc {}, load {} -> {}",
        options.events,
        options.batch,
        options.seed,
        machine.commit,
        machine.nproc,
        machine.loadavg_before,
        machine.loadavg_after
    );
    let header = [
        "ivm ev/s",
        "sql ev/s",
        "/ivm",
        "/ivm u",
        "bare ev/s",
        "/bare",
        "arr ev/s",
        "/arr",
        "batch s",
        "recomp s",
        "duckdb s",
        "speedup",
        "1k spdup",
        "p50 ms",
        "p99 ms",
        "CPU s",
        "peak MiB",
        "/peer",
        "mem/p",
        "str ev/s",
        "s/bare",
        "str MiB",
        "s mem/p",
        "s 99/50",
        "b 99/50",
    ];
    let widths = [10, 10, 6, 6, 10, 6, 10, 6, 8, 9, 8, 9, 9, 8, 8, 7, 8, 6, 6, 10, 6, 8, 7, 7, 7];
    let mut line = format!("{:<5} {:>2}", "query", "w");
    for (name, width) in header.iter().zip(widths) {
        line += &format!(" {name:>width$}");
    }
    println!("{line}");
    for row in summary {
        println!(
            "{:<5} {:>2} {:>10} {:>10} {:>6} {:>6} {:>10} {:>6} {:>10} {:>6} {:>8} {:>9} {:>8} {:>9} {:>9} {:>8} {:>8} {:>7} {:>8} {:>6} {:>6} {:>10} {:>6} {:>8} {:>7} {:>7} {:>7}",
            row.query,
            row.workers,
            count(row.live),
            count(row.sql),
            fixed(row.sql_over_live, 2),
            fixed(row.sql_over_live_user_cpu, 2),
            count(row.bare),
            fixed(row.live_over_bare, 2),
            count(row.bare_arranged),
            fixed(row.live_over_bare_arranged, 2),
            fixed(row.batch_seconds, 2),
            fixed(row.recompute_final_seconds, 3),
            fixed(row.duckdb_seconds, 3),
            fixed(row.speedup, 1),
            fixed(row.tail_speedup, 1),
            fixed(row.latency_p50_ms, 2),
            fixed(row.latency_p99_ms, 2),
            fixed(row.cpu_seconds, 1),
            fixed(row.peak_mib, 0),
            fixed(row.vs_peer_throughput, 2),
            fixed(row.vs_peer_memory, 2),
            count(row.streamed),
            fixed(row.streamed_over_bare, 2),
            fixed(row.streamed_peak_mib, 0),
            fixed(row.streamed_vs_peer_memory, 2),
            fixed(row.streamed_p99_over_p50, 1),
            fixed(row.bare_p99_over_p50, 1),
        );
    }
    println!(
        "ev/s are per worker; sql = the live run with the view in SQL, /ivm = sql/ivm throughput (target >= 0.8), /ivm u = ivm/sql user CPU seconds (without the kernel's page faults); /bare = ivm/bare throughput (target >= {:.2}); arr = bare differential with \
         the engine's shape (inputs and result arranged), /arr = ivm/that; speedup = one full recompute \
         of the final state / one live transaction; 1k spdup = the same for a 1,000-event transaction on the \
         final state (target >= {}); /peer = throughput vs the peer (target >= {}); mem/p = peak vs the \
         peer (target <= {}); str = the live run with streamed tables as inputs, s/bare = its throughput / \
         bare's (target >= 0.85), str MiB its peak, s mem/p that / the peer's (target <= 1), s 99/50 its \
         latency p99 / p50 (target <= 3), b 99/50 the same for bare",
        1.0 / peer::BARE_FACTOR,
        peer::SPEEDUP,
        peer::THROUGHPUT_FACTOR,
        peer::MEMORY_FACTOR
    );
}

/// A rate like `1.23M` or `456K`, or `-`.
fn count(value: Option<f64>) -> String {
    match value {
        Some(v) if v >= 1e6 => format!("{:.2}M", v / 1e6),
        Some(v) if v >= 1e3 => format!("{:.1}K", v / 1e3),
        Some(v) => format!("{v:.0}"),
        None => "-".into(),
    }
}

/// A number with `digits` decimals, or `-`.
fn fixed(value: Option<f64>, digits: usize) -> String {
    value.map_or_else(|| "-".into(), |v| format!("{v:.digits$}"))
}
