//! `SUBSCRIBE`: an SQL view's changes as batches of `(row, time, diff)`, with the errors the
//! view holds beside its rows, so that summing the batches up to `t` gives the view at `t`,
//! errors included.

use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::protocol::feed::Batch;
use crate::read::subscribe::Subscription;
use crate::sql::decode::decode_row;
use crate::sql::error::{EvalError, SqlResult};
use crate::sql::source::Computed;
use crate::sql::types::SqlType;
use crate::sql::value::{SqlRow, Value};
use crate::time::{Diff, Time};

/// One batch of an SQL view's changes: complete for every time in `lower..upper`.
#[derive(Clone, Debug, PartialEq)]
pub struct SqlBatch {
    /// The first time the batch covers.
    pub lower: Time,
    /// The first time it does not; the next batch starts here.
    pub upper: Time,
    /// The rows' changes.
    pub updates: Vec<(SqlRow, Time, Diff)>,
    /// The changes of the errors the view holds (a row that could not be computed enters or
    /// leaves the view as an error).
    pub errors: Vec<(EvalError, Time, Diff)>,
}

/// The changes of an SQL view (from `SUBSCRIBE`). Dropping it ends the subscription.
#[derive(Debug)]
pub struct SqlSubscription {
    inner: Subscription<Computed>,
    names: Vec<String>,
    types: Vec<SqlType>,
}

impl SqlSubscription {
    pub(crate) fn new(inner: Subscription<Computed>, names: Vec<String>, types: Vec<SqlType>) -> Self {
        SqlSubscription { inner, names, types }
    }

    /// The view's column names.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The view's column types.
    pub fn types(&self) -> &[SqlType] {
        &self.types
    }

    /// One row of this subscription's batches decoded as `T`, as
    /// [`SqlRows::decode`](crate::sql::SqlRows::decode) decodes the rows of a query: a struct
    /// (fields matched to columns by name), a tuple (by position), or for one column its value.
    /// Fails with [`SqlError::Decode`](crate::sql::SqlError::Decode) when the row does not fit.
    ///
    /// ```
    /// # use ivm::{Config, Engine};
    /// # use ivm::sql::Sql;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let engine = Engine::start(Config::default())?;
    /// # let sql = Sql::open(&engine)?;
    /// sql.execute("CREATE TABLE t (name TEXT, n BIGINT)")?;
    /// sql.execute("CREATE VIEW big AS SELECT name, n FROM t WHERE n > 10")?;
    /// let mut changes = sql.subscribe("SUBSCRIBE TO big")?;
    /// sql.execute("INSERT INTO t VALUES ('ada', 36), ('tim', 9)")?;
    /// let batch = changes.find(|b| b.as_ref().map_or(true, |b| !b.updates.is_empty())).unwrap()?;
    /// let (row, _time, diff) = &batch.updates[0];
    /// assert_eq!((changes.decode::<(String, u32)>(row)?, *diff), (("ada".to_string(), 36), 1));
    /// # Ok(()) }
    /// ```
    pub fn decode<T: DeserializeOwned>(&self, row: &[Value]) -> SqlResult<T> {
        decode_row(&self.names, row)
    }

    /// The next complete batch if one is ready now (see [`Subscription::try_next`](crate::Subscription::try_next)).
    pub fn try_next(&mut self) -> SqlResult<Option<SqlBatch>> {
        Ok(self.inner.try_next()?.map(split))
    }

    /// The next complete batch, waiting up to `timeout` (see
    /// [`Subscription::next_timeout`](crate::Subscription::next_timeout)).
    pub fn next_timeout(&mut self, timeout: Duration) -> SqlResult<Option<SqlBatch>> {
        Ok(self.inner.next_timeout(timeout)?.map(split))
    }

    /// True once the subscription has ended.
    pub fn is_finished(&self) -> bool {
        self.inner.is_finished()
    }
}

impl Iterator for SqlSubscription {
    type Item = SqlResult<SqlBatch>;

    /// Blocks until the next batch is complete; `None` once the subscription has ended.
    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next().map(|batch| batch.map(split).map_err(Into::into))
    }
}

fn split(batch: Batch<Computed>) -> SqlBatch {
    let (mut updates, mut errors) = (Vec::new(), Vec::new());
    for (computed, time, diff) in batch.updates {
        match computed {
            Computed::Row(row) => updates.push((row.values(), time, diff)),
            Computed::Error(error) => errors.push((error, time, diff)),
        }
    }
    SqlBatch { lower: batch.lower, upper: batch.upper, updates, errors }
}
