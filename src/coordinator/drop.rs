//! Dropping a table or view by name.
//!
//! A drop is an operation like any other, in sequence with commits and reads: the catalog
//! refuses it while a view reads the source (the views it reads were recorded when it was
//! built), then every worker of every process ends what waits on the source (reads fail and
//! subscriptions end with [`Dropped`](crate::Error::Dropped)) and drops its dataflow. The name
//! is free again at once; the source's id is never reused, so a handle made before the drop
//! fails with [`Dropped`](crate::Error::Dropped) rather than reaching whatever takes the name
//! next.

use super::{Coordinator, Operation};
use crate::error::Result;

/// What a drop may remove: the nouns of its kinds, the first naming it in errors.
pub(crate) type Nouns = &'static [&'static str];

/// The kinds [`Coordinator::drop_source`] removes for `Engine::drop_table`.
pub(crate) const TABLES: Nouns = &["table", "keyed table", "streamed table"];

/// The kinds [`Coordinator::drop_source`] removes for `Engine::drop_view`.
pub(crate) const VIEWS: Nouns = &["view", "keyed view"];

impl Coordinator {
    /// Drops the source `name`, which must be one of `nouns` and read by no view. A table of
    /// an engine with storage is refused ([`StoredTable`](crate::Error::StoredTable)): the log
    /// keeps its rows.
    pub(crate) fn drop_source(&self, name: &str, nouns: Nouns) -> Result<()> {
        self.sequence(|state| {
            let id = state.catalog.droppable(name, nouns, state.store.is_some())?.id;
            state.drop_consumers_of(name)?;
            self.dispatch(state, Operation::Drop { id, name: name.to_string() })?;
            state.catalog.remove(name);
            Ok(())
        })
    }
}
