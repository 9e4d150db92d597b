//! Nexmark q2, selection: the bids on every 123rd auction, with their price.
//!
//! ```sql
//! SELECT auction, price FROM bid WHERE MOD(auction, 123) = 0;
//! ```
//!
//! As in the Flink and RisingWave suites; the original Nexmark picked five fixed auction ids,
//! which yields only a few hundred rows on streams of any size.

use differential_dataflow::VecCollection;
use ivm::{Diff, Time};

use crate::query::{Query, SqlQuery, State, Streams};

/// q2's row: `(auction, price)`.
pub type Out = (u64, u64);

/// q2.
pub struct Q2;

impl Query for Q2 {
    type Out = Out;
    const NAME: &'static str = "q2";

    fn logic<'s>(inputs: Streams<'s>) -> VecCollection<'s, Time, Out, Diff> {
        inputs.bids.filter(|bid| selected(bid.auction)).map(|bid| (bid.auction, bid.price))
    }

    fn recompute(state: &State) -> Vec<(Out, Diff)> {
        let rows = state.bids.iter().filter(|bid| selected(bid.auction));
        rows.map(|bid| ((bid.auction, bid.price), 1)).collect()
    }
}

impl SqlQuery for Q2 {
    const SQL: &'static str = "SELECT auction, price FROM bids WHERE auction % 123 = 0";

    type Flat = Out;

    fn unflatten(flat: Self::Flat) -> Out {
        flat
    }
}

fn selected(auction: u64) -> bool {
    auction.is_multiple_of(123)
}
