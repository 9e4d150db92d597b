//! One-shot batch runs: the same view definition, run once over static inputs.
//!
//! A batch run builds the definition in a fresh timely computation with as many workers as
//! asked, feeds it the given rows, runs it to completion and returns the collection at the
//! inputs' `as_of` time, consolidated and sorted. Nothing is kept afterwards: no engine, no
//! history, no threads.
//!
//! Inputs are rows per table, in memory ([`BatchInputs::table`]), or the engine's tables as of
//! a retained time ([`BatchInputs::from_engine`]). The definition reads them through the same
//! [`Views`](crate::Views) calls as in the live engine; an earlier view it reads is computed from that view's
//! own definition in the same run. So for every retained `t`,
//! `run(view.definition(), &BatchInputs::from_engine(&engine, t)?, n)? == view.at(t)?`.
//!
//! Rows given without times are placed at `as_of`. Operators that depend on *when* a row was
//! committed (windows over commit time) need the rows' commit times:
//! [`BatchInputs::table_updates`], or `from_engine` with enough retained history (times older
//! than the engine's `since` have been compacted to it).
//!
//! ```
//! use ivm::{batch::{self, BatchInputs}, Config, Engine};
//! # fn main() -> ivm::Result<()> {
//! let engine = Engine::start(Config::default())?;
//! let edges = engine.table::<(u32, u32)>("edges")?;
//! let degree = engine.view("degree", {
//!     let edges = edges.clone();
//!     move |v| v.table(&edges).map(|(src, _)| src).count()
//! })?;
//! // The definition, run once over rows from anywhere (a file, say):
//! let inputs = BatchInputs::new().table(&edges, vec![(1, 2), (1, 3), (2, 3)]);
//! assert_eq!(batch::run(degree.definition(), &inputs, 2)?, vec![((1, 2), 1), ((2, 1), 1)]);
//! // ... or over the engine's tables as of a time, which gives exactly `at(t)`:
//! let t = engine.commit(|tx| tx.insert(&edges, (7, 8)))?;
//! let as_of_t = BatchInputs::from_engine(&engine, t)?;
//! assert_eq!(batch::run(degree.definition(), &as_of_t, 1)?, degree.at(t)?);
//! # Ok(()) }
//! ```

pub(crate) mod job;

pub use self::job::{BatchInputs, run};

use crate::engine::Engine;
#[cfg(doc)]
use crate::error::Error;
use crate::error::Result;
use crate::row::Row;
use crate::table::{KeyedTable, Table};
use crate::time::{Diff, Time};

impl BatchInputs {
    /// `table` holds each of `rows` once (repeat a row to hold it several times, or give
    /// multiplicities with [`table_with_diffs`](Self::table_with_diffs)).
    ///
    /// Never fails; replaces rows given earlier for the same table.
    pub fn table<T: Row>(self, table: &Table<T>, rows: impl IntoIterator<Item = T>) -> Self {
        self.table_with_diffs(table, rows.into_iter().map(|row| (row, 1)))
    }

    /// `table` holds the sum of `rows`, each `(row, diff)`: `diff` copies of `row`, placed at
    /// the run's `as_of` like [`table`](Self::table)'s rows.
    ///
    /// Pairs of the same row add up. A negative sum is a negative multiplicity, which the
    /// definition sees as such, exactly as the live engine's views see a row deleted more often
    /// than it was inserted ([`Transaction::delete`](crate::Transaction::delete)); a zero sum
    /// (or a zero `diff`) leaves the row out. Never fails; replaces rows given earlier for the
    /// same table.
    pub fn table_with_diffs<T: Row>(
        self,
        table: &Table<T>,
        rows: impl IntoIterator<Item = (T, Diff)>,
    ) -> Self {
        let rows: Vec<(T, Time, Diff)> =
            rows.into_iter().filter(|(_, diff)| *diff != 0).map(|(row, diff)| (row, 0, diff)).collect();
        self.with(table.engine(), table.id(), table.name(), rows, false)
    }

    /// `table` is the sum of `updates`, each `(row, time, diff)`: the table's history.
    pub fn table_updates<T: Row>(
        self,
        table: &Table<T>,
        updates: impl IntoIterator<Item = (T, Time, Diff)>,
    ) -> Self {
        self.with(table.engine(), table.id(), table.name(), updates.into_iter().collect(), true)
    }

    /// `table` holds these `(key, value)` pairs (one value per key, as the engine keeps them),
    /// each once. There is no `(pair, diff)` form: the live engine never holds a key's value
    /// more than once; [`keyed_table_updates`](Self::keyed_table_updates) takes any history.
    /// Never fails; replaces pairs given earlier for the same table.
    pub fn keyed_table<K: Row, V: Row>(
        self,
        table: &KeyedTable<K, V>,
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        let rows: Vec<((K, V), Time, Diff)> = pairs.into_iter().map(|pair| (pair, 0, 1)).collect();
        self.with(table.engine(), table.id(), table.name(), rows, false)
    }

    /// `table` is the sum of `updates`, each `((key, value), time, diff)`.
    pub fn keyed_table_updates<K: Row, V: Row>(
        self,
        table: &KeyedTable<K, V>,
        updates: impl IntoIterator<Item = ((K, V), Time, Diff)>,
    ) -> Self {
        self.with(table.engine(), table.id(), table.name(), updates.into_iter().collect(), true)
    }

    /// Every table of `engine` as of `t`: each table's history of changes through `t`, with their
    /// commit times, read at `t`. Fails like a read: [`Error::Compacted`] if `t` is older than
    /// the retained history; it waits until the tables are complete through `t`.
    pub fn from_engine(engine: &Engine, t: Time) -> Result<Self> {
        Ok(BatchInputs::from_histories(engine.engine_id(), t, engine.table_histories(t)?))
    }
}
