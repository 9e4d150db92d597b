//! Nexmark q0, pass-through: every bid, unchanged.
//!
//! ```sql
//! SELECT auction, bidder, price, date_time, extra FROM bid;
//! ```

use differential_dataflow::VecCollection;
use ivm::{Diff, Time};

use crate::model::Bid;
use crate::query::{Query, SqlQuery, State, Streams};

/// q0's row: `(auction, bidder, price, date_time, extra)`.
pub type Out = (u64, u64, u64, u64, String);

/// q0.
pub struct Q0;

impl Query for Q0 {
    type Out = Out;
    const NAME: &'static str = "q0";

    fn logic<'s>(inputs: Streams<'s>) -> VecCollection<'s, Time, Out, Diff> {
        inputs.bids.map(row)
    }

    fn recompute(state: &State) -> Vec<(Out, Diff)> {
        state.bids.iter().cloned().map(|bid| (row(bid), 1)).collect()
    }
}

impl SqlQuery for Q0 {
    const SQL: &'static str = "SELECT auction, bidder, price, date_time, extra FROM bids";

    type Flat = Out;

    fn unflatten(flat: Self::Flat) -> Out {
        flat
    }
}

fn row(bid: Bid) -> Out {
    (bid.auction, bid.bidder, bid.price, bid.date_time, bid.extra)
}
