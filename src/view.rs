//! Views: defined once by a closure over differential collections, read at any retained time.
//!
//! A view definition is a plain Rust closure that receives a [`Views`] context and returns a
//! differential dataflow collection. The context hands out the engine's tables and earlier views
//! as collections (each an import of one shared arrangement, so nothing is re-indexed); inside the
//! closure every differential operator is available: `map`, `filter`, `join`, `reduce`, `count`,
//! `distinct`, `threshold`, `iterate`, `arrange`...
//!
//! The engine runs the definition once per worker and keeps the result arranged. The definition
//! is kept as a value ([`Definition`]), so the very same logic can be run again elsewhere.
//!
//! ```
//! use ivm::{Config, Engine};
//! # fn main() -> ivm::Result<()> {
//! let engine = Engine::start(Config::default())?;
//! let edges = engine.table::<(u32, u32)>("edges")?;
//! let out_degree = engine.view("out_degree", {
//!     let edges = edges.clone();
//!     move |v| v.table(&edges).map(|(src, _dst)| src).count()
//! })?;
//! let t = engine.commit(|tx| {
//!     tx.insert(&edges, (1, 2));
//!     tx.insert(&edges, (1, 3));
//! })?;
//! assert_eq!(out_degree.at(t)?, vec![((1, 2), 1)]);
//! # Ok(()) }
//! ```

use std::cell::RefCell;
use std::fmt;
use std::ops::RangeBounds;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use differential_dataflow::AsCollection;
use differential_dataflow::VecCollection;
use timely::dataflow::Scope;
use timely::dataflow::operators::generic::operator::empty;
use timely::dataflow::operators::vec::ToStream;

use crate::batch::{self, BatchShare};
use crate::error::{Error, Result};
use crate::inputs::Inputs;
use crate::read::peek::{self, Targets};
use crate::read::subscribe::{SubscribeOptions, Subscription};
use crate::row::Row;
use crate::runtime::Core;
use crate::runtime::peek::KeySelection;
use crate::runtime::registry::{Registry, SourceId};
use crate::runtime::typedefs::{KeyedTrace, Layout, RowTrace};
use crate::table::{KeyedTable, Table};
use crate::time::{Diff, Time};
use crate::{Hashable, TraceStats};

/// The type of a view definition's logic, as stored in a [`Definition`].
type DefinitionFn<R> = dyn for<'s> Fn(&Views<'s>) -> VecCollection<'s, Time, R, Diff> + Send + Sync;

/// A view definition as a value: the logic of a view, independent of any engine.
///
/// The engine keeps the definition it was given ([`View::definition`]); it can be cloned and
/// run again. It must be deterministic: the same inputs must give the same collection.
pub struct Definition<R: 'static> {
    logic: Arc<DefinitionFn<R>>,
}

impl<R: 'static> Clone for Definition<R> {
    fn clone(&self) -> Self {
        Definition { logic: Arc::clone(&self.logic) }
    }
}

impl<R: 'static> fmt::Debug for Definition<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Definition")
    }
}

impl<R: Row> Definition<R> {
    /// Wraps a closure that builds the view's collection from a [`Views`] context.
    pub fn new<F>(logic: F) -> Self
    where
        F: for<'s> Fn(&Views<'s>) -> VecCollection<'s, Time, R, Diff> + Send + Sync + 'static,
    {
        Definition { logic: Arc::new(logic) }
    }

    /// A definition that names its inputs once: `logic` receives the [`Views`] context and the
    /// inputs' collections, in the shape `inputs` has (one handle, or a tuple of handles); see
    /// [`Inputs`].
    ///
    /// The handles are cloned once, here, and read each time the definition is built, so the
    /// closure needs neither clones of the handles nor `v.table(..)` calls:
    ///
    /// ```
    /// use ivm::{Config, Definition, Engine};
    /// # fn main() -> ivm::Result<()> {
    /// let engine = Engine::start(Config::default())?;
    /// let edges = engine.table::<(u32, u32)>("edges")?;
    /// let degree = Definition::over(&edges, |_, edges| edges.map(|(from, _to)| from).count());
    /// let view = engine.view_from("degree", &degree)?;
    /// let t = engine.commit(|tx| tx.insert_all(&edges, [(1, 2), (1, 3)]))?;
    /// assert_eq!(view.at(t)?, vec![((1, 2), 1)]);
    /// # Ok(()) }
    /// ```
    ///
    /// Never fails here; inputs the engine or a batch run does not have fail there, as with
    /// [`Views::table`].
    pub fn over<I, F>(inputs: I, logic: F) -> Self
    where
        I: Inputs,
        F: for<'s> Fn(&Views<'s>, I::Collections<'s>) -> VecCollection<'s, Time, R, Diff>
            + Send
            + Sync
            + 'static,
    {
        let handles = inputs.handles();
        Definition::new(move |views| logic(views, I::collections(&handles, views)))
    }

    /// Runs the logic in a dataflow scope.
    pub fn build<'s>(&self, views: &Views<'s>) -> VecCollection<'s, Time, R, Diff> {
        (self.logic)(views)
    }
}

/// What a view definition reads from: the engine's tables and earlier views, as differential
/// collections in the view's dataflow scope.
///
/// In the live engine, tables and views are imports of shared arrangements. In a one-shot batch
/// run ([`batch::run`](crate::batch::run)) tables are the rows the run was given and earlier
/// views are their definitions run again in the same scope; the definition cannot tell the
/// difference.
///
/// A table or view handle from another engine (or one this engine does not know) makes the
/// view's creation fail with [`Error::ForeignHandle`] or [`Error::UnknownName`]; a batch run
/// whose inputs lack a table the definition reads fails with [`Error::MissingInput`]. The
/// closure gets an empty collection in its place, so it never needs to handle the error itself.
pub struct Views<'s> {
    scope: Scope<'s, Time>,
    sources: Sources,
    error: RefCell<Option<Error>>,
}

/// Where a [`Views`] finds its tables.
enum Sources {
    /// The live engine `engine`: shared arrangements in this worker's registry.
    Engine { registry: Rc<RefCell<Registry>>, engine: u64 },
    /// A one-shot batch run: in-memory rows, this worker's share of them.
    Batch(BatchShare),
}

impl<'s> Views<'s> {
    pub(crate) fn new(scope: Scope<'s, Time>, registry: Rc<RefCell<Registry>>, engine: u64) -> Self {
        Views { scope, sources: Sources::Engine { registry, engine }, error: RefCell::new(None) }
    }

    pub(crate) fn batch(scope: Scope<'s, Time>, share: BatchShare) -> Self {
        Views { scope, sources: Sources::Batch(share), error: RefCell::new(None) }
    }

    pub(crate) fn into_error(self) -> Option<Error> {
        self.error.into_inner()
    }

    /// The dataflow scope the view is built in, for operators that need it (`iterate`, sources).
    pub fn scope(&self) -> Scope<'s, Time> {
        self.scope
    }

    /// A collection that holds each of `rows` once (repeat a row to hold it several times), from
    /// the start of time: constants such as a lookup list or a default row, without a table.
    ///
    /// The rows are held exactly once across all workers (each worker keeps every `peers`-th
    /// row), at time 0, so they are in every reading: `at(t)` for every retained `t` (of a view
    /// created before or after any commit), every subscription's snapshot, and every batch run.
    /// They never change afterwards. Since they are at time 0, operators that depend on when a
    /// row was committed (windows, temporal filters) see them as committed at time 0.
    ///
    /// The definition runs on every worker, so `rows` must be the same on every worker (built
    /// from the definition's own data, not from a worker-local source). For multiplicities
    /// other than one, give `(row, diff)` pairs and `explode` them:
    /// `v.constant(pairs).explode(|(row, diff)| Some((row, diff)))`.
    ///
    /// Never fails. A view whose only input is `constant` is complete at once for every time:
    /// its reads at future times answer at once, and its subscriptions have nothing to deliver
    /// after the snapshot (one empty batch reaching to `Time::MAX`, then no more batches).
    pub fn constant<R: Row>(&self, rows: impl IntoIterator<Item = R>) -> VecCollection<'s, Time, R, Diff> {
        let (index, peers) = (self.scope.index(), self.scope.peers());
        let mine: Vec<(R, Time, Diff)> = rows
            .into_iter()
            .enumerate()
            .filter(|(i, _)| i % peers == index)
            .map(|(_, row)| (row, 0, 1))
            .collect();
        mine.to_stream(self.scope).as_collection()
    }

    /// The rows of a bag table, with their multiplicities.
    pub fn table<T: Row>(&self, table: &Table<T>) -> VecCollection<'s, Time, T, Diff> {
        self.import::<RowTrace<T>>(table.engine(), table.id(), table.name(), "table")
    }

    /// The `(key, value)` pairs of a keyed table.
    pub fn keyed_table<K: Row, V: Row>(
        &self,
        table: &KeyedTable<K, V>,
    ) -> VecCollection<'s, Time, (K, V), Diff> {
        self.import::<KeyedTrace<K, V>>(table.engine(), table.id(), table.name(), "keyed table")
    }

    /// The rows of an earlier view.
    pub fn view<R: Row>(&self, view: &View<R>) -> VecCollection<'s, Time, R, Diff> {
        match &self.sources {
            Sources::Batch(_) => view.definition.build(self),
            Sources::Engine { .. } => self.import::<RowTrace<R>>(view.core.id(), view.id, &view.name, "view"),
        }
    }

    /// The `(key, value)` rows of an earlier keyed view.
    pub fn keyed_view<K: Row, V: Row>(
        &self,
        view: &KeyedView<K, V>,
    ) -> VecCollection<'s, Time, (K, V), Diff> {
        match &self.sources {
            Sources::Batch(_) => view.definition.build(self),
            Sources::Engine { .. } => {
                self.import::<KeyedTrace<K, V>>(view.core.id(), view.id, &view.name, "keyed view")
            }
        }
    }

    /// The collection of source `id` (of type `Tr` in the live engine), in this scope.
    fn import<Tr: Layout>(
        &self,
        engine: u64,
        id: SourceId,
        name: &str,
        kind: &'static str,
    ) -> VecCollection<'s, Time, Tr::Row, Diff> {
        match &self.sources {
            Sources::Engine { registry, engine: ours } => {
                if engine != *ours {
                    return self.fail(Error::ForeignHandle { name: name.to_string() });
                }
                let trace = registry.borrow().trace::<Tr>(id).cloned();
                match trace {
                    Some(mut trace) => trace.import_rows(self.scope, name),
                    None => self.fail(Error::UnknownName { kind, name: name.to_string() }),
                }
            }
            Sources::Batch(share) => match share.rows::<Tr::Row>(engine, id) {
                Some(rows) => rows.to_stream(self.scope).as_collection(),
                None => self.fail(Error::MissingInput { table: name.to_string() }),
            },
        }
    }

    fn fail<D: Row>(&self, error: Error) -> VecCollection<'s, Time, D, Diff> {
        self.error.borrow_mut().get_or_insert(error);
        empty(self.scope).as_collection()
    }
}

/// A view whose rows are arranged whole. Cheap to clone; `Send + Sync`.
pub struct View<R: 'static> {
    pub(crate) core: Arc<Core>,
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
        peek::stats(&self.core, self.id)
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
        match peek::rows(&self.core, self.id, t, timeout) {
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
    pub(crate) core: Arc<Core>,
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
        let owner = Targets::One((key.hashed() % self.core.peers() as u64) as usize);
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
        peek::stats(&self.core, self.id)
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
        match peek::keyed_rows(&self.core, self.id, t, keys.clone(), targets, timeout) {
            Err(compacted @ Error::Compacted { .. }) => {
                from_files(&self.core, &self.definition, t, compacted)
                    .map(|rows| rows.into_iter().filter(|((k, _), _)| keys.contains(k)).collect())
            }
            other => other,
        }
        .map_err(|error| error.reading(&self.name))
    }
}

/// A read older than the in-memory history: answered exactly by a batch run of the view's
/// definition over the stored tables as of `t` if the storage still reaches back that far, or
/// else the `compacted` error it met.
fn from_files<R: Row>(
    core: &Core,
    definition: &Definition<R>,
    t: Time,
    compacted: Error,
) -> Result<Vec<(R, Diff)>> {
    match batch::from_storage(core, t)? {
        Some(inputs) => batch::run(definition, &inputs, core.workers()),
        None => Err(compacted),
    }
}
