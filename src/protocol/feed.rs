//! The buffer between the workers and one subscriber.
//!
//! Each worker pushes its shard's updates and its progress here; the subscriber takes batches.
//! A batch covers `[lower, upper)` where `upper` is the least progress over all workers, so it
//! is delivered only once every worker is complete through it.
//!
//! Unread updates stay bounded by the rows that changed, not by the number of commits: when the
//! buffer has grown to twice its size after the last consolidation (plus a little), every unread
//! update has its time advanced to the latest time a worker reported complete and the buffer is
//! consolidated, so a row that changed and changed back leaves nothing. A subscriber that reads
//! again then gets one batch covering the whole interval it missed, with the times of what it
//! missed advanced to a later time inside that batch (at most its last time): summing the batch
//! gives the exact collection at the batch's last time. The snapshot batch is never advanced.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::task::Waker;

use differential_dataflow::consolidation::consolidate_updates;

use crate::error::Error;
use crate::row::Row;
use crate::time::{Diff, Time};

/// A batch of a subscription: every change with `lower <= time < upper`.
///
/// `updates` are consolidated (no zero diffs, one entry per row and time) and sorted by time,
/// then row. A batch with no updates is progress: nothing changed before `upper`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch<D> {
    /// The first time the batch covers.
    pub lower: Time,
    /// The first time the batch does not cover; the next batch starts here.
    pub upper: Time,
    /// The changes, as `(row, time, diff)`.
    pub updates: Vec<(D, Time, Diff)>,
}

/// What a subscriber can take from its feed right now.
pub(crate) enum Take<D> {
    /// A complete batch.
    Batch(Batch<D>),
    /// Nothing complete yet.
    Pending,
    /// The subscription reached its `until`.
    Finished,
    /// The feed ended after every complete batch was taken: the engine stopped (`None`: the
    /// caller asks the engine why), or the view was dropped (the error says so).
    Ended(Option<Error>),
}

/// What the coordinator asks of a subscription's feed, whatever its row type.
pub(crate) trait Unread: Send + Sync {
    /// Unread updates held for the subscriber, and an estimate of their bytes (each the
    /// in-line size of a `(row, Time, Diff)`; heap memory the rows own is not counted).
    fn unread(&self) -> (usize, usize);
}

impl<D: Row> Unread for Feed<D> {
    fn unread(&self) -> (usize, usize) {
        let unread = self.pending();
        (unread, unread * std::mem::size_of::<(D, Time, Diff)>())
    }
}

/// One subscriber's buffer, shared by the workers (which push) and the subscriber (which takes).
pub(crate) struct Feed<D> {
    state: Mutex<FeedState<D>>,
    ready: Condvar,
}

struct FeedState<D> {
    /// Each worker's progress: it has pushed every update before this time. `None` until the
    /// worker has registered the subscription.
    frontiers: Vec<Option<Time>>,
    /// Unread updates, partly consolidated.
    pending: Vec<(D, Time, Diff)>,
    /// `pending.len()` after the last consolidation.
    consolidated: usize,
    /// The lower bound of the next batch.
    lower: Time,
    /// The snapshot time, while the snapshot batch is still to be delivered.
    snapshot: Option<Time>,
    /// The subscription ends once complete through this time.
    until: Option<Time>,
    /// Unread updates were advanced to this time: the next batch must reach past it.
    hold: Time,
    /// Whether unread updates are consolidated with their times advanced (the memory bound).
    /// Off only for `ivm::testing`'s checker, which must sum the stream exactly at every time.
    bounded: bool,
    finished: bool,
    ended: bool,
    /// Why the feed ended, if not because the engine stopped.
    reason: Option<Error>,
    closed: bool,
    waker: Option<Waker>,
}

impl<D: Row> Feed<D> {
    /// A feed for `workers` workers, whose first batch starts at `as_of` (the snapshot) or
    /// `as_of + 1`. If `until` is before that first time, the feed is finished from the start:
    /// it has nothing to deliver, not even an empty batch.
    pub(crate) fn new(workers: usize, as_of: Time, snapshot: bool, until: Option<Time>) -> Self {
        let lower = if snapshot { as_of } else { as_of + 1 };
        let state = FeedState {
            frontiers: vec![None; workers],
            pending: Vec::new(),
            consolidated: 0,
            lower,
            snapshot: snapshot.then_some(as_of),
            until,
            hold: 0,
            bounded: true,
            finished: until.is_some_and(|until| until < lower),
            ended: false,
            reason: None,
            closed: false,
            waker: None,
        };
        Feed { state: Mutex::new(state), ready: Condvar::new() }
    }

    /// Keeps every unread update at its own time: summing up to any `t` is exact, whenever
    /// the subscriber reads, and unread updates grow with the number of changes.
    #[cfg(any(feature = "testing", feature = "files"))]
    pub(crate) fn keep_times(self) -> Self {
        self.lock().bounded = false;
        self
    }

    fn lock(&self) -> MutexGuard<'_, FeedState<D>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Worker `worker` adds `updates` and says it is complete before `frontier` (`None`: forever).
    pub(crate) fn push(
        &self,
        worker: usize,
        updates: impl IntoIterator<Item = (D, Time, Diff)>,
        frontier: Option<Time>,
    ) {
        let mut state = self.lock();
        if state.finished {
            return;
        }
        state.pending.extend(updates);
        state.frontiers[worker] = Some(frontier.unwrap_or(Time::MAX));
        state.bound_memory();
        self.notify(state);
    }

    /// The engine stopped: no more pushes will come.
    pub(crate) fn end(&self) {
        let mut state = self.lock();
        state.ended = true;
        self.notify(state);
    }

    /// No more pushes will come, for the reason `error` (the view was dropped).
    pub(crate) fn end_with(&self, error: &Error) {
        let mut state = self.lock();
        state.ended = true;
        state.reason.get_or_insert_with(|| error.clone());
        self.notify(state);
    }

    /// The subscriber went away; workers drop the feed on their next visit.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Takes the next complete batch, if any.
    pub(crate) fn take(&self) -> Take<D> {
        self.lock().take()
    }

    /// Like `take`, but waits (up to `deadline`) while nothing is complete.
    pub(crate) fn take_waiting(&self, deadline: Option<std::time::Instant>) -> Take<D> {
        let mut state = self.lock();
        loop {
            match state.take() {
                Take::Pending => {}
                other => return other,
            }
            state = match deadline {
                None => self.ready.wait(state).unwrap_or_else(|e| e.into_inner()),
                Some(deadline) => {
                    let now = std::time::Instant::now();
                    if now >= deadline {
                        return Take::Pending;
                    }
                    self.ready.wait_timeout(state, deadline - now).unwrap_or_else(|e| e.into_inner()).0
                }
            };
        }
    }

    /// Takes the next batch or registers `waker` to be woken when one may be ready.
    pub(crate) fn take_or_register(&self, waker: &Waker) -> Take<D> {
        let mut state = self.lock();
        let taken = state.take();
        if let Take::Pending = taken {
            state.waker = Some(waker.clone());
        }
        taken
    }

    /// The lower bound of the next batch.
    pub(crate) fn lower(&self) -> Time {
        self.lock().lower
    }

    /// Unread updates held for the subscriber.
    pub(crate) fn pending(&self) -> usize {
        self.lock().pending.len()
    }

    fn notify(&self, mut state: MutexGuard<'_, FeedState<D>>) {
        let waker = state.waker.take();
        drop(state);
        self.ready.notify_all();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<D: Row> FeedState<D> {
    /// The first time not complete on every worker, once all have registered.
    fn complete(&self) -> Option<Time> {
        self.frontiers.iter().copied().try_fold(Time::MAX, |least, f| f.map(|f| least.min(f)))
    }

    fn take(&mut self) -> Take<D> {
        if self.finished {
            return Take::Finished;
        }
        let complete = self.complete();
        let mut upper = match complete {
            Some(complete) if complete > self.lower && complete > self.hold => complete,
            _ if self.ended => return Take::Ended(self.reason.clone()),
            _ => return Take::Pending,
        };
        if let Some(as_of) = self.snapshot.take() {
            upper = as_of + 1;
        }
        if let Some(until) = self.until {
            upper = upper.min(until.saturating_add(1));
        }
        let (mut batch, rest): (Vec<_>, Vec<_>) = self.pending.drain(..).partition(|(_, t, _)| *t < upper);
        self.pending = rest;
        self.consolidated = self.consolidated.min(self.pending.len());
        consolidate_updates(&mut batch);
        batch.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
        let batch = Batch { lower: self.lower, upper, updates: batch };
        self.lower = upper;
        if self.until.is_some_and(|until| upper > until) {
            self.finished = true;
            self.pending.clear();
        }
        Take::Batch(batch)
    }

    /// Consolidates unread updates when they have doubled since the last time.
    ///
    /// Every unread update (past the snapshot) has its time advanced to the latest time any
    /// worker has reported complete (capped at `until`; later updates are never delivered and
    /// are dropped), so rows that changed and changed back cancel. The next batch then waits
    /// until every worker is complete through that time, so it covers every advanced update.
    fn bound_memory(&mut self) {
        if !self.bounded || self.pending.len() <= 2 * self.consolidated + 64 {
            return;
        }
        let reported = self.frontiers.iter().flatten().copied().max().unwrap_or(0);
        let start = self.snapshot.map_or(self.lower, |as_of| as_of + 1);
        let until = self.until.unwrap_or(Time::MAX);
        self.pending.retain(|(_, time, _)| *time <= until);
        if reported > start {
            let last = (reported - 1).min(until);
            for update in self.pending.iter_mut() {
                if update.1 >= start {
                    update.1 = update.1.max(last);
                }
            }
            self.hold = self.hold.max(last);
        }
        consolidate_updates(&mut self.pending);
        self.consolidated = self.pending.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(take: Take<u32>) -> Batch<u32> {
        match take {
            Take::Batch(batch) => batch,
            _ => panic!("expected a batch"),
        }
    }

    #[test]
    fn a_batch_waits_for_every_worker() {
        let feed = Feed::<u32>::new(2, 5, false, None);
        feed.push(0, vec![(1, 6, 1)], Some(8));
        assert!(matches!(feed.take(), Take::Pending));
        feed.push(1, vec![(2, 7, 1)], Some(7));
        let b = batch(feed.take());
        assert_eq!((b.lower, b.upper), (6, 7));
        assert_eq!(b.updates, vec![(1, 6, 1)]);
        feed.push(1, vec![], Some(9));
        let b = batch(feed.take());
        assert_eq!((b.lower, b.upper, b.updates), (7, 8, vec![(2, 7, 1)]));
    }

    #[test]
    fn the_snapshot_is_its_own_batch() {
        let feed = Feed::<u32>::new(1, 3, true, None);
        feed.push(0, vec![(1, 3, 2), (1, 5, -1)], Some(6));
        let b = batch(feed.take());
        assert_eq!((b.lower, b.upper, b.updates), (3, 4, vec![(1, 3, 2)]));
        let b = batch(feed.take());
        assert_eq!((b.lower, b.upper, b.updates), (4, 6, vec![(1, 5, -1)]));
    }

    #[test]
    fn unread_flips_cancel_and_memory_stays_bounded() {
        let feed = Feed::<u32>::new(1, 0, false, None);
        for t in 1..=10_000u64 {
            feed.push(0, vec![((t % 10) as u32, t, if (t / 10) % 2 == 0 { 1 } else { -1 })], Some(t + 1));
            assert!(feed.pending() <= 2 * 10 + 64 + 1, "{} pending at {t}", feed.pending());
        }
        let b = batch(feed.take());
        assert_eq!((b.lower, b.upper), (1, 10_001));
        let mut net = std::collections::BTreeMap::new();
        for t in 1..=10_000u64 {
            *net.entry((t % 10) as u32).or_insert(0) += if (t / 10) % 2 == 0 { 1 } else { -1 };
        }
        let expected: Vec<_> = net.into_iter().filter(|(_, d)| *d != 0).collect();
        let mut got = std::collections::BTreeMap::new();
        for (row, time, diff) in &b.updates {
            assert!(*time < b.upper);
            *got.entry(*row).or_insert(0) += diff;
        }
        let got: Vec<_> = got.into_iter().filter(|(_, d)| *d != 0).collect();
        assert_eq!(got, expected);
    }

    #[cfg(any(feature = "testing", feature = "files"))]
    #[test]
    fn a_feed_that_keeps_times_sums_exactly_at_every_time() {
        let feed = Feed::<u32>::new(1, 0, false, None).keep_times();
        for t in 1..=1_000u64 {
            feed.push(0, vec![((t % 10) as u32, t, 1)], Some(t + 1));
        }
        let b = batch(feed.take());
        assert_eq!((b.lower, b.upper, b.updates.len()), (1, 1_001, 1_000));
        assert!(b.updates.iter().all(|(row, time, _)| u64::from(*row) == time % 10));
    }

    #[test]
    fn until_ends_the_feed() {
        let feed = Feed::<u32>::new(1, 0, false, Some(4));
        feed.push(0, vec![(1, 2, 1), (2, 5, 1)], Some(9));
        let b = batch(feed.take());
        assert_eq!((b.lower, b.upper, b.updates), (1, 5, vec![(1, 2, 1)]));
        assert!(matches!(feed.take(), Take::Finished));
    }

    #[test]
    fn an_until_before_the_first_time_finishes_at_once_without_a_batch() {
        for (as_of, snapshot, until) in [(8, true, 5), (8, false, 5), (8, false, 8)] {
            let feed = Feed::<u32>::new(1, as_of, snapshot, Some(until));
            feed.push(0, vec![(1, 8, 1), (2, 9, 1)], Some(10));
            assert!(matches!(feed.take(), Take::Finished), "as_of {as_of} snapshot {snapshot} until {until}");
            assert_eq!(feed.pending(), 0, "nothing is kept for a finished feed");
        }
        // Until at as_of with a snapshot: the snapshot, then the end.
        let feed = Feed::<u32>::new(1, 8, true, Some(8));
        feed.push(0, vec![(1, 8, 1), (2, 9, 1)], Some(10));
        let b = batch(feed.take());
        assert_eq!((b.lower, b.upper, b.updates), (8, 9, vec![(1, 8, 1)]));
        assert!(matches!(feed.take(), Take::Finished));
    }

    #[test]
    fn a_batch_that_ends_just_before_until_does_not_finish_the_feed() {
        let feed = Feed::<u32>::new(1, 0, false, Some(4));
        feed.push(0, vec![(1, 2, 1), (2, 4, 1)], Some(4));
        let b = batch(feed.take());
        assert_eq!((b.lower, b.upper, b.updates), (1, 4, vec![(1, 2, 1)]));
        feed.push(0, vec![], Some(9));
        let b = batch(feed.take());
        assert_eq!((b.lower, b.upper, b.updates), (4, 5, vec![(2, 4, 1)]));
        assert!(matches!(feed.take(), Take::Finished));
    }

    #[test]
    fn updates_advanced_to_bound_memory_wait_until_every_worker_passes_them() {
        let feed = Feed::<u32>::new(2, 0, false, None);
        // Worker 0 is complete through 100: its 100 unread updates are advanced to time 100.
        feed.push(0, (1..=100u64).map(|t| (t as u32, t, 1)), Some(101));
        // Worker 1 is complete through 99 only: a batch ending at 100 would hold none of them
        // although they happened before 100.
        feed.push(1, vec![], Some(100));
        assert!(matches!(feed.take(), Take::Pending));
        feed.push(1, vec![], Some(101));
        let b = batch(feed.take());
        assert_eq!((b.lower, b.upper, b.updates.len()), (1, 101, 100));
        assert!(b.updates.iter().all(|(_, time, _)| *time == 100));
    }

    #[test]
    fn an_ended_feed_delivers_what_is_complete_first() {
        let feed = Feed::<u32>::new(1, 0, false, None);
        feed.push(0, vec![(1, 1, 1)], Some(2));
        feed.end();
        assert_eq!(batch(feed.take()).updates, vec![(1, 1, 1)]);
        assert!(matches!(feed.take(), Take::Ended(None)));
    }

    #[test]
    fn a_feed_ended_with_a_reason_delivers_what_is_complete_then_the_reason() {
        let feed = Feed::<u32>::new(2, 0, false, None);
        feed.push(0, vec![(1, 1, 1)], Some(2));
        feed.push(1, vec![], Some(2));
        let dropped = Error::Dropped { name: "v".into() };
        feed.end_with(&dropped);
        feed.end();
        assert_eq!(batch(feed.take()).updates, vec![(1, 1, 1)]);
        assert!(matches!(feed.take(), Take::Ended(Some(error)) if error == dropped));
    }
}
