//! Benches that measure each case in a child process of their own (this binary re-run with
//! `--child ...`), which prints one `RESULT key=value ...` line.
#![allow(dead_code)]

use std::process::Command;

/// Runs this binary with `--child args...` and returns its `RESULT` line.
pub fn spawn(args: &[String]) -> String {
    let exe = std::env::current_exe().expect("own path");
    let output = Command::new(exe).arg("--child").args(args).output().expect("child runs");
    assert!(output.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout.lines().find(|l| l.starts_with("RESULT")).expect("child prints RESULT").to_string()
}

/// The number `name=<number>` of a `RESULT` line.
pub fn field(line: &str, name: &str) -> Option<f64> {
    line.split_whitespace().find_map(|t| t.strip_prefix(name)?.strip_prefix('=')?.parse().ok())
}
