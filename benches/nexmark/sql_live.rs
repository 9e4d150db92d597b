//! The live run with the query written in SQL (`ivm::sql`): the same engine, tables, commits
//! and subscriber as [`crate::live`], but the view is `CREATE VIEW qN AS <SqlQuery::SQL>` over
//! the Rust tables exposed to SQL, read with `SELECT * FROM qN AS OF t` and followed with
//! `SUBSCRIBE TO qN`. Its rows are decoded into the Rust view's row type, so its fingerprint
//! must equal the Rust view's; its throughput is set against the `live` run's (`sql / live`).

use std::marker::PhantomData;

use ivm::Time;
use ivm::sql::{Sql, SqlBatch, SqlSubscription};

use crate::answer::Answer;
use crate::args::ChildOptions;
use crate::child::Input;
use crate::live::{self, Changes};
use crate::outcome::Outcome;
use crate::query::SqlQuery;

/// Runs query `Q` live, defined in SQL.
pub fn run<Q: SqlQuery>(input: &Input, options: &ChildOptions) -> Result<Outcome, String> {
    live::with_engine(options, |engine, tables| {
        let sql = Sql::builder(engine)
            .table(&tables.persons)
            .table(&tables.auctions)
            .table(&tables.bids)
            .open()
            .map_err(|e| format!("sql open: {e}"))?;
        let name = Q::NAME;
        sql.execute(&format!("CREATE VIEW {name} AS {}", Q::SQL)).map_err(|e| format!("create view: {e}"))?;
        let subscription =
            sql.subscribe(&format!("SUBSCRIBE TO {name}")).map_err(|e| format!("subscribe: {e}"))?;
        let changes = SqlChanges::<Q> { subscription, query: PhantomData };
        let at = |t: Time| {
            let rows = sql
                .query(&format!("SELECT * FROM {name} AS OF {t}"))
                .map_err(|e| format!("read at {t}: {e}"))?;
            let flat: Vec<Q::Flat> = rows.decode().map_err(|e| format!("decode: {e}"))?;
            Ok(Some(flat.into_iter().map(|row| (Q::unflatten(row), 1)).collect()))
        };
        live::drive(engine, tables, input, options, at, changes)
    })
}

/// An SQL view's subscription, its rows decoded as `Q`'s.
struct SqlChanges<Q> {
    subscription: SqlSubscription,
    query: PhantomData<fn() -> Q>,
}

impl<Q: SqlQuery> Changes for SqlChanges<Q> {
    type Batch = SqlBatch;

    fn next_batch(&mut self) -> Option<Result<SqlBatch, String>> {
        self.subscription.next().map(|batch| batch.map_err(|e| e.to_string()))
    }

    fn upper(batch: &SqlBatch) -> Time {
        batch.upper
    }

    fn add(&self, batch: SqlBatch, answer: &mut Answer) -> Result<(), String> {
        if let Some((error, time, _)) = batch.errors.first() {
            return Err(format!("the SQL view holds an error at time {time}: {error}"));
        }
        for (row, _time, diff) in &batch.updates {
            let flat: Q::Flat = self.subscription.decode(row).map_err(|e| format!("decode: {e}"))?;
            answer.add(&Q::unflatten(flat), *diff);
        }
        Ok(())
    }
}
