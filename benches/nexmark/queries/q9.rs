//! Nexmark q9, winning bids: every auction with its highest bid placed while it was open.
//!
//! ```sql
//! SELECT id, item_name, description, initial_bid, reserve, date_time, expires, seller,
//!        category, extra, auction, bidder, price, bid_date_time, bid_extra
//! FROM (
//!   SELECT A.*, B.auction, B.bidder, B.price, B.date_time AS bid_date_time,
//!          B.extra AS bid_extra,
//!          ROW_NUMBER() OVER (PARTITION BY A.id ORDER BY B.price DESC, B.date_time ASC) AS rownum
//!   FROM auction A, bid B
//!   WHERE A.id = B.auction AND B.date_time BETWEEN A.date_time AND A.expires
//! )
//! WHERE rownum <= 1;
//! ```
//!
//! How this version differs, and why:
//! - **Ties.** Bids equal in price and `date_time` are ordered by bidder, then extra, so the
//!   answer is one deterministic row per auction; the SQL leaves that choice to the engine.
//! - **Open auctions are included.** Beam's `WinningBids` emits an auction once the watermark
//!   passes its `expires` (and only if the price reaches the reserve). Like the SQL above, this
//!   view has no watermark: an auction is in the result as soon as it has a bid in its window,
//!   and its row changes while higher bids arrive. That is the answer over all events so far.
//!
//! Plan: the join and the ranking are one `reduce`. Auctions (their id and window only) and
//! bids, both keyed by auction id, are concatenated (a co-group), and for each id the reduce
//! picks the best bid within the auction's window. The bids are held once, in the reduce's
//! input arrangement, with only the fields the query uses, and the bid's `extra` as a shared
//! [`Text`] so that merging that arrangement copies no strings; a `join` followed by a
//! `reduce` would arrange the bids twice. The reduce's output arrangement (one winner per
//! auction) is then joined with the auctions arranged by id for the auction's columns, so
//! the auctions' strings stay out of the reduce. [`winning_bids`] is that core with the kept
//! fields left to the caller; q4 and q6 use it too, keeping only what they need.

use std::cmp::Reverse;

use differential_dataflow::operators::arrange::{Arranged, TraceAgent};
use differential_dataflow::trace::implementations::{ValBuilder, ValSpine};
use differential_dataflow::{ExchangeData, VecCollection};
use hashbrown::HashMap;
use ivm::{Diff, Time};
use serde::{Deserialize, Serialize};

use crate::model::{Auction, Bid};
use crate::queries::text::Text;
use crate::query::{Query, SqlQuery, State, Streams};

/// q9's row: the auction, then `(auction, bidder, price, bid date_time, bid extra)`.
pub type Out = (Auction, (u64, u64, u64, u64, String));

/// q9.
pub struct Q9;

impl Query for Q9 {
    type Out = Out;
    const NAME: &'static str = "q9";

    fn logic<'s>(inputs: Streams<'s>) -> VecCollection<'s, Time, Out, Diff> {
        let windows = inputs.auctions.clone().map(|a| (a.id, a.date_time, a.expires, ()));
        let bids = inputs.bids.map(|b| (b.auction, b.price, b.date_time, (b.bidder, Text::from(b.extra))));
        let auctions = inputs.auctions.map(|a| (a.id, a)).arrange_by_key();
        winning_bids(windows, bids).join_core(auctions, |_, (window, winner), auction| {
            let (open, expires, ()) = window;
            let (price, date_time, (bidder, extra)) = winner;
            let same = (auction.date_time, auction.expires) == (*open, *expires);
            same.then(|| {
                let bid = (auction.id, *bidder, *price, *date_time, extra.to_owned_string());
                (auction.clone(), bid)
            })
        })
    }

    fn recompute(state: &State) -> Vec<(Out, Diff)> {
        let winners = recompute_winners(state, |b| (b.bidder, b.extra.clone()));
        let rows = winners.into_iter().map(|(auction, (price, date_time, (bidder, extra)))| {
            (auction.clone(), (auction.id, bidder, price, date_time, extra))
        });
        rows.map(|row| (row, 1)).collect()
    }
}

impl SqlQuery for Q9 {
    const SQL: &'static str = "SELECT id, item_name, description, initial_bid, reserve, date_time, expires, seller, category, \
                extra, auction, bidder, price, bid_date_time, bid_extra \
         FROM ( \
           SELECT a.*, b.auction, b.bidder, b.price, b.date_time AS bid_date_time, b.extra AS bid_extra, \
             ROW_NUMBER() OVER (PARTITION BY a.id ORDER BY b.price DESC, b.date_time, b.bidder, b.extra) AS rownum \
           FROM auctions AS a JOIN bids AS b ON a.id = b.auction \
           WHERE b.date_time BETWEEN a.date_time AND a.expires \
         ) AS w WHERE rownum <= 1";

    type Flat = (u64, String, String, u64, u64, u64, u64, u64, u64, String, u64, u64, u64, u64, String);

    fn unflatten(flat: Self::Flat) -> Out {
        let (id, item_name, description, initial_bid, reserve, date_time, expires, seller, category, extra) =
            (flat.0, flat.1, flat.2, flat.3, flat.4, flat.5, flat.6, flat.7, flat.8, flat.9);
        let auction = Auction {
            id,
            item_name,
            description,
            initial_bid,
            reserve,
            date_time,
            expires,
            seller,
            category,
            extra,
        };
        (auction, (flat.10, flat.11, flat.12, flat.13, flat.14))
    }
}

/// One input of the co-group, keyed by auction id: an auction's bidding window and what the
/// query keeps of it (`A`), or a bid's price and time and what the query keeps of it (`B`).
///
/// The derived order puts an id's auctions before its bids, and its bids by price, then time.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum Side<A, B> {
    Auction { date_time: u64, expires: u64, keep: A },
    Bid { price: u64, date_time: u64, keep: B },
}

/// The auctions' winning bids, arranged by auction id.
///
/// Values are `((date_time, expires, keep), (price, bid date_time, bid keep))`: the auction's
/// window and what is kept of it, then its winner.
pub type Winners<'s, A, B> = Arranged<'s, TraceAgent<ValSpine<u64, Winner<A, B>, Time, Diff>>>;

/// An auction's window and kept fields, and its winning bid's price, time and kept fields.
pub type Winner<A, B> = ((u64, u64, A), (u64, u64, B));

/// Each auction with its winning bid, arranged by auction id.
///
/// `auctions` are `(id, date_time, expires, keep)`, `bids` are
/// `(auction, price, date_time, keep)`. An auction's winner is its highest bid with `date_time`
/// in `[auction date_time, expires]`, ties going to the earliest, then to the least `keep`.
/// Auctions without such a bid have no row; auctions alike in id, window and `keep` have one.
pub fn winning_bids<'s, A: ExchangeData, B: ExchangeData>(
    auctions: VecCollection<'s, Time, (u64, u64, u64, A), Diff>,
    bids: VecCollection<'s, Time, (u64, u64, u64, B), Diff>,
) -> Winners<'s, A, B> {
    let auctions =
        auctions.map(|(id, date_time, expires, keep)| (id, Side::Auction { date_time, expires, keep }));
    let bids = bids.map(|(auction, price, date_time, keep)| (auction, Side::Bid { price, date_time, keep }));
    auctions
        .concat(bids)
        .arrange_by_key_named("Arrange: WinningBids")
        .reduce_abelian::<_, ValBuilder<_, _, _, _>, ValSpine<_, _, _, _>, _, _>(
            "WinningBids",
            pick_winners,
            |batch, id, winners| {
                batch.clear();
                batch.extend(winners.drain(..).map(|(w, t, r)| ((*id, w), t, r)));
            },
        )
}

/// The reduce of [`winning_bids`]: for each auction of one id, its best bid in its window.
fn pick_winners<A: Clone, B: Clone>(
    _id: &u64,
    sides: &[(&Side<A, B>, Diff)],
    out: &mut Vec<(Winner<A, B>, Diff)>,
) {
    let split = sides.partition_point(|(side, _)| matches!(side, Side::Auction { .. }));
    let (auctions, bids) = sides.split_at(split);
    for (side, count) in auctions {
        let Side::Auction { date_time: open, expires, keep } = side else { continue };
        if *count <= 0 {
            continue;
        }
        // Bids come sorted by price then time, so walking them backwards, the first bid in the
        // window has the top price and the last one at that price is the earliest.
        let mut in_window = bids.iter().rev().filter_map(|(side, count)| match side {
            Side::Bid { price, date_time, keep } if *count > 0 && (*open..=*expires).contains(date_time) => {
                Some((*price, *date_time, keep))
            }
            _ => None,
        });
        let Some(top) = in_window.next() else { continue };
        let best = in_window.take_while(|bid| bid.0 == top.0).last().unwrap_or(top);
        let window = (*open, *expires, keep.clone());
        out.push(((window, (best.0, best.1, best.2.clone())), 1));
    }
}

/// [`winning_bids`] from scratch: every auction in `state` with a bid in its window, with the
/// winning bid's `(price, date_time, keep(bid))`, ranked by price descending, then date_time,
/// then `keep`.
pub fn recompute_winners<B: Ord>(state: &State, keep: impl Fn(&Bid) -> B) -> Vec<(&Auction, (u64, u64, B))> {
    let mut by_auction: HashMap<u64, Vec<&Bid>> = HashMap::new();
    for bid in &state.bids {
        by_auction.entry(bid.auction).or_default().push(bid);
    }
    let mut winners = Vec::new();
    for auction in &state.auctions {
        let bids = by_auction.get(&auction.id).into_iter().flatten();
        let open = bids.filter(|b| auction.date_time <= b.date_time && b.date_time <= auction.expires);
        let ranked = open.map(|b| (Reverse(b.price), b.date_time, keep(b)));
        if let Some((Reverse(price), date_time, kept)) = ranked.min() {
            winners.push((auction, (price, date_time, kept)));
        }
    }
    winners
}
