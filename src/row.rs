//! What a table or view row must be.

use std::fmt::Debug;
use std::hash::Hash;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// A row of a table or view: plain data that differential dataflow can sort, hash, exchange
/// between workers and (for durability and clusters) serialize.
///
/// Implemented for every type that meets the bounds; derive them:
/// ```
/// #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
/// struct Order { id: u64, customer: u32, cents: i64 }
/// fn assert_row<R: ivm::Row>() {}
/// assert_row::<Order>();
/// assert_row::<(u64, String)>();
/// ```
pub trait Row: Serialize + DeserializeOwned + Ord + Hash + Clone + Debug + Send + Sync + 'static {}

impl<T> Row for T where T: Serialize + DeserializeOwned + Ord + Hash + Clone + Debug + Send + Sync + 'static {}
