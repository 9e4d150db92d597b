//! Graph reachability: every node reachable from a set of roots, kept up to date as edges come
//! and go.
//!
//! Reachability is recursive: a node is reachable if it is a root or the target of an edge from
//! a reachable node. [`reachable`] computes that fixed point with differential dataflow's
//! `iterate`: starting from the roots, each round follows every edge out of the nodes found so
//! far, until a round finds nothing new. Because `iterate` maintains the whole fixed point
//! incrementally (per round, not just its final result), deleting an edge is handled exactly:
//! nodes whose every path from a root used that edge leave the result, nodes still reachable
//! another way stay, and cycles do not keep unreachable nodes alive.
//!
//! **Multiplicities.** Edges and roots are sets: one present (positive multiplicity, see
//! [`SemiJoin`](crate::ops::SemiJoin)) copy is as good as ten, and a row deleted more often
//! than inserted is absent. Each reachable node is output once (multiplicity 1).
//!
//! **Cost.** The work after a change is proportional to the part of the fixed point it
//! changes, round by round; a deletion near the roots of a long path can take as many rounds as
//! the path is long.

use differential_dataflow::operators::Iterate;

use crate::ops::Rows;
use crate::ops::semi_join::present;
use crate::row::Row;

/// The nodes reachable from `roots` along the directed `edges` (`(from, to)` pairs), roots
/// included, each once.
///
/// ```
/// use ivm::{Config, Engine};
/// # fn main() -> ivm::Result<()> {
/// let engine = Engine::start(Config::default())?;
/// let edges = engine.table::<(u32, u32)>("edges")?;
/// let roots = engine.table::<u32>("roots")?;
/// let reach = engine.view("reach", {
///     let (edges, roots) = (edges.clone(), roots.clone());
///     move |v| ivm::ops::reachable(v.table(&edges), v.table(&roots))
/// })?;
/// let t1 = engine.commit(|tx| {
///     tx.insert_all(&edges, [(1, 2), (2, 3), (3, 1), (4, 5)]);
///     tx.insert(&roots, 1);
/// })?;
/// assert_eq!(reach.at(t1)?, vec![(1, 1), (2, 1), (3, 1)]);
/// let t2 = engine.commit(|tx| tx.delete(&edges, (1, 2)))?;
/// assert_eq!(reach.at(t2)?, vec![(1, 1)]);
/// # Ok(()) }
/// ```
pub fn reachable<'s, N: Row>(edges: Rows<'s, (N, N)>, roots: Rows<'s, N>) -> Rows<'s, N> {
    let edges = present(edges).arrange_by_key();
    let roots = present(roots);
    roots.clone().iterate(move |scope, reached| {
        let edges = edges.enter(scope);
        let roots = roots.enter(scope);
        reached.arrange_by_self().join_core(edges, |_from, _, to| Some(to.clone())).concat(roots).distinct()
    })
}
