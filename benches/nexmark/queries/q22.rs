//! Nexmark q22, get URL directories: the first three directories of each bid's url.
//!
//! ```sql
//! SELECT
//!     auction, bidder, price, channel,
//!     SPLIT_INDEX(url, '/', 3) as dir1,
//!     SPLIT_INDEX(url, '/', 4) as dir2,
//!     SPLIT_INDEX(url, '/', 5) as dir3 FROM bid;
//! ```
//!
//! **How ours differs.** Not in its result. `SPLIT_INDEX(s, '/', i)` is the `i`-th piece
//! (from 0) of `s` split at every `/`, or null when there are fewer pieces; null is `None`.
//! Generated urls look like `https://www.nexmark.com/<dir1>/<dir2>/<dir3>/item.htm?query=1`.

use differential_dataflow::VecCollection;
use ivm::{Diff, Time};

use crate::model::Bid;
use crate::query::{Query, SqlQuery, State, Streams};

/// q22's row: `(auction, bidder, price, channel, dir1, dir2, dir3)`.
pub type Out = (u64, u64, u64, String, Option<String>, Option<String>, Option<String>);

/// q22.
pub struct Q22;

impl Query for Q22 {
    type Out = Out;
    const NAME: &'static str = "q22";

    fn logic<'s>(inputs: Streams<'s>) -> VecCollection<'s, Time, Out, Diff> {
        inputs.bids.map(row)
    }

    fn recompute(state: &State) -> Vec<(Out, Diff)> {
        state.bids.iter().cloned().map(|bid| (row(bid), 1)).collect()
    }
}

/// In SQL, as Nexmark writes it (`SPLIT_INDEX` was added to the SQL layer for it).
impl SqlQuery for Q22 {
    const SQL: &'static str = "SELECT auction, bidder, price, channel, \
           SPLIT_INDEX(url, '/', 3) AS dir1, \
           SPLIT_INDEX(url, '/', 4) AS dir2, \
           SPLIT_INDEX(url, '/', 5) AS dir3 \
         FROM bids";

    type Flat = Out;

    fn unflatten(flat: Self::Flat) -> Out {
        flat
    }
}

/// `SPLIT_INDEX(text, '/', index)`.
fn split_index(text: &str, index: usize) -> Option<String> {
    text.split('/').nth(index).map(str::to_string)
}

fn row(bid: Bid) -> Out {
    let dir = |index| split_index(&bid.url, index);
    let (dir1, dir2, dir3) = (dir(3), dir(4), dir(5));
    (bid.auction, bid.bidder, bid.price, bid.channel, dir1, dir2, dir3)
}
