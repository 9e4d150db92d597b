//! Nexmark q16, channel statistics report: q15 per channel and day, with the latest minute of
//! the day that saw a bid.
//!
//! ```sql
//! SELECT
//!     channel,
//!     DATE_FORMAT(dateTime, 'yyyy-MM-dd') as `day`,
//!     max(DATE_FORMAT(dateTime, 'HH:mm')) as `minute`,
//!     count(*) AS total_bids,
//!     count(*) filter (where price < 10000) AS rank1_bids,
//!     count(*) filter (where price >= 10000 and price < 1000000) AS rank2_bids,
//!     count(*) filter (where price >= 1000000) AS rank3_bids,
//!     count(distinct bidder) AS total_bidders,
//!     count(distinct bidder) filter (where price < 10000) AS rank1_bidders,
//!     count(distinct bidder) filter (where price >= 10000 and price < 1000000) AS rank2_bidders,
//!     count(distinct bidder) filter (where price >= 1000000) AS rank3_bidders,
//!     count(distinct auction) AS total_auctions,
//!     count(distinct auction) filter (where price < 10000) AS rank1_auctions,
//!     count(distinct auction) filter (where price >= 10000 and price < 1000000) AS rank2_auctions,
//!     count(distinct auction) filter (where price >= 1000000) AS rank3_auctions
//! FROM bid
//! GROUP BY channel, DATE_FORMAT(dateTime, 'yyyy-MM-dd');
//! ```
//!
//! **How ours differs.** Only in representation, as in q15: UTC dates and minutes (see
//! [`calendar`](super::calendar)), the twelve counts as one [`Counts`] value.
//!
//! **Plan.** The counts are q15's, with `(channel, day)` as the group. Half the bids go to four
//! hot channels, so the groups are large and the plan avoids a `reduce` over a group's bids.
//! The group's distinct minutes (at most 1,440, from `distinct_total`) join its count entries
//! in the last `reduce` per group, which takes their maximum.
//!
//! The group holds the channel as a [`Channel`]: names shorter than 16 bytes (every name the
//! generator makes) packed into a `u128`, longer ones as strings. The packing is exact (it
//! keeps the bytes and the length) and spares the dozen arrangements of the plan a string
//! allocation per row and a `memcmp` per comparison: with `String` keys the bare program took
//! about twice as long over 100,000 events.

use differential_dataflow::VecCollection;
use differential_dataflow::operators::ThresholdTotal;
use hashbrown::HashMap;
use ivm::{Diff, Time};
use serde::{Deserialize, Serialize};

use super::calendar::{day, format_day, format_minute, minute_of_day};
use super::q15::{Counts, Entry, Tally, assemble, entries, price_rank};
use crate::query::{Query, SqlQuery, State, Streams};

/// q16's row: `(channel, day, minute, counts)`.
pub type Out = (String, String, String, Counts);

/// q16.
pub struct Q16;

impl Query for Q16 {
    type Out = Out;
    const NAME: &'static str = "q16";

    fn logic<'s>(inputs: Streams<'s>) -> VecCollection<'s, Time, Out, Diff> {
        let bids = inputs.bids;
        let minutes = bids
            .clone()
            .map(|bid| ((Channel::new(&bid.channel), day(bid.date_time)), minute_of_day(bid.date_time)))
            .distinct_total()
            .map(|(group, minute)| (group, (MINUTE, 0, minute)));
        let ranked = bids.map(|bid| {
            let rank = price_rank(bid.price);
            ((Channel::new(&bid.channel), day(bid.date_time)), rank, bid.bidder, bid.auction)
        });
        entries(ranked)
            .concat(minutes)
            .reduce(|_group, entries, out| out.push(((assemble(entries), latest(entries)), 1)))
            .map(|((channel, day), (counts, minute))| row(&channel.name(), day, minute, &counts))
    }

    fn recompute(state: &State) -> Vec<(Out, Diff)> {
        let mut groups: HashMap<(&str, u64), (Tally, u64)> = HashMap::new();
        for bid in &state.bids {
            let (tally, latest) = groups.entry((&bid.channel, day(bid.date_time))).or_default();
            tally.add(bid);
            *latest = (*latest).max(minute_of_day(bid.date_time));
        }
        let rows = groups
            .into_iter()
            .map(|((channel, day), (tally, latest))| row(channel, day, latest, &tally.counts()));
        rows.map(|row| (row, 1)).collect()
    }
}

/// The kind of [`Entry`] that holds a minute of the day with a bid.
const MINUTE: u8 = 3;

/// In SQL, as Nexmark writes it, with the UTC date and `HH:mm` for `DATE_FORMAT`.
impl SqlQuery for Q16 {
    const SQL: &'static str = concat!(
        "SELECT channel, CAST(CAST(EPOCH_MS(date_time) AS DATE) AS TEXT) AS day, \
         MAX(RIGHT('0' || CAST(date_part('hour', EPOCH_MS(date_time)) AS TEXT), 2) || ':' || \
             RIGHT('0' || CAST(date_part('minute', EPOCH_MS(date_time)) AS TEXT), 2)) AS minute, ",
        super::q15::counts_sql!(),
        " FROM bids GROUP BY channel, CAST(CAST(EPOCH_MS(date_time) AS DATE) AS TEXT)"
    );

    type Flat = (String, String, String, u64, u64, u64, u64, u64, u64, u64, u64, u64, u64, u64, u64);

    fn unflatten(f: Self::Flat) -> Out {
        let c = [f.3, f.4, f.5, f.6, f.7, f.8, f.9, f.10, f.11, f.12, f.13, f.14];
        (f.0, f.1, f.2, super::q15::counts(c))
    }
}

/// The latest minute among a group's entries (every group with a bid has one).
fn latest(entries: &[(&Entry, Diff)]) -> u64 {
    entries.iter().filter(|(entry, _)| entry.0 == MINUTE).map(|(entry, _)| entry.2).max().unwrap_or(0)
}

fn row(channel: &str, day: u64, minute: u64, counts: &Counts) -> Out {
    (channel.to_string(), format_day(day), format_minute(minute), counts.clone())
}

/// A channel name as a group key: packed into a `u128` when shorter than 16 bytes.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum Channel {
    /// The name's bytes, zero-padded, with the length in the last byte.
    Packed(u128),
    /// A name of 16 bytes or more.
    Long(String),
}

impl Channel {
    fn new(name: &str) -> Channel {
        let len = name.len();
        if len >= 16 {
            return Channel::Long(name.to_string());
        }
        let mut bytes = [0u8; 16];
        bytes[..len].copy_from_slice(name.as_bytes());
        bytes[15] = len as u8;
        Channel::Packed(u128::from_le_bytes(bytes))
    }

    fn name(&self) -> String {
        match self {
            Channel::Packed(packed) => {
                let bytes = packed.to_le_bytes();
                let len = usize::from(bytes[15]);
                String::from_utf8(bytes[..len].to_vec()).expect("packed from a str")
            }
            Channel::Long(name) => name.clone(),
        }
    }
}
