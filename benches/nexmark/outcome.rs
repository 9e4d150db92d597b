//! What one run of one query on one system measured: the line a child process prints for the
//! parent, and a row of the JSON report.

use serde::{Deserialize, Serialize};

use crate::answer::Answer;

/// The prefix of the line a child prints its outcome on (as JSON).
pub const LINE_PREFIX: &str = "NEXMARK-OUTCOME ";

/// The measurements of one (query, system, workers) run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Outcome {
    pub query: String,
    /// `live`, `bare`, `batch`, `recompute` or `duckdb`.
    pub mode: String,
    pub workers: usize,
    pub events: u64,
    /// Events per transaction (live, bare and recompute).
    pub batch: u64,
    pub transactions: u64,
    /// Wall seconds of the timed part: from the first transaction until the result is caught
    /// up with the last (live, bare), the one-shot run (batch), or the final recompute.
    pub seconds: f64,
    /// CPU seconds of the whole process (every thread) over the timed part.
    pub cpu_seconds: f64,
    /// Of `cpu_seconds`, the kernel's (live, sql, streamed and bare): mostly page faults,
    /// which on a VM whose host takes freed memory back vary from one run to the next by
    /// more than the engine's own work does (BENCHMARKS.md §7).
    #[serde(default)]
    pub kernel_seconds: f64,
    /// Peak resident memory over the run, less what the harness held before the system
    /// started (the generated events), in MiB.
    pub peak_mib: f64,
    /// Resident memory of the generated events the harness holds, in MiB.
    pub input_mib: f64,
    /// Commit-call-to-subscriber latency over transactions (live), µs.
    pub latency_p50_us: Option<f64>,
    pub latency_p99_us: Option<f64>,
    /// The result (live: the view read at the last commit).
    pub answer: Answer,
    /// Further readings of the result in the same process (live: the summed subscription).
    pub also: Vec<(String, Answer)>,
    /// The result's distinct rows.
    pub rows: u64,
    /// Whether the result's rows were written to the dump file.
    pub dumped: bool,
    /// Recompute: full recomputations done in the timed loop, and their total seconds.
    pub recomputes: u64,
    pub recompute_loop_seconds: f64,
    /// Recompute: the median seconds of one full recompute of the final state.
    pub recompute_final_seconds: Option<f64>,
    /// Live: median seconds of one small transaction (commit to subscriber) on top of the final
    /// state, and that transaction's size.
    pub tail_seconds: Option<f64>,
    pub tail_batch: Option<u64>,
    /// With `--repeat`: the wall seconds of every round, in the order run (this outcome is the
    /// round of median wall time); empty for a single run.
    #[serde(default)]
    pub rounds_seconds: Vec<f64>,
}

impl Outcome {
    /// CPU seconds of the timed part in user space: `cpu_seconds` less the kernel's.
    pub fn user_seconds(&self) -> f64 {
        self.cpu_seconds - self.kernel_seconds
    }

    /// Events per second per worker of the timed part.
    pub fn throughput_per_worker(&self) -> f64 {
        self.events as f64 / self.seconds / self.workers.max(1) as f64
    }

    /// Wall seconds per transaction of the timed part.
    pub fn seconds_per_transaction(&self) -> f64 {
        self.seconds / self.transactions.max(1) as f64
    }
}
