//! Nexmark q5, hot items: in each sliding window, the auctions with the most bids.
//!
//! ```sql
//! SELECT AuctionBids.auction, AuctionBids.num
//! FROM (
//!   SELECT auction, count(*) AS num, window_start AS starttime, window_end AS endtime
//!   FROM TABLE(HOP(TABLE bid, DESCRIPTOR(date_time), INTERVAL '2' SECOND, INTERVAL '10' SECOND))
//!   GROUP BY auction, window_start, window_end
//! ) AS AuctionBids
//! JOIN (
//!   SELECT max(CountBids.num) AS maxn, CountBids.starttime, CountBids.endtime
//!   FROM (
//!     SELECT count(*) AS num, window_start AS starttime, window_end AS endtime
//!     FROM TABLE(HOP(TABLE bid, DESCRIPTOR(date_time), INTERVAL '2' SECOND, INTERVAL '10' SECOND))
//!     GROUP BY auction, window_start, window_end
//!   ) AS CountBids
//!   GROUP BY CountBids.starttime, CountBids.endtime
//! ) AS MaxBids
//! ON AuctionBids.starttime = MaxBids.starttime AND AuctionBids.endtime = MaxBids.endtime
//!    AND AuctionBids.num >= MaxBids.maxn;
//! ```
//!
//! How this version differs, and why:
//! - **The window start is in the row**: `(starttime, auction, num)`. The SQL drops it, so an
//!   auction that is hottest in several windows with the same count is one row with a
//!   multiplicity; with the start each row says which window it answers for.
//! - **Windows are data.** A bid at `date_time` (ms) is in the 5 windows
//!   `[start, start + 10 s)` whose start is a multiple of 2 s and `start <= date_time`. A
//!   streaming engine emits a window once the watermark passes its end; here every window is
//!   in the result from its first bid and changes as bids arrive: the answer over all events
//!   so far.
//!
//! Plan: the two sides of the SQL join share one count, `(starttime, auction) -> num`
//! (`count_total`); one `reduce` per window keeps the auctions whose count is the window's
//! maximum, which is the join on `num >= maxn`.

use differential_dataflow::VecCollection;
use differential_dataflow::operators::CountTotal;
use hashbrown::HashMap;
use ivm::{Diff, Time};

use crate::query::{Query, SqlQuery, State, Streams};

/// q5's row: `(window start, auction, number of bids)`.
pub type Out = (u64, u64, u64);

/// The window length and the slide between window starts, in milliseconds.
const SIZE: u64 = 10_000;
const SLIDE: u64 = 2_000;

/// q5.
pub struct Q5;

impl Query for Q5 {
    type Out = Out;
    const NAME: &'static str = "q5";

    fn logic<'s>(inputs: Streams<'s>) -> VecCollection<'s, Time, Out, Diff> {
        inputs
            .bids
            .flat_map(|bid| starts(bid.date_time).map(move |start| (start, bid.auction)))
            .count_total()
            .map(|((start, auction), num)| (start, (num, auction)))
            .reduce(hottest)
            .map(|(start, (num, auction))| (start, auction, num as u64))
    }

    fn recompute(state: &State) -> Vec<(Out, Diff)> {
        let mut counts: HashMap<(u64, u64), u64> = HashMap::new();
        for bid in &state.bids {
            for start in starts(bid.date_time) {
                *counts.entry((start, bid.auction)).or_default() += 1;
            }
        }
        let mut top: HashMap<u64, u64> = HashMap::new();
        for (&(start, _), &num) in &counts {
            let max = top.entry(start).or_default();
            *max = num.max(*max);
        }
        let rows = counts.into_iter().filter(|((start, _), num)| top[start] == *num);
        rows.map(|((start, auction), num)| ((start, auction, num), 1)).collect()
    }
}

/// In SQL, as Nexmark writes it but with the window start in the row (as above), each `HOP`
/// spelled as a join with the five window offsets, `(VALUES (0), (1), (2), (3), (4))`: a bid's
/// windows start at its 2-second slot and the four before it, if not before 0.
impl SqlQuery for Q5 {
    const SQL: &'static str = "SELECT AuctionBids.starttime, AuctionBids.auction, AuctionBids.num \
         FROM ( \
           SELECT auction, COUNT(*) AS num, window_start AS starttime, window_end AS endtime \
           FROM (SELECT b.*, b.date_time - b.date_time % 2000 - h.i * 2000 AS window_start, \
                   b.date_time - b.date_time % 2000 - h.i * 2000 + 10000 AS window_end \
                 FROM bids AS b, (VALUES (0), (1), (2), (3), (4)) AS h(i) \
                 WHERE b.date_time - b.date_time % 2000 >= h.i * 2000) AS hop \
           GROUP BY auction, window_start, window_end \
         ) AS AuctionBids \
         JOIN ( \
           SELECT MAX(CountBids.num) AS maxn, CountBids.starttime, CountBids.endtime \
           FROM ( \
             SELECT COUNT(*) AS num, window_start AS starttime, window_end AS endtime \
             FROM (SELECT b.*, b.date_time - b.date_time % 2000 - h.i * 2000 AS window_start, \
                     b.date_time - b.date_time % 2000 - h.i * 2000 + 10000 AS window_end \
                   FROM bids AS b, (VALUES (0), (1), (2), (3), (4)) AS h(i) \
                   WHERE b.date_time - b.date_time % 2000 >= h.i * 2000) AS hop \
             GROUP BY auction, window_start, window_end \
           ) AS CountBids \
           GROUP BY CountBids.starttime, CountBids.endtime \
         ) AS MaxBids \
         ON AuctionBids.starttime = MaxBids.starttime AND AuctionBids.endtime = MaxBids.endtime \
            AND AuctionBids.num >= MaxBids.maxn";

    type Flat = Out;

    fn unflatten(flat: Self::Flat) -> Out {
        flat
    }
}

/// The starts of the windows holding `date_time`.
fn starts(date_time: u64) -> impl Iterator<Item = u64> {
    let last = date_time - date_time % SLIDE;
    (0..SIZE / SLIDE).filter_map(move |i| last.checked_sub(i * SLIDE))
}

/// The reduce over one window's `(num, auction)` counts, sorted: the ones with the top count.
fn hottest(_start: &u64, counts: &[(&(Diff, u64), Diff)], out: &mut Vec<((Diff, u64), Diff)>) {
    let present = counts.iter().rev().filter(|(_, count)| *count > 0);
    let Some(&(&(max, _), _)) = present.clone().next() else { return };
    for &(&(num, auction), _) in present.take_while(|((num, _), _)| *num == max) {
        out.push(((num, auction), 1));
    }
}
