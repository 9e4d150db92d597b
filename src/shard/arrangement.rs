//! One worker's shard of an arranged collection (a table or a view), with its read window.
//!
//! An arrangement is readable exactly at every time `t` with `since <= t < upper`. The engine
//! moves `since` forward with the retention policy (logical compaction) and lets differential
//! merge batches up to `upper` (physical compaction); both must advance or memory grows with
//! the number of commits. Reading below the trace's compaction frontier silently returns wrong
//! answers, so `since` is tracked here and checked before every read.

use std::any::Any;

use differential_dataflow::trace::implementations::spine_fueled::SpineBatch as _;
use timely::progress::Antichain;

use super::layout::Layout;
use crate::protocol::stats::TraceStats;
use crate::time::{Diff, Time};

/// What [`ArrangementState::compact`] did and saw.
pub(crate) struct Compaction {
    /// The compaction frontier moved.
    pub(crate) moved: bool,
    /// The shard's upper (`None` once closed).
    pub(crate) upper: Option<Time>,
}

/// A type-erased arrangement shard, as the worker loop sees it.
pub(crate) trait ArrangementState {
    /// The trace handle, for typed readers and imports (`&TraceAgent<..>`).
    fn trace(&self) -> &dyn Any;
    /// The trace handle, mutably, for typed readers.
    fn trace_mut(&mut self) -> &mut dyn Any;
    /// The first time not yet complete, or `None` once the arrangement is closed.
    fn upper(&mut self) -> Option<Time>;
    /// Allows forgetting distinctions between times before `since` (never moves backwards),
    /// and lets batches merge up to the current upper, which it reads once for the caller.
    fn compact(&mut self, since: Time) -> Compaction;
    /// How much the shard holds (see `protocol/stats.rs` for how each figure is gathered).
    fn stats(&mut self) -> TraceStats;
}

/// The one implementation of [`ArrangementState`], for any of the engine's spines.
pub(crate) struct Arrangement<Tr> {
    trace: Tr,
    since: Time,
    physical: Time,
}

impl<Tr: Layout> Arrangement<Tr> {
    /// Wraps a fresh trace handle, readable from `since`.
    pub(crate) fn new(mut trace: Tr, since: Time) -> Self {
        trace.set_logical_compaction(Antichain::from_elem(since).borrow());
        Arrangement { trace, since, physical: 0 }
    }
}

impl<Tr: Layout> ArrangementState for Arrangement<Tr> {
    fn trace(&self) -> &dyn Any {
        &self.trace
    }

    fn trace_mut(&mut self) -> &mut dyn Any {
        &mut self.trace
    }

    fn upper(&mut self) -> Option<Time> {
        let mut upper = Antichain::new();
        self.trace.read_upper(&mut upper);
        upper.as_option().copied()
    }

    fn compact(&mut self, since: Time) -> Compaction {
        let moved = since > self.since;
        if moved {
            self.since = since;
            self.trace.set_logical_compaction(Antichain::from_elem(since).borrow());
        }
        let upper = self.upper();
        match upper {
            Some(upper) if upper > self.physical => {
                self.physical = upper;
                self.trace.set_physical_compaction(Antichain::from_elem(upper).borrow());
            }
            Some(_) => {}
            None => self.trace.set_physical_compaction(Antichain::new().borrow()),
        }
        Compaction { moved, upper }
    }

    fn stats(&mut self) -> TraceStats {
        let (mut batches, mut updates) = (0, 0);
        self.trace.map_spans(|span| {
            if let Some(batch) = &span.inner {
                batches += 1;
                updates += batch.len();
            }
        });
        TraceStats {
            batches,
            updates,
            rows: self.trace.rows(),
            bytes: updates * std::mem::size_of::<(Tr::Row, Time, Diff)>(),
            since: self.since,
            upper: self.upper().unwrap_or(Time::MAX),
            kept: true,
            ..TraceStats::default()
        }
    }
}
