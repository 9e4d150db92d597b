//! A streamed table on a worker: its writes flow straight into the views that read it, and
//! nothing is kept.
//!
//! An arranged table keeps every row it holds in a trace that views import. A streamed table
//! keeps no trace: each view that reads it gets its own timely input in its own dataflow (an
//! *attachment*), and the worker hands every write to every attachment, moving the rows into
//! the last one and cloning them for the others. Progress is the table's: `advance` moves
//! every attachment to the commit's upper. A view's memory is then what its own operators
//! keep, as in a hand-written differential program fed by an input handle.
//!
//! A view created after rows arrived cannot import them from memory: the coordinator attaches
//! it *held* at `since` (its input stays there) and then sends the stored history, which
//! [`Fanout::backfill`] replays into the held attachment, batch by batch, before moving it to
//! the upper (see `coordinator/create.rs`). Without storage such a view is refused.

use std::any::Any;
use std::cell::RefCell;
use std::rc::Rc;

use differential_dataflow::{AsCollection, VecCollection};
use timely::dataflow::operators::vec::Input as _;
use timely::dataflow::{InputHandleVec, Scope};

use super::arrangement::{ArrangementState, Compaction};
use super::input::TableInput;
use crate::protocol::SourceId;
use crate::protocol::stats::TraceStats;
use crate::row::Row;
use crate::time::{Diff, Time};

/// One view's input from a streamed table.
struct Attachment<R: Row> {
    /// The view whose dataflow holds the input.
    reader: SourceId,
    handle: InputHandleVec<Time, (R, Time, Diff)>,
    /// Kept at `since` until the view's backfill arrives.
    held: bool,
}

/// The shared state of one streamed table's shard: its attachments and its progress.
struct Inner<R: Row> {
    attachments: Vec<Attachment<R>>,
    /// Every write is at or after this time (the last `advance`).
    upper: Time,
}

/// One worker's shard of a streamed table, as views attach to it (the registry's "trace" of
/// the source) and as the worker writes to it (its input). Cheap to clone.
pub(crate) struct Fanout<R: Row>(Rc<RefCell<Inner<R>>>);

impl<R: Row> Clone for Fanout<R> {
    fn clone(&self) -> Self {
        Fanout(Rc::clone(&self.0))
    }
}

impl<R: Row> Fanout<R> {
    /// A shard with no attachment yet, complete before `upper`.
    pub(crate) fn new(upper: Time) -> Self {
        Fanout(Rc::new(RefCell::new(Inner { attachments: Vec::new(), upper })))
    }

    /// A new input in `scope` (view `reader`'s dataflow) that receives every later write; held
    /// at `hold` (the engine's `since`) for a backfill if given, otherwise at the current upper.
    pub(crate) fn attach<'s>(
        &self,
        scope: Scope<'s, Time>,
        reader: SourceId,
        hold: Option<Time>,
    ) -> VecCollection<'s, Time, R, Diff> {
        let mut handle = InputHandleVec::new();
        let stream = scope.input_from(&mut handle);
        let mut inner = self.0.borrow_mut();
        handle.advance_to(hold.unwrap_or(inner.upper));
        inner.attachments.push(Attachment { reader, handle, held: hold.is_some() });
        stream.as_collection()
    }
}

impl<R: Row> TableInput for Fanout<R> {
    fn write(&mut self, time: Time, writes: Box<dyn Any + Send>) {
        let mut writes = *writes.downcast::<Vec<(R, Time, Diff)>>().expect("writes match the table type");
        for update in writes.iter_mut() {
            update.1 = time;
        }
        let mut inner = self.0.borrow_mut();
        if let Some((last, others)) = inner.attachments.split_last_mut() {
            for attachment in others {
                attachment.handle.send_batch(&mut writes.clone());
            }
            last.handle.send_batch(&mut writes);
        }
    }

    fn advance(&mut self, upper: Time) {
        let mut inner = self.0.borrow_mut();
        inner.upper = upper;
        for attachment in inner.attachments.iter_mut().filter(|a| !a.held) {
            attachment.handle.advance_to(upper);
            attachment.handle.flush();
        }
    }

    fn replay(&mut self, _history: Box<dyn Any + Send>) {
        // A streamed table keeps no rows to replay: views get its history by backfill.
    }

    fn backfill(&mut self, reader: SourceId, rows: Box<dyn Any + Send>, release: bool) {
        let mut rows = *rows.downcast::<Vec<(R, Time, Diff)>>().expect("history matches the table type");
        let mut inner = self.0.borrow_mut();
        let upper = inner.upper;
        let held: Vec<&mut Attachment<R>> =
            inner.attachments.iter_mut().filter(|a| a.reader == reader && a.held).collect();
        let count = held.len();
        for (index, attachment) in held.into_iter().enumerate() {
            if !rows.is_empty() {
                if index + 1 == count {
                    attachment.handle.send_batch(&mut rows);
                } else {
                    attachment.handle.send_batch(&mut rows.clone());
                }
            }
            if release {
                attachment.held = false;
                attachment.handle.advance_to(upper);
            }
            attachment.handle.flush();
        }
    }

    fn forget(&mut self, reader: SourceId) {
        self.0.borrow_mut().attachments.retain(|a| a.reader != reader);
    }
}

/// A streamed table's shard as the worker loop sees an arrangement: its "trace" is the
/// [`Fanout`] views attach to; it holds nothing, so it has nothing to compact or count.
pub(crate) struct StreamState<R: Row> {
    fanout: Fanout<R>,
}

impl<R: Row> StreamState<R> {
    pub(crate) fn new(fanout: Fanout<R>) -> Self {
        StreamState { fanout }
    }
}

impl<R: Row> ArrangementState for StreamState<R> {
    fn trace(&self) -> &dyn Any {
        &self.fanout
    }

    fn trace_mut(&mut self) -> &mut dyn Any {
        &mut self.fanout
    }

    fn upper(&mut self) -> Option<Time> {
        Some(self.fanout.0.borrow().upper)
    }

    fn compact(&mut self, _since: Time) -> Compaction {
        Compaction { moved: false, upper: self.upper() }
    }

    fn stats(&mut self) -> TraceStats {
        TraceStats::not_kept(self.upper())
    }
}
