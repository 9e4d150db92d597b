//! The recomputation baseline: after every transaction, the query's whole result computed from
//! scratch over every event so far by its plain-Rust oracle ([`Query::recompute`]).
//!
//! Recomputing after each of 250 transactions of a 10M-event run would take hours, so the
//! loop recomputes after every transaction only while its total recompute time stays within
//! [`BUDGET_SECONDS`]; after that, only the final state is recomputed, [`FINAL_REPEATS`] times
//! (its median is the figure the speedups use). The time the full loop would have taken is
//! then estimated from the final recompute, scaled linearly by the state size of each
//! transaction that was skipped: `Outcome::seconds` is that estimate (exact when nothing was
//! skipped), and `recomputes` says how many were really run.

use std::time::Instant;

use crate::answer::{self, Answer};
use crate::args::ChildOptions;
use crate::child::Input;
use crate::measure::{cpu_seconds, median, memory_kib};
use crate::model::Event;
use crate::outcome::Outcome;
use crate::query::{Query, State};

/// Seconds of recomputation the loop may spend before it stops recomputing every transaction.
pub const BUDGET_SECONDS: f64 = 10.0;
/// Recomputes of the final state; the median is reported.
pub const FINAL_REPEATS: usize = 3;

/// Runs query `Q`'s oracle after transactions.
pub fn run<Q: Query>(input: &Input, options: &ChildOptions) -> Result<Outcome, String> {
    let (cpu, mut state) = (cpu_seconds(), State::default());
    let chunks: Vec<&[Event]> = input.events.chunks(options.batch as usize).collect();
    let (mut spent, mut recomputes, mut skipped_events) = (0.0, 0u64, 0.0);
    for (k, chunk) in chunks.iter().enumerate() {
        append(&mut state, chunk);
        let last = k + 1 == chunks.len();
        if spent < BUDGET_SECONDS && !last {
            let started = Instant::now();
            drop(Q::recompute(&state));
            spent += started.elapsed().as_secs_f64();
            recomputes += 1;
        } else if !last {
            skipped_events += state_size(&state) as f64;
        }
    }
    let mut finals = Vec::new();
    let mut result = Vec::new();
    for _ in 0..FINAL_REPEATS {
        let started = Instant::now();
        result = Q::recompute(&state);
        finals.push(started.elapsed().as_secs_f64());
    }
    let peak_kib = memory_kib().0;
    let cpu_seconds = cpu_seconds() - cpu;
    let final_seconds = median(finals);
    let estimate = spent + final_seconds * (1.0 + skipped_events / state_size(&state).max(1) as f64);
    let rows = answer::consolidate(result);
    let dumped = match &options.dump {
        Some(path) => answer::dump(&rows, path).map_err(|e| format!("dump {}: {e}", path.display()))?,
        None => false,
    };
    Ok(Outcome {
        transactions: chunks.len() as u64,
        seconds: estimate,
        cpu_seconds,
        peak_mib: peak_kib.saturating_sub(input.resident_kib) as f64 / 1024.0,
        input_mib: input.resident_kib as f64 / 1024.0,
        answer: Answer::of(&rows),
        rows: rows.len() as u64,
        dumped,
        recomputes: recomputes + 1,
        recompute_loop_seconds: spent,
        recompute_final_seconds: Some(final_seconds),
        ..Outcome::default()
    })
}

/// Adds clones of `events` to `state`.
fn append(state: &mut State, events: &[Event]) {
    for event in events {
        match event {
            Event::Person(p) => state.persons.push(p.clone()),
            Event::Auction(a) => state.auctions.push(a.clone()),
            Event::Bid(b) => state.bids.push(b.clone()),
        }
    }
}

/// Events in `state`.
fn state_size(state: &State) -> usize {
    state.persons.len() + state.auctions.len() + state.bids.len()
}
