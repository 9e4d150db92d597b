//! Building a view's dataflow on a worker from its definition, for both kinds of view.
//!
//! The definition runs once per worker, inside a fresh dataflow, against a [`Views`] context that
//! imports the arrangements of the tables and views it reads. Its result is arranged (by the
//! whole row, or by key for keyed views) so that reads and later views can use it, and tapped
//! for subscribers. A definition that names a table or view this engine does not have fails on
//! every worker alike; the half-built dataflow is dropped and the caller gets the typed error.

use std::rc::Rc;

use differential_dataflow::VecCollection;
use differential_dataflow::operators::arrange::Arranged;

use crate::definition::{Live, Views};
use crate::error::Result;
use crate::row::Row;
use crate::shard::arrangement::{Arrangement, ArrangementState};
use crate::shard::hub::Hub;
use crate::shard::hub::{tap, tap_collection};
use crate::shard::kind::Site;
use crate::shard::layout::Layout;
use crate::shard::registry::Shard;
use crate::time::{Diff, Time};

/// Builds a view's dataflow: the definition, arranged by `arrange` and kept for reads and later
/// views, with a subscription tap. If the definition failed, the half-built dataflow is dropped
/// and the error returned.
pub(crate) fn build<Tr: Layout>(
    site: Site<'_>,
    arrange: impl for<'s> FnOnce(&Views<'s>, &str) -> Arranged<'s, Tr>,
) -> Result<Shard> {
    let since = site.since;
    build_with(site, |views, name, worker| {
        let arranged = arrange(views, name);
        let hub = tap::<Tr>(arranged.stream, worker);
        (hub, Box::new(Arrangement::new(arranged.trace, since)))
    })
}

/// Builds a streamed view's dataflow: the definition's collection goes straight to the tap, as
/// a hand-written differential program hands its output to a consumer. Nothing is arranged or
/// kept; each subscriber's feed consolidates what it delivers (`protocol/feed.rs`).
pub(crate) fn build_streamed<R: Row>(
    site: Site<'_>,
    logic: impl for<'s> FnOnce(&Views<'s>) -> VecCollection<'s, Time, R, Diff>,
) -> Result<Shard> {
    build_with(site, |views, _, worker| tap_collection(logic(views).inner, worker))
}

/// Builds a view's dataflow with `finish`, which turns the definition's context into the
/// view's hub and its arrangement (or what stands in for one).
fn build_with(
    site: Site<'_>,
    finish: impl for<'s> FnOnce(&Views<'s>, &str, usize) -> (Box<dyn Hub>, Box<dyn ArrangementState>),
) -> Result<Shard> {
    let Site { worker, registry, engine, id, name, since, held, .. } = site;
    let index = worker.index();
    let dataflow = worker.next_dataflow_index();
    let (hub, arrangement, reads) = worker.dataflow_named(&format!("view {name}"), |scope| {
        let registry = Rc::clone(registry);
        let live = Live { registry, engine, reader: id, since, held: held.clone() };
        let views = Views::new(scope, Box::new(live));
        let (hub, arrangement) = finish(&views, name, index);
        (hub, arrangement, views.into_reads())
    });
    match reads {
        Ok(reads) => Ok(Shard { arrangement, input: None, hub: Some(hub), reads }),
        Err(error) => {
            drop((arrangement, hub));
            worker.drop_dataflow(dataflow);
            Err(error)
        }
    }
}
