//! Filters pushed below joins: a `WHERE` condition that reads one side of a join only is
//! applied to that side's rows before the join, so the join arranges and matches fewer rows,
//! and makes fewer joined rows only to drop them.
//!
//! A filter's conditions are the terms of its `AND`s. A term moves to the side whose columns
//! it reads when that side's rows are all kept in the join's output as they are: either side
//! of an inner join, the left side of a left join or of a semi- or anti-join (whose output is
//! the left rows), the right side of a right join. Terms that read both sides, or a side that
//! is padded with `NULL`s (the right side of a left join, either side of a full join), stay
//! above the join. A side whose rows are constant (`VALUES`) gets nothing: the join with it
//! holds no state already, and stays a join with constant rows.
//!
//! Moving a term changes which rows it is evaluated on (each side's row once, instead of each
//! joined row), and `AND` evaluates its terms in order and stops at the first false one. So a
//! filter moves only if none of its terms can fail ([`Scalar::infallible`]): only then does
//! the move change no error the query can meet.

use crate::sql::plan::{JoinKind, Plan};
use crate::sql::scalar::{BinaryOp, Scalar};

/// `plan` with every filter's terms moved below the joins they can move below.
pub(crate) fn push_filters(plan: &Plan) -> Plan {
    below_join(plan.map_inputs(&mut push_filters))
}

/// `plan`, whose inputs have had their filters moved already, with its own filter's terms
/// moved below the join under it, if it is a filter over a join.
fn below_join(plan: Plan) -> Plan {
    let Plan::Filter { input, predicate } = &plan else { return plan };
    let Plan::Join { kind, left, right, left_keys, right_keys, residual } = input.as_ref() else {
        return plan;
    };
    if !predicate.infallible() {
        return plan;
    }
    let left_width = left.width();
    let (to_left, to_right) = match kind {
        JoinKind::Inner => (true, true),
        JoinKind::Left | JoinKind::Semi | JoinKind::Anti => (true, false),
        JoinKind::Right => (false, true),
        JoinKind::Full => (false, false),
    };
    let (to_left, to_right) =
        (to_left && left.constant_rows().is_none(), to_right && right.constant_rows().is_none());
    let (mut left_terms, mut right_terms, mut above) = (Vec::new(), Vec::new(), Vec::new());
    for term in terms(predicate) {
        let (mut reads_left, mut reads_right) = (false, false);
        term.visit_columns(&mut |column| {
            if column < left_width {
                reads_left = true;
            } else {
                reads_right = true;
            }
        });
        match (reads_left, reads_right) {
            (true, false) if to_left => left_terms.push(term.clone()),
            (false, true) if to_right => right_terms.push(term.remap(&|column| column - left_width)),
            _ => above.push(term.clone()),
        }
    }
    if left_terms.is_empty() && right_terms.is_empty() {
        return plan;
    }
    let join = Plan::Join {
        kind: *kind,
        left: Box::new(filtered(left, left_terms)),
        right: Box::new(filtered(right, right_terms)),
        left_keys: left_keys.clone(),
        right_keys: right_keys.clone(),
        residual: residual.clone(),
    };
    filtered(&join, above)
}

/// The terms of `predicate`'s `AND`s, left to right.
fn terms(predicate: &Scalar) -> Vec<&Scalar> {
    match predicate {
        Scalar::Binary(BinaryOp::And, a, b) => {
            let mut all = terms(a);
            all.extend(terms(b));
            all
        }
        _ => vec![predicate],
    }
}

/// `plan` under a filter of `terms` (joined by `AND`, in order); `plan` itself if there are
/// none. A plan that is a filter already takes the terms after its own, and a join below a
/// filter lets them move further ([`below_join`]; `plan`'s own inputs are done).
fn filtered(plan: &Plan, terms: Vec<Scalar>) -> Plan {
    let mut terms = terms.into_iter();
    let Some(first) = terms.next() else { return plan.clone() };
    let predicate = terms.fold(first, |all, term| Scalar::binary(BinaryOp::And, all, term));
    below_join(match plan {
        Plan::Filter { input, predicate: below } => Plan::Filter {
            input: input.clone(),
            predicate: Scalar::binary(BinaryOp::And, below.clone(), predicate),
        },
        _ => Plan::Filter { input: Box::new(plan.clone()), predicate },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::plan::Column;
    use crate::sql::types::SqlType;
    use crate::sql::value::Value;

    /// Rows of `width` integer columns that are not constant (the rows so far of a recursion).
    fn rows(id: usize, width: usize) -> Plan {
        let column = |i: usize| Column { name: format!("c{i}"), qualifier: None, ty: SqlType::Int };
        Plan::Recurse { id, columns: (0..width).map(column).collect() }
    }

    fn join(kind: JoinKind) -> Plan {
        Plan::Join {
            kind,
            left: Box::new(rows(0, 2)),
            right: Box::new(rows(1, 2)),
            left_keys: vec![Scalar::Column(0)],
            right_keys: vec![Scalar::Column(0)],
            residual: None,
        }
    }

    fn over(column: usize, value: i64) -> Scalar {
        Scalar::binary(BinaryOp::Gt, Scalar::Column(column), Scalar::Literal(Value::Int(value)))
    }

    fn and(a: Scalar, b: Scalar) -> Scalar {
        Scalar::binary(BinaryOp::And, a, b)
    }

    fn filter(input: Plan, predicate: Scalar) -> Plan {
        Plan::Filter { input: Box::new(input), predicate }
    }

    /// Over an inner join, a term of one side moves to it (renumbered for the right side) and
    /// a term of both sides stays.
    #[test]
    fn an_inner_joins_filter_terms_move_to_the_side_they_read() {
        let both = Scalar::binary(BinaryOp::Lt, Scalar::Column(1), Scalar::Column(3));
        let plan = filter(join(JoinKind::Inner), and(and(over(1, 5), both.clone()), over(3, 7)));
        let expected = filter(
            Plan::Join {
                kind: JoinKind::Inner,
                left: Box::new(filter(rows(0, 2), over(1, 5))),
                right: Box::new(filter(rows(1, 2), over(1, 7))),
                left_keys: vec![Scalar::Column(0)],
                right_keys: vec![Scalar::Column(0)],
                residual: None,
            },
            both,
        );
        assert_eq!(push_filters(&plan).explain(), expected.explain());
    }

    /// A side padded with `NULL`s keeps its terms above the join; the kept side takes its own.
    #[test]
    fn a_null_padded_sides_terms_stay_above_an_outer_join() {
        for (kind, moves_left, moves_right) in
            [(JoinKind::Left, true, false), (JoinKind::Right, false, true), (JoinKind::Full, false, false)]
        {
            let plan = filter(join(kind), and(over(1, 5), over(3, 7)));
            let pushed = push_filters(&plan).explain();
            let on_left = "Filter (#1 > 5)\n      Recurse";
            let on_right = "Filter (#1 > 7)\n      Recurse";
            assert_eq!(pushed.contains(on_left), moves_left, "{kind:?}:\n{pushed}");
            assert_eq!(pushed.contains(on_right), moves_right, "{kind:?}:\n{pushed}");
        }
    }

    /// A term that can fail (an addition may overflow) keeps the whole filter above the join,
    /// and so does a constant side.
    #[test]
    fn a_filter_that_can_fail_or_a_constant_side_stays_above() {
        let sum = Scalar::binary(BinaryOp::Add, Scalar::Column(1), Scalar::Literal(Value::Int(1)));
        let fallible = Scalar::binary(BinaryOp::Gt, sum, Scalar::Literal(Value::Int(2)));
        let plan = filter(join(JoinKind::Inner), and(over(3, 7), fallible));
        assert_eq!(push_filters(&plan).explain(), plan.explain());
        let constant =
            Plan::Constant { rows: vec![vec![Value::Int(1), Value::Int(2)]], columns: rows(1, 2).columns() };
        let Plan::Join { kind, left, left_keys, right_keys, residual, .. } = join(JoinKind::Inner) else {
            unreachable!()
        };
        let with_constant =
            Plan::Join { kind, left, right: Box::new(constant), left_keys, right_keys, residual };
        let plan = filter(with_constant, over(3, 7));
        assert_eq!(push_filters(&plan).explain(), plan.explain());
    }
}
