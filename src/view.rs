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
use crate::blocking;
use crate::coordinator::{Coordinator, Targets};
use crate::definition::{Definition, KeyedArrangement, Views};
use crate::error::{Error, Result};
use crate::protocol::SourceId;
use crate::protocol::stats::TraceStats;
use crate::protocol::wire::{ReadKind, encode};
use crate::read::consumer::Consumer;
use crate::read::plain::{entries, expand, one_value};
use crate::read::subscribe::{SubscribeOptions, Subscription};
use crate::row::Row;
use crate::shard::layout::{KeyedTrace, RowTrace, worker_of};
use crate::shard::peek::KeySelection;
use crate::time::{Diff, Time};

/// A view whose rows are arranged whole, or, for a streamed view
/// ([`Engine::streamed_view`](crate::Engine::streamed_view)), not kept at all. Cheap to clone;
/// `Send + Sync`.
pub struct View<R: 'static> {
    pub(crate) core: Arc<Coordinator>,
    pub(crate) id: SourceId,
    pub(crate) name: Arc<str>,
    pub(crate) definition: Definition<R>,
    /// False for a streamed view: reads are batch runs, subscriptions start from one.
    pub(crate) kept: bool,
}

impl<R: 'static> Clone for View<R> {
    fn clone(&self) -> Self {
        View {
            core: Arc::clone(&self.core),
            id: self.id,
            name: Arc::clone(&self.name),
            definition: self.definition.clone(),
            kept: self.kept,
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

    /// Like [`at`](Self::at), as a future that waits for the workers without blocking a thread,
    /// on any executor. A read older than the in-memory history, answered from the stored
    /// files, runs on a thread of `ivm`'s small blocking pool. Dropping the future cancels the
    /// read (wrap it in your runtime's timeout for the effect of [`at_timeout`](Self::at_timeout)).
    ///
    /// The future owns what it needs (`'static`), so it can be spawned:
    ///
    /// ```
    /// # use ivm::{Config, Engine};
    /// # async fn example() -> ivm::Result<()> {
    /// let engine = Engine::start(Config::default())?;
    /// let clicks = engine.table::<u32>("clicks")?;
    /// let per_page = engine.view("per_page", {
    ///     let clicks = clicks.clone();
    ///     move |v| v.table(&clicks).count()
    /// })?;
    /// let t = engine.commit_async(|tx| tx.insert_all(&clicks, [7, 7, 9])).await?;
    /// assert_eq!(per_page.at_async(t).await?, vec![((7, 2), 1), ((9, 1), 1)]);
    /// # Ok(()) }
    /// ```
    pub fn at_async(&self, t: Time) -> impl Future<Output = Result<Vec<(R, Diff)>>> + Send + use<R> {
        let rows = match self.kept {
            true => Ok(self.core.read_rows_async::<(R, Diff)>(self.id, t, Targets::All, ReadKind::Rows)),
            false => Err(self.clone()),
        };
        let settle = self.settle(t);
        async move {
            match rows {
                Ok(rows) => settle.answer_async(rows.await, |_| true).await,
                Err(view) => blocking::run(move || view.recompute(t)).await,
            }
        }
    }

    /// The view's rows at time `t` without multiplicities: each row listed as many times as
    /// the view holds it, in row order. For a view of `count`s, `distinct` rows or a
    /// [`count_total`](crate::ops::Total::count_total), where every row is held once, this is
    /// [`at`](Self::at) without the `1`s.
    ///
    /// Waits and fails like [`at`](Self::at), and with [`Error::NegativeMultiplicity`] if a row
    /// has a negative multiplicity (a view over a bag table's row deleted more often than it
    /// was inserted): a list cannot hold it; [`at`](Self::at) shows it.
    ///
    /// ```
    /// use ivm::ops::*;
    /// # use ivm::{Config, Engine};
    /// # fn main() -> ivm::Result<()> {
    /// let engine = Engine::start(Config::default())?;
    /// let clicks = engine.table::<u32>("clicks")?;
    /// let pages = engine.view_over("pages", &clicks, |_, clicks| clicks.map(|page| page / 10))?;
    /// let total = engine.view_over("total", &clicks, |_, clicks| clicks.count_total())?;
    /// let t = engine.commit(|tx| tx.insert_all(&clicks, [71, 75, 93]))?;
    /// assert_eq!(pages.at(t)?, vec![(7, 2), (9, 1)]);
    /// assert_eq!(pages.rows_at(t)?, vec![7, 7, 9]);
    /// assert_eq!(total.rows_at(t)?, vec![3]);
    /// # Ok(()) }
    /// ```
    pub fn rows_at(&self, t: Time) -> Result<Vec<R>> {
        expand(self.at(t)?, &self.name, t)
    }

    /// Like [`rows_at`](Self::rows_at), as a future; see [`at_async`](Self::at_async).
    pub fn rows_at_async(&self, t: Time) -> impl Future<Output = Result<Vec<R>>> + Send + use<R> {
        let (rows, name) = (self.at_async(t), Arc::clone(&self.name));
        async move { expand(rows.await?, &name, t) }
    }

    /// How much the view's arrangement holds, summed over every worker of every process:
    /// its line of [`Engine::stats`](crate::Engine::stats) (see [`TraceStats`]).
    pub fn stats(&self) -> Result<TraceStats> {
        self.core.stats(self.id)
    }

    /// Subscribes to the view's changes from the latest commit on, starting with a snapshot;
    /// see [`Subscription`].
    pub fn subscribe(&self) -> Result<Subscription<R>> {
        self.subscribe_with(SubscribeOptions::default())
    }

    /// Opens the named consumer `name` of this view: its stored position, or a new consumer
    /// whose first batch is the snapshot at the latest commit (see [`Consumer`]). Fails with
    /// [`Error::DuplicateName`] if a handle on `name` is open, or `name` is a consumer of
    /// another view, with [`Error::InvalidName`] for a name that is not one, and with
    /// [`Error::NotKept`] on a streamed view (its history is not kept to resume from).
    pub fn consumer(&self, name: &str) -> Result<Consumer<R>> {
        Consumer::open(&self.core, self.id, &self.name, self.kept, name)
    }

    /// Subscribes with options: where to start (`as_of`), whether to begin with a snapshot,
    /// and where to end (`until`). Fails with [`Error::Compacted`] if `as_of` is older than the
    /// retained history.
    pub fn subscribe_with(&self, options: SubscribeOptions) -> Result<Subscription<R>> {
        match self.kept {
            true => Subscription::start(&self.core, self.id, &self.name, options, None),
            false => {
                Subscription::start(&self.core, self.id, &self.name, options, Some(&|t| self.recompute(t)))
            }
        }
    }

    fn read(&self, t: Time, timeout: Option<Duration>) -> Result<Vec<(R, Diff)>> {
        if !self.kept {
            return self.recompute(t);
        }
        let rows = self.core.read_rows::<(R, Diff)>(self.id, t, Targets::All, ReadKind::Rows, timeout);
        self.settle(t).answer(rows, |_| true)
    }

    /// A streamed view's rows at `t`: its definition run as a batch over the history through
    /// `t` of the tables it reads (kept tables from memory, streamed tables from storage).
    fn recompute(&self, t: Time) -> Result<Vec<(R, Diff)>> {
        let histories = self.core.histories_under(self.id, t).map_err(|error| error.reading(&self.name))?;
        let inputs = BatchInputs::from_histories(self.core.id(), t, histories);
        run(&self.definition, &inputs, self.core.workers())
    }

    /// True for a view whose rows are kept (arranged); false for a streamed view.
    pub fn is_kept(&self) -> bool {
        self.kept
    }

    /// Like [`at`](Self::at), with the rows in the order the workers answered (each worker's
    /// share sorted): for readers that do not need the order, such as a file export.
    #[cfg(feature = "files")]
    pub(crate) fn at_unsorted(&self, t: Time) -> Result<Vec<(R, Diff)>> {
        if !self.kept {
            return self.recompute(t);
        }
        let rows = self.core.read_rows::<(R, Diff)>(self.id, t, Targets::All, ReadKind::Rows, None);
        self.settle(t).answer_unsorted(rows, |_| true)
    }

    fn settle(&self, t: Time) -> Settle<R> {
        Settle {
            core: Arc::clone(&self.core),
            definition: self.definition.clone(),
            name: Arc::clone(&self.name),
            t,
        }
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

    /// Like [`at`](Self::at), as a future; see [`View::at_async`].
    pub fn at_async(&self, t: Time) -> impl Future<Output = Result<Vec<((K, V), Diff)>>> + Send + use<K, V> {
        self.read_async(t, KeySelection::All, Targets::All)
    }

    /// The values of `key` at time `t`, sorted, with their multiplicities. Only the worker that
    /// owns `key` is asked, and it seeks straight to the key.
    pub fn get(&self, key: &K, t: Time) -> Result<Vec<(V, Diff)>> {
        Ok(values(self.key_rows(key, t)?))
    }

    /// Like [`get`](Self::get), as a future; see [`View::at_async`].
    pub fn get_async(
        &self,
        key: &K,
        t: Time,
    ) -> impl Future<Output = Result<Vec<(V, Diff)>>> + Send + use<K, V> {
        let (keys, owner) = self.lookup(key);
        let rows = self.read_async(t, keys, owner);
        async move { rows.await.map(values) }
    }

    /// The one value of `key` at time `t`, or `None` if the view does not hold the key. Only
    /// the worker that owns `key` is asked, as for [`get`](Self::get).
    ///
    /// A keyed view is expected to hold one value per key, and this read checks it: a key with
    /// two values, or with a value held twice or a negative number of times, fails with
    /// [`Error::KeyNotUnique`] naming the view, the key and what it holds. Otherwise waits and
    /// fails like [`at`](Self::at).
    ///
    /// ```
    /// use ivm::ops::*;
    /// # use ivm::{Config, Engine};
    /// # fn main() -> ivm::Result<()> {
    /// let engine = Engine::start(Config::default())?;
    /// let orders = engine.table::<(String, u64)>("orders")?; // (customer, cents)
    /// let spend = engine.keyed_view_over("spend", &orders, |_, orders| orders.sum_per_key())?;
    /// let t = engine.commit(|tx| tx.insert_all(&orders, [("ann".into(), 250), ("ann".into(), 50)]))?;
    /// assert_eq!(spend.value(&"ann".to_string(), t)?, Some(300));
    /// assert_eq!(spend.value(&"bob".to_string(), t)?, None);
    /// // `get` is the exact read: every value, with its multiplicity.
    /// assert_eq!(spend.get(&"ann".to_string(), t)?, vec![(300, 1)]);
    /// # Ok(()) }
    /// ```
    pub fn value(&self, key: &K, t: Time) -> Result<Option<V>> {
        one_value(self.key_rows(key, t)?, &self.name, t)
    }

    /// Like [`value`](Self::value), as a future; see [`View::at_async`].
    pub fn value_async(
        &self,
        key: &K,
        t: Time,
    ) -> impl Future<Output = Result<Option<V>>> + Send + use<K, V> {
        let (keys, owner) = self.lookup(key);
        let (rows, name) = (self.read_async(t, keys, owner), Arc::clone(&self.name));
        async move { one_value(rows.await?, &name, t) }
    }

    /// The view's `(key, value)` pairs at time `t`, one per key, sorted by key: the whole view
    /// as [`value`](Self::value) sees it, checked the same way (a key with anything other than
    /// one value held once fails with [`Error::KeyNotUnique`]). Waits and fails otherwise like
    /// [`at`](Self::at).
    pub fn entries_at(&self, t: Time) -> Result<Vec<(K, V)>> {
        entries(self.at(t)?, &self.name, t)
    }

    /// Like [`entries_at`](Self::entries_at), as a future; see [`View::at_async`].
    pub fn entries_at_async(&self, t: Time) -> impl Future<Output = Result<Vec<(K, V)>>> + Send + use<K, V> {
        let (rows, name) = (self.at_async(t), Arc::clone(&self.name));
        async move { entries(rows.await?, &name, t) }
    }

    /// The rows whose key lies in `keys` at time `t`, sorted. Every worker seeks to the start of
    /// the range and stops at its end (keys are spread over workers by hash).
    pub fn range(&self, keys: impl RangeBounds<K>, t: Time) -> Result<Vec<((K, V), Diff)>> {
        let keys = KeySelection::Range(keys.start_bound().cloned(), keys.end_bound().cloned());
        self.read(t, keys, Targets::All, None)
    }

    /// Like [`at`](Self::at), with the rows in the order the workers answered; see
    /// [`View::at_unsorted`].
    #[cfg(feature = "files")]
    #[allow(clippy::type_complexity, reason = "the pair and its multiplicity, as `at` returns them")]
    pub(crate) fn at_unsorted(&self, t: Time) -> Result<Vec<((K, V), Diff)>> {
        let rows = self.core.read_rows::<((K, V), Diff)>(self.id, t, Targets::All, ReadKind::Rows, None);
        self.settle(t).answer_unsorted(rows, |_| true)
    }

    /// How much the view's arrangement holds, summed over every worker of every process:
    /// its line of [`Engine::stats`](crate::Engine::stats) (see [`TraceStats`]).
    pub fn stats(&self) -> Result<TraceStats> {
        self.core.stats(self.id)
    }

    /// Subscribes to the view's `(key, value)` changes; see [`View::subscribe`].
    pub fn subscribe(&self) -> Result<Subscription<(K, V)>> {
        self.subscribe_with(SubscribeOptions::default())
    }

    /// Opens the named consumer `name` of this view; see [`View::consumer`].
    pub fn consumer(&self, name: &str) -> Result<Consumer<(K, V)>> {
        Consumer::open(&self.core, self.id, &self.name, true, name)
    }

    /// Subscribes with options; see [`View::subscribe_with`].
    pub fn subscribe_with(&self, options: SubscribeOptions) -> Result<Subscription<(K, V)>> {
        Subscription::start(&self.core, self.id, &self.name, options, None)
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
        self.settle(t).answer(rows, |(k, _)| keys.contains(k))
    }

    fn read_async(
        &self,
        t: Time,
        keys: KeySelection<K>,
        targets: Targets,
    ) -> impl Future<Output = Result<Vec<((K, V), Diff)>>> + Send + use<K, V> {
        let read = match &keys {
            KeySelection::All => ReadKind::Rows,
            range => ReadKind::Keys(encode(range)),
        };
        let rows = self.core.read_rows_async::<((K, V), Diff)>(self.id, t, targets, read);
        let settle = self.settle(t);
        async move { settle.answer_async(rows.await, move |(k, _)| keys.contains(k)).await }
    }

    /// The rows of `key` at time `t`, from the worker that owns it.
    fn key_rows(&self, key: &K, t: Time) -> Result<Vec<((K, V), Diff)>> {
        let (keys, owner) = self.lookup(key);
        self.read(t, keys, owner, None)
    }

    /// The selection of exactly `key`, and the worker that owns it.
    fn lookup(&self, key: &K) -> (KeySelection<K>, Targets) {
        let owner = Targets::One(worker_of(key, self.core.peers()));
        (KeySelection::only(key), owner)
    }

    fn settle(&self, t: Time) -> Settle<(K, V)> {
        Settle {
            core: Arc::clone(&self.core),
            definition: self.definition.clone(),
            name: Arc::clone(&self.name),
            t,
        }
    }
}

/// The values of a keyed read.
fn values<K, V>(rows: Vec<((K, V), Diff)>) -> Vec<(V, Diff)> {
    rows.into_iter().map(|((_, v), diff)| (v, diff)).collect()
}

/// What turns the workers' rows of a view's read at `t` into its answer: sorted, or, for a read
/// older than the in-memory history, a batch run over the stored files (the rows it keeps).
struct Settle<R: 'static> {
    core: Arc<Coordinator>,
    definition: Definition<R>,
    name: Arc<str>,
    t: Time,
}

impl<R: Row> Settle<R> {
    fn answer(self, rows: Result<Vec<(R, Diff)>>, keep: impl Fn(&R) -> bool) -> Result<Vec<(R, Diff)>> {
        self.answer_unsorted(rows.map(sorted), keep)
    }

    /// Like [`answer`](Self::answer), leaving the workers' rows in the order they came: each
    /// worker's share sorted, the shares one after another (a read older than memory comes
    /// sorted).
    fn answer_unsorted(
        self,
        rows: Result<Vec<(R, Diff)>>,
        keep: impl Fn(&R) -> bool,
    ) -> Result<Vec<(R, Diff)>> {
        match rows {
            Err(compacted @ Error::Compacted { .. }) => {
                from_files(&self.core, &self.definition, self.t, compacted)
                    .map(|rows| rows.into_iter().filter(|(row, _)| keep(row)).collect())
            }
            other => other,
        }
        .map_err(|error| error.reading(&self.name))
    }

    /// Like [`answer`](Self::answer), with the batch run on the blocking pool.
    async fn answer_async(
        self,
        rows: Result<Vec<(R, Diff)>>,
        keep: impl Fn(&R) -> bool + Send + 'static,
    ) -> Result<Vec<(R, Diff)>> {
        match rows {
            Err(Error::Compacted { .. }) => {
                let name = Arc::clone(&self.name);
                blocking::run(move || self.answer(rows, keep)).await.map_err(|error| error.reading(&name))
            }
            rows => self.answer(rows, keep),
        }
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

    /// The rows of an earlier view as `convert` makes them from each borrowed row: only what
    /// `convert` takes is copied out of the view's arrangement (`ivm::sql` reads Rust views
    /// through it).
    #[cfg(feature = "sql")]
    pub(crate) fn view_converted<R: Row, D: differential_dataflow::Data>(
        &self,
        view: &View<R>,
        convert: impl Fn(&R) -> D + Clone + 'static,
    ) -> VecCollection<'s, Time, D, Diff> {
        if self.reruns_views() {
            return view.definition.build(self).map(move |row| convert(&row));
        }
        self.import_converted(view.core.id(), view.id, &view.name, "view", convert)
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

    /// An earlier keyed view as its arrangement by key, imported without copying or arranging
    /// its rows again; see [`keyed_table_arranged`](Self::keyed_table_arranged). In a batch run
    /// the view's definition runs again here and its rows are arranged.
    pub fn keyed_view_arranged<K: Row, V: Row>(&self, view: &KeyedView<K, V>) -> KeyedArrangement<'s, K, V> {
        if self.reruns_views() {
            return view.definition.build(self).arrange_by_key_named(&view.name);
        }
        self.import_arranged(view.core.id(), view.id, &view.name, "keyed view")
    }
}
