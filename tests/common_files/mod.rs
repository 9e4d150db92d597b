//! What the file tests share: a row type with every kind of column the tests need, random
//! histories of it, and rows as canonical JSON, the form in which Rust rows and the rows
//! DuckDB and Polars return are compared.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

use serde::{Deserialize, Serialize};

pub use crate::common_ops::Rng;

/// An order: an unsigned id, text, a signed amount, and an optional note (nulls).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Order {
    pub id: u64,
    pub shop: String,
    pub cents: i64,
    pub note: Option<String>,
}

/// A shop's totals: the value of a keyed view keyed by shop.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Totals {
    pub orders: i64,
    pub cents: i64,
}

pub const SHOPS: [&str; 4] = ["Lyon", "Oslo", "Porto", "Riga"];

/// A random order with an id below `ids`, from few values, so that a bag often holds a row
/// more than once.
pub fn order(random: &mut Rng, ids: u64) -> Order {
    let id = random.below(ids);
    Order {
        id,
        shop: SHOPS[random.below(SHOPS.len() as u64) as usize].to_string(),
        cents: (random.below(20) as i64 - 5) * 100,
        note: if random.chance(30) { None } else { Some(format!("n{}", random.below(5))) },
    }
}

/// `value` as compact JSON with sorted keys: equal rows give equal strings on both sides.
pub fn canonical(value: &impl Serialize) -> String {
    // serde_json's maps are sorted by key (no `preserve_order`).
    let value = serde_json::to_value(value).unwrap();
    serde_json::to_string(&value).unwrap()
}

/// A keyed row `(key, value)` as the flattened record the files hold: `key` and the value's
/// fields.
pub fn flattened(key: &str, totals: &Totals) -> String {
    let mut record = serde_json::to_value(totals).unwrap();
    record.as_object_mut().unwrap().insert("key".into(), key.into());
    serde_json::to_string(&record).unwrap()
}

/// Runs a Python script with `args` and returns what it printed. Fails (never skips) if
/// Python or the `duckdb` and `polars` packages are missing: `.ci/run` installs them.
pub fn python(script: &str, args: &[&Path]) -> String {
    let output = Command::new("python3")
        .arg("-c")
        .arg(format!("import sys, json\nimport duckdb, polars as pl\n{script}"))
        .args(args)
        .output()
        .expect("python3 is needed for the file tests (pip install duckdb polars)");
    assert!(
        output.status.success(),
        "the Python reader failed (are duckdb and polars installed? pip install duckdb polars):\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}
