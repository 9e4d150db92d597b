//! Nexmark q4, average price for a category: the average winning price of the auctions in
//! each category.
//!
//! ```sql
//! SELECT Q.category, AVG(Q.final)
//! FROM (
//!   SELECT MAX(B.price) AS final, A.category
//!   FROM auction A, bid B
//!   WHERE A.id = B.auction AND B.date_time BETWEEN A.date_time AND A.expires
//!   GROUP BY A.id, A.category
//! ) Q
//! GROUP BY Q.category;
//! ```
//!
//! How this version differs, and why:
//! - **Integer average.** `AVG` of a `BIGINT` is a `BIGINT` in Flink: the sum divided by the
//!   count, truncated. Rows here hold no floats (not `Ord`), so the average is exactly that:
//!   `sum / count` in integers, over the auctions with at least one bid in their window.
//! - **Open auctions are included**, as in the SQL and in q9: the answer is over all events so
//!   far, with no watermark deciding when an auction has closed.
//!
//! Plan: the inner query is q9's winning-bid core ([`winning_bids`]), keeping only the
//! category of the auction and nothing of the bid (the top price is the winner's price
//! whatever the tie-break). The average is kept incrementally as differences: each winner
//! contributes `(price, 1)` to its category's `(sum, count)` through `explode`, and
//! `count_total` adds them up, so a changed winner costs O(1) per category rather than a
//! rescan of the category's auctions.

use differential_dataflow::VecCollection;
use differential_dataflow::operators::CountTotal;
use hashbrown::HashMap;
use ivm::{Diff, Time};

use crate::queries::q9::{recompute_winners, winning_bids};
use crate::query::{Query, SqlQuery, State, Streams};

/// q4's row: `(category, average winning price)`.
pub type Out = (u64, u64);

/// q4.
pub struct Q4;

impl Query for Q4 {
    type Out = Out;
    const NAME: &'static str = "q4";

    fn logic<'s>(inputs: Streams<'s>) -> VecCollection<'s, Time, Out, Diff> {
        let auctions = inputs.auctions.map(|a| (a.id, a.date_time, a.expires, a.category));
        let bids = inputs.bids.map(|b| (b.auction, b.price, b.date_time, ()));
        winning_bids(auctions, bids)
            .as_collection(|_, ((_, _, category), (price, _, ()))| (*category, *price))
            .explode(|(category, price)| Some((category, (price as Diff, 1 as Diff))))
            .count_total()
            .flat_map(|(category, (sum, count))| average(sum, count).map(|avg| (category, avg)))
    }

    fn recompute(state: &State) -> Vec<(Out, Diff)> {
        let mut totals: HashMap<u64, (Diff, Diff)> = HashMap::new();
        for (auction, (price, _, ())) in recompute_winners(state, |_| ()) {
            let total = totals.entry(auction.category).or_default();
            *total = (total.0 + price as Diff, total.1 + 1);
        }
        let rows = totals
            .into_iter()
            .filter_map(|(category, (sum, count))| average(sum, count).map(|avg| (category, avg)));
        rows.map(|row| (row, 1)).collect()
    }
}

impl SqlQuery for Q4 {
    const SQL: &'static str = "SELECT category, SUM(final) / COUNT(*) FROM ( \
           SELECT a.id, a.category, MAX(b.price) AS final \
           FROM auctions AS a JOIN bids AS b ON a.id = b.auction \
           WHERE b.date_time BETWEEN a.date_time AND a.expires \
           GROUP BY a.id, a.category \
         ) AS q GROUP BY category";

    type Flat = Out;

    fn unflatten(flat: Self::Flat) -> Out {
        flat
    }
}

/// `sum / count`, truncated, if there is something to average.
fn average(sum: Diff, count: Diff) -> Option<u64> {
    (count > 0).then(|| (sum / count) as u64)
}
