//! Nexmark q7, highest bid: the bids at the top price of each 10-second window.
//!
//! ```sql
//! SELECT B.auction, B.bidder, B.price, B.date_time, B.extra
//! FROM bid B
//! JOIN (
//!   SELECT MAX(price) AS maxprice, window_end AS date_time
//!   FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(date_time), INTERVAL '10' SECOND))
//!   GROUP BY window_start, window_end
//! ) B1
//! ON B.price = B1.maxprice
//! WHERE B.date_time BETWEEN B1.date_time - INTERVAL '10' SECOND AND B1.date_time;
//! ```
//!
//! The SQL is kept to the letter, including its edge: `BETWEEN` includes both ends, so a bid
//! placed exactly at a window's end (the first millisecond of the next window) is also
//! compared with that window's top price, and appears once per window it matches.
//!
//! Windows are data: `window_start = date_time - date_time % 10_000` (ms). A streaming engine
//! emits a window once the watermark passes its end; here every window is in the result from
//! its first bid and changes as higher bids arrive: the answer over all events so far.
//!
//! Plan: the top price of a window is found in two `reduce` steps, first per window and
//! auction, then per window over those few survivors, so that a batch of new bids rescans
//! only the auctions it touched rather than the whole window. The second step also takes the
//! bids on the window's end, compares them with the top price found among the window's own
//! bids, and keeps every bid at that price. The bids' `extra` is held as a shared [`Text`], so
//! merging the arrangement of all bids copies no strings.

use differential_dataflow::VecCollection;
use hashbrown::HashMap;
use ivm::{Diff, Time};

use crate::model::Bid;
use crate::queries::text::Text;
use crate::query::{Query, SqlQuery, State, Streams};

/// q7's row: `(auction, bidder, price, date_time, extra)`.
pub type Out = (u64, u64, u64, u64, String);

/// A candidate in a window: `(price, on the window's end, auction, bidder, date_time, extra)`.
type Candidate = (u64, bool, u64, u64, u64, Text);

/// The window length, in milliseconds.
const WINDOW: u64 = 10_000;

/// q7.
pub struct Q7;

impl Query for Q7 {
    type Out = Out;
    const NAME: &'static str = "q7";

    fn logic<'s>(inputs: Streams<'s>) -> VecCollection<'s, Time, Out, Diff> {
        let on_end = inputs.bids.clone().flat_map(|bid| {
            let end = ends_window(&bid)?;
            let extra = Text::from(bid.extra);
            Some((end - WINDOW, (bid.price, true, bid.auction, bid.bidder, bid.date_time, extra)))
        });
        inputs
            .bids
            .map(|b| ((start(b.date_time), b.auction), (b.price, b.bidder, b.date_time, Text::from(b.extra))))
            .reduce(|_, bids, out| top_priced(bids, |bid| bid.0, |_| true, out))
            .map(|((start, auction), (price, bidder, date_time, extra))| {
                (start, (price, false, auction, bidder, date_time, extra))
            })
            .concat(on_end)
            .reduce(|_, candidates, out| top_priced(candidates, |c: &Candidate| c.0, |c| !c.1, out))
            .map(|(_, (price, _, auction, bidder, date_time, extra))| {
                (auction, bidder, price, date_time, extra.to_owned_string())
            })
    }

    fn recompute(state: &State) -> Vec<(Out, Diff)> {
        let mut top: HashMap<u64, u64> = HashMap::new();
        for bid in &state.bids {
            let max = top.entry(start(bid.date_time)).or_default();
            *max = bid.price.max(*max);
        }
        let mut rows = Vec::new();
        for bid in &state.bids {
            let own = top.get(&start(bid.date_time));
            let previous = ends_window(bid).and_then(|end| top.get(&(end - WINDOW)));
            for max in [own, previous].into_iter().flatten() {
                if *max == bid.price {
                    let row = (bid.auction, bid.bidder, bid.price, bid.date_time, bid.extra.clone());
                    rows.push((row, 1));
                }
            }
        }
        rows
    }
}

/// In SQL, as Nexmark writes it, with the `TUMBLE` spelled as the window columns it adds and
/// `INTERVAL '10' SECOND` as 10000 (milliseconds).
impl SqlQuery for Q7 {
    const SQL: &'static str = "SELECT B.auction, B.bidder, B.price, B.date_time, B.extra \
         FROM bids AS B \
         JOIN ( \
           SELECT MAX(price) AS maxprice, window_end AS date_time \
           FROM (SELECT *, date_time - date_time % 10000 AS window_start, \
                   date_time - date_time % 10000 + 10000 AS window_end FROM bids) AS t \
           GROUP BY window_start, window_end \
         ) AS B1 \
         ON B.price = B1.maxprice \
         WHERE B.date_time BETWEEN B1.date_time - 10000 AND B1.date_time";

    type Flat = Out;

    fn unflatten(flat: Self::Flat) -> Out {
        flat
    }
}

/// The start of the window holding `date_time`.
fn start(date_time: u64) -> u64 {
    date_time - date_time % WINDOW
}

/// The end of the previous window, if `bid` was placed exactly there.
fn ends_window(bid: &Bid) -> Option<u64> {
    (bid.date_time.is_multiple_of(WINDOW) && bid.date_time >= WINDOW).then_some(bid.date_time)
}

/// Every value (sorted by price first) at the top price of the values that `rank`.
fn top_priced<V: Clone>(
    values: &[(&V, Diff)],
    price: impl Fn(&V) -> u64,
    rank: impl Fn(&V) -> bool,
    out: &mut Vec<(V, Diff)>,
) {
    let present = values.iter().rev().filter(|(_, count)| *count > 0);
    let Some(max) = present.clone().find(|(v, _)| rank(v)).map(|(v, _)| price(v)) else {
        return;
    };
    let at_max = present.skip_while(|(v, _)| price(v) > max).take_while(|(v, _)| price(v) == max);
    out.extend(at_max.map(|&(v, count)| (v.clone(), count)));
}
