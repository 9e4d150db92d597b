//! Nexmark q18, find last bid: each bidder's latest bid on each auction.
//!
//! ```sql
//! SELECT auction, bidder, price, channel, url, dateTime, extra
//!  FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY bidder, auction ORDER BY dateTime DESC) AS rank_number
//!        FROM bid)
//!  WHERE rank_number <= 1;
//! ```
//!
//! **How ours differs.** Ties are broken deterministically: `ROW_NUMBER` picks an arbitrary one
//! among bids with the same `dateTime`, ours picks the greatest in the bid's column order
//! (price, then channel, url and extra; auction and bidder are the partition). Identical bids
//! count as one row, as `ROW_NUMBER` numbers each copy and keeps the first. Flink runs this as
//! a deduplication that keeps only the last row per key because its input is append-only; a
//! view must stay exact when bids are deleted, so it keeps every bid to fall back on.
//!
//! **Plan.** One `reduce` per (bidder, auction) over the pair's bids, keeping the latest.

use differential_dataflow::VecCollection;
use hashbrown::HashMap;
use ivm::{Diff, Time};

use crate::model::Bid;
use crate::query::{Query, SqlQuery, State, Streams};

/// q18's row: `(auction, bidder, price, channel, url, date_time, extra)`.
pub type Out = (u64, u64, u64, String, String, u64, String);

/// q18.
pub struct Q18;

impl Query for Q18 {
    type Out = Out;
    const NAME: &'static str = "q18";

    fn logic<'s>(inputs: Streams<'s>) -> VecCollection<'s, Time, Out, Diff> {
        inputs
            .bids
            .map(|bid| ((bid.bidder, bid.auction), bid))
            .reduce(|_pair, bids, out| {
                let present = bids.iter().filter(|(_, count)| *count > 0).map(|(bid, _)| *bid);
                if let Some(latest) = present.max_by(|a, b| order(a).cmp(&order(b))) {
                    out.push((latest.clone(), 1));
                }
            })
            .map(|(_pair, bid)| row(bid))
    }

    fn recompute(state: &State) -> Vec<(Out, Diff)> {
        let mut latest: HashMap<(u64, u64), &Bid> = HashMap::new();
        for bid in &state.bids {
            let slot = latest.entry((bid.bidder, bid.auction)).or_insert(bid);
            if order(bid) > order(slot) {
                *slot = bid;
            }
        }
        latest.into_values().map(|bid| (row(bid.clone()), 1)).collect()
    }
}

/// The order of `ORDER BY dateTime`, ties broken by the whole bid.
fn order(bid: &Bid) -> (u64, &Bid) {
    (bid.date_time, bid)
}

/// In SQL, with the same ties broken the same way (the ORDER BY spells out the bid's order).
impl SqlQuery for Q18 {
    const SQL: &'static str = "SELECT auction, bidder, price, channel, url, date_time, extra \
         FROM ( \
           SELECT *, ROW_NUMBER() OVER ( \
             PARTITION BY bidder, auction \
             ORDER BY date_time DESC, price DESC, channel DESC, url DESC, extra DESC) AS rank_number \
           FROM bids \
         ) AS r WHERE rank_number <= 1";

    type Flat = Out;

    fn unflatten(flat: Self::Flat) -> Out {
        flat
    }
}

fn row(bid: Bid) -> Out {
    (bid.auction, bid.bidder, bid.price, bid.channel, bid.url, bid.date_time, bid.extra)
}
