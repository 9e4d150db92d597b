//! The plan nodes that work a row at a time (filters, projections, and inner joins with
//! constant rows), as steps that run one after the other over each row inside one operator,
//! as Materialize's `MapFilterProject` does: a chain of them costs one pass over the rows,
//! where an operator each would move every row through each operator's buffers, and split
//! rows from errors after each one that can fail.
//!
//! A row's outcome is the one the nodes give one after the other: the rows it becomes, or the
//! error of the first step that fails for it (and nothing after that step runs for it).

use std::collections::BTreeMap;

use crate::sql::error::EvalError;
use crate::sql::plan::Plan;
use crate::sql::projection::Projection;
use crate::sql::scalar::{Scalar, evaluate};
use crate::sql::value::{SqlRow, Value};

/// One row-at-a-time node.
pub(crate) enum Step {
    /// `WHERE`: the rows the predicate is true for.
    Filter(Scalar),
    /// A `SELECT` list.
    Project(Projection),
    /// An inner join with constant rows.
    JoinConstant(ConstantJoin),
}

/// An inner join with constant rows (`VALUES`): each row meets the constant rows of its key,
/// neither arranged nor exchanged, so the join holds no state. As a join: a key with a `NULL`
/// has no partner, and a key or `residual` that cannot be computed is an error.
pub(crate) struct ConstantJoin {
    /// The join key over the other side's rows.
    keys: Vec<Scalar>,
    /// The constant rows by their key ([`ConstantJoin::partners`]).
    partners: BTreeMap<SqlRow, Vec<SqlRow>>,
    /// Whether the constant rows are the join's left side.
    on_left: bool,
    /// The join's condition beyond its keys, over the joined row.
    residual: Option<Scalar>,
    /// The capacity a joined row is made with: room for what the steps after the join add
    /// to it ([`Steps::new`]).
    room: usize,
}

impl ConstantJoin {
    /// The join of rows keyed by `keys` with `partners` ([`ConstantJoin::partners`]).
    pub(crate) fn new(
        keys: &[Scalar],
        partners: BTreeMap<SqlRow, Vec<SqlRow>>,
        on_left: bool,
        residual: Option<Scalar>,
    ) -> ConstantJoin {
        ConstantJoin { keys: keys.to_vec(), partners, on_left, residual, room: 0 }
    }

    /// The rows of `plan` by join key, if `plan` is constant ([`Plan::constant_rows`]) and
    /// every row's `keys` can be computed; a key with a `NULL` matches nothing, so its rows are
    /// left out.
    pub(crate) fn partners(plan: &Plan, keys: &[Scalar]) -> Option<BTreeMap<SqlRow, Vec<SqlRow>>> {
        let mut partners: BTreeMap<SqlRow, Vec<SqlRow>> = BTreeMap::new();
        for row in plan.constant_rows()? {
            let key = evaluate(keys, &row).ok()?;
            if !key.iter().any(Value::is_null) {
                partners.entry(key).or_default().push(row);
            }
        }
        Some(partners)
    }
}

/// Steps run in order over each row.
#[derive(Default)]
pub(crate) struct Steps {
    steps: Vec<Step>,
    /// The capacity a row given to the steps needs for the projections before the first join
    /// with constant rows not to reallocate it.
    room: usize,
}

impl Steps {
    /// The steps `steps`, the first one run first.
    pub(crate) fn new(mut steps: Vec<Step>) -> Steps {
        // A projection that gives each row back as it is (`SELECT *` of a subquery) is no
        // step. A join makes each joined row with the capacity the projections after it (up
        // to the next join, which makes new rows) need, so that none of them reallocates it.
        steps.retain(|step| !matches!(step, Step::Project(projection) if projection.is_identity()));
        let mut room = 0;
        for step in steps.iter_mut().rev() {
            match step {
                Step::Filter(_) => {}
                Step::Project(projection) => room = room.max(projection.room()),
                Step::JoinConstant(join) => {
                    join.room = room;
                    room = 0;
                }
            }
        }
        Steps { steps, room }
    }

    /// The capacity a row given to the steps is best made with (see [`Steps::new`]).
    pub(crate) fn room(&self) -> usize {
        self.room
    }

    /// The columns of its input row (`width` wide) each outcome is, if the steps do nothing
    /// but pick columns (projections of columns alone): no filter, join or computed value.
    pub(crate) fn columns(&self, width: usize) -> Option<Vec<usize>> {
        let mut columns: Vec<usize> = (0..width).collect();
        for step in &self.steps {
            let Step::Project(projection) = step else { return None };
            columns = projection
                .exprs()
                .iter()
                .map(|expr| match expr {
                    Scalar::Column(column) => columns.get(*column).copied(),
                    _ => None,
                })
                .collect::<Option<_>>()?;
        }
        Some(columns)
    }

    /// True if there is no step: each row is its own outcome.
    pub(crate) fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Passes each row `row` becomes, or the error it meets, to `each`.
    pub(crate) fn run(&self, row: SqlRow, each: &mut dyn FnMut(Result<SqlRow, EvalError>)) {
        self.run_from(0, row, each);
    }

    fn run_from(&self, first: usize, mut row: SqlRow, each: &mut dyn FnMut(Result<SqlRow, EvalError>)) {
        for (at, step) in self.steps.iter().enumerate().skip(first) {
            match step {
                Step::Filter(predicate) => match predicate.holds(&row) {
                    Ok(true) => {}
                    Ok(false) => return,
                    Err(error) => return each(Err(error)),
                },
                Step::Project(projection) => match projection.apply(row) {
                    Ok(projected) => row = projected,
                    Err(error) => return each(Err(error)),
                },
                Step::JoinConstant(join) => {
                    let key = match evaluate(&join.keys, &row) {
                        Ok(key) => key,
                        Err(error) => return each(Err(error)),
                    };
                    let Some(partners) = join.partners.get(&key) else { return };
                    for partner in partners {
                        let (left, right) = if join.on_left { (partner, &row) } else { (&row, partner) };
                        let mut joined = Vec::with_capacity(join.room.max(left.len() + right.len()));
                        joined.extend(left.iter().chain(right).cloned());
                        match join.residual.as_ref().map(|r| r.holds(&joined)) {
                            None | Some(Ok(true)) => self.run_from(at + 1, joined, each),
                            Some(Ok(false)) => {}
                            Some(Err(error)) => each(Err(error)),
                        }
                    }
                    return;
                }
            }
        }
        each(Ok(row));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::scalar::BinaryOp;

    fn int(i: i64) -> Value {
        Value::Int(i)
    }

    /// The steps one after the other give what the nodes one at a time give: a row through
    /// a join with constant rows, a filter that fails for some joined rows, and a projection.
    #[test]
    fn a_row_meets_each_step_in_turn_and_stops_at_its_first_error() {
        let (c, lit) = (Scalar::Column, |i| Scalar::Literal(int(i)));
        // Join on column 0 = the constant's column 0; the constants are (1, 0), (1, 2), (2, 5).
        let mut partners = BTreeMap::new();
        partners.insert(vec![int(1)], vec![vec![int(1), int(0)], vec![int(1), int(2)]]);
        partners.insert(vec![int(2)], vec![vec![int(2), int(5)]]);
        let steps = Steps::new(vec![
            Step::JoinConstant(ConstantJoin::new(&[c(0)], partners, false, None)),
            // 10 / constant's column 1 > 4: fails for the partner (1, 0).
            Step::Filter(Scalar::binary(BinaryOp::Gt, Scalar::binary(BinaryOp::Div, lit(10), c(3)), lit(4))),
            Step::Project(Projection::new(&[c(1), c(3)], 4)),
        ]);
        let outcome = |row: SqlRow| {
            let mut got = Vec::new();
            steps.run(row, &mut |result| got.push(result));
            got
        };
        assert_eq!(
            outcome(vec![int(1), int(7)]),
            vec![Err(EvalError::DivisionByZero), Ok(vec![int(7), int(2)])]
        );
        // 10 / 5 = 2 is not above 4.
        assert_eq!(outcome(vec![int(2), int(8)]), vec![]);
        assert_eq!(outcome(vec![int(3), int(9)]), vec![]);
        assert_eq!(outcome(vec![Value::Null, int(9)]), vec![]);
    }
}
