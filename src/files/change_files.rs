//! A view's change stream as a folder of Parquet files, one per interval of time, that a
//! restarted writer resumes without a gap or a duplicate.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use arrow_schema::FieldRef;

use crate::error::{Error, FileError, FileProblem, Result};
use crate::files::columns::Columns;
use crate::files::export::change_arrays;
use crate::files::parquet_file::{ParquetFile, ParquetOptions, layout_error};
use crate::files::sources::Changing;
use crate::read::subscribe::{SubscribeOptions, Subscription};
use crate::time::{Diff, Time};

/// One file of a change folder: every change of the view with `lower <= time < upper`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeFile {
    /// The first time the file covers.
    pub lower: Time,
    /// The first time it does not cover; the next file starts here.
    pub upper: Time,
    /// The file.
    pub path: PathBuf,
}

/// How a [`ChangeFiles`] writes.
///
/// ```
/// use ivm::files::{ChangeOptions, ParquetOptions};
/// let options = ChangeOptions::default().rows_per_file(100_000).parquet(ParquetOptions::default());
/// # let _ = options;
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeOptions {
    parquet: ParquetOptions,
    rows_per_file: Option<usize>,
    as_of: Option<Time>,
}

impl ChangeOptions {
    /// How the files are written (compression, the `time` and `diff` column names).
    pub fn parquet(mut self, options: ParquetOptions) -> Self {
        self.parquet = options;
        self
    }

    /// [`sync`](ChangeFiles::sync) writes a file once this many changes wait (at the end of
    /// the batch that reaches it); default 1,048,576.
    pub fn rows_per_file(mut self, rows: usize) -> Self {
        self.rows_per_file = Some(rows.max(1));
        self
    }

    /// Where a folder with no files yet starts: the first file holds the view at `t` (every
    /// row at time `t`), then changes follow. Default: the latest commit when the folder is
    /// opened. Ignored when the folder has files: the stream resumes after the last one.
    pub fn as_of(mut self, t: Time) -> Self {
        self.as_of = Some(t);
        self
    }
}

/// A view's change stream written as Parquet files in a folder, each file one interval of
/// time named by it: `changes-<lower>-<upper>.parquet` (both zero-padded to 20 digits, so that
/// names sort by time), holding the view's row columns then `time` and `diff`.
///
/// The files follow each other without a gap, from the view at the first file's `lower`
/// (every row at that time) on, so summing `diff` over every file's rows with `time <= t`
/// gives the view at `t`, for every `t` from the first `lower` to the last `upper - 1`:
///
/// ```sql
/// SELECT <row columns>, sum(diff) AS n FROM read_parquet('folder/changes-*.parquet')
/// WHERE time <= 42 GROUP BY ALL HAVING sum(diff) <> 0
/// ```
///
/// A file appears under its name only once complete (written beside it, synced, renamed), so
/// a reader that lists the folder sees only whole intervals, and a writer that stops or
/// crashes resumes, when opened again on the same folder, exactly after its last file: the
/// changes it held but had not written are read again, the ones it wrote are not. Resuming
/// needs the view's history from the last file's `upper - 1` on, which the engine keeps for
/// its [retention](crate::Retention); past it [`open`](Self::open) fails with
/// [`Error::Compacted`].
///
/// Every change keeps its own commit time, however far the writer falls behind (the
/// subscription is exact, not bounded: it holds what is not yet written). A folder has one
/// writer at a time: two would write the same intervals.
pub struct ChangeFiles<S: Changing> {
    folder: PathBuf,
    columns: Columns<S::Shape>,
    fields: Vec<FieldRef>,
    subscription: Subscription<S::Row>,
    pending: Vec<(S::Row, Time, Diff)>,
    /// The first time not yet in a file (unknown until the first batch, on a fresh folder).
    lower: Option<Time>,
    /// The first time not yet received.
    upper: Option<Time>,
    options: ChangeOptions,
}

impl<S: Changing> std::fmt::Debug for ChangeFiles<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangeFiles")
            .field("folder", &self.folder)
            .field("lower", &self.lower)
            .field("upper", &self.upper)
            .field("pending", &self.pending.len())
            .finish()
    }
}

impl<S: Changing> ChangeFiles<S> {
    /// Starts writing `view`'s changes into `folder` (created if missing), or resumes after
    /// the last file already there. Fails with [`Error::File`] if the folder's files do not
    /// follow each other, and with [`Error::Compacted`] if the engine no longer holds the
    /// history to resume from.
    pub fn open(view: &S, folder: impl AsRef<Path>, options: ChangeOptions) -> Result<Self> {
        let folder = folder.as_ref().to_path_buf();
        let columns = Columns::<S::Shape>::new().map_err(|e| layout_error(&folder, e))?;
        let fields =
            columns.fields_with(&options.parquet.change_fields()).map_err(|e| layout_error(&folder, e))?;
        std::fs::create_dir_all(&folder)
            .map_err(|e| Error::io(format!("creating {}", folder.display()), e))?;
        let last = change_files(&folder)?.last().map(|file| file.upper);
        let subscription = match (last, options.as_of) {
            (Some(upper), _) => {
                view.subscribe_exactly(SubscribeOptions::default().as_of(upper - 1).snapshot(false))
            }
            (None, Some(t)) => view.subscribe_exactly(SubscribeOptions::default().as_of(t)),
            (None, None) => view.subscribe_exactly(SubscribeOptions::default()),
        }?;
        Ok(ChangeFiles {
            folder,
            columns,
            fields,
            subscription,
            pending: Vec::new(),
            lower: last,
            upper: last,
            options,
        })
    }

    /// Everything before this time is in files (once [`flush`](Self::flush) has run): where
    /// the next file starts. `None` on a fresh folder before the first batch.
    pub fn written_through(&self) -> Option<Time> {
        self.lower
    }

    /// Takes every batch that is ready, without waiting, and writes a file once
    /// `rows_per_file` changes wait. Returns the files written.
    pub fn sync(&mut self) -> Result<Vec<ChangeFile>> {
        let mut written = Vec::new();
        while let Some(batch) = self.subscription.try_next()? {
            self.take(batch);
            written.extend(self.write_if_full()?);
        }
        Ok(written)
    }

    /// Waits until the view is complete through `t` (at most `timeout`, else
    /// [`Error::Timeout`]), writing files as [`sync`](Self::sync) does, then writes what waits:
    /// afterwards every change up to `t` is in a file. Returns the files written.
    pub fn sync_through(&mut self, t: Time, timeout: Duration) -> Result<Vec<ChangeFile>> {
        let deadline = Instant::now() + timeout;
        let mut written = Vec::new();
        while self.upper.is_none_or(|upper| upper <= t) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.subscription.next_timeout(left)? {
                Some(batch) => self.take(batch),
                None => break,
            }
            written.extend(self.write_if_full()?);
        }
        written.extend(self.flush()?);
        Ok(written)
    }

    /// Writes every change received and not yet written as one file, up to the last complete
    /// time received (a file with no rows if nothing changed: it still tells readers the
    /// interval is complete). Nothing to do if no time was completed since the last file.
    pub fn flush(&mut self) -> Result<Option<ChangeFile>> {
        let (Some(lower), Some(upper)) = (self.lower, self.upper) else { return Ok(None) };
        if upper <= lower {
            return Ok(None);
        }
        let path = self.folder.join(format!("changes-{lower:020}-{upper:020}.parquet"));
        let mut file = ParquetFile::create(&path, self.fields.clone(), &self.options.parquet)?;
        let chunks: Vec<_> = self.pending.chunks(self.options.parquet.rows_per_batch()).collect();
        let columns = &self.columns;
        file.append_all(&chunks, |chunk| change_arrays(columns, chunk).map_err(|e| layout_error(&path, e)))?;
        let (path, _, _) = file.finish()?;
        self.pending.clear();
        self.lower = Some(upper);
        Ok(Some(ChangeFile { lower, upper, path }))
    }

    fn take(&mut self, batch: crate::protocol::feed::Batch<S::Row>) {
        self.lower.get_or_insert(batch.lower);
        self.upper = Some(batch.upper);
        self.pending.extend(batch.updates);
    }

    fn write_if_full(&mut self) -> Result<Option<ChangeFile>> {
        if self.pending.len() >= self.options.rows_per_file.unwrap_or(1 << 20) {
            self.flush()
        } else {
            Ok(None)
        }
    }
}

/// The complete [`ChangeFiles`] files in `folder`, in time order. Fails with [`Error::File`] if
/// they do not follow each other (a file missing between two), naming the first file after
/// the gap, or if a name gives an empty interval.
pub fn change_files(folder: impl AsRef<Path>) -> Result<Vec<ChangeFile>> {
    let folder = folder.as_ref();
    let entries =
        std::fs::read_dir(folder).map_err(|e| Error::io(format!("listing {}", folder.display()), e))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(format!("listing {}", folder.display()), e))?;
        if let Some((lower, upper)) = interval_of(&entry.file_name().to_string_lossy()) {
            files.push(ChangeFile { lower, upper, path: entry.path() });
        }
    }
    files.sort_by_key(|file| file.lower);
    if let Some(empty) = files.iter().find(|file| file.upper <= file.lower) {
        return Err(Error::File(FileError {
            path: empty.path.clone(),
            row: None,
            column: None,
            problem: FileProblem::Malformed(format!(
                "a change file's interval must not be empty, but this one is [{}, {})",
                empty.lower, empty.upper
            )),
        }));
    }
    for pair in files.windows(2) {
        if pair[1].lower != pair[0].upper {
            return Err(Error::File(FileError {
                path: pair[1].path.clone(),
                row: None,
                column: None,
                problem: FileProblem::Malformed(format!(
                    "change files must follow each other, but the one before ends at {} and this one starts at {}",
                    pair[0].upper, pair[1].lower
                )),
            }));
        }
    }
    Ok(files)
}

/// The interval a change file's name gives, if it is one.
fn interval_of(name: &str) -> Option<(Time, Time)> {
    let (lower, upper) = name.strip_prefix("changes-")?.strip_suffix(".parquet")?.split_once('-')?;
    Some((lower.parse().ok()?, upper.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_give_intervals_and_nothing_else_does() {
        assert_eq!(interval_of("changes-00000000000000000003-00000000000000000010.parquet"), Some((3, 10)));
        assert_eq!(interval_of(".changes-00000000000000000003-00000000000000000010.parquet.partial"), None);
        assert_eq!(interval_of("changes-3.parquet"), None);
        assert_eq!(interval_of("other.parquet"), None);
    }
}
