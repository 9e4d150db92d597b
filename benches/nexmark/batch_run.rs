//! The batch run: the very definition of the live view, run once by `ivm::batch::run` over
//! every event.
//!
//! An engine is started only for its table handles (its one worker stays parked); the events
//! are copied into `BatchInputs` as untimed rows before the clock starts. Timed: the call to
//! `batch::run`, which returns the consolidated result.

use std::time::Instant;

use ivm::batch::{self, BatchInputs};
use ivm::{Config, Engine};

use crate::answer::{self, Answer};
use crate::args::ChildOptions;
use crate::child::Input;
use crate::measure::{cpu_seconds, memory_kib};
use crate::model::Event;
use crate::outcome::Outcome;
use crate::query::{Query, Tables};

/// Runs query `Q` once over all events with `batch::run`.
pub fn run<Q: Query>(input: &Input, options: &ChildOptions) -> Result<Outcome, String> {
    let engine = Engine::start(Config::default()).map_err(|e| format!("engine start: {e}"))?;
    let result = run_on::<Q>(&engine, input, options);
    engine.shutdown();
    result
}

fn run_on<Q: Query>(engine: &Engine, input: &Input, options: &ChildOptions) -> Result<Outcome, String> {
    let failed = |e: ivm::Error| format!("table: {e}");
    let tables = Tables {
        persons: engine.table("persons").map_err(failed)?,
        auctions: engine.table("auctions").map_err(failed)?,
        bids: engine.table("bids").map_err(failed)?,
    };
    let inputs = inputs(&tables, &input.events);
    let resident_kib = memory_kib().1;
    let (started, cpu) = (Instant::now(), cpu_seconds());
    let rows = batch::run(&Q::definition(&tables), &inputs, options.workers)
        .map_err(|e| format!("batch::run: {e}"))?;
    let seconds = started.elapsed().as_secs_f64();
    let cpu_seconds = cpu_seconds() - cpu;
    let peak_kib = memory_kib().0;
    let dumped = match &options.dump {
        Some(path) => answer::dump(&rows, path).map_err(|e| format!("dump {}: {e}", path.display()))?,
        None => false,
    };
    Ok(Outcome {
        transactions: 1,
        seconds,
        cpu_seconds,
        peak_mib: peak_kib.saturating_sub(resident_kib) as f64 / 1024.0,
        input_mib: resident_kib as f64 / 1024.0,
        answer: Answer::of(&rows),
        rows: rows.len() as u64,
        dumped,
        ..Outcome::default()
    })
}

/// Every event as an untimed row of its table.
fn inputs(tables: &Tables, events: &[Event]) -> BatchInputs {
    let (mut persons, mut auctions, mut bids) = (Vec::new(), Vec::new(), Vec::new());
    for event in events {
        match event {
            Event::Person(p) => persons.push(p.clone()),
            Event::Auction(a) => auctions.push(a.clone()),
            Event::Bid(b) => bids.push(b.clone()),
        }
    }
    BatchInputs::new()
        .table(&tables.persons, persons)
        .table(&tables.auctions, auctions)
        .table(&tables.bids, bids)
}
