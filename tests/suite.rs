//! Every integration test of the core (and of the `files` and `sql` features) as one test
//! binary: each file is a module, so `cargo test --test suite crash::` runs one file's tests.
//! One binary instead of twenty-five: each test crate instantiates differential's operators for its own row
//! types anew, which was most of a clean test build's time and, at 50 to 200 MB a binary, most
//! of its disk (CI once ran out). It also makes a mutant cheap (TESTING.md, "Mutation testing"):
//! one test crate to rebuild. Under `cargo nextest` every test still runs in a process of its
//! own.
//!
//! A test file that starts copies of its binary (`cluster`, `crash`, `consumer_crash`) names the
//! test the copy runs by its module path (`common_kill::test_name`).

// Helpers of `common` that some files do not use.
#![allow(dead_code)]

// What several files share, once for all of them (each file has `use crate::common;`).
mod common;
#[cfg(feature = "files")]
mod common_files;
mod common_kill;
mod common_ops;

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
#[cfg(feature = "sql")]
#[path = "sql.rs"]
mod sql;
#[cfg(feature = "sql")]
#[path = "sql_logic.rs"]
mod sql_logic;
#[cfg(feature = "sql")]
#[path = "sql_oracle.rs"]
mod sql_oracle;
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
