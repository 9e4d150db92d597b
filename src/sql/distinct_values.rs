//! Which distinct values a row gives a `GROUP BY`'s `DISTINCT` totals (`COUNT(DISTINCT x)`,
//! `SUM`/`AVG` of distinct integers, kept as running totals by `sums`).
//!
//! A `DISTINCT` call counts each non-`NULL` value of its argument once per group. The calls of
//! one argument that differ only in their `FILTER` (`COUNT(DISTINCT bidder) FILTER (WHERE price
//! < 10000)`, bound as `COUNT(DISTINCT CASE WHEN price < 10000 THEN bidder END)`) share one
//! *base* expression: a row gives each base's value once, with a mask of the calls whose
//! condition holds for it. The lowering keeps one mask per (group, base, value), the union over
//! the rows that hold it, so a value is counted by exactly the calls some present row counts it
//! for; four filtered counts of bidders cost one value per row, not four.

use crate::sql::error::EvalError;
use crate::sql::plan::AggregateCall;
use crate::sql::scalar::Scalar;
use crate::sql::value::Value;

/// The most `DISTINCT` calls one `GROUP BY` keeps as totals: a mask has one bit per call. The
/// lowering sends the calls beyond it through its general `reduce`.
pub(crate) const MAX_CALLS: usize = 64;

/// How the `DISTINCT` calls among a `GROUP BY`'s totals read a row.
#[derive(Clone, Debug)]
pub(crate) struct DistinctValues {
    /// The distinct base expressions.
    bases: Vec<Scalar>,
    /// Per `DISTINCT` call: its base and its condition (`None`: every row).
    calls: Vec<(usize, Option<Scalar>)>,
    /// Per call of the totals: its bit in a mask (`None` for the calls that are not `DISTINCT`).
    bit_of: Vec<Option<u32>>,
}

impl DistinctValues {
    /// The plan for `calls` (the totals' calls, in order), of which the `DISTINCT` ones are at
    /// most [`MAX_CALLS`].
    pub(crate) fn of(calls: &[AggregateCall]) -> DistinctValues {
        let mut plan = DistinctValues { bases: Vec::new(), calls: Vec::new(), bit_of: Vec::new() };
        for call in calls {
            let argument = call.argument.as_ref().filter(|_| call.distinct);
            let Some((base, condition)) = argument.map(base_and_condition) else {
                plan.bit_of.push(None);
                continue;
            };
            let base = plan.bases.iter().position(|b| b == base).unwrap_or_else(|| {
                plan.bases.push(base.clone());
                plan.bases.len() - 1
            });
            plan.bit_of.push(Some(plan.calls.len() as u32));
            plan.calls.push((base, condition.cloned()));
        }
        debug_assert!(plan.calls.len() <= MAX_CALLS, "the lowering keeps at most {MAX_CALLS} DISTINCT calls");
        plan
    }

    /// True if some call is `DISTINCT`.
    pub(crate) fn any(&self) -> bool {
        !self.calls.is_empty()
    }

    /// Each call's bit in a mask (`None`: not `DISTINCT`), in the order of the totals' calls.
    pub(crate) fn bit_of(&self) -> &[Option<u32>] {
        &self.bit_of
    }

    /// The (base, value, mask) triples `row` gives: each base's value where it is not `NULL` and
    /// some call's condition holds, with the bits of those calls. A base is evaluated only when
    /// some condition holds, as `CASE WHEN c THEN x END` evaluates `x`.
    pub(crate) fn of_row(&self, row: &[Value]) -> Result<Vec<(usize, Value, u64)>, EvalError> {
        let mut masks = vec![0u64; self.bases.len()];
        for (bit, (base, condition)) in self.calls.iter().enumerate() {
            let holds = match condition {
                Some(condition) => condition.eval(row)? == Value::Bool(true),
                None => true,
            };
            if holds {
                masks[*base] |= 1 << bit;
            }
        }
        let mut values = Vec::new();
        for (base, mask) in masks.into_iter().enumerate().filter(|(_, mask)| *mask != 0) {
            let value = self.bases[base].eval(row)?;
            if !value.is_null() {
                values.push((base, value, mask));
            }
        }
        Ok(values)
    }
}

/// An argument as its base and its `FILTER` condition: `CASE WHEN c THEN x END` (the binder's
/// form of `FILTER (WHERE c)`) is `x` where `c`; any other argument is itself for every row.
fn base_and_condition(argument: &Scalar) -> (&Scalar, Option<&Scalar>) {
    match argument {
        Scalar::Case(whens, otherwise) if whens.len() == 1 && **otherwise == Scalar::Literal(Value::Null) => {
            (&whens[0].1, Some(&whens[0].0))
        }
        other => (other, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::plan::AggregateFunction;
    use crate::sql::scalar::BinaryOp;
    use crate::sql::types::SqlType;

    fn count(argument: Scalar, distinct: bool) -> AggregateCall {
        let function = AggregateFunction::Count;
        AggregateCall { function, argument: Some(argument), distinct, ty: SqlType::Int, input: SqlType::Int }
    }

    fn filtered(condition: Scalar, value: Scalar) -> Scalar {
        Scalar::Case(vec![(condition, value)], Box::new(Scalar::Literal(Value::Null)))
    }

    #[test]
    fn filtered_calls_of_one_argument_share_its_value_with_a_mask_of_the_conditions_that_hold() {
        let (bidder, price, auction) = (Scalar::Column(0), Scalar::Column(1), Scalar::Column(2));
        let cheap = Scalar::binary(BinaryOp::Lt, price.clone(), Scalar::literal(Value::Int(10)));
        let dear = Scalar::binary(BinaryOp::GtEq, price, Scalar::literal(Value::Int(10)));
        let calls = [
            count(bidder.clone(), true),
            count(bidder.clone(), false),
            count(filtered(cheap, bidder.clone()), true),
            count(filtered(dear.clone(), bidder), true),
            count(filtered(dear, auction), true),
        ];
        let plan = DistinctValues::of(&calls);
        assert_eq!(plan.bit_of(), &[Some(0), None, Some(1), Some(2), Some(3)]);
        // A cheap bid: its bidder for calls 0 and 1 (bits 0 and 1); its auction for no call.
        let row = [Value::Int(7), Value::Int(3), Value::Int(40)];
        assert_eq!(plan.of_row(&row), Ok(vec![(0, Value::Int(7), 0b011)]));
        // A dear bid: its bidder for bits 0 and 2, its auction for bit 3.
        let row = [Value::Int(7), Value::Int(30), Value::Int(40)];
        assert_eq!(plan.of_row(&row), Ok(vec![(0, Value::Int(7), 0b101), (1, Value::Int(40), 0b1000)]));
        // No bidder: nothing to count for it.
        let row = [Value::Null, Value::Int(30), Value::Int(40)];
        assert_eq!(plan.of_row(&row), Ok(vec![(1, Value::Int(40), 0b1000)]));
    }

    #[test]
    fn a_base_is_evaluated_only_where_a_condition_holds() {
        // COUNT(DISTINCT 10 / b) FILTER (WHERE b <> 0): a row with b = 0 is no error.
        let b = Scalar::Column(0);
        let nonzero = Scalar::binary(BinaryOp::NotEq, b.clone(), Scalar::literal(Value::Int(0)));
        let quotient = Scalar::binary(BinaryOp::Div, Scalar::literal(Value::Int(10)), b);
        let plan = DistinctValues::of(&[count(filtered(nonzero, quotient.clone()), true)]);
        assert_eq!(plan.of_row(&[Value::Int(0)]), Ok(vec![]));
        assert_eq!(plan.of_row(&[Value::Int(5)]), Ok(vec![(0, Value::Int(2), 1)]));
        // Without the filter the same row is the division's error.
        let plan = DistinctValues::of(&[count(quotient, true)]);
        assert_eq!(plan.of_row(&[Value::Int(0)]), Err(EvalError::DivisionByZero));
    }
}
