//! # ivm: incremental view maintenance, embedded
//!
//! `ivm` keeps views over your tables up to date as transactions commit, inside your process,
//! on [differential dataflow](https://docs.rs/differential-dataflow). A view is defined once,
//! its state is kept once, and it is read two ways: as its whole collection at any retained
//! time ([`View::at`]), and as a stream of changes ([`View::subscribe`]). The two always agree,
//! and a one-shot batch run of the same definition ([`batch::run`]) gives the same answer too.
//!
//! This page walks through the pieces in the order an application meets them. The
//! [`tutorial`] goes slower, one runnable program per chapter.
//!
//! # Tables
//!
//! An [`Engine`] runs worker threads ([`Config::with_workers`]) and holds named tables. A
//! [`Table`] is a bag of rows; a [`KeyedTable`] holds one value per key. Rows are plain Rust
//! values: anything `serde` + `Ord` + `Hash` + `Clone` + `Debug` + `Send` + `Sync` (see
//! [`Row`]).
//!
//! ```
//! use ivm::{Config, Engine};
//! # fn main() -> ivm::Result<()> {
//! let engine = Engine::start(Config::default().with_workers(2))?;
//! let edges = engine.table::<(u32, u32)>("edges")?; // (from, to)
//! let names = engine.keyed_table::<u32, String>("names")?; // node -> name
//! # let _ = (edges, names);
//! # Ok(()) }
//! ```
//!
//! Asking for the same name again returns the same table; another row type is
//! [`Error::TypeMismatch`], a name held by a view or a keyed table is [`Error::KindMismatch`],
//! and a name that is not identifier-like (see [`Engine`'s names](Engine#names)) is
//! [`Error::InvalidName`].
//!
//! For streams of events, [`Engine::streamed_table`] makes a table whose rows are not kept:
//! they flow into the views that read it and are gone, and with storage the write-ahead log
//! is their history. [`Engine::streamed_view`] is its counterpart for results read as a
//! stream: subscribers get the changes and nothing keeps the rows.
//!
//! # A view
//!
//! A [`View`] is defined by a closure that receives the tables as differential dataflow
//! collections ([`Views`]) and returns a collection; any differential operator works inside,
//! and [`ops`] adds outer joins, aggregates, top-k, windows and more. The closure runs once,
//! to build a dataflow; from then on only what changes is recomputed. A [`KeyedView`] has
//! `(key, value)` rows and also answers lookups by key. [`Engine::view_over`] names the tables
//! a view reads once and hands the closure their collections ([`Inputs`]), and
//! [`Views::constant`] puts fixed rows in a view.
//!
//! ```
//! # use ivm::{Config, Engine};
//! # fn main() -> ivm::Result<()> {
//! # let engine = Engine::start(Config::default().with_workers(2))?;
//! # let edges = engine.table::<(u32, u32)>("edges")?;
//! // The out-degree of each node.
//! let degree = engine.view("degree", {
//!     let edges = edges.clone();
//!     move |v| v.table(&edges).map(|(from, _to)| from).count()
//! })?;
//! // The same, naming its table once: the closure gets the collection itself.
//! let degree_over = engine.view_over("degree_over", &edges, |_, edges| {
//!     edges.map(|(from, _to)| from).count()
//! })?;
//! # let _ = (degree, degree_over);
//! # Ok(()) }
//! ```
//!
//! # Commits
//!
//! A [`Transaction`] writes to any number of tables and becomes visible at once, at one
//! timestamp ([`Time`], a `u64`) that [`Engine::commit`] returns. Commits may come from many
//! threads; [`Engine::commit_at`] takes the caller's own increasing timestamps.
//!
//! ```
//! # use ivm::{Config, Engine};
//! # fn main() -> ivm::Result<()> {
//! # let engine = Engine::start(Config::default().with_workers(2))?;
//! # let edges = engine.table::<(u32, u32)>("edges")?;
//! let t1 = engine.commit(|tx| {
//!     tx.insert(&edges, (1, 2));
//!     tx.insert(&edges, (1, 3));
//! })?;
//! let t2 = engine.commit(|tx| tx.delete(&edges, (1, 3)))?;
//! assert!(t2 > t1);
//! # Ok(()) }
//! ```
//!
//! # Reading at a time
//!
//! [`View::at`] returns the whole collection at a time, consolidated and sorted, as
//! `(row, multiplicity)` pairs. It waits until the view is complete through that time, so a
//! read at the time `commit` returned always sees the commit. Any time the [`Retention`]
//! keeps can be read; older ones fail with [`Error::Compacted`], never with a wrong answer.
//!
//! ```
//! # use ivm::{Config, Engine};
//! # fn main() -> ivm::Result<()> {
//! # let engine = Engine::start(Config::default().with_workers(2))?;
//! # let edges = engine.table::<(u32, u32)>("edges")?;
//! # let degree = engine.view("degree", {
//! #     let edges = edges.clone();
//! #     move |v| v.table(&edges).map(|(from, _to)| from).count()
//! # })?;
//! # let t1 = engine.commit(|tx| { tx.insert(&edges, (1, 2)); tx.insert(&edges, (1, 3)); })?;
//! # let t2 = engine.commit(|tx| tx.delete(&edges, (1, 3)))?;
//! assert_eq!(degree.at(t1)?, vec![((1, 2), 1)]); // node 1 has degree 2, once
//! assert_eq!(degree.at(t2)?, vec![((1, 1), 1)]);
//! # Ok(()) }
//! ```
//!
//! # Subscribing
//!
//! [`View::subscribe`] is the stream reading: a [`Subscription`] yields [`Batch`]es of
//! `(row, time, diff)` covering contiguous intervals of time, each once it is complete,
//! starting with a snapshot. The snapshot plus the changes up to the end of any batch received
//! (`upper - 1`) sum to exactly `at(upper - 1)`: at every commit for a subscriber that keeps up.
//! One that falls behind gets what it missed as one batch, its updates' times moved forward
//! inside it (memory stays bounded by the rows that changed), so the sum is exact at the end of
//! that batch, not at each time inside it.
//!
//! ```
//! # use ivm::{Config, Engine};
//! # fn main() -> ivm::Result<()> {
//! # let engine = Engine::start(Config::default().with_workers(2))?;
//! # let edges = engine.table::<(u32, u32)>("edges")?;
//! # let degree = engine.view("degree", {
//! #     let edges = edges.clone();
//! #     move |v| v.table(&edges).map(|(from, _to)| from).count()
//! # })?;
//! let mut changes = degree.subscribe()?; // the snapshot is at the latest commit, 0 here
//! let t = engine.commit(|tx| tx.insert(&edges, (1, 2)))?;
//! let snapshot = changes.next().unwrap()?;
//! assert!(snapshot.updates.is_empty());
//! let batch = changes.next().unwrap()?;
//! assert_eq!(batch.updates, vec![((1, 1), t, 1)]);
//! # Ok(()) }
//! ```
//!
//! # A batch run
//!
//! A view's logic is a [`Definition`], a value. [`batch::run`] runs it once over static
//! inputs and keeps nothing; over the engine's tables as of `t` it answers exactly `at(t)`.
//!
//! ```
//! # use ivm::{Config, Engine};
//! use ivm::batch::{self, BatchInputs};
//! # fn main() -> ivm::Result<()> {
//! # let engine = Engine::start(Config::default().with_workers(2))?;
//! # let edges = engine.table::<(u32, u32)>("edges")?;
//! # let degree = engine.view("degree", {
//! #     let edges = edges.clone();
//! #     move |v| v.table(&edges).map(|(from, _to)| from).count()
//! # })?;
//! let inputs = BatchInputs::new().table(&edges, [(1, 2), (1, 3), (2, 3)]);
//! assert_eq!(batch::run(degree.definition(), &inputs, 2)?, vec![((1, 2), 1), ((2, 1), 1)]);
//!
//! let t = engine.commit(|tx| tx.insert(&edges, (5, 6)))?;
//! let as_of_t = BatchInputs::from_engine(&engine, t)?;
//! assert_eq!(batch::run(degree.definition(), &as_of_t, 1)?, degree.at(t)?);
//! # Ok(()) }
//! ```
//!
//! # Durability
//!
//! [`Config::with_storage`] makes the engine durable: each commit is appended to a checksummed
//! write-ahead log before `commit` returns ([`Durability`]), and tables are checkpointed.
//! Starting an engine on the same directory and registering the same tables and views answers
//! every retained time as before; damaged files are [`Error::Corrupted`] with the file and
//! offset, never a wrong answer.
//!
//! ```
//! # use ivm::{Config, Engine};
//! # fn main() -> ivm::Result<()> {
//! # let dir = std::env::temp_dir().join(format!("ivm-doc-{}", std::process::id()));
//! # let _ = std::fs::remove_dir_all(&dir);
//! let engine = Engine::start(Config::default().with_storage(&dir))?;
//! let notes = engine.table::<String>("notes")?;
//! let t = engine.commit(|tx| tx.insert(&notes, "kept".to_string()))?;
//! engine.shutdown();
//!
//! let engine = Engine::start(Config::default().with_storage(&dir))?;
//! let notes = engine.table::<String>("notes")?;
//! assert_eq!(notes.at(t)?, vec![("kept".to_string(), 1)]);
//! # engine.shutdown();
//! # let _ = std::fs::remove_dir_all(&dir);
//! # Ok(()) }
//! ```
//!
//! # Clusters
//!
//! [`Config::with_cluster`] (or [`Config::from_args`] with timely's `-w -n -p -h` flags) runs
//! the same program as several processes of a timely cluster: every process registers the same
//! tables and views; process 0 commits, reads and subscribes over every process's workers, and
//! the others call [`Engine::serve`]. See [chapter 7 of the tutorial](tutorial#7-a-clustered-subscribed-engine).
//!
//! # Errors
//!
//! Every fallible call returns [`Result`]; [`Error`] says what went wrong and what to do, and
//! no error leaves partial effects behind. Nothing panics on user input; a panic in view code
//! poisons the engine ([`Error::WorkerPanicked`]) instead of hanging it.
//!
//! Differential dataflow and timely are re-exported as `ivm::differential_dataflow` and
//! `ivm::timely`, so view logic can name their types with the versions this crate uses
//! ([differential-dataflow 0.26](https://docs.rs/differential-dataflow/0.26),
//! [timely 0.32](https://docs.rs/timely/0.32)).
//!
//! # Features
//!
//! - `async`: [`SubscriptionStream`] is also a `futures_core::Stream`. The async calls
//!   themselves (`commit_async`, `at_async`, `.next().await`) need no feature.
//! - `files`: [`files`], views and tables written as Parquet (at a time, or as change
//!   streams) and tables loaded from Parquet and CSV, for DuckDB, Polars and other batch tools.
//! - `testing`: [`testing::check`], which compares a view's live, streamed and batch readings
//!   in your own tests ([`testing::Checker`]: with storage, streamed kinds and restarts).
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod batch;
mod blocking;
mod clock;
mod cluster;
mod config;
mod coordinator;
mod definition;
mod engine;
mod error;
#[cfg(feature = "files")]
pub mod files;
mod inputs;
mod name;
pub mod ops;
mod persist;
mod protocol;
mod read;
mod row;
mod shape;
mod shard;
mod source;
#[cfg(feature = "sql")]
pub mod sql;
mod table;
#[cfg(feature = "testing")]
pub mod testing;
mod time;
mod transaction;
pub mod tutorial;
mod view;
mod worker;

pub use cluster::Cluster;
pub use config::{BacklogLimit, Config, Durability, Retention};
pub use coordinator::consumers::ConsumerInfo;
pub use definition::{Definition, KeyedArrangement, Views};
pub use engine::Engine;
pub use error::{Error, FileError, FileProblem, IoError, Result};
pub use inputs::Inputs;
pub use protocol::feed::Batch;
pub use protocol::stats::{
    BacklogStats, EngineStats, SourceStats, SubscriptionStats, TotalStats, TraceStats,
};
pub use read::consumer::Consumer;
pub use read::stream::SubscriptionStream;
pub use read::subscribe::{SubscribeOptions, Subscription};
pub use row::Row;
pub use table::{KeyedTable, Table};
pub use time::{Diff, Time};
pub use transaction::{CommitFuture, Transaction};
pub use view::{KeyedView, View};

pub use differential_dataflow;
pub use timely;
