//! Logical time and multiplicities.
//!
//! Every committed transaction gets one [`Time`]; times strictly increase. Time `0` is the empty
//! engine before any commit: it is always complete, so the first commit is at `1` or later.
//! A collection at time `t` is the sum of every update whose time is `<= t`, with rows whose
//! multiplicity ([`Diff`]) sums to zero removed.

/// A logical timestamp: a commit counter by default, or any strictly increasing `u64` the
/// application supplies (event time in milliseconds, say).
pub type Time = u64;

/// The multiplicity of a row in an update or a collection.
///
/// It is `isize` (64 bits on every platform this crate supports) because differential dataflow's
/// `count`, `distinct` and `threshold` produce `isize` multiplicities, so view definitions compose
/// without conversions.
pub type Diff = isize;
