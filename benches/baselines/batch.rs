//! The baselines for `batch`: the same one-shot computations as `ivm::batch::run` of the bench's
//! view definitions, written (i) as a plain differential program on `timely::execute` workers and
//! (ii) as a single-threaded loop over a `hashbrown` map. Each returns what `batch::run` returns:
//! the result rows with their multiplicities, consolidated and sorted by row.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use differential_dataflow::consolidation::consolidate;
use differential_dataflow::input::Input;
use differential_dataflow::{AsCollection, Data, VecCollection};
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::operator::Operator;
use timely::dataflow::operators::vec::ToStream;

/// A fact row: `(key, i)`.
pub type Row = (u64, u64);
/// A result row: `(key or group, count)`.
pub type Count = (u64, isize);

/// Which computation to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Query {
    /// `facts.map(key).count()`: rows per key.
    Count,
    /// `facts.join(dims).map(group).count()`: facts per group of their key.
    Join,
}

/// The inputs: the facts, and the dimension rows `(key, group)` (used by `Join`).
pub struct Inputs {
    pub facts: Arc<Vec<Row>>,
    pub dims: Arc<Vec<Row>>,
}

/// How the bare program feeds its input rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feed {
    /// Through an `InputSession`: every row inserted, the inputs closed, then the workers step.
    Session,
    /// As a timely source (`to_stream` over the worker's share), which emits a chunk per
    /// activation, so the computation consumes rows while they are produced; `batch::run`
    /// feeds its inputs this way.
    Stream,
}

/// The query as a plain differential program on `workers` workers. Each worker feeds its share
/// (every `workers`-th row) at time 0; a sink collects the result, each worker consolidates its
/// part and the caller merges them.
pub fn differential(query: Query, data: &Inputs, workers: usize, feed: Feed) -> Vec<(Count, isize)> {
    let (facts, dims) = (Arc::clone(&data.facts), Arc::clone(&data.dims));
    let guards = timely::execute(timely::Config::process(workers), move |worker| {
        let (index, peers) = (worker.index(), worker.peers());
        let results: Rc<RefCell<Vec<(Count, isize)>>> = Rc::default();
        let sink = Rc::clone(&results);
        let (facts, dims) = (Arc::clone(&facts), Arc::clone(&dims));
        let (mut fact_input, mut dim_input, probe) = worker.dataflow::<u64, _, _>(|scope| {
            let (fact_input, mut fact_rows) = scope.new_collection::<Row, isize>();
            let (dim_input, mut dim_rows) = scope.new_collection::<Row, isize>();
            if feed == Feed::Stream {
                fact_rows = share(Arc::clone(&facts), index, peers).to_stream(scope).as_collection();
                dim_rows = share(Arc::clone(&dims), index, peers).to_stream(scope).as_collection();
            }
            let counts = match query {
                Query::Count => fact_rows.map(|(k, _)| k).count(),
                Query::Join => fact_rows.join_map(dim_rows, |_key, _i, group| *group).count(),
            };
            let (probe, counts) = counts.probe();
            collect(counts, sink);
            (fact_input, dim_input, probe)
        });
        if feed == Feed::Session {
            for row in facts[index..].iter().step_by(peers) {
                fact_input.insert(*row);
            }
            if query == Query::Join {
                for row in dims[index..].iter().step_by(peers) {
                    dim_input.insert(*row);
                }
            }
        }
        fact_input.close();
        dim_input.close();
        worker.step_or_park_while(None, || !probe.done());
        let mut rows = results.take();
        consolidate(&mut rows);
        rows
    })
    .expect("timely starts");
    let mut rows: Vec<(Count, isize)> =
        guards.join().into_iter().flat_map(|part| part.expect("worker finished")).collect();
    consolidate(&mut rows);
    rows
}

/// Every `peers`-th row from `index`, as `(row, time 0, +1)` updates owning the rows.
fn share(
    rows: Arc<Vec<Row>>,
    index: usize,
    peers: usize,
) -> impl Iterator<Item = (Row, u64, isize)> + 'static {
    (index..rows.len()).step_by(peers).map(move |i| (rows[i], 0, 1))
}

/// Appends every update of `collection` (all at time 0) to `results`.
fn collect<D: Data>(collection: VecCollection<'_, u64, D, isize>, results: Rc<RefCell<Vec<(D, isize)>>>) {
    collection.inner.sink(Pipeline, "Results", move |(input, _frontier)| {
        let mut results = results.borrow_mut();
        input.for_each(|_time, data| results.extend(data.drain(..).map(|(d, _, r)| (d, r))));
    });
}

/// The query as a single-threaded loop over a hash map, then sorted like the others.
pub fn hash_map(query: Query, data: &Inputs) -> Vec<(Count, isize)> {
    let mut counts: hashbrown::HashMap<u64, isize> = hashbrown::HashMap::new();
    match query {
        Query::Count => {
            for (key, _) in data.facts.iter() {
                *counts.entry(*key).or_insert(0) += 1;
            }
        }
        Query::Join => {
            let groups: hashbrown::HashMap<u64, u64> = data.dims.iter().copied().collect();
            for (key, _) in data.facts.iter() {
                if let Some(group) = groups.get(key) {
                    *counts.entry(*group).or_insert(0) += 1;
                }
            }
        }
    }
    let mut rows: Vec<(Count, isize)> = counts.into_iter().map(|row| (row, 1)).collect();
    rows.sort_unstable();
    rows
}
