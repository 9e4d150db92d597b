//! Reads of one worker's shard at a time `t` (peeks).
//!
//! A peek waits on the worker until the shard is complete through `t` (`upper > t`), is refused
//! with `Error::Compacted` if `t < since`, and answers exactly once: with rows, with an error, or
//! by being dropped at shutdown (the caller then sees the engine's terminal error). The typed
//! reader is built on the application side, where the row types are known, and runs here
//! against the type-erased trace.

use std::any::Any;
use std::marker::PhantomData;
use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use differential_dataflow::trace::cursor::{Cursor, cursor_list};
use differential_dataflow::trace::{BatchCursor, Navigable, TraceReader};
use timely::progress::Antichain;

use super::layout::{KeyedTrace, Layout, RowTrace};
use crate::error::{Error, Result};
use crate::protocol::SourceId;
use crate::protocol::reply::Reply;
use crate::protocol::wire::{ReadKind, Visitor, WireError, decode};
use crate::row::Row;
use crate::time::{Diff, Time};

/// Reads a typed trace at a time and sends the answer to the waiting caller.
pub(crate) trait PeekReader: Send {
    /// Reads `trace` (the source's `&mut TraceAgent<..>`) at `time` and replies.
    fn read(self: Box<Self>, trace: &mut dyn Any, time: Time);
    /// Answers with `error` instead (the source was dropped while the read waited).
    fn fail(self: Box<Self>, error: Error);
}

/// A read waiting on a worker for its time to complete, with its typed reader.
pub(crate) struct PendingPeek {
    pub(crate) source: SourceId,
    pub(crate) time: Time,
    pub(crate) reader: Box<dyn PeekReader>,
    pub(crate) cancelled: Arc<AtomicBool>,
}

impl PendingPeek {
    /// True once the caller gave up waiting (a timeout); the peek is then dropped unanswered.
    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }
}

/// Visits every `(key, val, diff)` of `trace` accumulated at `time`, in key order, starting at
/// the first key `>= start`; stops when `visit` returns false.
fn read_at<Tr, K, V>(
    trace: &mut Tr,
    time: Time,
    start: Option<&K>,
    mut visit: impl FnMut(&K, &V, Diff) -> bool,
) where
    Tr: TraceReader<Time = Time, Batch: Navigable>,
    for<'a> BatchCursor<Tr>:
        Cursor<Key<'a> = &'a K, Val<'a> = &'a V, TimeGat<'a> = &'a Time, DiffGat<'a> = &'a Diff>,
{
    let batches = trace
        .batches_through(Antichain::new().borrow())
        .expect("a shard is read only while its trace is open");
    let (mut cursor, storage) = cursor_list(batches);
    if let Some(start) = start {
        cursor.seek_key(&storage, start);
    }
    while let Some(key) = cursor.get_key(&storage) {
        while let Some(val) = cursor.get_val(&storage) {
            let mut sum: Diff = 0;
            cursor.map_times(&storage, |t, diff| {
                if *t <= time {
                    sum += *diff;
                }
            });
            if sum != 0 && !visit(key, val, sum) {
                return;
            }
            cursor.step_val(&storage);
        }
        cursor.step_key(&storage);
    }
}

/// Reads a whole row-arranged shard: `Vec<(row, diff)>` in row order.
pub(crate) struct RowsRead<R> {
    reply: Reply,
    rows: PhantomData<fn() -> R>,
}

impl<R: Row> PeekReader for RowsRead<R> {
    fn read(self: Box<Self>, trace: &mut dyn Any, time: Time) {
        let trace = trace.downcast_mut::<RowTrace<R>>().expect("reader matches the view type");
        let mut rows = Vec::new();
        read_at(trace, time, None, |row: &R, _: &(), diff| {
            rows.push((row.clone(), diff));
            true
        });
        self.reply.send(Ok(rows));
    }

    fn fail(self: Box<Self>, error: Error) {
        self.reply.fail(error);
    }
}

/// Receives the rows of a [`ReadKind::Visit`] read, by reference, on the worker that holds
/// them: `(key, value, multiplicity)` at the read's time, a row source's rows as `(row, &())`.
/// Public only to be named by `files`, in a private module.
pub trait RowSink<K, V> {
    /// One row and its multiplicity (never zero).
    fn push(&mut self, key: &K, value: &V, diff: Diff);
    /// The worker's answer to the reader.
    fn finish(self: Box<Self>) -> Box<dyn Any + Send>;
}

/// Makes each worker's sink: what a [`Visitor`](crate::protocol::wire::Visitor) holds for a
/// source whose trace has keys `K` and values `V`.
pub type SinkFactory<K, V> = Arc<dyn Fn() -> Box<dyn RowSink<K, V>> + Send + Sync>;

/// Reads every row of a shard at a time into a sink.
pub(crate) struct VisitRead<Tr, K, V> {
    reply: Reply,
    factory: SinkFactory<K, V>,
    trace: PhantomData<fn() -> Tr>,
}

impl<Tr, K: 'static, V: 'static> PeekReader for VisitRead<Tr, K, V>
where
    Tr: TraceReader<Time = Time, Batch: Navigable> + 'static,
    for<'a> BatchCursor<Tr>:
        Cursor<Key<'a> = &'a K, Val<'a> = &'a V, TimeGat<'a> = &'a Time, DiffGat<'a> = &'a Diff>,
{
    fn read(self: Box<Self>, trace: &mut dyn Any, time: Time) {
        let trace = trace.downcast_mut::<Tr>().expect("reader matches the source type");
        let mut sink = (self.factory)();
        read_at(trace, time, None, |key: &K, value: &V, diff| {
            sink.push(key, value, diff);
            true
        });
        self.reply.send_local(Ok(sink.finish()));
    }

    fn fail(self: Box<Self>, error: Error) {
        self.reply.fail(error);
    }
}

/// The reader of a visit read, if `visitor` holds a sink factory for keys `K` and values `V`.
fn visit_reader<Tr: 'static, K: 'static, V: 'static>(
    visitor: &Visitor,
    reply: Reply,
) -> Option<Box<dyn PeekReader>>
where
    VisitRead<Tr, K, V>: PeekReader,
{
    match visitor.0.downcast_ref::<SinkFactory<K, V>>() {
        Some(factory) => {
            Some(Box::new(VisitRead { reply, factory: Arc::clone(factory), trace: PhantomData }))
        }
        None => {
            reply.fail(Error::ClusterMismatch {
                process: 0,
                detail: "a visit read of another row type".into(),
            });
            None
        }
    }
}

/// Reads a shard's history: every update `(row, time, diff)` with `time <= t`, for batch runs
/// over the engine's tables.
pub(crate) struct HistoryRead<Tr: Layout> {
    reply: Reply,
    trace: PhantomData<fn() -> Tr>,
}

impl<Tr: Layout> PeekReader for HistoryRead<Tr> {
    fn read(self: Box<Self>, trace: &mut dyn Any, time: Time) {
        let trace = trace.downcast_mut::<Tr>().expect("reader matches the table type");
        let mut updates = Vec::new();
        trace.for_each_update(|row, t, diff| {
            if t <= time {
                updates.push((row, t, diff));
            }
        });
        differential_dataflow::consolidation::consolidate_updates(&mut updates);
        self.reply.send(Ok(updates));
    }

    fn fail(self: Box<Self>, error: Error) {
        self.reply.fail(error);
    }
}

/// Which keys of a keyed shard a read wants.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub(crate) enum KeySelection<K> {
    All,
    Range(Bound<K>, Bound<K>),
}

impl<K: Ord + Clone> KeySelection<K> {
    /// Exactly `key`.
    pub(crate) fn only(key: &K) -> Self {
        KeySelection::Range(Bound::Included(key.clone()), Bound::Included(key.clone()))
    }
}

impl<K: Ord> KeySelection<K> {
    fn start(&self) -> Option<&K> {
        match self {
            KeySelection::All => None,
            KeySelection::Range(Bound::Included(k) | Bound::Excluded(k), _) => Some(k),
            KeySelection::Range(Bound::Unbounded, _) => None,
        }
    }

    fn admits(&self, key: &K) -> bool {
        match self {
            KeySelection::All => true,
            KeySelection::Range(lower, _) => match lower {
                Bound::Excluded(k) => key > k,
                _ => true,
            },
        }
    }

    /// True if `key` is selected.
    pub(crate) fn contains(&self, key: &K) -> bool {
        self.admits(key) && !self.past_end(key) && self.start().is_none_or(|start| key >= start)
    }

    fn past_end(&self, key: &K) -> bool {
        match self {
            KeySelection::All => false,
            KeySelection::Range(_, upper) => match upper {
                Bound::Included(k) => key > k,
                Bound::Excluded(k) => key >= k,
                Bound::Unbounded => false,
            },
        }
    }
}

/// Reads the selected keys of a key-arranged shard: `Vec<((key, val), diff)>` in key order.
/// It seeks to the first key and stops after the last: it never scans the other keys.
pub(crate) struct KeyedRead<K, V> {
    keys: KeySelection<K>,
    reply: Reply,
    values: PhantomData<fn() -> V>,
}

impl<K: Row, V: Row> PeekReader for KeyedRead<K, V> {
    fn read(self: Box<Self>, trace: &mut dyn Any, time: Time) {
        let trace = trace.downcast_mut::<KeyedTrace<K, V>>().expect("reader matches the view type");
        let mut rows = Vec::new();
        let keys = &self.keys;
        read_at(trace, time, keys.start(), |key: &K, val: &V, diff| {
            if keys.past_end(key) {
                return false;
            }
            if keys.admits(key) {
                rows.push(((key.clone(), val.clone()), diff));
            }
            true
        });
        self.reply.send(Ok(rows));
    }

    fn fail(self: Box<Self>, error: Error) {
        self.reply.fail(error);
    }
}

/// The reads an arrangement of type `Self` answers, and how their answers travel.
///
/// Rows of a row arrangement are `(row, diff)`; of a keyed arrangement `((key, value), diff)`,
/// for all keys or a range; a history is `(row, time, diff)` for either.
pub(crate) trait Readable: Layout {
    /// The reader for `read`, answering to `reply`; `None` (after answering with the error)
    /// if this arrangement cannot answer that read.
    fn reader(read: &ReadKind, reply: Reply) -> Option<Box<dyn PeekReader>>;

    /// Decodes one remote worker's answer to `read`, as the local reader's answer would be.
    fn decode(read: &ReadKind, bytes: &[u8]) -> Result<Box<dyn Any + Send>, WireError>;
}

impl<R: Row> Readable for RowTrace<R> {
    fn reader(read: &ReadKind, reply: Reply) -> Option<Box<dyn PeekReader>> {
        match read {
            ReadKind::Rows => Some(Box::new(RowsRead::<R> { reply, rows: PhantomData })),
            ReadKind::History => Some(Box::new(HistoryRead::<Self> { reply, trace: PhantomData })),
            ReadKind::Visit(visitor) => visit_reader::<Self, R, ()>(visitor, reply),
            ReadKind::Keys(_) => {
                let detail = "a keyed read of a source that is not keyed".to_string();
                reply.fail(Error::ClusterMismatch { process: 0, detail });
                None
            }
        }
    }

    fn decode(read: &ReadKind, bytes: &[u8]) -> Result<Box<dyn Any + Send>, WireError> {
        match read {
            ReadKind::History => Ok(Box::new(decode::<Vec<(R, Time, Diff)>>(bytes)?)),
            _ => Ok(Box::new(decode::<Vec<(R, Diff)>>(bytes)?)),
        }
    }
}

impl<K: Row, V: Row> Readable for KeyedTrace<K, V> {
    fn reader(read: &ReadKind, reply: Reply) -> Option<Box<dyn PeekReader>> {
        let keys = match read {
            ReadKind::History => return Some(Box::new(HistoryRead::<Self> { reply, trace: PhantomData })),
            ReadKind::Visit(visitor) => return visit_reader::<Self, K, V>(visitor, reply),
            ReadKind::Rows => KeySelection::All,
            ReadKind::Keys(bytes) => match decode(bytes) {
                Ok(keys) => keys,
                Err(error) => {
                    reply.fail(error.into_error(0));
                    return None;
                }
            },
        };
        Some(Box::new(KeyedRead::<K, V> { keys, reply, values: PhantomData }))
    }

    fn decode(read: &ReadKind, bytes: &[u8]) -> Result<Box<dyn Any + Send>, WireError> {
        match read {
            ReadKind::History => Ok(Box::new(decode::<Vec<((K, V), Time, Diff)>>(bytes)?)),
            _ => Ok(Box::new(decode::<Vec<((K, V), Diff)>>(bytes)?)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_select_their_keys() {
        let range = KeySelection::Range(Bound::Excluded(3), Bound::Included(5));
        assert_eq!(range.start(), Some(&3));
        assert!(!range.admits(&3));
        assert!(range.admits(&4));
        assert!(!range.past_end(&5));
        assert!(range.past_end(&6));
        let open = KeySelection::Range(Bound::Unbounded, Bound::Excluded(2));
        assert_eq!(open.start(), None);
        assert!(open.past_end(&2));
        assert!(!open.past_end(&1));
        assert!(KeySelection::<u8>::All.admits(&0));
    }

    #[test]
    fn contains_is_the_range_with_both_bounds() {
        let range = KeySelection::Range(Bound::Included(3), Bound::Excluded(6));
        let selected: Vec<u8> = (0..10).filter(|k| range.contains(k)).collect();
        assert_eq!(selected, vec![3, 4, 5]);
        let range = KeySelection::Range(Bound::Excluded(3), Bound::Included(6));
        let selected: Vec<u8> = (0..10).filter(|k| range.contains(k)).collect();
        assert_eq!(selected, vec![4, 5, 6]);
        assert!((0..10u8).all(|k| KeySelection::All.contains(&k)));
    }
}
