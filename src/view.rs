//! Views: the handles of a view's results, read at any retained time or subscribed to, and how
//! a later view's definition reads an earlier one.
//!
//! A view is defined once by a [`Definition`] (see `definition.rs`); the engine builds it on every
//! worker and keeps its result arranged. A read older than the in-memory history is answered by
//! running the definition again as a batch over the stored tables, if the storage reaches back.

use std::fmt;
use std::ops::RangeBounds;
use std::sync::Arc;
use std::time::Duration;

use differential_dataflow::VecCollection;

use crate::batch::job::{BatchInputs, run};
use crate::coordinator::{Coordinator, Targets};
use crate::definition::{Definition, Views};
use crate::error::{Error, Result};
use crate::protocol::SourceId;
use crate::protocol::stats::TraceStats;
use crate::protocol::wire::{ReadKind, encode};
use crate::read::subscribe::{SubscribeOptions, Subscription};
use crate::row::Row;
use crate::shard::layout::{KeyedTrace, RowTrace, worker_of};
use crate::shard::peek::KeySelection;
use crate::time::{Diff, Time};

/// A view whose rows are arranged whole. Cheap to clone; `Send + Sync`.
pub struct View<R: 'static> {
    pub(crate) core: Arc<Coordinator>,
    pub(crate) id: SourceId,
    pub(crate) name: Arc<str>,
    pub(crate) definition: Definition<R>,
}

impl<R: 'static> Clone for View<R> {
    fn clone(&self) -> Self {
        View {
            core: Arc::clone(&self.core),
            id: self.id,
            name: Arc::clone(&self.name),
            definition: self.definition.clone(),
        }
    }
}

impl<R: 'static> fmt::Debug for View<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("View").field("name", &self.name).finish()
    }
}

impl<R: Row> View<R> {
    /// The view's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The definition the view was created from.
    pub fn definition(&self) -> &Definition<R> {
        &self.definition
    }

    /// The whole collection at time `t`, consolidated and sorted by row, gathered from every
    /// worker. Each row comes with its multiplicity, a [`Diff`] (`isize`); see [`Diff`] for
    /// why, and for converting it to `i64` or `u64`.
    ///
    /// Waits until the view is complete through `t` (so `commit` followed by `at` of the
    /// returned time always sees that commit; a `t` after the latest commit waits for a later
    /// one). Fails with [`Error::Compacted`] if `t` is older than the retained history, and
    /// with [`Error::Shutdown`] or [`Error::WorkerPanicked`] if the engine stops meanwhile.
    pub fn at(&self, t: Time) -> Result<Vec<(R, Diff)>> {
        self.read(t, None)
    }

    /// Like [`at`](Self::at), but gives up with [`Error::Timeout`] after `timeout`.
    pub fn at_timeout(&self, t: Time, timeout: Duration) -> Result<Vec<(R, Diff)>> {
        self.read(t, Some(timeout))
    }

    /// How much the view's arrangement holds, summed over workers.
    pub fn stats(&self) -> Result<TraceStats> {
        self.core.stats(self.id)
    }

    /// Subscribes to the view's changes from the latest commit on, starting with a snapshot;
    /// see [`Subscription`].
    pub fn subscribe(&self) -> Result<Subscription<R>> {
        self.subscribe_with(SubscribeOptions::default())
    }

    /// Subscribes with options: where to start (`as_of`), whether to begin with a snapshot,
    /// and where to end (`until`). Fails with [`Error::Compacted`] if `as_of` is older than the
    /// retained history.
    pub fn subscribe_with(&self, options: SubscribeOptions) -> Result<Subscription<R>> {
        Subscription::start(&self.core, self.id, &self.name, options)
    }

    fn read(&self, t: Time, timeout: Option<Duration>) -> Result<Vec<(R, Diff)>> {
        let rows = self.core.read_rows::<(R, Diff)>(self.id, t, Targets::All, ReadKind::Rows, timeout);
        match rows.map(sorted) {
            Err(compacted @ Error::Compacted { .. }) => {
                from_files(&self.core, &self.definition, t, compacted)
            }
            other => other,
        }
        .map_err(|error| error.reading(&self.name))
    }
}

/// A view of `(key, value)` rows arranged by key: besides whole reads it answers keyed lookups
/// and key ranges without scanning. Cheap to clone; `Send + Sync`.
pub struct KeyedView<K: 'static, V: 'static> {
    pub(crate) core: Arc<Coordinator>,
    pub(crate) id: SourceId,
    pub(crate) name: Arc<str>,
    pub(crate) definition: Definition<(K, V)>,
}

impl<K: 'static, V: 'static> Clone for KeyedView<K, V> {
    fn clone(&self) -> Self {
        KeyedView {
            core: Arc::clone(&self.core),
            id: self.id,
            name: Arc::clone(&self.name),
            definition: self.definition.clone(),
        }
    }
}

impl<K: 'static, V: 'static> fmt::Debug for KeyedView<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyedView").field("name", &self.name).finish()
    }
}

impl<K: Row, V: Row> KeyedView<K, V> {
    /// The view's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The definition the view was created from.
    pub fn definition(&self) -> &Definition<(K, V)> {
        &self.definition
    }

    /// The whole collection at time `t`, sorted by `(key, value)`; see [`View::at`].
    pub fn at(&self, t: Time) -> Result<Vec<((K, V), Diff)>> {
        self.read(t, KeySelection::All, Targets::All, None)
    }

    /// Like [`at`](Self::at), but gives up with [`Error::Timeout`] after `timeout`.
    pub fn at_timeout(&self, t: Time, timeout: Duration) -> Result<Vec<((K, V), Diff)>> {
        self.read(t, KeySelection::All, Targets::All, Some(timeout))
    }

    /// The values of `key` at time `t`, sorted, with their multiplicities. Only the worker that
    /// owns `key` is asked, and it seeks straight to the key.
    pub fn get(&self, key: &K, t: Time) -> Result<Vec<(V, Diff)>> {
        let owner = Targets::One(worker_of(key, self.core.peers()));
        let keys = KeySelection::Range(
            std::ops::Bound::Included(key.clone()),
            std::ops::Bound::Included(key.clone()),
        );
        let rows = self.read(t, keys, owner, None)?;
        Ok(rows.into_iter().map(|((_, v), diff)| (v, diff)).collect())
    }

    /// The rows whose key lies in `keys` at time `t`, sorted. Every worker seeks to the start of
    /// the range and stops at its end (keys are spread over workers by hash).
    pub fn range(&self, keys: impl RangeBounds<K>, t: Time) -> Result<Vec<((K, V), Diff)>> {
        let keys = KeySelection::Range(keys.start_bound().cloned(), keys.end_bound().cloned());
        self.read(t, keys, Targets::All, None)
    }

    /// How much the view's arrangement holds, summed over workers.
    pub fn stats(&self) -> Result<TraceStats> {
        self.core.stats(self.id)
    }

    /// Subscribes to the view's `(key, value)` changes; see [`View::subscribe`].
    pub fn subscribe(&self) -> Result<Subscription<(K, V)>> {
        self.subscribe_with(SubscribeOptions::default())
    }

    /// Subscribes with options; see [`View::subscribe_with`].
    pub fn subscribe_with(&self, options: SubscribeOptions) -> Result<Subscription<(K, V)>> {
        Subscription::start(&self.core, self.id, &self.name, options)
    }

    fn read(
        &self,
        t: Time,
        keys: KeySelection<K>,
        targets: Targets,
        timeout: Option<Duration>,
    ) -> Result<Vec<((K, V), Diff)>> {
        let read = match &keys {
            KeySelection::All => ReadKind::Rows,
            range => ReadKind::Keys(encode(range)),
        };
        let rows = self.core.read_rows::<((K, V), Diff)>(self.id, t, targets, read, timeout);
        match rows.map(sorted) {
            Err(compacted @ Error::Compacted { .. }) => {
                from_files(&self.core, &self.definition, t, compacted)
                    .map(|rows| rows.into_iter().filter(|((k, _), _)| keys.contains(k)).collect())
            }
            other => other,
        }
        .map_err(|error| error.reading(&self.name))
    }
}

/// Rows sorted by row (each worker's answer is sorted, not their concatenation).
fn sorted<R: Ord, D>(mut rows: Vec<(R, D)>) -> Vec<(R, D)> {
    rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    rows
}

/// A read older than the in-memory history: answered exactly by a batch run of the view's
/// definition over the stored tables as of `t` if the storage still reaches back that far, or
/// else the `compacted` error it met.
fn from_files<R: Row>(
    core: &Coordinator,
    definition: &Definition<R>,
    t: Time,
    compacted: Error,
) -> Result<Vec<(R, Diff)>> {
    match core.stored_histories(t)? {
        Some(histories) => {
            run(definition, &BatchInputs::from_histories(core.id(), t, histories), core.workers())
        }
        None => Err(compacted),
    }
}

impl<'s> Views<'s> {
    /// The rows of an earlier view.
    pub fn view<R: Row>(&self, view: &View<R>) -> VecCollection<'s, Time, R, Diff> {
        if self.reruns_views() {
            return view.definition.build(self);
        }
        self.import::<RowTrace<R>>(view.core.id(), view.id, &view.name, "view")
    }

    /// The `(key, value)` rows of an earlier keyed view.
    pub fn keyed_view<K: Row, V: Row>(
        &self,
        view: &KeyedView<K, V>,
    ) -> VecCollection<'s, Time, (K, V), Diff> {
        if self.reruns_views() {
            return view.definition.build(self);
        }
        self.import::<KeyedTrace<K, V>>(view.core.id(), view.id, &view.name, "keyed view")
    }
}
