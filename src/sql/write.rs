//! Writes: the changes of `INSERT`, `UPDATE` and `DELETE` statements, gathered over one
//! transaction and committed as one engine transaction.
//!
//! A statement sees the rows of the transaction's earlier statements: a table's rows are read
//! (at the latest commit) the first time an `UPDATE` or `DELETE` needs them, and the
//! transaction's own changes are laid over them. `INSERT` into a table without a key reads
//! nothing; into a keyed table it reads only the keys it writes. Writers through one
//! [`Sql`](crate::sql::Sql) are serialized, so no two SQL transactions interleave.

use std::collections::{BTreeMap, HashMap};

use crate::engine::Engine;
use crate::sql::catalog::{SqlTable, Storage};
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::plan::Column;
use crate::sql::source::{assemble, split};
use crate::sql::types::cast;
use crate::sql::value::SqlRow;
use crate::time::{Diff, Time};

/// One table's changes in a transaction.
#[derive(Clone)]
enum Delta {
    Bag {
        base: Option<HashMap<SqlRow, Diff>>,
        changes: HashMap<SqlRow, Diff>,
    },
    Keyed {
        key: Vec<usize>,
        base: Option<BTreeMap<SqlRow, SqlRow>>,
        changes: BTreeMap<SqlRow, Option<SqlRow>>,
    },
}

/// The changes of a transaction so far.
#[derive(Clone, Default)]
pub(crate) struct Pending {
    tables: BTreeMap<String, (Storage, Delta)>,
}

impl Pending {
    pub(crate) fn is_empty(&self) -> bool {
        self.tables.values().all(|(_, delta)| match delta {
            Delta::Bag { changes, .. } => changes.values().all(|d| *d == 0),
            Delta::Keyed { changes, .. } => changes.is_empty(),
        })
    }

    fn delta(&mut self, name: &str, table: &SqlTable) -> &mut Delta {
        let (_, delta) = self.tables.entry(name.to_string()).or_insert_with(|| {
            let delta = match &table.storage {
                Storage::Bag(_) => Delta::Bag { base: None, changes: HashMap::new() },
                Storage::Keyed { key, .. } => {
                    Delta::Keyed { key: key.clone(), base: None, changes: BTreeMap::new() }
                }
            };
            (table.storage.clone(), delta)
        });
        delta
    }

    /// `row` checked against `table`'s columns: each value cast to its column's type, no `NULL`
    /// in a `NOT NULL` column.
    pub(crate) fn conform(
        name: &str,
        (columns, not_null): (&[Column], &[bool]),
        row: SqlRow,
    ) -> SqlResult<SqlRow> {
        if row.len() != columns.len() {
            return Err(SqlError::Constraint(format!(
                "{name} has {} columns, the row {}",
                columns.len(),
                row.len()
            )));
        }
        row.into_iter()
            .zip(columns)
            .zip(not_null)
            .map(|((value, column), not_null)| {
                if value.is_null() && *not_null {
                    return Err(SqlError::Constraint(format!("{name}.{} is NOT NULL", column.name)));
                }
                cast(value, column.ty)
                    .map_err(|error| SqlError::Constraint(format!("{name}.{}: {error}", column.name)))
            })
            .collect()
    }

    /// Adds `rows` (already conformed) to table `name`; a keyed table refuses a key it holds.
    pub(crate) fn insert(
        &mut self,
        engine: &Engine,
        name: &str,
        table: &SqlTable,
        rows: Vec<SqlRow>,
    ) -> SqlResult<usize> {
        let count = rows.len();
        match self.delta(name, table) {
            Delta::Bag { changes, .. } => {
                for row in rows {
                    *changes.entry(row).or_insert(0) += 1;
                }
            }
            Delta::Keyed { key, base, changes } => {
                let Storage::Keyed { table: keyed, .. } = &table.storage else {
                    unreachable!("a keyed delta")
                };
                let latest = engine.latest()?;
                let mut added: BTreeMap<SqlRow, Option<SqlRow>> = BTreeMap::new();
                for row in rows {
                    let (k, rest) = split(key, row);
                    let held = match (added.get(&k), changes.get(&k), base.as_ref()) {
                        (Some(v), _, _) => v.is_some(),
                        (None, Some(v), _) => v.is_some(),
                        (None, None, Some(base)) => base.contains_key(&k),
                        (None, None, None) => keyed.value(&k, latest)?.is_some(),
                    };
                    if held {
                        return Err(SqlError::Constraint(format!(
                            "{name} already holds the key {}",
                            show(&k)
                        )));
                    }
                    added.insert(k, Some(rest));
                }
                changes.extend(added);
            }
        }
        Ok(count)
    }

    /// Table `name`'s rows as this transaction sees them, with their multiplicities.
    pub(crate) fn rows(
        &mut self,
        engine: &Engine,
        name: &str,
        table: &SqlTable,
    ) -> SqlResult<Vec<(SqlRow, Diff)>> {
        let latest = engine.latest()?;
        Ok(match self.delta(name, table) {
            Delta::Bag { base, changes } => {
                if base.is_none() {
                    let Storage::Bag(bag) = &table.storage else { unreachable!("a bag delta") };
                    *base = Some(bag.at(latest)?.into_iter().collect());
                }
                let mut rows = base.clone().unwrap_or_default();
                for (row, diff) in changes.iter() {
                    *rows.entry(row.clone()).or_insert(0) += diff;
                }
                let mut rows: Vec<(SqlRow, Diff)> = rows.into_iter().filter(|(_, d)| *d > 0).collect();
                rows.sort();
                rows
            }
            Delta::Keyed { key, base, changes } => {
                if base.is_none() {
                    let Storage::Keyed { table: keyed, .. } = &table.storage else {
                        unreachable!("a keyed delta")
                    };
                    *base = Some(keyed.at(latest)?.into_iter().collect());
                }
                let mut rows = base.clone().unwrap_or_default();
                for (k, value) in changes.iter() {
                    match value {
                        Some(rest) => rows.insert(k.clone(), rest.clone()),
                        None => rows.remove(k),
                    };
                }
                rows.into_iter().map(|(k, rest)| (assemble(key, k, rest), 1)).collect()
            }
        })
    }

    /// Removes `count` copies of `old` from table `name` (an `UPDATE` then inserts the new
    /// rows, so that keys may move between rows).
    pub(crate) fn remove(&mut self, name: &str, table: &SqlTable, old: &SqlRow, count: Diff) {
        match self.delta(name, table) {
            Delta::Bag { changes, .. } => *changes.entry(old.clone()).or_insert(0) -= count,
            Delta::Keyed { key, changes, .. } => {
                changes.insert(split(key, old.clone()).0, None);
            }
        }
    }

    /// Commits every change as one engine transaction; `None` if there were none.
    pub(crate) fn commit(self, engine: &Engine) -> SqlResult<Option<Time>> {
        if self.is_empty() {
            return Ok(None);
        }
        let mut tx = engine.transaction();
        for (storage, delta) in self.tables.into_values() {
            match (storage, delta) {
                (Storage::Bag(table), Delta::Bag { changes, .. }) => {
                    for (row, diff) in changes.into_iter().filter(|(_, d)| *d != 0) {
                        tx.update(&table, row, diff);
                    }
                }
                (Storage::Keyed { table, .. }, Delta::Keyed { changes, .. }) => {
                    for (k, value) in changes {
                        match value {
                            Some(rest) => tx.upsert(&table, k, rest),
                            None => tx.delete_key(&table, k),
                        }
                    }
                }
                _ => unreachable!("a table's delta has its storage's kind"),
            }
        }
        Ok(Some(tx.commit()?))
    }
}

fn show(key: &SqlRow) -> String {
    let values: Vec<String> = key.iter().map(ToString::to_string).collect();
    format!("({})", values.join(", "))
}
