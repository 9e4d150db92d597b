//! A view: the rows its definition returns, arranged whole (or, for a streamed view, not
//! arranged at all: its changes only reach subscribers).

use crate::definition::Definition;
use crate::error::Result;
use crate::row::Row;
use crate::shard::kind::{Site, SourceKind};
use crate::shard::layout::RowTrace;
use crate::shard::registry::Shard;
use crate::shard::sorted_runs::arrange_rows;

/// The kind of a view of rows `R`; holds the view's definition.
pub(crate) struct RowView<R: 'static> {
    pub(crate) definition: Definition<R>,
    /// False for a streamed view: its result is not kept (`Engine::streamed_view`).
    pub(crate) kept: bool,
}

impl<R: Row> RowView<R> {
    pub(crate) fn new(definition: Definition<R>) -> Self {
        RowView { definition, kept: true }
    }

    /// A streamed view: subscriptions get its changes, nothing keeps its rows.
    pub(crate) fn streamed(definition: Definition<R>) -> Self {
        RowView { definition, kept: false }
    }
}

impl<R: Row> SourceKind for RowView<R> {
    type Trace = RowTrace<R>;
    const NOUN: &'static str = "view";

    fn build(&self, site: Site<'_>) -> Result<Shard> {
        match self.kept {
            true => super::view_dataflow::build(site, |views, name| {
                arrange_rows(self.definition.build(views), name)
            }),
            false => super::view_dataflow::build_streamed(site, |views| self.definition.build(views)),
        }
    }

    fn keeps_rows(&self) -> bool {
        self.kept
    }
}
