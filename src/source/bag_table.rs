//! A bag table: a multiset of rows of `T`, arranged whole. Writes add or remove copies of a
//! row (`Transaction::insert`, `delete`, `update`); the log stores them as `Vec<(T, Diff)>`.

use std::any::Any;
use std::marker::PhantomData;
use std::sync::Arc;

use differential_dataflow::AsCollection;

use crate::coordinator::commit::TableWrites;
use crate::error::Result;
use crate::persist::codec::{self, StoredKind, TableCodec, decode_extend, encode_rows};
use crate::row::Row;
use crate::shard::input::{BagWrites, build, split_vec};
use crate::shard::kind::{Site, SourceKind};
use crate::shard::layout::RowTrace;
use crate::shard::registry::Shard;
use crate::shard::sorted_runs::arrange_rows;
use crate::time::{Diff, Time};

/// The kind of a bag table of rows `T`.
pub(crate) struct BagTable<T>(PhantomData<fn() -> T>);

impl<T> BagTable<T> {
    pub(crate) fn new() -> Self {
        BagTable(PhantomData)
    }
}

impl<T: Row> SourceKind for BagTable<T> {
    type Trace = RowTrace<T>;
    const NOUN: &'static str = "table";

    fn build(&self, site: Site<'_>) -> Result<Shard> {
        let Site { worker, name, upper, since, history, .. } = site;
        let (input, arrangement) =
            build::<(T, Time, Diff), _>(worker, name, upper, since, history, |updates| {
                arrange_rows(updates.as_collection(), name).trace
            });
        Ok(Shard { arrangement, input: Some(input), hub: None, reads: Default::default() })
    }

    fn stored(&self) -> Option<(StoredKind, &dyn TableCodec)> {
        Some((StoredKind::Bag, self))
    }
}

/// A transaction's writes to one bag table: rows with their multiplicities.
impl<T: Row> TableWrites for BagWrites<T> {
    fn len(&self) -> usize {
        Vec::len(self)
    }

    fn bytes(&self) -> usize {
        Vec::len(self) * std::mem::size_of::<(T, Time, Diff)>()
    }

    fn encode(&self) -> Vec<u8> {
        codec::encode(&self.iter().map(|(row, _, diff)| (row, *diff)).collect::<Vec<_>>())
    }

    fn split(self, parts: usize) -> Vec<Box<dyn Any + Send>> {
        split_vec(self, parts)
    }
}

/// Stored as `Vec<(T, Diff)>` writes; contents are `Vec<(T, Diff)>` too.
impl<T: Row> TableCodec for BagTable<T> {
    fn decode_writes(&self, bytes: &[u8], time: Time, history: &mut dyn Any) -> Result<(), String> {
        let history = history.downcast_mut::<BagWrites<T>>().expect("history matches the table type");
        decode_extend(bytes, history, |(row, diff): (T, Diff)| (row, time, diff))
    }

    fn decode_contents(&self, bytes: &[u8], time: Time, history: &mut dyn Any) -> Result<(), String> {
        self.decode_writes(bytes, time, history)
    }

    fn encode_contents(&self, rows: &Arc<dyn Any + Send + Sync>, chunk: usize) -> Vec<Vec<u8>> {
        encode_rows::<T>(rows, chunk)
    }

    fn empty_history(&self) -> Box<dyn Any + Send> {
        Box::new(BagWrites::<T>::new())
    }

    fn len(&self, history: &dyn Any) -> usize {
        history.downcast_ref::<BagWrites<T>>().expect("history matches the table type").len()
    }

    fn split(&self, history: Box<dyn Any + Send>, parts: usize) -> Vec<Box<dyn Any + Send>> {
        split_vec(*history.downcast::<BagWrites<T>>().expect("history matches the table type"), parts)
    }

    fn advance(&self, history: &mut dyn Any, since: Time) {
        let history = history.downcast_mut::<BagWrites<T>>().expect("history matches the table type");
        for update in history.iter_mut() {
            update.1 = update.1.max(since);
        }
        // Consolidated, the history is smaller (what cancels by `since` is gone) and sorted:
        // a kept table's arrangement then moves it in whole chunks (`shard/sorted_runs.rs`),
        // and a view over a streamed table gets runs its own arrangements merge cheaply
        // (restarts from the log, BENCHMARKS.md §6h: a streamed table's 1.6 × faster, a kept
        // table's 1.2 to 1.4 ×).
        differential_dataflow::consolidation::consolidate_updates(history);
    }

    fn decode_rows(&self, pieces: &[(bool, Time, &[u8])]) -> Result<Arc<dyn Any + Send + Sync>, String> {
        let mut rows: Vec<(T, Time, Diff)> = Vec::new();
        for &(_, time, bytes) in pieces {
            decode_extend(bytes, &mut rows, |(row, diff): (T, Diff)| (row, time, diff))?;
        }
        Ok(Arc::new(rows))
    }
}
