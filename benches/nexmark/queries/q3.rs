//! Nexmark q3, local item suggestion: who is selling in category 10 from Oregon, Idaho or
//! California, and which auctions.
//!
//! ```sql
//! SELECT P.name, P.city, P.state, A.id
//! FROM auction AS A INNER JOIN person AS P ON A.seller = P.id
//! WHERE A.category = 10 AND (P.state = 'OR' OR P.state = 'ID' OR P.state = 'CA');
//! ```
//!
//! The `nexmark` crate's generator writes states in lower case (`az,ca,id,or,wa,wy`), so the
//! filter compares with `'or'`, `'id'` and `'ca'`; with the upper-case literals of the Beam
//! generator the result would always be empty.

use differential_dataflow::VecCollection;
use hashbrown::HashMap;
use ivm::{Diff, Time};

use crate::model::{Auction, Person};
use crate::query::{Query, SqlQuery, State, Streams};

/// q3's row: `(name, city, state, auction id)`.
pub type Out = (String, String, String, u64);

/// q3.
pub struct Q3;

impl Query for Q3 {
    type Out = Out;
    const NAME: &'static str = "q3";

    fn logic<'s>(inputs: Streams<'s>) -> VecCollection<'s, Time, Out, Diff> {
        let sellers = inputs.persons.filter(local).map(|p| (p.id, (p.name, p.city, p.state)));
        let auctions = inputs.auctions.filter(in_category).map(|a| (a.seller, a.id));
        auctions
            .join_map(sellers, |_, &id, (name, city, state)| (name.clone(), city.clone(), state.clone(), id))
    }

    fn recompute(state: &State) -> Vec<(Out, Diff)> {
        let mut sellers: HashMap<u64, Vec<&Person>> = HashMap::new();
        for person in state.persons.iter().filter(|p| local(p)) {
            sellers.entry(person.id).or_default().push(person);
        }
        let mut rows = Vec::new();
        for auction in state.auctions.iter().filter(|a| in_category(a)) {
            for p in sellers.get(&auction.seller).into_iter().flatten() {
                rows.push(((p.name.clone(), p.city.clone(), p.state.clone(), auction.id), 1));
            }
        }
        rows
    }
}

impl SqlQuery for Q3 {
    const SQL: &'static str = "SELECT p.name, p.city, p.state, a.id FROM auctions AS a JOIN persons AS p ON a.seller = p.id \
         WHERE a.category = 10 AND p.state IN ('or', 'id', 'ca')";

    type Flat = Out;

    fn unflatten(flat: Self::Flat) -> Out {
        flat
    }
}

fn local(person: &Person) -> bool {
    matches!(person.state.as_str(), "or" | "id" | "ca")
}

fn in_category(auction: &Auction) -> bool {
    auction.category == 10
}
