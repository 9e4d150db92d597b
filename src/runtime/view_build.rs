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

use differential_dataflow::operators::arrange::Arranged;

use super::arrangement::{Arrangement, ArrangementState};
use super::registry::Registry;
use super::subscribe::{Hub, tap};
use super::typedefs::Layout;
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
    fn build(&self, context: BuildContext<'_>) -> Result<BuiltView>;
}

/// A view built on a worker: its arrangement and its subscription hub.
pub(crate) type BuiltView = (Box<dyn ArrangementState>, Box<dyn Hub>);

/// A view arranged by its whole row.
pub(crate) struct RowView<R: 'static>(pub(crate) Definition<R>);

/// A view of `(key, value)` rows arranged by key, for keyed reads.
pub(crate) struct KeyedView<K: 'static, V: 'static>(pub(crate) Definition<(K, V)>);

impl<R: Row> ViewFactory for RowView<R> {
    fn build(&self, context: BuildContext<'_>) -> Result<BuiltView> {
        build(context, |views, name| self.0.build(views).arrange_by_self_named(name))
    }
}

impl<K: Row, V: Row> ViewFactory for KeyedView<K, V> {
    fn build(&self, context: BuildContext<'_>) -> Result<BuiltView> {
        build(context, |views, name| self.0.build(views).arrange_by_key_named(name))
    }
}

/// Builds a view's dataflow: the definition, arranged by `arrange`, with a subscription tap.
/// If the definition failed, the half-built dataflow is dropped and the error returned.
fn build<Tr: Layout>(
    context: BuildContext<'_>,
    arrange: impl for<'s> FnOnce(&Views<'s>, &str) -> Arranged<'s, Tr>,
) -> Result<BuiltView> {
    let BuildContext { worker, registry, engine, name, since } = context;
    let index = worker.index();
    let dataflow = worker.next_dataflow_index();
    let (trace, hub, error) = worker.dataflow_named(&format!("view {name}"), |scope| {
        let views = Views::new(scope, Rc::clone(registry), engine);
        let arranged = arrange(&views, name);
        let hub = tap::<Tr>(arranged.stream, index);
        (arranged.trace, hub, views.into_error())
    });
    match error {
        None => Ok((Box::new(Arrangement::new(trace, since)), hub)),
        Some(error) => {
            drop((trace, hub));
            worker.drop_dataflow(dataflow);
            Err(error)
        }
    }
}
