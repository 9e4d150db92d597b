//! The files of a storage directory, and writing them safely.
//!
//! ```text
//! LOCK                          locked while an engine has the directory open
//! MANIFEST                      the tables: name, kind, row type (rewritten atomically)
//! wal-0000000001.log ...        the write-ahead log, in segments, one record per commit
//! checkpoint-<time>.ckpt        every table's contents consolidated as of <time>
//! ```
//!
//! Files that replace others are written to a temporary name, synced, renamed into place, and
//! the directory is synced, so a crash leaves either the old file or the new one.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::time::Time;

pub(crate) const MANIFEST: &str = "MANIFEST";
pub(crate) const LOCK: &str = "LOCK";
pub(crate) const MANIFEST_MAGIC: &[u8; 8] = b"IVMMANIF";
pub(crate) const LOG_MAGIC: &[u8; 8] = b"IVMWAL\0\0";
pub(crate) const CHECKPOINT_MAGIC: &[u8; 8] = b"IVMCKPT\0";

/// The name of log segment `seq`.
pub(crate) fn segment_name(seq: u64) -> String {
    format!("wal-{seq:010}.log")
}

/// The name of the checkpoint as of `time`.
pub(crate) fn checkpoint_name(time: Time) -> String {
    format!("checkpoint-{time:020}.ckpt")
}

/// The files of a directory that matter for recovery, in order.
#[derive(Debug, Default)]
pub(crate) struct Listing {
    /// Log segments by sequence number.
    pub(crate) segments: Vec<(u64, PathBuf)>,
    /// Checkpoints by time.
    pub(crate) checkpoints: Vec<(Time, PathBuf)>,
}

/// The log segments and checkpoints in `dir`.
pub(crate) fn list(dir: &Path) -> Result<Listing> {
    let mut segments = Vec::new();
    let mut checkpoints = Vec::new();
    let entries = fs::read_dir(dir).map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let segment = name.strip_prefix("wal-").and_then(|n| n.strip_suffix(".log"));
        let checkpoint = name.strip_prefix("checkpoint-").and_then(|n| n.strip_suffix(".ckpt"));
        if let Some(Ok(seq)) = segment.map(str::parse) {
            segments.push((seq, entry.path()));
        } else if let Some(Ok(time)) = checkpoint.map(str::parse) {
            checkpoints.push((time, entry.path()));
        }
    }
    segments.sort();
    checkpoints.sort();
    Ok(Listing { segments, checkpoints })
}

/// Reads a whole file.
pub(crate) fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))
}

/// Writes `bytes` as `dir/name`, replacing any old file atomically.
pub(crate) fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let target = dir.join(name);
    let temporary = dir.join(format!("{name}.tmp"));
    let context = |what: &str| format!("{what} {}", target.display());
    let mut file = File::create(&temporary).map_err(|e| Error::io(context("creating"), e))?;
    file.write_all(bytes).map_err(|e| Error::io(context("writing"), e))?;
    file.sync_all().map_err(|e| Error::io(context("syncing"), e))?;
    drop(file);
    fs::rename(&temporary, &target).map_err(|e| Error::io(context("renaming into"), e))?;
    sync_dir(dir)
}

/// Makes renames and creations in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    let handle = File::open(dir).map_err(|e| Error::io(format!("opening {}", dir.display()), e))?;
    handle.sync_all().map_err(|e| Error::io(format!("syncing {}", dir.display()), e))
}

/// Opens a new log segment for appending, with its header written and synced.
pub(crate) fn create_segment(dir: &Path, seq: u64) -> Result<File> {
    let path = dir.join(segment_name(seq));
    let context = |what: &str| format!("{what} {}", path.display());
    let mut file = OpenOptions::new()
        .create_new(true)
        .append(true)
        .open(&path)
        .map_err(|e| Error::io(context("creating"), e))?;
    file.write_all(&super::frame::file_header(LOG_MAGIC)).map_err(|e| Error::io(context("writing"), e))?;
    file.sync_all().map_err(|e| Error::io(context("syncing"), e))?;
    sync_dir(dir)?;
    Ok(file)
}
