//! Files that batch tools read and write: tables and views at a time, their change streams and
//! tables' histories written as Parquet; tables loaded from Parquet and CSV. Behind the `files`
//! feature.
//!
//! - [`write_parquet`]: a table or view as of `t`, one file (or [`write_parquet_partitioned`],
//!   a Hive-style folder partitioned by a column).
//! - [`ChangeFiles`]: a view's change stream as Parquet files of `(columns…, time, diff)`, one
//!   per interval of time, resumed after a restart without a gap or a duplicate.
//! - [`write_history`]: a table's history through `t`, from which a batch tool recomputes any
//!   view at any retained time from the same data the engine used.
//! - [`load_parquet`], [`load_csv`]: files or folders of them into a table, in one transaction.
//!
//! DuckDB, Polars, Spark and pandas read the files written here, and write the files read
//! here; the crate's tests check both with DuckDB and Polars.
//!
//! # Columns
//!
//! A row type's columns come from its serde derive (through [`serde_arrow`]):
//! - a struct with named fields is one column per field, named as the field; a field that is
//!   itself a struct, a `Vec` or an `Option` is an Arrow struct, list or nullable column;
//! - any other row type (a number, a `String`, a tuple, an enum) is one column named `value`;
//! - a keyed table's or view's `(key, value)` row is the key's columns, then the value's: a
//!   key that is not a struct is one column named `key`, a value that is not one a column
//!   `value`; if a key column and a value column would share a name, the key is instead one
//!   struct column `key` and the value one column `value`;
//! - enums without data are written as their variant's name; an enum with data becomes an
//!   Arrow union, which Parquet cannot hold (a [`FileProblem::Layout`] error);
//! - integers keep their width and sign (`u64` is Parquet's unsigned 64-bit integer, DuckDB's
//!   `UBIGINT`), strings are UTF-8.
//!
//! Change and history files add a `time` (`UInt64`) and a `diff` (`Int64`) column, renamed
//! with [`ParquetOptions`]. Loading matches columns by name and casts compatible types (see
//! [`load_parquet`]).
//!
//! ```
//! # fn main() -> ivm::Result<()> {
//! use ivm::files::{CsvOptions, ParquetOptions, load_csv, write_parquet};
//! use ivm::{Config, Engine};
//!
//! #[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
//! struct Order { id: u64, shop: String, cents: i64 }
//!
//! let engine = Engine::start(Config::default())?;
//! let orders = engine.table::<Order>("orders")?;
//! let folder = tempfile::tempdir().unwrap();
//! std::fs::write(folder.path().join("orders.csv"), "id,shop,cents\n1,Lyon,250\n2,Oslo,990\n").unwrap();
//! let loaded = load_csv(&orders, folder.path().join("orders.csv"), &CsvOptions::default())?;
//! assert_eq!(loaded.rows, 2);
//!
//! let large = engine.view_over("large", &orders, |_, orders| orders.filter(|o| o.cents > 500))?;
//! let path = folder.path().join("large.parquet");
//! let written = write_parquet(&large, loaded.time, &path, &ParquetOptions::default())?;
//! assert_eq!(written.rows, 1); // columns id, shop, cents
//! // duckdb -c "SELECT * FROM 'large.parquet'"
//! # Ok(()) }
//! ```

mod change_files;
mod columns;
mod conform;
mod encode;
mod export;
mod hive;
mod load;
mod parquet_file;
mod row_group;
mod sources;

pub use change_files::{ChangeFile, ChangeFiles, ChangeOptions, change_files};
pub use export::{write_history, write_parquet, write_parquet_partitioned};
pub use load::{CsvOptions, Loaded, load_csv, load_parquet};
pub use parquet_file::{Compression, ParquetOptions, Written};
pub use sources::{Changing, Input, Source};

#[doc(no_inline)]
pub use crate::error::{FileError, FileProblem};
