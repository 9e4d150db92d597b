//! # ivm: incremental view maintenance, embedded
//!
//! `ivm` keeps views over your tables up to date as transactions commit, inside your process,
//! on [differential dataflow](https://docs.rs/differential-dataflow). A view is defined once,
//! its state is kept once, and it is read at any retained time, exactly.
//!
//! ```
//! use ivm::{Config, Engine, Retention};
//!
//! # fn main() -> ivm::Result<()> {
//! // Two worker threads; keep the last 1,000 commits readable.
//! let engine = Engine::start(
//!     Config::default().with_workers(2).with_retention(Retention::LastCommits(1_000)),
//! )?;
//!
//! // Tables hold rows of any serde + Ord + Hash type.
//! let edges = engine.table::<(u32, u32)>("edges")?;
//!
//! // A view is a closure over differential collections: here, the out-degree of each node.
//! let degree = engine.view("degree", {
//!     let edges = edges.clone();
//!     move |v| v.table(&edges).map(|(src, _dst)| src).count()
//! })?;
//!
//! // Writes to several tables commit atomically, at one timestamp.
//! let t1 = engine.commit(|tx| {
//!     tx.insert(&edges, (1, 2));
//!     tx.insert(&edges, (1, 3));
//! })?;
//! let t2 = engine.commit(|tx| tx.delete(&edges, (1, 3)))?;
//!
//! // Reads at a time wait until the view is complete through it: always read-your-writes.
//! assert_eq!(degree.at(t1)?, vec![((1, 2), 1)]);
//! assert_eq!(degree.at(t2)?, vec![((1, 1), 1)]);
//! # Ok(()) }
//! ```
//!
//! The pieces:
//! - [`Engine`] starts worker threads ([`Config`]) and names tables and views.
//! - [`Table`] (a bag of rows) and [`KeyedTable`] (one value per key, with upserts) are the
//!   inputs; a [`Transaction`] changes several at once.
//! - [`View`] and [`KeyedView`] are defined by a closure over [`Views`] and read with `at(t)`,
//!   or by key with [`KeyedView::get`] and [`KeyedView::range`].
//! - [`View::subscribe`] is the stream reading: a [`Subscription`] yields [`Batch`]es of
//!   `(row, time, diff)` over contiguous intervals; the snapshot plus the updates up to `t` sum
//!   to exactly `at(t)`.
//! - [`batch::run`] runs the very same [`Definition`] once over static inputs, with no engine
//!   kept; over the engine's tables as of `t` it gives exactly `at(t)`. [`ops`] holds operators
//!   (outer joins, aggregates, top-k, windows, ...) that keep that promise.
//! - [`Config::with_storage`] makes the engine durable: a checksummed write-ahead log and
//!   checkpoints; reopening the directory answers every retained time as before.
//! - [`Config::with_cluster`] (or [`Config::from_args`] with timely's `-w -n -p -h` flags) runs
//!   the same program as several processes of a timely cluster: process 0 commits, reads and
//!   subscribes over every process's workers; the others call [`Engine::serve`].
//! - [`Retention`] decides how far back reads reach; older reads fail with
//!   [`Error::Compacted`], never with a wrong answer.
//!
//! Differential dataflow and timely are re-exported ([`differential_dataflow`], [`timely`]) so
//! view logic can name their types with the versions this crate uses.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod batch;
mod catalog;
mod clock;
mod cluster;
mod config;
mod engine;
mod error;
pub mod ops;
mod persist;
mod read;
mod row;
mod runtime;
mod table;
#[cfg(feature = "testing")]
pub mod testing;
mod time;
mod view;

pub use cluster::Cluster;
pub use config::{Config, Durability, Retention};
pub use engine::Engine;
pub use error::{Error, Result};
pub use read::feed::Batch;
pub use read::subscribe::{SubscribeOptions, Subscription};
pub use row::Row;
pub use runtime::arrangement::TraceStats;
pub use table::{KeyedTable, Table, Transaction};
pub use time::{Diff, Time};
pub use view::{Definition, KeyedView, View, Views};

pub use differential_dataflow;
pub use timely;

use differential_dataflow::Hashable;
