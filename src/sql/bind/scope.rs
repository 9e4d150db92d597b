//! Names in scope while binding: the columns a `FROM` clause makes visible, and the tables and
//! views a query can name.

use std::sync::Arc;

use sqlparser::ast::{Ident, ObjectName, ObjectNamePart, Spanned};

use crate::sql::error::{Position, SqlError, SqlResult};
use crate::sql::plan::Column;
use crate::sql::source::Source;

/// The tables and views a statement can name.
pub(crate) trait Tables {
    /// The source called `name` (normalized) and its columns.
    fn lookup(&self, name: &str) -> Option<(Arc<Source>, Vec<Column>)>;
}

/// A name as SQL means it: unquoted names are case-insensitive (folded to lower case), quoted
/// ones are kept as written.
pub(crate) fn normalize(ident: &Ident) -> String {
    if ident.quote_style.is_some() { ident.value.clone() } else { ident.value.to_lowercase() }
}

/// The one-part name of a table or view; a schema-qualified name is refused.
pub(crate) fn object_name(name: &ObjectName) -> SqlResult<String> {
    match name.0.as_slice() {
        [ObjectNamePart::Identifier(ident)] => Ok(normalize(ident)),
        _ => Err(SqlError::Unsupported {
            what: format!("the qualified name {name} (tables and views have one-part names)"),
            at: Position::of(name.span()),
        }),
    }
}

/// The columns visible to an expression, in the order of the row it is evaluated over.
#[derive(Clone, Debug, Default)]
pub(crate) struct Scope {
    pub(crate) columns: Vec<Column>,
    /// The scalar subqueries joined to the rows, by their text: the column of the value (the
    /// next one holds how many rows the subquery had).
    pub(crate) subqueries: Vec<(String, usize)>,
}

impl Scope {
    pub(crate) fn new(columns: Vec<Column>) -> Scope {
        Scope { columns, subqueries: Vec::new() }
    }

    /// The position of the column `name`, qualified by `qualifier` if given.
    pub(crate) fn resolve(&self, qualifier: Option<&str>, name: &str, at: Position) -> SqlResult<usize> {
        let mut found =
            self.columns.iter().enumerate().filter(|(_, c)| {
                c.name == name && qualifier.is_none_or(|q| c.qualifier.as_deref() == Some(q))
            });
        let written = || match qualifier {
            Some(q) => format!("{q}.{name}"),
            None => name.to_string(),
        };
        match (found.next(), found.next()) {
            (Some((position, _)), None) => Ok(position),
            (Some(_), Some(_)) => Err(SqlError::AmbiguousColumn { name: written(), at }),
            (None, _) => Err(SqlError::UnknownColumn { name: written(), at }),
        }
    }

    /// The positions of the columns of table `qualifier` (`t.*`), or of every column (`*`);
    /// never the binder's own (qualified `#...`: hidden sort keys, row numbers).
    pub(crate) fn star(&self, qualifier: Option<&str>) -> Vec<usize> {
        (0..self.columns.len())
            .filter(|i| {
                let own = self.columns[*i].qualifier.as_deref();
                !own.is_some_and(|o| o.starts_with('#')) && qualifier.is_none_or(|q| own == Some(q))
            })
            .collect()
    }

    /// This scope's columns followed by `other`'s.
    pub(crate) fn join(&self, other: &Scope) -> Scope {
        Scope {
            columns: self.columns.iter().chain(&other.columns).cloned().collect(),
            subqueries: Vec::new(),
        }
    }
}
