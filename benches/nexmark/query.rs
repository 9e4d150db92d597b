//! What a Nexmark query is to the harness: its logic over the three inputs, written once as
//! differential dataflow and used both as the `ivm` view definition and as the bare
//! differential program, and a from-scratch recomputation over plain vectors.
//!
//! Sharing the logic is deliberate: the bare program then differs from `ivm` only in what
//! `ivm` adds (tables kept as shared arrangements, sequenced commits, reads and subscriptions),
//! which is the overhead the harness reports.

use differential_dataflow::VecCollection;
use ivm::{Definition, Diff, Row, Table, Time, Views};
use serde::de::DeserializeOwned;

use crate::model::{Auction, Bid, Person};

/// The three input collections of a query, in some dataflow scope.
pub struct Streams<'s> {
    pub persons: VecCollection<'s, Time, Person, Diff>,
    pub auctions: VecCollection<'s, Time, Auction, Diff>,
    pub bids: VecCollection<'s, Time, Bid, Diff>,
}

/// The engine's three tables.
#[derive(Clone)]
pub struct Tables {
    pub persons: Table<Person>,
    pub auctions: Table<Auction>,
    pub bids: Table<Bid>,
}

impl Tables {
    /// The tables as collections in a view's scope.
    pub fn streams<'s>(&self, views: &Views<'s>) -> Streams<'s> {
        Streams {
            persons: views.table(&self.persons),
            auctions: views.table(&self.auctions),
            bids: views.table(&self.bids),
        }
    }
}

/// Every event so far, in arrival order: what a from-scratch recomputation reads.
#[derive(Default, Clone)]
pub struct State {
    pub persons: Vec<Person>,
    pub auctions: Vec<Auction>,
    pub bids: Vec<Bid>,
}

/// One Nexmark query.
pub trait Query: 'static {
    /// The query's output row.
    type Out: Row;

    /// The query's name, `q0` to `q22`.
    const NAME: &'static str;

    /// The query's logic: the view over the three inputs.
    fn logic<'s>(inputs: Streams<'s>) -> VecCollection<'s, Time, Self::Out, Diff>;

    /// The query's whole result computed from scratch over `state` with plain Rust (hash maps,
    /// sorting), as `(row, multiplicity)` pairs; need not be consolidated.
    fn recompute(state: &State) -> Vec<(Self::Out, Diff)>;

    /// The `ivm` view definition: the logic over the engine's tables.
    fn definition(tables: &Tables) -> Definition<Self::Out> {
        let tables = tables.clone();
        Definition::new(move |views| Self::logic(tables.streams(views)))
    }
}

/// A Nexmark query that can also be written in `ivm`'s SQL (the `sql` mode): the same result,
/// from a view defined by [`SqlQuery::SQL`] over the engine's Rust tables exposed to SQL as
/// `persons`, `auctions` and `bids` (their columns are the fields of [`crate::model`]).
pub trait SqlQuery: Query {
    /// The view's `SELECT`.
    const SQL: &'static str;

    /// A row of the SQL view as SQL returns it (decoded by column position).
    type Flat: DeserializeOwned + Send + 'static;

    /// That row as the query's output row, which the Rust view computes.
    fn unflatten(flat: Self::Flat) -> Self::Out;
}
