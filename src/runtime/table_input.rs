//! Tables on a worker: an input handle feeding an arrangement that views import.
//!
//! A bag table is arranged by the whole row; a keyed table goes through differential's
//! `arrange_from_upsert`, which finds the value an upsert replaces, so callers never need to
//! know it. Each table is its own dataflow; every view that reads it imports the one shared
//! arrangement instead of re-indexing it.

use std::any::Any;
use std::marker::PhantomData;

use differential_dataflow::AsCollection;
use differential_dataflow::operators::arrange::upsert::arrange_from_upsert;
use differential_dataflow::trace::implementations::{ValBuilder, ValSpine};
use timely::dataflow::InputHandleVec;
use timely::dataflow::operators::vec::Input;
use timely::worker::Worker;

use super::arrangement::{Arrangement, ArrangementState};
use crate::row::Row;
use crate::time::{Diff, Time};

/// What a transaction hands a worker for one bag table: rows with their multiplicity (the time
/// slot is filled in by the worker with the commit time).
pub(crate) type BagWrites<T> = Vec<(T, Time, Diff)>;

/// What a transaction hands a worker for one keyed table: the new value of each key, or `None`
/// for a deleted key (the time slot is filled in by the worker).
pub(crate) type KeyedWrites<K, V> = Vec<(K, Option<V>, Time)>;

/// The write side of one table shard.
pub(crate) trait TableInput {
    /// Introduces `writes` (a `BagWrites` or `KeyedWrites` of this table's types) at `time`.
    fn write(&mut self, time: Time, writes: Box<dyn Any + Send>);
    /// Promises that no more writes come before `upper`, and tells timely so.
    fn advance(&mut self, upper: Time);
}

/// Builds a table's dataflow on a worker; one factory is shared by every worker.
pub(crate) trait TableFactory: Send + Sync {
    /// Builds the table's input and arrangement, with the input already at `upper`.
    fn build(
        &self,
        worker: &mut Worker,
        name: &str,
        upper: Time,
        since: Time,
    ) -> (Box<dyn TableInput>, Box<dyn ArrangementState>, usize);
}

/// Factory for bag tables of `T`.
pub(crate) struct BagTable<T>(PhantomData<fn() -> T>);

impl<T> BagTable<T> {
    pub(crate) fn new() -> Self {
        BagTable(PhantomData)
    }
}

struct BagInput<T: Row> {
    handle: InputHandleVec<Time, (T, Time, Diff)>,
}

impl<T: Row> TableInput for BagInput<T> {
    fn write(&mut self, time: Time, writes: Box<dyn Any + Send>) {
        let mut writes = *writes.downcast::<BagWrites<T>>().expect("writes match the table type");
        for update in writes.iter_mut() {
            update.1 = time;
        }
        self.handle.send_batch(&mut writes);
    }

    fn advance(&mut self, upper: Time) {
        self.handle.advance_to(upper);
        self.handle.flush();
    }
}

impl<T: Row> TableFactory for BagTable<T> {
    fn build(
        &self,
        worker: &mut Worker,
        name: &str,
        upper: Time,
        since: Time,
    ) -> (Box<dyn TableInput>, Box<dyn ArrangementState>, usize) {
        let dataflow = worker.next_dataflow_index();
        let mut handle = InputHandleVec::new();
        let trace = worker.dataflow_named(&format!("table {name}"), |scope| {
            scope.input_from(&mut handle).as_collection().arrange_by_self_named(name).trace
        });
        let mut input = BagInput::<T> { handle };
        input.advance(upper);
        (Box::new(input), Box::new(Arrangement::new(trace, since)), dataflow)
    }
}

/// Factory for keyed tables from `K` to `V`.
pub(crate) struct KeyedTable<K, V>(PhantomData<fn() -> (K, V)>);

impl<K, V> KeyedTable<K, V> {
    pub(crate) fn new() -> Self {
        KeyedTable(PhantomData)
    }
}

struct KeyedInput<K: Row, V: Row> {
    handle: InputHandleVec<Time, (K, Option<V>, Time)>,
}

impl<K: Row, V: Row> TableInput for KeyedInput<K, V> {
    fn write(&mut self, time: Time, writes: Box<dyn Any + Send>) {
        let mut writes = *writes.downcast::<KeyedWrites<K, V>>().expect("writes match the table type");
        for upsert in writes.iter_mut() {
            upsert.2 = time;
        }
        self.handle.send_batch(&mut writes);
    }

    fn advance(&mut self, upper: Time) {
        self.handle.advance_to(upper);
        self.handle.flush();
    }
}

impl<K: Row, V: Row> TableFactory for KeyedTable<K, V> {
    fn build(
        &self,
        worker: &mut Worker,
        name: &str,
        upper: Time,
        since: Time,
    ) -> (Box<dyn TableInput>, Box<dyn ArrangementState>, usize) {
        let dataflow = worker.next_dataflow_index();
        let mut handle = InputHandleVec::new();
        let trace = worker.dataflow_named(&format!("table {name}"), |scope| {
            let upserts = scope.input_from(&mut handle);
            arrange_from_upsert::<ValBuilder<K, V, Time, Diff>, ValSpine<K, V, Time, Diff>, K, V>(
                upserts, name,
            )
            .trace
        });
        let mut input = KeyedInput::<K, V> { handle };
        input.advance(upper);
        (Box::new(input), Box::new(Arrangement::new(trace, since)), dataflow)
    }
}
