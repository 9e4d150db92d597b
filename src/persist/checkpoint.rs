//! Checkpoints: every table's contents as of the engine's `since`, written beside the log.
//!
//! A checkpoint starts a new log segment (commits go on meanwhile), reads each table's history
//! through `since` from the workers (a read like any other: it waits until the tables are
//! complete through it), writes the contents to a new file atomically, and only then removes the
//! log segments and the older checkpoint it replaces. Contents are taken as of `since`, not as
//! of the latest commit, so that a restart from the checkpoint plus the log after it still
//! answers every retained time exactly.

use crate::error::{Error, Result};
use crate::persist::store::{chunk_rows, write_checkpoint};
use crate::runtime::Core;
use crate::time::Time;

/// Checkpoints now. Returns the checkpoint's time, or `None` if there is nothing new to
/// checkpoint (`since` has not moved past the last checkpoint, or tables recovered from disk
/// are not registered again yet). `wait` chooses between waiting for a checkpoint already
/// running (on demand) and leaving the work to it (automatic).
pub(crate) fn run(core: &Core, wait: bool) -> Result<Option<Time>> {
    let _running = if wait {
        core.checkpointing.lock().unwrap_or_else(|e| e.into_inner())
    } else {
        match core.checkpointing.try_lock() {
            Ok(guard) => guard,
            Err(_) => return Ok(None),
        }
    };
    loop {
        let plan = core.sequence(|sequencer| {
            let since = sequencer.clock.since();
            let tables = sequencer.catalog.tables();
            let Some(store) = sequencer.store.as_mut() else {
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
        for (name, id, parts) in tables {
            match parts.history.read(core, id, time) {
                Ok(rows) => chunks.extend(
                    parts.codec.encode_contents(&rows, chunk_rows()).into_iter().map(|c| (name.clone(), c)),
                ),
                // `since` moved past `time` while we read: start over at the new `since`.
                Err(Error::Compacted { .. }) => {
                    moved_on = true;
                    break;
                }
                Err(error) => return Err(error),
            }
        }
        if moved_on {
            continue;
        }
        write_checkpoint(&dir, time, chunks)?;
        core.sequence(|sequencer| {
            sequencer.store.as_mut().expect("storage stays configured").finish_checkpoint(time)
        })?;
        return Ok(Some(time));
    }
}
