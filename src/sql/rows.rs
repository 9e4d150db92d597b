//! A query's answer: its columns, its rows (each as many times as it is held) and the time it
//! is exact at; shown as an aligned table, or decoded into the caller's types.

use std::fmt;

use serde::de::DeserializeOwned;

use crate::sql::decode::decode;
use crate::sql::error::SqlResult;
use crate::sql::types::SqlType;
use crate::sql::value::{SqlRow, Value};
use crate::time::Time;

/// The rows of a query at one time.
#[derive(Clone, Debug, PartialEq)]
pub struct SqlRows {
    pub(crate) names: Vec<String>,
    pub(crate) types: Vec<SqlType>,
    pub(crate) rows: Vec<SqlRow>,
    pub(crate) time: Time,
}

impl SqlRows {
    /// The column names, in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The column types, in order.
    pub fn types(&self) -> &[SqlType] {
        &self.types
    }

    /// The rows: in `ORDER BY` order if the query has one, otherwise sorted by value. A row held
    /// twice appears twice.
    pub fn rows(&self) -> &[SqlRow] {
        &self.rows
    }

    /// The rows, taken.
    pub fn into_rows(self) -> Vec<SqlRow> {
        self.rows
    }

    /// The time the rows are exact at.
    pub fn time(&self) -> Time {
        self.time
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True if there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The rows decoded as `T`: a struct (its fields matched to columns by name), a tuple (by
    /// position), or for one column its value's type; `NULL` decodes as `None`. Fails with
    /// [`SqlError::Decode`](crate::sql::SqlError::Decode) when a row does not fit.
    ///
    /// ```
    /// # use ivm::{Config, Engine};
    /// # use ivm::sql::Sql;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let engine = Engine::start(Config::default())?;
    /// # let sql = Sql::open(&engine)?;
    /// #[derive(serde::Deserialize, Debug, PartialEq)]
    /// struct Total { customer: String, spent: i64 }
    /// sql.execute("CREATE TABLE orders (customer TEXT, cents BIGINT)")?;
    /// sql.execute("INSERT INTO orders VALUES ('ada', 250), ('ada', 100), ('bob', 75)")?;
    /// let totals: Vec<Total> = sql
    ///     .query("SELECT customer, SUM(cents) AS spent FROM orders GROUP BY customer ORDER BY spent DESC")?
    ///     .decode()?;
    /// assert_eq!(totals[0], Total { customer: "ada".into(), spent: 350 });
    /// # Ok(()) }
    /// ```
    pub fn decode<T: DeserializeOwned>(&self) -> SqlResult<Vec<T>> {
        decode(&self.names, &self.rows)
    }
}

impl fmt::Display for SqlRows {
    /// An aligned table: a header, a rule, the rows (numbers right-aligned), and a row count.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cells: Vec<Vec<String>> =
            self.rows.iter().map(|row| row.iter().map(Value::to_string).collect()).collect();
        let widths: Vec<usize> = self
            .names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                cells
                    .iter()
                    .map(|row| row[i].chars().count())
                    .chain([name.chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |f: &mut fmt::Formatter<'_>, values: &[String], numeric: &dyn Fn(usize) -> bool| {
            let parts: Vec<String> = values
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    if numeric(i) {
                        format!("{v:>w$}", w = widths[i])
                    } else {
                        format!("{v:<w$}", w = widths[i])
                    }
                })
                .collect();
            writeln!(f, " {}", parts.join(" | ").trim_end())
        };
        line(f, &self.names, &|_| false)?;
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(w + 2)).collect();
        writeln!(f, "{}", rule.join("+"))?;
        for row in &cells {
            line(f, row, &|i| self.types[i].is_numeric())?;
        }
        let plural = if self.rows.len() == 1 { "" } else { "s" };
        write!(f, "({} row{plural})", self.rows.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_numbers_right_and_text_left() {
        let rows = SqlRows {
            names: vec!["name".into(), "n".into()],
            types: vec![SqlType::Text, SqlType::Int],
            rows: vec![vec![Value::Text("ada".into()), Value::Int(7)], vec![Value::Null, Value::Int(1234)]],
            time: 3,
        };
        assert_eq!(rows.to_string(), " name | n\n------+------\n ada  |    7\n NULL | 1234\n(2 rows)");
    }
}
