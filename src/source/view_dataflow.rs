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
use crate::shard::arrangement::{Arrangement, ArrangementState};
use crate::shard::hub::{tap, tap_unkept};
use crate::shard::kind::Site;
use crate::shard::layout::Layout;
use crate::shard::registry::Shard;

/// Builds a view's dataflow: the definition, arranged by `arrange`, with a subscription tap.
/// The arrangement is kept for reads and later views, unless `kept` is false (a streamed view):
/// then its trace is dropped at once, so it holds nothing, and its batches still reach the tap.
/// If the definition failed, the half-built dataflow is dropped and the error returned.
pub(crate) fn build<Tr: Layout>(
    site: Site<'_>,
    kept: bool,
    arrange: impl for<'s> FnOnce(&Views<'s>, &str) -> Arranged<'s, Tr>,
) -> Result<Shard> {
    let Site { worker, registry, engine, id, name, since, held, .. } = site;
    let index = worker.index();
    let dataflow = worker.next_dataflow_index();
    let (trace, hub, reads) = worker.dataflow_named(&format!("view {name}"), |scope| {
        let registry = Rc::clone(registry);
        let live = Live { registry, engine, reader: id, since, held: held.clone() };
        let views = Views::new(scope, Box::new(live));
        let arranged = arrange(&views, name);
        let (hub, trace) = match kept {
            true => (tap::<Tr>(arranged.stream, index), Ok(arranged.trace)),
            // Differential's arrange writes batches to the trace through a weak handle: with
            // the trace dropped, it sorts, exchanges and consolidates them, and keeps none.
            false => {
                let (hub, progress) = tap_unkept::<Tr>(arranged.stream, index);
                (hub, Err(progress))
            }
        };
        (trace, hub, views.into_reads())
    });
    match reads {
        Ok(reads) => {
            let arrangement: Box<dyn ArrangementState> = match trace {
                Ok(trace) => Box::new(Arrangement::new(trace, since)),
                Err(progress) => progress,
            };
            Ok(Shard { arrangement, input: None, hub: Some(hub), reads })
        }
        Err(error) => {
            drop((trace, hub));
            worker.drop_dataflow(dataflow);
            Err(error)
        }
    }
}
