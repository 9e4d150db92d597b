//! What a query can read: the engine's SQL tables (bag or keyed), SQL views, and Rust tables
//! exposed to SQL, each turned into a collection of [`SqlRow`]s in a definition's scope.

use std::fmt;
use std::sync::Arc;

use differential_dataflow::VecCollection;
use serde::{Deserialize, Serialize};

use crate::definition::Views;
use crate::sql::error::EvalError;
use crate::sql::fork::apart;
use crate::sql::packed::PackedRow;
use crate::sql::value::SqlRow;
use crate::table::{KeyedTable, Table};
use crate::time::{Diff, Time};
use crate::view::View;

/// What an SQL view holds: its rows, packed, and an error for each row it could not compute (a
/// division by zero, an overflow). Reads of the view through [`Sql`](crate::sql::Sql) fail
/// while it holds an error.
///
/// A Rust program that opens an SQL view ([`Engine::open_view`](crate::Engine::open_view))
/// reads these; [`Computed::row`] unpacks a row.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Computed {
    /// A row of the view.
    Row(PackedRow),
    /// A row that could not be computed.
    Error(EvalError),
}

impl Computed {
    /// The row's values, if this is a row.
    pub fn row(&self) -> Option<SqlRow> {
        match self {
            Computed::Row(row) => Some(row.values()),
            Computed::Error(_) => None,
        }
    }

    /// The row's values, or the error.
    pub fn into_result(self) -> Result<SqlRow, EvalError> {
        match self {
            Computed::Row(row) => Ok(row.values()),
            Computed::Error(error) => Err(error),
        }
    }
}

/// Rows in a definition's scope.
pub(crate) type Rows<'s, D> = VecCollection<'s, Time, D, Diff>;

/// A Rust table's or view's rows as SQL rows (or the error of a row that does not fit), in a
/// definition's scope; with a mask of the columns needed, the others `NULL`.
pub(crate) type ReadRows =
    dyn for<'s> Fn(&Views<'s>, Option<Needed>) -> Rows<'s, Result<SqlRow, EvalError>> + Send + Sync;

/// Which columns of a source a query reads (`true` for each one it does).
pub(crate) type Needed = Arc<[bool]>;

/// A table or view a query reads.
pub(crate) enum Source {
    /// A table without a primary key.
    Table { name: String, table: Table<SqlRow> },
    /// A table with a primary key, stored as `(key columns, other columns)`; `key` holds the
    /// key columns' positions in the row.
    Keyed { name: String, table: KeyedTable<SqlRow, SqlRow>, key: Vec<usize> },
    /// An SQL view.
    View { name: String, view: View<Computed> },
    /// A Rust table or view exposed to SQL: its rows converted by `read`.
    Rust { name: String, read: Arc<ReadRows> },
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Source({})", self.name())
    }
}

impl Source {
    pub(crate) fn name(&self) -> &str {
        match self {
            Source::Table { name, .. }
            | Source::Keyed { name, .. }
            | Source::View { name, .. }
            | Source::Rust { name, .. } => name,
        }
    }

    /// The source's rows, and (for a view) the errors it holds, in `views`' scope. With
    /// `needed`, the columns it does not mark may be `NULL` (a Rust source then never converts
    /// them).
    pub(crate) fn read<'s>(
        &self,
        views: &Views<'s>,
        needed: Option<Needed>,
    ) -> (Rows<'s, SqlRow>, Option<Rows<'s, EvalError>>) {
        match self {
            Source::Table { table, .. } => (views.table(table), None),
            Source::Keyed { table, key, .. } => {
                let key = key.clone();
                (views.keyed_table(table).map(move |(k, rest)| assemble(&key, k, rest)), None)
            }
            Source::View { view, .. } => {
                let (rows, errors) = apart(views.view(view), Computed::into_result);
                (rows, Some(errors))
            }
            Source::Rust { read, .. } => {
                let (rows, errors) = apart(read(views, needed), |result| result);
                (rows, Some(errors))
            }
        }
    }
}

/// A keyed table's row from its key columns (at positions `key`) and its other columns.
pub(crate) fn assemble(key: &[usize], k: SqlRow, rest: SqlRow) -> SqlRow {
    let width = k.len() + rest.len();
    let mut row = Vec::with_capacity(width);
    let (mut k, mut rest) = (k.into_iter(), rest.into_iter());
    for position in 0..width {
        let next = if key.contains(&position) { k.next() } else { rest.next() };
        row.push(next.unwrap_or(crate::sql::value::Value::Null));
    }
    row
}

/// A row split into its key columns (at positions `key`) and its other columns.
pub(crate) fn split(key: &[usize], row: SqlRow) -> (SqlRow, SqlRow) {
    let (mut k, mut rest) = (Vec::with_capacity(key.len()), Vec::new());
    for (position, value) in row.into_iter().enumerate() {
        if key.contains(&position) { k.push(value) } else { rest.push(value) }
    }
    (k, rest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::value::Value;

    #[test]
    fn keyed_rows_split_and_assemble_back() {
        let row = vec![Value::Int(1), Value::Text("a".into()), Value::Int(2)];
        let key = [2, 0];
        let (k, rest) = split(&key, row.clone());
        assert_eq!(k, vec![Value::Int(1), Value::Int(2)]);
        assert_eq!(rest, vec![Value::Text("a".into())]);
        assert_eq!(assemble(&key, k, rest), row);
    }
}
