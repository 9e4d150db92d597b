//! The names of an engine's tables and views, each with the one object of its kind.
//!
//! The catalog lives in the coordinator, under its lock. It is what turns "create or reopen by
//! name" into typed errors: a name held by something else, or reopened with another row type,
//! is refused before anything reaches the workers.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::protocol::SourceId;
use crate::shard::kind::{Kind, RowType};

/// One named table or view.
#[derive(Clone)]
pub(crate) struct Entry {
    pub(crate) id: SourceId,
    /// What it is: builds it, reads it, stores it (a view's holds its definition).
    pub(crate) kind: Arc<dyn Kind>,
}

/// Every name of one engine.
#[derive(Default)]
pub(crate) struct Catalog {
    entries: BTreeMap<String, Entry>,
}

impl Catalog {
    /// The entry `name` if it exists as a `noun` with this row type; `None` if the name is
    /// free. Fails if the name is not a valid name, or holds another kind or row type.
    pub(crate) fn find(&self, name: &str, noun: &'static str, row: RowType) -> Result<Option<&Entry>> {
        crate::name::check(name)?;
        let Some(entry) = self.entries.get(name) else {
            return Ok(None);
        };
        if entry.kind.noun() != noun {
            return Err(Error::KindMismatch {
                name: name.to_string(),
                existing: entry.kind.noun(),
                requested: noun,
            });
        }
        if !entry.kind.row().is(row) {
            return Err(Error::TypeMismatch {
                name: name.to_string(),
                expected: entry.kind.row().name(),
                found: row.name(),
            });
        }
        Ok(Some(entry))
    }

    /// The entry `name`, which must exist as a `noun` with this row type.
    pub(crate) fn open(&self, name: &str, noun: &'static str, row: RowType) -> Result<&Entry> {
        self.find(name, noun, row)?.ok_or_else(|| Error::UnknownName { kind: noun, name: name.to_string() })
    }

    /// Fails if `name` is not a valid name or is taken by anything.
    pub(crate) fn check_free(&self, name: &str) -> Result<()> {
        crate::name::check(name)?;
        match self.entries.get(name) {
            Some(entry) => Err(Error::DuplicateName { name: name.to_string(), existing: entry.kind.noun() }),
            None => Ok(()),
        }
    }

    /// Every table (every source that is stored): name and entry, in id order.
    pub(crate) fn tables(&self) -> Vec<(String, Entry)> {
        let mut tables: Vec<_> = self
            .entries
            .iter()
            .filter(|(_, entry)| entry.kind.stored().is_some())
            .map(|(name, entry)| (name.clone(), entry.clone()))
            .collect();
        tables.sort_by_key(|(_, entry)| entry.id);
        tables
    }

    /// The kind of source `id`.
    pub(crate) fn kind_of(&self, id: SourceId) -> Option<Arc<dyn Kind>> {
        self.entries.values().find(|entry| entry.id == id).map(|entry| Arc::clone(&entry.kind))
    }

    pub(crate) fn insert(&mut self, name: &str, entry: Entry) {
        self.entries.insert(name.to_string(), entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definition::Definition;
    use crate::source::bag_table::BagTable;
    use crate::source::row_view::RowView;

    fn table(id: SourceId) -> Entry {
        Entry { id, kind: Arc::new(BagTable::<u32>::new()) }
    }

    #[test]
    fn reopen_with_same_type_finds_the_entry() {
        let mut catalog = Catalog::default();
        catalog.insert("t", table(7));
        let entry = catalog.find("t", "table", RowType::of::<u32>()).unwrap().unwrap();
        assert_eq!(entry.id, 7);
        assert!(catalog.find("u", "table", RowType::of::<u32>()).unwrap().is_none());
        assert_eq!(catalog.tables().len(), 1);
    }

    #[test]
    fn reopen_with_other_type_or_kind_is_refused() {
        let mut catalog = Catalog::default();
        catalog.insert("t", table(1));
        let view = RowView::new(Definition::<u32>::new(|v| v.constant([1])));
        catalog.insert("v", Entry { id: 2, kind: Arc::new(view) });
        assert!(matches!(catalog.find("t", "table", RowType::of::<u64>()), Err(Error::TypeMismatch { .. })));
        assert!(matches!(
            catalog.find("t", "view", RowType::of::<u32>()),
            Err(Error::KindMismatch { existing: "table", requested: "view", .. })
        ));
        assert!(matches!(catalog.check_free("t"), Err(Error::DuplicateName { .. })));
        assert!(matches!(
            catalog.open("nope", "view", RowType::of::<u32>()),
            Err(Error::UnknownName { kind: "view", .. })
        ));
        assert_eq!(catalog.tables().len(), 1, "views are not tables");
        assert_eq!(catalog.kind_of(2).map(|kind| kind.noun()), Some("view"));
    }
}
