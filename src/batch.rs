//! One-shot batch runs: the same view definition, run once over static inputs.
//!
//! A batch run builds the definition in a fresh timely computation with as many workers as
//! asked, feeds it the given rows, runs it to completion and returns the collection at the
//! inputs' `as_of` time, consolidated and sorted. Nothing is kept afterwards: no engine, no
//! history, no threads.
//!
//! Inputs are rows per table, in memory ([`BatchInputs::table`]), or the engine's tables as of
//! a retained time ([`BatchInputs::from_engine`]). The definition reads them through the same
//! [`Views`] calls as in the live engine; an earlier view it reads is computed from that view's
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

use std::any::Any;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::operator::Operator;

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::persist::store::read_history;
use crate::row::Row;
use crate::runtime::Core;
use crate::runtime::health::panic_message;
use crate::runtime::registry::SourceId;
use crate::table::{KeyedTable, Table};
use crate::time::{Diff, Time};
use crate::view::{Definition, Views};

/// The rows of one table for a batch run: `Vec<(Row, Time, Diff)>` behind an `Arc`.
struct Input {
    name: String,
    rows: Arc<dyn Any + Send + Sync>,
    /// Rows given without times are placed at the run's `as_of`.
    timed: bool,
}

/// The inputs of a batch run: rows per table, and the time the result is read at.
///
/// Cheap to clone (rows are shared); reuse it for several runs.
#[derive(Clone, Default)]
pub struct BatchInputs {
    as_of: Time,
    tables: BTreeMap<(u64, SourceId), Arc<Input>>,
}

impl std::fmt::Debug for BatchInputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.tables.values().map(|input| input.name.as_str()).collect();
        f.debug_struct("BatchInputs").field("as_of", &self.as_of).field("tables", &names).finish()
    }
}

impl BatchInputs {
    /// No tables, read at time 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads the result at `t` (default 0); rows given without times are placed at `t`.
    /// Updates later than `t` (from [`table_updates`](Self::table_updates), or made by
    /// time-dependent operators) are not in the result.
    pub fn as_of(mut self, t: Time) -> Self {
        self.as_of = t;
        self
    }

    /// The time the result is read at.
    pub fn time(&self) -> Time {
        self.as_of
    }

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
        let mut inputs = BatchInputs::new().as_of(t);
        for history in engine.table_histories(t)? {
            let input = Input { name: history.name, rows: history.rows, timed: true };
            inputs.tables.insert((history.engine, history.id), Arc::new(input));
        }
        Ok(inputs)
    }

    fn with<D: Row>(
        mut self,
        engine: u64,
        id: SourceId,
        name: &str,
        rows: Vec<(D, Time, Diff)>,
        timed: bool,
    ) -> Self {
        let rows: Arc<dyn Any + Send + Sync> = Arc::new(rows);
        self.tables.insert((engine, id), Arc::new(Input { name: name.to_string(), rows, timed }));
        self
    }
}

/// The engine's tables as of `t` read from its storage directory, when `t` is older than the
/// in-memory history but the files still reach back to it; `None` otherwise.
pub(crate) fn from_storage(core: &Core, t: Time) -> Result<Option<BatchInputs>> {
    // No checkpoint may remove files while they are read.
    let _no_removals = core.checkpointing.lock().unwrap_or_else(|e| e.into_inner());
    let plan = core.sequence(|sequencer| {
        let Some(store) = sequencer.store.as_ref() else {
            return Ok(None);
        };
        if t > sequencer.clock.last() || !store.unregistered().is_empty() {
            return Ok(None);
        }
        Ok(store.history_files(t)?.map(|files| (files, sequencer.catalog.tables())))
    })?;
    let Some((files, tables)) = plan else {
        return Ok(None);
    };
    let codecs: Vec<_> =
        tables.iter().map(|(name, _, parts)| (name.clone(), Arc::clone(&parts.codec))).collect();
    let histories = read_history(&files, t, &codecs)?;
    let mut inputs = BatchInputs::new().as_of(t);
    for ((name, id, _), (_, rows)) in tables.into_iter().zip(histories) {
        inputs.tables.insert((core.id(), id), Arc::new(Input { name, rows, timed: true }));
    }
    Ok(Some(inputs))
}

/// One worker's view of a batch run's inputs: every `peers`-th row, starting at `index`.
pub(crate) struct BatchShare {
    inputs: BatchInputs,
    index: usize,
    peers: usize,
}

impl BatchShare {
    /// This worker's rows of table `id` as `(row, time, diff)`, if the inputs have that table
    /// with rows of type `D`.
    pub(crate) fn rows<D: Row>(&self, engine: u64, id: SourceId) -> Option<ShareIter<D>> {
        let input = self.inputs.tables.get(&(engine, id))?;
        let rows = Arc::clone(&input.rows).downcast::<Vec<(D, Time, Diff)>>().ok()?;
        let stamp = (!input.timed).then_some(self.inputs.as_of);
        Some(ShareIter { rows, next: self.index, step: self.peers, stamp })
    }
}

/// Clones one worker's share of a table's rows into its dataflow.
pub(crate) struct ShareIter<D> {
    rows: Arc<Vec<(D, Time, Diff)>>,
    next: usize,
    step: usize,
    stamp: Option<Time>,
}

impl<D: Clone> Iterator for ShareIter<D> {
    type Item = (D, Time, Diff);

    fn next(&mut self) -> Option<Self::Item> {
        let (row, time, diff) = self.rows.get(self.next)?.clone();
        self.next += self.step;
        Some((row, self.stamp.unwrap_or(time), diff))
    }
}

/// Runs `definition` once over `inputs` on `workers` worker threads and returns its collection
/// at `inputs`' time, consolidated and sorted by row.
///
/// Fails with [`Error::MissingInput`] naming a table the definition reads but `inputs` lack,
/// with [`Error::InvalidConfig`] for zero workers, and with [`Error::WorkerPanicked`] if the
/// definition panics (the run stops; nothing hangs).
pub fn run<R: Row>(
    definition: &Definition<R>,
    inputs: &BatchInputs,
    workers: usize,
) -> Result<Vec<(R, Diff)>> {
    if workers == 0 {
        return Err(Error::InvalidConfig("a batch run needs at least 1 worker".into()));
    }
    let failed = Arc::new(AtomicBool::new(false));
    let (definition, inputs) = (definition.clone(), inputs.clone());
    let failed_in_workers = Arc::clone(&failed);
    let guards = timely::execute(timely::Config::process(workers), move |worker| {
        let share = BatchShare { inputs: inputs.clone(), index: worker.index(), peers: worker.peers() };
        let outcome =
            catch_unwind(AssertUnwindSafe(|| run_worker(worker, &definition, share, &failed_in_workers)));
        let outcome = outcome.unwrap_or_else(|payload| {
            failed_in_workers.store(true, Ordering::Release);
            Err(Some(Error::WorkerPanicked { message: panic_message(payload.as_ref()) }))
        });
        if outcome.is_err() {
            failed_in_workers.store(true, Ordering::Release);
        }
        let _ = catch_unwind(AssertUnwindSafe(|| {
            for dataflow in worker.installed_dataflows() {
                worker.drop_dataflow(dataflow);
            }
        }));
        outcome
    })
    .map_err(|e| Error::InvalidConfig(format!("cannot start batch workers: {e}")))?;
    let mut rows = Vec::new();
    let mut first_error = None;
    let mut aborted = false;
    for result in guards.join() {
        match result {
            Ok(Ok(part)) => rows.extend(part),
            Ok(Err(Some(error))) => {
                first_error.get_or_insert(error);
            }
            Ok(Err(None)) => aborted = true,
            Err(message) => {
                first_error.get_or_insert(Error::WorkerPanicked { message });
            }
        }
    }
    match (first_error, aborted) {
        (Some(error), _) => Err(error),
        (None, true) => Err(Error::WorkerPanicked { message: "a batch worker stopped".into() }),
        (None, false) => Ok(consolidate(rows)),
    }
}

/// Builds and runs the definition on one worker; returns its share of the result, its own
/// error, or `Err(None)` if it gave up because another worker failed.
fn run_worker<R: Row>(
    worker: &mut timely::worker::Worker,
    definition: &Definition<R>,
    share: BatchShare,
    failed: &AtomicBool,
) -> std::result::Result<Vec<(R, Diff)>, Option<Error>> {
    let as_of = share.inputs.as_of;
    let results: Rc<RefCell<Vec<(R, Diff)>>> = Rc::default();
    let sink = Rc::clone(&results);
    let (probe, error) = worker.dataflow::<Time, _, _>(|scope| {
        let views = Views::batch(scope, share);
        let (probe, collection) = definition.build(&views).probe();
        collection.inner.sink(Pipeline, "BatchResult", move |(input, _frontier)| {
            let mut results = sink.borrow_mut();
            input.for_each(|_time, data| {
                results.extend(data.drain(..).filter(|(_, t, _)| *t <= as_of).map(|(d, _, r)| (d, r)));
            });
        });
        (probe, views.into_error())
    });
    if let Some(error) = error {
        return Err(Some(error));
    }
    while !probe.done() {
        if failed.load(Ordering::Acquire) {
            return Err(None);
        }
        worker.step_or_park(Some(Duration::from_millis(50)));
    }
    let rows = results.take();
    Ok(consolidate(rows))
}

/// Sorts by row and sums the multiplicities of equal rows, dropping zeros.
fn consolidate<R: Ord>(mut rows: Vec<(R, Diff)>) -> Vec<(R, Diff)> {
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out: Vec<(R, Diff)> = Vec::with_capacity(rows.len());
    for (row, diff) in rows {
        match out.last_mut() {
            Some((last, sum)) if *last == row => *sum += diff,
            _ => {
                if out.last().is_some_and(|(_, sum)| *sum == 0) {
                    out.pop();
                }
                out.push((row, diff));
            }
        }
    }
    if out.last().is_some_and(|(_, sum)| *sum == 0) {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::consolidate;

    #[test]
    fn consolidate_sums_and_drops_zeros() {
        let rows = vec![(3, 1), (1, 2), (3, -1), (2, 5), (1, -1), (2, 0)];
        assert_eq!(consolidate(rows), vec![(1, 1), (2, 5)]);
        assert_eq!(consolidate::<u8>(vec![]), vec![]);
        assert_eq!(consolidate(vec![(1, 1), (1, -1)]), vec![]);
    }
}
