//! [`Sql`], an engine's SQL front, and [`Connection`], a session with its own transaction:
//! each statement is parsed, bound against the catalog and turned into the engine's calls
//! (create a table or view, commit, read at a time, run a batch, subscribe).

use std::sync::{Arc, Mutex, MutexGuard};

use sqlparser::ast::{self, ColumnOption, Spanned, TableConstraint};

use crate::batch::{self, BatchInputs};
use crate::definition::Definition;
use crate::engine::Engine;
use crate::read::subscribe::SubscribeOptions;
use crate::sql::bind::expr::{ExprBinder, coerce};
use crate::sql::bind::query::{Bound, QueryBinder};
use crate::sql::bind::scope::{Scope, normalize, object_name};
use crate::sql::catalog::{Catalog, Entry, SqlTable, Storage};
use crate::sql::error::{EvalError, Position, SqlError, SqlResult};
use crate::sql::lower::{lower, rewrite};
use crate::sql::plan::{Column, Plan, SortKey};
use crate::sql::rows::SqlRows;
use crate::sql::source::{Computed, Source};
use crate::sql::statement::{self, Statement};
use crate::sql::subscription::SqlSubscription;
use crate::sql::types::{SqlType, assignable};
use crate::sql::value::SqlRow;
use crate::sql::views_read::views_read_at;
use crate::sql::write::Pending;
use crate::time::{Diff, Time};

/// What a statement did.
#[derive(Debug)]
#[non_exhaustive]
pub enum Outcome {
    /// A query's rows (`SELECT`).
    Rows(SqlRows),
    /// A table or view was created.
    Created {
        /// `"table"` or `"view"`.
        kind: &'static str,
        /// Its name.
        name: String,
    },
    /// Tables or views were dropped (`DROP TABLE`, `DROP VIEW`), in the order named; empty for
    /// `IF EXISTS` of names that did not exist.
    Dropped {
        /// `"table"` or `"view"`.
        kind: &'static str,
        /// The names dropped.
        names: Vec<String>,
    },
    /// Rows were inserted, updated or deleted: how many, and the commit's time (`None` inside
    /// a transaction, until `COMMIT`, or when nothing changed).
    Changed {
        /// The number of rows the statement wrote.
        rows: usize,
        /// The time of the commit.
        time: Option<Time>,
    },
    /// `BEGIN`: a transaction started.
    Began,
    /// `COMMIT`: the transaction's time (`None` if it wrote nothing).
    Committed(Option<Time>),
    /// `ROLLBACK`: the transaction's changes were dropped.
    RolledBack,
    /// `SUBSCRIBE`: the view's changes.
    Subscribed(SqlSubscription),
    /// `EXPLAIN`: the plan, one node per line.
    Plan(String),
}

/// The SQL front of an [`Engine`]: tables and views defined in SQL, written and read in SQL.
///
/// Statements run one at a time through [`execute`](Self::execute) (each its own transaction)
/// or through a [`Connection`] (which can hold a `BEGIN ... COMMIT`). Tables and views made by
/// SQL are ordinary engine tables and views: with storage they are kept, definitions included,
/// and [`Sql::open`] on the reopened engine brings them back.
///
/// ```
/// use ivm::{Config, Engine};
/// use ivm::sql::{Outcome, Sql};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let engine = Engine::start(Config::default())?;
/// let sql = Sql::open(&engine)?;
/// sql.execute("CREATE TABLE bids (auction BIGINT, price BIGINT)")?;
/// sql.execute("CREATE VIEW best AS SELECT auction, MAX(price) AS price FROM bids GROUP BY auction")?;
/// let Outcome::Changed { time: Some(t), .. } = sql.execute("INSERT INTO bids VALUES (1, 10), (1, 30), (2, 5)")? else {
///     unreachable!()
/// };
/// sql.execute("DELETE FROM bids WHERE price = 30")?;
/// let then = sql.query(&format!("SELECT * FROM best AS OF {t}"))?;
/// assert_eq!(then.decode::<(i64, i64)>()?, vec![(1, 30), (2, 5)]);
/// let now = sql.query("SELECT * FROM best")?;
/// assert_eq!(now.decode::<(i64, i64)>()?, vec![(1, 10), (2, 5)]);
/// # Ok(()) }
/// ```
pub struct Sql {
    engine: Engine,
    catalog: Mutex<Catalog>,
    /// Held by the transaction that writes, from its first write to its end.
    writer: Mutex<()>,
}

impl std::fmt::Debug for Sql {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sql").field("names", &self.names()).finish()
    }
}

impl Sql {
    /// The SQL front of `engine`, with every table and view SQL made on it before (kept by
    /// storage) made again. Fails if one of them can no longer be made (the engine's error).
    pub fn open(engine: &Engine) -> SqlResult<Sql> {
        Sql::open_with(engine, Vec::new())
    }

    /// [`open`](Self::open), with Rust tables and views exposed first (see
    /// [`Sql::builder`]), so that stored SQL views over them are made again.
    pub(crate) fn open_with(engine: &Engine, exposed: Vec<(String, Entry, Source)>) -> SqlResult<Sql> {
        let mut catalog = Catalog::new(engine)?;
        for (name, entry, source) in exposed {
            if catalog.contains(&name) {
                return Err(SqlError::Engine(crate::Error::DuplicateName { name, existing: "rust table" }));
            }
            catalog.insert(name, entry, source);
        }
        let stored = catalog.stored_definitions(engine)?;
        let sql = Sql { engine: engine.clone(), catalog: Mutex::new(catalog), writer: Mutex::new(()) };
        for (sequence, text) in stored {
            let mut statements = statement::parse(&text)?;
            let Some(Statement::Parsed { statement, .. }) = statements.pop() else {
                return Err(SqlError::Transaction(format!(
                    "stored definition {sequence} is not a statement: {text}"
                )));
            };
            sql.define(&statement, false)?;
            sql.catalog().replayed(sequence);
        }
        Ok(sql)
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// A new session, with its own transaction.
    pub fn connection(&self) -> Connection<'_> {
        Connection { sql: self, pending: None, writing: None }
    }

    /// Runs the statements of `text` (separated by `;`), each in its own transaction unless the
    /// text holds `BEGIN ... COMMIT`, and returns what the last one did. A transaction the
    /// text leaves open is rolled back, and that is an error.
    pub fn execute(&self, text: &str) -> SqlResult<Outcome> {
        let mut connection = self.connection();
        let outcome = connection.execute(text)?;
        if connection.in_transaction() {
            connection.execute("ROLLBACK")?;
            return Err(SqlError::Transaction(
                "the statements left a transaction open; it was rolled back".into(),
            ));
        }
        Ok(outcome)
    }

    /// Runs one query and returns its rows.
    pub fn query(&self, text: &str) -> SqlResult<SqlRows> {
        match self.execute(text)? {
            Outcome::Rows(rows) => Ok(rows),
            _ => Err(SqlError::Transaction(format!("not a query: {text}"))),
        }
    }

    /// Runs one `SUBSCRIBE` and returns the subscription.
    pub fn subscribe(&self, text: &str) -> SqlResult<SqlSubscription> {
        match self.execute(text)? {
            Outcome::Subscribed(subscription) => Ok(subscription),
            _ => Err(SqlError::Transaction(format!("not a SUBSCRIBE: {text}"))),
        }
    }

    /// The tables and views SQL can name, with their kinds, in name order.
    pub fn names(&self) -> Vec<(String, &'static str)> {
        self.catalog().names()
    }

    fn catalog(&self) -> MutexGuard<'_, Catalog> {
        self.catalog.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Makes the table or view of a `CREATE` statement, or drops those of a `DROP`; keeps the
    /// definition if `keep` (not in a replay).
    fn define(&self, statement: &ast::Statement, keep: bool) -> SqlResult<Outcome> {
        let mut catalog = self.catalog();
        let (kind, name) = match statement {
            ast::Statement::CreateTable(create) => ("table", self.create_table(&mut catalog, create)?),
            ast::Statement::CreateView(create) => ("view", self.create_view(&mut catalog, create)?),
            ast::Statement::Drop { object_type, if_exists, names, cascade, .. } => {
                let at = Position::of(statement.span());
                return self.drop_sources(&mut catalog, *object_type, *if_exists, names, *cascade, at, keep);
            }
            _ => unreachable!("only CREATE and DROP statements are definitions"),
        };
        let (name, created) = name;
        if created && keep {
            // A table is kept as its columns alone (a `CREATE TABLE ... AS` query ran once);
            // a view as its statement.
            let text = match catalog.get(&name) {
                Some(Entry::Table(table)) => ddl(&name, table),
                _ => statement.to_string(),
            };
            catalog.keep(&self.engine, text)?;
        }
        Ok(Outcome::Created { kind, name })
    }

    /// `DROP TABLE` or `DROP VIEW` of `names`, in order: each through the engine (which refuses
    /// a source that views read, and a table of an engine with storage), then out of the
    /// catalog, its drop kept as a definition of its own if `keep`, so that a replay drops it
    /// again. Stops at the first name that fails, with the names before it dropped.
    #[allow(clippy::too_many_arguments)]
    fn drop_sources(
        &self,
        catalog: &mut Catalog,
        object_type: ast::ObjectType,
        if_exists: bool,
        names: &[ast::ObjectName],
        cascade: bool,
        at: Position,
        keep: bool,
    ) -> SqlResult<Outcome> {
        let kind = match object_type {
            ast::ObjectType::Table => "table",
            ast::ObjectType::View => "view",
            other => return Err(SqlError::Unsupported { what: format!("DROP {other}"), at }),
        };
        if cascade {
            return Err(SqlError::Unsupported {
                what: "DROP ... CASCADE (drop the views that read it first)".into(),
                at,
            });
        }
        let mut dropped = Vec::new();
        for object in names {
            let at = Position::of(object.span());
            let name = object_name(object)?;
            match (catalog.get(&name), kind) {
                (None, _) if if_exists => continue,
                (None, _) => return Err(SqlError::UnknownTable { name, at }),
                (Some(Entry::Table(_)), "table") => self.engine.drop_table(&name)?,
                (Some(Entry::View { .. }), "view") => self.engine.drop_view(&name)?,
                (Some(Entry::Rust { .. }), _) => {
                    return Err(SqlError::Unsupported {
                        what: format!(
                            "DROP of {name}, a Rust table or view exposed to SQL (drop it in Rust)"
                        ),
                        at,
                    });
                }
                (Some(entry), _) => {
                    let existing = if matches!(entry, Entry::Table(_)) { "table" } else { "view" };
                    let requested = kind;
                    return Err(SqlError::Engine(crate::Error::KindMismatch { name, existing, requested }));
                }
            }
            catalog.remove(&name);
            if keep {
                catalog.keep(&self.engine, format!("DROP {} {name}", kind.to_uppercase()))?;
            }
            dropped.push(name);
        }
        Ok(Outcome::Dropped { kind, names: dropped })
    }

    /// `CREATE TABLE`: its name, and false for `IF NOT EXISTS` of a table that exists.
    /// With `AS query`, the query's rows are the table's first rows, written in the same
    /// commit's wake (a failing query creates nothing).
    fn create_table(&self, catalog: &mut Catalog, create: &ast::CreateTable) -> SqlResult<(String, bool)> {
        let at = Position::of(create.name.span());
        let name = object_name(&create.name)?;
        if create.like.is_some() || create.clone.is_some() {
            return Err(SqlError::Unsupported { what: "CREATE TABLE ... LIKE or CLONE".into(), at });
        }
        if create.external || create.location.is_some() || create.file_format.is_some() {
            return Err(SqlError::Unsupported {
                what: "CREATE EXTERNAL TABLE (tables hold their own rows; load files with ivm::files)".into(),
                at,
            });
        }
        if create.temporary || create.global.is_some() || create.transient || create.volatile {
            return Err(SqlError::Unsupported {
                what: "TEMPORARY, GLOBAL, TRANSIENT or VOLATILE tables".into(),
                at,
            });
        }
        if catalog.contains(&name) {
            if create.if_not_exists {
                return Ok((name, false));
            }
            return Err(SqlError::Engine(crate::Error::DuplicateName { name, existing: "table" }));
        }
        let first = match &create.query {
            Some(query) => Some(self.select_in(catalog, query, None)?),
            None => None,
        };
        let mut columns = Vec::new();
        let mut not_null = Vec::new();
        let mut key = Vec::new();
        if create.columns.is_empty()
            && let Some(rows) = &first
        {
            for (column, ty) in rows.names.iter().zip(&rows.types) {
                let ty = if *ty == SqlType::Null { SqlType::Text } else { *ty };
                columns.push(Column { name: column.clone(), qualifier: None, ty });
                not_null.push(false);
            }
        }
        for (i, def) in create.columns.iter().enumerate() {
            let Some(ty) = SqlType::of(&def.data_type) else {
                return Err(SqlError::Unsupported {
                    what: format!("the type {}", def.data_type),
                    at: Position::of(def.span()),
                });
            };
            let mut required = false;
            for option in &def.options {
                match &option.option {
                    ColumnOption::NotNull => required = true,
                    ColumnOption::Null => {}
                    ColumnOption::PrimaryKey(_) => {
                        key.push(i);
                        required = true;
                    }
                    other => {
                        return Err(SqlError::Unsupported {
                            what: format!("the column option {other}"),
                            at: Position::of(def.span()),
                        });
                    }
                }
            }
            let column = normalize(&def.name);
            if columns.iter().any(|c: &Column| c.name == column) {
                return Err(SqlError::Type {
                    message: format!("two columns named {column}"),
                    at: Position::of(def.span()),
                });
            }
            columns.push(Column { name: column, qualifier: None, ty });
            not_null.push(required);
        }
        for constraint in &create.constraints {
            match constraint {
                TableConstraint::PrimaryKey(primary) if key.is_empty() => {
                    for index_column in &primary.columns {
                        let ast::Expr::Identifier(ident) = &index_column.column.expr else {
                            return Err(SqlError::Unsupported {
                                what: "a primary key on an expression".into(),
                                at,
                            });
                        };
                        let position = Scope::new(columns.clone()).resolve(None, &normalize(ident), at)?;
                        key.push(position);
                        not_null[position] = true;
                    }
                }
                other => return Err(SqlError::Unsupported { what: format!("the constraint {other}"), at }),
            }
        }
        key.sort_unstable();
        // The query's rows are checked before anything is made.
        let first = match first {
            Some(rows) => {
                let targets: Vec<usize> = (0..columns.len()).collect();
                Some(self.conform_rows(&name, (&columns, &not_null), rows, &targets, at)?)
            }
            None => None,
        };
        let storage = if key.is_empty() {
            Storage::Bag(self.engine.table::<SqlRow>(&name)?)
        } else {
            Storage::Keyed { table: self.engine.keyed_table::<SqlRow, SqlRow>(&name)?, key: key.clone() }
        };
        let source = match &storage {
            Storage::Bag(table) => Source::Table { name: name.clone(), table: table.clone() },
            Storage::Keyed { table, key } => {
                Source::Keyed { name: name.clone(), table: table.clone(), key: key.clone() }
            }
        };
        let table = SqlTable { columns, not_null, storage };
        if let Some(rows) = first {
            let mut pending = Pending::default();
            pending.insert(&self.engine, &name, &table, rows)?;
            pending.commit(&self.engine)?;
        }
        catalog.insert(name.clone(), Entry::Table(table), source);
        Ok((name, true))
    }

    /// `CREATE VIEW`: the query bound, its plan made the view's definition.
    fn create_view(&self, catalog: &mut Catalog, create: &ast::CreateView) -> SqlResult<(String, bool)> {
        let name = object_name(&create.name)?;
        if catalog.contains(&name) {
            if create.if_not_exists {
                return Ok((name, false));
            }
            return Err(SqlError::Engine(crate::Error::DuplicateName { name, existing: "view" }));
        }
        if create.or_replace || create.or_alter {
            return Err(SqlError::Unsupported {
                what: "OR REPLACE (drop the view first)".into(),
                at: Position::of(create.name.span()),
            });
        }
        let plan = QueryBinder::new(&*catalog).bind(&create.query)?.visible_plan();
        let mut columns = plan.columns();
        if create.columns.len() > columns.len() {
            return Err(SqlError::Type {
                message: "more column names than columns".into(),
                at: Position::of(create.name.span()),
            });
        }
        for (column, def) in columns.iter_mut().zip(&create.columns) {
            column.name = normalize(&def.name);
        }
        for column in &mut columns {
            column.qualifier = None;
        }
        let view = self.engine.view_from(&name, &definition(plan))?;
        let source = Source::View { name: name.clone(), view: view.clone() };
        catalog.insert(name.clone(), Entry::View { view, columns }, source);
        Ok((name, true))
    }

    /// A query's rows at `as_of` (the latest commit by default).
    fn select(&self, query: &ast::Query, as_of: Option<Time>) -> SqlResult<SqlRows> {
        let catalog = self.catalog();
        self.select_in(&catalog, query, as_of)
    }

    /// [`select`](Self::select) with the catalog already held.
    fn select_in(&self, catalog: &Catalog, query: &ast::Query, as_of: Option<Time>) -> SqlResult<SqlRows> {
        let Bound { plan, order, visible } = QueryBinder::new(catalog).bind(query)?;
        let latest = self.engine.latest()?;
        let time = as_of.unwrap_or(latest);
        if time > latest {
            return Err(SqlError::FutureTime { requested: time, latest });
        }
        let columns = plan.columns();
        // A read of a whole view names the view in its errors; any other query is `query`.
        let (computed, name) = match direct_view(&plan) {
            Some(view) => (view.at(time)?, view.name().to_string()),
            None => {
                // The views the query scans are read at `time`; only the rest runs as a batch.
                let plan = views_read_at(&plan, time);
                let inputs = BatchInputs::from_engine(&self.engine, time)?;
                (batch::run(&definition(plan), &inputs, self.engine.workers())?, "query".to_string())
            }
        };
        let mut rows = expand(&name, computed, &order)?;
        rows.iter_mut().for_each(|row| row.truncate(visible));
        let columns = &columns[..visible];
        Ok(SqlRows {
            names: columns.iter().map(|c| c.name.clone()).collect(),
            types: columns.iter().map(|c| c.ty).collect(),
            rows,
            time,
        })
    }

    fn subscribe_view(&self, view: &str, as_of: Option<Time>, at: Position) -> SqlResult<SqlSubscription> {
        let catalog = self.catalog();
        let Some(Entry::View { view: handle, columns }) = catalog.get(view) else {
            return Err(SqlError::UnknownTable { name: view.to_string(), at });
        };
        let options = match as_of {
            Some(t) => SubscribeOptions::default().as_of(t),
            None => SubscribeOptions::default(),
        };
        let subscription = handle.subscribe_with(options)?;
        Ok(SqlSubscription::new(
            subscription,
            columns.iter().map(|c| c.name.clone()).collect(),
            columns.iter().map(|c| c.ty).collect(),
        ))
    }

    fn explain(&self, statement: &ast::Statement) -> SqlResult<String> {
        let catalog = self.catalog();
        let query = match statement {
            ast::Statement::Query(query) => query,
            ast::Statement::CreateView(create) => &create.query,
            other => {
                return Err(SqlError::Unsupported {
                    what: "EXPLAIN of a statement that is not a query or view".into(),
                    at: Position::of(other.span()),
                });
            }
        };
        Ok(rewrite(&QueryBinder::new(&*catalog).bind(query)?.visible_plan()).explain())
    }

    /// The table `name` for a write.
    fn table(&self, name: &ast::ObjectName) -> SqlResult<(String, SqlTable)> {
        let at = Position::of(name.span());
        let table = object_name(name)?;
        match self.catalog().get(&table) {
            Some(Entry::Table(entry)) => Ok((table, entry.clone())),
            Some(_) => Err(SqlError::Unsupported {
                what: format!("writing to {table}, which is not an SQL table"),
                at,
            }),
            None => Err(SqlError::UnknownTable { name: table, at }),
        }
    }

    fn insert(&self, pending: &mut Pending, insert: &ast::Insert) -> SqlResult<usize> {
        let ast::TableObject::TableName(name) = &insert.table else {
            return Err(SqlError::Unsupported {
                what: "INSERT into a table function".into(),
                at: Position::of(insert.table.span()),
            });
        };
        let (table_name, table) = self.table(name)?;
        let Some(source) = &insert.source else {
            return Err(SqlError::Unsupported {
                what: "INSERT without VALUES or a query".into(),
                at: Position::of(name.span()),
            });
        };
        if insert.on.is_some() || insert.returning.is_some() || !insert.assignments.is_empty() {
            return Err(SqlError::Unsupported {
                what: "ON CONFLICT, RETURNING and SET in INSERT".into(),
                at: Position::of(name.span()),
            });
        }
        // Which table column each value goes to.
        let scope = Scope::new(table.columns.clone());
        let targets: Vec<usize> = if insert.columns.is_empty() {
            (0..table.columns.len()).collect()
        } else {
            insert
                .columns
                .iter()
                .map(|c| scope.resolve(None, &object_name(c)?, Position::of(c.span())))
                .collect::<SqlResult<_>>()?
        };
        let rows = self.select(source, None)?;
        let shape = (table.columns.as_slice(), table.not_null.as_slice());
        let conformed = self.conform_rows(&table_name, shape, rows, &targets, Position::of(source.span()))?;
        pending.insert(&self.engine, &table_name, &table, conformed)
    }

    /// A query's rows as rows of `table`, each value in column `targets[i]` (the others
    /// `NULL`), checked against the table's types and `NOT NULL`s.
    fn conform_rows(
        &self,
        table_name: &str,
        (columns, not_null): (&[Column], &[bool]),
        rows: SqlRows,
        targets: &[usize],
        at: Position,
    ) -> SqlResult<Vec<SqlRow>> {
        if rows.names.len() != targets.len() {
            return Err(SqlError::Constraint(format!(
                "{table_name} is given {} values for {} columns",
                rows.names.len(),
                targets.len()
            )));
        }
        for (ty, target) in rows.types.iter().zip(targets) {
            let column = &columns[*target];
            if !assignable(*ty, column.ty) {
                return Err(SqlError::Type {
                    message: format!("{table_name}.{} is {}, the value {ty}", column.name, column.ty),
                    at,
                });
            }
        }
        let mut conformed = Vec::new();
        for values in rows.rows {
            let mut row = vec![crate::sql::value::Value::Null; columns.len()];
            for (value, target) in values.into_iter().zip(targets) {
                row[*target] = value;
            }
            conformed.push(Pending::conform(table_name, (columns, not_null), row)?);
        }
        Ok(conformed)
    }

    /// `UPDATE` (with `assignments`) or `DELETE` (without) of the rows of a table that meet
    /// `selection`.
    fn rewrite(
        &self,
        pending: &mut Pending,
        name: &ast::ObjectName,
        assignments: Option<&[ast::Assignment]>,
        selection: Option<&ast::Expr>,
    ) -> SqlResult<usize> {
        let (table_name, table) = self.table(name)?;
        let scope = Scope::new(
            table
                .columns
                .iter()
                .map(|c| Column { qualifier: Some(table_name.clone()), ..c.clone() })
                .collect(),
        );
        let binder = ExprBinder { scope: &scope, grouping: None };
        let predicate = selection.map(|s| binder.boolean(s)).transpose()?;
        let mut sets = Vec::new();
        for assignment in assignments.unwrap_or_default() {
            let ast::AssignmentTarget::ColumnName(column) = &assignment.target else {
                return Err(SqlError::Unsupported {
                    what: "assigning a tuple".into(),
                    at: Position::of(assignment.span()),
                });
            };
            let position = scope.resolve(None, &object_name(column)?, Position::of(column.span()))?;
            let typed = binder.bind(&assignment.value)?;
            let to = table.columns[position].ty;
            if !assignable(typed.1, to) {
                return Err(SqlError::Type {
                    message: format!(
                        "{table_name}.{} is {to}, the value {}",
                        table.columns[position].name, typed.1
                    ),
                    at: Position::of(assignment.value.span()),
                });
            }
            sets.push((position, coerce(typed, to, &assignment.value)?));
        }
        let eval_error = |error: EvalError| SqlError::Eval { view: table_name.clone(), error };
        let mut moved = Vec::new();
        let mut count = 0;
        for (row, multiplicity) in pending.rows(&self.engine, &table_name, &table)? {
            if let Some(predicate) = &predicate
                && !predicate.holds(&row).map_err(eval_error)?
            {
                continue;
            }
            count += multiplicity as usize;
            pending.remove(&table_name, &table, &row, multiplicity);
            if assignments.is_some() {
                let mut new = row.clone();
                for (position, value) in &sets {
                    new[*position] = value.eval(&row).map_err(eval_error)?;
                }
                let new = Pending::conform(&table_name, (&table.columns, &table.not_null), new)?;
                moved.extend(std::iter::repeat_n(new, multiplicity as usize));
            }
        }
        pending.insert(&self.engine, &table_name, &table, moved)?;
        Ok(count)
    }
}

/// A table's `CREATE TABLE` statement from its columns, as the definitions table keeps it.
fn ddl(name: &str, table: &SqlTable) -> String {
    let quote = |name: &str| format!("\"{}\"", name.replace('"', "\"\""));
    let mut parts: Vec<String> = table
        .columns
        .iter()
        .zip(&table.not_null)
        .map(|(c, not_null)| {
            format!("{} {}{}", quote(&c.name), c.ty, if *not_null { " NOT NULL" } else { "" })
        })
        .collect();
    if let Storage::Keyed { key, .. } = &table.storage {
        let key: Vec<String> = key.iter().map(|k| quote(&table.columns[*k].name)).collect();
        parts.push(format!("PRIMARY KEY ({})", key.join(", ")));
    }
    format!("CREATE TABLE {} ({})", quote(name), parts.join(", "))
}

/// The definition of a view over `plan`: its rows, and its errors beside them.
fn definition(plan: Plan) -> Definition<Computed> {
    let plan = Arc::new(plan);
    Definition::new(move |views| {
        let (rows, errors) = lower(&plan, views, Computed::Row);
        rows.concat(errors.map(Computed::Error))
    })
}

/// The view a plan reads whole, unchanged (`SELECT * FROM view`), which a read answers from
/// the view itself instead of a batch run.
fn direct_view(plan: &Plan) -> Option<&crate::view::View<Computed>> {
    match plan {
        Plan::Scan { source, .. } => match source.as_ref() {
            Source::View { view, .. } => Some(view),
            _ => None,
        },
        Plan::Project { input, exprs, .. }
            if exprs.len() == input.width()
                && exprs.iter().enumerate().all(|(i, e)| *e == crate::sql::scalar::Scalar::Column(i)) =>
        {
            direct_view(input)
        }
        _ => None,
    }
}

/// Rows held `diff` times, each repeated, in `order` (or by value); the first error the view
/// holds fails the read.
fn expand(view: &str, computed: Vec<(Computed, Diff)>, order: &[SortKey]) -> SqlResult<Vec<SqlRow>> {
    let mut rows = Vec::new();
    for (computed, diff) in computed {
        match computed {
            Computed::Error(error) if diff > 0 => {
                return Err(SqlError::Eval { view: view.to_string(), error });
            }
            Computed::Error(_) => {}
            Computed::Row(row) => rows.extend(std::iter::repeat_n(row.values(), diff.max(0) as usize)),
        }
    }
    if !order.is_empty() {
        let keys: Vec<(Vec<crate::sql::value::Value>, SqlRow)> = rows
            .into_iter()
            .map(|row| {
                (
                    order
                        .iter()
                        .map(|k| k.expr.eval(&row).unwrap_or(crate::sql::value::Value::Null))
                        .collect(),
                    row,
                )
            })
            .collect();
        let mut keys = keys;
        keys.sort_by(|a, b| crate::sql::lower::compare_keys(order, &a.0, &b.0).then_with(|| a.1.cmp(&b.1)));
        rows = keys.into_iter().map(|(_, row)| row).collect();
    }
    Ok(rows)
}

/// A session: statements run one after another, and `BEGIN ... COMMIT` makes one transaction
/// of the writes between them. Reads see committed data only.
///
/// While a transaction of a connection writes, other SQL writers of the same [`Sql`] wait for
/// it to end (so that an `UPDATE` reads what it changes without a race); do not interleave two
/// writing connections on one thread.
pub struct Connection<'a> {
    sql: &'a Sql,
    /// The open transaction's changes (`Some` between `BEGIN` and its end).
    pending: Option<Pending>,
    /// The writer lock, held from the transaction's first write.
    writing: Option<MutexGuard<'a, ()>>,
}

impl std::fmt::Debug for Connection<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection").field("in_transaction", &self.in_transaction()).finish()
    }
}

impl<'a> Connection<'a> {
    /// True between `BEGIN` and `COMMIT` or `ROLLBACK`.
    pub fn in_transaction(&self) -> bool {
        self.pending.is_some()
    }

    /// Runs the statements of `text` and returns what the last one did. A statement that fails
    /// writes nothing; in a transaction, the transaction stays open (`ROLLBACK` drops it).
    pub fn execute(&mut self, text: &str) -> SqlResult<Outcome> {
        let mut last = None;
        for statement in statement::parse(text)? {
            last = Some(self.run(statement)?);
        }
        last.ok_or_else(|| SqlError::Parse { message: "no statement".into(), at: Position::default() })
    }

    fn lock(&mut self) {
        if self.writing.is_none() {
            self.writing = Some(self.sql.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
        }
    }

    fn run(&mut self, statement: Statement) -> SqlResult<Outcome> {
        let sql = self.sql;
        let (statement, as_of) = match statement {
            Statement::Subscribe { view, as_of, at } => {
                return Ok(Outcome::Subscribed(sql.subscribe_view(&view, as_of, at)?));
            }
            Statement::Parsed { statement, as_of } => (statement, as_of),
        };
        match statement.as_ref() {
            ast::Statement::Query(query) => Ok(Outcome::Rows(sql.select(query, as_of)?)),
            ast::Statement::CreateTable(_) | ast::Statement::CreateView(_) => {
                if self.in_transaction() {
                    return Err(SqlError::Transaction("CREATE inside a transaction".into()));
                }
                sql.define(&statement, true)
            }
            ast::Statement::Insert(_) | ast::Statement::Update(_) | ast::Statement::Delete(_) => {
                self.lock();
                let autocommit = self.pending.is_none();
                let before = self.pending.clone();
                let mut pending = self.pending.take().unwrap_or_default();
                let result = match statement.as_ref() {
                    ast::Statement::Insert(insert) => sql.insert(&mut pending, insert),
                    ast::Statement::Update(update) => {
                        let ast::TableFactor::Table { name, .. } = &update.table.relation else {
                            return Err(SqlError::Unsupported {
                                what: "UPDATE of this table".into(),
                                at: Position::of(update.table.span()),
                            });
                        };
                        if update.from.is_some() || !update.table.joins.is_empty() {
                            return Err(SqlError::Unsupported {
                                what: "UPDATE ... FROM".into(),
                                at: Position::of(update.table.span()),
                            });
                        }
                        sql.rewrite(&mut pending, name, Some(&update.assignments), update.selection.as_ref())
                    }
                    ast::Statement::Delete(delete) => {
                        let (ast::FromTable::WithFromKeyword(tables)
                        | ast::FromTable::WithoutKeyword(tables)) = &delete.from;
                        match tables.as_slice() {
                            [
                                ast::TableWithJoins { relation: ast::TableFactor::Table { name, .. }, joins },
                            ] if joins.is_empty() && delete.using.is_none() => {
                                sql.rewrite(&mut pending, name, None, delete.selection.as_ref())
                            }
                            _ => Err(SqlError::Unsupported {
                                what: "DELETE of several tables or with USING".into(),
                                at: Position::of(statement.span()),
                            }),
                        }
                    }
                    _ => unreachable!("matched above"),
                };
                if autocommit {
                    self.writing = None;
                    let rows = result?;
                    let time = pending.commit(&sql.engine)?;
                    return Ok(Outcome::Changed { rows, time });
                }
                // In a transaction a failed statement leaves the earlier ones' changes and none
                // of its own.
                match result {
                    Ok(rows) => {
                        self.pending = Some(pending);
                        Ok(Outcome::Changed { rows, time: None })
                    }
                    Err(error) => {
                        self.pending = before;
                        Err(error)
                    }
                }
            }
            ast::Statement::StartTransaction { .. } => {
                if self.in_transaction() {
                    return Err(SqlError::Transaction("BEGIN inside a transaction".into()));
                }
                self.pending = Some(Pending::default());
                Ok(Outcome::Began)
            }
            ast::Statement::Commit { .. } => {
                let Some(pending) = self.pending.take() else {
                    return Err(SqlError::Transaction("COMMIT outside a transaction".into()));
                };
                let time = pending.commit(&sql.engine);
                self.writing = None;
                Ok(Outcome::Committed(time?))
            }
            ast::Statement::Rollback { .. } => {
                if self.pending.take().is_none() {
                    return Err(SqlError::Transaction("ROLLBACK outside a transaction".into()));
                }
                self.writing = None;
                Ok(Outcome::RolledBack)
            }
            ast::Statement::Explain { statement, .. } => Ok(Outcome::Plan(sql.explain(statement)?)),
            ast::Statement::Drop { .. } => {
                if self.in_transaction() {
                    return Err(SqlError::Transaction("DROP inside a transaction".into()));
                }
                sql.define(&statement, true)
            }
            other => Err(SqlError::Unsupported {
                what: format!("the statement {}", first_words(other)),
                at: Position::of(other.span()),
            }),
        }
    }
}

/// The first two words of a statement, to name it in an error.
fn first_words(statement: &ast::Statement) -> String {
    statement.to_string().split_whitespace().take(2).collect::<Vec<_>>().join(" ")
}
