//! Checkpoints, and reads of the stored history older than what the workers still hold.
//!
//! A checkpoint starts a new log segment (commits go on meanwhile), reads each table's history
//! through `since` from the workers (a read like any other: it waits until the tables are
//! complete through it), writes the contents to a new file atomically, and only then removes the
//! log segments and the older checkpoint it replaces. Contents are taken as of `since`, not as
//! of the latest commit, so that a restart from the checkpoint plus the log after it still
//! answers every retained time exactly.

use std::time::Instant;

use super::Coordinator;
use super::read::History;
use crate::error::{Error, Result};
use crate::persist::codec::TableCodec;
use crate::persist::store::{chunk_rows, read_history, write_checkpoint};
use crate::time::Time;

impl Coordinator {
    /// Checkpoints now. Returns the checkpoint's time, or `None` if there is nothing new to
    /// checkpoint (`since` has not moved past the last checkpoint, or tables recovered from
    /// disk are not registered again yet). `wait` chooses between waiting for a checkpoint
    /// already running (on demand) and leaving the work to it (automatic).
    ///
    /// A checkpoint written is an info event (its time, its size, how long it took); a failure
    /// is a debug event, like every error the coordinator returns.
    pub(crate) fn checkpoint(&self, wait: bool) -> Result<Option<Time>> {
        self.checkpoint_now(wait).map_err(super::returned)
    }

    fn checkpoint_now(&self, wait: bool) -> Result<Option<Time>> {
        let started = Instant::now();
        let _running = if wait {
            self.checkpointing.lock().unwrap_or_else(|e| e.into_inner())
        } else {
            match self.checkpointing.try_lock() {
                Ok(guard) => guard,
                Err(_) => return Ok(None),
            }
        };
        loop {
            let plan = self.sequence(|state| {
                let since = state.clock.since();
                let tables = state.catalog.tables();
                let Some(store) = state.store.as_mut() else {
                    return Err(Error::InvalidConfig("checkpoints need Config::with_storage".into()));
                };
                if since == 0 || store.checkpoint_time().is_some_and(|last| last >= since) {
                    return Ok(None);
                }
                if !store.unregistered().is_empty() {
                    return Ok(None);
                }
                store.begin_checkpoint()?;
                Ok(Some((since, tables, store.dir().to_path_buf())))
            })?;
            let Some((time, tables, dir)) = plan else {
                return Ok(None);
            };
            let mut chunks = Vec::new();
            let mut moved_on = false;
            for (name, entry) in tables {
                let (_, codec) = entry.kind.stored().expect("the catalog lists stored sources as tables");
                if entry.kind.streamed() {
                    // Its history is in the files already: read it there, as of `time`.
                    let rows = self.streamed_history(entry.id, time, false)?;
                    chunks.extend(
                        codec.encode_contents(&rows, chunk_rows()).into_iter().map(|c| (name.clone(), c)),
                    );
                    continue;
                }
                let parts = match self.read(
                    entry.id,
                    time,
                    super::Targets::All,
                    crate::protocol::wire::ReadKind::History,
                    None,
                ) {
                    Ok(parts) => parts,
                    // `since` moved past `time` while we read: start over at the new `since`.
                    Err(Error::Compacted { .. }) => {
                        moved_on = true;
                        break;
                    }
                    Err(error) => return Err(error),
                };
                let rows = entry.kind.merge_history(parts)?;
                chunks.extend(
                    codec.encode_contents(&rows, chunk_rows()).into_iter().map(|c| (name.clone(), c)),
                );
            }
            if moved_on {
                continue;
            }
            let tables = chunks.len();
            let bytes = write_checkpoint(&dir, time, chunks)?;
            self.sequence(|state| {
                state.store.as_mut().expect("storage stays configured").finish_checkpoint(time)
            })?;
            let elapsed_ms = started.elapsed().as_secs_f64() * 1e3;
            tracing::info!(time, bytes, chunks = tables, elapsed_ms, dir = %dir.display(), "checkpoint written");
            return Ok(Some(time));
        }
    }

    /// Every table's history through `t`, read from the storage directory, when `t` is older
    /// than what the workers hold but the files still reach back to it; `None` otherwise
    /// (no storage, `t` after the last commit, or tables recovered from disk not registered
    /// again yet).
    pub(crate) fn stored_histories(&self, t: Time) -> Result<Option<Vec<History>>> {
        // No checkpoint may remove files while they are read.
        let _no_removals = self.checkpointing.lock().unwrap_or_else(|e| e.into_inner());
        let plan = self.sequence(|state| {
            let Some(store) = state.store.as_ref() else {
                return Ok(None);
            };
            if t > state.clock.last() || !store.unregistered().is_empty() {
                return Ok(None);
            }
            Ok(store.history_files(t)?.map(|files| (files, state.catalog.tables())))
        })?;
        let Some((files, tables)) = plan else {
            return Ok(None);
        };
        let codecs: Vec<(String, &dyn TableCodec)> =
            tables.iter().filter_map(|(name, entry)| Some((name.clone(), entry.kind.stored()?.1))).collect();
        let histories = read_history(&files, t, &codecs)?;
        let histories = tables
            .into_iter()
            .zip(histories)
            .map(|((name, entry), (_, rows))| History { id: entry.id, name, rows })
            .collect();
        Ok(Some(histories))
    }
}
