//! The rows that hold their group's maximum (or minimum), as SQL without `QUALIFY` or `RANK`
//! writes them: a query's rows joined with its own `MAX` per group, on the group's columns,
//! keeping the rows whose value reaches it (Nexmark q5's hottest auctions per window):
//!
//! ```sql
//! SELECT r.* FROM r JOIN (SELECT g, MAX(x) AS m FROM r GROUP BY g) AS e
//!   ON r.g = e.g AND r.x >= e.m
//! ```
//!
//! (or `r.x = e.m`, as a join key or a condition; `MIN` with `<=`; either side first).
//!
//! Planned as written, every change of a group's maximum retracts and re-adds the joined rows
//! of the group's every row, and `r` is computed twice. [`rewrite`] plans it as what it is: a
//! top 1 per group with ties ([`Plan::TopK`] with `ties`), over `r` computed once, which reads
//! a changed group's rows in one `reduce`.
//!
//! The two are equal, row for row and in multiplicity: each row of `r` meets exactly its own
//! group's one aggregate row (every column of the group is a join key, and a `GROUP BY` has one
//! row per group); a row whose value is `NULL`, or whose group has a `NULL`, meets none (`NULL`
//! compares to nothing, and join keys never equal `NULL`); and a value can only reach its own
//! group's maximum by being equal to it. The rewrite is made only where every piece is exactly
//! that shape: both copies of `r` the same plan ([`Plan::same_rows`]), the projections between
//! them and the join only picking columns (nothing that could fail or compute), the condition
//! one comparison of the two columns (or none, the equality being a key), and a value whose
//! type orders as SQL compares it.
//!
//! One difference: an error of `r` (a division by zero in a row) reaches the view once, where
//! the two copies of `r` carried it twice; reads fail while it is there either way.

use crate::sql::plan::{AggregateFunction, JoinKind, Plan, SortKey};
use crate::sql::scalar::{BinaryOp, Scalar};
use crate::sql::types::SqlType;

/// `plan` with every join of rows with their own group's `MAX` or `MIN` planned as the rows that
/// hold it.
pub(crate) fn rewrite(plan: &Plan) -> Plan {
    let plan = plan.map_inputs(&mut rewrite);
    extreme_rows(&plan).unwrap_or(plan)
}

/// A plan under projections that only pick columns: the plan below them, and the column of it
/// that each output column is.
fn picked(plan: &Plan) -> (&Plan, Vec<usize>) {
    let mut picks: Vec<usize> = (0..plan.width()).collect();
    let mut plan = plan;
    while let Plan::Project { input, exprs, .. } = plan {
        let columns: Option<Vec<usize>> =
            exprs.iter().map(|e| if let Scalar::Column(c) = e { Some(*c) } else { None }).collect();
        let Some(columns) = columns else { break };
        picks = picks.iter().map(|&p| columns[p]).collect();
        plan = input;
    }
    (plan, picks)
}

/// The join `plan` as the rows that hold their group's extreme, if it is one (module docs),
/// with either side the aggregate.
fn extreme_rows(plan: &Plan) -> Option<Plan> {
    let Plan::Join { kind: JoinKind::Inner, left, right, left_keys, right_keys, residual } = plan else {
        return None;
    };
    let residual = residual.as_ref();
    let width = left.width();
    let keys: Vec<(&Scalar, &Scalar)> = left_keys.iter().zip(right_keys).collect();
    let swapped: Vec<(&Scalar, &Scalar)> = keys.iter().map(|(l, r)| (*r, *l)).collect();
    let rows_left = Join { rows: left, extreme: right, keys, residual, rows_at: 0, extreme_at: width };
    let rows_right =
        Join { rows: right, extreme: left, keys: swapped, residual, rows_at: width, extreme_at: 0 };
    let found = rows_left.as_extreme_rows().or_else(|| rows_right.as_extreme_rows())?;
    Some(Plan::Project { input: Box::new(found.top), exprs: found.exprs, columns: plan.columns() })
}

/// An inner join seen as rows (one side) joined with an aggregate (the other).
struct Join<'p> {
    rows: &'p Plan,
    extreme: &'p Plan,
    /// Each join key: the rows' side's, then the aggregate's.
    keys: Vec<(&'p Scalar, &'p Scalar)>,
    residual: Option<&'p Scalar>,
    /// Where each side's columns start in the joined row.
    rows_at: usize,
    extreme_at: usize,
}

/// What the join is instead: the top 1 with ties, and the joined row's columns over it.
struct Found {
    top: Plan,
    exprs: Vec<Scalar>,
}

impl Join<'_> {
    fn as_extreme_rows(&self) -> Option<Found> {
        let (rows, rows_picks) = picked(self.rows);
        let (aggregate, extreme_picks) = picked(self.extreme);
        let Plan::Aggregate { input, group, aggregates, .. } = aggregate else { return None };
        let [call] = aggregates.as_slice() else { return None };
        let descending = match call.function {
            AggregateFunction::Max => true,
            AggregateFunction::Min => false,
            _ => return None,
        };
        // Types whose values order (as `MAX` takes them) as SQL compares them.
        if !matches!(
            call.input,
            SqlType::Int
                | SqlType::Double
                | SqlType::Text
                | SqlType::Bool
                | SqlType::Date
                | SqlType::Timestamp
        ) {
            return None;
        }
        let (below, input_picks) = picked(input);
        if group.is_empty() || !below.same_rows(rows) {
            return None;
        }
        // The group's columns and the aggregated value, as columns of `rows`.
        let column = |expr: &Scalar| if let Scalar::Column(c) = expr { Some(input_picks[*c]) } else { None };
        let group: Vec<usize> = group.iter().map(column).collect::<Option<_>>()?;
        let value = column(call.argument.as_ref()?)?;
        // Each join key: a column of `rows` equal to the same column of the aggregate's group
        // (every group column a key), or the value equal to the extreme (the condition).
        let mut keyed = vec![false; group.len()];
        let mut reached = false;
        for (row_key, extreme_key) in &self.keys {
            let (Scalar::Column(r), Scalar::Column(e)) = (row_key, extreme_key) else { return None };
            let (r, e) = (rows_picks[*r], extreme_picks[*e]);
            if e == group.len() && r == value {
                reached = true;
            } else if e < group.len() && group[e] == r {
                keyed[e] = true;
            } else {
                return None;
            }
        }
        if !keyed.iter().all(|k| *k) {
            return None;
        }
        // Or the condition: the rows' value reaches the extreme.
        let reaches = if descending { BinaryOp::GtEq } else { BinaryOp::LtEq };
        match self.residual {
            None if reached => {}
            Some(Scalar::Binary(op, a, b)) => {
                let (Scalar::Column(a), Scalar::Column(b)) = (a.as_ref(), b.as_ref()) else { return None };
                let (row_column, extreme_column, op) = match (self.side(*a), self.side(*b)) {
                    (Side::Rows(r), Side::Extreme(e)) => (r, e, *op),
                    (Side::Extreme(e), Side::Rows(r)) => (r, e, flipped(*op)?),
                    _ => return None,
                };
                if rows_picks[row_column] != value
                    || extreme_picks[extreme_column] != group.len()
                    || !(op == reaches || op == BinaryOp::Eq)
                {
                    return None;
                }
            }
            _ => return None,
        }
        // The rows with no `NULL` in their group or value, the top 1 of each group with ties.
        let present = group
            .iter()
            .chain([&value])
            .map(|c| Scalar::IsNull(Box::new(Scalar::Column(*c)), true))
            .reduce(|a, b| Scalar::binary(BinaryOp::And, a, b))
            .expect("a value");
        let top = Plan::TopK {
            input: Box::new(Plan::Filter { input: Box::new(rows.clone()), predicate: present }),
            partition: group.iter().map(|c| Scalar::Column(*c)).collect(),
            order: vec![SortKey { expr: Scalar::Column(value), descending, nulls_first: false }],
            offset: 0,
            limit: Some(1),
            numbered: false,
            ties: true,
        };
        // The joined row's columns: each side's in its place, the aggregate's group columns
        // and extreme read from the kept row.
        let rows_exprs = rows_picks.iter().map(|c| Scalar::Column(*c));
        let extreme_exprs =
            extreme_picks.iter().map(|g| Scalar::Column(group.get(*g).copied().unwrap_or(value)));
        let exprs = if self.rows_at == 0 {
            rows_exprs.chain(extreme_exprs).collect()
        } else {
            extreme_exprs.chain(rows_exprs).collect()
        };
        Some(Found { top, exprs })
    }

    /// Which side a column of the joined row is on, and its place there.
    fn side(&self, column: usize) -> Side {
        let (rows_width, extreme_width) = (self.rows.width(), self.extreme.width());
        if (self.rows_at..self.rows_at + rows_width).contains(&column) {
            Side::Rows(column - self.rows_at)
        } else if (self.extreme_at..self.extreme_at + extreme_width).contains(&column) {
            Side::Extreme(column - self.extreme_at)
        } else {
            Side::Neither
        }
    }
}

/// A column of a joined row: of the rows' side or of the aggregate's, at that place.
enum Side {
    Rows(usize),
    Extreme(usize),
    Neither,
}

/// The comparison with its two sides swapped (`a >= b` is `b <= a`).
fn flipped(op: BinaryOp) -> Option<BinaryOp> {
    Some(match op {
        BinaryOp::Eq => BinaryOp::Eq,
        BinaryOp::GtEq => BinaryOp::LtEq,
        BinaryOp::LtEq => BinaryOp::GtEq,
        BinaryOp::Gt => BinaryOp::Lt,
        BinaryOp::Lt => BinaryOp::Gt,
        _ => return None,
    })
}
