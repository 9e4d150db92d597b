//! Tables on a worker: an input handle feeding an arrangement that views import.
//!
//! Each table is its own dataflow; every view that reads it imports the one shared arrangement
//! instead of re-indexing it. How the input is arranged is the table's kind's business
//! (`source/bag_table.rs`, `source/keyed_table.rs`); the input itself is the same for all.

use std::any::Any;

use timely::dataflow::operators::vec::Input as _;
use timely::dataflow::{InputHandleVec, StreamVec};
use timely::worker::Worker;

use super::arrangement::{Arrangement, ArrangementState};
use super::layout::Layout;
use crate::protocol::SourceId;
use crate::time::{Diff, Time};

/// What a transaction hands a worker for one bag table: rows with their multiplicity (the time
/// slot is filled in by the worker with the commit time).
pub(crate) type BagWrites<T> = Vec<(T, Time, Diff)>;

/// What a transaction hands a worker for one keyed table: the new value of each key, or `None`
/// for a deleted key (the time slot is filled in by the worker).
pub(crate) type KeyedWrites<K, V> = Vec<(K, Option<V>, Time)>;

/// Splits `writes` into at most `parts` pieces, for the workers.
pub(crate) fn split_vec<W: Send + 'static>(mut writes: Vec<W>, parts: usize) -> Vec<Box<dyn Any + Send>> {
    let chunk = writes.len().div_ceil(parts.max(1)).max(1);
    let mut pieces: Vec<Box<dyn Any + Send>> = Vec::with_capacity(parts);
    while writes.len() > chunk {
        let tail = writes.split_off(writes.len() - chunk);
        pieces.push(Box::new(tail));
    }
    pieces.push(Box::new(writes));
    pieces
}

/// A table's recovered history, as one worker receives it when the table is built.
pub(crate) enum Replay {
    /// None: a new table, or one without stored rows.
    Nothing,
    /// This worker's share of the whole history, replayed as the table is built.
    Whole(Box<dyn Any + Send>),
    /// The history follows in batches, decoded while the worker takes in the ones before
    /// ([`TableInput::backfill`] with the table as its own reader); the input holds at its
    /// first time until the last batch releases it.
    InBatches,
}

/// The write side of one table shard.
pub(crate) trait TableInput {
    /// Introduces `writes` (a `BagWrites` or `KeyedWrites` of this table's types) at `time`.
    fn write(&mut self, time: Time, writes: Box<dyn Any + Send>);
    /// Promises that no more writes come before `upper`, and tells timely so.
    fn advance(&mut self, upper: Time);
    /// Introduces recovered writes that already carry their times (before the first advance).
    fn replay(&mut self, history: Box<dyn Any + Send>);
    /// Replays this worker's share of a batch of the stored history: for a streamed table,
    /// into view `reader`'s held attachments; for a kept table built with
    /// [`Replay::InBatches`], into its own input (`reader` is the table). After the last batch
    /// (`release`), the held inputs move to the current upper.
    fn backfill(&mut self, _reader: SourceId, _rows: Box<dyn Any + Send>, _release: bool) {}
    /// For a streamed table: drops view `reader`'s attachments (the view is dropped, or its
    /// definition failed).
    fn forget(&mut self, _reader: SourceId) {}
}

/// An update whose time slot the worker fills in with the commit time.
pub(crate) trait Stamp: Clone + 'static {
    fn stamp(&mut self, time: Time);
}

impl<T: Clone + 'static> Stamp for (T, Time, Diff) {
    fn stamp(&mut self, time: Time) {
        self.1 = time;
    }
}

impl<K: Clone + 'static, V: Clone + 'static> Stamp for (K, Option<V>, Time) {
    fn stamp(&mut self, time: Time) {
        self.2 = time;
    }
}

/// The input of one table shard: `Vec<D>` writes in, stamped with their commit time.
struct TableStream<D: Clone + 'static> {
    handle: InputHandleVec<Time, D>,
    /// The upper the engine has reached; the input is there unless `held`.
    upper: Time,
    /// True while the recovered history arrives in batches: the input stays at its first
    /// time, below every replayed update's.
    held: bool,
}

impl<D: Stamp> TableInput for TableStream<D> {
    fn write(&mut self, time: Time, writes: Box<dyn Any + Send>) {
        let mut writes = *writes.downcast::<Vec<D>>().expect("writes match the table type");
        for update in writes.iter_mut() {
            update.stamp(time);
        }
        self.handle.send_batch(&mut writes);
    }

    fn advance(&mut self, upper: Time) {
        self.upper = upper;
        if !self.held {
            self.handle.advance_to(upper);
            self.handle.flush();
        }
    }

    fn replay(&mut self, history: Box<dyn Any + Send>) {
        let mut history = *history.downcast::<Vec<D>>().expect("history matches the table type");
        self.handle.send_batch(&mut history);
    }

    fn backfill(&mut self, _reader: SourceId, rows: Box<dyn Any + Send>, release: bool) {
        debug_assert!(self.held, "a kept table's history arrives in batches only while it is held");
        self.replay(rows);
        if release {
            self.held = false;
            self.advance(self.upper);
        } else {
            self.handle.flush();
        }
    }
}

/// The result of building a table on a worker: its input and its arrangement.
pub(crate) type BuiltTable = (Box<dyn TableInput>, Box<dyn ArrangementState>);

/// Builds a table dataflow whose input stream of `D` is arranged by `arrange`, replays its
/// recovered `history`, and leaves the input at `upper`, or held below the history that
/// follows in batches ([`Replay::InBatches`]).
pub(crate) fn build<D, Tr>(
    worker: &mut Worker,
    name: &str,
    upper: Time,
    since: Time,
    history: Replay,
    arrange: impl for<'s> FnOnce(StreamVec<'s, Time, D>) -> Tr,
) -> BuiltTable
where
    D: Stamp,
    Tr: Layout,
{
    let mut handle = InputHandleVec::new();
    let trace =
        worker.dataflow_named(&format!("table {name}"), |scope| arrange(scope.input_from(&mut handle)));
    let held = matches!(history, Replay::InBatches);
    let mut input = TableStream { handle, upper, held };
    if let Replay::Whole(history) = history {
        input.replay(history);
    }
    input.advance(upper);
    (Box::new(input), Box::new(Arrangement::new(trace, since)))
}

#[cfg(test)]
mod tests {
    use super::split_vec;

    #[test]
    fn split_keeps_every_write_once() {
        for len in [0, 1, 5, 4_096, 10_001] {
            for parts in 1..5 {
                let pieces = split_vec((0..len).collect::<Vec<u32>>(), parts);
                assert!(pieces.len() <= parts.max(1));
                let mut all: Vec<u32> =
                    pieces.into_iter().flat_map(|p| *p.downcast::<Vec<u32>>().unwrap()).collect();
                all.sort();
                assert_eq!(all, (0..len).collect::<Vec<u32>>());
            }
        }
    }
}
