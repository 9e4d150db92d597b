//! Recomputation by DuckDB (feature `nexmark-duckdb`, or `nexmark-duckdb-linked` with a
//! prebuilt library): what a user would run instead of an
//! incremental engine. The events are loaded into three in-memory tables with an appender (not
//! timed); then the query's SQL runs over all of them, [`FINAL_REPEATS`] times on one thread
//! (`SET threads TO 1`, as the plain-Rust recompute), and its result is converted to the
//! query's row type, fingerprinted and compared with every other system.
//!
//! The SQL is written here, not in the query files, in DuckDB's dialect and to the exact
//! semantics of each query's Rust row (integer prices and averages, `yyyy-MM-dd` UTC days,
//! null for a missing url piece): q0, q1, q2, q3, q17 and q22 (`child::DUCKDB_QUERIES`; the
//! runner skips the others). The windowed, top-k and multi-join queries are left out.
//!
//! As with the plain-Rust recompute, `Outcome::seconds` estimates recomputing after every
//! transaction from the final recompute, scaled by each transaction's state size.

use std::time::Instant;

use duckdb::{Connection, Row, params};
use ivm::Diff;

use crate::answer::{self, Answer};
use crate::args::ChildOptions;
use crate::child::Input;
use crate::measure::{cpu_seconds, median, memory_kib};
use crate::model::Event;
use crate::outcome::Outcome;
use crate::queries::{q0, q1, q2, q3, q17, q22};
use crate::query::Query;
use crate::recompute::FINAL_REPEATS;

/// The three tables, with the rows' columns.
const SCHEMA: &str = "
CREATE TABLE person (id UBIGINT, name VARCHAR, email_address VARCHAR, credit_card VARCHAR,
    city VARCHAR, state VARCHAR, date_time UBIGINT, extra VARCHAR);
CREATE TABLE auction (id UBIGINT, item_name VARCHAR, description VARCHAR, initial_bid UBIGINT,
    reserve UBIGINT, date_time UBIGINT, expires UBIGINT, seller UBIGINT, category UBIGINT,
    extra VARCHAR);
CREATE TABLE bid (auction UBIGINT, bidder UBIGINT, price UBIGINT, channel VARCHAR, url VARCHAR,
    date_time UBIGINT, extra VARCHAR);
SET threads TO 1;
";

/// The UTC day of a `date_time` in ms, as `yyyy-MM-dd`.
const DAY: &str = "strftime(make_timestamp((date_time * 1000)::BIGINT), '%Y-%m-%d')";

/// What one query's SQL returned: fingerprint, distinct rows, whether dumped.
type Fetched = (Answer, u64, bool);

/// Recomputes query `Q` with DuckDB.
pub fn run<Q: Query>(input: &Input, options: &ChildOptions) -> Result<Outcome, String> {
    let failed = |e: duckdb::Error| format!("duckdb: {e}");
    let connection = Connection::open_in_memory().map_err(failed)?;
    connection.execute_batch(SCHEMA).map_err(failed)?;
    load(&connection, &input.events).map_err(failed)?;
    let resident_kib = memory_kib().1;
    let cpu = cpu_seconds();
    let mut times = Vec::new();
    let mut fetched = None;
    for _ in 0..FINAL_REPEATS {
        let started = Instant::now();
        fetched = Some(query(Q::NAME, &connection, options)?);
        times.push(started.elapsed().as_secs_f64());
    }
    let (answer, rows, dumped) = fetched.expect("at least one repeat");
    let final_seconds = median(times);
    let transactions = input.events.len().div_ceil(options.batch as usize).max(1);
    // Recomputing after transaction k of n costs about k/n of the final recompute.
    let estimate = final_seconds * (transactions + 1) as f64 / 2.0;
    Ok(Outcome {
        transactions: transactions as u64,
        seconds: estimate,
        cpu_seconds: cpu_seconds() - cpu,
        peak_mib: memory_kib().0.saturating_sub(resident_kib) as f64 / 1024.0,
        input_mib: resident_kib as f64 / 1024.0,
        answer,
        rows,
        dumped,
        recomputes: FINAL_REPEATS as u64,
        recompute_final_seconds: Some(final_seconds),
        ..Outcome::default()
    })
}

/// Appends every event to its table.
fn load(connection: &Connection, events: &[Event]) -> duckdb::Result<()> {
    let mut persons = connection.appender("person")?;
    let mut auctions = connection.appender("auction")?;
    let mut bids = connection.appender("bid")?;
    for event in events {
        match event {
            Event::Person(p) => persons.append_row(params![
                p.id,
                p.name,
                p.email_address,
                p.credit_card,
                p.city,
                p.state,
                p.date_time,
                p.extra
            ])?,
            Event::Auction(a) => auctions.append_row(params![
                a.id,
                a.item_name,
                a.description,
                a.initial_bid,
                a.reserve,
                a.date_time,
                a.expires,
                a.seller,
                a.category,
                a.extra
            ])?,
            Event::Bid(b) => bids.append_row(params![
                b.auction,
                b.bidder,
                b.price,
                b.channel,
                b.url,
                b.date_time,
                b.extra
            ])?,
        }
    }
    persons.flush()?;
    auctions.flush()?;
    bids.flush()
}

/// Runs the SQL of the query named `name`.
fn query(name: &str, connection: &Connection, options: &ChildOptions) -> Result<Fetched, String> {
    match name {
        "q0" => fetch::<q0::Out>(
            connection,
            "SELECT auction, bidder, price, date_time, extra FROM bid",
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            options,
        ),
        "q1" => fetch::<q1::Out>(
            connection,
            "SELECT auction, bidder, 908 * price, date_time, extra FROM bid",
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            options,
        ),
        "q2" => fetch::<q2::Out>(
            connection,
            "SELECT auction, price FROM bid WHERE auction % 123 = 0",
            |r| Ok((r.get(0)?, r.get(1)?)),
            options,
        ),
        "q3" => fetch::<q3::Out>(
            connection,
            "SELECT P.name, P.city, P.state, A.id FROM auction AS A JOIN person AS P ON A.seller = P.id
             WHERE A.category = 10 AND P.state IN ('or', 'id', 'ca')",
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            options,
        ),
        "q17" => fetch::<q17::Out>(
            connection,
            &format!(
                "SELECT auction, {DAY} AS day, count(*)::UBIGINT,
                    (count(*) FILTER (WHERE price < 10000))::UBIGINT,
                    (count(*) FILTER (WHERE price >= 10000 AND price < 1000000))::UBIGINT,
                    (count(*) FILTER (WHERE price >= 1000000))::UBIGINT,
                    min(price), max(price), (sum(price) // count(*))::UBIGINT, sum(price)::UBIGINT
                 FROM bid GROUP BY auction, day"
            ),
            |r| {
                let get = |i| r.get::<_, u64>(i);
                Ok((
                    get(0)?,
                    r.get(1)?,
                    get(2)?,
                    get(3)?,
                    get(4)?,
                    get(5)?,
                    get(6)?,
                    get(7)?,
                    get(8)?,
                    get(9)?,
                ))
            },
            options,
        ),
        "q22" => fetch::<q22::Out>(
            connection,
            "SELECT auction, bidder, price, channel, string_split(url, '/')[4],
                string_split(url, '/')[5], string_split(url, '/')[6] FROM bid",
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)),
            options,
        ),
        other => Err(format!("no DuckDB SQL for {other} in the harness (see BENCHMARKS.md)")),
    }
}

/// Runs `sql`, converts each row with `convert`, and fingerprints (and perhaps dumps) the result.
fn fetch<R: Ord + std::hash::Hash + std::fmt::Debug>(
    connection: &Connection,
    sql: &str,
    convert: impl Fn(&Row) -> duckdb::Result<R>,
    options: &ChildOptions,
) -> Result<Fetched, String> {
    let failed = |e: duckdb::Error| format!("duckdb: {e}");
    let mut statement = connection.prepare(sql).map_err(failed)?;
    let rows: Vec<(R, Diff)> = statement
        .query_map([], |row| convert(row).map(|r| (r, 1)))
        .map_err(failed)?
        .collect::<Result<_, _>>()
        .map_err(failed)?;
    let rows = answer::consolidate(rows);
    let dumped = match &options.dump {
        Some(path) => answer::dump(&rows, path).map_err(|e| format!("dump {}: {e}", path.display()))?,
        None => false,
    };
    Ok((Answer::of(&rows), rows.len() as u64, dumped))
}
