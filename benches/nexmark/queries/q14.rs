//! Nexmark q14, calculation: bids in a price band, with the price converted, the time of day
//! classified and a user-defined function applied to `extra`.
//!
//! ```sql
//! CREATE FUNCTION count_char AS 'com.github.nexmark.flink.udf.CountChar';
//!
//! SELECT
//!     auction,
//!     bidder,
//!     0.908 * price as price,
//!     CASE
//!         WHEN HOUR(dateTime) >= 8 AND HOUR(dateTime) <= 18 THEN 'dayTime'
//!         WHEN HOUR(dateTime) <= 6 OR HOUR(dateTime) >= 20 THEN 'nightTime'
//!         ELSE 'otherTime'
//!     END AS bidTimeType,
//!     dateTime,
//!     extra,
//!     count_char(extra, 'c') AS c_counts
//! FROM bid
//! WHERE 0.908 * price > 1000000 AND 0.908 * price < 50000000;
//! ```
//!
//! **How ours differs.** `0.908 * price` is a `DECIMAL(23, 3)` in Flink; here it is exact
//! fixed point, the integer `908 * price` in thousandths, and the filter compares thousandths
//! (`> 1_000_000_000` and `< 50_000_000_000`), so no float rounding enters. `HOUR(dateTime)` is
//! the UTC hour of `date_time` (see [`calendar`](super::calendar)). `count_char` counts the
//! `'c'` characters of `extra`.

use differential_dataflow::VecCollection;
use ivm::{Diff, Time};

use super::calendar::hour;
use crate::model::Bid;
use crate::query::{Query, SqlQuery, State, Streams};

/// q14's row: `(auction, bidder, price in thousandths, bid_time_type, date_time, extra,
/// c_counts)`.
pub type Out = (u64, u64, u64, String, u64, String, u64);

/// q14.
pub struct Q14;

impl Query for Q14 {
    type Out = Out;
    const NAME: &'static str = "q14";

    fn logic<'s>(inputs: Streams<'s>) -> VecCollection<'s, Time, Out, Diff> {
        inputs.bids.filter(|bid| in_band(bid.price)).map(row)
    }

    fn recompute(state: &State) -> Vec<(Out, Diff)> {
        let mut out = Vec::new();
        for bid in &state.bids {
            if in_band(bid.price) {
                out.push((row(bid.clone()), 1));
            }
        }
        out
    }
}

/// In SQL, as Nexmark writes it: `0.908 * price` is an exact `DECIMAL` (in thousandths as a
/// `BIGINT` in the output, as the view has it), `HOUR(dateTime)` is `HOUR(EPOCH_MS(date_time))`
/// (UTC), and `count_char(extra, 'c')` is `length(extra) - length(replace(extra, 'c', ''))`.
impl SqlQuery for Q14 {
    const SQL: &'static str = "SELECT auction, bidder, CAST(0.908 * price * 1000 AS BIGINT) AS price, \
           CASE \
             WHEN HOUR(EPOCH_MS(date_time)) >= 8 AND HOUR(EPOCH_MS(date_time)) <= 18 THEN 'dayTime' \
             WHEN HOUR(EPOCH_MS(date_time)) <= 6 OR HOUR(EPOCH_MS(date_time)) >= 20 THEN 'nightTime' \
             ELSE 'otherTime' \
           END AS bid_time_type, \
           date_time, extra, length(extra) - length(replace(extra, 'c', '')) AS c_counts \
         FROM bids \
         WHERE 0.908 * price > 1000000 AND 0.908 * price < 50000000";

    type Flat = Out;

    fn unflatten(flat: Self::Flat) -> Out {
        flat
    }
}

/// `0.908 * price` in thousandths.
fn converted(price: u64) -> u64 {
    908 * price
}

/// `0.908 * price > 1000000 AND 0.908 * price < 50000000`, in thousandths.
fn in_band(price: u64) -> bool {
    let price = converted(price);
    price > 1_000_000_000 && price < 50_000_000_000
}

/// The `CASE` on the hour of the bid.
fn bid_time_type(date_time: u64) -> &'static str {
    match hour(date_time) {
        8..=18 => "dayTime",
        0..=6 | 20.. => "nightTime",
        _ => "otherTime",
    }
}

/// The user-defined function `count_char(extra, 'c')`.
fn count_char(text: &str, wanted: char) -> u64 {
    text.chars().filter(|&c| c == wanted).count() as u64
}

fn row(bid: Bid) -> Out {
    let c_counts = count_char(&bid.extra, 'c');
    let kind = bid_time_type(bid.date_time).to_string();
    (bid.auction, bid.bidder, converted(bid.price), kind, bid.date_time, bid.extra, c_counts)
}
