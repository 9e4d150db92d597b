//! Which columns of each scanned source a plan reads: every scan that some of its columns are
//! never read from is wrapped in a projection that keeps the read ones in place and puts
//! `NULL` in the others. Positions do not change, so no expression above is rewritten; what
//! changes is what the rows carry through the dataflow (a join arranges, a Rust source
//! converts, only the columns the query uses).
//!
//! Every expression a node evaluates marks its columns as read, whether or not its result is
//! used, so an expression that fails fails whether or not its value is used. What pruning
//! does change: a field of a Rust row that SQL cannot hold (a `u64` above `i64::MAX`) is an
//! error only of the queries that read it. Nodes whose result depends on whole rows
//! (`DISTINCT`, set operations, top-k, outer joins, recursion) read every column of their
//! inputs.

use crate::sql::plan::{JoinKind, Plan};
use crate::sql::scalar::Scalar;
use crate::sql::value::Value;

/// `plan` with each scan narrowed to the columns the plan reads from it.
pub(crate) fn prune(plan: &Plan) -> Plan {
    prune_into(plan, &vec![true; plan.width()])
}

/// `plan`, whose output columns `needed` marks as read above it.
fn prune_into(plan: &Plan, needed: &[bool]) -> Plan {
    match plan {
        Plan::Scan { columns, .. } if !needed.iter().all(|n| *n) => {
            let exprs = needed
                .iter()
                .enumerate()
                .map(|(i, read)| if *read { Scalar::Column(i) } else { Scalar::Literal(Value::Null) })
                .collect();
            Plan::Project { input: Box::new(plan.clone()), exprs, columns: columns.clone() }
        }
        Plan::Scan { .. } | Plan::Constant { .. } | Plan::Recurse { .. } => plan.clone(),
        Plan::Filter { input, predicate } => {
            let mut read = needed.to_vec();
            mark(predicate, &mut read);
            Plan::Filter { input: Box::new(prune_into(input, &read)), predicate: predicate.clone() }
        }
        Plan::Project { input, exprs, columns } => {
            // An expression whose value is not needed is still evaluated, and may fail, unless
            // it is a bare column or a literal.
            let evaluated = exprs
                .iter()
                .zip(needed)
                .filter(|(e, needed)| **needed || !matches!(e, Scalar::Column(_) | Scalar::Literal(_)));
            let read = read_by(evaluated.map(|(e, _)| e), input.width());
            Plan::Project {
                input: Box::new(prune_into(input, &read)),
                exprs: exprs.clone(),
                columns: columns.clone(),
            }
        }
        Plan::Join { kind, left, right, left_keys, right_keys, residual } => {
            let (left_width, right_width) = (left.width(), right.width());
            let mut both = vec![false; left_width + right_width];
            // Semi- and anti-joins output the left columns only.
            both[..needed.len()].copy_from_slice(needed);
            if matches!(kind, JoinKind::Left | JoinKind::Right | JoinKind::Full) {
                // The rows without a partner are found by comparing whole rows.
                both.iter_mut().for_each(|n| *n = true);
            }
            if let Some(residual) = residual {
                mark(residual, &mut both);
            }
            let mut left_read = both[..left_width].to_vec();
            let mut right_read = both[left_width..].to_vec();
            left_keys.iter().for_each(|k| mark(k, &mut left_read));
            right_keys.iter().for_each(|k| mark(k, &mut right_read));
            Plan::Join {
                kind: *kind,
                left: Box::new(prune_into(left, &left_read)),
                right: Box::new(prune_into(right, &right_read)),
                left_keys: left_keys.clone(),
                right_keys: right_keys.clone(),
                residual: residual.clone(),
            }
        }
        Plan::Aggregate { input, group, aggregates, columns } => {
            let mut read = vec![false; input.width()];
            group.iter().for_each(|g| mark(g, &mut read));
            aggregates.iter().filter_map(|a| a.argument.as_ref()).for_each(|a| mark(a, &mut read));
            Plan::Aggregate {
                input: Box::new(prune_into(input, &read)),
                group: group.clone(),
                aggregates: aggregates.clone(),
                columns: columns.clone(),
            }
        }
        // A top-k breaks ties by the whole row (or keeps them whole); the others compare
        // whole rows.
        Plan::TopK { .. } | Plan::Distinct { .. } | Plan::Set { .. } | Plan::Recursive { .. } => {
            plan.map_inputs(&mut whole)
        }
    }
}

/// `plan` with every output column read.
fn whole(plan: &Plan) -> Plan {
    prune_into(plan, &vec![true; plan.width()])
}

/// The columns of a row `width` wide that `exprs` read.
pub(crate) fn read_by<'a>(exprs: impl IntoIterator<Item = &'a Scalar>, width: usize) -> Vec<bool> {
    let mut read = vec![false; width];
    exprs.into_iter().for_each(|e| mark(e, &mut read));
    read
}

/// Marks the columns `expr` reads.
fn mark(expr: &Scalar, read: &mut [bool]) {
    expr.visit_columns(&mut |column| {
        if let Some(r) = read.get_mut(column) {
            *r = true;
        }
    });
}
