//! A flood of writers against one engine, with and without the bound on accepted, unapplied
//! work (issue 16, `Config::with_backlog`).
//!
//! Run (release build; about 2 × `IVM_FLOOD_SECS` plus the catch-up per repetition):
//!
//! ```text
//! CARGO_TARGET_DIR=/work/target-bench cargo bench -p ivm-benches --bench flood
//! IVM_FLOOD_SECS=10 IVM_FLOOD_REPS=3 CARGO_TARGET_DIR=/work/target-bench cargo bench -p ivm-benches --bench flood
//! ```
//!
//! **Setup.** A keyed table `u64 -> u64` over 10,000 keys, a view counting its keys per bucket
//! (`key % 100`), the last 1,000 commits retained, `IVM_FLOOD_WORKERS` workers (default 1), no
//! storage. `IVM_FLOOD_THREADS` threads (default 8) each upsert one row per transaction, as fast
//! as they can, for `IVM_FLOOD_SECS` seconds (default 30). One slow subscriber follows the view:
//! it takes one batch (everything complete since its last take), then sleeps 10 ms. The table
//! and the view stay the same size however long the flood runs, so memory that grows is work
//! waiting to be applied.
//!
//! Two cases, each in a child process (this binary re-run with `--child ...`), alternating
//! `IVM_FLOOD_REPS` times (default 1): `bounded` (the default `BacklogLimit`) and `unbounded`
//! (`Config::without_backlog_limit`). Reported per case: commits accepted per second in the
//! window; applied per second (commits over the window plus the catch-up: the time after the
//! window until the view is complete through the last commit); commit latency p50, p99 and
//! p99.9 (from a uniform sample of 65,536 latencies per writer);
//! resident memory sampled every 100 ms: at 5 s, the largest after 5 s, and their ratio
//! (the issue asks ≤ 1.2 bounded); peak. Then the bounded case's applied rate over the
//! unbounded one's (the issue asks ≥ 0.9).
//!
//! The unbounded flood grows by gigabytes: a child stops its writers early when its resident
//! memory passes `IVM_FLOOD_RSS_CAP_MIB` (default 6,144) and says so (`capped_at_s`).
//!
//! Without `--bench` (under `cargo test --benches`) it runs a half-second smoke pass.

#[path = "common/child.rs"]
mod child;
#[path = "common/measure.rs"]
mod measure;
use child::{Started, field, spawn};
use measure::{loadavg, median, memory_kib};

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use ivm::{Config, Engine, Retention};

/// Distinct keys of the table.
const KEYS: u64 = 10_000;
/// When the memory the bound must hold is first measured.
const SETTLED: Duration = Duration::from_secs(5);

/// A uniform sample of a writer's commit latencies, in memory fixed before the flood starts
/// (recording every latency would grow the process by 16 bytes a commit, the very growth the
/// bench watches).
struct Reservoir {
    sample: Vec<Duration>,
    seen: u64,
    state: u64,
}

impl Reservoir {
    const SIZE: usize = 1 << 16;

    fn new(seed: u64) -> Self {
        Reservoir { sample: Vec::with_capacity(Self::SIZE), seen: 0, state: seed.wrapping_mul(2) + 1 }
    }

    fn record(&mut self, latency: Duration) {
        self.seen += 1;
        if self.sample.len() < Self::SIZE {
            self.sample.push(latency);
            return;
        }
        // xorshift64: which earlier sample, if any, this one replaces.
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        let slot = self.state % self.seen;
        if (slot as usize) < Self::SIZE {
            self.sample[slot as usize] = latency;
        }
    }
}

/// One flood: `threads` writers for `secs` seconds, with or without the bound.
fn flood_child(case: &str, threads: usize, workers: usize, secs: f64, cap_kib: u64) -> String {
    let mut config = Config::default().with_workers(workers).with_retention(Retention::LastCommits(1_000));
    if case == "unbounded" {
        config = config.without_backlog_limit();
    }
    let engine = Engine::start(config).expect("engine starts");
    let table = engine.keyed_table::<u64, u64>("rows").expect("new table");
    let view = engine
        .view("buckets", {
            let table = table.clone();
            move |v| v.keyed_table(&table).map(|(key, _)| key % 100).count()
        })
        .expect("new view");
    let stop = Arc::new(AtomicBool::new(false));
    let start_line = Arc::new(Barrier::new(threads + 2));
    let subscriber = {
        let (view, stop, start_line) = (view.clone(), Arc::clone(&stop), Arc::clone(&start_line));
        std::thread::spawn(move || {
            let mut subscription = view.subscribe().expect("subscribe");
            let mut taken = 0usize;
            start_line.wait();
            while !stop.load(Ordering::Relaxed) {
                if let Some(batch) = subscription.try_next().expect("subscription") {
                    taken += batch.updates.len();
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            taken
        })
    };
    let writers: Vec<_> = (0..threads)
        .map(|thread| {
            let (engine, table) = (engine.clone(), table.clone());
            let (start_line, stop) = (Arc::clone(&start_line), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut latencies = Reservoir::new(thread as u64);
                let mut i = thread as u64;
                start_line.wait();
                while !stop.load(Ordering::Relaxed) {
                    let called = Instant::now();
                    engine.commit(|tx| tx.upsert(&table, i % KEYS, i)).expect("commit");
                    latencies.record(called.elapsed());
                    i += threads as u64;
                }
                latencies
            })
        })
        .collect();
    start_line.wait();
    let started = Instant::now();
    let (mut at_settled, mut after_settled, mut capped_at) = (0u64, 0u64, None);
    while started.elapsed().as_secs_f64() < secs {
        std::thread::sleep(Duration::from_millis(100));
        let rss = memory_kib().1;
        if started.elapsed() < SETTLED {
            at_settled = rss;
        } else {
            after_settled = after_settled.max(rss);
        }
        if rss > cap_kib {
            capped_at = Some(started.elapsed().as_secs_f64());
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let reservoirs: Vec<Reservoir> = writers.into_iter().map(|w| w.join().expect("writer")).collect();
    let commits: u64 = reservoirs.iter().map(|r| r.seen).sum();
    let mut latencies: Vec<Duration> = reservoirs.into_iter().flat_map(|r| r.sample).collect();
    let window = started.elapsed().as_secs_f64();
    let taken = subscriber.join().expect("subscriber");
    let caught_up = Instant::now();
    let latest = engine.latest().expect("latest");
    let buckets = view.at(latest).expect("read");
    let catch_up = caught_up.elapsed().as_secs_f64();
    assert_eq!(buckets.len(), 100, "every bucket holds keys");
    assert_eq!(latest, commits, "one time per commit");
    latencies.sort_unstable();
    let q = |p: f64| latencies[((latencies.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1e6;
    format!(
        "commits={} per_s={:.0} applied_per_s={:.0} p50_us={:.1} p99_us={:.1} p999_us={:.1} catch_up_s={catch_up:.3} \
         rss5_kib={at_settled} rss_after_kib={after_settled} growth={:.3} capped_at_s={} taken={taken}",
        commits,
        commits as f64 / window,
        commits as f64 / (window + catch_up),
        q(0.5),
        q(0.99),
        q(0.999),
        if at_settled > 0 { after_settled as f64 / at_settled as f64 } else { f64::NAN },
        capped_at.map_or("-".to_string(), |at: f64| format!("{at:.1}")),
    )
}

fn child(args: &[String]) {
    let arg = |i: usize| args.get(i).map(String::as_str).expect("child argument");
    let line = flood_child(
        arg(0),
        arg(1).parse().expect("threads"),
        arg(2).parse().expect("workers"),
        arg(3).parse().expect("secs"),
        arg(4).parse().expect("cap"),
    );
    let (peak, now) = memory_kib();
    println!("RESULT {line} peak_kib={peak} end_kib={now}");
}

fn main() {
    let started = Started::now();
    if let Started::Child(args) = &started {
        child(args);
        return;
    }
    let number = |name: &str, bench: f64, smoke: f64| started.setting(name, bench, smoke);
    let secs = number("IVM_FLOOD_SECS", 30.0, 0.5);
    let reps = number("IVM_FLOOD_REPS", 1.0, 1.0) as usize;
    let threads = number("IVM_FLOOD_THREADS", 8.0, 2.0) as usize;
    let workers = number("IVM_FLOOD_WORKERS", 1.0, 1.0) as usize;
    let cap_kib = (number("IVM_FLOOD_RSS_CAP_MIB", 6_144.0, 6_144.0) * 1024.0) as u64;
    println!(
        "flood: {threads} writers, {workers} worker(s), {secs} s, {reps} rep(s); nproc={} loadavg: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        loadavg()
    );
    let mut runs: Vec<(&str, String)> = Vec::new();
    for rep in 0..reps {
        for case in ["bounded", "unbounded"] {
            let args =
                [case, &threads.to_string(), &workers.to_string(), &secs.to_string(), &cap_kib.to_string()];
            let line = spawn(&args.map(String::from));
            println!("rep={rep} {case}: {line} loadavg={}", loadavg());
            runs.push((case, line));
        }
    }
    println!("\nsummary (medians)");
    println!(
        "{:<10} {:>11} {:>11} {:>9} {:>9} {:>9} {:>10} {:>10} {:>10} {:>7} {:>10} {:>8}",
        "case",
        "commits/s",
        "applied/s",
        "p50 us",
        "p99 us",
        "p99.9 us",
        "catch-up s",
        "RSS@5s MiB",
        "max>5s MiB",
        "growth",
        "peak MiB",
        "capped"
    );
    let mut applied = Vec::new();
    for case in ["bounded", "unbounded"] {
        let all =
            |name: &str| runs.iter().filter(|r| r.0 == case).filter_map(|r| field(&r.1, name)).collect();
        let capped: Vec<String> = runs
            .iter()
            .filter(|r| r.0 == case)
            .filter_map(|r| {
                r.1.split_whitespace().find_map(|t| t.strip_prefix("capped_at_s=")).map(String::from)
            })
            .collect();
        let rate = median(all("applied_per_s"));
        applied.push(rate);
        println!(
            "{:<10} {:>11.0} {:>11.0} {:>9.1} {:>9.1} {:>9.1} {:>10.3} {:>10.0} {:>10.0} {:>7.3} {:>10.0} {:>8}",
            case,
            median(all("per_s")),
            rate,
            median(all("p50_us")),
            median(all("p99_us")),
            median(all("p999_us")),
            median(all("catch_up_s")),
            median(all("rss5_kib")) / 1024.0,
            median(all("rss_after_kib")) / 1024.0,
            median(all("growth")),
            median(all("peak_kib")) / 1024.0,
            capped.join(","),
        );
    }
    println!("\nbounded applied/s over unbounded applied/s: {:.3}", applied[0] / applied[1]);
    println!("loadavg at end: {}", loadavg());
}
