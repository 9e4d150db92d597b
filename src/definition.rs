//! View definitions, and what they see: a [`Definition`] is a view's logic as a value, and
//! [`Views`] is the context it runs in, on a live engine's worker or in a one-shot batch run.
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
//! `Views` reads through [`Sources`]: the live engine's arrangements on one worker ([`Live`]),
//! or a batch run's rows (`batch/job.rs`). Its methods that take a handle are written beside the
//! handle (`Views::table` in `table.rs`, `Views::view` in `view.rs`), so that this file stays
//! below the handles, which hold definitions.
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

use std::any::Any;
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fmt;
use std::rc::Rc;
use std::sync::Arc;

use differential_dataflow::VecCollection;
use differential_dataflow::{AsCollection, Data};
use timely::dataflow::Scope;
use timely::dataflow::operators::generic::operator::empty;
use timely::dataflow::operators::vec::ToStream;

use crate::error::Error;
use crate::protocol::SourceId;
use crate::row::Row;
use crate::shard::hub::NotKept;
use crate::shard::layout::{KeyedTrace, Layout};
use crate::shard::registry::Registry;
use crate::shard::stream::Fanout;
use crate::time::{Diff, Time};

pub use crate::ops::KeyedArrangement;

/// The type of a view definition's logic, as stored in a [`Definition`].
type DefinitionFn<R> = dyn for<'s> Fn(&Views<'s>) -> VecCollection<'s, Time, R, Diff> + Send + Sync;

/// A view definition as a value: the logic of a view, independent of any engine.
///
/// The engine keeps the definition it was given ([`View::definition`](crate::View::definition)); it can be cloned and
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

    /// Runs the logic in a dataflow scope.
    pub fn build<'s>(&self, views: &Views<'s>) -> VecCollection<'s, Time, R, Diff> {
        (self.logic)(views)
    }
}

/// `rows` in `scope` from its first time, each held once across the workers (each worker keeps
/// every `peers`-th): [`Views::constant`], and constants inside loops (`ivm::sql`'s
/// `WITH RECURSIVE`), whose time is not the engine's.
pub(crate) fn constant_in<'s, T: timely::progress::Timestamp, R: differential_dataflow::Data>(
    scope: Scope<'s, T>,
    rows: impl IntoIterator<Item = R>,
) -> VecCollection<'s, T, R, Diff> {
    let (index, peers) = (scope.index(), scope.peers());
    let mine: Vec<(R, T, Diff)> = rows
        .into_iter()
        .enumerate()
        .filter(|(i, _)| i % peers == index)
        .map(|(_, row)| (row, T::minimum(), 1))
        .collect();
    mine.to_stream(scope).as_collection()
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
    sources: Box<dyn Sources>,
    error: RefCell<Option<Error>>,
    /// The sources imported so far: what the catalog records as read by the view.
    reads: RefCell<BTreeSet<SourceId>>,
}

impl<'s> Views<'s> {
    pub(crate) fn new(scope: Scope<'s, Time>, sources: Box<dyn Sources>) -> Self {
        Views { scope, sources, error: RefCell::new(None), reads: RefCell::default() }
    }

    pub(crate) fn into_error(self) -> Option<Error> {
        self.error.into_inner()
    }

    /// What the definition did: the sources it read, or the first error it met.
    pub(crate) fn into_reads(self) -> Result<BTreeSet<SourceId>, Error> {
        match self.error.into_inner() {
            Some(error) => Err(error),
            None => Ok(self.reads.into_inner()),
        }
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
        constant_in(self.scope, rows)
    }

    /// True in a batch run, where earlier views are run again from their definitions instead
    /// of imported.
    pub(crate) fn reruns_views(&self) -> bool {
        self.sources.reruns_views()
    }

    /// The collection of source `id` of engine `engine` (arranged as `Tr` in the live engine),
    /// in this scope; an empty collection, and the error recorded, if this context lacks it.
    pub(crate) fn import<Tr: Layout>(
        &self,
        engine: u64,
        id: SourceId,
        name: &str,
        kind: &'static str,
    ) -> VecCollection<'s, Time, Tr::Row, Diff> {
        let scope = self.scope;
        let wanted = Wanted { engine, id, name, kind };
        self.import_with(&wanted, |mut trace: Tr| trace.import_rows(scope, name), |rows| rows)
    }

    /// The rows of source `id` of engine `engine`, a bag table or a plain view (arranged by
    /// row in the live engine), each as `convert` makes it from a borrowed row: nothing of an
    /// arranged row is copied but what `convert` takes, where [`import`](Self::import) clones
    /// every row out of the arrangement first. An empty collection, and the error recorded, if
    /// this context lacks the source.
    #[cfg(feature = "sql")]
    pub(crate) fn import_converted<R: Row, D: Data>(
        &self,
        engine: u64,
        id: SourceId,
        name: &str,
        kind: &'static str,
        convert: impl Fn(&R) -> D + Clone + 'static,
    ) -> VecCollection<'s, Time, D, Diff> {
        let scope = self.scope;
        let wanted = Wanted { engine, id, name, kind };
        self.import_with(
            &wanted,
            |mut trace: crate::shard::layout::RowTrace<R>| {
                let convert = convert.clone();
                trace.import_named(scope, name).as_collection(move |row, _| convert(row))
            },
            |rows| {
                let convert = convert.clone();
                rows.map(move |row| convert(&row))
            },
        )
    }

    /// The `wanted` source's collection: made by `from_trace` from the live engine's
    /// arrangement, or by `from_rows` from the rows of a streamed table or of a batch run.
    fn import_with<Tr: Layout, D: Data>(
        &self,
        wanted: &Wanted<'_>,
        from_trace: impl Fn(Tr) -> VecCollection<'s, Time, D, Diff>,
        from_rows: impl Fn(VecCollection<'s, Time, Tr::Row, Diff>) -> VecCollection<'s, Time, D, Diff>,
    ) -> VecCollection<'s, Time, D, Diff> {
        let scope = self.scope;
        let found = self.find(wanted, |found| match found {
            Found::Trace(trace, attach) => match trace.downcast_ref::<Tr>() {
                Some(trace) => Some(from_trace(trace.clone())),
                None => trace
                    .downcast_ref::<Fanout<Tr::Row>>()
                    .map(|fanout| from_rows(fanout.attach(scope, attach.reader, attach.hold))),
            },
            Found::Rows(share) => {
                share.iter::<Tr::Row>().map(|rows| from_rows(rows.to_stream(scope).as_collection()))
            }
        });
        found.unwrap_or_else(|error| self.fail(error))
    }

    /// The arrangement by key of keyed source `id` of engine `engine`: in the live engine an
    /// import of its shared trace (nothing copied or arranged again), in a batch run its rows
    /// arranged here; an empty arrangement, and the error recorded, if this context lacks it.
    pub(crate) fn import_arranged<K: Row, V: Row>(
        &self,
        engine: u64,
        id: SourceId,
        name: &str,
        kind: &'static str,
    ) -> KeyedArrangement<'s, K, V> {
        let scope = self.scope;
        let found = self.find(&Wanted { engine, id, name, kind }, |found| match found {
            Found::Trace(trace, _) => {
                trace.downcast_ref::<KeyedTrace<K, V>>().map(|trace| trace.clone().import_named(scope, name))
            }
            Found::Rows(share) => share
                .iter::<(K, V)>()
                .map(|rows| rows.to_stream(scope).as_collection().arrange_by_key_named(name)),
        });
        found.unwrap_or_else(|error| self.fail::<(K, V)>(error).arrange_by_key_named(name))
    }

    /// Hands the `wanted` source to `make`, which returns `None` if it is not of the type
    /// asked for; records the source as read. Fails with the error a definition reading
    /// something this context does not have gets.
    fn find<T>(&self, wanted: &Wanted<'_>, mut make: impl FnMut(Found<'_>) -> Option<T>) -> Result<T, Error> {
        let mut made = None;
        let mut not_kept = false;
        let found = self.sources.visit(wanted, &mut |found| {
            if let Found::Trace(trace, _) = &found
                && trace.is::<NotKept>()
            {
                not_kept = true;
                return false;
            }
            made = make(found);
            made.is_some()
        });
        match (found, made) {
            (Ok(()), Some(made)) => {
                self.reads.borrow_mut().insert(wanted.id);
                Ok(made)
            }
            (Err(_), _) if not_kept => {
                Err(Error::NotKept { name: wanted.name.to_string(), reason: crate::error::VIEW_NOT_KEPT })
            }
            (Err(error), _) => Err(error),
            (Ok(()), None) => Err(self.sources.missing(wanted)),
        }
    }

    fn fail<D: Data>(&self, error: Error) -> VecCollection<'s, Time, D, Diff> {
        self.error.borrow_mut().get_or_insert(error);
        empty(self.scope).as_collection()
    }
}

/// What a definition reads from: the live engine's shared arrangements, or a batch run's rows.
pub(crate) trait Sources {
    /// Hands the `wanted` source to `visit`, which returns false if it is not of the type asked
    /// for. Fails with the error a definition reading something this context does not have
    /// gets.
    fn visit(&self, wanted: &Wanted<'_>, visit: Visit<'_>) -> Result<(), Error>;

    /// The error for the `wanted` source when this context lacks it (or has it with another
    /// type).
    fn missing(&self, wanted: &Wanted<'_>) -> Error;

    /// True if earlier views are run again from their definitions instead of imported.
    fn reruns_views(&self) -> bool;
}

/// The source a definition reads: source `id` of engine `engine`, the `kind` called `name`.
pub(crate) struct Wanted<'a> {
    pub(crate) engine: u64,
    pub(crate) id: SourceId,
    pub(crate) name: &'a str,
    pub(crate) kind: &'static str,
}

/// What a [`Sources`] hands a source to; false if it is not of the type asked for.
pub(crate) type Visit<'a> = &'a mut dyn FnMut(Found<'_>) -> bool;

/// A source as a [`Sources`] has it.
pub(crate) enum Found<'a> {
    /// The live engine's shared arrangement (a `Layout` trace handle), or a streamed table's
    /// `Fanout`, which the view attaches to as `Attach` says.
    Trace(&'a dyn Any, Attach),
    /// A batch run's rows, this worker's share of them.
    Rows(Share),
}

/// One worker's share of a batch run's rows of one table: every `peers`-th update of a
/// `Vec<(row, time, diff)>`, starting at `index`, with the time replaced by `stamp` if given.
pub(crate) struct Share {
    pub(crate) rows: Arc<dyn Any + Send + Sync>,
    pub(crate) index: usize,
    pub(crate) peers: usize,
    pub(crate) stamp: Option<Time>,
}

impl Share {
    /// The share as updates of rows `D`, if the rows are of that type.
    fn iter<D: Row>(self) -> Option<ShareIter<D>> {
        let rows = self.rows.downcast::<Vec<(D, Time, Diff)>>().ok()?;
        Some(ShareIter { rows, next: self.index, step: self.peers, stamp: self.stamp })
    }
}

/// Clones one worker's share of a table's rows into its dataflow.
struct ShareIter<D> {
    rows: Arc<Vec<(D, Time, Diff)>>,
    next: usize,
    step: usize,
    stamp: Option<Time>,
}

impl<D: Clone> Iterator for ShareIter<D> {
    type Item = (D, Time, Diff);

    fn next(&mut self) -> Option<Self::Item> {
        let (row, time, diff) = self.rows.get(self.next)?.clone();
        self.next += self.step;
        Some((row, self.stamp.unwrap_or(time), diff))
    }
}

/// How the view being built attaches to a streamed table it reads (`shard/stream.rs`).
pub(crate) struct Attach {
    /// The view's id.
    pub(crate) reader: SourceId,
    /// Held at this time (the engine's `since`) until the table's stored history is replayed
    /// into it; `None` to start at the table's upper.
    pub(crate) hold: Option<Time>,
}

/// The live engine `engine`'s sources: the shared arrangements in one worker's registry.
pub(crate) struct Live {
    pub(crate) registry: Rc<RefCell<Registry>>,
    pub(crate) engine: u64,
    /// The view being built.
    pub(crate) reader: SourceId,
    pub(crate) since: Time,
    /// The streamed tables whose stored history is replayed into the view once it is built.
    pub(crate) held: BTreeSet<SourceId>,
}

impl Sources for Live {
    fn visit(&self, wanted: &Wanted<'_>, visit: Visit<'_>) -> Result<(), Error> {
        if wanted.engine != self.engine {
            return Err(Error::ForeignHandle { name: wanted.name.to_string() });
        }
        let registry = self.registry.borrow();
        match registry.trace(wanted.id) {
            Some(trace) => {
                let hold = self.held.contains(&wanted.id).then_some(self.since);
                match visit(Found::Trace(trace, Attach { reader: self.reader, hold })) {
                    true => Ok(()),
                    false => Err(self.missing(wanted)),
                }
            }
            _ => Err(self.missing(wanted)),
        }
    }

    fn missing(&self, wanted: &Wanted<'_>) -> Error {
        Error::UnknownName { kind: wanted.kind, name: wanted.name.to_string() }
    }

    fn reruns_views(&self) -> bool {
        false
    }
}
