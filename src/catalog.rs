//! The names of an engine's tables and views, with their kinds and row types.
//!
//! The catalog lives on the application side, under the sequencer lock. It is what turns
//! "create or reopen by name" into typed errors: a name held by something else, or reopened
//! with another row type, is refused before anything reaches the workers.

use std::any::{Any, TypeId};
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::persist::codec::TableCodec;
use crate::read::peek::TableHistory;
use crate::runtime::registry::SourceId;

/// What a name holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Table,
    KeyedTable,
    View,
    KeyedView,
}

impl Kind {
    /// The word users read in error messages.
    pub(crate) fn noun(self) -> &'static str {
        match self {
            Kind::Table => "table",
            Kind::KeyedTable => "keyed table",
            Kind::View => "view",
            Kind::KeyedView => "keyed view",
        }
    }
}

/// The row type of an entry, checked on every reopen.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowType {
    id: TypeId,
    name: &'static str,
}

impl RowType {
    pub(crate) fn of<T: 'static>() -> Self {
        RowType { id: TypeId::of::<T>(), name: std::any::type_name::<T>() }
    }

    /// The type's name, as stored and as shown in errors.
    pub(crate) fn name(&self) -> &'static str {
        self.name
    }
}

/// One named table or view.
pub(crate) struct Entry {
    pub(crate) id: SourceId,
    pub(crate) kind: Kind,
    pub(crate) row: RowType,
    /// A view's `Definition<R>`, so the view can be reopened by name.
    pub(crate) definition: Option<Arc<dyn Any + Send + Sync>>,
    /// A table's typed readers and codec.
    pub(crate) table: Option<TableParts>,
}

/// What the engine needs to read a table's history and to store it.
#[derive(Clone)]
pub(crate) struct TableParts {
    /// Reads the table's history, for batch runs and checkpoints.
    pub(crate) history: Arc<dyn TableHistory>,
    /// Encodes and decodes the table's rows for the log and checkpoints.
    pub(crate) codec: Arc<dyn TableCodec>,
}

/// Every name of one engine.
#[derive(Default)]
pub(crate) struct Catalog {
    entries: BTreeMap<String, Entry>,
}

impl Catalog {
    /// The entry `name` if it exists with this kind and row type; `None` if the name is free.
    /// Fails if the name is not a valid name, or holds another kind or row type.
    pub(crate) fn find(&self, name: &str, kind: Kind, row: RowType) -> Result<Option<&Entry>> {
        crate::name::check(name)?;
        let Some(entry) = self.entries.get(name) else {
            return Ok(None);
        };
        if entry.kind != kind {
            return Err(Error::KindMismatch {
                name: name.to_string(),
                existing: entry.kind.noun(),
                requested: kind.noun(),
            });
        }
        if entry.row.id != row.id {
            return Err(Error::TypeMismatch {
                name: name.to_string(),
                expected: entry.row.name,
                found: row.name,
            });
        }
        Ok(Some(entry))
    }

    /// The entry `name`, which must exist with this kind and row type.
    pub(crate) fn open(&self, name: &str, kind: Kind, row: RowType) -> Result<&Entry> {
        self.find(name, kind, row)?
            .ok_or_else(|| Error::UnknownName { kind: kind.noun(), name: name.to_string() })
    }

    /// Fails if `name` is not a valid name or is taken by anything.
    pub(crate) fn check_free(&self, name: &str) -> Result<()> {
        crate::name::check(name)?;
        match self.entries.get(name) {
            Some(entry) => Err(Error::DuplicateName { name: name.to_string(), existing: entry.kind.noun() }),
            None => Ok(()),
        }
    }

    /// Every table: name, id and typed parts, in id order.
    pub(crate) fn tables(&self) -> Vec<(String, SourceId, TableParts)> {
        let mut tables: Vec<_> = self
            .entries
            .iter()
            .filter_map(|(name, e)| e.table.as_ref().map(|parts| (name.clone(), e.id, parts.clone())))
            .collect();
        tables.sort_by_key(|(_, id, _)| *id);
        tables
    }

    pub(crate) fn insert(&mut self, name: &str, entry: Entry) {
        self.entries.insert(name.to_string(), entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(id: SourceId) -> Entry {
        Entry { id, kind: Kind::Table, row: RowType::of::<u32>(), definition: None, table: None }
    }

    #[test]
    fn reopen_with_same_type_finds_the_entry() {
        let mut catalog = Catalog::default();
        catalog.insert("t", table(7));
        let entry = catalog.find("t", Kind::Table, RowType::of::<u32>()).unwrap().unwrap();
        assert_eq!(entry.id, 7);
        assert!(catalog.find("u", Kind::Table, RowType::of::<u32>()).unwrap().is_none());
    }

    #[test]
    fn reopen_with_other_type_or_kind_is_refused() {
        let mut catalog = Catalog::default();
        catalog.insert("t", table(1));
        assert!(matches!(
            catalog.find("t", Kind::Table, RowType::of::<u64>()),
            Err(Error::TypeMismatch { .. })
        ));
        assert!(matches!(
            catalog.find("t", Kind::View, RowType::of::<u32>()),
            Err(Error::KindMismatch { existing: "table", requested: "view", .. })
        ));
        assert!(matches!(catalog.check_free("t"), Err(Error::DuplicateName { .. })));
        assert!(matches!(
            catalog.open("nope", Kind::View, RowType::of::<u32>()),
            Err(Error::UnknownName { kind: "view", .. })
        ));
    }
}
