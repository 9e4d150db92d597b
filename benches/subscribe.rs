//! Subscriptions: how soon a subscriber holds a commit's changes, and how fast it drains a big
//! change, ours against a bare differential program doing the same.
//!
//! Run (release build; about a minute on a 2-core machine, after compiling):
//!
//! ```text
//! CARGO_TARGET_DIR=/work/target-bench cargo bench -p ivm-benches --bench subscribe
//! IVM_SUB_ROUNDS=5 IVM_SUB_DRAIN_ROWS=100000 CARGO_TARGET_DIR=/work/target-bench cargo bench -p ivm-benches --bench subscribe
//! ```
//!
//! **Latency.** A `(u64, u64)` table pre-loaded with 100,000 rows over 1,000 keys and a
//! count-per-key view (as in `benches/core.rs`), retaining the last 100 commits. A subscriber
//! thread reads the view's subscription (no snapshot) and, for every batch it gets, notes
//! `Instant::now()` and the batch's `upper`. One measured operation commits one row (a seeded
//! random key) on the application thread; the latency is from `commit` returning to the
//! subscriber thread holding the batch that contains the commit's time (its `upper` passes it),
//! and, second, from `commit` being called. The application waits for that before the next
//! operation. On 2 cores the subscriber can hold the batch before `commit` has returned (the
//! application thread loses its core to the threads it woke): those samples are negative, and
//! counted as `early`. The systems, each with 1 and 2 workers:
//!
//! - `ours/w`: `Engine::commit`, and `View::subscribe_with(.. .snapshot(false))` read as an
//!   `Iterator` on its own thread.
//! - `bare/w`: a bare differential program on `w` timely workers driven like the engine (rows
//!   over a channel to one worker, the advance to every worker, workers park when idle):
//!   `map(key) -> count -> sink`. The sink sends each worker's updates and frontier over a
//!   channel to a subscriber thread, which cuts a batch once every worker's frontier passed it.
//! - `bare_same_shape/w`: the same, with the engine's shape: the input arranged (a table), the
//!   count arranged (a view), the sink on the view's arranged stream.
//!
//! Systems are interleaved in rounds: `IVM_SUB_ROUNDS` (default 20) rounds of `IVM_SUB_OPS`
//! (default 500) operations each, back to back; then `IVM_SUB_PAUSED_ROUNDS` (default 10) rounds of
//! `IVM_SUB_PAUSED_OPS` (default 60) operations with a pause of `IVM_SUB_PAUSE_US` (default 2000;
//! 0 skips the pass) before each, not timed. `IVM_SYSTEMS=ours/1,bare/1` keeps only those.
//!
//! **Drain.** One commit of `IVM_SUB_DRAIN_ROWS` (default 1,000,000) rows `(key(i), i)` into an
//! empty table whose view is `map(|(k, i)| (i, k))`, so the view changes by that many rows; the
//! subscriber (no snapshot) counts updates until it holds all of them. Timed from the start of
//! the commit (rows generated on the application thread, as the bare program does) to the
//! subscriber holding the last batch. Each run is a child process (this binary re-run with
//! `--child VARIANT WORKERS ROWS`, so peak RSS is per run); variants `ours`, `bare`,
//! `bare_same_shape` alternate, `IVM_SUB_DRAIN_REPS` (default 3) times for 1 and 2 workers.
//! `ours` also reports, in the same process afterwards: a new subscription's snapshot of the
//! now 1M-row view (time to its first batch) and `View::at` of the same time.
//!
//! `IVM_SUB_WORKERS` (default `1,2`) picks worker counts for both parts. Without `--bench`
//! (under `cargo test --benches`) it runs a small smoke pass of each part.

#[path = "baselines/subscribe.rs"]
mod bare;
#[path = "common/measure.rs"]
mod measure;
use measure::{loadavg, median, memory_kib};

use std::process::Command;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use ivm::{Config, Engine, Retention, SubscribeOptions, Table};

use bare::{Bare, Held, Shape};

/// Rows loaded into the latency table before measuring.
const PRELOAD_ROWS: u64 = 100_000;
/// Distinct keys of the latency table, and so rows in its view.
const KEYS: u64 = 1_000;
/// Commits that stay readable.
const RETAINED_COMMITS: u64 = 100;

/// A bijection on `u64` that scatters consecutive numbers.
fn mix(x: u64) -> u64 {
    x.wrapping_mul(0x9E37_79B9_7F4A_7C15)
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

/// One system under test for the latency pass.
trait Subscribed {
    fn name(&self) -> String;
    /// Commits one row and returns its time.
    fn commit(&mut self, row: (u64, u64)) -> u64;
    /// The batches the subscriber thread holds, in order.
    fn held(&self) -> &Receiver<Held>;

    /// Waits until the subscriber holds the batch containing `t`; returns when it got it.
    fn held_through(&self, t: u64) -> Instant {
        loop {
            let (upper, _, at) = self.held().recv().expect("the subscriber runs");
            if upper > t {
                return at;
            }
        }
    }
}

/// The engine, with a subscriber thread reading its view.
struct Ours {
    engine: Option<Engine>,
    table: Table<(u64, u64)>,
    workers: usize,
    held: Receiver<Held>,
    subscriber: Option<JoinHandle<()>>,
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
        let preload = (0..PRELOAD_ROWS).map(|i| (mix(i % KEYS), i));
        let t = engine.commit(|tx| tx.insert_all(&table, preload)).expect("preload commits");
        assert_eq!(view.at(t).expect("preload readable").len(), KEYS as usize);
        let subscription =
            view.subscribe_with(SubscribeOptions::default().as_of(t).snapshot(false)).expect("subscribes");
        let (held_tx, held) = crossbeam_channel::unbounded();
        let subscriber = std::thread::spawn(move || {
            for batch in subscription {
                let Ok(batch) = batch else { return };
                let now = Instant::now();
                if held_tx.send((batch.upper, batch.updates.len(), now)).is_err() {
                    return;
                }
            }
        });
        Ours { engine: Some(engine), table, workers, held, subscriber: Some(subscriber) }
    }
}

impl Subscribed for Ours {
    fn name(&self) -> String {
        format!("ours/{}", self.workers)
    }

    fn commit(&mut self, row: (u64, u64)) -> u64 {
        let engine = self.engine.as_ref().expect("running");
        engine.commit(|tx| tx.insert(&self.table, row)).expect("commit")
    }

    fn held(&self) -> &Receiver<Held> {
        &self.held
    }
}

impl Drop for Ours {
    fn drop(&mut self) {
        if let Some(engine) = self.engine.take() {
            engine.shutdown();
        }
        if let Some(subscriber) = self.subscriber.take() {
            let _ = subscriber.join();
        }
    }
}

/// The bare program with a count view, pre-loaded like ours.
struct BareCount(Bare);

impl BareCount {
    fn start(workers: usize, shape: Shape) -> Self {
        let mut bare = Bare::start(workers, shape, RETAINED_COMMITS);
        let t = bare.commit((0..PRELOAD_ROWS).map(|i| (mix(i % KEYS), i)).collect());
        let system = BareCount(bare);
        system.held_through(t);
        system
    }
}

impl Subscribed for BareCount {
    fn name(&self) -> String {
        self.0.name()
    }

    fn commit(&mut self, row: (u64, u64)) -> u64 {
        self.0.commit(vec![row])
    }

    fn held(&self) -> &Receiver<Held> {
        self.0.held()
    }
}

type System = (Box<dyn Subscribed>, Rows);

fn systems(workers: &[usize]) -> Vec<System> {
    let mut systems: Vec<System> = Vec::new();
    for &w in workers {
        systems.push((Box::new(Ours::start(w)), Rows::new()));
        for shape in [Shape::CountMinimal, Shape::CountLikeEngine] {
            systems.push((Box::new(BareCount::start(w, shape)), Rows::new()));
        }
    }
    if let Ok(only) = std::env::var("IVM_SYSTEMS") {
        systems.retain(|(system, _)| only.split(',').any(|name| system.name() == name.trim()));
    }
    systems
}

/// How one latency pass runs.
struct Pass {
    rounds: usize,
    ops: usize,
    pause: Duration,
}

/// Latency samples of one system, in µs: from `commit` returning (negative when the subscriber
/// held the batch before `commit` returned), from `commit` being called, and `commit` itself.
#[derive(Default)]
struct Samples {
    after_return: Vec<f64>,
    after_call: Vec<f64>,
    commit: Vec<f64>,
}

/// `later - earlier` in µs, negative if `later` came first.
fn signed_micros(later: Instant, earlier: Instant) -> f64 {
    match later.checked_duration_since(earlier) {
        Some(d) => d.as_secs_f64() * 1e6,
        None => -(earlier - later).as_secs_f64() * 1e6,
    }
}

/// The `p` quantile of sorted `values`.
fn quantile(values: &[f64], p: f64) -> f64 {
    values[((values.len() - 1) as f64 * p).round() as usize]
}

fn latency_pass(systems: &mut [System], pass: &Pass) {
    let Pass { rounds, ops, pause } = *pass;
    let mut samples: Vec<Samples> = systems.iter().map(|_| Samples::default()).collect();
    for _ in 0..rounds {
        for ((system, rows), samples) in systems.iter_mut().zip(&mut samples) {
            for _ in 0..ops {
                if !pause.is_zero() {
                    std::thread::sleep(pause);
                }
                let called = Instant::now();
                let t = system.commit(rows.next_row());
                let returned = Instant::now();
                let held = system.held_through(t);
                samples.after_return.push(signed_micros(held, returned));
                samples.after_call.push(signed_micros(held, called));
                samples.commit.push(signed_micros(returned, called));
            }
        }
    }
    let pause_text = if pause.is_zero() { "no pause".to_string() } else { format!("{pause:?} pause") };
    println!(
        "\nsubscribe latency, {pause_text} before each commit ({rounds} rounds x {ops} ops, interleaved); µs"
    );
    println!("loadavg after the pass: {}", loadavg());
    println!(
        "{:<20} {:>9} {:>9} {:>9} {:>9} {:>6}  {:>9} {:>9} {:>9}  {:>9}",
        "system",
        "ret:med",
        "ret:p90",
        "ret:p99",
        "ret:max",
        "early",
        "call:med",
        "call:p99",
        "call:max",
        "commit"
    );
    let mut summary = Vec::new();
    for ((system, _), samples) in systems.iter().zip(&mut samples) {
        for values in [&mut samples.after_return, &mut samples.after_call, &mut samples.commit] {
            values.sort_by(f64::total_cmp);
        }
        let (r, c) = (&samples.after_return, &samples.after_call);
        println!(
            "{:<20} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>6}  {:>9.1} {:>9.1} {:>9.1}  {:>9.1}",
            system.name(),
            quantile(r, 0.5),
            quantile(r, 0.9),
            quantile(r, 0.99),
            quantile(r, 1.0),
            r.iter().filter(|v| **v < 0.0).count(),
            quantile(c, 0.5),
            quantile(c, 0.99),
            quantile(c, 1.0),
            quantile(&samples.commit, 0.5),
        );
        let quantiles = [quantile(r, 0.5), quantile(r, 0.99), quantile(c, 0.5), quantile(c, 0.99)];
        summary.push((system.name(), quantiles));
    }
    println!("(ret: from commit returning, negative = held before it returned; early: how many)");
    for (name, ours) in &summary {
        let Some(workers) = name.strip_prefix("ours/") else { continue };
        for base in ["bare", "bare_same_shape"] {
            if let Some((_, other)) = summary.iter().find(|s| s.0 == format!("{base}/{workers}")) {
                println!(
                    "ratio {name} / {base}/{workers}: from return median {:.2}, p99 {:.2}; \
                     from call median {:.2}, p99 {:.2}",
                    ours[0] / other[0],
                    ours[1] / other[1],
                    ours[2] / other[2],
                    ours[3] / other[3]
                );
            }
        }
    }
}

/// The drain part's row `i`: 1,000,000 distinct keys, as in `bulk_load`.
fn drain_row(i: u64) -> (u64, u64) {
    (mix(i % 1_000_000), i)
}

/// One drain run in this process: prints its `RESULT` line.
fn drain_child(variant: &str, workers: usize, rows: u64) {
    let line = match variant {
        "ours" => drain_ours(workers, rows),
        "baseline" => String::new(),
        "bare" => drain_bare(workers, rows, Shape::SwapMinimal),
        "bare_same_shape" => drain_bare(workers, rows, Shape::SwapLikeEngine),
        other => panic!("unknown variant {other}"),
    };
    let (peak, now) = memory_kib();
    println!("RESULT {line} peak_kib={peak} end_kib={now}");
}

fn drain_ours(workers: usize, rows: u64) -> String {
    let engine = Engine::start(Config::default().with_workers(workers)).expect("engine starts");
    let table = engine.table::<(u64, u64)>("rows").expect("new table");
    let view = engine
        .view("swapped", {
            let table = table.clone();
            move |v| v.table(&table).map(|(k, i)| (i, k))
        })
        .expect("new view");
    let subscription = view.subscribe_with(SubscribeOptions::default().snapshot(false)).expect("subscribes");
    let (done_tx, done) = crossbeam_channel::bounded(1);
    let subscriber = std::thread::spawn(move || {
        let (mut seen, mut batches) = (0u64, 0usize);
        for batch in subscription {
            let batch = batch.expect("engine runs");
            seen += batch.updates.len() as u64;
            batches += 1;
            if seen >= rows {
                let _ = done_tx.send((Instant::now(), batches));
                return;
            }
        }
    });
    let start = Instant::now();
    let t = engine.commit(|tx| tx.insert_all(&table, (0..rows).map(drain_row))).expect("commit");
    let committed = start.elapsed();
    let (held, batches) = done.recv().expect("the subscriber finishes");
    let elapsed = held - start;
    subscriber.join().expect("subscriber thread");

    let snapshot_start = Instant::now();
    let mut snapshot = view.subscribe_with(SubscribeOptions::default().as_of(t)).expect("subscribes");
    let first = snapshot.next().expect("a snapshot").expect("engine runs");
    let snapshot_secs = snapshot_start.elapsed().as_secs_f64();
    assert_eq!(first.updates.len() as u64, rows);
    drop(snapshot);
    let at_start = Instant::now();
    let all = view.at(t).expect("read");
    let at_secs = at_start.elapsed().as_secs_f64();
    assert_eq!(all.len() as u64, rows);
    format!(
        "secs={:.4} commit_returned_s={:.4} batches={batches} snapshot_s={snapshot_secs:.4} at_s={at_secs:.4}",
        elapsed.as_secs_f64(),
        committed.as_secs_f64()
    )
}

fn drain_bare(workers: usize, rows: u64, shape: Shape) -> String {
    let mut bare = Bare::start(workers, shape, u64::MAX);
    let start = Instant::now();
    let t = bare.commit((0..rows).map(drain_row).collect());
    let committed = start.elapsed();
    let (mut seen, mut batches) = (0u64, 0usize);
    let held = loop {
        let (upper, updates, at) = bare.held().recv().expect("the subscriber runs");
        seen += updates as u64;
        batches += 1;
        if upper > t {
            break at;
        }
    };
    assert_eq!(seen, rows);
    format!(
        "secs={:.4} commit_returned_s={:.4} batches={batches}",
        (held - start).as_secs_f64(),
        committed.as_secs_f64()
    )
}

/// One finished drain run.
struct Run {
    variant: String,
    workers: usize,
    line: String,
}

impl Run {
    fn field(&self, name: &str) -> Option<f64> {
        self.line.split_whitespace().find_map(|t| t.strip_prefix(name)?.strip_prefix('=')?.parse().ok())
    }
}

fn spawn(variant: &str, workers: usize, rows: u64) -> Run {
    let exe = std::env::current_exe().expect("own path");
    let output = Command::new(exe)
        .args(["--child", variant, &workers.to_string(), &rows.to_string()])
        .output()
        .expect("child runs");
    assert!(
        output.status.success(),
        "{variant}/{workers} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().find(|l| l.starts_with("RESULT")).expect("child prints RESULT").to_string();
    Run { variant: variant.to_string(), workers, line }
}

fn drain_pass(workers: &[usize], rows: u64, reps: usize) {
    const VARIANTS: [&str; 3] = ["ours", "bare", "bare_same_shape"];
    let baseline_kib = spawn("baseline", 1, rows).field("end_kib").unwrap_or(0.0);
    println!("\nsubscribe drain: one commit of {rows} rows, view changes by {rows} rows; {reps} reps");
    let mut runs = Vec::new();
    for rep in 0..reps {
        for &w in workers {
            for variant in VARIANTS {
                let run = spawn(variant, w, rows);
                println!("rep={rep} {variant}/{w}: {} loadavg={}", run.line, load3());
                runs.push(run);
            }
        }
    }
    println!("\nsummary (medians; baseline child RSS {baseline_kib} KiB)");
    println!(
        "{:<18} {:>2} {:>8} {:>13} {:>8} {:>8} {:>10} {:>9} {:>11} {:>8}",
        "variant", "w", "secs", "updates/s", "min s", "max s", "commit s", "peak MiB", "snapshot s", "at s"
    );
    for &w in workers {
        let mut medians = Vec::new();
        for variant in VARIANTS {
            let mine: Vec<&Run> = runs.iter().filter(|r| r.variant == variant && r.workers == w).collect();
            let all = |name: &str| mine.iter().filter_map(|r| r.field(name)).collect::<Vec<f64>>();
            let secs = all("secs");
            let m = median(secs.clone());
            println!(
                "{:<18} {:>2} {:>8.3} {:>13.0} {:>8.3} {:>8.3} {:>10.3} {:>9.1} {:>11.3} {:>8.3}",
                variant,
                w,
                m,
                rows as f64 / m,
                secs.iter().copied().fold(f64::INFINITY, f64::min),
                secs.iter().copied().fold(0.0, f64::max),
                median(all("commit_returned_s")),
                median(all("peak_kib")) / 1024.0,
                median(all("snapshot_s")),
                median(all("at_s")),
            );
            medians.push((variant, m));
        }
        for (variant, m) in &medians[1..] {
            println!("   w={w} throughput ratio ours/{variant}: {:.2}", m / medians[0].1);
        }
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn load3() -> String {
    loadavg().split_whitespace().take(3).collect::<Vec<_>>().join("/")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child") {
        let workers = args[3].parse().expect("workers");
        let rows = args[4].parse().expect("rows");
        drain_child(&args[2], workers, rows);
        return;
    }
    let benchmarking = args.iter().any(|a| a == "--bench");
    let workers: Vec<usize> = std::env::var("IVM_SUB_WORKERS")
        .map(|v| v.split(',').map(|w| w.trim().parse().expect("IVM_SUB_WORKERS: 1,2")).collect())
        .unwrap_or_else(|_| vec![1, 2]);
    println!(
        "subscribe: workers={workers:?} nproc={} loadavg: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        loadavg()
    );
    let scale =
        |name: &str, bench: usize, smoke: usize| env_usize(name, if benchmarking { bench } else { smoke });
    let mut systems = systems(&workers);
    let back_to_back = Pass {
        rounds: scale("IVM_SUB_ROUNDS", 20, 1),
        ops: scale("IVM_SUB_OPS", 500, 20),
        pause: Duration::ZERO,
    };
    latency_pass(&mut systems, &back_to_back);
    let pause_us = scale("IVM_SUB_PAUSE_US", 2_000, 0);
    if pause_us > 0 {
        let paused = Pass {
            rounds: scale("IVM_SUB_PAUSED_ROUNDS", 10, 1),
            ops: scale("IVM_SUB_PAUSED_OPS", 60, 5),
            pause: Duration::from_micros(pause_us as u64),
        };
        latency_pass(&mut systems, &paused);
    }
    drop(systems);
    let rows = scale("IVM_SUB_DRAIN_ROWS", 1_000_000, 20_000) as u64;
    let reps = scale("IVM_SUB_DRAIN_REPS", 3, 1);
    drain_pass(&workers, rows, reps);
    println!("loadavg at end: {}", loadavg());
}
