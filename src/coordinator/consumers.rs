//! Named consumers: subscriptions that keep their place.
//!
//! A named consumer of a view is a [`Position`]: where its stream starts (the snapshot's time)
//! and the `upper` it acknowledged last. The positions live here, under the coordinator's
//! lock, and with storage in the directory's `CONSUMERS` file (`persist/consumers.rs`),
//! rewritten before an acknowledgement returns. Each position holds the engine's `since` at
//! the oldest time it may resume from (the clock's hold, so that neither compaction nor a
//! checkpoint passes it), until the consumer acknowledges more, is dropped
//! (`Engine::drop_consumer`, its view dropped), or falls further behind the latest commit
//! than `Config::with_consumer_lag_limit` allows, which drops it too. A handle open on a
//! dropped consumer gets [`Error::ConsumerDropped`] on its next call.
//!
//! A consumer is read through an ordinary subscription (`read/consumer.rs`): from its hold,
//! with the snapshot if it never acknowledged, else without it; so after a restart it gets
//! exactly the changes at and after the `upper` it acknowledged.

use std::collections::BTreeMap;

use super::{Coordinator, State};
use crate::error::{Error, Result, VIEW_NOT_KEPT};
use crate::persist::consumers::{self, Position};
use crate::protocol::SourceId;
use crate::time::Time;

/// Why a consumer was dropped, as [`Error::ConsumerDropped`] says it.
const LAGGED: &str = "it fell further behind the latest commit than Config::with_consumer_lag_limit allows";
const DROPPED: &str = "Engine::drop_consumer dropped it";
const VIEW_DROPPED: &str = "its view was dropped";

/// One named consumer, as [`Engine::consumers`](crate::Engine::consumers) lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConsumerInfo {
    /// Its name.
    pub name: String,
    /// The view it reads.
    pub view: String,
    /// The time of its first batch (the snapshot).
    pub start: Time,
    /// The `upper` it acknowledged last (`None`: nothing yet; it resumes at its snapshot).
    pub acknowledged: Option<Time>,
    /// The oldest time it may resume from: the engine keeps `since` at or before it.
    pub hold: Time,
    /// Whether a [`Consumer`](crate::Consumer) handle is open on it.
    pub open: bool,
}

/// Every named consumer of one engine.
#[derive(Default)]
pub(crate) struct Consumers {
    positions: BTreeMap<String, Position>,
    /// The consumers with an open handle, and that handle's id.
    open: BTreeMap<String, u64>,
    /// What the next call of each handle whose consumer was dropped gets.
    dropped: BTreeMap<u64, Error>,
    next_handle: u64,
    lag_limit: Option<Time>,
}

impl Consumers {
    /// The consumers stored in a directory (none without storage), dropped past `lag_limit`.
    pub(crate) fn new(positions: Vec<Position>, lag_limit: Option<Time>) -> Self {
        let positions = positions.into_iter().map(|position| (position.name.clone(), position)).collect();
        Consumers { positions, lag_limit, ..Consumers::default() }
    }

    /// The oldest time any consumer may resume from.
    pub(crate) fn hold(&self) -> Option<Time> {
        self.positions.values().map(Position::hold).min()
    }

    fn list(&self) -> Vec<Position> {
        self.positions.values().cloned().collect()
    }

    /// Forgets consumer `name`; an open handle on it gets `ConsumerDropped` for `reason`.
    fn drop_one(&mut self, name: &str, latest: Time, reason: &'static str) {
        if let Some(position) = self.positions.remove(name)
            && let Some(handle) = self.open.remove(name)
        {
            let error = Error::ConsumerDropped {
                name: name.to_string(),
                acknowledged: position.acknowledged,
                latest,
                reason,
            };
            self.dropped.insert(handle, error);
        }
    }
}

impl State {
    /// Makes the clock's hold the consumers' and, with storage, stores their positions.
    fn consumers_changed(&mut self) -> Result<()> {
        self.clock.set_hold(self.consumers.hold());
        match self.store.as_ref() {
            Some(store) => consumers::save(store.dir(), &self.consumers.list()),
            None => Ok(()),
        }
    }

    /// Drops the consumers that fell more than the lag limit behind `latest` (after a commit).
    pub(crate) fn drop_lagging_consumers(&mut self, latest: Time) {
        let Some(limit) = self.consumers.lag_limit else { return };
        let lagging: Vec<String> = self
            .consumers
            .positions
            .values()
            .filter(|position| latest.saturating_sub(position.hold()) > limit)
            .map(|position| position.name.clone())
            .collect();
        if lagging.is_empty() {
            return;
        }
        for name in &lagging {
            tracing::warn!(consumer = name.as_str(), latest, "named consumer dropped: {LAGGED}");
            self.consumers.drop_one(name, latest, LAGGED);
        }
        if let Err(error) = self.consumers_changed() {
            // The commit is made; the consumer is gone in memory, and comes back after a
            // restart only if the directory could not be written.
            tracing::error!(error = %error, "storing the consumers' positions failed");
        }
    }

    /// Drops the consumers of view `view` (it is being dropped).
    pub(crate) fn drop_consumers_of(&mut self, view: &str) -> Result<()> {
        let readers: Vec<String> =
            self.consumers.positions.values().filter(|p| p.view == view).map(|p| p.name.clone()).collect();
        if readers.is_empty() {
            return Ok(());
        }
        let latest = self.clock.last();
        for name in &readers {
            self.consumers.drop_one(name, latest, VIEW_DROPPED);
        }
        self.consumers_changed()
    }
}

/// Where an opened consumer's subscription starts.
pub(crate) struct Opened {
    /// The handle's id, for its later calls.
    pub(crate) handle: u64,
    pub(crate) as_of: Time,
    pub(crate) snapshot: bool,
    /// The upper it acknowledged, if any.
    pub(crate) acknowledged: Option<Time>,
    /// The time of its first batch, the snapshot.
    pub(crate) start: Time,
}

impl Coordinator {
    /// Opens consumer `name` of view `view` (id `source`; `kept` false for a streamed view):
    /// its stored position, or a new one starting at the latest commit.
    pub(crate) fn open_consumer(
        &self,
        name: &str,
        view: &str,
        source: SourceId,
        kept: bool,
    ) -> Result<Opened> {
        crate::name::check(name)?;
        self.sequence(|state| {
            state.catalog.check_live(source)?;
            if !kept {
                return Err(Error::NotKept { name: view.to_string(), reason: VIEW_NOT_KEPT });
            }
            if state.consumers.open.contains_key(name) {
                return Err(Error::DuplicateName { name: name.to_string(), existing: "open consumer" });
            }
            let position = match state.consumers.positions.get(name) {
                Some(position) if position.view != view => {
                    return Err(Error::DuplicateName {
                        name: name.to_string(),
                        existing: "consumer of another view",
                    });
                }
                Some(position) => position.clone(),
                None => {
                    let start = state.clock.last();
                    let position = Position {
                        name: name.to_string(),
                        view: view.to_string(),
                        start,
                        acknowledged: None,
                    };
                    state.consumers.positions.insert(name.to_string(), position.clone());
                    if let Err(error) = state.consumers_changed() {
                        state.consumers.positions.remove(name);
                        state.clock.set_hold(state.consumers.hold());
                        return Err(error);
                    }
                    position
                }
            };
            state.consumers.next_handle += 1;
            let handle = state.consumers.next_handle;
            state.consumers.open.insert(name.to_string(), handle);
            let (as_of, snapshot) = (position.hold(), position.acknowledged.is_none());
            Ok(Opened { handle, as_of, snapshot, acknowledged: position.acknowledged, start: position.start })
        })
    }

    /// Records that consumer `name` (through handle `handle`) processed every change before
    /// `upper`: stored before this returns, and its hold moves to `upper - 1`.
    pub(crate) fn acknowledge(&self, name: &str, handle: u64, upper: Time) -> Result<()> {
        self.sequence(|state| {
            check_handle(state, name, handle)?;
            let position = state.consumers.positions.get_mut(name).expect("an open consumer has a position");
            // Nothing before the snapshot's time is acknowledged by processing the snapshot.
            if upper <= position.start
                || position.acknowledged.is_some_and(|acknowledged| acknowledged >= upper)
            {
                return Ok(());
            }
            let before = position.acknowledged.replace(upper);
            if let Err(error) = state.consumers_changed() {
                let position = state.consumers.positions.get_mut(name).expect("just updated");
                position.acknowledged = before;
                state.clock.set_hold(state.consumers.hold());
                return Err(error);
            }
            Ok(())
        })
    }

    /// Fails with [`Error::ConsumerDropped`] if consumer `name` was dropped under `handle`.
    pub(crate) fn check_consumer(&self, name: &str, handle: u64) -> Result<()> {
        self.sequence(|state| check_handle(state, name, handle))
    }

    /// Handle `handle` of consumer `name` is gone; its position stays.
    pub(crate) fn close_consumer(&self, name: &str, handle: u64) {
        let _ = self.sequence(|state| {
            if state.consumers.open.get(name) == Some(&handle) {
                state.consumers.open.remove(name);
            }
            state.consumers.dropped.remove(&handle);
            Ok(())
        });
    }

    /// Every named consumer, by name.
    pub(crate) fn consumers(&self) -> Result<Vec<ConsumerInfo>> {
        self.sequence(|state| {
            let consumers = &state.consumers;
            Ok(consumers
                .positions
                .values()
                .map(|position| ConsumerInfo {
                    name: position.name.clone(),
                    view: position.view.clone(),
                    start: position.start,
                    acknowledged: position.acknowledged,
                    hold: position.hold(),
                    open: consumers.open.contains_key(&position.name),
                })
                .collect())
        })
    }

    /// Drops consumer `name`, releasing its hold; its open handle, if any, gets
    /// [`Error::ConsumerDropped`] next.
    pub(crate) fn drop_consumer(&self, name: &str) -> Result<()> {
        self.sequence(|state| {
            if !state.consumers.positions.contains_key(name) {
                return Err(Error::UnknownName { kind: "consumer", name: name.to_string() });
            }
            let latest = state.clock.last();
            state.consumers.drop_one(name, latest, DROPPED);
            state.consumers_changed()
        })
    }
}

fn check_handle(state: &State, name: &str, handle: u64) -> Result<()> {
    if let Some(error) = state.consumers.dropped.get(&handle) {
        return Err(error.clone());
    }
    debug_assert_eq!(state.consumers.open.get(name), Some(&handle), "a handle not dropped is open");
    Ok(())
}
