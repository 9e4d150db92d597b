//! Nexmark q6, average selling price by seller: for each seller, the average winning price of
//! their last 10 auctions.
//!
//! ```sql
//! SELECT Q.seller,
//!        AVG(Q.price) OVER (PARTITION BY Q.seller ORDER BY Q.date_time
//!                           ROWS BETWEEN 10 PRECEDING AND CURRENT ROW)
//! FROM (
//!   SELECT *, ROW_NUMBER() OVER (PARTITION BY A.id, A.seller ORDER BY B.price DESC) AS rownum
//!   FROM (SELECT A.id, A.seller, B.price, B.date_time
//!         FROM auction AS A, bid AS B
//!         WHERE A.id = B.auction AND B.date_time BETWEEN A.date_time AND A.expires)
//!   WHERE rownum <= 1
//! ) AS Q;
//! ```
//!
//! That is the Flink suite's text, which Flink itself cannot run (its OVER window does not
//! take retractions) and which is loose: it orders the winners by their bid's time, averages
//! eleven rows (10 preceding and the current one), and emits one row per winner rather than
//! one per seller. This view implements the query's stated meaning, the one Beam's Query6
//! computes: **per seller, the average winning price of their last 10 auctions to close.**
//! - **Winners** are q9's ([`winning_bids`]): the highest bid within the auction's window,
//!   ties to the earliest.
//! - **"Last 10 closed"** are the 10 auctions with the latest `expires` (the time an auction
//!   closes), ties to the larger auction id, among the seller's auctions that have a winner.
//!   As in q9 there is no watermark, so an auction counts as soon as it has a bid in its
//!   window: the answer over all events so far. Ordering by `expires` rather than by the
//!   winning bid's time also keeps a seller's ranking still while bids arrive.
//! - **Average** is an integer: the sum of those (up to 10) prices divided by their number,
//!   truncated (Flink's `AVG` of a `BIGINT`; rows hold no floats, which are not `Ord`).
//! - One row per seller: `(seller, average)`.

use std::cmp::Reverse;

use differential_dataflow::VecCollection;
use hashbrown::HashMap;
use ivm::{Diff, Time};

use crate::queries::q9::{recompute_winners, winning_bids};
use crate::query::{Query, SqlQuery, State, Streams};

/// q6's row: `(seller, average winning price of the last 10 auctions)`.
pub type Out = (u64, u64);

/// How many of a seller's auctions are averaged.
const LAST: usize = 10;

/// q6.
pub struct Q6;

impl Query for Q6 {
    type Out = Out;
    const NAME: &'static str = "q6";

    fn logic<'s>(inputs: Streams<'s>) -> VecCollection<'s, Time, Out, Diff> {
        let auctions = inputs.auctions.map(|a| (a.id, a.date_time, a.expires, a.seller));
        let bids = inputs.bids.map(|b| (b.auction, b.price, b.date_time, ()));
        winning_bids(auctions, bids)
            .as_collection(|&id, &((_, expires, seller), (price, _, ()))| (seller, (expires, id, price)))
            .reduce(|_seller, closed, out| out.push((average_of_last(closed), 1)))
    }

    fn recompute(state: &State) -> Vec<(Out, Diff)> {
        let mut by_seller: HashMap<u64, Vec<(u64, u64, u64)>> = HashMap::new();
        for (auction, (price, _, ())) in recompute_winners(state, |_| ()) {
            let closed = (auction.expires, auction.id, price);
            by_seller.entry(auction.seller).or_default().push(closed);
        }
        let rows = by_seller.into_iter().map(|(seller, mut closed)| {
            closed.sort_unstable_by_key(|&closed| Reverse(closed));
            let last = &closed[..closed.len().min(LAST)];
            let sum: u64 = last.iter().map(|&(_, _, price)| price).sum();
            (seller, sum / last.len() as u64)
        });
        rows.map(|row| (row, 1)).collect()
    }
}

/// In SQL, the query's meaning as this view computes it, not the Flink text above (whose
/// `AVG(...) OVER (... ROWS BETWEEN 10 PRECEDING AND CURRENT ROW)`, an aggregate over a window
/// of rows, the SQL layer does not have, and which computes something else, as said above):
/// each auction's winning price is its highest bid in its window, `ROW_NUMBER()` numbers a
/// seller's auctions from the latest `expires` (ties to the larger id), and the first 10 are
/// averaged as integers, `SUM(price) / COUNT(*)`.
impl SqlQuery for Q6 {
    const SQL: &'static str = "SELECT seller, SUM(price) / COUNT(*) \
         FROM ( \
           SELECT seller, price, \
             ROW_NUMBER() OVER (PARTITION BY seller ORDER BY expires DESC, id DESC) AS rownum \
           FROM ( \
             SELECT a.id, a.seller, a.expires, MAX(b.price) AS price \
             FROM auctions AS a JOIN bids AS b ON a.id = b.auction \
             WHERE b.date_time BETWEEN a.date_time AND a.expires \
             GROUP BY a.id, a.seller, a.expires \
           ) AS winners \
         ) AS closed \
         WHERE rownum <= 10 \
         GROUP BY seller";

    type Flat = Out;

    fn unflatten(flat: Self::Flat) -> Out {
        flat
    }
}

/// The average price of the last [`LAST`] of one seller's `(expires, id, price)` winners,
/// which come sorted, so the last ones are at the end.
fn average_of_last(closed: &[(&(u64, u64, u64), Diff)]) -> u64 {
    let (mut sum, mut taken) = (0, 0);
    for &(&(_, _, price), count) in closed.iter().rev() {
        let take = (count.max(0) as usize).min(LAST - taken);
        sum += price * take as u64;
        taken += take;
        if taken == LAST {
            break;
        }
    }
    sum / taken.max(1) as u64
}
