//! Every table and view shard a worker holds, by id.
//!
//! Tables and views share one id space: both are arranged collections that later views import
//! and that reads walk. Iteration is in id order (a `BTreeMap`), so every worker does the same
//! thing in the same order.

use std::any::Any;
use std::collections::BTreeMap;

use super::arrangement::ArrangementState;
use super::subscribe::Hub;
use super::table_input::TableInput;

/// The id of a table or view, unique within one engine.
pub(crate) type SourceId = u64;

/// One table or view shard.
pub(crate) struct Source {
    /// The arranged collection.
    pub(crate) arrangement: Box<dyn ArrangementState>,
    /// The write side, for tables only.
    pub(crate) input: Option<Box<dyn TableInput>>,
    /// The subscribers, for views only.
    pub(crate) hub: Option<Box<dyn Hub>>,
}

/// The shards of one worker.
#[derive(Default)]
pub(crate) struct Registry {
    sources: BTreeMap<SourceId, Source>,
}

impl Registry {
    pub(crate) fn insert(&mut self, id: SourceId, source: Source) {
        self.sources.insert(id, source);
    }

    pub(crate) fn get(&self, id: SourceId) -> Option<&Source> {
        self.sources.get(&id)
    }

    pub(crate) fn get_mut(&mut self, id: SourceId) -> Option<&mut Source> {
        self.sources.get_mut(&id)
    }

    /// The typed trace handle of `id`, if it exists and has type `Tr`.
    pub(crate) fn trace<Tr: Any>(&self, id: SourceId) -> Option<&Tr> {
        self.sources.get(&id)?.arrangement.trace().downcast_ref::<Tr>()
    }

    pub(crate) fn sources_mut(&mut self) -> impl Iterator<Item = (&SourceId, &mut Source)> {
        self.sources.iter_mut()
    }

    /// Removes every source (its shards and trace handles are dropped).
    pub(crate) fn clear(&mut self) {
        self.sources.clear();
    }
}
