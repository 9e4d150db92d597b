//! Every integration test of the core (and of the `files` feature) as one test binary, for
//! mutation runs (TESTING.md, "Mutation testing"): a mutant then rebuilds one test crate
//! instead of twenty-two, each of which instantiates differential's operators anew, which was
//! most of each mutant's build. Run under `cargo nextest`, every test still runs in a process of
//! its own, as in its own binary. `cargo test` does not build it (`test = false` in
//! Cargo.toml); `cargo nextest run --test suite --features async,testing,files` does.
//!
//! A test file that starts copies of its binary (`cluster`, `crash`) names the test the copy
//! runs by its module path, so that it finds it both here and in its own binary.

// Helpers of `common` that some files do not use.
#![allow(dead_code)]

#[path = "arranged.rs"]
mod arranged;
#[path = "asynchronous.rs"]
mod asynchronous;
#[path = "backlog.rs"]
mod backlog;
#[path = "batch.rs"]
mod batch;
#[path = "checker.rs"]
mod checker;
#[path = "cluster.rs"]
mod cluster;
#[path = "constants.rs"]
mod constants;
#[path = "consumer_crash.rs"]
mod consumer_crash;
#[path = "consumers.rs"]
mod consumers;
#[path = "crash.rs"]
mod crash;
#[path = "drop.rs"]
mod drop;
#[path = "durable.rs"]
mod durable;
#[path = "engine.rs"]
mod engine;
#[path = "errors.rs"]
mod errors;
#[path = "failure.rs"]
mod failure;
#[cfg(feature = "files")]
#[path = "file_readers.rs"]
mod file_readers;
#[cfg(feature = "files")]
#[path = "files.rs"]
mod files;
#[path = "model.rs"]
mod model;
#[path = "ops.rs"]
mod ops;
#[path = "plain_reads.rs"]
mod plain_reads;
#[path = "retention.rs"]
mod retention;
#[path = "stats.rs"]
mod stats;
#[path = "streamed.rs"]
mod streamed;
#[path = "subscribe.rs"]
mod subscribe;
#[path = "subscribe_model.rs"]
mod subscribe_model;
#[path = "tables.rs"]
mod tables;
#[path = "transactions.rs"]
mod transactions;
#[path = "view_over.rs"]
mod view_over;
#[path = "views.rs"]
mod views;
