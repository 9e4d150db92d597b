//! One child process: one query on one system with one worker count.
//!
//! The parent re-runs this binary with `--child MODE QUERY`, so the process's peak memory and
//! CPU time belong to that run alone. The child generates the events into memory first (not
//! timed), measures how much memory they take, runs the system and prints its [`Outcome`] as
//! one JSON line prefixed with [`LINE_PREFIX`](crate::outcome::LINE_PREFIX).

use crate::args::{ChildOptions, Mode};
use crate::measure::memory_kib;
use crate::model::{self, Event};
use crate::outcome::{LINE_PREFIX, Outcome};
use crate::query::Query;
use crate::{bare, batch_run, live, recompute, sql_live};

/// The queries `duckdb.rs` has SQL for.
const DUCKDB_QUERIES: [&str; 6] = ["q0", "q1", "q2", "q3", "q17", "q22"];

/// The events of a run, generated before anything is timed.
pub struct Input {
    /// The run's events, in order.
    pub events: Vec<Event>,
    /// Events after them, for the live run's tail of small transactions.
    pub tail: Vec<Event>,
    /// Resident memory once they are generated, in KiB: subtracted from the peak.
    pub resident_kib: u64,
}

impl Input {
    /// Generates the events `options` asks for (and the tail for the live mode).
    fn generate(options: &ChildOptions) -> Input {
        let events = model::generate(options.events as usize, options.seed);
        let tail = match options.mode {
            Mode::Live | Mode::Streamed | Mode::Sql => {
                let count = live::TAIL_BATCH * live::TAIL_TRANSACTIONS;
                model::generate(count as usize, options.seed + options.events)
            }
            _ => Vec::new(),
        };
        Input { events, tail, resident_kib: memory_kib().1 }
    }
}

/// Runs the child and prints its outcome line; the error is for stderr.
pub fn main(options: &ChildOptions) -> Result<(), String> {
    let outcome = dispatch(options)?;
    let line = serde_json::to_string(&outcome).map_err(|e| format!("outcome to JSON: {e}"))?;
    println!("{LINE_PREFIX}{line}");
    Ok(())
}

/// Finds the query by name and runs it.
fn dispatch(options: &ChildOptions) -> Result<Outcome, String> {
    if options.mode == Mode::Sql {
        macro_rules! run_sql_if_named {
            ($query:ty) => {
                if options.query == <$query as Query>::NAME {
                    return finish::<$query>(
                        sql_live::run::<$query>(&Input::generate(options), options)?,
                        options,
                    );
                }
            };
        }
        crate::for_each_sql_query!(run_sql_if_named);
        return Err(format!("query `{}` has no SQL in the harness", options.query));
    }
    macro_rules! run_if_named {
        ($query:ty) => {
            if options.query == <$query as Query>::NAME {
                return run::<$query>(options);
            }
        };
    }
    crate::for_each_query!(run_if_named);
    Err(format!("unknown query `{}`", options.query))
}

/// Runs query `Q` on the system `options` names.
fn run<Q: Query>(options: &ChildOptions) -> Result<Outcome, String> {
    let input = Input::generate(options);
    let outcome = match options.mode {
        Mode::Live | Mode::Streamed => live::run::<Q>(&input, options),
        Mode::Sql => unreachable!("dispatched to sql_live"),
        Mode::Bare | Mode::BareArranged => bare::run::<Q>(input, options),
        Mode::Batch => batch_run::run::<Q>(&input, options),
        Mode::Recompute => recompute::run::<Q>(&input, options),
        Mode::Duckdb => duckdb_run::<Q>(&input, options),
    }?;
    finish::<Q>(outcome, options)
}

/// The outcome with what identifies the run.
fn finish<Q: Query>(outcome: Outcome, options: &ChildOptions) -> Result<Outcome, String> {
    Ok(Outcome {
        query: Q::NAME.to_string(),
        mode: options.mode.name().to_string(),
        workers: if options.mode.single_threaded() { 1 } else { options.workers },
        events: options.events,
        batch: options.batch,
        ..outcome
    })
}

#[cfg(feature = "nexmark-duckdb-linked")]
fn duckdb_run<Q: Query>(input: &Input, options: &ChildOptions) -> Result<Outcome, String> {
    crate::duckdb::run::<Q>(input, options)
}

#[cfg(not(feature = "nexmark-duckdb-linked"))]
fn duckdb_run<Q: Query>(_input: &Input, _options: &ChildOptions) -> Result<Outcome, String> {
    Err("this build has no DuckDB: build with --features nexmark-duckdb".into())
}

/// Whether the query named `query` is written in `ivm`'s SQL too.
pub fn sql_has(query: &str) -> bool {
    let mut found = false;
    macro_rules! find {
        ($query:ty) => {
            found |= <$query as Query>::NAME == query;
        };
    }
    crate::for_each_sql_query!(find);
    found
}

/// Whether the harness has DuckDB SQL for the query named `query`.
pub fn duckdb_has(query: &str) -> bool {
    DUCKDB_QUERIES.contains(&query)
}
