//! Every table and view shard a worker holds, by id.
//!
//! Tables and views share one id space: both are arranged collections that later views import
//! and that reads walk. Iteration is in id order (a `BTreeMap`), so every worker does the same
//! thing in the same order.

use std::any::Any;
use std::collections::{BTreeMap, BTreeSet};

use super::arrangement::ArrangementState;
use super::hub::Hub;
use super::input::TableInput;
use crate::protocol::SourceId;

/// One table or view shard: what its kind built on this worker (`Kind::build`).
pub(crate) struct Shard {
    /// The arranged collection.
    pub(crate) arrangement: Box<dyn ArrangementState>,
    /// The write side, for tables only.
    pub(crate) input: Option<Box<dyn TableInput>>,
    /// The subscribers, for views only.
    pub(crate) hub: Option<Box<dyn Hub>>,
    /// The sources a view's definition read (empty for a table).
    pub(crate) reads: BTreeSet<SourceId>,
}

/// The shards of one worker.
#[derive(Default)]
pub(crate) struct Registry {
    shards: BTreeMap<SourceId, Shard>,
}

impl Registry {
    pub(crate) fn insert(&mut self, id: SourceId, shard: Shard) {
        self.shards.insert(id, shard);
    }

    pub(crate) fn get_mut(&mut self, id: SourceId) -> Option<&mut Shard> {
        self.shards.get_mut(&id)
    }

    /// Removes the shard of `id` (a dropped source).
    pub(crate) fn remove(&mut self, id: SourceId) -> Option<Shard> {
        self.shards.remove(&id)
    }

    /// The trace handle of `id` (a `Layout` trace), if it exists.
    pub(crate) fn trace(&self, id: SourceId) -> Option<&dyn Any> {
        Some(self.shards.get(&id)?.arrangement.trace())
    }

    pub(crate) fn shards_mut(&mut self) -> impl Iterator<Item = (&SourceId, &mut Shard)> {
        self.shards.iter_mut()
    }

    /// Removes every shard (its trace handles are dropped).
    pub(crate) fn clear(&mut self) {
        self.shards.clear();
    }
}
