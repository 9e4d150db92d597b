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
pub struct Report {
    /// Transactions committed.
    pub commits: usize,
    /// Times at which the three readings were compared.
    pub times: Vec<Time>,
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
pub fn check<S, R: Row>(
    workers: usize,
    setup: impl FnOnce(&Engine) -> crate::Result<(S, Definition<R>)>,
    history: &History<S>,
) -> Result<Report, CheckFailure<R>> {
    run(workers, setup, history, None)
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
    run(workers, setup, history, Some(&mut oracle))
}

/// An oracle: the expected collection at a time, given the transactions applied by then.
type Oracle<'a, R> = &'a mut dyn FnMut(Time, usize) -> Vec<(R, Diff)>;

fn run<S, R: Row>(
    workers: usize,
    setup: impl FnOnce(&Engine) -> crate::Result<(S, Definition<R>)>,
    history: &History<S>,
    mut oracle: Option<Oracle<'_, R>>,
) -> Result<Report, CheckFailure<R>> {
    let engine = Engine::start(Config::default().with_workers(workers))?;
    let (tables, definition) = setup(&engine)?;
    let view = engine.view_from("ivm::testing::check", &definition)?;
    let mut subscription = view.subscribe_with(SubscribeOptions::default().as_of(0).exact())?;
    let mut stream: Vec<Batch<R>> = Vec::new();
    let mut commits = Vec::new();
    for (time, writes) in &history.steps {
        let mut transaction = engine.transaction();
        writes(&tables, &mut transaction);
        let committed = match time {
            Some(time) => transaction.commit_at(*time)?,
            None => transaction.commit()?,
        };
        commits.push(committed);
        read_through(&mut subscription, committed, &mut stream)?;
    }
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
        let batch = batch::run(&definition, &BatchInputs::from_engine(&engine, t)?, workers)?;
        let expected = oracle.as_mut().map(|oracle| oracle(t, commits.partition_point(|c| *c <= t)));
        if let Some(disagreement) = first_difference(t, &at, &summed, &batch, expected.as_deref()) {
            return Err(CheckFailure::Disagreement(disagreement));
        }
    }
    Ok(Report { commits: commits.len(), times: times.into_iter().collect() })
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
