//! Building a view's dataflow on a worker from its definition.
//!
//! The definition runs once per worker, inside a fresh dataflow, against a [`Views`] context that
//! imports the arrangements of the tables and views it reads. Its result is arranged (by the
//! whole row, or by key for keyed views) so that reads and later views can use it. A definition
//! that names a table or view this engine does not have fails on every worker alike; the
//! half-built dataflow is dropped and the caller gets the typed error.

use std::cell::RefCell;
use std::rc::Rc;

use timely::worker::Worker;

use super::arrangement::{Arrangement, ArrangementState};
use super::registry::Registry;
use crate::error::Result;
use crate::row::Row;
use crate::time::Time;
use crate::view::{Definition, Views};

/// Where a view is built: the worker, its shards, and which engine it belongs to.
pub(crate) struct BuildContext<'a> {
    pub(crate) worker: &'a mut Worker,
    pub(crate) registry: &'a Rc<RefCell<Registry>>,
    pub(crate) engine: u64,
    pub(crate) name: &'a str,
    pub(crate) since: Time,
}

/// Builds one view on a worker; one factory is shared by every worker.
pub(crate) trait ViewFactory: Send + Sync {
    /// Builds the dataflow and returns the view's arrangement and dataflow id.
    fn build(&self, context: BuildContext<'_>) -> Result<(Box<dyn ArrangementState>, usize)>;
}

/// A view arranged by its whole row.
pub(crate) struct RowView<R: 'static>(pub(crate) Definition<R>);

/// A view of `(key, value)` rows arranged by key, for keyed reads.
pub(crate) struct KeyedView<K: 'static, V: 'static>(pub(crate) Definition<(K, V)>);

impl<R: Row> ViewFactory for RowView<R> {
    fn build(&self, context: BuildContext<'_>) -> Result<(Box<dyn ArrangementState>, usize)> {
        let BuildContext { worker, registry, engine, name, since } = context;
        let dataflow = worker.next_dataflow_index();
        let (trace, error) = worker.dataflow_named(&format!("view {name}"), |scope| {
            let views = Views::new(scope, Rc::clone(registry), engine);
            let trace = self.0.build(&views).arrange_by_self_named(name).trace;
            (trace, views.into_error())
        });
        finish(worker, dataflow, Arrangement::new(trace, since), error)
    }
}

impl<K: Row, V: Row> ViewFactory for KeyedView<K, V> {
    fn build(&self, context: BuildContext<'_>) -> Result<(Box<dyn ArrangementState>, usize)> {
        let BuildContext { worker, registry, engine, name, since } = context;
        let dataflow = worker.next_dataflow_index();
        let (trace, error) = worker.dataflow_named(&format!("view {name}"), |scope| {
            let views = Views::new(scope, Rc::clone(registry), engine);
            let trace = self.0.build(&views).arrange_by_key_named(name).trace;
            (trace, views.into_error())
        });
        finish(worker, dataflow, Arrangement::new(trace, since), error)
    }
}

/// Keeps the built view, or drops its dataflow if the definition failed.
fn finish<A: ArrangementState + 'static>(
    worker: &mut Worker,
    dataflow: usize,
    arrangement: A,
    error: Option<crate::error::Error>,
) -> Result<(Box<dyn ArrangementState>, usize)> {
    match error {
        None => Ok((Box::new(arrangement), dataflow)),
        Some(error) => {
            drop(arrangement);
            worker.drop_dataflow(dataflow);
            Err(error)
        }
    }
}
