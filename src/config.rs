//! Engine configuration: a consuming builder.

use crate::cluster::Cluster;
use crate::error::{Error, Result};
use crate::time::Time;

/// How much history stays readable with [`View::at`](crate::View::at).
///
/// The engine keeps every time `t >= since` exact and lets differential dataflow forget the
/// distinctions between older times (logical compaction), so memory stays flat under a bounded
/// retention however many commits happen. Open reads hold `since` back until they are answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retention {
    /// Every committed time stays readable. Memory grows with the number of distinct
    /// `(row, time)` changes.
    All,
    /// The last `n` committed timestamps stay readable (`n >= 1`): `since` is the `n`-th most
    /// recent commit time.
    LastCommits(u64),
    /// Times within `d` units of the latest commit stay readable: `since = latest - d`.
    /// Useful when commit times are event times (milliseconds, say).
    Window(Time),
}

/// When a commit's log record must be on stable storage (with [`Config::with_storage`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Each commit is synced (`fdatasync`) before `commit` returns and before any reader sees
    /// it. Survives power loss. The default.
    #[default]
    EveryCommit,
    /// Commits from several threads share one sync: `commit` returns once its record is synced,
    /// but readers may see the transaction a moment before. Survives power loss once `commit`
    /// returned; higher throughput with many committing threads.
    Group,
    /// Records are written to the operating system and never synced: a commit survives a crash
    /// of the process, not of the machine. For tests and bulk loads.
    Buffered,
}

/// How much work the engine accepts before it has applied it: the bound that holds writers
/// back (see [`Config::with_backlog`]).
///
/// A commit is accepted once it has its time and its writes are handed to the workers, and
/// applied once every table and view is complete through that time. While the accepted but
/// unapplied commits reach either bound, [`Transaction::commit`](crate::Transaction::commit)
/// waits for the workers, [`Transaction::commit_timeout`](crate::Transaction::commit_timeout)
/// waits at most its timeout and [`Transaction::try_commit`](crate::Transaction::try_commit)
/// does not wait: both then fail with [`Error::Backlogged`](crate::Error::Backlogged),
/// having applied nothing. When nothing is waiting to be applied, a commit of any size is
/// accepted. Reads and subscriptions never wait for this bound.
///
/// The bytes are an estimate: each written row's in-line size (`size_of` of the row, its time
/// and its multiplicity), not what its fields own on the heap (the text of a `String`).
///
/// ```
/// use ivm::{BacklogLimit, Config};
/// let config = Config::default().with_backlog(BacklogLimit::new(1_000, 16 << 20));
/// assert_eq!(config.backlog(), Some(BacklogLimit::new(1_000, 16 << 20)));
/// assert_eq!(BacklogLimit::default().commits(), 10_000);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BacklogLimit {
    commits: usize,
    bytes: usize,
}

impl BacklogLimit {
    /// At most `commits` commits and about `bytes` bytes of writes accepted and not applied.
    /// Zero of either is refused by [`Engine::start`](crate::Engine::start) with
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig).
    pub const fn new(commits: usize, bytes: usize) -> Self {
        BacklogLimit { commits, bytes }
    }

    /// The bound on accepted, unapplied commits.
    pub fn commits(&self) -> usize {
        self.commits
    }

    /// The bound on their estimated bytes.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

impl Default for BacklogLimit {
    /// 10,000 commits or 256 MiB: a few milliseconds of a worker's work in small commits, and
    /// room for a bulk load's next chunk while the last one is applied.
    fn default() -> Self {
        BacklogLimit::new(10_000, 256 << 20)
    }
}

/// Configuration for [`Engine::start`](crate::Engine::start).
///
/// ```
/// use ivm::{Config, Retention};
/// let config = Config::default().with_workers(2).with_retention(Retention::LastCommits(100));
/// assert_eq!(config.workers(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    workers: usize,
    retention: Retention,
    idle_merge_effort: isize,
    storage: Option<std::path::PathBuf>,
    durability: Durability,
    checkpoint: CheckpointPolicy,
    log_retention: Option<Retention>,
    cluster: Option<Cluster>,
    backlog: Option<BacklogLimit>,
    consumer_lag_limit: Option<Time>,
}

/// When the engine checkpoints by itself (besides [`Engine::checkpoint`](crate::Engine::checkpoint)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CheckpointPolicy {
    /// After this many bytes of log since the last checkpoint.
    pub(crate) bytes: u64,
    /// After this long since the last checkpoint (with something logged since).
    pub(crate) interval: Option<std::time::Duration>,
}

impl Default for Config {
    /// One worker, all history retained.
    fn default() -> Self {
        Config {
            workers: 1,
            retention: Retention::All,
            idle_merge_effort: 0,
            storage: None,
            durability: Durability::EveryCommit,
            checkpoint: CheckpointPolicy { bytes: 64 << 20, interval: None },
            log_retention: None,
            cluster: None,
            backlog: Some(BacklogLimit::default()),
            consumer_lag_limit: None,
        }
    }
}

impl Config {
    /// Runs `n` timely worker threads (default 1). Each owns a shard of every table and view.
    /// Zero is refused by [`Engine::start`](crate::Engine::start) with
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig).
    pub fn with_workers(mut self, n: usize) -> Self {
        self.workers = n;
        self
    }

    /// Runs this engine as one process of a timely cluster (see [`Cluster`](crate::Cluster));
    /// [`with_workers`](Self::with_workers) is then the number of workers of each process.
    /// Every process must use the same settings, except storage: only process 0 may have it
    /// ([`with_storage`](Self::with_storage) on another process is refused), since every
    /// commit passes through it; it logs and checkpoints the whole cluster's tables, and
    /// after every process is restarted the cluster answers as before.
    pub fn with_cluster(mut self, cluster: Cluster) -> Self {
        self.cluster = Some(cluster);
        self
    }

    /// The cluster this engine is part of, if any.
    pub fn cluster(&self) -> Option<&Cluster> {
        self.cluster.as_ref()
    }

    /// Bounds the work accepted but not yet applied (default [`BacklogLimit::default`]): past
    /// it, commits wait for the workers (see [`BacklogLimit`]).
    pub fn with_backlog(mut self, limit: BacklogLimit) -> Self {
        self.backlog = Some(limit);
        self
    }

    /// Lets commits run ahead of the workers without bound: a writer faster than the workers
    /// then grows the engine's memory until it stops writing.
    pub fn without_backlog_limit(mut self) -> Self {
        self.backlog = None;
        self
    }

    /// Bounds how far a named consumer ([`View::consumer`](crate::View::consumer)) may hold
    /// the engine's history back (default: no bound): once the latest commit is more than
    /// `lag` after the oldest time a consumer may resume from (with engine-assigned times,
    /// `lag` commits), the consumer is dropped, its hold released, and its handle's next call
    /// fails with [`Error::ConsumerDropped`](crate::Error::ConsumerDropped). Without a bound, a
    /// consumer that stopped keeps every later change in memory and in the log until it comes
    /// back or is dropped.
    pub fn with_consumer_lag_limit(mut self, lag: Time) -> Self {
        self.consumer_lag_limit = Some(lag);
        self
    }

    /// The bound on how far a named consumer may hold history back, if any.
    pub fn consumer_lag_limit(&self) -> Option<Time> {
        self.consumer_lag_limit
    }

    /// The bound on work accepted but not yet applied, if any.
    pub fn backlog(&self) -> Option<BacklogLimit> {
        self.backlog
    }

    /// Chooses how much history stays readable (default [`Retention::All`]).
    /// `Retention::LastCommits(0)` is refused by [`Engine::start`](crate::Engine::start) with
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig).
    pub fn with_retention(mut self, retention: Retention) -> Self {
        self.retention = retention;
        self
    }

    /// How much merge work an otherwise idle worker does per step to bring each arrangement down
    /// to one batch (default 0: none). Arrangements always merge, and compact to the retention,
    /// as commits arrive; idle merging only finishes the job between commits, which makes reads
    /// of an idle view walk fewer batches but costs a rewrite of a whole table shard after every
    /// commit (see `BENCHMARKS.md`). Zero turns it off.
    pub fn with_idle_merge_effort(mut self, effort: usize) -> Self {
        self.idle_merge_effort = isize::try_from(effort).unwrap_or(isize::MAX);
        self
    }

    /// Keeps every table in the directory `dir`: each commit is appended to a write-ahead log
    /// before `commit` returns, and tables are checkpointed. Starting an engine on a directory
    /// that holds data recovers it: register the tables (same names, same row types) and views
    /// again, and every retained time reads as before. Default: in memory only.
    pub fn with_storage(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.storage = Some(dir.into());
        self
    }

    /// When commits must be on stable storage (default [`Durability::EveryCommit`]).
    pub fn with_durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Checkpoints the tables (as of `since`) once this many log bytes were written since the
    /// last checkpoint (default 64 MiB). [`Engine::checkpoint`](crate::Engine::checkpoint)
    /// checkpoints on demand.
    pub fn with_checkpoint_every(mut self, bytes: u64) -> Self {
        self.checkpoint.bytes = bytes;
        self
    }

    /// Also checkpoints once this long has passed since the last checkpoint, if anything was
    /// committed since (default: no time policy). Checked when commits arrive.
    pub fn with_checkpoint_interval(mut self, interval: std::time::Duration) -> Self {
        self.checkpoint.interval = Some(interval);
        self
    }

    /// How much history the storage directory keeps readable (default: the same as
    /// [`with_retention`](Self::with_retention)). When it reaches further back than the
    /// in-memory retention, [`View::at`](crate::View::at) for a time older than `since` but still
    /// on disk is answered exactly by a one-shot batch run over the stored tables, instead of
    /// failing with [`Error::Compacted`](crate::Error::Compacted).
    pub fn with_log_retention(mut self, retention: Retention) -> Self {
        self.log_retention = Some(retention);
        self
    }

    /// The storage's retention (the in-memory one unless set).
    pub fn log_retention(&self) -> Retention {
        self.log_retention.unwrap_or(self.retention)
    }

    /// The storage directory, if any.
    pub fn storage(&self) -> Option<&std::path::Path> {
        self.storage.as_deref()
    }

    /// The durability policy.
    pub fn durability(&self) -> Durability {
        self.durability
    }

    pub(crate) fn checkpoint_policy(&self) -> CheckpointPolicy {
        self.checkpoint
    }

    /// The number of worker threads.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// The retention policy.
    pub fn retention(&self) -> Retention {
        self.retention
    }

    /// The idle merge effort, `None` when idle merging is off.
    pub(crate) fn idle_merge_effort(&self) -> Option<isize> {
        Some(self.idle_merge_effort).filter(|effort| *effort > 0)
    }

    /// Checks every setting; `Engine::start` calls this first.
    pub(crate) fn validate(&self) -> Result<()> {
        if self.workers == 0 {
            return Err(Error::InvalidConfig(
                "Config::with_workers(0): an engine needs at least 1 worker".into(),
            ));
        }
        if let Some(cluster) = &self.cluster {
            cluster.validate()?;
            if self.storage.is_some() && cluster.process() > 0 {
                return Err(Error::InvalidConfig(format!(
                    "process {} of a cluster was given storage: only process 0 keeps the log and the \
                     checkpoints (every commit passes through it); start the other processes without \
                     Config::with_storage",
                    cluster.process()
                )));
            }
        }
        if self.retention == Retention::LastCommits(0)
            || self.log_retention == Some(Retention::LastCommits(0))
        {
            return Err(Error::InvalidConfig(
                "Retention::LastCommits(n) needs n >= 1: the latest commit must stay readable".into(),
            ));
        }
        if let Some(limit) = self.backlog
            && (limit.commits == 0 || limit.bytes == 0)
        {
            return Err(Error::InvalidConfig(format!(
                "{limit:?} would accept no commit: use at least 1 commit and 1 byte, or \
                 Config::without_backlog_limit"
            )));
        }
        Ok(())
    }
}

impl Config {
    /// Reads timely's command-line flags: `-w N` workers per process, `-n P` processes,
    /// `-p I` this process's index, `-h FILE` a hostfile (without it, process `i` listens on
    /// `localhost:2101+i`). Returns the configuration (other settings at their defaults) and
    /// the arguments it did not consume, in order. The first item of `args` is taken as the
    /// program name and skipped, as with `std::env::args()`.
    ///
    /// ```
    /// use ivm::Config;
    /// let args = ["prog", "-w", "2", "-n", "2", "-p", "1", "--rows", "10"].map(String::from);
    /// let (config, rest) = Config::from_args(args).unwrap();
    /// assert_eq!(config.workers(), 2);
    /// assert_eq!(config.cluster().unwrap().process(), 1);
    /// assert_eq!(rest, ["--rows", "10"]);
    /// ```
    pub fn from_args(args: impl IntoIterator<Item = String>) -> Result<(Config, Vec<String>)> {
        let mut args = args.into_iter().skip(1);
        let (mut workers, mut processes, mut process, mut hostfile) = (1, 1, 0, None);
        let mut rest = Vec::new();
        while let Some(arg) = args.next() {
            let flag = match arg.as_str() {
                "-w" | "--workers" | "-n" | "--processes" | "-p" | "--process" | "-h" | "--hostfile" => arg,
                _ => {
                    rest.push(arg);
                    continue;
                }
            };
            let value =
                args.next().ok_or_else(|| Error::InvalidConfig(format!("the flag {flag} needs a value")))?;
            let number = || {
                value.parse::<usize>().map_err(|_| {
                    Error::InvalidConfig(format!("the flag {flag} needs a number, got {value:?}"))
                })
            };
            match flag.as_str() {
                "-w" | "--workers" => workers = number()?,
                "-n" | "--processes" => processes = number()?,
                "-p" | "--process" => process = number()?,
                _ => hostfile = Some(value.clone()),
            }
        }
        let config = Config::default().with_workers(workers);
        if processes <= 1 && process == 0 && hostfile.is_none() {
            return Ok((config, rest));
        }
        let cluster = match hostfile {
            Some(file) => Cluster::from_hostfile(file, processes, process)?,
            None => {
                Cluster::new(process, (0..processes).map(|i| format!("localhost:{}", 2101 + i)).collect())
            }
        };
        Ok((config.with_cluster(cluster), rest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_workers_is_rejected() {
        assert!(matches!(Config::default().with_workers(0).validate(), Err(Error::InvalidConfig(_))));
    }

    #[test]
    fn zero_commit_retention_is_rejected() {
        let config = Config::default().with_retention(Retention::LastCommits(0));
        assert!(matches!(config.validate(), Err(Error::InvalidConfig(_))));
    }

    #[test]
    fn a_backlog_limit_of_zero_is_rejected_and_none_is_allowed() {
        assert_eq!(Config::default().backlog(), Some(BacklogLimit::default()));
        for limit in [BacklogLimit::new(0, 1), BacklogLimit::new(1, 0)] {
            assert!(matches!(Config::default().with_backlog(limit).validate(), Err(Error::InvalidConfig(_))));
        }
        let config = Config::default().without_backlog_limit();
        assert_eq!(config.backlog(), None);
        assert!(config.validate().is_ok());
    }

    #[test]
    fn idle_merging_is_off_unless_asked_for() {
        assert_eq!(Config::default().idle_merge_effort(), None);
        assert_eq!(Config::default().with_idle_merge_effort(0).idle_merge_effort(), None);
        assert_eq!(Config::default().with_idle_merge_effort(500).idle_merge_effort(), Some(500));
    }

    #[test]
    fn the_storage_settings_read_back_what_was_set() {
        let config = Config::default();
        assert_eq!((config.storage(), config.durability()), (None, Durability::EveryCommit));
        assert_eq!(config.log_retention(), Retention::All, "the storage keeps what memory keeps");
        let config = Config::default()
            .with_retention(Retention::LastCommits(5))
            .with_storage("/some/dir")
            .with_durability(Durability::Group);
        assert_eq!(config.storage(), Some(std::path::Path::new("/some/dir")));
        assert_eq!(config.durability(), Durability::Group);
        assert_eq!(config.log_retention(), Retention::LastCommits(5));
        let config = config.with_durability(Durability::Buffered).with_log_retention(Retention::Window(60));
        assert_eq!(
            (config.durability(), config.log_retention()),
            (Durability::Buffered, Retention::Window(60))
        );
    }

    #[test]
    fn defaults_are_one_worker_all_history() {
        let config = Config::default();
        assert_eq!(config.workers(), 1);
        assert_eq!(config.retention(), Retention::All);
        assert!(config.validate().is_ok());
    }

    #[test]
    fn flags_follow_timely() {
        let args = ["p", "-n", "3", "-p", "2", "x"].map(String::from);
        let (config, rest) = Config::from_args(args).unwrap();
        let cluster = config.cluster().unwrap();
        assert_eq!((cluster.process(), cluster.processes()), (2, 3));
        assert_eq!(cluster.addresses()[2], "localhost:2103");
        assert_eq!(rest, ["x"]);
        let (single, _) = Config::from_args(["p", "-w", "3"].map(String::from)).unwrap();
        assert!(single.cluster().is_none());
        assert_eq!(single.workers(), 3);
    }

    #[test]
    fn any_cluster_flag_makes_a_cluster() {
        // Process 0 of several (the default process index): a cluster, not a single process.
        let (config, _) = Config::from_args(["p", "-n", "2"].map(String::from)).unwrap();
        let cluster = config.cluster().unwrap();
        assert_eq!((cluster.process(), cluster.processes()), (0, 2));
        // A process index alone: a cluster of one process, which validation then refuses.
        let (config, _) = Config::from_args(["p", "-p", "1"].map(String::from)).unwrap();
        assert_eq!(config.cluster().unwrap().process(), 1);
        assert!(matches!(config.validate(), Err(Error::InvalidConfig(_))));
        // A hostfile alone: a cluster of one process at the file's first address.
        let file = std::env::temp_dir().join(format!("ivm-hostfile-alone-{}", std::process::id()));
        std::fs::write(&file, "h1:1\n").unwrap();
        let (config, _) = Config::from_args(["p", "-h", file.to_str().unwrap()].map(String::from)).unwrap();
        assert_eq!(config.cluster().unwrap().addresses(), ["h1:1"]);
        let _ = std::fs::remove_file(&file);
    }

    #[test]
    fn bad_flags_are_typed_errors() {
        assert!(matches!(Config::from_args(["p", "-w"].map(String::from)), Err(Error::InvalidConfig(_))));
        assert!(matches!(
            Config::from_args(["p", "-w", "x"].map(String::from)),
            Err(Error::InvalidConfig(_))
        ));
        let out_of_range = Config::default().with_cluster(Cluster::new(2, vec!["a:1".into()]));
        assert!(matches!(out_of_range.validate(), Err(Error::InvalidConfig(_))));
    }
}
