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

mod bind;
mod catalog;
mod decode;
mod encode;
mod error;
mod expose;
mod functions;
mod lower;
mod plan;
mod prune;
mod rows;
mod scalar;
mod session;
mod source;
mod statement;
mod subscription;
mod sums;
mod types;
mod value;
mod write;

pub use error::{EvalError, Position, SqlError, SqlResult};
pub use expose::SqlBuilder;
pub use rows::SqlRows;
pub use session::{Connection, Outcome, Sql};
pub use source::Computed;
pub use subscription::{SqlBatch, SqlSubscription};
pub use types::SqlType;
pub use value::{Date, Decimal, Double, SqlRow, Timestamp, Value};
