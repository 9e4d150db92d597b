//! The SQL catalog: the tables and views SQL can name, with their columns, and the engine
//! objects behind them. Definitions are data: every `CREATE` that succeeds is kept, as its
//! text, in the engine table `ivm_sql_definitions`, so that reopening a storage directory
//! brings every SQL table and view back (`Sql::open` runs them again, in order). A `DROP` is
//! kept the same way, as `DROP TABLE name` or `DROP VIEW name`, and runs again in its turn.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::engine::Engine;
use crate::sql::bind::scope::Tables;
use crate::sql::error::SqlResult;
use crate::sql::plan::Column;
use crate::sql::source::{Computed, Source};
use crate::sql::value::SqlRow;
use crate::table::{KeyedTable, Table};
use crate::view::View;

/// The engine table that keeps the text of each `CREATE`, by sequence number.
pub(crate) const DEFINITIONS: &str = "ivm_sql_definitions";

/// How an SQL table's rows are stored.
#[derive(Clone)]
pub(crate) enum Storage {
    /// A bag of rows (no primary key).
    Bag(Table<SqlRow>),
    /// `(key columns, other columns)` pairs; `key` holds the key columns' positions.
    Keyed { table: KeyedTable<SqlRow, SqlRow>, key: Vec<usize> },
}

/// An SQL table: its columns, which of them refuse `NULL`, and its storage.
#[derive(Clone)]
pub(crate) struct SqlTable {
    pub(crate) columns: Vec<Column>,
    pub(crate) not_null: Vec<bool>,
    pub(crate) storage: Storage,
}

/// What a name in the catalog is.
#[derive(Clone)]
pub(crate) enum Entry {
    Table(SqlTable),
    View {
        view: View<Computed>,
        columns: Vec<Column>,
    },
    /// A Rust table or view exposed to SQL: read-only from SQL.
    Rust {
        columns: Vec<Column>,
    },
}

/// The catalog of one [`Sql`](crate::sql::Sql).
pub(crate) struct Catalog {
    entries: BTreeMap<String, (Entry, Arc<Source>)>,
    definitions: Table<(u64, String)>,
    next: u64,
}

impl Catalog {
    /// The catalog of `engine`, empty, with its definitions table (created or reopened).
    pub(crate) fn new(engine: &Engine) -> SqlResult<Catalog> {
        let definitions = engine.table::<(u64, String)>(DEFINITIONS)?;
        Ok(Catalog { entries: BTreeMap::new(), definitions, next: 0 })
    }

    /// The definitions kept so far, in the order they were made.
    pub(crate) fn stored_definitions(&self, engine: &Engine) -> SqlResult<Vec<(u64, String)>> {
        let mut stored: Vec<(u64, String)> = self.definitions.rows_at(engine.latest()?)?;
        stored.sort();
        Ok(stored)
    }

    /// Keeps the text of a `CREATE` or `DROP` that succeeded (unless it is being replayed).
    pub(crate) fn keep(&mut self, engine: &Engine, text: String) -> SqlResult<()> {
        let sequence = self.next;
        engine.commit(|tx| tx.insert(&self.definitions, (sequence, text)))?;
        self.next += 1;
        Ok(())
    }

    /// Notes that definitions up to `sequence` exist (after a replay).
    pub(crate) fn replayed(&mut self, sequence: u64) {
        self.next = self.next.max(sequence + 1);
    }

    pub(crate) fn contains(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }

    pub(crate) fn get(&self, name: &str) -> Option<&Entry> {
        self.entries.get(name).map(|(entry, _)| entry)
    }

    /// Forgets `name` (dropped from the engine).
    pub(crate) fn remove(&mut self, name: &str) {
        self.entries.remove(name);
    }

    /// Adds `name`; the caller checked that it is free.
    pub(crate) fn insert(&mut self, name: String, entry: Entry, source: Source) {
        self.entries.insert(name, (entry, Arc::new(source)));
    }

    /// The names and kinds of everything in the catalog, in name order.
    pub(crate) fn names(&self) -> Vec<(String, &'static str)> {
        self.entries
            .iter()
            .map(|(name, (entry, _))| {
                let kind = match entry {
                    Entry::Table(_) => "table",
                    Entry::View { .. } => "view",
                    Entry::Rust { .. } => "rust table",
                };
                (name.clone(), kind)
            })
            .collect()
    }
}

impl Tables for Catalog {
    fn lookup(&self, name: &str) -> Option<(Arc<Source>, Vec<Column>)> {
        let (entry, source) = self.entries.get(name)?;
        let columns = match entry {
            Entry::Table(table) => table.columns.clone(),
            Entry::View { columns, .. } | Entry::Rust { columns } => columns.clone(),
        };
        Some((Arc::clone(source), columns))
    }
}
