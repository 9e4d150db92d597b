//! A tutorial, from a first view to a durable, subscribed, clustered engine.
//!
//! This module holds documentation only. Each chapter is one runnable program,
//! `examples/tutorial_N.rs`, shown here in full; every one checks its own results with
//! assertions, and CI runs them all:
//!
//! ```sh
//! cargo run --release --example tutorial_1
//! ```
//!
//! No knowledge of differential dataflow is assumed. Where a view definition uses one of its
//! operators (`map`, `join`, `count`, ...), the chapter says what it does; the
//! [differential dataflow book](https://timelydataflow.github.io/differential-dataflow/) has
//! the rest.
//!
//! | chapter | example | what it adds |
//! |---|---|---|
//! | [1. A first view](#1-a-first-view) | `tutorial_1` | an engine, a table, a view, a commit, a read |
//! | [2. Time](#2-time-past-reads-and-retention) | `tutorial_2` | timestamps, reads at past times, retention, timeouts |
//! | [3. Keys, joins, operators](#3-keys-joins-and-the-operator-library) | `tutorial_3` | keyed tables and views, joins, [`ops`](crate::ops), plain reads, bags versus keys |
//! | [4. Subscribing](#4-subscribing-to-changes) | `tutorial_4` | the stream reading, and why it sums to `at(t)` |
//! | [5. Batch runs](#5-the-same-definition-as-a-batch-job) | `tutorial_5` | one definition run once over static inputs |
//! | [6. Durability](#6-a-durable-engine) | `tutorial_6` | a write-ahead log, checkpoints, restarts |
//! | [7. A cluster](#7-a-clustered-subscribed-engine) | `tutorial_7` | the same program on several processes |
//! | [8. From async code](#8-from-async-code) | `async` | `commit_async`, `at_async`, `.next().await` on tokio |
//! | [9. In SQL](#9-in-sql) | `sql` (feature `sql`) | tables and views in SQL, transactions, `AS OF`, `SUBSCRIBE`, Rust rows in and out |
//!
//! # 1. A first view
//!
//! An [`Engine`](crate::Engine) runs worker threads in the background (timely dataflow
//! workers). You create **tables** on it, which are named collections of rows of one Rust
//! type, and **views**, which are defined by a closure from tables to a collection. The
//! closure runs once, when the view is created, to build a dataflow; after that every commit
//! flows through it, and only the rows that changed are recomputed.
//!
//! Writes go through [`Engine::commit`](crate::Engine::commit): every write of the closure
//! becomes visible at once, at the timestamp `commit` returns. [`View::at`](crate::View::at)
//! reads the view's whole collection at a time, as sorted `(row, multiplicity)` pairs. A
//! multiplicity is how many copies of the row the collection holds; views computed with
//! `count` or `distinct` hold each row once.
//!
//! [`Engine::view_over`](crate::Engine::view_over) names the tables a view reads once, by
//! reference (`&orders`, or a tuple `(&customers, &orders)`), and hands the closure each one as
//! a differential collection, ready for its operators: no handle to clone, no lookup inside.
//! `explode` maps each row to rows with a multiplicity (here: `cents` copies of the customer)
//! and `count` counts the copies of each row, giving `(customer, total)`.
//!
//! The closure's first argument is the view's context, [`Views`](crate::Views): it reads
//! tables and views too (`v.table(&orders)`, the form [`Engine::view`](crate::Engine::view)
//! uses, whose closure owns clones of the handles it reads), and
//! [`v.constant(rows)`](crate::Views::constant) is a collection of fixed rows, held once
//! however many workers run, from time 0 on.
//!
//! ```rust,no_run
#![doc = include_str!("../examples/tutorial_1.rs")]
//! ```
//!
//! # 2. Time, past reads and retention
//!
//! Every commit has a timestamp, a `u64` that increases: the next one by default, or your own
//! with [`Engine::commit_at`](crate::Engine::commit_at) (for example, seconds since an epoch).
//! A view can be read at any time the engine still retains, not only the latest: `at(t)` is
//! exactly the view over the tables as they were after the last commit at or before `t`.
//!
//! How far back is set by [`Retention`](crate::Retention). Older times are compacted, which
//! keeps memory flat however many commits there are; [`Engine::since`](crate::Engine::since)
//! is the oldest time still exact, and a read before it fails with
//! [`Error::Compacted`](crate::Error::Compacted), never with a wrong answer. A read at a time
//! not committed yet waits for it, so [`View::at_timeout`](crate::View::at_timeout) bounds the
//! wait.
//!
//! ```rust,no_run
#![doc = include_str!("../examples/tutorial_2.rs")]
//! ```
//!
//! # 3. Keys, joins and the operator library
//!
//! A [`KeyedTable`](crate::KeyedTable) holds one value per key:
//! [`upsert`](crate::Transaction::upsert) replaces the old value without naming it. A
//! [`KeyedView`](crate::KeyedView) has `(key, value)` rows kept sorted by key, so it also
//! answers [`get`](crate::KeyedView::get) (only the worker owning the key is asked) and
//! [`range`](crate::KeyedView::range).
//!
//! Differential's `join` matches `(key, a)` with `(key, b)` into `(key, (a, b))`. The
//! [`ops`](crate::ops) module adds what applications keep rebuilding on top: outer joins,
//! per-key aggregates, top-k, semi- and anti-joins, reachability, windows. Every one of them
//! stays exact when rows are deleted; bring them in with `use ivm::ops::*`.
//!
//! ## Plain reads, and bags versus keys
//!
//! The reads so far are exact: `at` and `get` answer a multiset, every row with its
//! multiplicity. Beside them, plain reads answer in the shape most code wants, and check that
//! the exact answer can be said that way:
//!
//! - [`View::rows_at`](crate::View::rows_at) and [`Table::rows_at`](crate::Table::rows_at) list
//!   each row as often as it is held, in row order;
//! - [`KeyedView::value`](crate::KeyedView::value) is the one value of a key (`Option<V>`),
//!   [`KeyedView::entries_at`](crate::KeyedView::entries_at) the whole view as `(key, value)`
//!   pairs, and [`KeyedTable::value`](crate::KeyedTable::value) a keyed table's value. A keyed
//!   view is expected to hold one value per key; one whose definition gives a key two values
//!   makes these reads fail with [`Error::KeyNotUnique`](crate::Error::KeyNotUnique), naming
//!   the view, the key and what it holds, rather than pick one.
//!
//! Two operators make views whose rows read well as they are:
//! [`count_total`](crate::ops::Total::count_total) and
//! [`sum_total`](crate::ops::Total::sum_total) hold exactly one row, `0` on an empty input
//! (differential's `count` has no row there), and
//! [`top_k_by_ranked`](crate::ops::TopK::top_k_by_ranked) numbers the places of a top-k, so
//! that rows sort in rank order rather than by value.
//!
//! **Deleting what is not there.** A bag table is a multiset, not a set of rows with
//! identity: [`delete`](crate::Transaction::delete) removes one copy of a row, and deleting a
//! row the table does not hold leaves that row with multiplicity `-1`. Nothing checks a
//! delete against the table when it is written (a transaction does not read). The `-1` is not
//! lost: `at` shows it, operators that decide existence (aggregates, top-k) ignore it, and
//! `rows_at` fails with [`Error::NegativeMultiplicity`](crate::Error::NegativeMultiplicity)
//! naming the row, which is how to catch it. When rows have an identity (an order id, a
//! user), keep them in a keyed table by that identity instead:
//! [`delete_key`](crate::Transaction::delete_key) of a key that is not there does nothing, so
//! a deletion that arrives twice is harmless.
//!
//! ```rust,no_run
#![doc = include_str!("../examples/tutorial_3.rs")]
//! ```
//!
//! # 4. Subscribing to changes
//!
//! [`View::subscribe`](crate::View::subscribe) is the stream reading of the same view: a
//! [`Subscription`](crate::Subscription) yields [`Batch`](crate::Batch)es of
//! `(row, time, diff)`, where a diff of `+1` adds a copy of the row and `-1` removes one. Each
//! batch covers an interval `[lower, upper)` of time, batches follow each other without gaps,
//! and a batch arrives only once the view is complete through its interval. The first batch is
//! a snapshot of the view at the starting time.
//!
//! The promise that ties the two readings together: adding up the snapshot and every change
//! up to the end of a batch received (`upper - 1`) gives exactly `at(upper - 1)`. A consumer
//! that keeps up receives a batch per commit, so the sum is exact at every commit time. A
//! consumer that stops resumes from the `upper` of the last batch it processed
//! ([`SubscribeOptions`](crate::SubscribeOptions)); one that is slow never slows the engine and
//! receives what it missed as one batch, whose updates' times were moved forward inside it to
//! keep memory bounded: the sum is exact at that batch's end, not at each time inside it.
//!
//! ```rust,no_run
#![doc = include_str!("../examples/tutorial_4.rs")]
//! ```
//!
//! # 5. The same definition as a batch job
//!
//! A view's logic is a [`Definition`](crate::Definition), a value you can keep and run
//! elsewhere. [`batch::run`](crate::batch::run) runs it once over static inputs
//! ([`BatchInputs`](crate::batch::BatchInputs)) on its own threads and returns the result,
//! keeping nothing. Over the engine's own tables as of `t`
//! ([`BatchInputs::from_engine`](crate::batch::BatchInputs::from_engine)) the answer is exactly
//! `at(t)`: the batch job and the live view cannot drift apart, because they are the same
//! code. With the `testing` feature, `ivm::testing::check` does this comparison (live,
//! streamed, batch) for your own views over a history you write, and
//! `ivm::testing::check_against` adds a fourth reading, your own naive recomputation: the
//! three readings share one definition, so only an oracle catches a definition that is wrong.
//! `ivm::testing::Checker` runs the same check with storage (so streamed tables), the view as
//! a streamed view, and restarts.
//!
//! ```rust,no_run
#![doc = include_str!("../examples/tutorial_5.rs")]
//! ```
//!
//! # 6. A durable engine
//!
//! [`Config::with_storage`](crate::Config::with_storage) gives the engine a directory. Each
//! commit is appended to a checksummed write-ahead log before `commit` returns
//! ([`Durability`](crate::Durability) says whether it waits for the disk), and tables are
//! checkpointed from time to time. After a restart the application registers the same tables
//! and views by name, and every retained time reads exactly as before. Damaged files are an
//! [`Error::Corrupted`](crate::Error::Corrupted) naming the file and the byte offset; the
//! engine never answers from them.
//!
//! ```rust,no_run
#![doc = include_str!("../examples/tutorial_6.rs")]
//! ```
//!
//! # 7. A clustered, subscribed engine
//!
//! When one machine is not enough, the same program runs as several processes of a timely
//! cluster: each process starts with the same settings
//! ([`Config::from_args`](crate::Config::from_args) reads timely's `-w -n -p -h` flags) and
//! registers the same tables and views in the same order. Rows are spread over the workers of
//! every process. Process 0 is the application: it commits, reads and subscribes, and sees
//! everything; the others call [`Engine::serve`](crate::Engine::serve) until process 0 shuts
//! the cluster down. A process that dies, goes silent for longer than the peer timeout
//! ([`Cluster::with_peer_timeout`](crate::Cluster::with_peer_timeout)), or registers something
//! else is a typed error on process 0 ([`Error::PeerLost`](crate::Error::PeerLost),
//! [`Error::ClusterMismatch`](crate::Error::ClusterMismatch)).
//!
//! Process 0 may keep the cluster's tables on disk (`Config::with_storage` on it alone; the
//! other processes are refused it with [`Error::InvalidConfig`](crate::Error::InvalidConfig)):
//! it logs every commit and writes the checkpoints, and after every process is restarted and
//! has registered its tables and views again, the cluster answers as before.
//!
//! ```rust,no_run
#![doc = include_str!("../examples/tutorial_7.rs")]
//! ```
//!
//! # 8. From async code
//!
//! Every call above blocks its thread until it is done, which an async runtime must not do on
//! its own threads. Each has an async form that never blocks the thread polling it, on any
//! executor (tokio, async-std, smol, a hand-written one):
//!
//! - [`Engine::commit_async`](crate::Engine::commit_async) and
//!   [`Transaction::commit_async`](crate::Transaction::commit_async): with storage, the log's
//!   write and sync (and a checkpoint it starts) run on a small pool of threads of `ivm`'s own;
//!   without storage a commit never blocks and runs where it is polled;
//! - `at_async` on [`View`](crate::View::at_async), [`KeyedView`](crate::KeyedView::at_async),
//!   [`Table`](crate::Table::at_async) and [`KeyedTable`](crate::KeyedTable::at_async), and
//!   [`KeyedView::get_async`](crate::KeyedView::get_async), and the plain reads' `rows_at_async`,
//!   `value_async` and `entries_at_async`: they wait for the workers through a
//!   waker; dropping the future cancels the read, so your runtime's timeout replaces
//!   `at_timeout`;
//! - [`Subscription::into_stream`](crate::Subscription::into_stream): a
//!   [`SubscriptionStream`](crate::SubscriptionStream), whose `.next().await` is the next batch.
//!   (A `Subscription` itself is a blocking `Iterator`: its `.next()` blocks.) With the `async`
//!   feature it is also a `futures_core::Stream`, for the combinators of `futures` or
//!   `tokio-stream`.
//!
//! The futures own what they need (`Send + 'static`), so they can be spawned. This program
//! runs a shop on tokio: four writer tasks, a subscriber task and readers, with the engine's
//! storage group-synced, and checks that the stream, the reads and a recomputation agree.
//!
//! ```rust,no_run
#![doc = include_str!("../examples/async.rs")]
//! ```
//!
//! # 9. In SQL
//!
//! With the `sql` feature, [`ivm::sql`](crate::sql) defines tables and views in SQL on the
//! same engine: an SQL table is an engine table (a keyed one with a `PRIMARY KEY`), an SQL view
//! an engine view whose definition is the query, lowered onto differential dataflow. So
//! everything the chapters above showed holds for them: a view is kept once and read at any
//! retained time (`SELECT ... AS OF t`), subscribed to (`SUBSCRIBE view`, whose changes sum to
//! the view), run as a batch (an ad-hoc `SELECT` is one, over the tables as of its time and
//! the SQL views it reads, each read at that time), kept
//! on disk with its definition (reopen the directory and `Sql::open` brings the tables and
//! views back).
//!
//! Writes are `INSERT`, `UPDATE` and `DELETE`, each its own transaction or grouped by `BEGIN
//! ... COMMIT` on a [`Connection`](crate::sql::Connection). Results decode into your own types
//! through serde ([`SqlRows::decode`](crate::sql::SqlRows::decode)); a Rust table whose rows
//! have named fields can be read by SQL views ([`Sql::builder`](crate::sql::Sql::builder)).
//! Every failure is a typed [`SqlError`](crate::sql::SqlError), with the line and column of the
//! name or construct at fault; a row a view cannot compute (a division by zero) is an error of
//! that view until the row goes, and the engine keeps serving every other view. `DROP VIEW`
//! and `DROP TABLE` free what they name, from the top down: nothing a view reads can go while
//! the view is there.
//!
//! This program (`cargo run --release --features sql --example sql`) is a shop again, in SQL;
//! `cargo run --release --features sql --example shell` is an interactive shell to try your own.
//!
#![cfg_attr(feature = "sql", doc = "```rust,no_run")]
#![cfg_attr(not(feature = "sql"), doc = "```rust,ignore")]
#![doc = include_str!("../examples/sql.rs")]
//! ```
