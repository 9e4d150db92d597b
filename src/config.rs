//! Engine configuration: a consuming builder.

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
}

impl Default for Config {
    /// One worker, all history retained.
    fn default() -> Self {
        Config { workers: 1, retention: Retention::All, idle_merge_effort: 1_000 }
    }
}

impl Config {
    /// Runs `n` timely worker threads (default 1). Each owns a shard of every table and view.
    pub fn with_workers(mut self, n: usize) -> Self {
        self.workers = n;
        self
    }

    /// Chooses how much history stays readable (default [`Retention::All`]).
    pub fn with_retention(mut self, retention: Retention) -> Self {
        self.retention = retention;
        self
    }

    /// How much merge work an otherwise idle worker does per step to compact its arrangements
    /// (default 1,000 updates). Zero stops idle merging: memory then shrinks only when new
    /// commits arrive.
    pub fn with_idle_merge_effort(mut self, effort: usize) -> Self {
        self.idle_merge_effort = isize::try_from(effort).unwrap_or(isize::MAX);
        self
    }

    /// The number of worker threads.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// The retention policy.
    pub fn retention(&self) -> Retention {
        self.retention
    }

    pub(crate) fn idle_merge_effort(&self) -> isize {
        self.idle_merge_effort
    }

    /// Checks every setting; `Engine::start` calls this first.
    pub(crate) fn validate(&self) -> Result<()> {
        if self.workers == 0 {
            return Err(Error::InvalidConfig("workers must be at least 1".into()));
        }
        if self.retention == Retention::LastCommits(0) {
            return Err(Error::InvalidConfig(
                "Retention::LastCommits(n) needs n >= 1: the latest commit must stay readable".into(),
            ));
        }
        Ok(())
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
    fn defaults_are_one_worker_all_history() {
        let config = Config::default();
        assert_eq!(config.workers(), 1);
        assert_eq!(config.retention(), Retention::All);
        assert!(config.validate().is_ok());
    }
}
