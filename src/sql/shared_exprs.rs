//! The subexpressions a `SELECT` list repeats, computed once per row: Nexmark's windows write
//! `date_time - date_time % size` in both the window's start and its end, and q21 calls
//! `lower(channel)` in each branch of a `CASE`. Evaluation is pure (no function reads a clock
//! or a random source), so one value read twice is what evaluating twice gives.
//!
//! A subexpression is shared if it occurs twice or more in the list and at least once where
//! it is evaluated whenever its row is ([`Scalar::visit_subexpressions`]): computing it first
//! is then no extra work. Computed first, it may fail where the list as written would not
//! have reached it, or fail first where another expression would have given the row's error,
//! so its reader ([`Projection`](crate::sql::projection::Projection)) evaluates the list as
//! written for a row that a shared value fails for: the row's outcome is always the list's.

use crate::sql::scalar::Scalar;

/// A list's shared subexpressions, and the list reading them.
#[derive(Debug, PartialEq)]
pub(crate) struct Shared {
    /// The shared subexpressions over a row extended by them: the one at index `k` is column
    /// `width + k`, and reads the input's columns and those of the ones before it.
    pub(crate) values: Vec<Scalar>,
    /// The list with every occurrence of a shared subexpression read from its column.
    pub(crate) exprs: Vec<Scalar>,
}

/// The subexpressions of `exprs` (a list over rows `width` wide) worth computing once, the
/// largest first, if there are any.
pub(crate) fn shared(exprs: &[Scalar], width: usize) -> Option<Shared> {
    let mut list = exprs.to_vec();
    // The shared ones as taken, each read at `width + its index` by the list and by the ones
    // taken before it (a larger one holds the smaller ones taken after it, never the reverse).
    let mut taken: Vec<Scalar> = Vec::new();
    while let Some(next) = largest_repeated(&list, &taken) {
        let column = width + taken.len();
        list = list.iter().map(|e| e.replaced(&next, column)).collect();
        taken = taken.iter().map(|e| e.replaced(&next, column)).collect();
        taken.push(next);
    }
    if taken.is_empty() {
        return None;
    }
    // Computed in the reverse order, so that each reads only the ones before it.
    let last = width + taken.len() - 1;
    let flip = |c: usize| if c < width { c } else { last - (c - width) };
    Some(Shared {
        values: taken.iter().rev().map(|e| e.remap(&flip)).collect(),
        exprs: list.iter().map(|e| e.remap(&flip)).collect(),
    })
}

/// The largest subexpression (in nodes) that occurs twice or more in `list` and the values
/// taken, once at least where it is always evaluated (the values taken are).
fn largest_repeated(list: &[Scalar], taken: &[Scalar]) -> Option<Scalar> {
    // Each distinct subexpression (columns and literals are read, not computed), with its
    // occurrences, whether one is always evaluated, and its size.
    let mut seen: Vec<(&Scalar, usize, bool)> = Vec::new();
    for root in list.iter().chain(taken) {
        root.visit_subexpressions(true, &mut |e, evaluated| {
            if matches!(e, Scalar::Column(_) | Scalar::Literal(_)) {
                return;
            }
            match seen.iter_mut().find(|(s, ..)| *s == e) {
                Some((_, count, always)) => {
                    *count += 1;
                    *always |= evaluated;
                }
                None => seen.push((e, 1, evaluated)),
            }
        });
    }
    seen.into_iter()
        .filter(|(_, count, always)| *count >= 2 && *always)
        .max_by_key(|(e, ..)| size(e))
        .map(|(e, ..)| e.clone())
}

/// The number of nodes of `expr`.
fn size(expr: &Scalar) -> usize {
    let mut nodes = 0;
    expr.visit_subexpressions(true, &mut |_, _| nodes += 1);
    nodes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::functions::Function;
    use crate::sql::scalar::BinaryOp;
    use crate::sql::value::Value;

    fn int(i: i64) -> Scalar {
        Scalar::Literal(Value::Int(i))
    }

    fn op(op: BinaryOp, a: Scalar, b: Scalar) -> Scalar {
        Scalar::binary(op, a, b)
    }

    /// Nexmark q5's window start and end over (date_time, i): the start is computed once,
    /// and the end reads it.
    #[test]
    fn the_largest_repeated_subexpression_is_computed_once_and_read_where_it_was() {
        let (date_time, i) = (Scalar::Column(0), Scalar::Column(1));
        let slot = op(BinaryOp::Sub, date_time.clone(), op(BinaryOp::Mod, date_time.clone(), int(2000)));
        let start = op(BinaryOp::Sub, slot, op(BinaryOp::Mul, i, int(2000)));
        let end = op(BinaryOp::Add, start.clone(), int(10000));
        let found = shared(&[date_time.clone(), start.clone(), end], 2).expect("shared");
        assert_eq!(found.values, vec![start]);
        assert_eq!(
            found.exprs,
            vec![date_time, Scalar::Column(2), op(BinaryOp::Add, Scalar::Column(2), int(10000))]
        );
    }

    /// q21's `CASE` over `lower(channel)`: evaluated always in the first condition, so shared
    /// by every branch; a repeat only in branches that may not run is not shared, and nested
    /// shared subexpressions are computed inner first.
    #[test]
    fn a_repeat_is_shared_only_if_it_is_evaluated_anyway_and_inner_ones_come_first() {
        let channel = Scalar::Column(0);
        let lower = Scalar::Call(Function::Lower, vec![channel.clone()]);
        let is = |text: &str| op(BinaryOp::Eq, lower.clone(), Scalar::Literal(Value::Text(text.into())));
        let case = Scalar::Case(vec![(is("apple"), int(0)), (is("google"), int(1))], Box::new(int(2)));
        let found = shared(&[case], 1).expect("shared");
        assert_eq!(found.values, vec![lower.clone()]);
        // Only in the branches: left alone.
        let upper = Scalar::Call(Function::Upper, vec![channel.clone()]);
        let branches = Scalar::Case(
            vec![(op(BinaryOp::Eq, channel.clone(), int(1)), upper.clone())],
            Box::new(upper.clone()),
        );
        assert_eq!(shared(&[branches], 1), None);
        // `upper(lower(c))` twice and `lower(c)` once more: the inner one is computed first.
        let outer = Scalar::Call(Function::Upper, vec![lower.clone()]);
        let found = shared(&[outer.clone(), outer, lower.clone()], 1).expect("shared");
        assert_eq!(found.values, vec![lower, Scalar::Call(Function::Upper, vec![Scalar::Column(1)])]);
        assert_eq!(found.exprs, vec![Scalar::Column(2), Scalar::Column(2), Scalar::Column(1)]);
    }
}
