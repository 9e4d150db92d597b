//! The names of an engine's tables and views, each with the one object of its kind.
//!
//! The catalog lives in the coordinator, under its lock. It is what turns "create or reopen by
//! name" into typed errors: a name held by something else, or reopened with another row type,
//! is refused before anything reaches the workers. It also knows which views read each source,
//! so that nothing is dropped while a view reads it, and the names of what was dropped, so that
//! an old handle's call fails with the name it knew.

use std::collections::{BTreeMap, BTreeSet};
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
    /// The sources a view's definition reads (empty for a table).
    pub(crate) reads: BTreeSet<SourceId>,
}

/// Every name of one engine.
#[derive(Default)]
pub(crate) struct Catalog {
    entries: BTreeMap<String, Entry>,
    /// The name of each live source, by id: reads look their source up by id on every call.
    names: BTreeMap<SourceId, String>,
    /// The name each dropped source had, for the errors of handles made before the drop.
    dropped: BTreeMap<SourceId, String>,
    /// The streamed tables no row has reached yet (neither a commit nor the stored history):
    /// a view created over one needs no backfill.
    empty_streams: BTreeSet<SourceId>,
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

    /// Every live table and view: name and entry, in id order (the order they were created).
    pub(crate) fn sources(&self) -> Vec<(String, Entry)> {
        self.names.iter().filter_map(|(id, name)| Some((name.clone(), self.get(*id)?.clone()))).collect()
    }

    /// The name and entry of source `id`.
    pub(crate) fn entry_of(&self, id: SourceId) -> Option<(String, Entry)> {
        let name = self.names.get(&id)?;
        Some((name.clone(), self.entries.get(name)?.clone()))
    }

    /// The entry of live source `id`.
    fn get(&self, id: SourceId) -> Option<&Entry> {
        self.entries.get(self.names.get(&id)?)
    }

    /// The tables source `id` reads, directly or through the views it reads (itself, if it is
    /// a table): what a batch run of its definition needs. Name and entry, in id order.
    pub(crate) fn tables_under(&self, id: SourceId) -> Vec<(String, Entry)> {
        let mut seen = BTreeSet::new();
        let mut next = vec![id];
        while let Some(id) = next.pop() {
            if seen.insert(id)
                && let Some(entry) = self.get(id)
            {
                next.extend(entry.reads.iter().copied());
            }
        }
        self.tables().into_iter().filter(|(_, entry)| seen.contains(&entry.id)).collect()
    }

    /// The kind of source `id`.
    pub(crate) fn kind_of(&self, id: SourceId) -> Option<Arc<dyn Kind>> {
        self.get(id).map(|entry| Arc::clone(&entry.kind))
    }

    /// The kind of source `id` if it is a streamed source (its reads are not the workers').
    pub(crate) fn streamed_kind(&self, id: SourceId) -> Option<Arc<dyn Kind>> {
        self.get(id).filter(|entry| entry.kind.streamed()).map(|entry| Arc::clone(&entry.kind))
    }

    pub(crate) fn insert(&mut self, name: &str, entry: Entry) {
        let id = entry.id;
        if let Some(replaced) = self.entries.insert(name.to_string(), entry) {
            self.names.remove(&replaced.id);
        }
        self.names.insert(id, name.to_string());
    }

    /// Records that streamed table `id` has no rows yet.
    pub(crate) fn empty_stream(&mut self, id: SourceId) {
        self.empty_streams.insert(id);
    }

    /// True if `id` is a streamed table no row has reached yet.
    pub(crate) fn is_empty_stream(&self, id: SourceId) -> bool {
        self.empty_streams.contains(&id)
    }

    /// Records that a commit wrote to table `id` (cheap: most engines have no empty stream).
    pub(crate) fn wrote(&mut self, id: SourceId) {
        if !self.empty_streams.is_empty() {
            self.empty_streams.remove(&id);
        }
    }

    /// The streamed tables that rows have reached: a view created over one of them needs its
    /// stored history. Name and entry, in id order.
    pub(crate) fn streams_with_rows(&self) -> Vec<(String, Entry)> {
        let mut streams: Vec<_> = self
            .entries
            .iter()
            .filter(|(_, entry)| entry.kind.streamed() && entry.kind.stored().is_some())
            .filter(|(_, entry)| !self.empty_streams.contains(&entry.id))
            .map(|(name, entry)| (name.clone(), entry.clone()))
            .collect();
        streams.sort_by_key(|(_, entry)| entry.id);
        streams
    }

    /// Fails with [`Error::Dropped`] if source `id` was dropped (ids are never reused).
    pub(crate) fn check_live(&self, id: SourceId) -> Result<()> {
        match self.dropped.get(&id) {
            Some(name) => Err(Error::Dropped { name: name.clone() }),
            None => Ok(()),
        }
    }

    /// The entry `name`, which must exist as one of `nouns` (the first names it in errors), not
    /// be a table of an engine with storage (`stored`: its log keeps the rows), and not be read
    /// by any view: what can be dropped.
    pub(crate) fn droppable(&self, name: &str, nouns: &[&'static str], stored: bool) -> Result<&Entry> {
        crate::name::check(name)?;
        let entry = self
            .entries
            .get(name)
            .ok_or_else(|| Error::UnknownName { kind: nouns[0], name: name.to_string() })?;
        if !nouns.contains(&entry.kind.noun()) {
            return Err(Error::KindMismatch {
                name: name.to_string(),
                existing: entry.kind.noun(),
                requested: nouns[0],
            });
        }
        if stored && entry.kind.stored().is_some() {
            return Err(Error::StoredTable { name: name.to_string() });
        }
        let readers: Vec<String> = self
            .entries
            .iter()
            .filter(|(_, reader)| reader.reads.contains(&entry.id))
            .map(|(reader, _)| reader.clone())
            .collect();
        if !readers.is_empty() {
            return Err(Error::InUse { name: name.to_string(), readers });
        }
        Ok(entry)
    }

    /// Forgets `name` (the caller checked it with [`droppable`](Self::droppable)); its id is
    /// remembered as dropped.
    pub(crate) fn remove(&mut self, name: &str) {
        if let Some(entry) = self.entries.remove(name) {
            self.names.remove(&entry.id);
            self.empty_streams.remove(&entry.id);
            self.dropped.insert(entry.id, name.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definition::Definition;
    use crate::source::bag_table::BagTable;
    use crate::source::row_view::RowView;

    fn table(id: SourceId) -> Entry {
        Entry { id, kind: Arc::new(BagTable::<u32>::new()), reads: BTreeSet::new() }
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
        catalog.insert("v", Entry { id: 2, kind: Arc::new(view), reads: BTreeSet::from([1]) });
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

    #[test]
    fn a_source_that_a_view_reads_is_not_droppable_and_a_dropped_id_stays_dropped() {
        let mut catalog = Catalog::default();
        catalog.insert("t", table(1));
        let view = RowView::new(Definition::<u32>::new(|v| v.constant([1])));
        catalog.insert("v", Entry { id: 2, kind: Arc::new(view), reads: BTreeSet::from([1]) });
        let tables: &[&str] = &["table", "keyed table"];
        let views: &[&str] = &["view", "keyed view"];
        assert_eq!(
            catalog.droppable("t", tables, false).err(),
            Some(Error::InUse { name: "t".into(), readers: vec!["v".into()] })
        );
        assert_eq!(catalog.droppable("t", tables, true).err(), Some(Error::StoredTable { name: "t".into() }));
        assert!(matches!(
            catalog.droppable("v", tables, false),
            Err(Error::KindMismatch { existing: "view", .. })
        ));
        assert!(matches!(catalog.droppable("w", views, false), Err(Error::UnknownName { kind: "view", .. })));
        assert_eq!(catalog.droppable("v", views, true).map(|entry| entry.id).ok(), Some(2));
        catalog.remove("v");
        assert_eq!(catalog.check_live(2), Err(Error::Dropped { name: "v".into() }));
        assert_eq!(catalog.check_live(1), Ok(()));
        assert_eq!(catalog.droppable("t", tables, false).map(|entry| entry.id).ok(), Some(1));
        catalog.remove("t");
        assert!(catalog.check_free("t").is_ok(), "a dropped name is free again");
        assert_eq!(catalog.check_live(1), Err(Error::Dropped { name: "t".into() }));
        assert!(catalog.kind_of(1).is_none() && catalog.entry_of(2).is_none(), "the id index forgets them");
        catalog.insert("t", table(3));
        assert_eq!(
            catalog.entry_of(3).map(|(name, _)| name),
            Some("t".to_string()),
            "a new id under an old name"
        );
        assert!(catalog.tables_under(3).len() == 1 && catalog.streamed_kind(3).is_none());
    }
}
