//! Durability: a write-ahead log, checkpoints and recovery, in a directory the user names.
//!
//! See [`store`] for how a directory is opened and kept, [`log`] for the durability policies,
//! and [`frame`] for the checksummed record format every file uses.

pub(crate) mod codec;
pub(crate) mod consumers;
pub(crate) mod files;
pub(crate) mod frame;
pub(crate) mod log;
pub(crate) mod store;
