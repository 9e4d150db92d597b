//! Work accepted but not yet applied: the bound that holds writers back.
//!
//! A commit is accepted when the coordinator has given it a time and handed its writes to the
//! workers; it is applied when every worker of this process sees every table and view complete
//! through its time (the smallest upper of the worker's shards: timely's frontiers are global,
//! so this also covers the other processes of a cluster). Between the two, its writes sit in the
//! workers' command channels and in the dataflows' inputs, which is memory nothing else bounds:
//! without a bound, one thread committing small transactions outruns a worker several times
//! over (`BENCHMARKS.md` §6a).
//!
//! [`Backlog`] counts the accepted commits (and an estimate of their bytes) until the workers
//! report them applied. A commit first takes a [`Permit`] (waiting for room, or refused), which
//! reserves its share; under the coordinator's lock, once it has a time, the permit becomes an
//! entry of the backlog; the entry leaves when the workers' applied frontier passes its time.
//! Nothing here is taken under the coordinator's lock while waiting, so readers (who take only
//! that lock) never wait for writers that wait for room.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::config::BacklogLimit;
use crate::error::{Error, Result};
use crate::time::Time;

/// How long a commit may wait for room.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Wait {
    /// Until there is room (or the engine stops).
    Forever,
    /// Until this instant, then [`Error::Backlogged`].
    Until(Instant),
}

/// The accepted, not yet applied commits of one engine, shared by its coordinator and its
/// workers.
#[derive(Default)]
pub(crate) struct Backlog {
    state: Mutex<Pending>,
    room: Condvar,
}

#[derive(Default)]
struct Pending {
    limit: Option<BacklogLimit>,
    /// Accepted commits, time and estimated bytes, in time order.
    accepted: VecDeque<(Time, usize)>,
    /// The bytes of `accepted`.
    bytes: usize,
    /// Permits given out whose commit has no time yet: commits and bytes.
    reserved: (usize, usize),
    /// Each local worker's applied frontier: every source complete before it.
    applied: Vec<Time>,
    /// The engine stopped: waiting writers give up.
    closed: bool,
}

/// What a [`Backlog`] holds right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Held {
    pub(crate) commits: usize,
    pub(crate) bytes: usize,
}

impl Pending {
    fn held(&self) -> Held {
        Held { commits: self.accepted.len() + self.reserved.0, bytes: self.bytes + self.reserved.1 }
    }

    /// True once the backlog has drained to three quarters of its bound (or is empty): only
    /// then are waiting writers woken, so that they come back together for a quarter of the
    /// bound instead of one by one for each step of the workers (which, on a machine with
    /// fewer cores than writers, spends the workers' time on waking threads).
    fn below_low_water(&self) -> bool {
        let Some(limit) = self.limit else { return true };
        let held = self.held();
        held.commits == 0 || (held.commits <= limit.commits() / 4 * 3 && held.bytes <= limit.bytes() / 4 * 3)
    }

    /// True if a commit of `bytes` fits. An empty backlog takes any commit, however large, so
    /// that a commit larger than the byte bound is never refused forever.
    fn fits(&self, bytes: usize) -> bool {
        let Some(limit) = self.limit else { return true };
        let held = self.held();
        held.commits == 0
            || (held.commits < limit.commits() && held.bytes.saturating_add(bytes) <= limit.bytes())
    }
}

impl Backlog {
    /// Sets the bound (`None`: unbounded) and the number of this process's workers, before
    /// any commit.
    pub(crate) fn configure(&self, limit: Option<BacklogLimit>, workers: usize) {
        let mut state = self.lock();
        state.limit = limit;
        state.applied = vec![0; workers];
    }

    /// Waits (as `wait` allows) for room for a commit of about `bytes`, and reserves it.
    /// Fails with [`Error::Backlogged`] when the wait ends first, and with [`Error::Shutdown`]
    /// once the engine stops (the caller turns that into the engine's terminal error).
    pub(crate) fn admit(&self, bytes: usize, wait: Wait) -> Result<Permit<'_>> {
        let started = Instant::now();
        let mut state = self.lock();
        let mut waited = false;
        loop {
            if state.closed {
                return Err(Error::Shutdown);
            }
            if state.fits(bytes) {
                state.reserved.0 += 1;
                state.reserved.1 += bytes;
                if waited {
                    let waited_us = started.elapsed().as_micros() as u64;
                    tracing::debug!(waited_us, "commit admitted after waiting for the backlog");
                }
                return Ok(Permit { backlog: self, bytes, taken: false });
            }
            if !waited {
                let Held { commits, bytes: held } = state.held();
                tracing::debug!(commits, bytes = held, "backlog full: a commit waits for the workers");
                waited = true;
            }
            state = match wait {
                Wait::Forever => self.room.wait(state).unwrap_or_else(|e| e.into_inner()),
                Wait::Until(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        let Held { commits, bytes } = state.held();
                        return Err(Error::Backlogged { commits, bytes, waited: now - started });
                    }
                    self.room.wait_timeout(state, deadline - now).unwrap_or_else(|e| e.into_inner()).0
                }
            };
        }
    }

    /// Worker `worker` (of this process) has every source complete before `applied`: commits
    /// before the smallest such frontier of all workers leave the backlog.
    pub(crate) fn applied(&self, worker: usize, applied: Time) {
        let mut state = self.lock();
        let Some(slot) = state.applied.get_mut(worker) else { return };
        *slot = applied;
        let frontier = state.applied.iter().copied().min().unwrap_or(applied);
        let mut freed = false;
        while let Some(&(time, bytes)) = state.accepted.front() {
            if time >= frontier {
                break;
            }
            state.accepted.pop_front();
            state.bytes -= bytes;
            freed = true;
        }
        if freed && state.below_low_water() {
            self.room.notify_all();
        }
    }

    /// What the backlog holds now.
    pub(crate) fn held(&self) -> Held {
        self.lock().held()
    }

    /// The engine stopped: every waiting writer wakes and fails.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.room.notify_all();
    }

    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Room reserved in a [`Backlog`] for one commit. [`accept`](Self::accept) it once the commit
/// has its time (under the coordinator's lock, so that accepted commits stay in time order);
/// dropped without that (the commit failed), it gives the room back.
pub(crate) struct Permit<'a> {
    backlog: &'a Backlog,
    bytes: usize,
    taken: bool,
}

impl Permit<'_> {
    /// The commit was accepted at `time`: it stays in the backlog until applied (the workers
    /// may have applied it already: they get its writes before this is called).
    pub(crate) fn accept(mut self, time: Time) {
        let mut state = self.backlog.lock();
        state.reserved.0 -= 1;
        state.reserved.1 -= self.bytes;
        if state.applied.iter().copied().min().is_none_or(|frontier| time >= frontier) {
            state.accepted.push_back((time, self.bytes));
            state.bytes += self.bytes;
        } else {
            self.backlog.room.notify_all();
        }
        self.taken = true;
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if !self.taken {
            let mut state = self.backlog.lock();
            state.reserved.0 -= 1;
            state.reserved.1 -= self.bytes;
            drop(state);
            self.backlog.room.notify_all();
        }
    }
}

/// No wait at all: admitted now, or refused.
pub(crate) fn at_once() -> Wait {
    Wait::Until(Instant::now())
}

/// How long a [`Wait`] ending at `timeout` from now is.
pub(crate) fn within(timeout: Duration) -> Wait {
    Instant::now().checked_add(timeout).map_or(Wait::Forever, Wait::Until)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backlog(commits: usize, bytes: usize) -> Backlog {
        let backlog = Backlog::default();
        backlog.configure(Some(BacklogLimit::new(commits, bytes)), 2);
        backlog
    }

    fn now() -> Wait {
        Wait::Until(Instant::now())
    }

    #[test]
    fn commits_beyond_the_bound_are_refused_until_every_worker_applied_them() {
        let backlog = backlog(2, 1 << 20);
        backlog.admit(10, now()).unwrap().accept(1);
        backlog.admit(10, now()).unwrap().accept(2);
        assert!(matches!(backlog.admit(10, now()), Err(Error::Backlogged { commits: 2, bytes: 20, .. })));
        backlog.applied(0, 3);
        assert!(backlog.admit(10, now()).is_err(), "worker 1 has applied nothing yet");
        backlog.applied(1, 2);
        assert_eq!(backlog.held(), Held { commits: 1, bytes: 10 }, "time 1 is applied, time 2 is not");
        backlog.admit(10, now()).unwrap().accept(3);
        assert!(backlog.admit(10, now()).is_err());
        backlog.applied(0, 5);
        backlog.applied(1, 5);
        backlog.admit(10, now()).unwrap().accept(4);
        assert_eq!(backlog.held(), Held::default(), "a commit the workers applied before it was accepted");
    }

    #[test]
    fn bytes_bound_but_an_empty_backlog_takes_anything_and_a_dropped_permit_gives_back() {
        let backlog = backlog(100, 50);
        let big = backlog.admit(1_000, now()).expect("an empty backlog takes a commit of any size");
        assert!(backlog.admit(1, now()).is_err(), "reserved bytes count");
        drop(big);
        assert_eq!(backlog.held(), Held::default());
        backlog.admit(30, now()).unwrap().accept(1);
        assert!(matches!(backlog.admit(30, now()), Err(Error::Backlogged { bytes: 30, .. })));
        backlog.admit(20, now()).unwrap().accept(2);
    }

    #[test]
    fn a_waiting_writer_wakes_when_room_is_made_or_the_engine_stops() {
        let backlog = std::sync::Arc::new(backlog(1, 1 << 20));
        backlog.admit(1, now()).unwrap().accept(1);
        let waiter = {
            let backlog = std::sync::Arc::clone(&backlog);
            std::thread::spawn(move || backlog.admit(1, Wait::Forever).map(|permit| permit.accept(2)))
        };
        backlog.applied(0, 2);
        backlog.applied(1, 2);
        assert_eq!(waiter.join().unwrap(), Ok(()));
        let waiter = {
            let backlog = std::sync::Arc::clone(&backlog);
            std::thread::spawn(move || backlog.admit(1, Wait::Forever).map(|permit| permit.accept(3)))
        };
        backlog.close();
        assert_eq!(waiter.join().unwrap(), Err(Error::Shutdown));
    }

    #[test]
    fn unbounded_takes_everything() {
        let backlog = Backlog::default();
        backlog.configure(None, 1);
        for time in 1..1_000 {
            backlog.admit(1 << 30, now()).unwrap().accept(time);
        }
        assert_eq!(backlog.held().commits, 999);
        backlog.applied(0, 1_000);
        assert_eq!(backlog.held(), Held::default());
    }
}
