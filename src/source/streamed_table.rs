//! A streamed table: a bag of rows of `T` whose rows are not kept in memory. Writes are a bag
//! table's (`Transaction::insert`, `delete`, `update`, through the same [`Table`](crate::Table)
//! handle) and are logged the same way; on the workers they flow into the views that read the
//! table and are gone (`shard/stream.rs`). With storage, its history is the log and the
//! checkpoints: reads of the table and views created after rows arrived are answered from them.

use std::marker::PhantomData;

use super::bag_table::BagTable;
use crate::error::Result;
use crate::persist::codec::{StoredKind, TableCodec};
use crate::row::Row;
use crate::shard::kind::{Site, SourceKind};
use crate::shard::layout::RowTrace;
use crate::shard::registry::Shard;
use crate::shard::stream::{Fanout, StreamState};

/// The kind of a streamed table of rows `T`: stored like a bag table, arranged nowhere.
pub(crate) struct StreamedTable<T> {
    /// How its writes and contents are encoded: a bag table's codec.
    bag: BagTable<T>,
    row: PhantomData<fn() -> T>,
}

impl<T> StreamedTable<T> {
    pub(crate) fn new() -> Self {
        StreamedTable { bag: BagTable::new(), row: PhantomData }
    }
}

impl<T: Row> SourceKind for StreamedTable<T> {
    /// Never built: it names the rows (reads answered from history, subscribers, decoding).
    type Trace = RowTrace<T>;
    const NOUN: &'static str = "streamed table";

    fn build(&self, site: Site<'_>) -> Result<Shard> {
        let fanout = Fanout::<T>::new(site.upper);
        Ok(Shard {
            arrangement: Box::new(StreamState::new(fanout.clone())),
            input: Some(Box::new(fanout)),
            hub: None,
            reads: Default::default(),
        })
    }

    fn stored(&self) -> Option<(StoredKind, &dyn TableCodec)> {
        Some((StoredKind::Streamed, &self.bag))
    }

    fn keeps_rows(&self) -> bool {
        false
    }
}
