//! Whether the other processes of a cluster are still heard from: heartbeats and the peer
//! timeout.
//!
//! A process that stops without closing its connections (stopped with `SIGSTOP`, frozen, or cut
//! off by a network partition) breaks no socket, so timely reports nothing: only silence tells.
//! Every worker therefore sends a heartbeat over the link at least every *heartbeat interval*
//! (a quarter of the peer timeout), and what arrives over the link from a process, heartbeat or
//! not, counts as hearing from it. One [`Liveness`] per engine records when each process was
//! last heard from; the workers that listen (worker 0 of process 0 for every other process,
//! every worker of another process for process 0) check it after each step.
//!
//! The contract:
//! - a peer is lost when a listening worker finishes a step that began more than the peer
//!   timeout after the peer was last heard from. Time spent inside one of this worker's own steps
//!   is never held against a peer: what arrived meanwhile is read by the next step;
//! - each heartbeat says which interval its sender wants to hear at, and every process sends at
//!   the shortest interval any peer asked for, so processes with different peer timeouts do not
//!   see each other as silent; each process still judges silence by its own timeout;
//! - a process is silent while all of its workers are inside steps longer than the timeout
//!   (a commit that takes longer to apply, a view that blocks): the peer timeout must exceed
//!   the longest step any worker takes.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::error::Error;

/// When each process of a cluster was last heard from, shared by one engine's workers.
pub(crate) struct Liveness {
    /// How long a process may stay silent.
    timeout: Duration,
    /// When each process was last heard from, by process index (this one's is unused).
    heard: Mutex<Vec<Instant>>,
    /// The shortest heartbeat interval a peer asked for, in microseconds.
    asked: AtomicU64,
}

impl Liveness {
    /// `processes` processes, each counted as heard from now; silence beyond `timeout` is a loss.
    pub(crate) fn new(processes: usize, timeout: Duration) -> Self {
        Liveness {
            timeout,
            heard: Mutex::new(vec![Instant::now(); processes]),
            asked: AtomicU64::new(u64::MAX),
        }
    }

    /// The interval this process asks its peers to send at: a quarter of its timeout, so that
    /// three heartbeats in a row may be late before a healthy peer looks silent.
    pub(crate) fn wanted(&self) -> Duration {
        (self.timeout / 4).max(Duration::from_millis(1))
    }

    /// How often this process sends: the shortest of its own interval and every peer's.
    pub(crate) fn interval(&self) -> Duration {
        let asked = Duration::from_micros(self.asked.load(Ordering::Relaxed));
        self.wanted().min(asked)
    }

    /// Something arrived from `process`; a heartbeat says the interval it wants to hear at.
    pub(crate) fn heard_from(&self, process: usize, wants: Option<Duration>) {
        self.heard_at(process, Instant::now(), wants);
    }

    /// Something arrived from `process` at `at`.
    fn heard_at(&self, process: usize, at: Instant, wants: Option<Duration>) {
        if let Some(slot) = self.heard.lock().unwrap_or_else(|e| e.into_inner()).get_mut(process) {
            *slot = (*slot).max(at);
        }
        if let Some(wants) = wants {
            let micros = u64::try_from(wants.as_micros()).unwrap_or(u64::MAX).max(1);
            self.asked.fetch_min(micros, Ordering::Relaxed);
        }
    }

    /// The loss of the first of `processes` silent for longer than the timeout before `began`
    /// (when the listening worker's last step began), if any.
    pub(crate) fn lost(&self, processes: impl IntoIterator<Item = usize>, began: Instant) -> Option<Error> {
        let heard = self.heard.lock().unwrap_or_else(|e| e.into_inner());
        processes.into_iter().find_map(|process| {
            let silent = began.saturating_duration_since(*heard.get(process)?);
            (silent > self.timeout).then(|| Error::PeerLost {
                reason: format!(
                    "process {process} sent nothing for {silent:.1?}, longer than the peer timeout of \
                     {:?}: it is stopped, stuck in a step, or cut off by the network",
                    self.timeout
                ),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_counts_up_to_when_the_last_step_began() {
        let start = Instant::now();
        let liveness = Liveness::new(3, Duration::from_secs(2));
        assert!(liveness.lost([1, 2], start + Duration::from_secs(2)).is_none(), "at most the timeout");
        let lost = liveness.lost([1, 2], start + Duration::from_secs(3)).expect("silent for 3 s");
        assert!(matches!(&lost, Error::PeerLost { reason } if reason.contains("process 1 ")), "{lost:?}");
        liveness.heard_at(1, start + Duration::from_secs(2), None);
        let lost = liveness.lost([1, 2], start + Duration::from_secs(3)).expect("2 is still silent");
        assert!(matches!(&lost, Error::PeerLost { reason } if reason.contains("process 2 ")), "{lost:?}");
        // A step that began before the peer was heard from does not count against it.
        assert!(liveness.lost([1], start).is_none());
        assert!(liveness.lost([7], start + Duration::from_secs(9)).is_none(), "no such process");
    }

    #[test]
    fn every_process_sends_at_the_shortest_interval_asked() {
        let liveness = Liveness::new(2, Duration::from_secs(30));
        assert_eq!(
            (liveness.wanted(), liveness.interval()),
            (Duration::from_millis(7_500), liveness.wanted())
        );
        liveness.heard_from(1, Some(Duration::from_millis(500)));
        liveness.heard_from(1, Some(Duration::from_secs(10)));
        liveness.heard_from(1, None);
        assert_eq!(liveness.interval(), Duration::from_millis(500));
        assert_eq!(liveness.wanted(), Duration::from_millis(7_500), "its own timeout is unchanged");
    }
}
