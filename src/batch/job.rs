//! One-shot batch jobs: a definition run once over static inputs, in its own timely computation.
//!
//! The public entry points and the inputs' builder are documented in [`crate::batch`]; this
//! file holds what the engine itself uses too (a read older than memory runs a job over the
//! stored history), so it depends on nothing above the definition layer.

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

use crate::coordinator::read::History;
use crate::definition::{Definition, Found, Share, Sources, Views, Visit, Wanted};
use crate::error::{Error, Result};
use crate::protocol::SourceId;
use crate::protocol::health::panic_message;
use crate::row::Row;
use crate::time::{Diff, Time};

/// The rows of one table for a batch run: `Vec<(Row, Time, Diff)>` behind an `Arc`.
pub(crate) struct Input {
    pub(crate) name: String,
    pub(crate) rows: Arc<dyn Any + Send + Sync>,
    /// Rows given without times are placed at the run's `as_of`.
    pub(crate) timed: bool,
}

/// The inputs of a batch run: rows per table, and the time the result is read at.
///
/// Cheap to clone (rows are shared); reuse it for several runs.
#[derive(Clone, Default)]
pub struct BatchInputs {
    pub(crate) as_of: Time,
    pub(crate) tables: BTreeMap<(u64, SourceId), Arc<Input>>,
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

    /// The histories of engine `engine`'s tables through `t`, read at `t`.
    pub(crate) fn from_histories(engine: u64, t: Time, histories: Vec<History>) -> Self {
        let mut inputs = BatchInputs::new().as_of(t);
        for history in histories {
            let input = Input { name: history.name, rows: history.rows, timed: true };
            inputs.tables.insert((engine, history.id), Arc::new(input));
        }
        inputs
    }

    pub(crate) fn with<D: Row>(
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

/// One worker's view of a batch run's inputs: every `peers`-th row, starting at `index`.
struct BatchShare {
    inputs: BatchInputs,
    index: usize,
    peers: usize,
}

impl Sources for BatchShare {
    fn visit(&self, wanted: &Wanted<'_>, visit: Visit<'_>) -> std::result::Result<(), Error> {
        let Some(input) = self.inputs.tables.get(&(wanted.engine, wanted.id)) else {
            return Err(self.missing(wanted));
        };
        let stamp = (!input.timed).then_some(self.inputs.as_of);
        let share = Share { rows: Arc::clone(&input.rows), index: self.index, peers: self.peers, stamp };
        if visit(Found::Rows(share)) { Ok(()) } else { Err(self.missing(wanted)) }
    }

    fn missing(&self, wanted: &Wanted<'_>) -> Error {
        Error::MissingInput { table: wanted.name.to_string() }
    }

    fn reruns_views(&self) -> bool {
        true
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
        let views = Views::new(scope, Box::new(share));
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
