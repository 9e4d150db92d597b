//! The application side of reads: sending them to workers and gathering the answers.

pub(crate) mod peek;
