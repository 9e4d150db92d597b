//! Nexmark q12, processing-time windows: how many bids each bidder makes in each 10-second
//! window.
//!
//! ```sql
//! CREATE VIEW B AS SELECT *, PROCTIME() as p_time FROM bid;
//!
//! SELECT
//!     bidder,
//!     count(*) as bid_count,
//!     window_start AS starttime,
//!     window_end AS endtime
//! FROM TABLE(
//!         TUMBLE(TABLE B, DESCRIPTOR(p_time), INTERVAL '10' SECOND))
//! GROUP BY bidder, window_start, window_end;
//! ```
//!
//! **How ours differs.** The windows are of the bid's `date_time`, not of processing time, so
//! `p_time` is replaced by `date_time`. In Flink `PROCTIME()` is the wall clock at which the
//! operator sees the row; here the nearest thing is the commit a bid arrived in, but a view's
//! logic cannot read its commit time (commit times are the collection's timestamps, not data),
//! and windows of commits would make the answer depend on how a run cuts the stream into
//! commits, so the engine, the bare program and the recomputation could not be compared. The
//! generator stamps each event with the time it would be produced at the configured event rate
//! (`base_time` + event number / rate), which is its model of arrival time, so windows of
//! `date_time` are the same windows a processing-time run at that rate would see, made
//! reproducible. Window bounds are milliseconds since the epoch; the result is every window so
//! far, not only those still open.

use differential_dataflow::VecCollection;
use differential_dataflow::operators::CountTotal;
use hashbrown::HashMap;
use ivm::{Diff, Time};

use crate::query::{Query, SqlQuery, State, Streams};

/// The window length: 10 seconds, in milliseconds.
const WINDOW_MS: u64 = 10_000;

/// q12's row: `(bidder, bid_count, starttime, endtime)`.
pub type Out = (u64, u64, u64, u64);

/// q12.
pub struct Q12;

impl Query for Q12 {
    type Out = Out;
    const NAME: &'static str = "q12";

    fn logic<'s>(inputs: Streams<'s>) -> VecCollection<'s, Time, Out, Diff> {
        inputs
            .bids
            .map(|bid| (bid.bidder, window_start(bid.date_time)))
            .count_total()
            .map(|((bidder, start), count)| row(bidder, start, count as u64))
    }

    fn recompute(state: &State) -> Vec<(Out, Diff)> {
        let mut counts: HashMap<(u64, u64), u64> = HashMap::new();
        for bid in &state.bids {
            *counts.entry((bid.bidder, window_start(bid.date_time))).or_default() += 1;
        }
        counts.into_iter().map(|((bidder, start), count)| (row(bidder, start, count), 1)).collect()
    }
}

/// In SQL, as Nexmark writes it, with the `TUMBLE` of `date_time` (not `PROCTIME()`, as above)
/// spelled as the window columns it adds.
impl SqlQuery for Q12 {
    const SQL: &'static str = "SELECT bidder, COUNT(*) AS bid_count, window_start AS starttime, window_end AS endtime \
         FROM (SELECT *, date_time - date_time % 10000 AS window_start, \
                 date_time - date_time % 10000 + 10000 AS window_end FROM bids) AS b \
         GROUP BY bidder, window_start, window_end";

    type Flat = Out;

    fn unflatten(flat: Self::Flat) -> Out {
        flat
    }
}

/// The start of the tumbling window holding `date_time`.
fn window_start(date_time: u64) -> u64 {
    date_time - date_time % WINDOW_MS
}

fn row(bidder: u64, start: u64, count: u64) -> Out {
    (bidder, count, start, start + WINDOW_MS)
}
