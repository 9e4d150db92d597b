//! `COUNT`, and `SUM` and `AVG` of integers, kept as differences: each input row adds its
//! counts and values to its group's running totals, so a change costs the same whatever the
//! size of its group, where `reduce` would read the whole group again (a `GROUP BY category`
//! over millions of rows, at every commit).
//!
//! The totals are a difference type of their own ([`Totals`]): differential adds them up as it
//! consolidates, and a `reduce` over `(group, ())` sees one accumulated value per group, from
//! which it makes the group's row. Integer sums are exact (`i128`), so the result does not
//! depend on the order rows arrive in, as it would for doubles; sums of doubles and decimals,
//! `MIN` and `MAX` go through `reduce` (`lower.rs`), and a `GROUP BY` with both kinds joins
//! the two results on the group's key.
//!
//! `COUNT(DISTINCT x)`, and `SUM` and `AVG` of distinct integers, are totals too, over the
//! group's distinct values instead of its rows: `lower.rs` keeps each (group, argument, value)
//! once, with the calls that count it (`distinct_values`; a `reduce` per value, so a change
//! reads only its own value's rows), and each such value adds [`of_distinct`] to its group's
//! totals, where a row adds [`of_row`].
//!
//! One difference from `reduce`: a row held a negative number of times (which no SQL table
//! holds) is subtracted here, where `reduce` leaves it out.

use differential_dataflow::difference::{IsZero, Multiply, Semigroup};
use serde::{Deserialize, Serialize};

use crate::sql::error::EvalError;
use crate::sql::plan::{AggregateCall, AggregateFunction};
use crate::sql::value::{SqlRow, Value};
use crate::time::Diff;

/// The running totals of one group: the number of rows, and for each aggregate its slots
/// (`COUNT(x)`: the non-`NULL` values; `SUM` and `AVG`: their sum and their number). The
/// number of rows is apart, so that the totals of a group counting only rows (`COUNT(*)`)
/// hold no allocation.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub(crate) struct Totals {
    rows: i128,
    slots: Vec<i128>,
}

impl IsZero for Totals {
    fn is_zero(&self) -> bool {
        self.rows == 0 && self.slots.iter().all(|x| *x == 0)
    }
}

impl Semigroup for Totals {
    fn plus_equals(&mut self, rhs: &Self) {
        self.rows = self.rows.wrapping_add(rhs.rows);
        if self.slots.len() < rhs.slots.len() {
            self.slots.resize(rhs.slots.len(), 0);
        }
        for (total, add) in self.slots.iter_mut().zip(&rhs.slots) {
            *total = total.wrapping_add(*add);
        }
    }
}

impl Multiply<Diff> for Totals {
    type Output = Totals;

    fn multiply(mut self, rhs: &Diff) -> Totals {
        let by = *rhs as i128;
        self.rows = self.rows.wrapping_mul(by);
        self.slots.iter_mut().for_each(|x| *x = x.wrapping_mul(by));
        self
    }
}

impl Totals {
    /// The totals of `rows` rows, for calls that count rows alone (`COUNT(*)`).
    pub(crate) fn of_rows(rows: Diff) -> Totals {
        Totals { rows: rows as i128, slots: Vec::new() }
    }
}

/// One input row's contribution, from its aggregates' arguments (`args[i]` for `calls[i]`;
/// a `DISTINCT` call's argument is not read: its values add [`of_distinct`]).
pub(crate) fn of_row<'v>(calls: &[AggregateCall], args: impl IntoIterator<Item = &'v Value>) -> Totals {
    let mut slots = Vec::new();
    for (call, arg) in calls.iter().zip(args) {
        push_call(&mut slots, call, (!call.distinct).then_some(arg));
    }
    Totals { rows: 1, slots }
}

/// The contribution of one distinct value `value` (not `NULL`), present in its group, to the
/// `DISTINCT` calls whose bit (`bit_of[i]` for `calls[i]`) is set in `mask`: counted and summed
/// by those, by no other call, and not as a row.
pub(crate) fn of_distinct(
    calls: &[AggregateCall],
    bit_of: &[Option<u32>],
    mask: u64,
    value: &Value,
) -> Totals {
    let mut slots = Vec::new();
    for (call, bit) in calls.iter().zip(bit_of) {
        let counts = bit.is_some_and(|bit| mask & (1 << bit) != 0);
        push_call(&mut slots, call, counts.then_some(value));
    }
    Totals { rows: 0, slots }
}

/// Appends `call`'s slots for an argument value (`None`: it adds nothing to this call).
fn push_call(slots: &mut Vec<i128>, call: &AggregateCall, arg: Option<&Value>) {
    let int = match arg {
        Some(Value::Int(v)) => Some(i128::from(*v)),
        _ => None,
    };
    match call.function {
        AggregateFunction::CountRows => {}
        AggregateFunction::Count => slots.push(i128::from(arg.is_some_and(|v| !v.is_null()))),
        _ => slots.extend([int.unwrap_or(0), i128::from(int.is_some())]),
    }
}

/// The aggregates' values from a group's totals; `None` for a group with no rows.
pub(crate) fn values(calls: &[AggregateCall], totals: &Totals) -> Option<Result<SqlRow, EvalError>> {
    let (rows, mut slots) = (totals.rows, totals.slots.iter().copied());
    if rows <= 0 {
        return None;
    }
    let count = |n: i128| i64::try_from(n).map(Value::Int).map_err(|_| EvalError::Overflow);
    let row = calls
        .iter()
        .map(|call| match call.function {
            AggregateFunction::CountRows => count(rows),
            AggregateFunction::Count => count(slots.next().unwrap_or(0)),
            function => {
                let (sum, present) = (slots.next().unwrap_or(0), slots.next().unwrap_or(0));
                match function {
                    _ if present <= 0 => Ok(Value::Null),
                    AggregateFunction::Avg => Ok(Value::double(sum as f64 / present as f64)),
                    _ => i64::try_from(sum).map(Value::Int).map_err(|_| EvalError::Overflow),
                }
            }
        })
        .collect();
    Some(row)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::types::SqlType;

    fn call(function: AggregateFunction, input: SqlType) -> AggregateCall {
        let argument =
            (function != AggregateFunction::CountRows).then_some(crate::sql::scalar::Scalar::Column(0));
        AggregateCall { function, argument, distinct: false, ty: input, input }
    }

    #[test]
    fn totals_add_up_to_the_aggregates_of_the_rows_present() {
        use AggregateFunction as F;
        let calls = [
            call(F::CountRows, SqlType::Int),
            call(F::Count, SqlType::Int),
            call(F::Sum, SqlType::Int),
            call(F::Avg, SqlType::Int),
        ];
        let row = |v: Value| of_row(&calls, &[v.clone(), v.clone(), v.clone(), v]);
        let mut totals = row(Value::Int(4)).multiply(&2);
        totals.plus_equals(&row(Value::Null));
        totals.plus_equals(&row(Value::Int(1)));
        let expected = vec![Value::Int(4), Value::Int(3), Value::Int(9), Value::double(3.0)];
        assert_eq!(values(&calls, &totals), Some(Ok(expected)));
        // Take every row away again: no group.
        let mut gone = totals.clone();
        gone.plus_equals(&totals.multiply(&-1));
        assert!(gone.is_zero());
        assert_eq!(values(&calls, &gone), None);
        // Only NULLs: COUNT 0, SUM and AVG NULL.
        let nulls = row(Value::Null);
        assert_eq!(
            values(&calls, &nulls),
            Some(Ok(vec![Value::Int(1), Value::Int(0), Value::Null, Value::Null]))
        );
        // A sum beyond BIGINT is an error of its group.
        let big = row(Value::Int(i64::MAX)).multiply(&2);
        assert_eq!(values(&calls, &big), Some(Err(EvalError::Overflow)));
    }

    #[test]
    fn distinct_calls_add_up_their_distinct_values_and_the_others_their_rows() {
        use AggregateFunction as F;
        let distinct = |function| AggregateCall { distinct: true, ..call(function, SqlType::Int) };
        let calls = [
            call(F::CountRows, SqlType::Int),
            distinct(F::Count),
            distinct(F::Sum),
            call(F::Sum, SqlType::Int),
        ];
        let bit_of = [None, Some(0), Some(1), None];
        // Rows 5, 5 and 7: three rows, two distinct values.
        let row = |v: i64| of_row(&calls, &[Value::Null, Value::Null, Value::Null, Value::Int(v)]);
        let value = |v: i64| of_distinct(&calls, &bit_of, 0b11, &Value::Int(v));
        let mut totals = row(5);
        for more in [row(5), row(7), value(5), value(7)] {
            totals.plus_equals(&more);
        }
        let expected = vec![Value::Int(3), Value::Int(2), Value::Int(12), Value::Int(17)];
        assert_eq!(values(&calls, &totals), Some(Ok(expected)));
        // A value counted by the COUNT only (the SUM's filter held for none of its rows).
        let counted = of_distinct(&calls, &bit_of, 0b01, &Value::Int(100));
        assert_eq!(counted, Totals { rows: 0, slots: vec![1, 0, 0, 0, 0] });
        // A value for no call adds nothing.
        assert!(of_distinct(&calls, &bit_of, 0, &Value::Int(100)).is_zero());
        // The values alone, their rows gone: no group.
        let gone = value(5);
        assert_eq!(values(&calls, &gone), None);
    }
}
