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
/// # Why `isize`
///
/// Differential dataflow's `count`, `distinct` and `threshold` produce `isize` multiplicities,
/// and every operator of a view passes its input's multiplicity type on. With `Diff = isize`
/// a definition such as `v.table(&t).map(..).count()` is valid as written, and tables, views,
/// reads, subscriptions and batch runs all use one type, with no conversion inside the engine.
/// `isize` is 64 bits on the platforms this crate is built for (64-bit targets), where it holds
/// exactly what an `i64` holds.
///
/// # Converting results
///
/// Multiplicities come out of [`View::at`](crate::View::at) and the other reads as
/// `(row, Diff)`, out of subscriptions as the `diff` of a [`Batch`](crate::Batch)'s
/// `(row, time, diff)` updates, and out of `count` as the `isize` count in its `(key, count)`
/// rows. To store them as `i64` or `u64`:
///
/// - `i64::try_from(diff)` never fails: `isize` is at most 64 bits on every target Rust supports
///   (there is no `From<isize> for i64` only because the standard library leaves room for wider
///   pointers).
/// - `u64::try_from(diff)` fails exactly when `diff` is negative: a retraction in a
///   subscription batch, or a row deleted more often than it was inserted (bag tables allow
///   that). A count from `count` on a table without such rows is never negative.
/// - Going in, `Diff::try_from(n)` for an `i64` fails only on 32-bit targets beyond
///   `isize::MAX`; for a `u64` it fails above `isize::MAX`.
///
/// ```
/// use ivm::Diff;
/// let read: Vec<(&str, Diff)> = vec![("kept", 3), ("over-deleted", -1)];
/// let as_i64: Vec<(&str, i64)> =
///     read.iter().map(|&(row, diff)| (row, i64::try_from(diff).expect("isize fits in i64"))).collect();
/// assert_eq!(as_i64, vec![("kept", 3), ("over-deleted", -1)]);
/// // u64 says no to a negative multiplicity instead of wrapping around:
/// assert_eq!(u64::try_from(read[0].1), Ok(3));
/// assert!(u64::try_from(read[1].1).is_err());
/// // An application count going in as a multiplicity (`Transaction::update`):
/// assert_eq!(Diff::try_from(7u64), Ok(7));
/// assert!(Diff::try_from(u64::MAX).is_err());
/// ```
pub type Diff = isize;
