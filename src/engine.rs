//! The engine: starts workers, names tables and views, commits transactions, shuts down.

use std::marker::PhantomData;
use std::sync::Arc;

use differential_dataflow::VecCollection;

use crate::config::Config;
use crate::coordinator::Coordinator;
use crate::coordinator::drop::{TABLES, VIEWS};
use crate::coordinator::read::History;
use crate::definition::{Definition, Views};
#[cfg(doc)]
use crate::error::Error;
use crate::error::Result;
use crate::inputs::Inputs;
use crate::row::Row;
use crate::shard::kind::{Kind, RowType};
use crate::source::bag_table::BagTable;
use crate::source::keyed_table::KeyedTable as KeyedTableKind;
use crate::source::keyed_view::KeyedView as KeyedViewKind;
use crate::source::row_view::RowView;
use crate::source::streamed_table::StreamedTable;
use crate::table::{KeyedTable, Table};
use crate::time::{Diff, Time};
use crate::transaction::{CommitFuture, Transaction};
use crate::view::{KeyedView, View};

/// An embedded incremental view maintenance engine.
///
/// `Engine` is a cheap handle (`Send + Sync + Clone`) to a set of timely worker threads that own
/// every table and view. An idle engine uses no CPU: its workers park until a command arrives.
/// The engine stops when [`shutdown`](Self::shutdown) is called or when its last `Engine`
/// handle is dropped; table and view handles then return [`Error::Shutdown`].
///
/// If a worker panics (in user view code, say), the engine is poisoned: every worker leaves
/// its loop and drops its dataflows, the worker threads end, and every later call returns
/// [`Error::WorkerPanicked`] with the panic message, starting with the call that saw the
/// worker go.
///
/// # Names
///
/// Tables and views share one namespace per engine. A name is 1 to 255 bytes of Unicode
/// letters and digits, `_`, `-`, `.` and `:`, starting with a letter, a digit or `_`
/// (`orders`, `revenue_by_country`, `q3.v2`, `shop::top_customers`). Anything else (empty,
/// longer, with spaces, slashes, control characters, or starting with `.`, `-` or `:`) is
/// refused with [`Error::InvalidName`] before anything is created. A name opened as another
/// kind than it holds (a bag table as a keyed table, a view as a table) is
/// [`Error::KindMismatch`]; creating a view under a name already taken is
/// [`Error::DuplicateName`].
///
/// # Errors every call can return
///
/// Besides the errors each method lists, every fallible call on the engine and on its table,
/// view and subscription handles can fail with:
/// - [`Error::Shutdown`] once the engine was shut down;
/// - [`Error::WorkerPanicked`] once a worker panicked;
/// - in a cluster, [`Error::PeerLost`] once another process died or went silent for longer
///   than the peer timeout, and [`Error::NotLeader`] on
///   processes other than 0, which only register and [`serve`](Self::serve).
///
/// # Example
///
/// ```
/// use ivm::{Config, Engine, Error};
/// # fn main() -> ivm::Result<()> {
/// let engine = Engine::start(Config::default().with_workers(2))?;
/// let table = engine.table::<u64>("numbers")?;
/// let t = engine.commit(|tx| tx.insert(&table, 7))?;
/// assert_eq!(table.at(t)?, vec![(7, 1)]);
///
/// let handle = engine.clone(); // handles share the engine
/// engine.shutdown();
/// assert_eq!(handle.latest(), Err(Error::Shutdown));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Engine {
    owner: Arc<Owner>,
}

/// Shuts the workers down when the last `Engine` handle goes away.
struct Owner {
    core: Arc<Coordinator>,
}

impl Drop for Owner {
    fn drop(&mut self) {
        self.core.shutdown();
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("workers", &self.core().workers()).finish()
    }
}

impl Engine {
    /// Starts the workers on background threads and returns once they are ready.
    ///
    /// Fails with [`Error::InvalidConfig`] if the configuration is invalid (the message names
    /// the setting). With storage ([`Config::with_storage`](crate::Config::with_storage)) it
    /// also fails with [`Error::StorageLocked`] if another engine has the directory open,
    /// [`Error::Corrupted`] or [`Error::IncompatibleFormat`] if a stored file cannot be used
    /// (nothing is changed on disk then), and [`Error::Io`]. In a cluster it fails with
    /// [`Error::PeerUnreachable`] if a process does not connect in time and with
    /// [`Error::ClusterMismatch`] if the processes were started with other settings.
    pub fn start(config: Config) -> Result<Engine> {
        let core = Coordinator::start(&config)?;
        Ok(Engine { owner: Arc::new(Owner { core }) })
    }

    fn core(&self) -> &Arc<Coordinator> {
        &self.owner.core
    }

    /// This engine's id, which its handles carry.
    pub(crate) fn engine_id(&self) -> u64 {
        self.core().id()
    }

    /// The number of worker threads of this process.
    pub fn workers(&self) -> usize {
        self.core().workers()
    }

    /// The number of worker threads of the whole cluster (of this process, outside a cluster).
    pub fn cluster_workers(&self) -> usize {
        self.core().peers()
    }

    /// This process's index in its cluster ([`Config::with_cluster`](crate::Config::with_cluster));
    /// 0 outside a cluster.
    pub fn process(&self) -> usize {
        self.core().process()
    }

    /// True on the process that commits, reads and subscribes: process 0 of a cluster, or any
    /// engine outside a cluster. Elsewhere those calls fail with [`Error::NotLeader`].
    pub fn is_leader(&self) -> bool {
        self.core().process() == 0
    }

    /// On a process other than 0 of a cluster, once it has registered every table and view
    /// (the same ones, in the same order, as process 0): takes part in the cluster until
    /// process 0 shuts it down, then returns `Ok(())`.
    ///
    /// Fails with [`Error::PeerLost`] if another process dies, or process 0 goes silent for
    /// longer than the peer timeout, with [`Error::ClusterMismatch`]
    /// if process 0 creates a table or view this process did not register the same way, and
    /// with [`Error::InvalidConfig`] on process 0 (which runs the application instead).
    pub fn serve(&self) -> Result<()> {
        self.core().serve()
    }

    /// Creates the bag table `name` with rows of type `T`, or reopens it if it exists with that
    /// row type.
    ///
    /// Fails with [`Error::InvalidName`] if `name` is not a valid [name](Self#names), with
    /// [`Error::TypeMismatch`] if it exists with another row type, and with
    /// [`Error::KindMismatch`] if a keyed table or a view has that name (also when the storage
    /// directory holds a keyed table of that name).
    pub fn table<T: Row>(&self, name: &str) -> Result<Table<T>> {
        let id = self.core().create(name, Arc::new(BagTable::<T>::new()))?;
        Ok(Table { core: Arc::clone(self.core()), id, name: name.into(), row: PhantomData })
    }

    /// Creates the keyed table `name` from keys `K` to values `V`, or reopens it if it exists
    /// with those types. Fails like [`table`](Self::table).
    pub fn keyed_table<K: Row, V: Row>(&self, name: &str) -> Result<KeyedTable<K, V>> {
        let id = self.core().create(name, Arc::new(KeyedTableKind::<K, V>::new()))?;
        Ok(KeyedTable { core: Arc::clone(self.core()), id, name: name.into(), row: PhantomData })
    }

    /// Creates the streamed table `name` with rows of type `T`, or reopens it if it exists with
    /// that row type: a bag table whose rows are not kept in memory, for streams of events.
    ///
    /// It is written and read in views exactly like a [`table`](Self::table) (the handle is a
    /// [`Table`]), but no worker keeps its rows: each commit's rows flow into the views that
    /// read it and are gone, so its memory is what those views keep, as in a hand-written
    /// differential program fed by an input. Rows and their deletions both flow.
    ///
    /// Its history is its storage's: with [`Config::with_storage`](crate::Config::with_storage),
    /// its writes are logged like a table's, and reading it at a time ([`Table::at`],
    /// [`Table::history_at`]), a batch run over it
    /// ([`BatchInputs::from_engine`](crate::batch::BatchInputs::from_engine)) and a view created
    /// after rows arrived (which replays them first) are answered from the log and the
    /// checkpoints, as far back as they reach
    /// ([`Config::with_log_retention`](crate::Config::with_log_retention)). Without storage,
    /// those fail with [`Error::NotKept`], naming the table; views created before its first
    /// rows work without storage. Key reads and file exports of it fail with
    /// [`Error::NotKept`] too.
    ///
    /// Fails like [`table`](Self::table), and with [`Error::KindMismatch`] if a (kept) table
    /// has that name.
    ///
    /// ```
    /// use ivm::{Config, Engine, Error};
    /// # fn main() -> ivm::Result<()> {
    /// let engine = Engine::start(Config::default())?;
    /// let clicks = engine.streamed_table::<(String, u32)>("clicks")?;
    /// let per_page = engine.view("per_page", {
    ///     let clicks = clicks.clone();
    ///     move |v| v.table(&clicks).map(|(page, _user)| page).count()
    /// })?;
    /// let t = engine.commit(|tx| {
    ///     tx.insert(&clicks, ("home".into(), 1));
    ///     tx.insert(&clicks, ("home".into(), 2));
    /// })?;
    /// assert_eq!(per_page.at(t)?, vec![(("home".to_string(), 2), 1)]);
    /// // The clicks themselves are gone: without storage they cannot be read back.
    /// assert!(matches!(clicks.at(t), Err(Error::NotKept { .. })));
    /// # Ok(()) }
    /// ```
    pub fn streamed_table<T: Row>(&self, name: &str) -> Result<Table<T>> {
        let id = self.core().create(name, Arc::new(StreamedTable::<T>::new()))?;
        Ok(Table { core: Arc::clone(self.core()), id, name: name.into(), row: PhantomData })
    }

    /// Opens the existing bag table `name`: like [`table`](Self::table), but fails with
    /// [`Error::UnknownName`] instead of creating it.
    pub fn open_table<T: Row>(&self, name: &str) -> Result<Table<T>> {
        let id = self.core().open(name, "table", RowType::of::<T>())?.0;
        Ok(Table { core: Arc::clone(self.core()), id, name: name.into(), row: PhantomData })
    }

    /// Opens the existing keyed table `name`: like [`keyed_table`](Self::keyed_table), but fails
    /// with [`Error::UnknownName`] instead of creating it.
    pub fn open_keyed_table<K: Row, V: Row>(&self, name: &str) -> Result<KeyedTable<K, V>> {
        let id = self.core().open(name, "keyed table", RowType::of::<(K, V)>())?.0;
        Ok(KeyedTable { core: Arc::clone(self.core()), id, name: name.into(), row: PhantomData })
    }

    /// Creates the view `name` from a definition: a closure that receives the engine's tables
    /// and views (see [`Views`]) and returns a differential collection.
    ///
    /// The view is built on every worker and shows all data committed so far. Fails with
    /// [`Error::InvalidName`] if `name` is not a valid [name](Self#names), with
    /// [`Error::DuplicateName`] if the name is taken, and with [`Error::UnknownName`] or
    /// [`Error::ForeignHandle`] if the definition reads a table or view this engine does not
    /// have; nothing is created then.
    pub fn view<R, F>(&self, name: &str, logic: F) -> Result<View<R>>
    where
        R: Row,
        F: for<'s> Fn(&Views<'s>) -> VecCollection<'s, Time, R, Diff> + Send + Sync + 'static,
    {
        self.view_from(name, &Definition::new(logic))
    }

    /// Creates the view `name` from a definition that names its inputs once: `logic` receives
    /// the [`Views`] context and the collections of `inputs` (a reference to a table or view
    /// handle, or a tuple of them; see [`Inputs`]), so it needs no clones of the handles:
    ///
    /// ```
    /// use ivm::{Config, Engine};
    /// # fn main() -> ivm::Result<()> {
    /// let engine = Engine::start(Config::default())?;
    /// let edges = engine.table::<(u32, u32)>("edges")?;
    /// let names = engine.keyed_table::<u32, String>("names")?;
    /// let out_names = engine.view_over("out_names", (&edges, &names), |_, (edges, names)| {
    ///     edges.join(names).map(|(_from, (_to, name))| name).distinct()
    /// })?;
    /// let t = engine.commit(|tx| {
    ///     tx.insert_all(&edges, [(1, 2), (1, 3)]);
    ///     tx.upsert(&names, 1, "one".into());
    /// })?;
    /// assert_eq!(out_names.at(t)?, vec![("one".to_string(), 1)]);
    /// # Ok(()) }
    /// ```
    ///
    /// The same as `view_from(name, &Definition::over(inputs, logic))`; fails like
    /// [`view`](Self::view).
    pub fn view_over<R, I, F>(&self, name: &str, inputs: I, logic: F) -> Result<View<R>>
    where
        R: Row,
        I: Inputs,
        F: for<'s> Fn(&Views<'s>, I::Collections<'s>) -> VecCollection<'s, Time, R, Diff>
            + Send
            + Sync
            + 'static,
    {
        self.view_from(name, &Definition::over(inputs, logic))
    }

    /// Creates the keyed view `name` from a definition that names its inputs once (see
    /// [`view_over`](Self::view_over)); fails like [`view`](Self::view).
    pub fn keyed_view_over<K, V, I, F>(&self, name: &str, inputs: I, logic: F) -> Result<KeyedView<K, V>>
    where
        K: Row,
        V: Row,
        I: Inputs,
        F: for<'s> Fn(&Views<'s>, I::Collections<'s>) -> VecCollection<'s, Time, (K, V), Diff>
            + Send
            + Sync
            + 'static,
    {
        self.keyed_view_from(name, &Definition::over(inputs, logic))
    }

    /// Creates the view `name` from a definition value (see [`view`](Self::view)).
    pub fn view_from<R: Row>(&self, name: &str, definition: &Definition<R>) -> Result<View<R>> {
        let id = self.core().create(name, Arc::new(RowView::new(definition.clone())))?;
        let definition = definition.clone();
        Ok(View { core: Arc::clone(self.core()), id, name: name.into(), definition, kept: true })
    }

    /// Creates the streamed view `name`: a view whose result is not kept. Subscriptions get its
    /// changes as they get a view's, and nothing holds its rows: its memory is what its
    /// operators keep (a `count` keeps its counts, a `map` nothing), not its result. For views
    /// whose result is large and read as a stream (every event enriched, filtered or joined),
    /// usually over [streamed tables](Self::streamed_table).
    ///
    /// Its reads ([`View::at`]) run its definition as a batch over the history through the
    /// time of the tables it reads (kept tables from memory, streamed tables from storage,
    /// failing with [`Error::NotKept`] without it), so they cost a batch run each and
    /// answer every time the inputs' history reaches. A subscription's snapshot is that read
    /// at its `as_of`, which must be the latest commit (the default): older changes went by
    /// unkept, and an older `as_of` fails with [`Error::Compacted`]. Another view cannot read
    /// it ([`Error::NotKept`] when that view is created). Fails otherwise like
    /// [`view`](Self::view); [`open_view`](Self::open_view) reopens it and
    /// [`drop_view`](Self::drop_view) drops it.
    ///
    /// ```
    /// use ivm::{Config, Engine};
    /// # fn main() -> ivm::Result<()> {
    /// let engine = Engine::start(Config::default())?;
    /// let clicks = engine.table::<(String, u32)>("clicks")?;
    /// let from_ads = engine.streamed_view("from_ads", {
    ///     let clicks = clicks.clone();
    ///     move |v| v.table(&clicks).filter(|(page, _)| page.starts_with("ad/"))
    /// })?;
    /// let mut changes = from_ads.subscribe()?;
    /// let t = engine.commit(|tx| {
    ///     tx.insert(&clicks, ("ad/shoes".into(), 1));
    ///     tx.insert(&clicks, ("home".into(), 2));
    /// })?;
    /// assert!(changes.next().unwrap()?.updates.is_empty()); // the snapshot, before the commit
    /// let batch = changes.next().unwrap()?;
    /// assert_eq!(batch.updates, vec![(("ad/shoes".to_string(), 1), t, 1)]);
    /// // A read runs the definition over the table's history: the same rows, recomputed.
    /// assert_eq!(from_ads.at(t)?, vec![(("ad/shoes".to_string(), 1), 1)]);
    /// assert_eq!(from_ads.stats()?.updates, 0);
    /// # Ok(()) }
    /// ```
    pub fn streamed_view<R, F>(&self, name: &str, logic: F) -> Result<View<R>>
    where
        R: Row,
        F: for<'s> Fn(&Views<'s>) -> VecCollection<'s, Time, R, Diff> + Send + Sync + 'static,
    {
        self.streamed_view_from(name, &Definition::new(logic))
    }

    /// Creates the streamed view `name` from a [`Definition`]; see
    /// [`streamed_view`](Self::streamed_view).
    pub fn streamed_view_from<R: Row>(&self, name: &str, definition: &Definition<R>) -> Result<View<R>> {
        let id = self.core().create(name, Arc::new(RowView::streamed(definition.clone())))?;
        let definition = definition.clone();
        Ok(View { core: Arc::clone(self.core()), id, name: name.into(), definition, kept: false })
    }

    /// Creates the keyed view `name`, whose definition returns `(key, value)` rows; the view is
    /// arranged by key and answers [`KeyedView::get`] and [`KeyedView::range`] without
    /// scanning. Fails like [`view`](Self::view).
    ///
    /// A keyed view is expected to hold one value per key (an aggregate per key, a join with a
    /// keyed table, ...). The engine does not refuse other rows, and the exact reads
    /// ([`at`](KeyedView::at), [`get`](KeyedView::get), [`range`](KeyedView::range)) show every
    /// value of a key with its multiplicity; the plain reads [`KeyedView::value`] and
    /// [`KeyedView::entries_at`] check it, and fail with [`Error::KeyNotUnique`] on a key with
    /// two values (or a value held twice, or negatively), so a definition that is not a
    /// function of its key is an error where it is read, not a silently picked value.
    pub fn keyed_view<K, V, F>(&self, name: &str, logic: F) -> Result<KeyedView<K, V>>
    where
        K: Row,
        V: Row,
        F: for<'s> Fn(&Views<'s>) -> VecCollection<'s, Time, (K, V), Diff> + Send + Sync + 'static,
    {
        self.keyed_view_from(name, &Definition::new(logic))
    }

    /// Creates the keyed view `name` from a definition value (see
    /// [`keyed_view`](Self::keyed_view)).
    pub fn keyed_view_from<K: Row, V: Row>(
        &self,
        name: &str,
        definition: &Definition<(K, V)>,
    ) -> Result<KeyedView<K, V>> {
        let id = self.core().create(name, Arc::new(KeyedViewKind::new(definition.clone())))?;
        Ok(KeyedView { core: Arc::clone(self.core()), id, name: name.into(), definition: definition.clone() })
    }

    /// Opens the existing view `name` with rows of type `R`, for code that did not create it.
    ///
    /// Fails with [`Error::UnknownName`] if there is no such view, with [`Error::TypeMismatch`]
    /// if its rows have another type, and with [`Error::KindMismatch`] if the name holds a
    /// table or a keyed view.
    pub fn open_view<R: Row>(&self, name: &str) -> Result<View<R>> {
        let (id, kind) = self.core().open(name, "view", RowType::of::<R>())?;
        let (definition, kept) =
            definition_of::<RowView<R>, _>(&kind, |view| (view.definition.clone(), view.kept))?;
        Ok(View { core: Arc::clone(self.core()), id, name: name.into(), definition, kept })
    }

    /// Opens the existing keyed view `name` with keys `K` and values `V`; fails like
    /// [`open_view`](Self::open_view).
    pub fn open_keyed_view<K: Row, V: Row>(&self, name: &str) -> Result<KeyedView<K, V>> {
        let (id, kind) = self.core().open(name, "keyed view", RowType::of::<(K, V)>())?;
        let definition = definition_of::<KeyedViewKind<K, V>, _>(&kind, |view| view.definition.clone())?;
        Ok(KeyedView { core: Arc::clone(self.core()), id, name: name.into(), definition })
    }

    /// Drops the table or keyed table `name`: its rows and its dataflow are freed on every
    /// worker, and the name is free for a new table or view.
    ///
    /// Handles made before the drop fail with [`Error::Dropped`] from then on (a transaction
    /// that writes to it commits nothing), even if a new source takes the name. Fails with
    /// [`Error::UnknownName`] if there is no such table, with [`Error::KindMismatch`] if the
    /// name holds a view, with [`Error::InUse`] (naming them) while views read it, and with
    /// [`Error::StoredTable`] if the engine has storage, whose log keeps the table's rows;
    /// nothing is dropped then.
    ///
    /// ```
    /// use ivm::{Config, Engine, Error};
    /// # fn main() -> ivm::Result<()> {
    /// let engine = Engine::start(Config::default())?;
    /// let clicks = engine.table::<u64>("clicks")?;
    /// let total = engine.view_over("total", &clicks, |_, clicks| clicks.count())?;
    /// assert!(matches!(engine.drop_table("clicks"), Err(Error::InUse { .. })));
    /// engine.drop_view("total")?;
    /// engine.drop_table("clicks")?;
    /// assert_eq!(clicks.at(engine.latest()?), Err(Error::Dropped { name: "clicks".into() }));
    /// # Ok(()) }
    /// ```
    pub fn drop_table(&self, name: &str) -> Result<()> {
        self.core().drop_source(name, TABLES)
    }

    /// Drops the view or keyed view `name`: its dataflow and its arrangement are freed on
    /// every worker, and the name is free for a new table or view.
    ///
    /// A read of it that was waiting ends with [`Error::Dropped`]; each subscription to it
    /// delivers the batches that were complete, then ends with [`Error::Dropped`]. Handles
    /// made before the drop fail the same way from then on. Fails with
    /// [`Error::UnknownName`] if there is no such view, with [`Error::KindMismatch`] if the
    /// name holds a table, and with [`Error::InUse`] (naming them) while other views read it;
    /// nothing is dropped then. Views of an engine with storage can be dropped: the storage
    /// keeps tables only.
    pub fn drop_view(&self, name: &str) -> Result<()> {
        self.core().drop_source(name, VIEWS)
    }

    /// Starts a transaction; commit it with [`Transaction::commit`].
    pub fn transaction(&self) -> Transaction {
        Transaction::new(Arc::clone(self.core()))
    }

    /// Runs `writes` on a new transaction and commits it at the next engine-assigned time
    /// (the last commit time plus one), which it returns.
    ///
    /// Commits may come from many threads at once; each gets its own timestamp. Fails like
    /// [`Transaction::commit`]; a failed commit applies nothing.
    pub fn commit(&self, writes: impl FnOnce(&mut Transaction)) -> Result<Time> {
        let mut transaction = self.transaction();
        writes(&mut transaction);
        transaction.commit()
    }

    /// Like [`commit`](Self::commit), as a future that never blocks the thread polling it (see
    /// [`Transaction::commit_async`]). `writes` runs now, on the caller's thread; the commit,
    /// when the future is first polled.
    pub fn commit_async(&self, writes: impl FnOnce(&mut Transaction)) -> CommitFuture {
        let mut transaction = self.transaction();
        writes(&mut transaction);
        transaction.commit_async()
    }

    /// Like [`commit`](Self::commit), at a caller-chosen `time`, which must be greater than the
    /// last commit time; otherwise fails with [`Error::TimeNotIncreasing`] and applies nothing.
    pub fn commit_at(&self, time: Time, writes: impl FnOnce(&mut Transaction)) -> Result<Time> {
        let mut transaction = self.transaction();
        writes(&mut transaction);
        transaction.commit_at(time)
    }

    /// The time of the last commit (0 before the first). After a restart with storage, the last
    /// stored commit's time.
    pub fn latest(&self) -> Result<Time> {
        self.core().latest()
    }

    /// The oldest time that reads can still ask for under the retention policy; reads before it
    /// fail with [`Error::Compacted`] (unless the storage still reaches back there, see
    /// [`Config::with_log_retention`](crate::Config::with_log_retention)).
    pub fn since(&self) -> Result<Time> {
        self.core().since()
    }

    /// What the engine holds: for every table and view (by name, with its kind) its rows,
    /// the updates and batches its arrangement holds, an estimate of their bytes, and its
    /// `since` and `upper`; for every live subscription the updates delivered to it and not
    /// yet read; and the total. Summed over every worker of every process. Print it for an
    /// aligned table. Streamed tables and views keep nothing on the workers: their figures are
    /// zeros, marked not kept. See [`TraceStats`](crate::TraceStats) for what each figure
    /// means and how it is gathered (rows are counted by a walk of every batch, on the workers,
    /// so the call costs about one read of everything).
    ///
    /// ```
    /// # use ivm::{Config, Engine};
    /// # fn main() -> ivm::Result<()> {
    /// let engine = Engine::start(Config::default())?;
    /// let numbers = engine.table::<u64>("numbers")?;
    /// let t = engine.commit(|tx| {
    ///     tx.insert(&numbers, 1);
    ///     tx.insert(&numbers, 2);
    /// })?;
    /// numbers.at(t)?; // waits until the workers hold `t`
    /// let stats = engine.stats()?;
    /// let table = stats.source("numbers").unwrap();
    /// assert_eq!((table.kind, table.trace.rows, table.trace.upper), ("table", 2, t + 1));
    /// println!("{stats}");
    /// # Ok(()) }
    /// ```
    pub fn stats(&self) -> Result<crate::EngineStats> {
        self.core().engine_stats()
    }

    /// Every named consumer ([`View::consumer`](crate::View::consumer)), by name: its view,
    /// what it acknowledged and how far back it holds history.
    pub fn consumers(&self) -> Result<Vec<crate::ConsumerInfo>> {
        self.core().consumers()
    }

    /// Forgets the named consumer `name`: its position is removed (from storage too) and the
    /// history it held back is released; a handle open on it fails with
    /// [`Error::ConsumerDropped`] on its next call. Fails with [`Error::UnknownName`] if there
    /// is no such consumer.
    pub fn drop_consumer(&self, name: &str) -> Result<()> {
        self.core().drop_consumer(name)
    }

    /// Writes a checkpoint now: every table's contents as of [`since`](Self::since), after which
    /// older log segments are removed. Returns the checkpoint's time, or `None` if `since` has
    /// not moved since the last checkpoint (with [`Retention::All`](crate::Retention::All) it
    /// never does: all history stays in the log) or tables recovered from disk are not
    /// registered again yet. Fails with [`Error::InvalidConfig`] without storage, and with
    /// [`Error::Io`] if a file cannot be written or an old one cannot be removed; in the second
    /// case the new checkpoint is already durable, and the old file is removed again by the next
    /// checkpoint.
    pub fn checkpoint(&self) -> Result<Option<Time>> {
        self.core().checkpoint(true)
    }

    /// Stops the workers and waits for their threads to end. Pending reads return
    /// [`Error::Shutdown`]; so does every later call on this engine or its handles.
    /// Calling it again does nothing.
    pub fn shutdown(&self) {
        self.core().shutdown();
    }

    /// Every table's history through `t`.
    pub(crate) fn table_histories(&self, t: Time) -> Result<Vec<History>> {
        self.core().histories(t)
    }
}

/// The definition a view's kind holds, taken out by `take`.
fn definition_of<S: 'static, D>(kind: &Arc<dyn Kind>, take: impl FnOnce(&S) -> D) -> Result<D> {
    kind.as_any().downcast_ref::<S>().map(take).ok_or_else(crate::shard::kind::mismatched)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Definitions hold handles, handles hold the engine, and the engine's catalog holds the
    /// definitions: shutting down must break that circle, or an engine is never freed.
    #[test]
    fn a_shut_down_engine_is_freed_once_its_handles_are_gone() {
        for shut_down_first in [true, false] {
            let engine = Engine::start(Config::default().with_workers(2)).unwrap();
            let freed = Arc::downgrade(engine.core());
            let table = engine.table::<u64>("numbers").unwrap();
            let view = engine.view_over("next", &table, |_, numbers| numbers.map(|n| n + 1)).unwrap();
            let keyed = engine.keyed_view_over("by_parity", &view, |_, v| v.map(|n| (n % 2, n))).unwrap();
            let t = engine.commit(|tx| tx.insert(&table, 1)).unwrap();
            let subscription = keyed.subscribe().unwrap();
            assert_eq!(view.at(t).unwrap(), vec![(2, 1)]);
            if shut_down_first {
                engine.shutdown();
            }
            drop((engine, table, view, keyed, subscription));
            assert!(
                freed.upgrade().is_none(),
                "the engine outlived every handle (shut down first: {shut_down_first})"
            );
        }
    }
}
