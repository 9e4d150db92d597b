//! Nexmark q20, expand bid with auction: every bid on an auction of category 10, with the
//! auction's columns.
//!
//! ```sql
//! SELECT
//!     auction, bidder, price, channel, url, B.dateTime, B.extra,
//!     itemName, description, initialBid, reserve, A.dateTime, expires, seller, category, A.extra
//! FROM
//!     bid AS B INNER JOIN auction AS A on B.auction = A.id
//! WHERE A.category = 10;
//! ```
//!
//! **How ours differs.** Not at all; the sixteen columns are the named fields of [`Out`] (Rust
//! orders and hashes tuples of at most twelve).
//!
//! **Plan.** Filter the auctions to category 10 (a fifth of them) before the join, then join
//! them to the bids on the auction id. The join arranges both inputs: every bid, since any bid
//! may match an auction yet to come, and the auctions of category 10.

use differential_dataflow::VecCollection;
use hashbrown::HashMap;
use ivm::{Diff, Time};
use serde::{Deserialize, Serialize};

use crate::model::{Auction, Bid};
use crate::query::{Query, SqlQuery, State, Streams};

/// The category the query keeps.
const CATEGORY: u64 = 10;

/// q20's row: a bid's columns, then its auction's.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Out {
    pub auction: u64,
    pub bidder: u64,
    pub price: u64,
    pub channel: String,
    pub url: String,
    pub bid_date_time: u64,
    pub bid_extra: String,
    pub item_name: String,
    pub description: String,
    pub initial_bid: u64,
    pub reserve: u64,
    pub auction_date_time: u64,
    pub expires: u64,
    pub seller: u64,
    pub category: u64,
    pub auction_extra: String,
}

/// q20.
pub struct Q20;

impl Query for Q20 {
    type Out = Out;
    const NAME: &'static str = "q20";

    fn logic<'s>(inputs: Streams<'s>) -> VecCollection<'s, Time, Out, Diff> {
        let auctions = inputs.auctions.filter(|a| a.category == CATEGORY).map(|a| (a.id, a));
        inputs.bids.map(|bid| (bid.auction, bid)).join_map(auctions, |_id, bid, auction| row(bid, auction))
    }

    fn recompute(state: &State) -> Vec<(Out, Diff)> {
        let mut auctions: HashMap<u64, Vec<&Auction>> = HashMap::new();
        for auction in state.auctions.iter().filter(|a| a.category == CATEGORY) {
            auctions.entry(auction.id).or_default().push(auction);
        }
        let mut out = Vec::new();
        for bid in &state.bids {
            for auction in auctions.get(&bid.auction).into_iter().flatten() {
                out.push((row(bid, auction), 1));
            }
        }
        out
    }
}

impl SqlQuery for Q20 {
    const SQL: &'static str = "SELECT b.auction, b.bidder, b.price, b.channel, b.url, b.date_time AS bid_date_time, \
           b.extra AS bid_extra, a.item_name, a.description, a.initial_bid, a.reserve, \
           a.date_time AS auction_date_time, a.expires, a.seller, a.category, a.extra AS auction_extra \
         FROM bids AS b JOIN auctions AS a ON b.auction = a.id WHERE a.category = 10";

    type Flat = Out;

    fn unflatten(flat: Self::Flat) -> Out {
        flat
    }
}

fn row(bid: &Bid, auction: &Auction) -> Out {
    Out {
        auction: bid.auction,
        bidder: bid.bidder,
        price: bid.price,
        channel: bid.channel.clone(),
        url: bid.url.clone(),
        bid_date_time: bid.date_time,
        bid_extra: bid.extra.clone(),
        item_name: auction.item_name.clone(),
        description: auction.description.clone(),
        initial_bid: auction.initial_bid,
        reserve: auction.reserve,
        auction_date_time: auction.date_time,
        expires: auction.expires,
        seller: auction.seller,
        category: auction.category,
        auction_extra: auction.extra.clone(),
    }
}
