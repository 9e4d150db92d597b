//! What the engine holds: one source's shards (`stats`, for a handle's `stats()`), or every
//! source's and every live subscription's (`engine_stats`, for `Engine::stats`).
//!
//! Both are one stats command to every worker of every process, naming the sources asked
//! about; each worker answers with its shards' figures (`protocol/stats.rs` says how each is
//! gathered), and the answers are summed here. Subscriptions' unread updates are counted on
//! this side: they wait in each subscription's feed, in process 0, which the coordinator
//! reaches through the weak reference it keeps from `subscribe` until `unsubscribe`.

use std::collections::BTreeMap;
use std::sync::{Arc, Weak};

use super::receivers::StatsReceiver;
use super::{Coordinator, Operation};
use crate::error::Result;
use crate::protocol::feed::Unread;
use crate::protocol::stats::{BacklogStats, EngineStats, SourceStats, SubscriptionStats, TraceStats};
use crate::protocol::wire::Receiver;
use crate::protocol::{SourceId, next_request};

/// A live subscription, as the coordinator knows it.
pub(crate) struct Subscribed {
    /// The view's name.
    pub(crate) view: String,
    /// Its feed; gone once the subscription is dropped.
    pub(crate) feed: Weak<dyn Unread>,
}

impl Subscribed {
    pub(crate) fn new(view: &str, feed: &Arc<impl Unread + 'static>) -> Self {
        let feed: Arc<dyn Unread> = Arc::clone(feed) as _;
        Subscribed { view: view.to_string(), feed: Arc::downgrade(&feed) }
    }
}

impl Coordinator {
    /// The size of `source`'s shards, summed over every worker of every process.
    pub(crate) fn stats(&self, source: SourceId) -> Result<TraceStats> {
        let mut gathered = self.gather(|state| {
            state.catalog.check_live(source)?;
            Ok(vec![source])
        })?;
        Ok(gathered.remove(&source).unwrap_or_default())
    }

    /// Every live source's figures (by name, with its kind), every live subscription's unread
    /// updates, and their total.
    pub(crate) fn engine_stats(&self) -> Result<EngineStats> {
        let mut listed = Vec::new();
        let mut subscriptions = Vec::new();
        let mut gathered = self.gather(|state| {
            listed = state.catalog.sources();
            state.subscriptions.retain(|_, subscribed| subscribed.feed.strong_count() > 0);
            for (&id, subscribed) in &state.subscriptions {
                if let Some(feed) = subscribed.feed.upgrade() {
                    let (unread, bytes) = feed.unread();
                    let view = subscribed.view.clone();
                    subscriptions.push(SubscriptionStats { id, view, unread, bytes });
                }
            }
            Ok(listed.iter().map(|(_, entry)| entry.id).collect())
        })?;
        let sources = listed
            .into_iter()
            .map(|(name, entry)| {
                let trace = gathered.remove(&entry.id).unwrap_or_default();
                SourceStats { name, kind: entry.kind.noun(), trace }
            })
            .collect();
        let held = self.health.backlog().held();
        let backlog = BacklogStats { commits: held.commits, bytes: held.bytes };
        Ok(EngineStats::new(sources, subscriptions, backlog))
    }

    /// Asks every worker of every process for the figures of the sources `sources` names
    /// (under the lock), and sums their answers per source.
    fn gather(
        &self,
        sources: impl FnOnce(&mut super::State) -> Result<Vec<SourceId>>,
    ) -> Result<BTreeMap<SourceId, TraceStats>> {
        let (reply, answers) = crossbeam_channel::unbounded();
        let workers = self.sequence(|state| {
            let sources = sources(state)?;
            let remaining = self.role.remote_workers();
            let receiver: Box<dyn Receiver> = Box::new(StatsReceiver { reply: reply.clone(), remaining });
            let operation =
                Operation::Stats { sources, reply: reply.clone(), remote: Some((next_request(), receiver)) };
            self.dispatch(state, operation)
        })?;
        drop(reply);
        let mut summed: BTreeMap<SourceId, TraceStats> = BTreeMap::new();
        for _ in 0..workers {
            let shares = answers.recv().map_err(|_| super::returned(self.terminal_error()))?;
            for (source, stats) in shares {
                summed.entry(source).and_modify(|sum| *sum = *sum + stats).or_insert(stats);
            }
        }
        Ok(summed)
    }
}
