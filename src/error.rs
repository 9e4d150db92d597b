//! The one error type of the crate.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::time::{Diff, Time};

/// Everything that can go wrong when using an [`Engine`](crate::Engine) or its handles.
///
/// Each variant says when it happens; none of them leaves partial effects behind: a failed
/// commit applied nothing, a failed read changed nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// No table or view of this name exists on this engine.
    UnknownName {
        /// `"table"`, `"keyed table"` or `"view"`.
        kind: &'static str,
        /// The name that was asked for.
        name: String,
    },
    /// The name is already taken by another table or view.
    DuplicateName {
        /// The name that was asked for.
        name: String,
        /// What already holds the name (`"table"`, `"keyed table"` or `"view"`).
        existing: &'static str,
    },
    /// A name was opened as another kind of source than the one it holds: a bag table as a
    /// keyed table, a view as a table, and so on (also after a restart with storage). Open it
    /// as what it is, or choose another name.
    KindMismatch {
        /// The table or view.
        name: String,
        /// What the name holds (`"table"`, `"keyed table"`, `"view"` or `"keyed view"`).
        existing: &'static str,
        /// What it was opened as.
        requested: &'static str,
    },
    /// A name that is not a valid table or view name (see [`Engine`](crate::Engine#names)):
    /// empty, too long, or with a character other than letters, digits, `_`, `-`, `.` and `:`.
    InvalidName {
        /// The name that was given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A table or view was opened with a row type other than the one it was created with.
    TypeMismatch {
        /// The table or view.
        name: String,
        /// The row type it was created with.
        expected: &'static str,
        /// The row type it was opened with.
        found: &'static str,
    },
    /// The table or view was dropped ([`Engine::drop_table`](crate::Engine::drop_table),
    /// [`Engine::drop_view`](crate::Engine::drop_view)): a handle made before the drop no longer
    /// reads, writes or subscribes, a read that was waiting ends with this error, and a
    /// subscription ends with it after its last complete batch. A table or view created again
    /// under the name is a new one: open it again.
    Dropped {
        /// The table or view.
        name: String,
    },
    /// A table or view cannot be dropped while views read it: drop those views first.
    InUse {
        /// The table or view.
        name: String,
        /// The views that read it, by name.
        readers: Vec<String>,
    },
    /// A table of an engine with storage cannot be dropped: its rows are in the log and its
    /// checkpoints, and a table created again under its name would get them back. Tables of an
    /// engine without storage and views (stored or not) can be dropped.
    StoredTable {
        /// The table.
        name: String,
    },
    /// A streamed table ([`Engine::streamed_table`](crate::Engine::streamed_table)) or a
    /// streamed view ([`Engine::streamed_view`](crate::Engine::streamed_view)) keeps no rows in
    /// memory, and what was asked of it needs them. Reading a streamed table at a time, a
    /// batch run over it, or a view created over it after rows arrived are answered from its
    /// stored history (the write-ahead log and checkpoints), which an engine without storage
    /// does not have: start the engine with
    /// [`Config::with_storage`](crate::Config::with_storage), or make it a table
    /// ([`Engine::table`](crate::Engine::table)) to keep its rows in memory. Another view
    /// cannot read a streamed view. `reason` says which. Nothing was read or created.
    NotKept {
        /// The streamed table or view.
        name: String,
        /// What is missing, and what to do.
        reason: &'static str,
    },
    /// A handle created by another engine was used with this one.
    ForeignHandle {
        /// The table or view the handle names.
        name: String,
    },
    /// A one-shot batch run's definition reads a table its inputs do not supply.
    MissingInput {
        /// The table the definition reads.
        table: String,
    },
    /// A commit asked for a timestamp that is not greater than the last committed one.
    /// Nothing of that transaction was applied.
    TimeNotIncreasing {
        /// The timestamp the caller asked for.
        requested: Time,
        /// The last committed timestamp; the next commit must be greater.
        last: Time,
    },
    /// A commit asked for `Time::MAX`, which can never be followed by a complete frontier.
    TimeOutOfRange {
        /// The timestamp the caller asked for.
        requested: Time,
    },
    /// A read asked for a time older than the retained history. Widen the retention in
    /// [`Config::with_retention`](crate::Config::with_retention) or read at `since` or later.
    Compacted {
        /// The table or view that was read; empty for a batch run over every table
        /// ([`BatchInputs::from_engine`](crate::batch::BatchInputs::from_engine)).
        name: String,
        /// The time the read asked for.
        requested: Time,
        /// The oldest time the view can still answer exactly.
        since: Time,
    },
    /// A read with a timeout expired before the view was complete through the requested time:
    /// nobody has committed that time yet, or the workers are behind. Wait longer, or read at a
    /// committed time ([`Engine::latest`](crate::Engine::latest)).
    Timeout {
        /// The table or view that was read.
        name: String,
        /// The time the read asked for.
        requested: Time,
        /// How long the read waited.
        waited: Duration,
    },
    /// A commit found the engine's backlog full (see [`BacklogLimit`](crate::BacklogLimit)):
    /// this many commits and about this many bytes were accepted and not yet applied, and did
    /// not drop below the bound within the wait
    /// ([`Transaction::try_commit`](crate::Transaction::try_commit) does not wait). Nothing
    /// was applied and the transaction keeps its writes: commit it again later, or with
    /// [`commit`](crate::Transaction::commit), which waits for room.
    Backlogged {
        /// Commits accepted and not yet applied (including those about to be).
        commits: usize,
        /// Their estimated bytes.
        bytes: usize,
        /// How long the commit waited for room.
        waited: Duration,
    },
    /// A named consumer ([`View::consumer`](crate::View::consumer)) was dropped, for the
    /// `reason` given: it fell further behind than
    /// [`Config::with_consumer_lag_limit`](crate::Config::with_consumer_lag_limit) allows,
    /// [`Engine::drop_consumer`](crate::Engine::drop_consumer) dropped it, or its view was
    /// dropped. Its position is gone: opening it again starts a new consumer at the latest
    /// commit, with a snapshot.
    ConsumerDropped {
        /// The consumer's name.
        name: String,
        /// The `upper` it had acknowledged last (`None`: nothing).
        acknowledged: Option<Time>,
        /// The latest commit when it was dropped.
        latest: Time,
        /// Why it was dropped.
        reason: &'static str,
    },
    /// A named consumer acknowledged an `upper` beyond the last batch it received: it cannot
    /// have processed changes it was never given. Nothing was stored.
    NotDelivered {
        /// The consumer's name.
        name: String,
        /// The `upper` it acknowledged.
        requested: Time,
        /// The `upper` of the last batch it received (its start, before any).
        delivered: Time,
    },
    /// A read that lists rows without multiplicities ([`View::rows_at`](crate::View::rows_at),
    /// [`Table::rows_at`](crate::Table::rows_at)) met a row with a negative multiplicity, which
    /// cannot be listed: a bag table's row deleted more often than it was inserted (or a view
    /// of one). Read it with `at` to see the multiplicities, or delete only rows the table holds.
    NegativeMultiplicity {
        /// The table or view that was read.
        name: String,
        /// The row, as `Debug` prints it (at most 64 characters, then an ellipsis).
        row: String,
        /// Its multiplicity (negative).
        diff: Diff,
        /// The time the read asked for.
        time: Time,
    },
    /// A read of one value per key ([`KeyedView::value`](crate::KeyedView::value),
    /// [`KeyedView::entries_at`](crate::KeyedView::entries_at)) found a key with something
    /// other than one value held once: two values, or a value held twice or a negative number
    /// of times. The keyed view's definition is not a function of its key; make it give one
    /// value per key (an aggregate from [`ops`](crate::ops), a key that includes the value), or
    /// read every value with `get` or `at`.
    KeyNotUnique {
        /// The keyed view that was read.
        name: String,
        /// The key, as `Debug` prints it (at most 64 characters, then an ellipsis).
        key: String,
        /// The key's values with their multiplicities, as `Debug` prints them (at most 64
        /// characters, then an ellipsis).
        found: String,
        /// The time the read asked for.
        time: Time,
    },
    /// A stored file is damaged: its bytes do not check out at `offset`. Nothing was changed on
    /// disk; restore the file from a backup or move the directory aside.
    Corrupted {
        /// The damaged file.
        file: std::path::PathBuf,
        /// Where in the file the damage was found.
        offset: u64,
        /// What did not check out.
        reason: String,
    },
    /// A stored file was written by an incompatible format version. Nothing was changed on disk.
    ///
    /// The versions: 1, written by ivm 0.1.0 up to December 2026 (bincode records, row types
    /// recorded by their Rust name); 2, from then on (postcard records, row types recorded by
    /// their [shape](crate::Row#stored-rows)). A build reads only its own version: to carry a
    /// directory over, read its tables with the build that wrote it and insert them into a new
    /// directory.
    IncompatibleFormat {
        /// The file.
        file: std::path::PathBuf,
        /// The format version the file declares.
        found: u32,
        /// The format version this build reads and writes.
        supported: u32,
    },
    /// Another engine (in this process or another) has the storage directory open.
    StorageLocked {
        /// The directory.
        dir: std::path::PathBuf,
    },
    /// Reading or writing the storage directory failed (disk full, permissions, ...). A commit
    /// that fails this way was not applied.
    Io {
        /// What the engine was doing.
        context: String,
        /// The operating system's error, whole: its [`kind`](std::io::Error::kind), its
        /// [`raw_os_error`](std::io::Error::raw_os_error) and its message. It is also this
        /// error's [`source`](std::error::Error::source).
        error: IoError,
    },
    /// A file could not be read into rows, or rows could not be laid out as a file (the `files`
    /// feature): the file, and where known the row and column, and what is wrong. A load that
    /// fails this way loaded nothing.
    File(FileError),
    /// The configuration is invalid; the message says which setting and why.
    InvalidConfig(String),
    /// The engine was shut down (explicitly or because its last `Engine` handle was dropped).
    Shutdown,
    /// A worker thread panicked, most likely in user view code; the engine is poisoned and every
    /// later call returns this error. Start a new engine.
    WorkerPanicked {
        /// The panic message.
        message: String,
    },
    /// This process of a cluster is not process 0: only process 0 commits, reads and
    /// subscribes. Other processes register the same tables and views, then call
    /// [`Engine::serve`](crate::Engine::serve).
    NotLeader {
        /// This process's index in the cluster.
        process: usize,
    },
    /// A cluster process could not be reached before the connect timeout
    /// ([`Cluster::with_connect_timeout`](crate::Cluster::with_connect_timeout)). Start every
    /// process of the cluster, with the same address list, within that time.
    PeerUnreachable {
        /// The address that did not answer.
        address: String,
        /// How long this process tried.
        waited: Duration,
    },
    /// The connection to another process of the cluster broke (the process died or the network
    /// failed), or the process sent nothing for longer than the peer timeout (stopped, stuck, or
    /// cut off by a partition; see [`Cluster::with_peer_timeout`](crate::Cluster::with_peer_timeout)).
    /// The engine is stopped; every later call returns this error. Restart the cluster.
    PeerLost {
        /// What the network layer reported, or which process was silent and for how long.
        reason: String,
    },
    /// The processes of a cluster disagree: a different number of processes or workers, or
    /// tables and views registered under other names, types or in another order. Every process
    /// must run the same program with the same settings.
    ClusterMismatch {
        /// The process that disagrees.
        process: usize,
        /// What differs.
        detail: String,
    },
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::UnknownName { kind, name } => {
                write!(f, "no {kind} named {name:?} exists on this engine; create it first")
            }
            Error::Dropped { name } => write!(
                f,
                "{name:?} was dropped; a table or view created again under that name is a new one, \
                 open it again"
            ),
            Error::InUse { name, readers } => write!(
                f,
                "{name:?} cannot be dropped while views read it ({}); drop them first",
                readers.iter().map(|r| format!("{r:?}")).collect::<Vec<_>>().join(", ")
            ),
            Error::NotKept { name, reason } => {
                write!(f, "{name:?} keeps no rows in memory: {reason}")
            }
            Error::StoredTable { name } => write!(
                f,
                "the table {name:?} cannot be dropped: the engine has storage, whose log keeps its \
                 rows (views can be dropped, and so can tables of an engine without storage)"
            ),
            Error::DuplicateName { name, existing } => {
                write!(f, "the name {name:?} is already used by a {existing}; choose another name")
            }
            Error::KindMismatch { name, existing, requested } => write!(
                f,
                "{name:?} is a {existing} but was opened as a {requested}; open it as a {existing}, \
                 or choose another name for the {requested}"
            ),
            Error::InvalidName { name, reason } => write!(
                f,
                "{:?} is not a valid name: {reason}; a name is 1 to {} bytes of letters, digits, \
                 '_', '-', '.' and ':', starting with a letter, a digit or '_'",
                shown(name),
                MAX_NAME_LEN,
            ),
            Error::TypeMismatch { name, expected, found } => write!(
                f,
                "{name:?} holds rows of type `{expected}` but was opened as `{found}`; open it with \
                 the type it was created with"
            ),
            Error::ForeignHandle { name } => {
                write!(f, "the handle for {name:?} belongs to another engine; use handles of this engine")
            }
            Error::MissingInput { table } => write!(
                f,
                "the batch run's inputs have no rows for table {table:?}, which the definition \
                 reads; supply them with BatchInputs::table (or an empty iterator)"
            ),
            Error::TimeNotIncreasing { requested, last } => write!(
                f,
                "commit at time {requested} rejected: times must increase and the last commit was \
                 at {last}; nothing was applied"
            ),
            Error::TimeOutOfRange { requested } => {
                write!(f, "commit at time {requested} rejected: the largest usable time is u64::MAX - 1")
            }
            Error::Compacted { name, requested, since } => write!(
                f,
                "cannot read {} at time {requested}: the retained history starts at since = \
                 {since}; read at {since} or later, or retain more history \
                 (Config::with_retention, or Config::with_log_retention with storage)",
                describe(name, "the engine's tables"),
            ),
            Error::Timeout { name, requested, waited } => write!(
                f,
                "{} was not complete through time {requested} after waiting {waited:?}; that time \
                 may not be committed yet (see Engine::latest), or the workers are behind",
                describe(name, "the view"),
            ),
            Error::Backlogged { commits, bytes, waited } => write!(
                f,
                "the engine's backlog is full: {commits} commits (about {bytes} bytes) accepted and not \
                 yet applied after waiting {waited:?}; nothing was applied, commit again later"
            ),
            Error::ConsumerDropped { name, acknowledged, latest, reason } => {
                let acknowledged =
                    acknowledged.map_or("nothing".to_string(), |upper| format!("upper {upper}"));
                write!(
                    f,
                    "named consumer {name:?} was dropped at commit {latest} ({reason}); it had acknowledged \
                     {acknowledged}. Open it again to start anew at the latest commit"
                )
            }
            Error::NotDelivered { name, requested, delivered } => write!(
                f,
                "named consumer {name:?} acknowledged upper {requested}, but the last batch it received \
                 ends at {delivered}: acknowledge only what was received"
            ),
            Error::NegativeMultiplicity { name, row, diff, time } => write!(
                f,
                "{} holds the row {row} with multiplicity {diff} at time {time}, which cannot be \
                 listed as rows (it was deleted more often than inserted); read it with at(t) to \
                 see multiplicities, or delete only rows the table holds",
                describe(name, "the source"),
            ),
            Error::KeyNotUnique { name, key, found, time } => write!(
                f,
                "{} holds {found} (values with multiplicities) for the key {key} at time {time}, \
                 not one value; make the definition give one value per key, or read every value \
                 with get or at",
                describe(name, "the keyed view"),
            ),
            Error::Corrupted { file, offset, reason } => write!(
                f,
                "{} is damaged at byte {offset}: {reason}; nothing was changed on disk: restore the \
                 file from a backup, or move the directory aside",
                file.display()
            ),
            Error::IncompatibleFormat { file, found, supported } => write!(
                f,
                "{} has format version {found}, this build reads version {supported}; nothing was \
                 changed on disk: open it with the ivm version that wrote it, or move the \
                 directory aside",
                file.display()
            ),
            Error::StorageLocked { dir } => write!(
                f,
                "{} is in use by another engine; shut that one down first (its lock is released \
                 when it stops, or when its process dies)",
                dir.display()
            ),
            Error::Io { context, error } => write!(f, "I/O error while {context}: {error}"),
            Error::File(error) => error.fmt(f),
            Error::InvalidConfig(message) => write!(f, "invalid configuration: {message}"),
            Error::Shutdown => write!(
                f,
                "the engine has been shut down (Engine::shutdown, or its last handle was dropped); \
                 start a new engine"
            ),
            Error::WorkerPanicked { message } => {
                write!(f, "a worker panicked ({message}); the engine is poisoned, start a new one")
            }
            Error::NotLeader { process } => write!(
                f,
                "this is process {process} of the cluster; commits, reads and subscriptions go \
                 through process 0 (other processes register the same tables and views, then call \
                 Engine::serve)"
            ),
            Error::PeerUnreachable { address, waited } => write!(
                f,
                "cluster process at {address} did not connect within {waited:?}; start every \
                 process with the same address list"
            ),
            Error::PeerLost { reason } => write!(
                f,
                "lost the connection to another cluster process ({reason}); the engine is stopped, \
                 restart the cluster"
            ),
            Error::ClusterMismatch { process, detail } => write!(
                f,
                "cluster process {process} disagrees with process 0: {detail}; every process must \
                 run the same program with the same settings"
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { error, .. } => Some(error.as_io()),
            _ => None,
        }
    }
}

/// The operating system's error inside an [`Error::Io`]: a [`std::io::Error`] that can be
/// cloned and compared, as [`Error`] can.
///
/// It dereferences to the [`std::io::Error`]:
///
/// ```
/// # fn f(error: ivm::Error) {
/// if let ivm::Error::Io { error, .. } = &error {
///     if error.kind() == std::io::ErrorKind::StorageFull {
///         // make room, then try again
///     }
/// }
/// # }
/// ```
///
/// Two are equal when their kind, operating-system code and message are.
#[derive(Debug, Clone)]
pub struct IoError(Arc<std::io::Error>);

impl IoError {
    /// The [`std::io::Error`] itself.
    pub fn as_io(&self) -> &std::io::Error {
        &self.0
    }
}

impl std::ops::Deref for IoError {
    type Target = std::io::Error;

    fn deref(&self) -> &std::io::Error {
        &self.0
    }
}

impl From<std::io::Error> for IoError {
    fn from(error: std::io::Error) -> IoError {
        IoError(Arc::new(error))
    }
}

impl PartialEq for IoError {
    fn eq(&self, other: &IoError) -> bool {
        (self.kind(), self.raw_os_error(), self.to_string())
            == (other.kind(), other.raw_os_error(), other.to_string())
    }
}

impl Eq for IoError {}

impl fmt::Display for IoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Where in a file something went wrong, and what: the payload of [`Error::File`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileError {
    /// The file (or, for a layout problem met before any file, the folder or file to be written).
    pub path: std::path::PathBuf,
    /// The data row, counted from 1 in the file (a CSV header line is not a data row), where
    /// the problem is in one row.
    pub row: Option<u64>,
    /// The column, where the problem is in one column.
    pub column: Option<String>,
    /// What is wrong.
    pub problem: FileProblem,
}

/// What is wrong with a file, in an [`Error::File`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileProblem {
    /// The file is not a readable file of its format: truncated, corrupt, not Parquet, a CSV
    /// record with the wrong number of fields, text that is not UTF-8.
    Malformed(String),
    /// The row type needs a column the file does not have.
    MissingColumn,
    /// A column holds a type that cannot be read as the row type's field.
    WrongType {
        /// The Arrow type the row type's field is written as.
        expected: String,
        /// The column's type in the file.
        found: String,
    },
    /// A value that cannot be read as the row type's field: out of range, not a number, a null
    /// where the field is not an `Option`.
    BadValue(String),
    /// The row type cannot be laid out as columns: a type serde cannot describe, an enum with
    /// data (Arrow unions have no Parquet form), a column name used twice.
    Layout(String),
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(row) = self.row {
            write!(f, ", row {row}")?;
        }
        if let Some(column) = &self.column {
            write!(f, ", column {column:?}")?;
        }
        match &self.problem {
            FileProblem::Malformed(why) => write!(f, ": not a readable file ({why})"),
            FileProblem::MissingColumn => write!(f, ": the column is missing; the row type needs it"),
            FileProblem::WrongType { expected, found } => {
                write!(f, ": the column holds {found}, which cannot be read as {expected}")
            }
            FileProblem::BadValue(why) => write!(f, ": {why}"),
            FileProblem::Layout(why) => write!(f, ": the row type cannot be laid out as columns ({why})"),
        }
    }
}

/// `name` quoted, or `otherwise` if it is empty.
fn describe(name: &str, otherwise: &str) -> String {
    if name.is_empty() { otherwise.to_string() } else { format!("{name:?}") }
}

impl Error {
    /// An `Io` error for an operating-system error met while doing `context`.
    pub(crate) fn io(context: impl Into<String>, error: std::io::Error) -> Error {
        Error::Io { context: context.into(), error: error.into() }
    }

    /// This error with the table or view that was read filled in, where the variant names one
    /// (`Compacted`, `Timeout`): the layers below the handles know ids, not names.
    pub(crate) fn reading(self, source: &str) -> Error {
        match self {
            Error::NotKept { name, reason } if name.is_empty() => {
                Error::NotKept { name: source.to_string(), reason }
            }
            Error::Compacted { requested, since, .. } => {
                Error::Compacted { name: source.to_string(), requested, since }
            }
            Error::Timeout { requested, waited, .. } => {
                Error::Timeout { name: source.to_string(), requested, waited }
            }
            other => other,
        }
    }
}

/// Why a streamed table cannot answer without storage ([`Error::NotKept`]).
pub(crate) const NO_STORAGE: &str = "its history is only kept in the write-ahead log, and this \
    engine has no storage; start the engine with Config::with_storage to read it at a time, run \
    a batch over it or create views over it after rows arrived, or make it a table \
    (Engine::table) to keep its rows in memory";

/// Why a streamed view cannot be read by another view ([`Error::NotKept`]).
pub(crate) const VIEW_NOT_KEPT: &str = "a streamed view's rows are not kept, so other views \
    cannot read it and its reads are batch runs of its definition; read its inputs in the other \
    view's definition, or make it a view (Engine::view)";

/// Why a streamed table cannot answer a key read or an export ([`Error::NotKept`]).
pub(crate) const NOT_FROM_LOG: &str = "key reads and exports need rows in memory; read it with \
    at, rows_at or history_at (answered from storage), or make it a table (Engine::table)";

/// The longest table or view name, in bytes (the rule itself is in `name.rs`).
pub(crate) const MAX_NAME_LEN: usize = 255;

/// `value`'s `Debug` form as an error holds it: at most 64 characters, then an ellipsis.
pub(crate) fn shown_debug(value: &dyn fmt::Debug) -> String {
    shown(&format!("{value:?}"))
}

/// `name` as shown in a message: at most 64 characters, then an ellipsis.
pub(crate) fn shown(name: &str) -> String {
    match name.char_indices().nth(64) {
        Some((end, _)) => format!("{}…", &name[..end]),
        None => name.to_string(),
    }
}
