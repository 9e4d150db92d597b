//! Nexmark q8, monitor new users: the people who registered and opened an auction in the same
//! 10-second window.
//!
//! ```sql
//! SELECT P.id, P.name, P.starttime
//! FROM (
//!   SELECT id, name, window_start AS starttime, window_end AS endtime
//!   FROM TABLE(TUMBLE(TABLE person, DESCRIPTOR(date_time), INTERVAL '10' SECOND))
//!   GROUP BY id, name, window_start, window_end
//! ) P
//! JOIN (
//!   SELECT seller, window_start AS starttime, window_end AS endtime
//!   FROM TABLE(TUMBLE(TABLE auction, DESCRIPTOR(date_time), INTERVAL '10' SECOND))
//!   GROUP BY seller, window_start, window_end
//! ) A
//! ON P.id = A.seller AND P.starttime = A.starttime AND P.endtime = A.endtime;
//! ```
//!
//! The tumbling window is computed as data from `date_time` (milliseconds since the epoch):
//! `starttime = date_time - date_time % 10_000`; `endtime` is `starttime + 10_000`, so joining on
//! the start alone is the same join. A streaming engine emits a window once the watermark
//! passes its end; here every window is in the result as soon as it has a match, which is the
//! answer over all events so far.

use differential_dataflow::VecCollection;
use hashbrown::HashSet;
use ivm::{Diff, Time};

use crate::query::{Query, SqlQuery, State, Streams};

/// q8's row: `(person id, name, window start)`.
pub type Out = (u64, String, u64);

/// The window length, in milliseconds.
const WINDOW: u64 = 10_000;

/// q8.
pub struct Q8;

impl Query for Q8 {
    type Out = Out;
    const NAME: &'static str = "q8";

    fn logic<'s>(inputs: Streams<'s>) -> VecCollection<'s, Time, Out, Diff> {
        let persons = inputs.persons.map(|p| ((p.id, start(p.date_time)), p.name)).distinct();
        let sellers = inputs.auctions.map(|a| (a.seller, start(a.date_time))).distinct();
        persons.semijoin(sellers).map(|((id, start), name)| (id, name, start))
    }

    fn recompute(state: &State) -> Vec<(Out, Diff)> {
        let sellers: HashSet<(u64, u64)> =
            state.auctions.iter().map(|a| (a.seller, start(a.date_time))).collect();
        let persons: HashSet<(u64, &str, u64)> =
            state.persons.iter().map(|p| (p.id, p.name.as_str(), start(p.date_time))).collect();
        let rows = persons.into_iter().filter(|&(id, _, start)| sellers.contains(&(id, start)));
        rows.map(|(id, name, start)| ((id, name.to_string(), start), 1)).collect()
    }
}

/// In SQL, as Nexmark writes it, with each `TUMBLE` spelled as the window columns it adds.
impl SqlQuery for Q8 {
    const SQL: &'static str = "SELECT P.id, P.name, P.starttime \
         FROM ( \
           SELECT id, name, window_start AS starttime, window_end AS endtime \
           FROM (SELECT *, date_time - date_time % 10000 AS window_start, \
                   date_time - date_time % 10000 + 10000 AS window_end FROM persons) AS t \
           GROUP BY id, name, window_start, window_end \
         ) AS P \
         JOIN ( \
           SELECT seller, window_start AS starttime, window_end AS endtime \
           FROM (SELECT *, date_time - date_time % 10000 AS window_start, \
                   date_time - date_time % 10000 + 10000 AS window_end FROM auctions) AS t \
           GROUP BY seller, window_start, window_end \
         ) AS A \
         ON P.id = A.seller AND P.starttime = A.starttime AND P.endtime = A.endtime";

    type Flat = Out;

    fn unflatten(flat: Self::Flat) -> Out {
        flat
    }
}

/// The start of the tumbling window holding `date_time`.
fn start(date_time: u64) -> u64 {
    date_time - date_time % WINDOW
}
