//! Nexmark q19, auction top-10 price: the ten highest bids of each auction.
//!
//! ```sql
//! SELECT * FROM
//! (SELECT *, ROW_NUMBER() OVER (PARTITION BY auction ORDER BY price DESC) AS rank_number FROM bid)
//! WHERE rank_number <= 10;
//! ```
//!
//! **How ours differs.** Ties are broken deterministically: `ROW_NUMBER` orders bids of equal
//! price arbitrarily, ours by the bid's remaining columns, ascending (bidder, then channel,
//! url, `date_time` and extra). Identical bids take one rank each, as with `ROW_NUMBER`.
//!
//! **Plan.** One `reduce` per auction over values `(Reverse(price), bid)`: differential hands
//! them over sorted, so the top ten are the first ten, with no sort. Groups stay small: a hot
//! auction gets about 1,500 bids before the next one takes over.

use std::cmp::Reverse;

use differential_dataflow::VecCollection;
use hashbrown::HashMap;
use ivm::{Diff, Time};

use crate::model::Bid;
use crate::query::{Query, SqlQuery, State, Streams};

/// How many bids per auction.
const TOP: usize = 10;

/// q19's row: `(auction, bidder, price, channel, url, date_time, extra, rank_number)`.
pub type Out = (u64, u64, u64, String, String, u64, String, u64);

/// q19.
pub struct Q19;

impl Query for Q19 {
    type Out = Out;
    const NAME: &'static str = "q19";

    fn logic<'s>(inputs: Streams<'s>) -> VecCollection<'s, Time, Out, Diff> {
        inputs
            .bids
            .map(|bid| (bid.auction, (Reverse(bid.price), bid)))
            .reduce(|_auction, ordered, out| {
                let copies = ordered.iter().flat_map(|((_, bid), count)| (0..*count).map(move |_| bid));
                for (rank, bid) in copies.take(TOP).enumerate() {
                    out.push(((rank as u64 + 1, bid.clone()), 1));
                }
            })
            .map(|(_auction, (rank, bid))| row(bid, rank))
    }

    fn recompute(state: &State) -> Vec<(Out, Diff)> {
        let mut auctions: HashMap<u64, Vec<&Bid>> = HashMap::new();
        for bid in &state.bids {
            auctions.entry(bid.auction).or_default().push(bid);
        }
        let mut out = Vec::new();
        for mut bids in auctions.into_values() {
            bids.sort_by(|a, b| (Reverse(a.price), a).cmp(&(Reverse(b.price), b)));
            for (rank, bid) in bids.into_iter().take(TOP).enumerate() {
                out.push((row(bid.clone(), rank as u64 + 1), 1));
            }
        }
        out
    }
}

/// In SQL, with the same ties broken the same way (the ORDER BY spells out the bid's order).
impl SqlQuery for Q19 {
    const SQL: &'static str = "SELECT auction, bidder, price, channel, url, date_time, extra, rank_number \
         FROM ( \
           SELECT *, ROW_NUMBER() OVER ( \
             PARTITION BY auction \
             ORDER BY price DESC, bidder, channel, url, date_time, extra) AS rank_number \
           FROM bids \
         ) AS r WHERE rank_number <= 10";

    type Flat = Out;

    fn unflatten(flat: Self::Flat) -> Out {
        flat
    }
}

fn row(bid: Bid, rank: u64) -> Out {
    (bid.auction, bid.bidder, bid.price, bid.channel, bid.url, bid.date_time, bid.extra, rank)
}
