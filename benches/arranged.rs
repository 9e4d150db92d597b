//! Operators of `ivm::ops` given a keyed table's own arrangement, against the same operators
//! given its rows (issue 15, "views read what is already arranged, without copying").
//!
//! Run (release build; about a minute after compiling):
//!
//! ```text
//! CARGO_TARGET_DIR=/work/target-bench cargo bench -p ivm-benches --bench arranged
//! IVM_ARRANGED_KEYS=1000000 IVM_ARRANGED_REPS=5 CARGO_TARGET_DIR=/work/target-bench cargo bench -p ivm-benches --bench arranged
//! ```
//!
//! **Setup.** A keyed table `customers: u64 -> String` of `IVM_ARRANGED_KEYS` rows (default
//! 2,000,000; names of 20 to 29 bytes) and a table `vips: u64` of 1,000 of its keys, loaded in
//! one commit, 1 worker, the last 10 commits retained. Then one view is made over them, the
//! VIP customers with their names, `customers.semi_join(vips)`:
//!
//! - `arranged`: `v.keyed_table_arranged(&customers).semi_join(..)`, the table's own trace;
//! - `rows`: `v.keyed_table(&customers).semi_join(..)`, its rows copied into the view and
//!   arranged there again.
//!
//! Measured per case, each in a child process (this binary re-run with `--child ...`),
//! alternating `IVM_ARRANGED_REPS` times (default 3): the view's **backfill** (from the call
//! that makes it until `at(t)` returns its 1,000 rows), the **memory** the view added (resident
//! set after the backfill minus before the view), and **updates**: 200
//! commits of 1,000 upserts of random customers each (names change length), with `at` of the
//! last, as upserted rows per second. Then medians and the ratios `arranged / rows`.
//!
//! Without `--bench` (under `cargo test --benches`) it runs one small smoke round.

#[path = "common/child.rs"]
mod child;
#[path = "common/measure.rs"]
mod measure;
use child::{Started, field, spawn};
use measure::{loadavg, median, memory_kib};

use std::time::Instant;

use ivm::ops::SemiJoin;
use ivm::{Config, Engine, Retention};

/// Commits of the update phase, and upserts in each.
const UPDATE_COMMITS: u64 = 200;
const UPSERTS: u64 = 1_000;
/// Keys of the VIP table.
const VIPS: u64 = 1_000;

/// A fixed bijective mix of `i`, so that keys are spread and the data is the same every run.
fn mix(i: u64) -> u64 {
    let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 29;
    x
}

/// The name of customer `i` in version `version`: 20 to 29 bytes.
fn name(i: u64, version: u64) -> String {
    format!("customer-{i:08}-{}", "v".repeat(((i + version) % 10) as usize + 3))
}

/// One case in this process: prints its `RESULT` line.
fn child(args: &[String]) {
    let case = args[0].as_str();
    let keys: u64 = args[1].parse().expect("keys");
    let engine = Engine::start(Config::default().with_workers(1).with_retention(Retention::LastCommits(10)))
        .expect("engine");
    let customers = engine.keyed_table::<u64, String>("customers").expect("table");
    let vips = engine.table::<u64>("vips").expect("table");
    engine
        .commit(|tx| {
            for i in 0..keys {
                tx.upsert(&customers, mix(i), name(i, 0));
            }
            tx.insert_all(&vips, (0..VIPS.min(keys)).map(|i| mix(i * (keys / VIPS.min(keys)).max(1))));
        })
        .expect("load");
    // Until the table is arranged, so that the baseline holds it.
    let loaded = engine.latest().expect("latest");
    customers.at(loaded).expect("table read");
    let (_, before_kib) = memory_kib();
    let started = Instant::now();
    let view = {
        let (customers, vips) = (customers.clone(), vips.clone());
        match case {
            "arranged" => engine
                .view("vip_names", move |v| v.keyed_table_arranged(&customers).semi_join(v.table(&vips))),
            _ => engine.view("vip_names", move |v| v.keyed_table(&customers).semi_join(v.table(&vips))),
        }
        .expect("view")
    };
    let rows = view.at(loaded).expect("view read").len();
    let backfill = started.elapsed().as_secs_f64();
    let (_, after_kib) = memory_kib();
    let started = Instant::now();
    let mut last = loaded;
    for commit in 0..UPDATE_COMMITS {
        last = engine
            .commit(|tx| {
                for n in 0..UPSERTS {
                    let i = mix(commit * UPSERTS + n) % keys;
                    tx.upsert(&customers, mix(i), name(i, commit + 1));
                }
            })
            .expect("update");
    }
    view.at(last).expect("view read");
    let updates = (UPDATE_COMMITS * UPSERTS) as f64 / started.elapsed().as_secs_f64();
    println!(
        "RESULT rows={rows} backfill_s={backfill:.3} before_kib={before_kib} added_kib={} upserts_per_s={updates:.0}",
        after_kib.saturating_sub(before_kib),
    );
}

fn main() {
    let started = Started::now();
    if let Started::Child(args) = &started {
        child(args);
        return;
    }
    let keys = started.setting("IVM_ARRANGED_KEYS", 2_000_000.0, 20_000.0) as u64;
    let reps = started.setting("IVM_ARRANGED_REPS", 3.0, 1.0) as u64;
    println!("arranged: {keys} customers, {reps} rep(s), 1 worker; loadavg: {}", loadavg());
    let cases = ["arranged", "rows"];
    let mut runs: Vec<(&str, String)> = Vec::new();
    for rep in 0..reps {
        for case in cases {
            let line = spawn(&[case.to_string(), keys.to_string()]);
            println!("rep={rep} {case}: {line} loadavg={}", loadavg());
            runs.push((case, line));
        }
    }
    let all = |case: &str, name: &str| -> f64 {
        median(runs.iter().filter(|r| r.0 == case).filter_map(|r| field(&r.1, name)).collect())
    };
    println!("\nsummary (medians)");
    println!(
        "{:<9} {:>11} {:>15} {:>15} {:>13}",
        "case", "backfill s", "before MiB", "view adds MiB", "upserts/s"
    );
    for case in cases {
        println!(
            "{:<9} {:>11.3} {:>15.1} {:>15.1} {:>13.0}",
            case,
            all(case, "backfill_s"),
            all(case, "before_kib") / 1024.0,
            all(case, "added_kib") / 1024.0,
            all(case, "upserts_per_s"),
        );
    }
    let ratio = |name: &str| all("arranged", name) / all("rows", name);
    println!(
        "\narranged / rows: backfill {:.3}, memory added {:.3}, upserts/s {:.3}",
        ratio("backfill_s"),
        ratio("added_kib"),
        ratio("upserts_per_s")
    );
    println!("loadavg at end: {}", loadavg());
}
