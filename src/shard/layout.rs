//! The names of every differential spine the engine keeps, in one place, and the [`Layout`]
//! trait that lets the rest of the engine treat them alike.

use differential_dataflow::operators::arrange::TraceAgent;
use differential_dataflow::trace::cursor::{Cursor, cursor_list};
use differential_dataflow::trace::implementations::spine_fueled::SpineBatch;
use differential_dataflow::trace::implementations::{KeySpine, ValSpine};
use differential_dataflow::trace::{BatchCursor, Navigable, TraceReader};
use differential_dataflow::{Hashable, VecCollection};
use timely::dataflow::Scope;
use timely::progress::Antichain;

use crate::row::Row;
use crate::time::{Diff, Time};

/// A collection of rows arranged by the whole row: bag tables and plain views.
pub(crate) type RowTrace<R> = TraceAgent<KeySpine<R, Time, Diff>>;

/// A collection of `(key, value)` pairs arranged by key: keyed tables and keyed views.
pub(crate) type KeyedTrace<K, V> = TraceAgent<ValSpine<K, V, Time, Diff>>;

/// The worker (of all `peers` in the cluster) whose shard of an arrangement by key holds `key`:
/// differential's own routing rule for `arrange_by_key`, which keyed reads follow to ask only
/// that worker.
pub(crate) fn worker_of<K: Row>(key: &K, peers: usize) -> usize {
    (key.hashed() % peers as u64) as usize
}

/// What the engine needs of an arrangement, whatever its key and value types.
pub(crate) trait Layout: TraceReader<Time = Time, Batch: SpineBatch> + Clone + 'static {
    /// The rows users see: `R` for row arrangements, `(K, V)` for keyed ones.
    type Row: Row;

    /// Imports the arrangement into `scope` as a collection of rows.
    fn import_rows<'s>(
        &mut self,
        scope: Scope<'s, Time>,
        name: &str,
    ) -> VecCollection<'s, Time, Self::Row, Diff>;

    /// Visits every update of one batch.
    fn for_each_in_batch(batch: &Self::Batch, visit: impl FnMut(Self::Row, Time, Diff));

    /// Visits every update the trace holds (all batches).
    fn for_each_update(&mut self, visit: impl FnMut(Self::Row, Time, Diff));

    /// The distinct rows whose multiplicities over every time the trace holds sum to other
    /// than zero: the collection's rows at the latest time it is complete through. One walk of
    /// every batch, copying nothing.
    fn rows(&mut self) -> usize;
}

/// Walks every `(key, val, time, diff)` of a cursor.
fn walk<C, K, V>(
    mut cursor: C,
    storage: &C::Storage,
    row: impl Fn(&K, &V) -> (K, V),
    mut visit: impl FnMut((K, V), Time, Diff),
) where
    C: for<'a> Cursor<Key<'a> = &'a K, Val<'a> = &'a V, TimeGat<'a> = &'a Time, DiffGat<'a> = &'a Diff>,
{
    while let Some(key) = cursor.get_key(storage) {
        while let Some(val) = cursor.get_val(storage) {
            cursor.map_times(storage, |time, diff| visit(row(key, val), *time, *diff));
            cursor.step_val(storage);
        }
        cursor.step_key(storage);
    }
}

/// Counts the `(key, val)`s of a cursor whose diffs sum to other than zero.
fn count_rows<C>(mut cursor: C, storage: &C::Storage) -> usize
where
    C: for<'a> Cursor<TimeGat<'a> = &'a Time, DiffGat<'a> = &'a Diff>,
{
    let mut rows = 0;
    while cursor.key_valid(storage) {
        while cursor.val_valid(storage) {
            let mut sum: Diff = 0;
            cursor.map_times(storage, |_, diff| sum += *diff);
            rows += usize::from(sum != 0);
            cursor.step_val(storage);
        }
        cursor.step_key(storage);
    }
    rows
}

/// The rows of a trace's batches (see [`Layout::rows`]).
fn rows<Tr>(trace: &mut Tr) -> usize
where
    Tr: TraceReader<Time = Time, Batch: Navigable>,
    for<'a> BatchCursor<Tr>: Cursor<TimeGat<'a> = &'a Time, DiffGat<'a> = &'a Diff>,
{
    let batches =
        trace.batches_through(Antichain::new().borrow()).expect("the trace is open while it is read");
    let (cursor, storage) = cursor_list(batches);
    count_rows(cursor, &storage)
}

fn clone_pair<K: Clone, V: Clone>(key: &K, val: &V) -> (K, V) {
    (key.clone(), val.clone())
}

/// Visits every update of a trace's batches.
fn for_each_update<Tr, K, V>(trace: &mut Tr, visit: impl FnMut((K, V), Time, Diff))
where
    Tr: TraceReader<Time = Time, Batch: Navigable>,
    for<'a> BatchCursor<Tr>:
        Cursor<Key<'a> = &'a K, Val<'a> = &'a V, TimeGat<'a> = &'a Time, DiffGat<'a> = &'a Diff>,
    K: Clone,
    V: Clone,
{
    let batches =
        trace.batches_through(Antichain::new().borrow()).expect("the trace is open while it is read");
    let (cursor, storage) = cursor_list(batches);
    walk(cursor, &storage, clone_pair, visit);
}

impl<R: Row> Layout for RowTrace<R> {
    type Row = R;

    fn import_rows<'s>(&mut self, scope: Scope<'s, Time>, name: &str) -> VecCollection<'s, Time, R, Diff> {
        self.import_named(scope, name).as_collection(|row, _| row.clone())
    }

    fn for_each_in_batch(batch: &Self::Batch, mut visit: impl FnMut(R, Time, Diff)) {
        walk(batch.cursor(), batch, clone_pair, |(row, ()), time, diff| visit(row, time, diff));
    }

    fn for_each_update(&mut self, mut visit: impl FnMut(R, Time, Diff)) {
        for_each_update(self, |(row, ()), time, diff| visit(row, time, diff));
    }

    fn rows(&mut self) -> usize {
        rows(self)
    }
}

impl<K: Row, V: Row> Layout for KeyedTrace<K, V> {
    type Row = (K, V);

    fn import_rows<'s>(
        &mut self,
        scope: Scope<'s, Time>,
        name: &str,
    ) -> VecCollection<'s, Time, (K, V), Diff> {
        self.import_named(scope, name).as_collection(|k, v| (k.clone(), v.clone()))
    }

    fn for_each_in_batch(batch: &Self::Batch, visit: impl FnMut((K, V), Time, Diff)) {
        walk(batch.cursor(), batch, clone_pair, visit);
    }

    fn for_each_update(&mut self, visit: impl FnMut((K, V), Time, Diff)) {
        for_each_update(self, visit);
    }

    fn rows(&mut self) -> usize {
        rows(self)
    }
}
