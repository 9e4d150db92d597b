//! The kinds of source, one file each: what a name in the catalog can hold.
//!
//! Each file defines one kind object and implements `shard::kind::SourceKind` for it once: how
//! the source is arranged (which fixes its rows and the reads it answers), how it is built on a
//! worker and, for a table, how its writes are buffered, logged and restored. Everything
//! else (readers, subscribers, the cluster wire, history merging) follows from the arrangement
//! type, in `shard/kind.rs`. See `ARCHITECTURE.md`, "Adding a kind of source".

pub(crate) mod bag_table;
pub(crate) mod keyed_table;
pub(crate) mod keyed_view;
pub(crate) mod row_view;
pub(crate) mod streamed_table;
mod view_dataflow;
