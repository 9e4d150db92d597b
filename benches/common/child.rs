//! Benches that measure each case in a child process of their own (this binary re-run with
//! `--child ...`), which prints one `RESULT key=value ...` line.
#![allow(dead_code)]

use std::process::Command;

/// How a bench binary that measures in child processes was started.
pub enum Started {
    /// As a child (`--child args...`): measure the case `args` names.
    Child(Vec<String>),
    /// By `cargo bench` (`--bench`): the full run, with each setting's bench value.
    Bench,
    /// By `cargo test --benches`: a smoke run, with each setting's smoke value.
    Smoke,
}

impl Started {
    /// This process's start, from its arguments.
    pub fn now() -> Started {
        let args: Vec<String> = std::env::args().collect();
        match args.get(1).map(String::as_str) {
            Some("--child") => Started::Child(args[2..].to_vec()),
            _ if args.iter().any(|a| a == "--bench") => Started::Bench,
            _ => Started::Smoke,
        }
    }

    /// The number in the environment variable `name`, or else `bench` in a full run and
    /// `smoke` in a smoke run.
    pub fn setting(&self, name: &str, bench: f64, smoke: f64) -> f64 {
        let default = if matches!(self, Started::Bench) { bench } else { smoke };
        std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
    }
}

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
