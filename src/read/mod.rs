//! The application side of reads: sending them to workers and gathering the answers.

pub(crate) mod feed;
pub(crate) mod peek;
#[cfg(feature = "async")]
mod stream;
pub(crate) mod subscribe;
