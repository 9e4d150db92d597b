//! A storage directory: opening it (recovery), registering tables, appending commits, and
//! checkpoints.
//!
//! Recovery reads the manifest, the newest checkpoint and every log record after it, checking
//! each byte. A torn final record (the process died while appending it; it was never
//! acknowledged) is cut off; anything else that does not check out is `Error::Corrupted` and the
//! directory is left untouched. The recovered rows stay encoded until the application registers
//! each table again with its row type; only then are they decoded and replayed, at their
//! original commit times, so every retained time reads as it did before.
//!
//! A checkpoint holds every table's contents as of the engine's `since` (the oldest time reads
//! may ask for), so a restart from it plus the log after it reproduces every retained time.

use std::any::Any;
use std::collections::BTreeMap;
use std::fs;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use super::codec::{self, CheckpointChunk, CheckpointHeader, LogRecord, StoredKind, StoredTable, TableCodec};
use super::files::{self, CHECKPOINT_MAGIC, LOG_MAGIC, MANIFEST, MANIFEST_MAGIC};
use super::frame::{self, Tail};
use super::log::{Log, Segment, Ticket};
use crate::clock::Clock;
use crate::config::{CheckpointPolicy, Durability, Retention};
use crate::error::{Error, Result};
use crate::time::Time;

/// Rows of a checkpoint chunk.
const CHUNK_ROWS: usize = 65_536;

/// Stored bytes of one table, waiting for the table to be registered.
struct Piece {
    time: Time,
    bytes: FileSlice,
    /// From a checkpoint (contents) or the log (writes).
    contents: bool,
    file: PathBuf,
    offset: u64,
}

/// A stretch of a file read into memory. Every piece read from one file shares its buffer, so
/// recovery decodes rows where the file put them and copies no byte of them out. The buffer
/// lives as long as its last piece: a stored table the application never registers again keeps
/// the whole files its pieces are in.
struct FileSlice {
    file: Arc<Vec<u8>>,
    range: Range<usize>,
}

impl FileSlice {
    /// The stretch of `file` that `part`, a slice borrowed from it, covers.
    fn of(file: &Arc<Vec<u8>>, part: &[u8]) -> FileSlice {
        let start = part.as_ptr().addr() - file.as_ptr().addr();
        debug_assert!(start + part.len() <= file.len(), "the slice lies in the file");
        FileSlice { file: Arc::clone(file), range: start..start + part.len() }
    }

    fn bytes(&self) -> &[u8] {
        &self.file[self.range.clone()]
    }
}

/// A table found on disk, with its stored pieces in time order.
struct Recovered {
    pieces: Vec<Piece>,
}

/// What opening a directory found.
pub(crate) struct Opened {
    pub(crate) store: Store,
    /// The last committed time (0 if none).
    pub(crate) last: Time,
    /// Commit times after the checkpoint, oldest first.
    pub(crate) times: Vec<Time>,
    /// The checkpoint's time: nothing older can be read (0 without a checkpoint).
    pub(crate) floor: Time,
    /// The log segments read.
    pub(crate) segments: usize,
}

/// An open storage directory. Lives under the coordinator's lock.
pub(crate) struct Store {
    dir: PathBuf,
    log: Log,
    manifest: Vec<StoredTable>,
    recovered: BTreeMap<String, Recovered>,
    /// The times of the checkpoints on disk, oldest first.
    checkpoints: Vec<Time>,
    policy: CheckpointPolicy,
    /// When the last checkpoint was written (or the directory opened).
    last_checkpoint: Instant,
    /// Commit times under the log's retention: what the files must keep readable.
    history: Clock,
    /// True while the first log segment ever written is still on disk.
    log_from_start: bool,
    /// Held while the store is open, so no second engine opens the directory.
    _lock: DirectoryLock,
}

impl Store {
    /// Opens (or creates) the storage directory `dir`.
    pub(crate) fn open(
        dir: &Path,
        durability: Durability,
        policy: CheckpointPolicy,
        log_retention: Retention,
    ) -> Result<Opened> {
        fs::create_dir_all(dir).map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        let lock = lock(dir)?;
        let manifest_path = dir.join(MANIFEST);
        let manifest = if manifest_path.exists() {
            read_manifest(&manifest_path)?
        } else {
            let listing = files::list(dir)?;
            if !listing.segments.is_empty() || !listing.checkpoints.is_empty() {
                return Err(Error::Corrupted {
                    file: manifest_path,
                    offset: 0,
                    reason: "the manifest is missing but log or checkpoint files exist".into(),
                });
            }
            write_manifest(dir, &[])?;
            Vec::new()
        };
        let files::Listing { segments, checkpoints } = files::list(dir)?;
        let mut recovered: BTreeMap<String, Recovered> =
            manifest.iter().map(|table| (table.name.clone(), Recovered { pieces: Vec::new() })).collect();

        let floor = match checkpoints.last() {
            Some((time, path)) => {
                read_checkpoint(path, *time, &mut recovered, true)?;
                *time
            }
            None => 0,
        };
        let mut last = floor;
        let mut times = Vec::new();
        let mut closed = Vec::new();
        for (index, (seq, path)) in segments.iter().enumerate() {
            let is_last = index + 1 == segments.len();
            let segment_last = read_segment(path, is_last, floor, &mut last, &mut times, &mut recovered)?;
            closed.push(Segment { seq: *seq, last_time: segment_last });
        }
        let next_seq = segments.last().map_or(1, |(seq, _)| seq + 1);
        let log_from_start = segments.first().is_none_or(|(seq, _)| *seq == 1);
        let log = Log::start(dir, next_seq, closed, durability)?;
        let store = Store {
            dir: dir.to_path_buf(),
            log,
            manifest,
            recovered,
            checkpoints: checkpoints.iter().map(|(time, _)| *time).collect(),
            policy,
            last_checkpoint: Instant::now(),
            history: Clock::restore(log_retention, last, &times, 0),
            log_from_start,
            _lock: lock,
        };
        Ok(Opened { store, last, times, floor, segments: segments.len() })
    }

    /// Registers a table whose rows are of `row_type` (the Rust name, for messages) and `shape`
    /// ([`crate::shape`]): checks it against what is stored and returns its recovered history,
    /// still encoded, or records the new table in the manifest.
    ///
    /// The caller decodes the history ([`StoredHistory`]); if that fails, it gives the history
    /// back ([`Store::give_back`]), so that registering again fails the same way rather than
    /// finding the table empty.
    pub(crate) fn register(
        &mut self,
        name: &str,
        kind: StoredKind,
        (row_type, shape): (&'static str, String),
    ) -> Result<Option<StoredHistory>> {
        if let Some(stored) = self.manifest.iter().find(|t| t.name == name) {
            if stored.kind != kind {
                return Err(Error::KindMismatch {
                    name: name.to_string(),
                    existing: stored.kind.noun(),
                    requested: kind.noun(),
                });
            }
            if stored.row_shape != shape {
                return Err(Error::TypeMismatch {
                    name: name.to_string(),
                    expected: leak(format!("shape {}", stored.row_shape)),
                    found: leak(format!("{row_type} (shape {shape})")),
                });
            }
            let Some(recovered) = self.recovered.remove(name) else {
                return Ok(None);
            };
            return Ok(Some(StoredHistory { name: name.to_string(), row_type, pieces: recovered.pieces }));
        }
        let mut manifest = self.manifest.clone();
        manifest.push(StoredTable { name: name.to_string(), kind, row_shape: shape });
        write_manifest(&self.dir, &manifest)?;
        self.manifest = manifest;
        Ok(None)
    }

    /// Takes back the history of a table that [`Store::register`] returned and that did not
    /// decode: the table counts as not registered again, and its rows stay in the files.
    pub(crate) fn give_back(&mut self, history: StoredHistory) {
        self.recovered.insert(history.name, Recovered { pieces: history.pieces });
    }

    /// Tables on disk that the application has not registered again yet.
    pub(crate) fn unregistered(&self) -> Vec<String> {
        self.recovered.keys().cloned().collect()
    }

    /// Appends the commit at `time` with each table's encoded writes.
    pub(crate) fn append(&mut self, time: Time, writes: Vec<(String, Vec<u8>)>) -> Result<Option<Ticket>> {
        let writes = writes.iter().map(|(table, bytes)| (table.as_str(), bytes.as_slice())).collect();
        let payload = codec::encode(&LogRecord { time, writes });
        let ticket = self.log.append(time, &payload)?;
        self.history.record(time);
        Ok(ticket)
    }

    /// True once enough has been logged since the last checkpoint.
    pub(crate) fn wants_checkpoint(&self) -> bool {
        let logged = self.log.since_checkpoint();
        logged >= self.policy.bytes
            || (logged > 0
                && self.policy.interval.is_some_and(|every| self.last_checkpoint.elapsed() >= every))
    }

    /// The time of the oldest checkpoint on disk: with the log's first segment gone, the
    /// oldest time the files still answer.
    pub(crate) fn oldest_checkpoint(&self) -> Option<Time> {
        self.checkpoints.first().copied()
    }

    /// The time of the newest checkpoint.
    pub(crate) fn checkpoint_time(&self) -> Option<Time> {
        self.checkpoints.last().copied()
    }

    /// The files to read for the tables' history as of `t`: the newest checkpoint at or before
    /// `t` and every log segment, or `None` if the files no longer reach back to `t`.
    pub(crate) fn history_files(&self, t: Time) -> Result<Option<HistoryFiles>> {
        let checkpoint = self.checkpoints.iter().rev().find(|c| **c <= t).copied();
        if checkpoint.is_none() && !self.log_from_start {
            return Ok(None);
        }
        let listing = files::list(&self.dir)?;
        Ok(Some(HistoryFiles {
            checkpoint: checkpoint.map(|c| (c, self.dir.join(files::checkpoint_name(c)))),
            segments: listing.segments.into_iter().map(|(_, path)| path).collect(),
        }))
    }

    /// Starts a checkpoint: later commits go to a new log segment.
    pub(crate) fn begin_checkpoint(&mut self) -> Result<()> {
        self.log.rotate().map(|_| ())
    }

    /// The directory.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Records that the checkpoint as of `time` is durable, and removes the files no longer
    /// needed: with the newest checkpoint at or before the log retention's `since` as the
    /// oldest to keep, older checkpoints and the log segments whose records all precede it.
    pub(crate) fn finish_checkpoint(&mut self, time: Time) -> Result<()> {
        if !self.checkpoints.contains(&time) {
            self.checkpoints.push(time);
            self.checkpoints.sort_unstable();
        }
        self.log.checkpointed();
        self.last_checkpoint = Instant::now();
        let keep_from = self.checkpoints.iter().rev().find(|c| **c <= self.history.since()).copied();
        let Some(keep_from) = keep_from else {
            return Ok(());
        };
        for segment in self.log.drop_segments_through(keep_from) {
            remove(&self.dir.join(files::segment_name(segment.seq)))?;
            self.log_from_start = false;
        }
        for old in self.checkpoints.iter().filter(|c| **c < keep_from) {
            remove(&self.dir.join(files::checkpoint_name(*old)))?;
        }
        self.checkpoints.retain(|c| *c >= keep_from);
        files::sync_dir(&self.dir)
    }
}

/// The files that hold the tables' history as of some time.
pub(crate) struct HistoryFiles {
    checkpoint: Option<(Time, PathBuf)>,
    segments: Vec<PathBuf>,
}

/// Reads every table's history through `t` from `files`: `(name, Vec<(row, time, diff)>)` for
/// each of `tables` (name and codec).
pub(crate) fn read_history(
    files: &HistoryFiles,
    t: Time,
    tables: &[(String, &dyn TableCodec)],
) -> Result<Vec<(String, Arc<dyn Any + Send + Sync>)>> {
    let recovered = gather(files, t, tables.iter().map(|(name, _)| name.as_str()))?;
    tables
        .iter()
        .map(|(name, codec)| {
            let pieces = &recovered[name].pieces;
            let parts: Vec<(bool, Time, &[u8])> =
                pieces.iter().map(|p| (p.contents, p.time, p.bytes.bytes())).collect();
            let rows = codec.decode_rows(&parts).map_err(|reason| Error::Corrupted {
                file: pieces.first().map(|p| p.file.clone()).unwrap_or_default(),
                offset: pieces.first().map_or(0, |p| p.offset),
                reason: format!("rows of table {name:?} do not decode: {reason}"),
            })?;
            Ok((name.clone(), rows))
        })
        .collect()
}

/// The stored pieces through `t` of each table in `names`, from `files`.
fn gather<'a>(
    files: &HistoryFiles,
    t: Time,
    names: impl Iterator<Item = &'a str>,
) -> Result<BTreeMap<String, Recovered>> {
    let mut recovered: BTreeMap<String, Recovered> =
        names.map(|name| (name.to_string(), Recovered { pieces: Vec::new() })).collect();
    let floor = match &files.checkpoint {
        Some((time, path)) => {
            read_checkpoint(path, *time, &mut recovered, false)?;
            *time
        }
        None => 0,
    };
    let (mut last, mut times) = (floor, Vec::new());
    for path in &files.segments {
        // The newest segment may be mid-append: a torn tail there is simply not yet written.
        read_records(path, floor, Some(t), &mut last, &mut times, &mut recovered, false)?;
    }
    Ok(recovered)
}

/// Reads one table's history through `t` from `files` for a streamed table's backfill
/// ([`StoredHistory::for_each_batch`]).
pub(crate) fn history_through(
    files: &HistoryFiles,
    t: Time,
    (name, row_type): (&str, &'static str),
) -> Result<StoredHistory> {
    let mut recovered = gather(files, t, std::iter::once(name))?;
    let pieces = recovered.remove(name).map(|r| r.pieces).unwrap_or_default();
    Ok(StoredHistory { name: name.to_string(), row_type, pieces })
}

/// One table's stored history, still encoded: its pieces (checkpoint chunks and log records'
/// writes) in time order, their bytes where the files put them.
pub(crate) struct StoredHistory {
    name: String,
    /// The Rust name of the rows, for messages.
    row_type: &'static str,
    pieces: Vec<Piece>,
}

impl StoredHistory {
    /// True if no rows were ever stored for the table.
    pub(crate) fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }

    /// The whole history, decoded into the codec's write type, with times.
    pub(crate) fn decode(&self, codec: &dyn TableCodec) -> Result<Box<dyn Any + Send>> {
        let mut whole = None;
        self.for_each_batch(codec, usize::MAX, |history| {
            whole = Some(history);
            Ok(())
        })?;
        Ok(whole.unwrap_or_else(|| codec.empty_history()))
    }

    /// The history decoded in batches of at least `batch` rows (a whole stored piece at
    /// least), in time order, each handed to `each` as soon as it is decoded, so that the
    /// workers take in one batch while the next decodes.
    pub(crate) fn for_each_batch(
        &self,
        codec: &dyn TableCodec,
        batch: usize,
        mut each: impl FnMut(Box<dyn Any + Send>) -> Result<()>,
    ) -> Result<()> {
        let mut history = codec.empty_history();
        for piece in &self.pieces {
            decode_piece(&self.name, self.row_type, piece, codec, history.as_mut())?;
            if codec.len(history.as_ref()) >= batch {
                each(std::mem::replace(&mut history, codec.empty_history()))?;
            }
        }
        if codec.len(history.as_ref()) > 0 {
            each(history)?;
        }
        Ok(())
    }
}

/// Appends one stored piece of table `name` to `history`, in the codec's write type.
fn decode_piece(
    name: &str,
    row_type: &'static str,
    piece: &Piece,
    codec: &dyn TableCodec,
    history: &mut dyn Any,
) -> Result<()> {
    let decoded = if piece.contents {
        codec.decode_contents(piece.bytes.bytes(), piece.time, history)
    } else {
        codec.decode_writes(piece.bytes.bytes(), piece.time, history)
    };
    decoded.map_err(|reason| Error::Corrupted {
        file: piece.file.clone(),
        offset: piece.offset,
        reason: format!("rows of table {name:?} do not decode as {row_type}: {reason}"),
    })
}

/// Writes the checkpoint as of `time` holding `chunks` of `(table, encoded rows)`; returns
/// the file's size in bytes.
pub(crate) fn write_checkpoint(dir: &Path, time: Time, chunks: Vec<(String, Vec<u8>)>) -> Result<usize> {
    let mut bytes = frame::file_header(CHECKPOINT_MAGIC).to_vec();
    frame::frame(&codec::encode(&CheckpointHeader { time, chunks: chunks.len() as u64 }), &mut bytes);
    for (table, rows) in chunks {
        frame::frame(&codec::encode(&CheckpointChunk { table: &table, rows: &rows }), &mut bytes);
    }
    files::write_atomically(dir, &files::checkpoint_name(time), &bytes)?;
    Ok(bytes.len())
}

/// Rows per checkpoint chunk.
pub(crate) fn chunk_rows() -> usize {
    CHUNK_ROWS
}

/// The lock on a storage directory: an advisory lock on its `LOCK` file, which the operating
/// system drops with the process.
///
/// Dropping it unlocks explicitly before closing. Closing alone is not enough: a program that
/// another thread of the process is starting holds a copy of every open file until it has
/// started (`fork` copies them, `exec` closes them), and a lock stays held while any copy is
/// open, so a restart racing that start would find the directory in use. Unlocking releases
/// the lock for every copy at once.
struct DirectoryLock(fs::File);

impl Drop for DirectoryLock {
    fn drop(&mut self) {
        // Failing to unlock leaves the lock to the close that follows.
        let _ = self.0.unlock();
    }
}

/// Locks `dir` for this engine.
fn lock(dir: &Path) -> Result<DirectoryLock> {
    let path = dir.join(files::LOCK);
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    match file.try_lock() {
        Ok(()) => Ok(DirectoryLock(file)),
        Err(fs::TryLockError::WouldBlock) => Err(Error::StorageLocked { dir: dir.to_path_buf() }),
        Err(fs::TryLockError::Error(e)) => Err(Error::io(format!("locking {}", path.display()), e)),
    }
}

fn remove(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(Error::io(format!("removing {}", path.display()), error)),
    }
}

/// Type names read from disk live as long as the process (they name types in errors).
fn leak(name: String) -> &'static str {
    Box::leak(name.into_boxed_str())
}

fn read_manifest(path: &Path) -> Result<Vec<StoredTable>> {
    let bytes = files::read(path)?;
    let records = frame::read(path, MANIFEST_MAGIC, &bytes)?;
    let corrupted =
        |offset: u64, reason: String| Error::Corrupted { file: path.to_path_buf(), offset, reason };
    match (records.records.as_slice(), records.tail) {
        ([(offset, payload)], Tail::Clean) => codec::decode(payload).map_err(|e| corrupted(*offset, e)),
        _ => Err(corrupted(0, "the manifest must hold exactly one whole record".into())),
    }
}

fn write_manifest(dir: &Path, tables: &[StoredTable]) -> Result<()> {
    let mut bytes = frame::file_header(MANIFEST_MAGIC).to_vec();
    frame::frame(&codec::encode(&tables.to_vec()), &mut bytes);
    files::write_atomically(dir, MANIFEST, &bytes)
}

/// Reads the checkpoint at `path` into `recovered`. `strict` (recovery) refuses a table not in
/// `recovered` (the manifest); otherwise (a history read of some tables) it is skipped.
fn read_checkpoint(
    path: &Path,
    time: Time,
    recovered: &mut BTreeMap<String, Recovered>,
    strict: bool,
) -> Result<()> {
    let bytes = Arc::new(files::read(path)?);
    let records = frame::read(path, CHECKPOINT_MAGIC, &bytes)?;
    let corrupted =
        |offset: u64, reason: String| Error::Corrupted { file: path.to_path_buf(), offset, reason };
    if records.tail != Tail::Clean {
        return Err(corrupted(bytes.len() as u64, "the checkpoint is truncated".into()));
    }
    let Some(((offset, first), chunks)) = records.records.split_first() else {
        return Err(corrupted(0, "the checkpoint has no header record".into()));
    };
    let header: CheckpointHeader = codec::decode(first).map_err(|e| corrupted(*offset, e))?;
    if header.time != time || header.chunks != chunks.len() as u64 {
        return Err(corrupted(*offset, "the checkpoint's header does not match its name or contents".into()));
    }
    for (offset, payload) in chunks {
        let chunk: CheckpointChunk = codec::decode(payload).map_err(|e| corrupted(*offset, e))?;
        let Some(table) = recovered.get_mut(chunk.table) else {
            if strict {
                return Err(corrupted(*offset, format!("table {:?} is not in the manifest", chunk.table)));
            }
            continue;
        };
        table.pieces.push(Piece {
            time,
            bytes: FileSlice::of(&bytes, chunk.rows),
            contents: true,
            file: path.to_path_buf(),
            offset: *offset,
        });
    }
    Ok(())
}

/// Reads one log segment's records after `floor`; cuts off a torn tail of the last segment.
/// Returns the time of the segment's last record.
fn read_segment(
    path: &Path,
    is_last: bool,
    floor: Time,
    last: &mut Time,
    times: &mut Vec<Time>,
    recovered: &mut BTreeMap<String, Recovered>,
) -> Result<Option<Time>> {
    let (segment_last, tail) = read_records(path, floor, None, last, times, recovered, true)?;
    let corrupted =
        |offset: u64, reason: String| Error::Corrupted { file: path.to_path_buf(), offset, reason };
    if let Tail::Torn(at) = tail {
        if !is_last {
            return Err(corrupted(at, "a record is cut short in the middle of the log".into()));
        }
        // The record being appended when the process stopped was never acknowledged.
        let file = fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
        file.set_len(at.max(frame::FILE_HEADER as u64))
            .and_then(|()| file.sync_all())
            .map_err(|e| Error::io(format!("cutting the torn tail of {}", path.display()), e))?;
        if at < frame::FILE_HEADER as u64 {
            // The segment was being created: give it its header back.
            fs::write(path, frame::file_header(LOG_MAGIC))
                .map_err(|e| Error::io(format!("rewriting {}", path.display()), e))?;
        }
    }
    Ok(segment_last)
}

/// Reads one log segment's records after `floor` (and through `until`, if given) into
/// `recovered`, refusing a table not in it if `strict` (as [`read_checkpoint`]). Returns the
/// time of the segment's last record and how the segment ends.
fn read_records(
    path: &Path,
    floor: Time,
    until: Option<Time>,
    last: &mut Time,
    times: &mut Vec<Time>,
    recovered: &mut BTreeMap<String, Recovered>,
    strict: bool,
) -> Result<(Option<Time>, Tail)> {
    let bytes = Arc::new(files::read(path)?);
    let records = frame::read(path, LOG_MAGIC, &bytes)?;
    let corrupted =
        |offset: u64, reason: String| Error::Corrupted { file: path.to_path_buf(), offset, reason };
    let mut segment_last = None;
    for (offset, payload) in &records.records {
        let record: LogRecord = codec::decode(payload).map_err(|e| corrupted(*offset, e))?;
        if segment_last.is_some_and(|previous| record.time <= previous) {
            return Err(corrupted(*offset, "log records out of time order".into()));
        }
        segment_last = Some(record.time);
        if record.time <= floor || until.is_some_and(|until| record.time > until) {
            continue;
        }
        if record.time <= *last {
            return Err(corrupted(*offset, "log records out of time order across segments".into()));
        }
        *last = record.time;
        times.push(record.time);
        for (table, writes) in record.writes {
            let Some(stored) = recovered.get_mut(table) else {
                if strict {
                    return Err(corrupted(*offset, format!("table {table:?} is not in the manifest")));
                }
                continue;
            };
            stored.pieces.push(Piece {
                time: record.time,
                bytes: FileSlice::of(&bytes, writes),
                contents: false,
                file: path.to_path_buf(),
                offset: *offset,
            });
        }
    }
    Ok((segment_last, records.tail))
}
