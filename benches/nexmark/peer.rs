//! A peer's published figures, and the targets the issue sets against them: 2 vCPU, 1 worker,
//! 10M events, 40,000-event transactions, in-memory state.

/// Throughput to beat by [`THROUGHPUT_FACTOR`], events/s per core.
const THROUGHPUT: [(&str, f64); 6] =
    [("q0", 893e3), ("q3", 827e3), ("q4", 540e3), ("q9", 181e3), ("q17", 311e3), ("q20", 347e3)];

/// Peak memory to stay under by [`MEMORY_FACTOR`], GiB.
const MEMORY_GIB: [(&str, f64); 4] = [("q4", 0.85), ("q9", 4.2), ("q17", 1.9), ("q20", 3.65)];

/// Our throughput must be at least this times the peer's.
pub const THROUGHPUT_FACTOR: f64 = 1.5;
/// Our peak memory must be at most this times the peer's.
pub const MEMORY_FACTOR: f64 = 0.7;
/// Our live throughput must be at least 1 / this of bare differential's.
pub const BARE_FACTOR: f64 = 1.15;
/// One small transaction must be at least this many times faster than one full recompute.
pub const SPEEDUP: f64 = 200.0;

/// The peer's throughput on `query`, events/s per core.
pub fn throughput(query: &str) -> Option<f64> {
    THROUGHPUT.iter().find(|(q, _)| *q == query).map(|(_, v)| *v)
}

/// The peer's peak memory on `query`, MiB.
pub fn memory_mib(query: &str) -> Option<f64> {
    MEMORY_GIB.iter().find(|(q, _)| *q == query).map(|(_, v)| v * 1024.0)
}
