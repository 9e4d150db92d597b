//! SQL inside the process (feature `sql`): tables and views defined in SQL, maintained
//! incrementally like any view, read exactly `AS OF` any retained time, and subscribed to.
//!
//! ```
//! use ivm::{Config, Engine};
//! use ivm::sql::{Outcome, Sql};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let engine = Engine::start(Config::default())?;
//! let sql = Sql::open(&engine)?;
//! sql.execute("CREATE TABLE orders (id BIGINT PRIMARY KEY, customer TEXT NOT NULL, cents BIGINT)")?;
//! sql.execute(
//!     "CREATE VIEW spend AS SELECT customer, COUNT(*) AS orders, SUM(cents) AS cents \
//!      FROM orders GROUP BY customer",
//! )?;
//! let mut changes = sql.subscribe("SUBSCRIBE TO spend")?;
//! sql.execute("INSERT INTO orders VALUES (1, 'ada', 250), (2, 'bob', 75), (3, 'ada', 100)")?;
//! let Outcome::Changed { time: Some(t), .. } = sql.execute("UPDATE orders SET cents = 0 WHERE id = 3")? else {
//!     unreachable!()
//! };
//! let spend = sql.query(&format!("SELECT * FROM spend ORDER BY customer AS OF {t}"))?;
//! println!("{spend}");
//! assert_eq!(spend.decode::<(String, i64, i64)>()?, vec![("ada".into(), 2, 250), ("bob".into(), 1, 75)]);
//! // The subscription saw the same, as changes.
//! let first = changes.next().unwrap()?;
//! assert!(first.updates.is_empty()); // the snapshot: the view was empty
//! # Ok(()) }
//! ```
//!
//! # How a statement runs
//!
//! `statement.rs` reads the text (sqlparser's generic dialect, plus `AS OF` and `SUBSCRIBE`);
//! `bind/` resolves names and types against the catalog (`catalog.rs`) into a logical plan
//! (`plan.rs`) of typed expressions (`scalar.rs`, `functions.rs`); `lower.rs` builds the plan
//! as a differential dataflow inside an ordinary view definition. `session.rs` turns each
//! statement into the engine's calls: `CREATE TABLE` makes a table of [`SqlRow`]s (a keyed
//! table with a primary key), `CREATE VIEW` a view, `INSERT`/`UPDATE`/`DELETE` a commit
//! (`write.rs`), `SELECT` a read of a view or a batch run at the time asked for, `SUBSCRIBE` a
//! subscription.
//!
//! # Semantics
//!
//! SQL's, as PostgreSQL has them, with these choices: every integer is a `BIGINT`; an integer
//! divided by an integer is an integer (truncated); `AVG` is a `DOUBLE`; `SUM` of integers is
//! a `BIGINT` (an overflow is an error); `NULL`s sort last ascending and first descending. A
//! row that cannot be computed (division by zero, overflow, a bad cast) is an error held by
//! the view: reads of that view fail with [`SqlError::Eval`] while it is there, subscriptions
//! deliver it beside the rows ([`SqlBatch::errors`]), and other views are not affected.
//!
//! # Functions
//!
//! Every function gives `NULL` when an argument is `NULL`, except `CONCAT`, `COALESCE`,
//! `GREATEST` and `LEAST`, which skip `NULL`s, and `NULLIF` (`NULLIF(x, NULL)` is `x`). Text
//! positions count characters, not bytes, from 1.
//!
//! - **Text**: `LOWER`, `UPPER`, `LENGTH` (`CHAR_LENGTH`), `SUBSTR(s, from [, count])`
//!   (`SUBSTRING`), `TRIM`, `LTRIM`, `RTRIM`, `REPLACE(s, from, to)`, `CONCAT`, `||`,
//!   `STRPOS(s, t)` (`POSITION(t IN s)`, `INSTR`; 0 when absent), `LEFT`, `RIGHT`, `REVERSE`,
//!   `STARTS_WITH`, `[I]LIKE`, and `SPLIT_INDEX(s, delimiter, i)`, Flink's: the `i`-th piece,
//!   counted **from 0**, of `s` cut at every `delimiter` (`n` delimiters make `n + 1` pieces,
//!   empty ones included), `NULL` when `i` is negative or past the last piece; an empty
//!   delimiter cuts nothing (the text is the only piece). It is not PostgreSQL's and DuckDB's
//!   `split_part`, which counts from 1 and gives `''` past the last piece.
//! - **Numbers**: `ABS`, `ROUND(x [, digits])`, `FLOOR`, `CEIL`, `SQRT`, `POWER`, `SIGN`,
//!   `GREATEST`, `LEAST`, `NULLIF`, `COALESCE`.
//! - **Dates and times** (timestamps have no time zone; read them as UTC):
//!   `EXTRACT(field FROM t)` and `DATE_PART('field', t)` with the fields `year`, `month`, `day`,
//!   `hour`, `minute`, `second`, `dow` (0 is Sunday), `doy` and `epoch` (seconds);
//!   `YEAR(t)`, `MONTH(t)`, `DAY(t)`, `HOUR(t)`, `MINUTE(t)` and `SECOND(t)`, the same as
//!   `EXTRACT` of that field; `DATE_TRUNC('unit', t)` to the `year`, `month`, `day`, `hour`,
//!   `minute` or `second`; `EPOCH_MS(ms)`, the timestamp `ms` milliseconds after 1970-01-01
//!   (DuckDB's).

mod bind;
mod catalog;
mod decode;
mod distinct_values;
mod encode;
mod error;
mod expose;
mod extreme_rows;
mod fork;
mod functions;
mod inline_bytes;
mod lower;
mod packed;
mod plan;
mod projection;
mod prune;
mod pushdown;
mod row_steps;
mod rows;
mod scalar;
mod session;
mod shared_exprs;
mod source;
mod statement;
mod subscription;
mod sums;
mod times;
mod types;
mod value;
mod views_read;
mod write;

pub use error::{EvalError, Position, SqlError, SqlResult};
pub use expose::SqlBuilder;
pub use packed::PackedRow;
pub use rows::SqlRows;
pub use session::{Connection, Outcome, Sql};
pub use source::Computed;
pub use subscription::{SqlBatch, SqlSubscription};
pub use types::SqlType;
pub use value::{Date, Decimal, Double, SqlRow, Timestamp, Value};
