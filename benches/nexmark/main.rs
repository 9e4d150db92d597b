//! The Nexmark harness: `cargo bench --bench nexmark -- --help`.
//!
//! (Being built: see issue 6. The harness lead owns this file.)

mod model;
mod queries;
mod query;

fn main() {
    let events = model::generate(1000, 0);
    let bids = events.iter().filter(|e| matches!(e, model::Event::Bid(_))).count();
    println!("{} events, {bids} bids", events.len());
}
