//! The write-ahead log: one framed record per committed transaction, appended before `commit`
//! returns, with the durability the configuration asks for.
//!
//! - [`Durability::EveryCommit`]: each commit is written and `fdatasync`ed before it returns and
//!   before any reader can see it. Survives power loss.
//! - [`Durability::Group`]: each commit is written (and becomes visible), then waits until an
//!   `fdatasync` covers it; concurrent commits share one sync. `commit` returns only once the
//!   transaction is durable, but a reader may see it a moment before.
//! - [`Durability::Buffered`]: each commit is written to the operating system, never synced. It
//!   survives a crash of the process, not of the machine. For tests and bulk loads.
//!
//! A failed append (a full disk, say) cuts the segment back to its last whole record and fails
//! the commit, which is then not applied; if even that fails, the log refuses every later append.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use super::files;
use super::frame;
use crate::config::Durability;
use crate::error::{Error, Result};
use crate::time::Time;

/// A closed log segment: its sequence number and the time of its last record.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Segment {
    pub(crate) seq: u64,
    pub(crate) last_time: Option<Time>,
}

/// The appending side of the log. Lives under the coordinator's lock.
pub(crate) struct Log {
    dir: PathBuf,
    durability: Durability,
    file: Arc<File>,
    seq: u64,
    /// Bytes in the current segment.
    length: u64,
    /// The time of the current segment's last record.
    last_time: Option<Time>,
    /// Closed segments, oldest first.
    closed: Vec<Segment>,
    /// Bytes appended since the last checkpoint.
    since_checkpoint: u64,
    failed: Option<Error>,
    group: Arc<GroupSync>,
}

/// What a `Group` commit waits on after releasing the sequencer lock.
pub(crate) struct Ticket {
    group: Arc<GroupSync>,
    position: u64,
}

impl Ticket {
    /// Waits until an `fdatasync` covers this commit.
    pub(crate) fn wait(self) -> Result<()> {
        self.group.wait(self.position)
    }
}

impl Log {
    /// Starts appending to a new segment `seq` in `dir`, after the `closed` ones.
    pub(crate) fn start(dir: &Path, seq: u64, closed: Vec<Segment>, durability: Durability) -> Result<Log> {
        let file = Arc::new(files::create_segment(dir, seq)?);
        let group = Arc::new(GroupSync::new(Arc::clone(&file)));
        Ok(Log {
            dir: dir.to_path_buf(),
            durability,
            file,
            seq,
            length: frame::FILE_HEADER as u64,
            last_time: None,
            closed,
            since_checkpoint: 0,
            failed: None,
            group,
        })
    }

    /// Appends the record of the commit at `time`; syncs it now (`EveryCommit`) or returns the
    /// ticket to wait on after the lock is released (`Group`).
    pub(crate) fn append(&mut self, time: Time, payload: &[u8]) -> Result<Option<Ticket>> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        let mut record = Vec::with_capacity(payload.len() + frame::RECORD_HEADER);
        frame::frame(payload, &mut record);
        let path = || self.dir.join(files::segment_name(self.seq));
        if let Err(error) = (&*self.file).write_all(&record) {
            let error = Error::io(format!("appending to {}", path().display()), error);
            if let Err(cut) = self.file.set_len(self.length) {
                self.failed =
                    Some(Error::io(format!("cutting {} back after a failed append", path().display()), cut));
            }
            return Err(error);
        }
        let synced = match self.durability {
            Durability::EveryCommit => self.file.sync_data(),
            Durability::Group | Durability::Buffered => Ok(()),
        };
        if let Err(error) = synced {
            // After a failed sync nothing about the file can be trusted (the kernel may have
            // dropped the pages): undo what we can and refuse every later append.
            let error = Error::io(format!("syncing {}", path().display()), error);
            let _ = self.file.set_len(self.length);
            self.failed = Some(error.clone());
            return Err(error);
        }
        self.length += record.len() as u64;
        self.since_checkpoint += record.len() as u64;
        self.last_time = Some(time);
        let position =
            self.group.written.fetch_add(record.len() as u64, Ordering::AcqRel) + record.len() as u64;
        match self.durability {
            Durability::EveryCommit => {
                self.group.mark_synced(position);
                Ok(None)
            }
            Durability::Group => Ok(Some(Ticket { group: Arc::clone(&self.group), position })),
            Durability::Buffered => Ok(None),
        }
    }

    /// Closes the current segment (synced) and starts the next one. Returns the closed segment.
    pub(crate) fn rotate(&mut self) -> Result<Segment> {
        let path = self.dir.join(files::segment_name(self.seq));
        self.file.sync_data().map_err(|e| Error::io(format!("syncing {}", path.display()), e))?;
        self.group.mark_synced(self.group.written.load(Ordering::Acquire));
        let closed = Segment { seq: self.seq, last_time: self.last_time };
        let file = Arc::new(files::create_segment(&self.dir, self.seq + 1)?);
        self.group.switch(Arc::clone(&file));
        self.file = file;
        self.seq += 1;
        self.length = frame::FILE_HEADER as u64;
        self.last_time = None;
        self.closed.push(closed);
        Ok(closed)
    }

    /// Bytes appended since the last checkpoint.
    pub(crate) fn since_checkpoint(&self) -> u64 {
        self.since_checkpoint
    }

    /// A checkpoint was written.
    pub(crate) fn checkpointed(&mut self) {
        self.since_checkpoint = 0;
    }

    /// Removes closed segments whose records are all at or before `time` from the list, and
    /// returns them (for deletion).
    pub(crate) fn drop_segments_through(&mut self, time: Time) -> Vec<Segment> {
        let (old, keep): (Vec<Segment>, Vec<Segment>) =
            self.closed.iter().partition(|s| s.last_time.is_none_or(|last| last <= time));
        self.closed = keep;
        old
    }
}

/// Shared `fdatasync`s for group commit.
struct GroupSync {
    /// Bytes appended to the log, over all segments.
    written: AtomicU64,
    file: Mutex<Arc<File>>,
    state: Mutex<GroupState>,
    synced_cond: Condvar,
}

#[derive(Default)]
struct GroupState {
    synced: u64,
    syncing: bool,
    error: Option<Error>,
}

impl GroupSync {
    fn new(file: Arc<File>) -> Self {
        GroupSync {
            written: AtomicU64::new(0),
            file: Mutex::new(file),
            state: Mutex::new(GroupState::default()),
            synced_cond: Condvar::new(),
        }
    }

    fn switch(&self, file: Arc<File>) {
        *self.file.lock().unwrap_or_else(|e| e.into_inner()) = file;
    }

    fn mark_synced(&self, position: u64) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.synced = state.synced.max(position);
        self.synced_cond.notify_all();
    }

    /// Waits until `position` is synced, syncing for everyone if nobody else is.
    fn wait(&self, position: u64) -> Result<()> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if state.synced >= position {
                return Ok(());
            }
            if let Some(error) = &state.error {
                return Err(error.clone());
            }
            if state.syncing {
                state = self.synced_cond.wait(state).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            state.syncing = true;
            drop(state);
            let target = self.written.load(Ordering::Acquire);
            let file = Arc::clone(&self.file.lock().unwrap_or_else(|e| e.into_inner()));
            let outcome = file.sync_data();
            state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            state.syncing = false;
            match outcome {
                Ok(()) => state.synced = state.synced.max(target),
                Err(error) => state.error = Some(Error::io("syncing the write-ahead log", error)),
            }
            self.synced_cond.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_are_framed_records_that_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = Log::start(dir.path(), 1, Vec::new(), Durability::EveryCommit).unwrap();
        log.append(1, b"one").unwrap();
        log.append(2, b"two").unwrap();
        let path = dir.path().join(files::segment_name(1));
        let bytes = std::fs::read(&path).unwrap();
        let records = frame::read(&path, files::LOG_MAGIC, &bytes).unwrap();
        let payloads: Vec<&[u8]> = records.records.iter().map(|(_, p)| *p).collect();
        assert_eq!(payloads, vec![b"one".as_slice(), b"two".as_slice()]);
        assert_eq!(records.tail, frame::Tail::Clean);
    }

    #[test]
    fn a_failed_append_is_an_error_and_poisons_the_log_when_it_cannot_be_undone() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = Log::start(dir.path(), 1, Vec::new(), Durability::EveryCommit).unwrap();
        // A handle that cannot write (nor be cut back): every append fails like a full disk.
        log.file = Arc::new(File::open(dir.path().join(files::segment_name(1))).unwrap());
        let first = log.append(1, b"lost").err().expect("the append fails");
        assert!(matches!(first, Error::Io { .. }), "{first}");
        assert!(matches!(log.append(2, b"later"), Err(Error::Io { .. })));
        assert!(log.failed.is_some());
    }

    #[test]
    fn group_commits_wait_for_a_shared_sync() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = Log::start(dir.path(), 1, Vec::new(), Durability::Group).unwrap();
        let tickets: Vec<Ticket> =
            (1..=10).map(|t| log.append(t, b"x").unwrap().expect("a ticket")).collect();
        let threads: Vec<_> =
            tickets.into_iter().map(|ticket| std::thread::spawn(move || ticket.wait())).collect();
        for thread in threads {
            thread.join().unwrap().unwrap();
        }
        let state = log.group.state.lock().unwrap();
        assert_eq!(state.synced, log.group.written.load(Ordering::Acquire));
    }
}
