//! Logical plans: what the binder makes of a query, and what `lower.rs` builds a dataflow from.
//!
//! Every plan node produces rows of a fixed list of columns ([`Plan::columns`]); expressions
//! inside a node read its input's columns by position.

use std::fmt;
use std::sync::Arc;

use crate::sql::scalar::Scalar;
use crate::sql::source::Source;
use crate::sql::types::SqlType;
use crate::sql::value::SqlRow;

/// One output column of a plan: its name (for `SELECT *` and the result's header), the table
/// name or alias it can be qualified with, and its type.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Column {
    pub(crate) name: String,
    pub(crate) qualifier: Option<String>,
    pub(crate) ty: SqlType,
}

/// How a join keeps rows that find no partner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum JoinKind {
    Inner,
    Left,
    Right,
    Full,
    /// The left rows that have a partner (`EXISTS`, `IN`), each once.
    Semi,
    /// The left rows that have none (`NOT EXISTS`).
    Anti,
}

/// An aggregate function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AggregateFunction {
    /// `COUNT(*)`.
    CountRows,
    Count,
    Sum,
    Min,
    Max,
    Avg,
}

/// One aggregate of a `GROUP BY`: the function, its argument (a column of the aggregate's
/// input), `DISTINCT`, its result type, and its argument's type (`BIGINT` for `COUNT(*)`).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct AggregateCall {
    pub(crate) function: AggregateFunction,
    pub(crate) argument: Option<Scalar>,
    pub(crate) distinct: bool,
    pub(crate) ty: SqlType,
    pub(crate) input: SqlType,
}

impl AggregateCall {
    /// True if the call can be kept as differences (`COUNT`, and `SUM` or `AVG` of integers;
    /// with `DISTINCT`, over the distinct values); `MIN`, `MAX` and the sums of doubles and
    /// decimals read their group whole.
    pub(crate) fn additive(&self) -> bool {
        match self.function {
            AggregateFunction::CountRows | AggregateFunction::Count => true,
            AggregateFunction::Sum | AggregateFunction::Avg => {
                matches!(self.input, SqlType::Int | SqlType::Null)
            }
            AggregateFunction::Min | AggregateFunction::Max => false,
        }
    }
}

/// An inner join (with the conditions above it) whose rows a top-k ranks, or an aggregate
/// groups, per join key ([`Plan::join_per_key`]): each partition or group holds the rows of
/// one key, so the top-k or aggregate can run on the join's two sides grouped by key (a
/// co-group), and the joined rows need not be arranged.
pub(crate) struct JoinPerKey<'p> {
    pub(crate) left: &'p Plan,
    pub(crate) right: &'p Plan,
    pub(crate) left_keys: &'p [Scalar],
    pub(crate) right_keys: &'p [Scalar],
    /// The join's residual, then the filter above it, over the joined row, in that order.
    pub(crate) conditions: Vec<Scalar>,
}

/// One `ORDER BY` key.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SortKey {
    pub(crate) expr: Scalar,
    pub(crate) descending: bool,
    pub(crate) nulls_first: bool,
}

/// A set operation between two inputs of the same columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SetOp {
    Union,
    Except,
    Intersect,
}

/// A logical plan.
#[derive(Clone, Debug)]
pub(crate) enum Plan {
    /// Every row of a table or view.
    Scan {
        source: Arc<Source>,
        columns: Vec<Column>,
    },
    /// Fixed rows (`VALUES`, or a `SELECT` without `FROM`).
    Constant {
        rows: Vec<SqlRow>,
        columns: Vec<Column>,
    },
    Filter {
        input: Box<Plan>,
        predicate: Scalar,
    },
    /// The rows of `exprs` evaluated over each input row.
    Project {
        input: Box<Plan>,
        exprs: Vec<Scalar>,
        columns: Vec<Column>,
    },
    /// A join on `left_keys = right_keys` (pairwise, `NULL` never equal) and `residual` (over
    /// the left columns followed by the right ones). Output: left columns then right ones
    /// (only the left ones for semi- and anti-joins).
    Join {
        kind: JoinKind,
        left: Box<Plan>,
        right: Box<Plan>,
        left_keys: Vec<Scalar>,
        right_keys: Vec<Scalar>,
        residual: Option<Scalar>,
    },
    /// `GROUP BY group` with `aggregates`. Output: the group's values, then the aggregates. With
    /// no group (`global`), one row even over no input.
    Aggregate {
        input: Box<Plan>,
        group: Vec<Scalar>,
        aggregates: Vec<AggregateCall>,
        columns: Vec<Column>,
    },
    /// Each distinct row once.
    Distinct {
        input: Box<Plan>,
    },
    /// `UNION`, `EXCEPT` or `INTERSECT`, `ALL` (multisets) or not (sets).
    Set {
        op: SetOp,
        all: bool,
        left: Box<Plan>,
        right: Box<Plan>,
    },
    /// The first `limit` rows after `offset` in `order`, per distinct `partition` value
    /// (`ORDER BY ... LIMIT`); `numbered`, each with its place (from 1) as one more column
    /// (`ROW_NUMBER() OVER (PARTITION BY ... ORDER BY ...)`, limited by a `<= n` on it). Rows
    /// the order ranks equal are ordered by the whole row, unless `ties`: then every row
    /// ranked equal to the last one kept is kept too (what the rows that hold their group's
    /// `MAX` are planned as, [`crate::sql::extreme_rows`]).
    TopK {
        input: Box<Plan>,
        partition: Vec<Scalar>,
        order: Vec<SortKey>,
        offset: usize,
        limit: Option<usize>,
        numbered: bool,
        ties: bool,
    },
    /// `WITH RECURSIVE name AS (base UNION [ALL] step)`: `step` reads the rows so far through
    /// `Plan::Recurse` of this `id`; iterated to its fixed point.
    Recursive {
        id: usize,
        base: Box<Plan>,
        step: Box<Plan>,
        distinct: bool,
        columns: Vec<Column>,
    },
    /// The rows so far of the recursive query `id` (only inside its `step`).
    Recurse {
        id: usize,
        columns: Vec<Column>,
    },
}

impl Plan {
    /// The plan's output columns.
    pub(crate) fn columns(&self) -> Vec<Column> {
        match self {
            Plan::Scan { columns, .. }
            | Plan::Constant { columns, .. }
            | Plan::Project { columns, .. }
            | Plan::Aggregate { columns, .. }
            | Plan::Recursive { columns, .. }
            | Plan::Recurse { columns, .. } => columns.clone(),
            Plan::TopK { input, numbered: true, .. } => {
                let mut columns = input.columns();
                columns.push(Column { name: "row_number".into(), qualifier: None, ty: SqlType::Int });
                columns
            }
            Plan::Filter { input, .. } | Plan::Distinct { input } | Plan::TopK { input, .. } => {
                input.columns()
            }
            Plan::Set { left, .. } => left.columns(),
            Plan::Join { kind: JoinKind::Semi | JoinKind::Anti, left, .. } => left.columns(),
            Plan::Join { left, right, .. } => {
                let mut columns = left.columns();
                columns.extend(right.columns());
                columns
            }
        }
    }

    /// The number of output columns.
    pub(crate) fn width(&self) -> usize {
        self.columns().len()
    }

    /// The join this top-k or aggregate runs on per join key, if it does ([`JoinPerKey`]):
    /// - a top-k that is not the identity, whose partition names a column of every join key
    ///   and nothing else;
    /// - an aggregate with a call that reads its group whole (`MIN`, `MAX`, a sum of doubles
    ///   or decimals: not [`AggregateCall::additive`], whose running totals cost a change the
    ///   same whatever its group), whose group names a column of every join key, and possibly
    ///   other expressions too;
    ///
    /// over an inner join of two sides that are not constant (those join without state), under
    /// at most a filter.
    pub(crate) fn join_per_key(&self) -> Option<JoinPerKey<'_>> {
        let (input, columns, others) = match self {
            Plan::TopK { input, partition, offset, limit, numbered, .. }
                if limit.is_some() || *offset > 0 || *numbered =>
            {
                (input, partition, false)
            }
            Plan::Aggregate { input, group, aggregates, .. }
                if !aggregates.iter().all(AggregateCall::additive) =>
            {
                (input, group, true)
            }
            _ => return None,
        };
        let (join, filter) = match input.as_ref() {
            Plan::Filter { input, predicate } => (input.as_ref(), Some(predicate)),
            join => (join, None),
        };
        let Plan::Join { kind: JoinKind::Inner, left, right, left_keys, right_keys, residual } = join else {
            return None;
        };
        if left_keys.is_empty() || left.constant_rows().is_some() || right.constant_rows().is_some() {
            return None;
        }
        // The key position each column holds, from either side of the join.
        let width = left.width();
        let position = |expr: &Scalar| {
            let Scalar::Column(column) = expr else { return None };
            let side =
                |keys: &[Scalar], column: usize| keys.iter().position(|k| *k == Scalar::Column(column));
            if *column < width { side(left_keys, *column) } else { side(right_keys, *column - width) }
        };
        let mut covered = vec![false; left_keys.len()];
        for expr in columns {
            match position(expr) {
                Some(key) => covered[key] = true,
                None if others => {}
                None => return None,
            }
        }
        if !covered.iter().all(|c| *c) {
            return None;
        }
        let conditions = residual.iter().chain(filter).cloned().collect();
        Some(JoinPerKey { left, right, left_keys, right_keys, conditions })
    }

    /// The plan as `EXPLAIN` shows it: one node per line, inputs indented below.
    pub(crate) fn explain(&self) -> String {
        let mut out = String::new();
        self.explain_into(&mut out, 0);
        out
    }

    fn explain_into(&self, out: &mut String, depth: usize) {
        let pad = "  ".repeat(depth);
        let list = |items: &[Scalar]| items.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
        let keys = |order: &[SortKey]| {
            order
                .iter()
                .map(|k| {
                    let direction = if k.descending { " DESC" } else { "" };
                    let nulls = if k.nulls_first { " NULLS FIRST" } else { " NULLS LAST" };
                    format!("{}{direction}{nulls}", k.expr)
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let line = match self {
            Plan::Scan { source, .. } => format!("Scan {}", source.name()),
            Plan::Constant { rows, .. } => format!("Constant ({} rows)", rows.len()),
            Plan::Filter { predicate, .. } => format!("Filter {predicate}"),
            Plan::Project { exprs, .. } => format!("Project {}", list(exprs)),
            Plan::Join { kind, left_keys, right_keys, residual, .. } => {
                let residual = residual.as_ref().map(|r| format!(" and {r}")).unwrap_or_default();
                format!("Join {kind:?} on ({}) = ({}){residual}", list(left_keys), list(right_keys))
            }
            Plan::Aggregate { group, aggregates, .. } => {
                let calls: Vec<String> = aggregates
                    .iter()
                    .map(|a| {
                        let distinct = if a.distinct { "DISTINCT " } else { "" };
                        let argument = a.argument.as_ref().map_or("*".to_string(), ToString::to_string);
                        format!("{:?}({distinct}{argument})", a.function)
                    })
                    .collect();
                format!("Aggregate by ({}): {}", list(group), calls.join(", "))
            }
            Plan::Distinct { .. } => "Distinct".to_string(),
            Plan::Set { op, all, .. } => format!("{op:?}{}", if *all { " ALL" } else { "" }),
            Plan::TopK { partition, order, offset, limit, numbered, ties, .. } => {
                let limit = limit.map(|l| format!(" limit {l}")).unwrap_or_default();
                let offset = if *offset > 0 { format!(" offset {offset}") } else { String::new() };
                let ties = if *ties { " with ties" } else { "" };
                let numbered = if *numbered { ", numbered" } else { "" };
                format!("TopK per ({}) by ({}){offset}{limit}{ties}{numbered}", list(partition), keys(order))
            }
            Plan::Recursive { id, distinct, .. } => {
                format!("Recursive #{id}{}", if *distinct { " (distinct)" } else { "" })
            }
            Plan::Recurse { id, .. } => format!("Recurse #{id}"),
        };
        out.push_str(&pad);
        out.push_str(&line);
        if self.join_per_key().is_some() {
            out.push_str(", on the join's sides per key");
        }
        out.push('\n');
        for input in self.inputs() {
            input.explain_into(out, depth + 1);
        }
    }

    /// The plan's rows if it reads no table (`VALUES`, possibly renamed or filtered) and every
    /// expression in it can be computed: then they are the same at every time. `None` otherwise
    /// (and on an error, which the lowered plan then keeps as data).
    pub(crate) fn constant_rows(&self) -> Option<Vec<SqlRow>> {
        match self {
            Plan::Constant { rows, .. } => Some(rows.clone()),
            Plan::Project { input, exprs, .. } => input
                .constant_rows()?
                .iter()
                .map(|row| exprs.iter().map(|e| e.eval(row).ok()).collect())
                .collect(),
            Plan::Filter { input, predicate } => {
                let mut kept = Vec::new();
                for row in input.constant_rows()? {
                    if predicate.holds(&row).ok()? {
                        kept.push(row);
                    }
                }
                Some(kept)
            }
            _ => None,
        }
    }

    /// The plan's inputs.
    pub(crate) fn inputs(&self) -> Vec<&Plan> {
        match self {
            Plan::Scan { .. } | Plan::Constant { .. } | Plan::Recurse { .. } => vec![],
            Plan::Filter { input, .. }
            | Plan::Project { input, .. }
            | Plan::Aggregate { input, .. }
            | Plan::Distinct { input }
            | Plan::TopK { input, .. } => vec![input],
            Plan::Join { left, right, .. } | Plan::Set { left, right, .. } => vec![left, right],
            Plan::Recursive { base, step, .. } => vec![base, step],
        }
    }

    /// The same node over `f` of each of its inputs (in [`Plan::inputs`]' order).
    pub(crate) fn map_inputs(&self, f: &mut dyn FnMut(&Plan) -> Plan) -> Plan {
        let mut map = |input: &Plan| Box::new(f(input));
        match self {
            Plan::Scan { .. } | Plan::Constant { .. } | Plan::Recurse { .. } => self.clone(),
            Plan::Filter { input, predicate } => {
                Plan::Filter { input: map(input), predicate: predicate.clone() }
            }
            Plan::Project { input, exprs, columns } => {
                Plan::Project { input: map(input), exprs: exprs.clone(), columns: columns.clone() }
            }
            Plan::Join { kind, left, right, left_keys, right_keys, residual } => Plan::Join {
                kind: *kind,
                left: map(left),
                right: map(right),
                left_keys: left_keys.clone(),
                right_keys: right_keys.clone(),
                residual: residual.clone(),
            },
            Plan::Aggregate { input, group, aggregates, columns } => Plan::Aggregate {
                input: map(input),
                group: group.clone(),
                aggregates: aggregates.clone(),
                columns: columns.clone(),
            },
            Plan::Distinct { input } => Plan::Distinct { input: map(input) },
            Plan::Set { op, all, left, right } => {
                Plan::Set { op: *op, all: *all, left: map(left), right: map(right) }
            }
            Plan::TopK { input, partition, order, offset, limit, numbered, ties } => Plan::TopK {
                input: map(input),
                partition: partition.clone(),
                order: order.clone(),
                offset: *offset,
                limit: *limit,
                numbered: *numbered,
                ties: *ties,
            },
            Plan::Recursive { id, base, step, distinct, columns } => Plan::Recursive {
                id: *id,
                base: map(base),
                step: map(step),
                distinct: *distinct,
                columns: columns.clone(),
            },
        }
    }

    /// True if the two plans compute the same rows because they are the same nodes, with the
    /// same expressions, over the same sources; only the names of their columns may differ
    /// (two copies of one subquery under different aliases).
    pub(crate) fn same_rows(&self, other: &Plan) -> bool {
        let both =
            |a: &[&Plan], b: &[&Plan]| a.len() == b.len() && a.iter().zip(b).all(|(a, b)| a.same_rows(b));
        let node = match (self, other) {
            (Plan::Scan { source: a, .. }, Plan::Scan { source: b, .. }) => Arc::ptr_eq(a, b),
            (Plan::Constant { rows: a, columns: x }, Plan::Constant { rows: b, columns: y }) => {
                a == b && x.iter().map(|c| &c.ty).eq(y.iter().map(|c| &c.ty))
            }
            (Plan::Filter { predicate: a, .. }, Plan::Filter { predicate: b, .. }) => a == b,
            (Plan::Project { exprs: a, .. }, Plan::Project { exprs: b, .. }) => a == b,
            (
                Plan::Join { kind, left_keys, right_keys, residual, .. },
                Plan::Join { kind: k, left_keys: l, right_keys: r, residual: s, .. },
            ) => kind == k && left_keys == l && right_keys == r && residual == s,
            (Plan::Aggregate { group, aggregates, .. }, Plan::Aggregate { group: g, aggregates: a, .. }) => {
                group == g && aggregates == a
            }
            (Plan::Distinct { .. }, Plan::Distinct { .. }) => true,
            (Plan::Set { op, all, .. }, Plan::Set { op: o, all: a, .. }) => op == o && all == a,
            (
                Plan::TopK { partition, order, offset, limit, numbered, ties, .. },
                Plan::TopK { partition: p, order: o, offset: f, limit: l, numbered: n, ties: t, .. },
            ) => partition == p && order == o && offset == f && limit == l && numbered == n && ties == t,
            (Plan::Recursive { id, distinct, .. }, Plan::Recursive { id: i, distinct: d, .. }) => {
                id == i && distinct == d
            }
            (Plan::Recurse { id, .. }, Plan::Recurse { id: i, .. }) => id == i,
            _ => false,
        };
        node && both(&self.inputs(), &other.inputs())
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.explain())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::scalar::BinaryOp;
    use crate::sql::value::Value;

    fn call(function: AggregateFunction, input: SqlType) -> AggregateCall {
        let argument = (function != AggregateFunction::CountRows).then_some(Scalar::Column(0));
        AggregateCall { function, argument, distinct: false, ty: input, input }
    }

    #[test]
    fn only_counts_and_integer_sums_are_additive() {
        use AggregateFunction as F;
        assert!(call(F::CountRows, SqlType::Int).additive());
        assert!(call(F::Sum, SqlType::Int).additive());
        assert!(call(F::Avg, SqlType::Null).additive());
        assert!(!call(F::Sum, SqlType::Double).additive());
        assert!(!call(F::Avg, SqlType::Decimal(2)).additive());
        assert!(!call(F::Max, SqlType::Int).additive());
        assert!(AggregateCall { distinct: true, ..call(F::Count, SqlType::Text) }.additive());
        assert!(!AggregateCall { distinct: true, ..call(F::Sum, SqlType::Double) }.additive());
    }

    fn values(rows: &[i64]) -> Plan {
        let columns = vec![Column { name: "x".into(), qualifier: None, ty: SqlType::Int }];
        Plan::Constant { rows: rows.iter().map(|x| vec![Value::Int(*x)]).collect(), columns }
    }

    fn column(c: usize) -> Box<Scalar> {
        Box::new(Scalar::Column(c))
    }

    #[test]
    fn constant_rows_are_values_renamed_and_filtered_and_nothing_that_fails() {
        let plus_one = |input: Plan| Plan::Project {
            columns: input.columns(),
            exprs: vec![Scalar::binary(BinaryOp::Add, Scalar::Column(0), Scalar::literal(Value::Int(1)))],
            input: Box::new(input),
        };
        let positive = |input: Plan| Plan::Filter {
            input: Box::new(input),
            predicate: Scalar::Binary(BinaryOp::Gt, column(0), Box::new(Scalar::literal(Value::Int(0)))),
        };
        let rows = positive(plus_one(values(&[-1, 0, 1]))).constant_rows();
        assert_eq!(rows, Some(vec![vec![Value::Int(1)], vec![Value::Int(2)]]));
        // A row that cannot be computed: not constant here (the lowered plan keeps the error).
        assert_eq!(plus_one(values(&[i64::MAX])).constant_rows(), None);
        let divide = Plan::Filter {
            input: Box::new(values(&[0])),
            predicate: Scalar::Binary(BinaryOp::Div, column(0), column(0)),
        };
        assert_eq!(divide.constant_rows(), None);
        // Only values, projections and filters are folded.
        assert_eq!(Plan::Distinct { input: Box::new(values(&[1])) }.constant_rows(), None);
    }
}
