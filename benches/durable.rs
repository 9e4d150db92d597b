//! Durability: commit throughput under each durability policy, restart time of a stored table,
//! and bytes on disk per row.
//!
//! Run (release build; about four minutes on a 2-core machine, after compiling):
//!
//! ```text
//! CARGO_TARGET_DIR=/work/target-bench cargo bench -p ivm-benches --bench durable
//! IVM_DURABLE_PARTS=commits IVM_DURABLE_SECS=5 CARGO_TARGET_DIR=/work/target-bench cargo bench -p ivm-benches --bench durable
//! ```
//!
//! Storage goes to fresh temporary directories under `IVM_DURABLE_DIR` (default `/tmp`); the
//! bench prints that directory's filesystem. The parts (`IVM_DURABLE_PARTS`, default
//! `commits,restart`):
//!
//! **commits.** A `(u64, u64)` table with a count-per-key view (1,000 keys), retaining the last
//! 1,000 commits, `IVM_DURABLE_WORKERS` workers (default 1). `T` threads (1 and 8,
//! `IVM_DURABLE_THREADS`) each commit one row per transaction in a loop for
//! `IVM_DURABLE_SECS` seconds (default 3). Reported: commits per second (calls that returned
//! within the window), the per-commit latency (median, p99), the time after the window until
//! the view is complete through the last commit (`catch_up_s`: what the default
//! `BacklogLimit` lets run ahead, see `benches/flood.rs`), and `applied/s`: commits per second
//! of window plus catch-up. The
//! policies: `memory` (no storage, for reference), `every_commit` (`Durability::EveryCommit`),
//! `group` and `buffered`. `fsync` is the floor: one thread appending 64-byte records to a file
//! in the same directory with `sync_data` after each.
//!
//! **restart.** `IVM_DURABLE_ROWS` (default 10,000,000) rows `(key(i), i)` over 1,000,000 keys
//! are loaded with `Durability::Buffered` in commits of `IVM_DURABLE_CHUNK` (default 1,000,000)
//! rows into a table with a count-per-key view, with `Retention::LastCommits(1)` and automatic
//! checkpoints off, into two directories: `log` (the log only) and `checkpoint` (the same, then
//! `engine.checkpoint()`, which holds the contents as of `since` = the last commit). Bytes on
//! disk per row are measured in both (file lengths, and allocated blocks). Then each is
//! restarted: timed from `Engine::start` on the directory through registering the table and
//! the view again to `view.at(engine.latest())` returning (1,000,000 rows), with the steps
//! timed separately. `batch` is the comparison: `batch::run` of the same view definition over
//! the same rows in memory (its `BatchInputs` built before the clock starts). Each run is a
//! child process (this binary re-run with `--child ...`); the order is restart from `log`,
//! from `checkpoint`, then `batch`, for 1 and 2 workers (`IVM_DURABLE_WORKERS_RESTART`,
//! default `1,2`), repeated `IVM_DURABLE_REPS` times (default 3). The files are in the page
//! cache (just written): these are warm restarts. Each restart also leaves one new, empty log
//! segment behind (the engine starts a new segment on open).
//!
//! The same restarts run with the rows in a streamed table (`Engine::streamed_table`, loaded into
//! two more directories the same way): `str_log` and `str_ckpt`, where registering the table
//! replays nothing and the view is built from the stored history (issue 15).
//!
//! Without `--bench` (under `cargo test --benches`) it runs a small smoke pass of both parts.

#[path = "common/child.rs"]
mod child;
#[path = "common/measure.rs"]
mod measure;
use child::{Started, field, spawn};
use measure::{env, loadavg, median, memory_kib};

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use ivm::batch::{self, BatchInputs};
use ivm::{Config, Durability, Engine, Retention, Table, View};

/// Distinct keys of the restart part's rows.
const KEYS: u64 = 1_000_000;
/// Distinct keys of the commits part's table.
const COMMIT_KEYS: u64 = 1_000;

fn key(i: u64) -> u64 {
    (i % KEYS).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// A count-per-key view over `table`.
fn count_view(engine: &Engine, table: &Table<(u64, u64)>) -> View<(u64, isize)> {
    engine
        .view("count_per_key", {
            let table = table.clone();
            move |v| v.table(&table).map(|(k, _)| k).count()
        })
        .expect("new view")
}

fn policy(name: &str) -> Option<Durability> {
    match name {
        "memory" => None,
        "every_commit" => Some(Durability::EveryCommit),
        "group" => Some(Durability::Group),
        "buffered" => Some(Durability::Buffered),
        other => panic!("unknown policy {other}"),
    }
}

/// One commits run: `threads` threads committing one row each for `secs`.
fn commits_child(base: &Path, name: &str, threads: usize, workers: usize, secs: f64) -> String {
    let dir = tempfile::Builder::new().prefix("ivm-commits-").tempdir_in(base).expect("temp dir");
    let mut config = Config::default().with_workers(workers).with_retention(Retention::LastCommits(1_000));
    if let Some(durability) = policy(name) {
        config = config.with_storage(dir.path()).with_durability(durability);
    }
    let engine = Engine::start(config).expect("engine starts");
    let table = engine.table::<(u64, u64)>("rows").expect("new table");
    let view = count_view(&engine, &table);
    let start_line = Arc::new(Barrier::new(threads + 1));
    let stop = Arc::new(AtomicBool::new(false));
    let handles: Vec<_> = (0..threads)
        .map(|thread| {
            let (engine, table) = (engine.clone(), table.clone());
            let (start_line, stop) = (Arc::clone(&start_line), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut latencies = Vec::new();
                let mut i = thread as u64;
                start_line.wait();
                while !stop.load(Ordering::Relaxed) {
                    let row = ((i % COMMIT_KEYS).wrapping_mul(0x9E37_79B9_7F4A_7C15), i);
                    let called = Instant::now();
                    engine.commit(|tx| tx.insert(&table, row)).expect("commit");
                    latencies.push(called.elapsed());
                    i += threads as u64;
                }
                latencies
            })
        })
        .collect();
    start_line.wait();
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs_f64(secs));
    stop.store(true, Ordering::Relaxed);
    let mut latencies: Vec<Duration> =
        handles.into_iter().flat_map(|h| h.join().expect("committer")).collect();
    let window = started.elapsed().as_secs_f64();
    let caught_up = Instant::now();
    let latest = engine.latest().expect("latest");
    let counts = view.at(latest).expect("read");
    let catch_up = caught_up.elapsed().as_secs_f64();
    assert_eq!(counts.iter().map(|(row, _)| row.1 as u64).sum::<u64>(), latencies.len() as u64);
    latencies.sort_unstable();
    let q = |p: f64| latencies[((latencies.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1e6;
    let bytes = dir_size(dir.path()).0;
    format!(
        "commits={} per_s={:.0} applied_per_s={:.0} median_us={:.1} p99_us={:.1} catch_up_s={catch_up:.3} \
         log_bytes={bytes}",
        latencies.len(),
        latencies.len() as f64 / window,
        latencies.len() as f64 / (window + catch_up),
        q(0.5),
        q(0.99)
    )
}

/// The floor: `sync_data` after every 64-byte append, one thread, for `secs`.
fn fsync_child(base: &Path, secs: f64) -> String {
    let dir = tempfile::Builder::new().prefix("ivm-fsync-").tempdir_in(base).expect("temp dir");
    let mut file = std::fs::File::create(dir.path().join("log")).expect("file");
    let (record, mut syncs, mut latencies) = ([7u8; 64], 0u64, Vec::new());
    let started = Instant::now();
    while started.elapsed().as_secs_f64() < secs {
        let called = Instant::now();
        file.write_all(&record).expect("write");
        file.sync_data().expect("sync");
        latencies.push(called.elapsed());
        syncs += 1;
    }
    latencies.sort_unstable();
    let q = |p: f64| latencies[((latencies.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1e6;
    format!(
        "commits={syncs} per_s={:.0} median_us={:.1} p99_us={:.1}",
        syncs as f64 / started.elapsed().as_secs_f64(),
        q(0.5),
        q(0.99)
    )
}

/// The restart part's engine configuration.
fn stored(dir: &Path, workers: usize) -> Config {
    Config::default()
        .with_workers(workers)
        .with_storage(dir)
        .with_durability(Durability::Buffered)
        .with_retention(Retention::LastCommits(1))
        .with_checkpoint_every(u64::MAX)
}

/// The restart part's table: a streamed table (`Engine::streamed_table`) if `streamed`.
fn rows_table(engine: &Engine, streamed: bool) -> Table<(u64, u64)> {
    match streamed {
        true => engine.streamed_table("rows"),
        false => engine.table("rows"),
    }
    .expect("the table")
}

/// Loads `rows` rows into `dir` in commits of `chunk`, then checkpoints if asked.
fn load_child(dir: &Path, rows: u64, chunk: u64, checkpoint: bool, streamed: bool) -> String {
    let engine = Engine::start(stored(dir, 2)).expect("engine starts");
    let table = rows_table(&engine, streamed);
    let view = count_view(&engine, &table);
    let start = Instant::now();
    let mut t = 0;
    for first in (0..rows).step_by(chunk.max(1) as usize) {
        let last = (first + chunk).min(rows);
        t = engine.commit(|tx| tx.insert_all(&table, (first..last).map(|i| (key(i), i)))).expect("commit");
    }
    assert_eq!(view.at(t).expect("read").len() as u64, rows.min(KEYS));
    let load = start.elapsed().as_secs_f64();
    let (log_len, log_alloc) = dir_size(dir);
    let mut line = format!("load_s={load:.3} log_len={log_len} log_alloc={log_alloc}");
    if checkpoint {
        let start = Instant::now();
        let time = engine.checkpoint().expect("checkpoint");
        assert_eq!(time, Some(t), "the checkpoint is as of the last commit");
        let (len, alloc) = dir_size(dir);
        line +=
            &format!(" checkpoint_s={:.3} ckpt_len={len} ckpt_alloc={alloc}", start.elapsed().as_secs_f64());
    }
    engine.shutdown();
    line
}

/// Restarts on `dir`: start, register the table and view again, read the view at the latest time.
fn restart_child(dir: &Path, workers: usize, rows: u64, streamed: bool) -> String {
    let start = Instant::now();
    let engine = Engine::start(stored(dir, workers)).expect("engine starts");
    let started = start.elapsed().as_secs_f64();
    let table = rows_table(&engine, streamed);
    let registered = start.elapsed().as_secs_f64();
    let view = count_view(&engine, &table);
    let viewed = start.elapsed().as_secs_f64();
    let counts = view.at(engine.latest().expect("latest")).expect("read");
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(counts.len() as u64, rows.min(KEYS));
    assert_eq!(counts.iter().map(|(row, _)| row.1 as u64).sum::<u64>(), rows);
    let (table_stats, view_stats) = (table.stats().expect("stats"), view.stats().expect("stats"));
    format!(
        "secs={secs:.3} start_s={started:.3} table_s={:.3} view_s={:.3} at_s={:.3} table_updates={} \
         view_updates={}",
        registered - started,
        viewed - registered,
        secs - viewed,
        table_stats.updates,
        view_stats.updates
    )
}

/// `batch::run` of the count view over the same rows in memory.
fn batch_child(workers: usize, rows: u64) -> String {
    let engine = Engine::start(Config::default()).expect("engine starts");
    let table = engine.table::<(u64, u64)>("rows").expect("new table");
    let view = count_view(&engine, &table);
    let building = Instant::now();
    let inputs = BatchInputs::new().table(&table, (0..rows).map(|i| (key(i), i)));
    let inputs_secs = building.elapsed().as_secs_f64();
    let start = Instant::now();
    let counts = batch::run(view.definition(), &inputs, workers).expect("batch run");
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(counts.len() as u64, rows.min(KEYS));
    format!("secs={secs:.3} inputs_s={inputs_secs:.3}")
}

/// Total file length and allocated bytes of the files in `dir`.
fn dir_size(dir: &Path) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    let entries = std::fs::read_dir(dir).expect("list dir");
    entries
        .filter_map(|entry| entry.ok()?.metadata().ok())
        .filter(|meta| meta.is_file())
        .fold((0, 0), |(len, alloc), meta| (len + meta.len(), alloc + meta.blocks() * 512))
}

/// The filesystem type and mount point holding `path`, from `/proc/mounts`.
fn filesystem(path: &Path) -> String {
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    mounts
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            (fields.len() >= 4 && path.starts_with(fields[1])).then(|| (fields[1].len(), fields))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, f)| format!("{} on {} type {} ({})", f[0], f[1], f[2], f[3]))
        .unwrap_or_else(|| "unknown".into())
}

fn child(args: &[String]) {
    let arg = |i: usize| args[i].as_str();
    let line = match arg(0) {
        "commits" => commits_child(
            Path::new(arg(1)),
            arg(2),
            arg(3).parse().expect("threads"),
            arg(4).parse().expect("workers"),
            arg(5).parse().expect("secs"),
        ),
        "fsync" => fsync_child(Path::new(arg(1)), arg(2).parse().expect("secs")),
        "load" => load_child(
            Path::new(arg(1)),
            arg(2).parse().expect("rows"),
            arg(3).parse().expect("chunk"),
            arg(4).starts_with("checkpoint"),
            arg(4).ends_with("streamed"),
        ),
        "restart" => restart_child(
            Path::new(arg(1)),
            arg(2).parse().expect("workers"),
            arg(3).parse().expect("rows"),
            arg(4) == "streamed",
        ),
        "batch" => batch_child(arg(1).parse().expect("workers"), arg(2).parse().expect("rows")),
        "baseline" => String::new(),
        other => panic!("unknown child {other}"),
    };
    let (peak, now) = memory_kib();
    println!("RESULT {line} peak_kib={peak} end_kib={now}");
}

/// Settings of a whole bench run.
struct Settings {
    base: PathBuf,
    secs: f64,
    reps: usize,
    threads: Vec<usize>,
    workers: usize,
    restart_workers: Vec<usize>,
    rows: u64,
    chunk: u64,
}

fn commits_part(s: &Settings) {
    const POLICIES: [&str; 5] = ["memory", "every_commit", "group", "buffered", "fsync"];
    println!("\ncommits: {}s per run, {} worker(s), {} reps", s.secs, s.workers, s.reps);
    let mut runs: Vec<(String, usize, String)> = Vec::new();
    for rep in 0..s.reps {
        for &threads in &s.threads {
            for policy in POLICIES {
                if policy == "fsync" && threads != 1 {
                    continue;
                }
                let base = s.base.display().to_string();
                let args: Vec<String> = if policy == "fsync" {
                    vec!["fsync".into(), base, s.secs.to_string()]
                } else {
                    let (t, w) = (threads.to_string(), s.workers.to_string());
                    vec!["commits".into(), base, policy.into(), t, w, s.secs.to_string()]
                };
                let line = spawn(&args);
                println!("rep={rep} {policy} threads={threads}: {line} loadavg={}", loadavg());
                runs.push((policy.to_string(), threads, line));
            }
        }
    }
    println!("\nsummary (medians)");
    println!(
        "{:<14} {:>7} {:>12} {:>12} {:>12} {:>12} {:>12} {:>11}",
        "policy", "threads", "commits/s", "min/s", "applied/s", "median us", "p99 us", "catch-up s"
    );
    for &threads in &s.threads {
        for policy in POLICIES {
            let mine: Vec<&String> =
                runs.iter().filter(|r| r.0 == policy && r.1 == threads).map(|r| &r.2).collect();
            if mine.is_empty() {
                continue;
            }
            let all = |name: &str| mine.iter().filter_map(|l| field(l, name)).collect::<Vec<f64>>();
            println!(
                "{:<14} {:>7} {:>12.0} {:>12.0} {:>12.0} {:>12.1} {:>12.1} {:>11.3}",
                policy,
                threads,
                median(all("per_s")),
                all("per_s").into_iter().fold(f64::INFINITY, f64::min),
                median(all("applied_per_s")),
                median(all("median_us")),
                median(all("p99_us")),
                median(all("catch_up_s")),
            );
        }
    }
}

fn restart_part(s: &Settings) {
    let log_dir = tempfile::Builder::new().prefix("ivm-restart-log-").tempdir_in(&s.base).expect("temp dir");
    let ckpt_dir =
        tempfile::Builder::new().prefix("ivm-restart-ckpt-").tempdir_in(&s.base).expect("temp dir");
    let (rows, chunk) = (s.rows.to_string(), s.chunk.to_string());
    println!("\nrestart: {} rows in commits of {}, {} reps", s.rows, s.chunk, s.reps);
    let load = |dir: &Path, mode: &str| {
        spawn(&["load".into(), dir.display().to_string(), rows.clone(), chunk.clone(), mode.into()])
    };
    let log_load = load(log_dir.path(), "log");
    println!("load log: {log_load}");
    let ckpt_load = load(ckpt_dir.path(), "checkpoint");
    println!("load checkpoint: {ckpt_load}");
    let streamed_log_dir =
        tempfile::Builder::new().prefix("ivm-restart-slog-").tempdir_in(&s.base).expect("temp dir");
    let streamed_ckpt_dir =
        tempfile::Builder::new().prefix("ivm-restart-sckpt-").tempdir_in(&s.base).expect("temp dir");
    println!("load streamed log: {}", load(streamed_log_dir.path(), "log-streamed"));
    println!("load streamed checkpoint: {}", load(streamed_ckpt_dir.path(), "checkpoint-streamed"));
    let per_row = |line: &str, name: &str| field(line, name).unwrap_or(f64::NAN) / s.rows as f64;
    println!(
        "bytes on disk per row: log only {:.1} (allocated {:.1}); after checkpoint {:.1} (allocated {:.1}); \
         before the checkpoint in that directory {:.1}",
        per_row(&log_load, "log_len"),
        per_row(&log_load, "log_alloc"),
        per_row(&ckpt_load, "ckpt_len"),
        per_row(&ckpt_load, "ckpt_alloc"),
        per_row(&ckpt_load, "log_len"),
    );
    let mut runs: Vec<(String, usize, String)> = Vec::new();
    for rep in 0..s.reps {
        for &w in &s.restart_workers {
            let restart = |dir: &Path, kind: &str| -> Vec<String> {
                vec!["restart".into(), dir.display().to_string(), w.to_string(), rows.clone(), kind.into()]
            };
            let cases = [
                ("restart_log", restart(log_dir.path(), "table")),
                ("restart_ckpt", restart(ckpt_dir.path(), "table")),
                ("str_log", restart(streamed_log_dir.path(), "streamed")),
                ("str_ckpt", restart(streamed_ckpt_dir.path(), "streamed")),
                ("batch", vec!["batch".into(), w.to_string(), rows.clone()]),
            ];
            for (name, args) in cases {
                let line = spawn(&args);
                println!("rep={rep} {name}/{w}: {line} loadavg={}", loadavg());
                runs.push((name.to_string(), w, line));
            }
        }
    }
    println!("\nsummary (medians)");
    println!(
        "{:<13} {:>2} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9} {:>10}",
        "case", "w", "secs", "min s", "start s", "table s", "view s", "at s", "peak MiB", "vs batch"
    );
    for &w in &s.restart_workers {
        let secs_of = |name: &str| {
            median(
                runs.iter().filter(|r| r.0 == name && r.1 == w).filter_map(|r| field(&r.2, "secs")).collect(),
            )
        };
        let batch_secs = secs_of("batch");
        for name in ["restart_log", "restart_ckpt", "str_log", "str_ckpt", "batch"] {
            let mine: Vec<&String> = runs.iter().filter(|r| r.0 == name && r.1 == w).map(|r| &r.2).collect();
            let all = |f: &str| mine.iter().filter_map(|l| field(l, f)).collect::<Vec<f64>>();
            println!(
                "{:<13} {:>2} {:>8.3} {:>8.3} {:>8.3} {:>8.3} {:>8.3} {:>8.3} {:>9.1} {:>10.2}",
                name,
                w,
                median(all("secs")),
                all("secs").into_iter().fold(f64::INFINITY, f64::min),
                median(all("start_s")),
                median(all("table_s")),
                median(all("view_s")),
                median(all("at_s")),
                median(all("peak_kib")) / 1024.0,
                median(all("secs")) / batch_secs,
            );
        }
    }
}

fn list(name: &str, default: &[usize]) -> Vec<usize> {
    env(name)
        .map(|v| v.split(',').map(|w| w.trim().parse().expect("a comma-separated list of numbers")).collect())
        .unwrap_or_else(|| default.to_vec())
}

fn main() {
    let started = Started::now();
    if let Started::Child(args) = &started {
        child(args);
        return;
    }
    let number = |name: &str, bench: f64, smoke: f64| started.setting(name, bench, smoke);
    let settings = Settings {
        base: PathBuf::from(env("IVM_DURABLE_DIR").unwrap_or_else(|| "/tmp".into())),
        secs: number("IVM_DURABLE_SECS", 3.0, 0.02),
        reps: number("IVM_DURABLE_REPS", 3.0, 1.0) as usize,
        threads: list("IVM_DURABLE_THREADS", &[1, 8]),
        workers: number("IVM_DURABLE_WORKERS", 1.0, 1.0) as usize,
        restart_workers: list("IVM_DURABLE_WORKERS_RESTART", &[1, 2]),
        rows: number("IVM_DURABLE_ROWS", 10_000_000.0, 20_000.0) as u64,
        chunk: number("IVM_DURABLE_CHUNK", 1_000_000.0, 5_000.0) as u64,
    };
    let parts = env("IVM_DURABLE_PARTS").unwrap_or_else(|| "commits,restart".into());
    println!(
        "durable: dir {} on {}; nproc={} loadavg: {}",
        settings.base.display(),
        filesystem(&settings.base),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        loadavg()
    );
    let baseline = spawn(&["baseline".into()]);
    println!("empty child: {baseline}");
    if parts.contains("commits") {
        commits_part(&settings);
    }
    if parts.contains("restart") {
        restart_part(&settings);
    }
    println!("loadavg at end: {}", loadavg());
}
