//! Nexmark q15, bidding statistics report: per day, how many bids, distinct bidders and
//! distinct auctions there are in total and in each of three price ranks.
//!
//! ```sql
//! SELECT
//!      DATE_FORMAT(dateTime, 'yyyy-MM-dd') as `day`,
//!      count(*) AS total_bids,
//!      count(*) filter (where price < 10000) AS rank1_bids,
//!      count(*) filter (where price >= 10000 and price < 1000000) AS rank2_bids,
//!      count(*) filter (where price >= 1000000) AS rank3_bids,
//!      count(distinct bidder) AS total_bidders,
//!      count(distinct bidder) filter (where price < 10000) AS rank1_bidders,
//!      count(distinct bidder) filter (where price >= 10000 and price < 1000000) AS rank2_bidders,
//!      count(distinct bidder) filter (where price >= 1000000) AS rank3_bidders,
//!      count(distinct auction) AS total_auctions,
//!      count(distinct auction) filter (where price < 10000) AS rank1_auctions,
//!      count(distinct auction) filter (where price >= 10000 and price < 1000000) AS rank2_auctions,
//!      count(distinct auction) filter (where price >= 1000000) AS rank3_auctions
//! FROM bid
//! GROUP BY DATE_FORMAT(dateTime, 'yyyy-MM-dd');
//! ```
//!
//! **How ours differs.** Only in representation: the day is the UTC date of `date_time` (see
//! [`calendar`](super::calendar)), and the twelve counts come as one [`Counts`] value.
//!
//! **Plan.** A run has one or two days, so one `reduce` per day would rescan millions of bids at
//! every commit. Instead each count is its own small incremental step: bids are counted per
//! (day, rank) with `count_total`; distinct bidders and auctions per (day, rank) come from
//! `distinct_total` on (day, rank, id) and then `count_total`; the totals over all ranks count
//! the distinct (day, id) of those deduplicated rows (a second `distinct_total` over far fewer
//! rows), and the total of bids is the sum of the three ranks. A last `reduce` per day puts the
//! at most twelve counts into one row. q16 uses the same plan with the channel in the group.

use std::hash::Hash;

use differential_dataflow::operators::{CountTotal, ThresholdTotal};
use differential_dataflow::{ExchangeData, VecCollection};
use hashbrown::{HashMap, HashSet};
use ivm::{Diff, Time};
use serde::{Deserialize, Serialize};

use super::calendar::{day, format_day};
use crate::model::Bid;
use crate::query::{Query, SqlQuery, State, Streams};

/// The report's counts. Index 0 of each array is the total; 1, 2 and 3 are the price ranks.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Counts {
    /// `total_bids`, `rank1_bids`, `rank2_bids`, `rank3_bids`.
    pub bids: [u64; 4],
    /// `total_bidders`, `rank1_bidders`, `rank2_bidders`, `rank3_bidders`.
    pub bidders: [u64; 4],
    /// `total_auctions`, `rank1_auctions`, `rank2_auctions`, `rank3_auctions`.
    pub auctions: [u64; 4],
}

/// q15's row: `(day, counts)`.
pub type Out = (String, Counts);

/// q15.
pub struct Q15;

impl Query for Q15 {
    type Out = Out;
    const NAME: &'static str = "q15";

    fn logic<'s>(inputs: Streams<'s>) -> VecCollection<'s, Time, Out, Diff> {
        let ranked =
            inputs.bids.map(|bid| (day(bid.date_time), price_rank(bid.price), bid.bidder, bid.auction));
        entries(ranked)
            .reduce(|_day, entries, out| out.push((assemble(entries), 1)))
            .map(|(day, counts)| (format_day(day), counts))
    }

    fn recompute(state: &State) -> Vec<(Out, Diff)> {
        let mut tallies: HashMap<u64, Tally> = HashMap::new();
        for bid in &state.bids {
            tallies.entry(day(bid.date_time)).or_default().add(bid);
        }
        tallies.into_iter().map(|(day, tally)| ((format_day(day), tally.counts()), 1)).collect()
    }
}

/// q15's twelve counts in SQL, as Nexmark writes them (q16 has the same), for `concat!`.
macro_rules! counts_sql {
    () => {
        "COUNT(*) AS total_bids, \
         COUNT(*) FILTER (WHERE price < 10000) AS rank1_bids, \
         COUNT(*) FILTER (WHERE price >= 10000 AND price < 1000000) AS rank2_bids, \
         COUNT(*) FILTER (WHERE price >= 1000000) AS rank3_bids, \
         COUNT(DISTINCT bidder) AS total_bidders, \
         COUNT(DISTINCT bidder) FILTER (WHERE price < 10000) AS rank1_bidders, \
         COUNT(DISTINCT bidder) FILTER (WHERE price >= 10000 AND price < 1000000) AS rank2_bidders, \
         COUNT(DISTINCT bidder) FILTER (WHERE price >= 1000000) AS rank3_bidders, \
         COUNT(DISTINCT auction) AS total_auctions, \
         COUNT(DISTINCT auction) FILTER (WHERE price < 10000) AS rank1_auctions, \
         COUNT(DISTINCT auction) FILTER (WHERE price >= 10000 AND price < 1000000) AS rank2_auctions, \
         COUNT(DISTINCT auction) FILTER (WHERE price >= 1000000) AS rank3_auctions"
    };
}
pub(crate) use counts_sql;

/// In SQL, as Nexmark writes it, with the UTC date for `DATE_FORMAT`.
impl SqlQuery for Q15 {
    const SQL: &'static str = concat!(
        "SELECT CAST(CAST(EPOCH_MS(date_time) AS DATE) AS TEXT) AS day, ",
        counts_sql!(),
        " FROM bids GROUP BY CAST(CAST(EPOCH_MS(date_time) AS DATE) AS TEXT)"
    );

    type Flat = (String, u64, u64, u64, u64, u64, u64, u64, u64, u64, u64, u64, u64);

    fn unflatten(f: Self::Flat) -> Out {
        (f.0, counts([f.1, f.2, f.3, f.4, f.5, f.6, f.7, f.8, f.9, f.10, f.11, f.12]))
    }
}

/// Twelve counts in `SELECT` order (bids, bidders, auctions; each total, then ranks 1 to 3).
pub fn counts(c: [u64; 12]) -> Counts {
    Counts {
        bids: [c[0], c[1], c[2], c[3]],
        bidders: [c[4], c[5], c[6], c[7]],
        auctions: [c[8], c[9], c[10], c[11]],
    }
}

/// The price rank of the `filter` clauses: 1 below 10,000, 2 below 1,000,000, else 3.
pub fn price_rank(price: u64) -> u8 {
    match price {
        0..10_000 => 1,
        10_000..1_000_000 => 2,
        _ => 3,
    }
}

/// What an [`Entry`] counts: bids, distinct bidders, distinct auctions.
const BIDS: u8 = 0;
const BIDDERS: u8 = 1;
const AUCTIONS: u8 = 2;

/// One count of a group's report: `(what, rank, count)`, where `what` is one of [`BIDS`],
/// [`BIDDERS`] and [`AUCTIONS`], and rank 0 is all ranks.
pub type Entry = (u8, u8, u64);

/// The report's counts over bids given as `(group, price rank, bidder, auction)`: the nonzero
/// [`Entry`]s of each group, for [`assemble`] to put together.
pub fn entries<'s, K>(
    ranked: VecCollection<'s, Time, (K, u8, u64, u64), Diff>,
) -> VecCollection<'s, Time, (K, Entry), Diff>
where
    K: ExchangeData + Hash,
{
    let bids = ranked.clone().map(|(key, rank, _, _)| (key, BIDS, rank));
    let ids = ranked.flat_map(|(key, rank, bidder, auction)| {
        [(key.clone(), BIDDERS, rank, bidder), (key, AUCTIONS, rank, auction)]
    });
    bids.concat(distinct_per_rank(ids))
        .count_total()
        .map(|((key, what, rank), count)| (key, (what, rank, count as u64)))
}

/// The distinct `(group, what, rank, id)` rows, and the distinct `(group, what, 0, id)` rows,
/// each without its id: counting them counts the distinct ids.
fn distinct_per_rank<'s, K>(
    rows: VecCollection<'s, Time, (K, u8, u8, u64), Diff>,
) -> VecCollection<'s, Time, (K, u8, u8), Diff>
where
    K: ExchangeData + Hash,
{
    let per_rank = rows.distinct_total();
    let overall = per_rank.clone().map(|(key, what, _, id)| (key, what, 0, id)).distinct_total();
    per_rank.concat(overall).map(|(key, what, rank, _)| (key, what, rank))
}

/// The counts of one group from its [`Entry`]s, skipping entries of other kinds; the total of
/// bids is the sum of the ranks.
pub fn assemble(entries: &[(&Entry, Diff)]) -> Counts {
    let mut out = Counts::default();
    for &(&(what, rank, count), _) in entries {
        let slot = match what {
            BIDS => &mut out.bids,
            BIDDERS => &mut out.bidders,
            AUCTIONS => &mut out.auctions,
            _ => continue,
        };
        slot[usize::from(rank)] = count;
    }
    out.bids[0] = out.bids[1..].iter().sum();
    out
}

/// One group's bids, tallied from scratch: what the recomputation keeps per group.
#[derive(Default)]
pub struct Tally {
    bids: [u64; 4],
    bidders: [HashSet<u64>; 4],
    auctions: [HashSet<u64>; 4],
}

impl Tally {
    /// Counts `bid` in the total and in its rank.
    pub fn add(&mut self, bid: &Bid) {
        for slot in [0, usize::from(price_rank(bid.price))] {
            self.bids[slot] += 1;
            self.bidders[slot].insert(bid.bidder);
            self.auctions[slot].insert(bid.auction);
        }
    }

    /// The report's counts.
    pub fn counts(&self) -> Counts {
        Counts {
            bids: self.bids,
            bidders: self.bidders.each_ref().map(|set| set.len() as u64),
            auctions: self.auctions.each_ref().map(|set| set.len() as u64),
        }
    }
}
