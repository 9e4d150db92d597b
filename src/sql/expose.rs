//! Rust tables and views exposed to SQL: [`SqlBuilder`] names them before the catalog opens, so
//! that SQL views may read them (and stored SQL views over them are made again on reopen).

use std::sync::Arc;

use crate::engine::Engine;
use crate::row::Row;
use crate::sql::catalog::Entry;
use crate::sql::encode::{columns_of, columns_of_row};
use crate::sql::error::SqlResult;
use crate::sql::session::Sql;
use crate::sql::source::{ReadRows, Source};
use crate::table::Table;
use crate::view::View;

/// Opens an [`Sql`] with Rust tables and views it can read (from [`Sql::builder`]).
///
/// A Rust row type is exposed by its serde derive: a struct with named fields, each a boolean,
/// an integer (a `u64` above `i64::MAX` is an error of that row, in the queries that read that
/// column), a float, a string, bytes, or an option of one; the columns are its fields,
/// lower-cased, in order. SQL reads them and never writes them; a query converts only the
/// columns it reads.
///
/// ```
/// use ivm::{Config, Engine};
/// use ivm::sql::Sql;
/// #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
/// struct Person { id: u32, name: String, age: Option<u8> }
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let engine = Engine::start(Config::default())?;
/// let people = engine.table::<Person>("people")?;
/// let sql = Sql::builder(&engine).table(&people).open()?;
/// sql.execute("CREATE VIEW adults AS SELECT name FROM people WHERE age >= 18")?;
/// engine.commit(|tx| {
///     tx.insert(&people, Person { id: 1, name: "ada".into(), age: Some(36) });
///     tx.insert(&people, Person { id: 2, name: "tim".into(), age: Some(9) });
/// })?;
/// assert_eq!(sql.query("SELECT * FROM adults")?.decode::<String>()?, vec!["ada".to_string()]);
/// # Ok(()) }
/// ```
pub struct SqlBuilder<'e> {
    engine: &'e Engine,
    exposed: SqlResult<Vec<(String, Entry, Source)>>,
}

impl std::fmt::Debug for SqlBuilder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.exposed.iter().flatten().map(|(name, _, _)| name.as_str()).collect();
        f.debug_struct("SqlBuilder").field("exposed", &names).finish()
    }
}

impl Sql {
    /// An [`Sql`] to open with Rust tables and views exposed to it.
    pub fn builder(engine: &Engine) -> SqlBuilder<'_> {
        SqlBuilder { engine, exposed: Ok(Vec::new()) }
    }
}

impl SqlBuilder<'_> {
    /// Exposes the Rust table `table` under its name.
    pub fn table<T: Row>(self, table: &Table<T>) -> Self {
        let handle = table.clone();
        let read: Arc<ReadRows> = Arc::new(move |views, needed| {
            views.table_converted(&handle, move |row| columns_of_row(row, needed.as_deref()))
        });
        self.expose::<T>(table.name(), read)
    }

    /// Exposes the Rust view `view` under its name.
    pub fn view<T: Row>(self, view: &View<T>) -> Self {
        let handle = view.clone();
        let read: Arc<ReadRows> = Arc::new(move |views, needed| {
            views.view_converted(&handle, move |row| columns_of_row(row, needed.as_deref()))
        });
        self.expose::<T>(view.name(), read)
    }

    fn expose<T: Row>(mut self, name: &str, read: Arc<ReadRows>) -> Self {
        if let Ok(exposed) = &mut self.exposed {
            match columns_of::<T>(name) {
                Ok(columns) => {
                    let source = Source::Rust { name: name.to_string(), read };
                    exposed.push((name.to_string(), Entry::Rust { columns }, source));
                }
                Err(error) => self.exposed = Err(error),
            }
        }
        self
    }

    /// Opens the [`Sql`] (see [`Sql::open`]); fails if a row type cannot be exposed
    /// ([`SqlError::Unsupported`](crate::sql::SqlError::Unsupported), naming the field).
    pub fn open(self) -> SqlResult<Sql> {
        Sql::open_with(self.engine, self.exposed?)
    }
}
