//! Building a view's dataflow on a worker from its definition, for both kinds of view.
//!
//! The definition runs once per worker, inside a fresh dataflow, against a [`Views`] context that
//! imports the arrangements of the tables and views it reads. Its result is arranged (by the
//! whole row, or by key for keyed views) so that reads and later views can use it, and tapped
//! for subscribers. A definition that names a table or view this engine does not have fails on
//! every worker alike; the half-built dataflow is dropped and the caller gets the typed error.

use std::rc::Rc;

use differential_dataflow::operators::arrange::Arranged;

use crate::definition::{Live, Views};
use crate::error::Result;
use crate::shard::arrangement::Arrangement;
use crate::shard::hub::tap;
use crate::shard::kind::Site;
use crate::shard::layout::Layout;
use crate::shard::registry::Shard;

/// Builds a view's dataflow: the definition, arranged by `arrange`, with a subscription tap.
/// If the definition failed, the half-built dataflow is dropped and the error returned.
pub(crate) fn build<Tr: Layout>(
    site: Site<'_>,
    arrange: impl for<'s> FnOnce(&Views<'s>, &str) -> Arranged<'s, Tr>,
) -> Result<Shard> {
    let Site { worker, registry, engine, name, since, .. } = site;
    let index = worker.index();
    let dataflow = worker.next_dataflow_index();
    let (trace, hub, reads) = worker.dataflow_named(&format!("view {name}"), |scope| {
        let views = Views::new(scope, Box::new(Live { registry: Rc::clone(registry), engine }));
        let arranged = arrange(&views, name);
        let hub = tap::<Tr>(arranged.stream, index);
        (arranged.trace, hub, views.into_reads())
    });
    match reads {
        Ok(reads) => {
            let arrangement = Box::new(Arrangement::new(trace, since));
            Ok(Shard { arrangement, input: None, hub: Some(hub), reads })
        }
        Err(error) => {
            drop((trace, hub));
            worker.drop_dataflow(dataflow);
            Err(error)
        }
    }
}
