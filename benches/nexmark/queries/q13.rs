//! Nexmark q13, bounded side input join: each bid enriched with a value looked up in a small
//! static table.
//!
//! ```sql
//! CREATE TABLE side_input (
//!   key BIGINT,
//!   `value` VARCHAR
//! ) WITH (
//!   'connector.type' = 'filesystem',
//!   'connector.path' = 'file://${FLINK_HOME}/data/side_input.txt',
//!   'format.type' = 'csv'
//! );
//!
//! SELECT
//!     B.auction,
//!     B.bidder,
//!     B.price,
//!     B.dateTime,
//!     S.`value`
//! FROM (SELECT *, PROCTIME() as p_time FROM bid) B
//! JOIN side_input FOR SYSTEM_TIME AS OF B.p_time AS S
//! ON mod(B.auction, 10000) = S.key;
//! ```
//!
//! **How ours differs.** The side input is not a file: it is RisingWave's version of it, the
//! 10,000 rows `(v, v as text)` for `v` in `0..10000`, given as a function of the key. The join
//! is a lookup join (`FOR SYSTEM_TIME AS OF` processing time) against a table that never
//! changes, so every bid matches exactly one side row and the join is a `map` that computes
//! that row's value; the view keeps no state for it. (A differential `join` against a constant
//! collection would give the same rows but arrange every bid, to be ready for side-input
//! changes that never come.) `dateTime` is the bid's `date_time`.

use differential_dataflow::VecCollection;
use ivm::{Diff, Time};

use crate::model::Bid;
use crate::query::{Query, SqlQuery, State, Streams};

/// The number of rows of the side input.
const SIDE_ROWS: u64 = 10_000;

/// q13's row: `(auction, bidder, price, date_time, value)`.
pub type Out = (u64, u64, u64, u64, String);

/// q13.
pub struct Q13;

impl Query for Q13 {
    type Out = Out;
    const NAME: &'static str = "q13";

    fn logic<'s>(inputs: Streams<'s>) -> VecCollection<'s, Time, Out, Diff> {
        inputs.bids.map(|bid| row(&bid))
    }

    fn recompute(state: &State) -> Vec<(Out, Diff)> {
        state.bids.iter().map(|bid| (row(bid), 1)).collect()
    }
}

/// In SQL with the side input's value computed from the key, as the view does:
/// `CAST(auction % 10000 AS TEXT)` is the `value` of the side row whose key is
/// `mod(auction, 10000)`.
impl SqlQuery for Q13 {
    const SQL: &'static str =
        "SELECT auction, bidder, price, date_time, CAST(auction % 10000 AS TEXT) AS value FROM bids";

    type Flat = Out;

    fn unflatten(flat: Self::Flat) -> Out {
        flat
    }
}

/// The side input's value for `key`: the key as decimal text.
fn side_value(key: u64) -> String {
    key.to_string()
}

fn row(bid: &Bid) -> Out {
    (bid.auction, bid.bidder, bid.price, bid.date_time, side_value(bid.auction % SIDE_ROWS))
}
