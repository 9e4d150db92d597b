//! Reads of a streamed table, answered from its stored history (a streamed view's reads are
//! batch runs of its definition, made by its handle in `view.rs`).
//!
//! A streamed table keeps no rows on the workers (`shard/stream.rs`), so no worker can answer
//! a read of it. Its history is the storage directory's: the newest checkpoint at or before
//! the time read, and the log records after it. A read of it (`at`, `rows_at`, `history_at`,
//! a batch run's inputs, a checkpoint's contents) decodes that history through the time and
//! hands it to the table's kind, which makes the answer its workers' readers would have
//! given. Without storage, or older than the files reach back, the read fails with a typed
//! error; never with a partial answer.

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use super::Coordinator;
use crate::error::{Error, NO_STORAGE, Result, VIEW_NOT_KEPT};
use crate::persist::store::read_history;
use crate::protocol::SourceId;
use crate::protocol::wire::ReadKind;
use crate::shard::kind::Kind;
use crate::time::Time;

impl Coordinator {
    /// Streamed source `source`'s (of kind `kind`) answer to `read` at `time`, as one part of
    /// the answer type a worker would give.
    pub(crate) fn read_streamed(
        &self,
        source: SourceId,
        time: Time,
        read: &ReadKind,
        kind: Arc<dyn Kind>,
    ) -> Result<Vec<Box<dyn Any + Send>>> {
        if kind.stored().is_none() {
            // A streamed view: its handle answers with a batch run, never through here.
            return Err(Error::NotKept { name: String::new(), reason: VIEW_NOT_KEPT });
        }
        let rows = self.streamed_history(source, time, true)?;
        let answer = kind.answer_from_history(read, time, &rows)?;
        Ok(vec![answer])
    }

    /// Streamed table `source`'s history through `time` (`Vec<(row, time, diff)>`), read from
    /// the storage directory. `lock_files` keeps checkpoints from removing files meanwhile
    /// (false when called from a checkpoint, which holds that lock).
    pub(crate) fn streamed_history(
        &self,
        source: SourceId,
        time: Time,
        lock_files: bool,
    ) -> Result<Arc<dyn Any + Send + Sync>> {
        let _no_removals = lock_files.then(|| self.checkpointing.lock().unwrap_or_else(|e| e.into_inner()));
        let (files, name, kind) = self.sequence(|state| {
            let (name, entry) = state
                .catalog
                .entry_of(source)
                .ok_or_else(|| Error::UnknownName { kind: "streamed table", name: format!("#{source}") })?;
            if state.catalog.is_empty_stream(source) {
                // No row ever reached it: its history is empty, storage or not.
                return Ok((None, name, entry.kind));
            }
            let Some(store) = state.store.as_ref() else {
                return Err(Error::NotKept { name, reason: NO_STORAGE });
            };
            if time > state.clock.last() {
                // The files cannot wait for a commit that is not made yet.
                return Err(Error::Timeout { name, requested: time, waited: Duration::ZERO });
            }
            let files = store.history_files(time)?.ok_or_else(|| Error::Compacted {
                name: name.clone(),
                requested: time,
                since: store.oldest_checkpoint().unwrap_or(0),
            })?;
            Ok((Some(files), name, entry.kind))
        })?;
        let (_, codec) = kind.stored().expect("a streamed table is stored");
        let Some(files) = files else {
            return codec.decode_rows(&[]).map_err(Error::InvalidConfig);
        };
        let mut histories = read_history(&files, time, &[(name, codec)])?;
        let (_, rows) = histories.pop().expect("one table read, one history");
        Ok(rows)
    }
}
