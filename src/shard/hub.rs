//! The worker side of subscriptions: a tap on each view's arranged stream and the subscribers
//! it feeds.
//!
//! Every view dataflow ends in a sink (the tap) that sees each batch its arrangement produces
//! and the arrangement's frontier. After each step the worker hands what the tap saw to every
//! subscriber's [`Feed`]; when nobody subscribes, the tap does not look inside batches.
//!
//! A subscriber is registered on a worker once the view is complete through its `as_of` there.
//! Registration reads the arrangement once: the snapshot (every update at or before `as_of`,
//! accumulated at `as_of`) and the changes after `as_of` that are already arranged (before the
//! arrangement's `upper`, called `from`). From then on the tap delivers changes at `from` or
//! later; batches still on their way to the tap hold only earlier times, so nothing is seen
//! twice and nothing is missed.

use std::any::Any;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::operator::Operator;
use timely::dataflow::{Stream, StreamVec};

use differential_dataflow::trace::SpanOf;

use super::arrangement::{ArrangementState, Compaction};
use super::layout::{Layout, RowTrace};
use crate::error::Error;
use crate::protocol::reply::FeedSink;
use crate::protocol::stats::TraceStats;
use crate::row::Row;
use crate::time::{Diff, Time};

/// A request to feed `feed` from a view, sent to every worker.
pub(crate) struct Subscriber<D> {
    pub(crate) id: u64,
    pub(crate) as_of: Time,
    pub(crate) snapshot: bool,
    pub(crate) feed: FeedSink<D>,
}

/// A subscriber on its way to a hub, type-erased for commands.
pub(crate) trait Request: Send {
    /// The engine stopped before the subscriber was registered: end its feed.
    fn end(&self);
    /// The view was dropped before the subscriber was registered: end its feed with `error`.
    fn end_with(&self, error: &Error);
    /// The typed `Subscriber<Row>`, for the hub.
    fn into_any(self: Box<Self>) -> Box<dyn Any + Send>;
}

impl<D: crate::row::Row> Request for Subscriber<D> {
    fn end(&self) {
        self.feed.end();
    }

    fn end_with(&self, error: &Error) {
        self.feed.end_with(error);
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any + Send> {
        self
    }
}

/// A view's subscribers on one worker, type-erased for the worker loop.
pub(crate) trait Hub {
    /// True if a subscriber is registered as its command arrives (a streamed view), rather
    /// than once the view is complete through its `as_of`.
    fn registers_at_once(&self) -> bool;
    /// Registers a subscriber; `trace` is the view's `&mut Layout` trace, complete before
    /// `upper` (`None`: closed).
    fn register(&mut self, trace: &mut dyn Any, subscriber: Box<dyn Request>, upper: Option<Time>);
    /// Forgets a subscriber.
    fn unregister(&mut self, id: u64);
    /// Ends every subscriber's feed with `error` (the view was dropped) and forgets them.
    fn end_all(&mut self, error: &Error);
    /// The number of registered subscribers.
    fn subscribers(&self) -> usize;
    /// Hands what the tap saw since the last call to every subscriber.
    fn flush(&mut self);
}

/// What the tap saw: the updates of new batches (while someone listens) and the frontier.
struct Tapped<D> {
    updates: Vec<(D, Time, Diff)>,
    frontier: Option<Time>,
    listening: bool,
    changed: bool,
}

impl<D> Tapped<D> {
    /// Nothing seen yet, nobody listening, complete from time 0 on.
    fn shared() -> Rc<RefCell<Tapped<D>>> {
        Rc::new(RefCell::new(Tapped {
            updates: Vec::new(),
            frontier: Some(0),
            listening: false,
            changed: false,
        }))
    }
}

/// Attaches the tap to a view's arranged stream and returns the hub that owns its subscribers.
pub(crate) fn tap<'s, Tr: Layout>(stream: Stream<'s, Time, Vec<SpanOf<Tr>>>, worker: usize) -> Box<dyn Hub> {
    let tapped = attach::<Tr>(stream);
    Box::new(ViewHub::<Tr> { tapped, subscribers: BTreeMap::new(), worker, kept: true })
}

/// Like [`tap`], for a streamed view, whose result is not arranged: the tap sinks the
/// definition's own stream of updates. Its hub registers a subscriber at once, with no
/// snapshot (its handle makes the snapshot with a batch run); the returned state tracks the
/// view's progress from the tap's frontier, in place of an arrangement.
pub(crate) fn tap_collection<'s, D: Row>(
    stream: StreamVec<'s, Time, (D, Time, Diff)>,
    worker: usize,
) -> (Box<dyn Hub>, Box<dyn ArrangementState>) {
    let tapped = Tapped::shared();
    let sink = Rc::clone(&tapped);
    // Updates wait here until the frontier passes their time, as an arrangement seals a batch:
    // a subscriber registered as its command arrives then sees every update after its `as_of`
    // (see `ViewHub::register`), even those another worker computed ahead of this one.
    let mut unsealed: Vec<(D, Time, Diff)> = Vec::new();
    stream.sink(Pipeline, "Subscriptions", move |(input, frontier)| {
        input.for_each(|_time, updates| unsealed.append(updates));
        let frontier = frontier.frontier().first().copied();
        let mut tapped = sink.borrow_mut();
        let tapped = &mut *tapped;
        if frontier != tapped.frontier {
            tapped.frontier = frontier;
            tapped.changed = true;
            let sealed = |update: &(D, Time, Diff)| frontier.is_none_or(|frontier| update.1 < frontier);
            if tapped.listening {
                tapped.updates.extend(unsealed.extract_if(.., |update| sealed(update)));
            } else {
                unsealed.retain(|update| !sealed(update));
            }
        }
    });
    let progress = Box::new(TapProgress { tapped: Rc::clone(&tapped), marker: NotKept });
    (Box::new(ViewHub::<RowTrace<D>> { tapped, subscribers: BTreeMap::new(), worker, kept: false }), progress)
}

/// The sink that copies what a view's arranged stream carries, while someone listens.
fn attach<'s, Tr: Layout>(stream: Stream<'s, Time, Vec<SpanOf<Tr>>>) -> Rc<RefCell<Tapped<Tr::Row>>> {
    let tapped = Tapped::shared();
    let sink = Rc::clone(&tapped);
    stream.sink(Pipeline, "Subscriptions", move |(input, frontier)| {
        let mut tapped = sink.borrow_mut();
        let tapped = &mut *tapped;
        let mut sealed = tapped.frontier;
        input.for_each(|_time, spans| {
            for span in spans.iter() {
                // A batch is sealed: this worker's shard is complete up to its upper, even
                // while the sink's input frontier still lags behind it.
                let upper = span.upper().as_option().copied();
                sealed = sealed.and_then(|sealed| upper.map(|upper| sealed.max(upper)));
            }
            if tapped.listening {
                for batch in spans.iter().filter_map(|span| span.inner.as_ref()) {
                    Tr::for_each_in_batch(batch, |row, time, diff| tapped.updates.push((row, time, diff)));
                }
                tapped.changed = true;
            }
        });
        let frontier = frontier.frontier().first().copied();
        let frontier = frontier.and_then(|frontier| sealed.map(|sealed| frontier.max(sealed)));
        if frontier != tapped.frontier {
            tapped.frontier = frontier;
            tapped.changed = true;
        }
    });
    tapped
}

/// A streamed view's progress, as the worker loop sees an arrangement: complete before the
/// tap's frontier; nothing held, nothing to compact, nothing to walk.
struct TapProgress<D> {
    tapped: Rc<RefCell<Tapped<D>>>,
    /// What it offers in place of a trace.
    marker: NotKept,
}

impl<D: 'static> ArrangementState for TapProgress<D> {
    fn trace(&self) -> &dyn Any {
        &self.marker
    }

    fn trace_mut(&mut self) -> &mut dyn Any {
        &mut self.marker
    }

    fn upper(&mut self) -> Option<Time> {
        self.tapped.borrow().frontier
    }

    fn compact(&mut self, _since: Time) -> Compaction {
        Compaction { moved: false, upper: self.upper() }
    }

    fn stats(&mut self) -> TraceStats {
        TraceStats::not_kept(self.upper())
    }
}

/// What a streamed view offers in place of a trace: a definition that reads it gets
/// [`Error::NotKept`] (`definition.rs`).
pub(crate) struct NotKept;

struct Registered<D> {
    /// Changes before this time came from the arrangement at registration.
    from: Time,
    feed: FeedSink<D>,
}

struct ViewHub<Tr: Layout> {
    tapped: Rc<RefCell<Tapped<Tr::Row>>>,
    subscribers: BTreeMap<u64, Registered<Tr::Row>>,
    worker: usize,
    /// False for a streamed view: no trace to walk at registration.
    kept: bool,
}

impl<Tr: Layout> Hub for ViewHub<Tr> {
    fn registers_at_once(&self) -> bool {
        !self.kept
    }

    fn register(&mut self, trace: &mut dyn Any, subscriber: Box<dyn Request>, upper: Option<Time>) {
        let Subscriber { id, as_of, snapshot, feed } = *subscriber
            .into_any()
            .downcast::<Subscriber<Tr::Row>>()
            .expect("the subscriber matches the view's rows");
        if !self.kept {
            // Registered as the command arrives: the tap has sealed nothing after `as_of` yet
            // (that needs every worker's inputs past it, and this worker's are at `as_of + 1`),
            // so every change after `as_of` is still to come through it.
            let from = as_of.saturating_add(1);
            let progress = self.tapped.borrow().frontier.map(|frontier| frontier.max(from));
            feed.push(self.worker, Vec::new(), progress);
            self.subscribers.insert(id, Registered { from, feed });
            self.tapped.borrow_mut().listening = true;
            return;
        }
        let trace = trace.downcast_mut::<Tr>().expect("the hub matches the view's trace");
        let mut updates = Vec::new();
        trace.for_each_update(|row, time, diff| {
            if time > as_of {
                updates.push((row, time, diff));
            } else if snapshot {
                updates.push((row, as_of, diff));
            }
        });
        let from = upper.unwrap_or(Time::MAX);
        feed.push(self.worker, updates, upper);
        self.subscribers.insert(id, Registered { from, feed });
        self.tapped.borrow_mut().listening = true;
    }

    fn unregister(&mut self, id: u64) {
        // The tap stops listening at the next flush with news, which drops what it copied.
        self.subscribers.remove(&id);
    }

    fn subscribers(&self) -> usize {
        self.subscribers.len()
    }

    fn end_all(&mut self, error: &Error) {
        for (_, subscriber) in std::mem::take(&mut self.subscribers) {
            subscriber.feed.end_with(error);
        }
    }

    fn flush(&mut self) {
        let mut tapped = self.tapped.borrow_mut();
        if !tapped.changed {
            return;
        }
        tapped.changed = false;
        let updates = std::mem::take(&mut tapped.updates);
        let frontier = tapped.frontier;
        for subscriber in self.subscribers.values() {
            let fresh = updates.iter().filter(|(_, time, _)| *time >= subscriber.from).cloned();
            let progress = frontier.map(|f| f.max(subscriber.from));
            subscriber.feed.push(self.worker, fresh, progress);
        }
        tapped.listening = !self.subscribers.is_empty();
    }
}

impl<Tr: Layout> Drop for ViewHub<Tr> {
    /// The view is going away (shutdown, poison): every subscriber's feed ends.
    fn drop(&mut self) {
        for subscriber in self.subscribers.values() {
            subscriber.feed.end();
        }
    }
}
