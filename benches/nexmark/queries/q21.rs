//! Nexmark q21, add channel id: bids with a channel id taken from the channel name or the url.
//!
//! ```sql
//! SELECT
//!     auction, bidder, price, channel,
//!     CASE
//!         WHEN lower(channel) = 'apple' THEN '0'
//!         WHEN lower(channel) = 'google' THEN '1'
//!         WHEN lower(channel) = 'facebook' THEN '2'
//!         WHEN lower(channel) = 'baidu' THEN '3'
//!         ELSE REGEXP_EXTRACT(url, '(&|^)channel_id=([^&]*)', 2)
//!         END
//!     AS channel_id FROM bid
//!     where REGEXP_EXTRACT(url, '(&|^)channel_id=([^&]*)', 2) is not null or
//!           lower(channel) in ('apple', 'google', 'facebook', 'baidu');
//! ```
//!
//! **How ours differs.** Not in its result. `REGEXP_EXTRACT` is written by hand, without a
//! regex engine: the text after the first `channel_id=` that starts the url or follows a `&`,
//! up to the next `&` or the end (possibly empty); none if there is no such occurrence. The
//! `WHERE` clause keeps exactly the rows whose `channel_id` is not null, which is how it is
//! written here.

use differential_dataflow::VecCollection;
use ivm::{Diff, Time};

use crate::model::Bid;
use crate::query::{Query, SqlQuery, State, Streams};

/// q21's row: `(auction, bidder, price, channel, channel_id)`.
pub type Out = (u64, u64, u64, String, String);

/// q21.
pub struct Q21;

impl Query for Q21 {
    type Out = Out;
    const NAME: &'static str = "q21";

    fn logic<'s>(inputs: Streams<'s>) -> VecCollection<'s, Time, Out, Diff> {
        inputs.bids.flat_map(|bid| row(&bid))
    }

    fn recompute(state: &State) -> Vec<(Out, Diff)> {
        state.bids.iter().filter_map(row).map(|row| (row, 1)).collect()
    }
}

/// In SQL, as Nexmark writes it, with `REGEXP_EXTRACT(url, '(&|^)channel_id=([^&]*)', 2)`
/// written by hand as the view has it: `'&' || url` makes a match at the start one after a
/// `&`, `strpos` finds the first `&channel_id=`, and the value runs from there to the next `&`
/// (`SPLIT_INDEX(..., '&', 0)`). It is computed once, in the inner `SELECT`.
impl SqlQuery for Q21 {
    const SQL: &'static str = "SELECT auction, bidder, price, channel, \
           CASE \
             WHEN lower(channel) = 'apple' THEN '0' \
             WHEN lower(channel) = 'google' THEN '1' \
             WHEN lower(channel) = 'facebook' THEN '2' \
             WHEN lower(channel) = 'baidu' THEN '3' \
             ELSE channel_parameter \
           END AS channel_id \
         FROM ( \
           SELECT *, CASE WHEN strpos('&' || url, '&channel_id=') > 0 \
             THEN SPLIT_INDEX(substr(url, strpos('&' || url, '&channel_id=') + 11), '&', 0) END \
             AS channel_parameter \
           FROM bids \
         ) AS b \
         WHERE channel_parameter IS NOT NULL OR lower(channel) IN ('apple', 'google', 'facebook', 'baidu')";

    type Flat = Out;

    fn unflatten(flat: Self::Flat) -> Out {
        flat
    }
}

/// The `CASE` expression: the id of a named channel, else the url's `channel_id` parameter.
fn channel_id(channel: &str, url: &str) -> Option<String> {
    let named = ["apple", "google", "facebook", "baidu"];
    let lower = |name: &&str| match channel.is_ascii() {
        true => channel.eq_ignore_ascii_case(name),
        false => channel.to_lowercase() == *name, // SQL's lower() is Unicode's
    };
    match named.iter().position(lower) {
        Some(id) => Some(id.to_string()),
        None => url_parameter(url, "channel_id=").map(str::to_string),
    }
}

/// `REGEXP_EXTRACT(url, '(&|^)' || prefix || '([^&]*)', 2)`.
fn url_parameter<'u>(url: &'u str, prefix: &str) -> Option<&'u str> {
    let mut from = 0;
    while let Some(found) = url[from..].find(prefix) {
        let start = from + found;
        if start == 0 || url.as_bytes()[start - 1] == b'&' {
            let value = &url[start + prefix.len()..];
            return Some(value.split('&').next().unwrap_or(value));
        }
        from = start + 1;
    }
    None
}

fn row(bid: &Bid) -> Option<Out> {
    let id = channel_id(&bid.channel, &bid.url)?;
    Some((bid.auction, bid.bidder, bid.price, bid.channel.clone(), id))
}
