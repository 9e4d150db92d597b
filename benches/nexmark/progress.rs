//! A progress bar on stderr: runs done out of all, the elapsed time, and what runs now.

use std::io::Write;
use std::time::Instant;

/// Width of the bar in characters.
const WIDTH: usize = 30;

/// The bar over `total` runs.
pub struct Progress {
    total: usize,
    done: usize,
    started: Instant,
}

impl Progress {
    /// A bar at 0 of `total`.
    pub fn new(total: usize) -> Self {
        Progress { total, done: 0, started: Instant::now() }
    }

    /// Shows that `what` is running now.
    pub fn running(&self, what: &str) {
        let filled = (self.done * WIDTH).checked_div(self.total).unwrap_or(WIDTH);
        let elapsed = self.started.elapsed().as_secs();
        let line = format!(
            "\r[{}{}] {}/{} {:02}:{:02}:{:02} {what}",
            "#".repeat(filled),
            "-".repeat(WIDTH - filled),
            self.done,
            self.total,
            elapsed / 3600,
            elapsed / 60 % 60,
            elapsed % 60,
        );
        let mut stderr = std::io::stderr().lock();
        let _ = write!(stderr, "{line:<100}");
        let _ = stderr.flush();
    }

    /// Counts one run as done.
    pub fn finished_one(&mut self) {
        self.done += 1;
    }

    /// Prints `message` on its own line, above the bar.
    pub fn note(&self, message: &str) {
        eprintln!("\r{:<100}\r{message}", "");
    }

    /// Ends the bar's line.
    pub fn close(&self) {
        self.running("done");
        eprintln!();
    }
}
