//! Nexmark q17, auction statistics report: per auction and day, how many bids there were in
//! total and in each price rank, and the minimum, maximum, average and sum of their prices.
//!
//! ```sql
//! SELECT
//!      auction,
//!      DATE_FORMAT(dateTime, 'yyyy-MM-dd') as `day`,
//!      count(*) AS total_bids,
//!      count(*) filter (where price < 10000) AS rank1_bids,
//!      count(*) filter (where price >= 10000 and price < 1000000) AS rank2_bids,
//!      count(*) filter (where price >= 1000000) AS rank3_bids,
//!      min(price) AS min_price,
//!      max(price) AS max_price,
//!      avg(price) AS avg_price,
//!      sum(price) AS sum_price
//! FROM bid
//! GROUP BY auction, DATE_FORMAT(dateTime, 'yyyy-MM-dd');
//! ```
//!
//! **How ours differs.** The day is the UTC date of `date_time` (see
//! [`calendar`](super::calendar)). `avg_price` is the integer quotient `sum / count`, rounded
//! down, which is what Flink's `AVG` over a `BIGINT` column returns (a `BIGINT`).
//!
//! **Plan.** One `reduce` per (auction, day) over the group's prices: differential hands it the
//! distinct prices in order, each with its number of bids, so the minimum and maximum are the
//! first and last, and one pass gives the counts and the sum. Groups stay small: a hot auction
//! gets about 1,500 bids before the next one takes over.

use differential_dataflow::VecCollection;
use hashbrown::HashMap;
use ivm::{Diff, Time};

use super::calendar::{day, format_day};
use super::q15::price_rank;
use crate::query::{Query, SqlQuery, State, Streams};

/// The aggregates of one group: `(total_bids, rank1_bids, rank2_bids, rank3_bids, min_price,
/// max_price, avg_price, sum_price)`.
type Stats = (u64, u64, u64, u64, u64, u64, u64, u64);

/// q17's row: `(auction, day, total_bids, rank1_bids, rank2_bids, rank3_bids, min_price,
/// max_price, avg_price, sum_price)`.
pub type Out = (u64, String, u64, u64, u64, u64, u64, u64, u64, u64);

/// q17.
pub struct Q17;

impl Query for Q17 {
    type Out = Out;
    const NAME: &'static str = "q17";

    fn logic<'s>(inputs: Streams<'s>) -> VecCollection<'s, Time, Out, Diff> {
        inputs
            .bids
            .map(|bid| ((bid.auction, day(bid.date_time)), bid.price))
            .reduce(|_group, prices, out| out.extend(stats(prices).map(|stats| (stats, 1))))
            .map(|((auction, day), stats)| row(auction, day, stats))
    }

    fn recompute(state: &State) -> Vec<(Out, Diff)> {
        let mut groups: HashMap<(u64, u64), Vec<u64>> = HashMap::new();
        for bid in &state.bids {
            groups.entry((bid.auction, day(bid.date_time))).or_default().push(bid.price);
        }
        groups.into_iter().map(|((auction, day), prices)| (row(auction, day, scan(&prices)), 1)).collect()
    }
}

impl SqlQuery for Q17 {
    const SQL: &'static str = "SELECT auction, day, COUNT(*), \
           SUM(CASE WHEN price < 10000 THEN 1 ELSE 0 END), \
           SUM(CASE WHEN price >= 10000 AND price < 1000000 THEN 1 ELSE 0 END), \
           SUM(CASE WHEN price >= 1000000 THEN 1 ELSE 0 END), \
           MIN(price), MAX(price), SUM(price) / COUNT(*), SUM(price) \
         FROM (SELECT auction, CAST(CAST(EPOCH_MS(date_time) AS DATE) AS TEXT) AS day, price FROM bids) AS b \
         GROUP BY auction, day";

    type Flat = Out;

    fn unflatten(flat: Self::Flat) -> Out {
        flat
    }
}

/// The aggregates of a group from its distinct prices in increasing order, each with its
/// number of bids; none if no price has a positive number (which a table of bids, whose rows
/// are deleted at most as often as inserted, never gives).
fn stats(prices: &[(&u64, Diff)]) -> Option<Stats> {
    let present = || prices.iter().filter(|(_, bids)| *bids > 0).map(|&(&price, bids)| (price, bids as u64));
    let (min, max) = (present().next()?.0, present().next_back()?.0);
    let (mut counts, mut sum) = ([0u64; 4], 0u64);
    for (price, bids) in present() {
        counts[0] += bids;
        counts[usize::from(price_rank(price))] += bids;
        sum += price * bids;
    }
    Some((counts[0], counts[1], counts[2], counts[3], min, max, sum / counts[0], sum))
}

/// The aggregates of a group from its prices, one per bid, in any order.
fn scan(prices: &[u64]) -> Stats {
    let count = prices.len() as u64;
    let rank = |r| prices.iter().filter(|&&p| price_rank(p) == r).count() as u64;
    let sum: u64 = prices.iter().sum();
    let (min, max) =
        (*prices.iter().min().expect("a group has a bid"), *prices.iter().max().expect("a group has a bid"));
    (count, rank(1), rank(2), rank(3), min, max, sum / count, sum)
}

fn row(auction: u64, day: u64, s: Stats) -> Out {
    (auction, format_day(day), s.0, s.1, s.2, s.3, s.4, s.5, s.6, s.7)
}
