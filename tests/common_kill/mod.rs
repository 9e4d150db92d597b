//! What the tests that start a copy of their binary share: the SIGKILL tests (`crash.rs`,
//! `consumer_crash.rs`) run an ignored test of this binary as a child process that reports
//! numbers on its stdout, kill it at a random moment after its first report, and take what it
//! reported; every such test (`cluster.rs` and `engine.rs` too) names the child's test.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Runs the test `test` (its full name in this binary) as a child with `variable` set to
/// `dir`, and kills it (SIGKILL) at a random moment, up to `most` after its first report: a
/// line ending in `marker` and a number. Returns every number it reported, in order. Fails if
/// nothing is reported within two minutes. `seed` is moved on, so each call pauses anew.
pub fn run_and_kill(
    test: &str,
    variable: &str,
    dir: &Path,
    marker: &str,
    most: Duration,
    seed: &mut u64,
) -> Vec<u64> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .env(variable, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The harness's own lines ("running 1 test", "test ... ") come first and share a line with
    // the first report; the last line may be cut by the kill.
    let stdout = child.stdout.take().unwrap();
    let (reports, reported) = std::sync::mpsc::channel();
    let marker = marker.to_string();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(n) = line.rsplit_once(&marker).and_then(|(_, n)| n.parse::<u64>().ok()) {
                let _ = reports.send(n);
            }
        }
    });
    let first = reported.recv_timeout(Duration::from_secs(120));
    if first.is_err() {
        let _ = child.kill();
    }
    assert!(first.is_ok(), "{test}: the child reported nothing within 120 s");
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    std::thread::sleep(Duration::from_millis(*seed % (most.as_millis() as u64).max(1)));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    reader.join().unwrap();
    first.into_iter().chain(reported.try_iter()).collect()
}

/// The name the test harness knows `test`, a test of the file `module_path` names, by: the
/// file is a module of `tests/suite.rs` (`suite::crash` names `crash::test`); a file built as
/// a binary of its own (its module path is the crate's name) names it alone.
pub fn test_name(module_path: &str, test: &str) -> String {
    match module_path.split_once("::") {
        Some((_, module)) => format!("{module}::{test}"),
        None => test.to_string(),
    }
}
