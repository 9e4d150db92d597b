//! A checker for your own views (feature `testing`): the live view, its subscription and the
//! one-shot batch run of its definition must agree at every time, and, if you give one, with
//! your own expected answer.
//!
//! Give [`check`] a setup (create the tables, return their handles and the view definition)
//! and a [`History`] of transactions. It runs the live engine, subscribes to the view from the
//! start and reads the subscription as it commits (as a subscriber that keeps up does), then
//! compares at every interesting time `t` (every commit time, every time the stream shows a
//! change, and the time just before each): `view.at(t)`, the stream summed up to `t`, and
//! `batch::run` of the definition over the tables as of `t`. The first time and row where any
//! two disagree is reported.
//!
//! The checker's subscription keeps every update at its own time, so the summed stream is
//! exact at every `t`. (An ordinary subscriber that falls behind gets what it missed in one
//! batch with times moved forward, exact at the end of each batch it receives: see
//! [`Subscription`].)
//!
//! The three readings run one definition, so a view that is wrong the same way in all three
//! passes [`check`]. To catch that, give [`check_against`] an oracle: a naive from-scratch
//! computation of what the view should hold at each time, compared with the three readings.
//!
//! ```
//! use ivm::testing::{check, History};
//! use ivm::Definition;
//!
//! let history = History::new()
//!     .commit(|edges, tx| tx.insert(edges, (1, 2)))
//!     .commit(|edges, tx| tx.insert(edges, (1, 3)))
//!     .commit_at(10, |edges, tx| tx.delete(edges, (1, 2)));
//! let report = check(2, |engine| {
//!     let edges = engine.table::<(u32, u32)>("edges")?;
//!     let degree = Definition::new({
//!         let edges = edges.clone();
//!         move |v| v.table(&edges).map(|(src, _)| src).count()
//!     });
//!     Ok((edges, degree))
//! }, &history).expect("the three readings agree");
//! assert_eq!(report.commits, 3);
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::batch::{self, BatchInputs};
use crate::config::Config;
use crate::definition::Definition;
use crate::engine::Engine;
use crate::error::Error;
use crate::protocol::feed::Batch;
use crate::read::subscribe::{SubscribeOptions, Subscription};
use crate::row::Row;
use crate::time::{Diff, Time};
use crate::transaction::Transaction;
use crate::view::View;

/// One step of a history: an optional commit time and the writes.
type Step<S> = (Option<Time>, Box<dyn Fn(&S, &mut Transaction)>);

/// Transactions to commit, each a closure over the tables the setup returned.
pub struct History<S> {
    steps: Vec<Step<S>>,
}

impl<S> Default for History<S> {
    fn default() -> Self {
        History { steps: Vec::new() }
    }
}

impl<S> fmt::Debug for History<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("History").field("transactions", &self.steps.len()).finish()
    }
}

impl<S> History<S> {
    /// An empty history.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a transaction committed at the next engine-assigned time.
    pub fn commit(mut self, writes: impl Fn(&S, &mut Transaction) + 'static) -> Self {
        self.steps.push((None, Box::new(writes)));
        self
    }

    /// Appends a transaction committed at `time` (which must exceed the previous commit's).
    pub fn commit_at(mut self, time: Time, writes: impl Fn(&S, &mut Transaction) + 'static) -> Self {
        self.steps.push((Some(time), Box::new(writes)));
        self
    }

    /// The number of transactions.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// True if there are no transactions.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

/// What a successful check compared.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Report {
    /// Transactions committed.
    pub commits: usize,
    /// Times at which the three readings were compared.
    pub times: Vec<Time>,
    /// Times the engine was shut down and started again ([`Checker::restart_every`]).
    pub restarts: usize,
}

/// The first place where the readings disagree.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Disagreement<R> {
    /// The time of the first disagreement.
    pub time: Time,
    /// The first row (in row order) whose multiplicity differs.
    pub row: R,
    /// Its multiplicity in `view.at(time)`.
    pub at: Diff,
    /// Its multiplicity in the subscription summed up to `time`.
    pub stream: Diff,
    /// Its multiplicity in the one-shot batch run over the tables as of `time`.
    pub batch: Diff,
    /// Its multiplicity in the oracle's answer ([`check_against`]); `None` without an oracle.
    pub expected: Option<Diff>,
}

/// Why a check failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckFailure<R> {
    /// The readings disagree.
    Disagreement(Disagreement<R>),
    /// The setup, a commit, a read or the batch run failed.
    Error(Error),
}

impl<R: fmt::Debug> fmt::Display for CheckFailure<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckFailure::Disagreement(d) => {
                write!(
                    f,
                    "at time {} row {:?} has multiplicity {} in at(t), {} in the summed stream and {} \
                     in the batch run",
                    d.time, d.row, d.at, d.stream, d.batch
                )?;
                match d.expected {
                    Some(expected) => write!(f, "; the oracle expects {expected}"),
                    None => Ok(()),
                }
            }
            CheckFailure::Error(error) => write!(f, "the check could not run: {error}"),
        }
    }
}

impl<R: fmt::Debug> std::error::Error for CheckFailure<R> {}

impl<R> From<Error> for CheckFailure<R> {
    fn from(error: Error) -> Self {
        CheckFailure::Error(error)
    }
}

/// Runs the live engine (with `workers` workers, all history retained), a subscription and
/// batch runs for the view that `setup` defines, over `history`, and reports the first
/// disagreement between them.
///
/// Fails with [`CheckFailure::Error`] if the setup, a commit, a read or a batch run fails.
/// [`Checker`] runs the same check with storage, a streamed view and restarts.
pub fn check<S, R: Row>(
    workers: usize,
    setup: impl FnOnce(&Engine) -> crate::Result<(S, Definition<R>)>,
    history: &History<S>,
) -> Result<Report, CheckFailure<R>> {
    Checker::new(workers).run(&mut once(setup), history, None)
}

/// Like [`check`], and each time the three readings are compared they must also equal
/// `oracle(t, applied)`: what the view should hold at time `t`, as `(row, multiplicity)`
/// pairs in any order (zero multiplicities are ignored), where `applied` is the number of the
/// history's transactions committed at or before `t`.
///
/// The oracle is what catches a view that is wrong in the same way live, streamed and in
/// batch: write it as a naive recomputation from the history's rows.
///
/// ```
/// use ivm::testing::{check_against, History};
/// use ivm::Definition;
///
/// let rows: Vec<u32> = (1..=20).collect();
/// let mut history = History::new();
/// for &row in &rows {
///     history = history.commit(move |t, tx| tx.insert(t, row));
/// }
/// // The even rows among the first `applied` ones: a from-scratch answer.
/// let oracle = |_time: ivm::Time, applied: usize| -> Vec<(u32, ivm::Diff)> {
///     rows[..applied].iter().filter(|x| *x % 2 == 0).map(|x| (*x, 1)).collect()
/// };
/// check_against(2, |engine| {
///     let t = engine.table::<u32>("t")?;
///     let evens = Definition::new({
///         let t = t.clone();
///         move |v| v.table(&t).filter(|x| x % 2 == 0)
///     });
///     Ok((t, evens))
/// }, &history, oracle).expect("the view matches the oracle");
/// ```
pub fn check_against<S, R: Row>(
    workers: usize,
    setup: impl FnOnce(&Engine) -> crate::Result<(S, Definition<R>)>,
    history: &History<S>,
    mut oracle: impl FnMut(Time, usize) -> Vec<(R, Diff)>,
) -> Result<Report, CheckFailure<R>> {
    Checker::new(workers).run(&mut once(setup), history, Some(&mut oracle))
}

/// The check of [`check`] and [`check_against`] with more of the engine in it: storage, a
/// streamed view, restarts.
///
/// - [`with_storage`](Self::with_storage) keeps the history in a directory, so the setup can
///   create streamed tables ([`Engine::streamed_table`]), whose reads, late views and batch
///   inputs come from the log.
/// - [`streamed_view`](Self::streamed_view) checks the definition as a streamed view
///   ([`Engine::streamed_view_from`]), which keeps nothing: its `at(t)` is a batch run over the
///   stored history.
/// - [`restart_every`](Self::restart_every) shuts the engine down after every `n`
///   transactions, starts it again on the directory and calls the setup again (so the setup is
///   `FnMut`, where [`check`]'s is `FnOnce`). The subscription resumes after what it had read, as a consumer that stored its
///   place would, and every reading is compared at every time of the whole history at the end.
///
/// ```
/// use ivm::testing::{Checker, History};
/// use ivm::Definition;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = std::env::temp_dir().join(format!("ivm-checker-doc-{}", std::process::id()));
/// let mut history = History::new();
/// for i in 0..12u32 {
///     history = history.commit(move |clicks, tx| tx.insert(clicks, (i % 3, i)));
/// }
/// let report = Checker::new(2)
///     .with_storage(&dir)
///     .streamed_view()
///     .restart_every(5)
///     .check(|engine| {
///         let clicks = engine.streamed_table::<(u32, u32)>("clicks")?;
///         let per_page = Definition::new({
///             let clicks = clicks.clone();
///             move |v| v.table(&clicks).map(|(page, _)| page).count()
///         });
///         Ok((clicks, per_page))
///     }, &history)?;
/// assert_eq!((report.commits, report.restarts), (12, 2));
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Checker {
    workers: usize,
    storage: Option<PathBuf>,
    streamed: bool,
    restart_every: Option<usize>,
}

impl Checker {
    /// [`check`]'s settings: `workers` workers, no storage, a kept view, no restart.
    pub fn new(workers: usize) -> Self {
        Checker { workers, storage: None, streamed: false, restart_every: None }
    }

    /// Keeps the engine's history in `dir` ([`Config::with_storage`]), which must be empty or
    /// not exist (the check fails with [`Error::InvalidConfig`] otherwise: its history would
    /// not be the check's). The files stay there after the check, to look at when it fails.
    pub fn with_storage(mut self, dir: impl Into<PathBuf>) -> Self {
        self.storage = Some(dir.into());
        self
    }

    /// Checks the definition as a streamed view, which keeps nothing and reads at past times by
    /// running the definition over the stored history (it needs [`with_storage`](Self::with_storage)
    /// when the setup creates streamed tables).
    pub fn streamed_view(mut self) -> Self {
        self.streamed = true;
        self
    }

    /// Restarts the engine after every `transactions` transactions (at least 1). Needs
    /// [`with_storage`](Self::with_storage); the check fails with [`Error::InvalidConfig`]
    /// without it.
    pub fn restart_every(mut self, transactions: usize) -> Self {
        self.restart_every = Some(transactions);
        self
    }

    /// [`check`] with these settings; `setup` is called again after each restart.
    pub fn check<S, R: Row>(
        &self,
        mut setup: impl FnMut(&Engine) -> crate::Result<(S, Definition<R>)>,
        history: &History<S>,
    ) -> Result<Report, CheckFailure<R>> {
        self.run(&mut setup, history, None)
    }

    /// [`check_against`] with these settings; `setup` is called again after each restart.
    pub fn check_against<S, R: Row>(
        &self,
        mut setup: impl FnMut(&Engine) -> crate::Result<(S, Definition<R>)>,
        history: &History<S>,
        mut oracle: impl FnMut(Time, usize) -> Vec<(R, Diff)>,
    ) -> Result<Report, CheckFailure<R>> {
        self.run(&mut setup, history, Some(&mut oracle))
    }

    /// The engine's configuration, after checking the settings agree with each other.
    fn config(&self) -> crate::Result<Config> {
        let config = Config::default().with_workers(self.workers);
        let Some(dir) = &self.storage else {
            return match self.restart_every {
                Some(_) => Err(Error::InvalidConfig(
                    "Checker::restart_every needs Checker::with_storage: an engine without storage \
                     starts again with nothing"
                        .into(),
                )),
                None => Ok(config),
            };
        };
        if self.restart_every == Some(0) {
            return Err(Error::InvalidConfig("Checker::restart_every needs at least 1 transaction".into()));
        }
        let used = std::fs::read_dir(dir).map(|mut entries| entries.next().is_some()).unwrap_or(false);
        if used {
            return Err(Error::InvalidConfig(format!(
                "the checker's storage directory {} is not empty: a check starts from no history",
                dir.display()
            )));
        }
        Ok(config.with_storage(dir))
    }

    fn run<S, R: Row>(
        &self,
        setup: Setup<'_, S, R>,
        history: &History<S>,
        mut oracle: Option<Oracle<'_, R>>,
    ) -> Result<Report, CheckFailure<R>> {
        let config = self.config()?;
        let mut live = Live::open(Engine::start(config.clone())?, setup, self.streamed, None)?;
        let mut stream: Vec<Batch<R>> = Vec::new();
        let mut commits = Vec::new();
        let mut restarts = 0;
        for (index, (time, writes)) in history.steps.iter().enumerate() {
            let mut transaction = live.engine.transaction();
            writes(&live.tables, &mut transaction);
            let committed = match time {
                Some(time) => transaction.commit_at(*time)?,
                None => transaction.commit()?,
            };
            commits.push(committed);
            read_through(&mut live.subscription, committed, &mut stream)?;
            let last_step = index + 1 == history.steps.len();
            if self.restart_every.is_some_and(|every| (index + 1) % every == 0) && !last_step {
                live = live.restart(&config, setup, self.streamed)?;
                restarts += 1;
            }
        }
        let Live { engine, view, mut subscription, definition, .. } = live;
        let last = engine.latest()?;
        read_through(&mut subscription, last, &mut stream)?;
        let mut times: BTreeSet<Time> = commits.iter().copied().collect();
        times.insert(0);
        times.extend(stream.iter().flat_map(|b| b.updates.iter().map(|(_, t, _)| *t)).filter(|t| *t <= last));
        let before: Vec<Time> = times.iter().filter(|t| **t > 0).map(|t| t - 1).collect();
        times.extend(before);
        for &t in &times {
            let at = view.at(t)?;
            let summed = sum_through(&stream, t);
            let batch = batch::run(&definition, &BatchInputs::from_engine(&engine, t)?, self.workers)?;
            let expected = oracle.as_mut().map(|oracle| oracle(t, commits.partition_point(|c| *c <= t)));
            if let Some(disagreement) = first_difference(t, &at, &summed, &batch, expected.as_deref()) {
                return Err(CheckFailure::Disagreement(disagreement));
            }
        }
        Ok(Report { commits: commits.len(), times: times.into_iter().collect(), restarts })
    }
}

/// An oracle: the expected collection at a time, given the transactions applied by then.
type Oracle<'a, R> = &'a mut dyn FnMut(Time, usize) -> Vec<(R, Diff)>;

/// The setup: the tables' handles and the definition under check, made on an engine.
type Setup<'a, S, R> = &'a mut dyn FnMut(&Engine) -> crate::Result<(S, Definition<R>)>;

/// A setup that may be called once ([`check`]'s, which never restarts).
fn once<S, R: Row>(
    setup: impl FnOnce(&Engine) -> crate::Result<(S, Definition<R>)>,
) -> impl FnMut(&Engine) -> crate::Result<(S, Definition<R>)> {
    let mut setup = Some(setup);
    move |engine| (setup.take().expect("a check without restarts sets up once"))(engine)
}

/// The name of the view under check.
const VIEW: &str = "ivm::testing::check";

/// A running engine with the setup's tables, the view under check and its subscription.
struct Live<S, R: Row> {
    engine: Engine,
    tables: S,
    definition: Definition<R>,
    view: View<R>,
    subscription: Subscription<R>,
}

impl<S, R: Row> Live<S, R> {
    /// Sets up `engine`; the subscription starts from nothing, or after `resume` (the last
    /// commit a restarted engine's subscription had read through).
    fn open(
        engine: Engine,
        setup: Setup<'_, S, R>,
        streamed: bool,
        resume: Option<Time>,
    ) -> crate::Result<Self> {
        let (tables, definition) = setup(&engine)?;
        let view = match streamed {
            true => engine.streamed_view_from(VIEW, &definition)?,
            false => engine.view_from(VIEW, &definition)?,
        };
        let options = match resume {
            None => SubscribeOptions::default().as_of(0),
            Some(last) => SubscribeOptions::default().as_of(last).snapshot(false),
        };
        let subscription = view.subscribe_with(options.exact())?;
        Ok(Live { engine, tables, definition, view, subscription })
    }

    /// Shuts the engine down and starts it again on its directory.
    fn restart(self, config: &Config, setup: Setup<'_, S, R>, streamed: bool) -> crate::Result<Self> {
        let last = self.engine.latest()?;
        let Live { engine, tables, view, subscription, .. } = self;
        drop((subscription, view, tables));
        engine.shutdown();
        drop(engine);
        Live::open(Engine::start(config.clone())?, setup, streamed, Some(last))
    }
}

/// Reads batches until the stream is complete through `t`.
fn read_through<R: Row>(
    subscription: &mut Subscription<R>,
    t: Time,
    stream: &mut Vec<Batch<R>>,
) -> crate::Result<()> {
    while stream.last().is_none_or(|b| b.upper <= t) {
        match subscription.next_timeout(Duration::from_secs(60))? {
            Some(batch) => stream.push(batch),
            None => break,
        }
    }
    Ok(())
}

/// The collection obtained by summing every streamed update with `time <= t`.
fn sum_through<R: Row>(stream: &[Batch<R>], t: Time) -> Vec<(R, Diff)> {
    let mut sum = BTreeMap::new();
    for (row, time, diff) in stream.iter().flat_map(|b| &b.updates) {
        if *time <= t {
            *sum.entry(row.clone()).or_insert(0) += diff;
        }
    }
    sum.into_iter().filter(|(_, diff)| *diff != 0).collect()
}

/// The first row, in row order, whose multiplicity differs between the three readings (and
/// the oracle's answer, if there is one).
fn first_difference<R: Row>(
    time: Time,
    at: &[(R, Diff)],
    stream: &[(R, Diff)],
    batch: &[(R, Diff)],
    expected: Option<&[(R, Diff)]>,
) -> Option<Disagreement<R>> {
    let mut rows: BTreeMap<&R, [Diff; 4]> = BTreeMap::new();
    for (reading, rows_of) in [at, stream, batch, expected.unwrap_or(&[])].into_iter().enumerate() {
        for (row, diff) in rows_of {
            rows.entry(row).or_default()[reading] += diff;
        }
    }
    let differs = |[a, s, b, e]: &[Diff; 4]| a != s || a != b || (expected.is_some() && a != e);
    rows.into_iter().find(|(_, diffs)| differs(diffs)).map(|(row, [at, stream, batch, oracle])| {
        Disagreement { time, row: row.clone(), at, stream, batch, expected: expected.map(|_| oracle) }
    })
}

#[cfg(test)]
mod tests {
    use super::first_difference;

    #[test]
    fn the_first_differing_row_is_reported() {
        let at = vec![(1, 1), (2, 1), (3, 2)];
        let stream = vec![(1, 1), (2, 1), (3, 2)];
        let batch = vec![(1, 1), (3, 1)];
        let d = first_difference(7, &at, &stream, &batch, None).unwrap();
        assert_eq!((d.time, d.row, d.at, d.stream, d.batch, d.expected), (7, 2, 1, 1, 0, None));
        assert!(first_difference(7, &at, &stream, &at, None).is_none());
    }

    #[test]
    fn the_oracle_is_a_fourth_reading() {
        let agreed = vec![(1, 1), (3, 2)];
        assert!(first_difference(2, &agreed, &agreed, &agreed, Some(&[(3, 2), (1, 1), (5, 0)])).is_none());
        let d = first_difference(2, &agreed, &agreed, &agreed, Some(&[(1, 1), (2, 1), (3, 2)])).unwrap();
        assert_eq!((d.row, d.at, d.stream, d.batch, d.expected), (2, 0, 0, 0, Some(1)));
    }
}
