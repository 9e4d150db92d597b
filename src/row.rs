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
///
/// # Stored rows
///
/// A durable table (see [`Config::with_storage`](crate::Config::with_storage)) encodes its rows
/// with [postcard](https://docs.rs/postcard) and records its row type by its **shape**, traced
/// from the type's `Deserialize`: `Order{id:u64,customer:str,cents:i64}` for the type above. A
/// reopen with a type of another shape fails with [`Error::TypeMismatch`](crate::Error::TypeMismatch)
/// naming both shapes, before anything is read. The shape depends on what the stored bytes
/// depend on (field order and types, enum variants in order, serde's names of structs and
/// fields), not on the compiler or the module the type is declared in: moving or renaming a type
/// keeps its data readable as long as serde's name stays (`#[serde(rename = "Order")]`), and
/// reordering or retyping fields is refused rather than misread. A type whose `Deserialize`
/// validates its input (`NonZeroU32`, say) cannot be traced; it is recorded by its Rust type
/// name (`std::any::type_name`), which a new compiler may spell differently.
pub trait Row: Serialize + DeserializeOwned + Ord + Hash + Clone + Debug + Send + Sync + 'static {}

impl<T> Row for T where T: Serialize + DeserializeOwned + Ord + Hash + Clone + Debug + Send + Sync + 'static {}
