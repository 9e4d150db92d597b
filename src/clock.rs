//! The commit clock: which timestamp a commit gets, and how far back history stays readable.
//!
//! The clock lives on the application side, inside the coordinator's lock, so commits from
//! many threads get strictly increasing timestamps and every worker learns of them in one order.

use std::collections::VecDeque;

use crate::config::Retention;
use crate::error::{Error, Result};
use crate::time::Time;

/// The last committed time and the retention window derived from it.
#[derive(Debug)]
pub(crate) struct Clock {
    retention: Retention,
    last: Time,
    /// The most recent commit times, oldest first; only kept for `Retention::LastCommits`.
    recent: VecDeque<Time>,
    /// Nothing older than this is readable (a recovered engine's checkpoint time).
    floor: Time,
    /// `since` stays at or before this (the oldest time a named consumer may resume from).
    hold: Option<Time>,
}

impl Clock {
    /// A clock at time 0: the empty engine, complete and readable.
    pub(crate) fn new(retention: Retention) -> Self {
        Clock { retention, last: 0, recent: VecDeque::new(), floor: 0, hold: None }
    }

    /// A clock that continues a recovered history: the last commit at `last`, the commit times
    /// since the checkpoint in `times` (oldest first), and nothing readable before `floor`.
    pub(crate) fn restore(retention: Retention, last: Time, times: &[Time], floor: Time) -> Self {
        let mut clock = Clock::new(retention);
        for &time in times {
            clock.record(time);
        }
        clock.last = clock.last.max(last);
        clock.floor = floor;
        clock
    }

    /// The last committed time (0 before the first commit).
    pub(crate) fn last(&self) -> Time {
        self.last
    }

    /// The time an engine-assigned commit gets next.
    pub(crate) fn next(&self) -> Result<Time> {
        self.check(self.last.saturating_add(1))
    }

    /// Checks that `requested` may be the next commit time, and returns it.
    pub(crate) fn check(&self, requested: Time) -> Result<Time> {
        if requested <= self.last {
            return Err(Error::TimeNotIncreasing { requested, last: self.last });
        }
        if requested == Time::MAX {
            return Err(Error::TimeOutOfRange { requested });
        }
        Ok(requested)
    }

    /// Records a commit at `time` (already checked) and returns the new `since`.
    pub(crate) fn record(&mut self, time: Time) -> Time {
        debug_assert!(time > self.last, "commit times must increase");
        self.last = time;
        if let Retention::LastCommits(n) = self.retention {
            self.recent.push_back(time);
            while self.recent.len() as u64 > n {
                self.recent.pop_front();
            }
        }
        self.since()
    }

    /// Keeps `since` at or before `hold` (`None`: no hold), for the named consumers. A hold
    /// is never older than the `since` already announced: a consumer is created at the latest
    /// commit, and its hold only moves forward.
    pub(crate) fn set_hold(&mut self, hold: Option<Time>) {
        self.hold = hold;
    }

    /// The oldest time that stays readable under the retention policy and the hold.
    pub(crate) fn since(&self) -> Time {
        let since = match self.retention {
            Retention::All => 0,
            Retention::LastCommits(n) if (self.recent.len() as u64) < n => 0,
            Retention::LastCommits(_) => *self.recent.front().expect("n >= 1 commits recorded"),
            Retention::Window(d) => self.last.saturating_sub(d),
        };
        self.hold.map_or(since, |hold| since.min(hold)).max(self.floor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assigned_times_start_at_one_and_increase() {
        let mut clock = Clock::new(Retention::All);
        assert_eq!(clock.next(), Ok(1));
        clock.record(1);
        assert_eq!(clock.next(), Ok(2));
        assert_eq!(clock.last(), 1);
    }

    #[test]
    fn a_time_not_after_the_last_is_rejected() {
        let mut clock = Clock::new(Retention::All);
        clock.record(10);
        assert_eq!(clock.check(10), Err(Error::TimeNotIncreasing { requested: 10, last: 10 }));
        assert_eq!(clock.check(3), Err(Error::TimeNotIncreasing { requested: 3, last: 10 }));
        assert_eq!(clock.check(11), Ok(11));
        assert_eq!(clock.check(Time::MAX), Err(Error::TimeOutOfRange { requested: Time::MAX }));
    }

    #[test]
    fn last_commits_keeps_the_n_most_recent_times() {
        let mut clock = Clock::new(Retention::LastCommits(3));
        assert_eq!(clock.record(5), 0);
        assert_eq!(clock.record(7), 0);
        assert_eq!(clock.record(9), 5);
        assert_eq!(clock.record(20), 7);
    }

    #[test]
    fn window_keeps_times_within_d_of_the_latest() {
        let mut clock = Clock::new(Retention::Window(100));
        assert_eq!(clock.record(50), 0);
        assert_eq!(clock.record(1_000), 900);
    }

    #[test]
    fn a_restored_clock_continues_and_respects_its_floor() {
        let clock = Clock::restore(Retention::LastCommits(2), 9, &[5, 7, 9], 4);
        assert_eq!(clock.last(), 9);
        assert_eq!(clock.since(), 7);
        assert_eq!(clock.next(), Ok(10));
        let clock = Clock::restore(Retention::All, 9, &[9], 6);
        assert_eq!(clock.since(), 6);
    }

    #[test]
    fn a_hold_keeps_since_back_until_released() {
        let mut clock = Clock::new(Retention::LastCommits(1));
        clock.record(1);
        clock.set_hold(Some(1));
        assert_eq!(clock.record(5), 1, "held at 1");
        clock.set_hold(Some(4));
        assert_eq!(clock.since(), 4);
        clock.set_hold(None);
        assert_eq!(clock.since(), 5);
    }

    #[test]
    fn all_retains_from_zero() {
        let mut clock = Clock::new(Retention::All);
        assert_eq!(clock.record(1_000_000), 0);
    }
}
