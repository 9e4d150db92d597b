//! The size of a table's or view's arrangement, as every worker reports it.

/// Size of a trace shard, for introspection and tests of compaction.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TraceStats {
    /// Batches held by the trace.
    pub batches: usize,
    /// Updates `(row, time, diff)` held across those batches.
    pub updates: usize,
    /// Subscriptions the view feeds (registered or waiting to be), on the busiest worker.
    pub subscribers: usize,
    /// Reads waiting for the source to be complete through their time, summed over workers.
    /// Each holds the source's compaction back at its time until it is answered or given up
    /// (a timeout, or a dropped `at_async` future).
    pub reads: usize,
}

impl std::ops::Add for TraceStats {
    type Output = TraceStats;
    fn add(self, other: TraceStats) -> TraceStats {
        TraceStats {
            batches: self.batches + other.batches,
            updates: self.updates + other.updates,
            subscribers: self.subscribers.max(other.subscribers),
            reads: self.reads + other.reads,
        }
    }
}
