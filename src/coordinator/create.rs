//! Creating and opening tables and views by name.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use super::catalog::Entry;
use super::receivers::DoneReceiver;
use super::{Coordinator, Operation, State};
use crate::error::{Error, NO_STORAGE, Result};
use crate::persist::codec::{StoredKind, TableCodec};
use crate::persist::store::{StoredHistory, history_through};
use crate::protocol::wire::Receiver;
use crate::protocol::{SourceId, next_request};
use crate::shard::input::Replay;
use crate::shard::kind::{Kind, RowType};
use crate::worker::role::{Registration, Registrations, Role};

/// Rows of a streamed table's stored history per batch of its backfill (at least a whole
/// stored piece: a log record's writes, or a checkpoint chunk). Large enough that sending a
/// batch costs nothing beside taking it in; small enough that the first batch reaches the
/// workers soon.
const BACKFILL_BATCH: usize = 1 << 18;

impl Coordinator {
    /// Creates the source `name` of `kind` on every worker, or, for a table that exists with
    /// this kind and row type, finds it. A table is registered with the storage first, which
    /// hands back its recovered history, shared out to the workers. Returns the source's id.
    ///
    /// On a process other than 0 of a cluster, only records the source, for the workers to
    /// build when process 0's control for it arrives.
    pub(crate) fn create(&self, name: &str, kind: Arc<dyn Kind>) -> Result<SourceId> {
        let id = self.sequence_any(|state| {
            let table = kind.stored();
            if table.is_some()
                && let Some(entry) = state.catalog.find(name, kind.noun(), kind.row())?
            {
                return Ok(entry.id);
            }
            state.catalog.check_free(name)?;
            if let Role::Follower { registrations, .. } = &self.role {
                let id = state.next_id();
                register(registrations, id, name, Arc::clone(&kind));
                state.catalog.insert(name, Entry { id, kind, reads: BTreeSet::new() });
                return Ok(id);
            }
            let workers = state.workers();
            let mut shares = Vec::new();
            let mut empty_stream = kind.streamed();
            // A kept bag table's stored history, replayed in batches once it is built.
            let mut in_batches = None;
            if let Some((stored, codec)) = table
                && let Some(store) = state.store.as_mut()
                && let Some(history) =
                    store.register(name, stored, (kind.row().name(), kind.row().shape()))?
            {
                match stored {
                    // A streamed table's stored rows stay in the files, for views' backfills.
                    StoredKind::Streamed => empty_stream = history.is_empty(),
                    _ if history.is_empty() => {}
                    // A bag's updates advance to `since` each alone, so its history can be
                    // decoded and replayed in batches while the workers take in the ones before.
                    StoredKind::Bag => {
                        shares = (0..workers).map(|_| Replay::InBatches).collect();
                        in_batches = Some((history, codec));
                    }
                    // A keyed table's writes through `since` collapse to each key's last one:
                    // its history is advanced whole.
                    StoredKind::Keyed => match history.decode(codec) {
                        Ok(mut decoded) => {
                            codec.advance(decoded.as_mut(), state.clock.since());
                            shares = codec.split(decoded, workers).into_iter().map(Replay::Whole).collect();
                        }
                        Err(error) => {
                            store.give_back(history);
                            return Err(error);
                        }
                    },
                }
            }
            shares.resize_with(workers, || Replay::Nothing);
            // A view attaches held to every streamed table with rows, to be backfilled from the
            // files; without storage, a view that reads one is refused below.
            let streams = if table.is_none() { state.catalog.streams_with_rows() } else { Vec::new() };
            let held = match state.store {
                Some(_) => streams.iter().map(|(_, entry)| entry.id).collect(),
                None => BTreeSet::new(),
            };
            let id = state.next_id();
            // Views answer once built on each worker (a definition may fail); tables cannot fail.
            let (built, answers) = crossbeam_channel::unbounded();
            let built = table.is_none().then_some(built);
            let waits = built.is_some();
            let (remote, acks) = match self.acknowledgements() {
                Some((request, receiver, acks)) => (Some((request, receiver)), Some(acks)),
                None => (None, None),
            };
            let operation = Operation::Create {
                id,
                name: name.to_string(),
                kind: Arc::clone(&kind),
                shares,
                held,
                built,
                remote,
            };
            self.dispatch(state, operation)?;
            let mut reads = BTreeSet::new();
            if waits {
                let mut outcome = Ok(());
                for _ in 0..workers {
                    match answers.recv().map_err(|_| Error::Shutdown)? {
                        Ok(read) => reads.extend(read),
                        Err(error) => outcome = outcome.and(Err(error)),
                    }
                }
                outcome?;
            }
            if let Some(acks) = acks {
                self.await_acknowledgements(state, acks)?;
            }
            if let Some((history, codec)) = in_batches
                && let Err(error) = self.replay_in_batches(state, (id, id), &history, codec)
            {
                self.dispatch(state, Operation::Drop { id, name: name.to_string() })?;
                if let Some(store) = state.store.as_mut() {
                    store.give_back(history);
                }
                return Err(error);
            }
            let backfills: Vec<_> =
                streams.into_iter().filter(|(_, entry)| reads.contains(&entry.id)).collect();
            if let Err(error) = self.backfill(state, id, backfills) {
                self.dispatch(state, Operation::Drop { id, name: name.to_string() })?;
                return Err(error);
            }
            if empty_stream {
                state.catalog.empty_stream(id);
            }
            state.catalog.insert(name, Entry { id, kind, reads });
            Ok(id)
        })?;
        // A process other than 0 has new work for its waiting workers.
        self.wake_workers();
        Ok(id)
    }

    /// Replays the stored history of each of `streams` (streamed tables that rows reached)
    /// into view `reader`, which attached to them held at `since`: every row through the last
    /// commit, times before `since` advanced to it, each worker its share, then a last
    /// (empty) share to every worker, which releases its attachments. Fails with
    /// [`Error::NotKept`] without storage.
    ///
    /// The history goes out in batches ([`Coordinator::replay_in_batches`]).
    fn backfill(&self, state: &State, reader: SourceId, streams: Vec<(String, Entry)>) -> Result<()> {
        let Some((name, _)) = streams.first() else { return Ok(()) };
        let Some(store) = state.store.as_ref() else {
            return Err(Error::NotKept { name: name.clone(), reason: NO_STORAGE });
        };
        let (last, since) = (state.clock.last(), state.clock.since());
        let files = store.history_files(last)?.ok_or_else(|| Error::Compacted {
            name: name.clone(),
            requested: last,
            since: store.checkpoint_time().unwrap_or(since),
        })?;
        for (name, entry) in streams {
            let (_, codec) = entry.kind.stored().expect("a streamed table is stored");
            let history = history_through(&files, last, (&name, entry.kind.row().name()))?;
            self.replay_in_batches(state, (reader, entry.id), &history, codec)?;
        }
        Ok(())
    }

    /// Sends the stored `history` of bag table `table` (kept or streamed) to `reader` (a view
    /// attached to it held, or the kept table itself), each worker its share, then a last
    /// (empty) share to every worker, which releases the held inputs.
    ///
    /// The history goes out in batches of [`BACKFILL_BATCH`] rows as it is decoded: the
    /// workers take in one batch while this thread decodes the next, and no copy of the whole
    /// history is ever held here. Each batch is advanced to `since` and consolidated on its
    /// own, which for a bag (each update advanced alone) is what the whole would be.
    fn replay_in_batches(
        &self,
        state: &State,
        (reader, table): (SourceId, SourceId),
        history: &StoredHistory,
        codec: &dyn TableCodec,
    ) -> Result<()> {
        let since = state.clock.since();
        history.for_each_batch(codec, BACKFILL_BATCH, |mut rows| {
            codec.advance(rows.as_mut(), since);
            let shares = codec.split(rows, state.workers());
            self.dispatch(state, Operation::Backfill { reader, stream: table, shares, release: false })?;
            Ok(())
        })?;
        let shares = (0..state.workers()).map(|_| codec.empty_history()).collect();
        self.dispatch(state, Operation::Backfill { reader, stream: table, shares, release: true })?;
        Ok(())
    }

    /// The source `name`, which must exist as a `noun` with rows `row`: its id and kind.
    pub(crate) fn open(
        &self,
        name: &str,
        noun: &'static str,
        row: RowType,
    ) -> Result<(SourceId, Arc<dyn Kind>)> {
        self.sequence(|state| {
            let entry = state.catalog.open(name, noun, row)?;
            Ok((entry.id, Arc::clone(&entry.kind)))
        })
    }

    /// On process 0 of a cluster: a request, its receiver and the channel where it gathers
    /// every other worker's acknowledgement. `None` outside a cluster.
    #[allow(clippy::type_complexity)]
    fn acknowledgements(
        &self,
    ) -> Option<(u64, Box<dyn Receiver>, crossbeam_channel::Receiver<(usize, Result<()>)>)> {
        let remaining = self.role.remote_workers();
        if remaining == 0 {
            return None;
        }
        let (reply, acks) = crossbeam_channel::unbounded();
        let receiver = DoneReceiver { reply, remaining };
        Some((next_request(), Box::new(receiver), acks))
    }

    /// Waits (at most the peer timeout) until each worker of the other processes acknowledged
    /// a creation. A refusal or a silence fails the whole engine with the error returned: the
    /// processes no longer agree on what exists.
    fn await_acknowledgements(
        &self,
        state: &State,
        acks: crossbeam_channel::Receiver<(usize, Result<()>)>,
    ) -> Result<()> {
        let Role::Leader { remote_workers, peer_timeout, .. } = &self.role else { return Ok(()) };
        let deadline = std::time::Instant::now() + *peer_timeout;
        let local = state.workers();
        let mut answered: Vec<bool> = (0..self.peers()).map(|worker| worker < local).collect();
        for _ in 0..*remote_workers {
            let outcome = match acks.recv_deadline(deadline) {
                Ok((worker, result)) => {
                    if let Some(done) = answered.get_mut(worker) {
                        *done = true;
                    }
                    result
                }
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                    let silent = answered.iter().position(|done| !done).unwrap_or(0);
                    Err(Error::ClusterMismatch {
                        process: silent / local,
                        detail: format!(
                            "it did not register the same table or view within {peer_timeout:?} \
                             (every process must register the same tables and views, in the same \
                             order, before calling serve)"
                        ),
                    })
                }
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => Err(self.health.terminal_error()),
            };
            if let Err(error) = outcome {
                self.health.fail_with(error.clone());
                return Err(error);
            }
        }
        Ok(())
    }
}

/// On a process other than 0: records what the application registered under `id`, for the
/// workers to build when process 0's control for it arrives.
fn register(registrations: &Mutex<Registrations>, id: SourceId, name: &str, kind: Arc<dyn Kind>) {
    let registration = Registration { name: name.to_string(), kind };
    registrations.lock().unwrap_or_else(|e| e.into_inner()).entries.insert(id, registration);
}
