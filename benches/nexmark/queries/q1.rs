//! Nexmark q1, currency conversion: every bid with its price converted from dollars to euros.
//!
//! ```sql
//! SELECT auction, bidder, 0.908 * price AS price, date_time, extra FROM bid;
//! ```
//!
//! The SQL's price is a `DECIMAL(23, 3)`: the exact product with three decimals. Rows here hold
//! no decimals (nor floats, which are not `Ord`), so the price is that decimal scaled by 1,000:
//! `908 * price`, in thousandths of a euro cent (bid prices are in cents). Nothing is rounded.

use differential_dataflow::VecCollection;
use ivm::{Diff, Time};

use crate::model::Bid;
use crate::query::{Query, SqlQuery, State, Streams};

/// q1's row: `(auction, bidder, price in thousandths of a euro cent, date_time, extra)`.
pub type Out = (u64, u64, u64, u64, String);

/// q1.
pub struct Q1;

impl Query for Q1 {
    type Out = Out;
    const NAME: &'static str = "q1";

    fn logic<'s>(inputs: Streams<'s>) -> VecCollection<'s, Time, Out, Diff> {
        inputs.bids.map(row)
    }

    fn recompute(state: &State) -> Vec<(Out, Diff)> {
        state.bids.iter().cloned().map(|bid| (row(bid), 1)).collect()
    }
}

impl SqlQuery for Q1 {
    const SQL: &'static str = "SELECT auction, bidder, 908 * price, date_time, extra FROM bids";

    type Flat = Out;

    fn unflatten(flat: Self::Flat) -> Out {
        flat
    }
}

/// 0.908 euro to the dollar, as an exact integer product.
fn row(bid: Bid) -> Out {
    (bid.auction, bid.bidder, 908 * bid.price, bid.date_time, bid.extra)
}
