//! The operator library: typed building blocks for view definitions.
//!
//! Differential dataflow gives views `map`, `join`, `reduce`, `iterate` and friends. This
//! module adds the operators applications keep rebuilding on top of them, each maintained
//! incrementally and exact under deletions:
//!
//! | operator | input | output | file |
//! |---|---|---|---|
//! | [`left_join`](OuterJoin::left_join), [`full_join`](OuterJoin::full_join) | `(K, V1)`, `(K, V2)` | `(K, (V1, Option<V2>))`, `(K, (Option<V1>, Option<V2>))` | `outer_join.rs` |
//! | [`semi_join`](SemiJoin::semi_join), [`anti_join`](SemiJoin::anti_join) | `(K, V)`, `K` | `(K, V)` | `semi_join.rs` |
//! | [`count_per_key`](Aggregate::count_per_key), [`sum_per_key`](Aggregate::sum_per_key), [`min_per_key`](Aggregate::min_per_key), [`max_per_key`](Aggregate::max_per_key), [`mean_per_key`](Aggregate::mean_per_key) | `(K, V)` | `(K, result)` | `aggregate.rs` |
//! | [`count_total`](Total::count_total), [`sum_total`](Total::sum_total) | `V` | one result, `0` when empty | `total.rs` |
//! | [`top_k`](TopK::top_k), [`top_k_by`](TopK::top_k_by) | `(K, V)` | `(K, V)` | `top_k.rs` |
//! | [`top_k_ranked`](TopK::top_k_ranked), [`top_k_by_ranked`](TopK::top_k_by_ranked) | `(K, V)` | `(K, (rank, V))` | `top_k.rs` |
//! | [`reachable`] | edges `(N, N)`, roots `N` | `N` | `reach.rs` |
//! | [`tumbling_window`](Windows::tumbling_window), [`hopping_window`](Windows::hopping_window) | `D` | `(window start, D)` | `window.rs` |
//! | [`temporal_filter`](TemporalFilter::temporal_filter) | `D` | `D` | `temporal.rs` |
//!
//! Most are methods of extension traits implemented for the collections a view definition
//! works with, [`Rows<'s, D>`](Rows) (differential's `VecCollection<'s, Time, D, Diff>`);
//! `use ivm::ops::*;` brings them all in scope.
//! [`reachable`] is a function, as it takes two inputs with different roles.
//!
//! ```
//! use ivm::ops::*;
//! use ivm::{Config, Engine};
//! # fn main() -> ivm::Result<()> {
//! let engine = Engine::start(Config::default().with_workers(2))?;
//! let customers = engine.keyed_table::<u32, String>("customers")?;
//! let orders = engine.table::<(u32, u64)>("orders")?; // (customer, cents)
//!
//! // Every customer with their total spend, zero for those without orders.
//! let spend = engine.view("spend", {
//!     let (customers, orders) = (customers.clone(), orders.clone());
//!     move |v| {
//!         let totals = v.table(&orders).sum_per_key();
//!         v.keyed_table(&customers)
//!             .left_join(totals)
//!             .map(|(id, (name, total))| (id, name, total.unwrap_or(0)))
//!     }
//! })?;
//!
//! let t = engine.commit(|tx| {
//!     tx.upsert(&customers, 1, "ada".to_string());
//!     tx.upsert(&customers, 2, "bob".to_string());
//!     tx.insert(&orders, (1, 250));
//!     tx.insert(&orders, (1, 100));
//! })?;
//! assert_eq!(spend.at(t)?, vec![((1, "ada".into(), 350), 1), ((2, "bob".into(), 0), 1)]);
//! let t = engine.commit(|tx| tx.delete(&orders, (1, 250)))?;
//! assert_eq!(spend.at(t)?, vec![((1, "ada".into(), 100), 1), ((2, "bob".into(), 0), 1)]);
//! # Ok(()) }
//! ```
//!
//! # Conventions
//!
//! **Multiplicities.** A collection is a multiset: each row has a multiplicity ([`Diff`]),
//! normally positive, but a bag table lets a row be deleted more often than it was inserted.
//! The operators say what they do with multiplicities, and follow one rule:
//! - *Linear* operators act on every update as is and add up: joins multiply multiplicities,
//!   windows and temporal filters move them in time or data. Negative multiplicities pass
//!   through (`f(a - b) = f(a) - f(b)`).
//! - *Non-linear* operators (aggregates, top-k, reachability, and the key-presence test of
//!   semi-, anti- and outer joins) decide whether something exists, and a row exists when its
//!   multiplicity is *positive* (a key, when the multiplicities of its rows sum to a positive
//!   number). Rows with zero or negative multiplicity are ignored there.
//!
//! With tables that only delete rows they hold, every multiplicity is positive and the rules
//! agree with SQL's bag semantics.
//!
//! **Time.** Every operator but windows and temporal filters is a function of collections: its
//! result at time `t` depends only on its inputs at `t`, not on when their rows arrived.
//! Windows and temporal filters also read the times of the updates, as their docs say. In all
//! cases the same updates give the same result, whatever the number of workers, in the live
//! engine as in a [batch run](crate::batch) of the definition.
//!
//! **Cost.** Each operator's docs say what state (arrangements) it keeps. Those built on
//! `reduce` keep their input and their output by key; joins keep both inputs by key. An
//! operator shares the arrangements of its inputs among its parts, but two operators do not
//! share with each other.
//!
//! **Arranged inputs.** The keyed operators (joins, semi- and anti-joins, aggregates, top-k)
//! take any [`Keyed`] input: a collection of `(key, value)` rows, or the arrangement a keyed
//! table or keyed view already has, from
//! [`Views::keyed_table_arranged`](crate::Views::keyed_table_arranged) or
//! [`Views::keyed_view_arranged`](crate::Views::keyed_view_arranged). Given the arrangement,
//! the operator reads the engine's shared trace as it is: it copies no row out of it and
//! keeps no arrangement of that input of its own. The results are the same either way.
//!
//! ```
//! use ivm::ops::*;
//! use ivm::{Config, Engine};
//! # fn main() -> ivm::Result<()> {
//! let engine = Engine::start(Config::default())?;
//! let names = engine.keyed_table::<u32, String>("names")?; // customer -> name
//! let orders = engine.table::<(u32, u64)>("orders")?; // (customer, cents)
//! // Every customer, with their orders if any: the customers' side is the table's own
//! // arrangement, which the join reads without arranging the names again.
//! let all = engine.view("all", {
//!     let (names, orders) = (names.clone(), orders.clone());
//!     move |v| v.keyed_table_arranged(&names).left_join(v.table(&orders))
//! })?;
//! let t = engine.commit(|tx| {
//!     tx.upsert(&names, 1, "ada".to_string());
//!     tx.upsert(&names, 2, "bob".to_string());
//!     tx.insert(&orders, (1, 250));
//! })?;
//! assert_eq!(all.at(t)?, vec![((1, ("ada".into(), Some(250))), 1), ((2, ("bob".into(), None)), 1)]);
//! # Ok(()) }
//! ```

mod aggregate;
pub(crate) mod keyed;
mod outer_join;
mod reach;
mod semi_join;
mod temporal;
mod top_k;
mod total;
mod window;

use differential_dataflow::VecCollection;

use crate::time::{Diff, Time};

/// The collections view definitions work with: rows of type `D` changing at [`Time`]s by
/// [`Diff`]s, in the dataflow scope `'s` of the view being built. Every operator here takes and
/// returns them.
pub type Rows<'s, D> = VecCollection<'s, Time, D, Diff>;

pub use aggregate::{Aggregate, Mean};
pub use keyed::{Keyed, KeyedArrangement};
pub use outer_join::OuterJoin;
pub use reach::reachable;
pub use semi_join::SemiJoin;
pub use temporal::TemporalFilter;
pub use top_k::TopK;
pub use total::Total;
pub use window::Windows;
