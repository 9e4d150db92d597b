//! A peer's test suite: the sqllogictest files shipped in the `datafusion-sqllogictest` crate's
//! source, run by the `sqllogictest` crate against `ivm::sql`, for the constructs `ivm`
//! supports. Every query runs ad hoc (a batch at the latest time) and as a maintained view
//! whose answer must be the same; each table's rows are written over several transactions
//! (after every write, the table is emptied and its rows written back in three commits, which
//! every view made so far follows); and at the end of each file every view is read again and
//! must still equal its query, after all the writes that followed it.
//!
//! The files come from the crate's package (`.ci/run` downloads it):
//!
//! ```sh
//! mkdir -p target/slt && curl -sSfL \
//!   https://static.crates.io/crates/datafusion-sqllogictest/datafusion-sqllogictest-55.2.0.crate \
//!   | tar xz -C target/slt
//! cargo test --features sql --test suite -- sql_logic:: --nocapture
//! ```
//!
//! `IVM_SLT_SHOW=<words>` prints every failure whose class contains them (`IVM_SLT_SHOW="other
//! rows"`, say). The test prints each file's pass count and the most common reasons for failures, and fails
//! if a file passes fewer records than `FLOORS` holds for it (the counts TESTING.md records),
//! or if a view ever disagrees with its query.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ivm::sql::{Outcome, Sql, SqlError, SqlRows, Value};
use ivm::{Config, Engine, Error};
use sqllogictest::{DBOutput, DefaultColumnType, Record, Runner, TestErrorKind};

/// The files run, and the least number of their statements and queries that must pass.
const FLOORS: &[(&str, usize)] = &[
    ("union.slt", 46),
    ("cte.slt", 48),
    ("subquery.slt", 98),
    ("joins.slt", 175),
    ("group_by.slt", 344),
    ("select.slt", 93),
    ("order.slt", 48),
    ("limit.slt", 36),
    ("case.slt", 59),
    ("predicates.slt", 43),
];

fn files() -> PathBuf {
    let dir = std::env::var("IVM_SLT_DIR").map(PathBuf::from).unwrap_or_else(|_| {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("target/slt/datafusion-sqllogictest-55.2.0/test_files")
    });
    assert!(
        dir.is_dir(),
        "the sqllogictest files are missing at {}: download them with\n  mkdir -p target/slt && curl -sSfL \
         https://static.crates.io/crates/datafusion-sqllogictest/datafusion-sqllogictest-55.2.0.crate | tar xz -C target/slt",
        dir.display()
    );
    dir
}

/// Why a view disagreed with its query: never accepted.
#[derive(Debug)]
struct Disagreement(String);

impl std::fmt::Display for Disagreement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Disagreement {}

/// What the runner sees: an SQL error, or a view that disagreed.
#[derive(Debug)]
enum Failure {
    Sql(SqlError),
    Disagreed(Disagreement),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Sql(error) => write!(f, "{error}"),
            Failure::Disagreed(d) => write!(f, "VIEW DISAGREES: {d}"),
        }
    }
}

impl std::error::Error for Failure {}

impl From<SqlError> for Failure {
    fn from(error: SqlError) -> Self {
        Failure::Sql(error)
    }
}

/// One file's engine.
struct Ivm {
    engine: Engine,
    sql: Sql,
    /// Every view made and not dropped, with its query.
    views: Vec<(String, String)>,
    /// The number of views made, which names the next.
    made: usize,
    /// Shared with the test, which reads it after the runner (and this) is dropped.
    disagreements: Arc<Mutex<Vec<String>>>,
}

impl Ivm {
    fn new(disagreements: Arc<Mutex<Vec<String>>>) -> Ivm {
        let engine = Engine::start(Config::default().with_workers(2)).unwrap();
        let sql = Sql::open(&engine).unwrap();
        Ivm { engine, sql, views: Vec::new(), made: 0, disagreements }
    }

    /// Empties every SQL table and writes its rows back in three commits.
    fn churn(&mut self) -> Result<(), Failure> {
        let latest = self.engine.latest().map_err(SqlError::Engine)?;
        for (name, kind) in self.sql.names() {
            if kind != "table" {
                continue;
            }
            match self.engine.open_table::<Vec<Value>>(&name) {
                Ok(table) => {
                    let rows = table.at(latest).map_err(SqlError::Engine)?;
                    self.engine
                        .commit(|tx| {
                            rows.iter().for_each(|(row, diff)| tx.update(&table, row.clone(), -diff))
                        })
                        .map_err(SqlError::Engine)?;
                    for chunk in rows.chunks(rows.len().div_ceil(3).max(1)) {
                        self.engine
                            .commit(|tx| {
                                chunk.iter().for_each(|(row, diff)| tx.update(&table, row.clone(), *diff))
                            })
                            .map_err(SqlError::Engine)?;
                    }
                }
                Err(Error::KindMismatch { .. }) => {
                    let table = self
                        .engine
                        .open_keyed_table::<Vec<Value>, Vec<Value>>(&name)
                        .map_err(SqlError::Engine)?;
                    let rows = table.at(latest).map_err(SqlError::Engine)?;
                    self.engine
                        .commit(|tx| rows.iter().for_each(|(k, _)| tx.delete_key(&table, k.clone())))
                        .map_err(SqlError::Engine)?;
                    for chunk in rows.chunks(rows.len().div_ceil(3).max(1)) {
                        self.engine
                            .commit(|tx| {
                                chunk.iter().for_each(|(k, v)| tx.upsert(&table, k.clone(), v.clone()))
                            })
                            .map_err(SqlError::Engine)?;
                    }
                }
                Err(error) => return Err(SqlError::Engine(error).into()),
            }
        }
        Ok(())
    }

    /// Runs a statement. A `DROP` of something this runner's views read (DataFusion keeps no
    /// views over its tables) first checks those views against their queries one last time
    /// and drops them; a view of the file's own that reads it still refuses the drop.
    fn execute(&mut self, sql: &str) -> Result<Outcome, Failure> {
        loop {
            match self.sql.execute(sql) {
                Err(SqlError::Engine(Error::InUse { readers, .. }))
                    if readers.iter().all(|reader| self.views.iter().any(|(name, _)| name == reader)) =>
                {
                    for reader in readers {
                        self.retire(&reader)?;
                    }
                }
                outcome => return Ok(outcome?),
            }
        }
    }

    /// Checks this runner's view `name` against its query a last time, then drops it.
    fn retire(&mut self, name: &str) -> Result<(), Failure> {
        let Some(at) = self.views.iter().position(|(view, _)| view == name) else { return Ok(()) };
        let (name, query) = self.views.remove(at);
        if let Ok(expected) = self.sql.query(&query) {
            self.compare(&name, &query, &expected)?;
        }
        self.sql.execute(&format!("DROP VIEW {name}"))?;
        Ok(())
    }

    /// The rows of view `name`, sorted, against `expected` (sorted): a disagreement is kept.
    fn compare(&mut self, name: &str, query: &str, expected: &SqlRows) -> Result<(), Failure> {
        let read = self.sql.query(&format!("SELECT * FROM {name}"))?;
        let (mut got, mut want) = (read.rows().to_vec(), expected.rows().to_vec());
        got.sort();
        want.sort();
        if got != want {
            let message = format!("view {name} holds {got:?}, its query {query:?} gives {want:?}");
            self.disagreements.lock().unwrap().push(message.clone());
            return Err(Failure::Disagreed(Disagreement(message)));
        }
        Ok(())
    }
}

impl Drop for Ivm {
    /// At the end of the file, every view against its query, after all the writes since it
    /// was made.
    fn drop(&mut self) {
        for (name, query) in self.views.clone() {
            if let Ok(expected) = self.sql.query(&query) {
                let _ = self.compare(&name, &query, &expected);
            }
        }
        self.engine.shutdown();
    }
}

fn is_query(sql: &str) -> bool {
    let start = sql.trim_start().trim_start_matches('(').trim_start().to_ascii_lowercase();
    start.starts_with("select") || start.starts_with("with") || start.starts_with("values")
}

/// A value as DataFusion's sqllogictest files write it.
fn show(value: &Value) -> String {
    let plain = |text: String| {
        if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.').to_string() } else { text }
    };
    match value {
        Value::Null => "NULL".into(),
        Value::Text(s) if s.is_empty() => "(empty)".into(),
        Value::Text(s) => s.trim_end_matches('\n').to_string(),
        Value::Double(d) if d.get().is_nan() => "NaN".into(),
        Value::Double(d) if d.get().is_infinite() => {
            if d.get() > 0.0 { "Infinity" } else { "-Infinity" }.into()
        }
        Value::Double(d) => {
            let shown = plain(format!("{:.12}", d.get()));
            if shown == "-0" { "0".into() } else { shown }
        }
        Value::Decimal(d) => plain(d.to_string()),
        Value::Timestamp(t) => t.to_string().replacen(' ', "T", 1),
        other => other.to_string(),
    }
}

impl sqllogictest::DB for Ivm {
    type Error = Failure;
    type ColumnType = DefaultColumnType;

    fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, Failure> {
        if !is_query(sql) {
            let outcome = self.execute(sql)?;
            let changed = match outcome {
                Outcome::Changed { rows, .. } => rows as u64,
                _ => 0,
            };
            if changed > 0 || sql.trim_start().to_ascii_lowercase().starts_with("create table") {
                self.churn()?;
            }
            return Ok(DBOutput::StatementComplete(changed));
        }
        let expected = self.sql.query(sql)?;
        let name = format!("slt_view_{}", self.made);
        self.made += 1;
        self.sql.execute(&format!("CREATE VIEW {name} AS {sql}"))?;
        self.views.push((name.clone(), sql.to_string()));
        self.compare(&name, sql, &expected)?;
        let types = vec![DefaultColumnType::Any; expected.names().len()];
        let rows = expected.rows().iter().map(|row| row.iter().map(show).collect()).collect();
        Ok(DBOutput::Rows { types, rows })
    }

    fn engine_name(&self) -> &str {
        "ivm"
    }
}

/// A file's counts: records passed, records run, and failures by reason.
struct Counts {
    passed: usize,
    run: usize,
    reasons: BTreeMap<String, usize>,
    disagreements: Vec<String>,
}

/// Why a record failed, as a class: what DataFusion's files test that `ivm` does not have, or
/// `ivm`'s error without its particulars.
fn classify(kind: &TestErrorKind) -> String {
    let sql = match kind {
        TestErrorKind::Fail { sql, .. }
        | TestErrorKind::Ok { sql, .. }
        | TestErrorKind::ErrorMismatch { sql, .. }
        | TestErrorKind::StatementResultMismatch { sql, .. }
        | TestErrorKind::QueryResultMismatch { sql, .. }
        | TestErrorKind::QueryResultColumnsMismatch { sql, .. } => sql.trim_start().to_ascii_lowercase(),
        other => return format!("{other}"),
    };
    if sql.starts_with("explain") {
        return "EXPLAIN: DataFusion's plan text".into();
    }
    if sql.starts_with("set ") || sql.starts_with("reset ") {
        return "DataFusion's settings (SET)".into();
    }
    if sql.starts_with("create external table") || sql.starts_with("copy ") {
        return "files DataFusion reads (CREATE EXTERNAL TABLE, COPY)".into();
    }
    if sql.starts_with("drop ") {
        return "DROP".into();
    }
    match kind {
        TestErrorKind::Fail { err, .. } => reason(&err.to_string()),
        TestErrorKind::Ok { .. } => "an error DataFusion expects, ivm does not give".into(),
        TestErrorKind::ErrorMismatch { .. } => "another error than DataFusion's".into(),
        TestErrorKind::QueryResultMismatch { .. } => "other rows than DataFusion's".into(),
        TestErrorKind::StatementResultMismatch { .. } => "another row count than DataFusion's".into(),
        other => format!("{other}"),
    }
}

fn reason(error: &str) -> String {
    // The kind of failure without its particulars: the first words, positions and quotes cut.
    let first = error.lines().next().unwrap_or_default();
    let cut = first.split(" (at ").next().unwrap_or(first);
    // "not supported at line 1, column 8: the expression ..." without its position.
    let cut = match cut.split_once(" at line ") {
        Some((head, tail)) => format!(
            "{head}{}",
            tail.split_once(": ").map(|(_, what)| format!(": {what}")).unwrap_or_default()
        ),
        None => cut.to_string(),
    };
    let words: Vec<&str> = cut.split_whitespace().take(8).collect();
    words.join(" ")
}

/// A query without `ORDER BY` has no order: its rows are compared as a multiset (DataFusion's
/// files expect the order its own execution happens to give).
fn unordered_as_rowsort(record: &mut Record<DefaultColumnType>) {
    use sqllogictest::{QueryExpect, SortMode};
    let Record::Query { sql, expected: QueryExpect::Results { sort_mode, results, .. }, .. } = record else {
        return;
    };
    if !matches!(sort_mode, None | Some(SortMode::NoSort)) {
        return;
    }
    let dialect = sqlparser::dialect::GenericDialect {};
    let ordered = match sqlparser::parser::Parser::parse_sql(&dialect, sql) {
        Ok(statements) => statements
            .iter()
            .any(|s| matches!(s, sqlparser::ast::Statement::Query(q) if q.order_by.is_some())),
        Err(_) => true,
    };
    if !ordered {
        *sort_mode = Some(SortMode::RowSort);
        // The runner sorts the rows it gets by their cells, and expects the file's lines in
        // that order already.
        results.sort_by(|a, b| a.split(' ').cmp(b.split(' ')));
    }
}

fn run_file(path: &Path) -> Counts {
    let records = sqllogictest::parse_file::<DefaultColumnType>(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let disagreements = Arc::new(Mutex::new(Vec::new()));
    let shared = Arc::clone(&disagreements);
    let mut runner = Runner::new(move || {
        let shared = Arc::clone(&shared);
        async move { Ok(Ivm::new(shared)) }
    });
    runner.with_column_validator(|_, _| true);
    let mut counts = Counts { passed: 0, run: 0, reasons: BTreeMap::new(), disagreements: Vec::new() };
    for mut record in records {
        unordered_as_rowsort(&mut record);
        let counted = matches!(record, Record::Statement { .. } | Record::Query { .. });
        if let Record::Halt { .. } = record {
            break;
        }
        let outcome = runner.run(record);
        if !counted {
            continue;
        }
        counts.run += 1;
        match outcome {
            Ok(_) => counts.passed += 1,
            Err(error) => {
                let why = classify(&error.kind());
                if std::env::var("IVM_SLT_SHOW").is_ok_and(|wanted| why.contains(&wanted)) {
                    println!("---- {}: {why}\n{error}", path.display());
                }
                *counts.reasons.entry(why).or_insert(0) += 1;
            }
        }
    }
    drop(runner);
    counts.disagreements = std::mem::take(&mut *disagreements.lock().unwrap());
    counts
}

#[test]
fn datafusion_sqllogictest_files_pass_at_least_their_recorded_counts_and_views_always_agree() {
    let dir = files();
    let mut failures = Vec::new();
    for (file, floor) in FLOORS {
        let counts = run_file(&dir.join(file));
        println!("{file}: {} of {} records pass", counts.passed, counts.run);
        let mut reasons: Vec<(&String, &usize)> = counts.reasons.iter().collect();
        reasons.sort_by(|a, b| b.1.cmp(a.1));
        for (why, n) in reasons.iter().take(12) {
            println!("    {n:>4}  {why}");
        }
        if counts.passed < *floor {
            failures.push(format!("{file}: {} passed, fewer than the {floor} recorded", counts.passed));
        }
        failures.extend(counts.disagreements);
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
