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

    /// `exprs`, over the rows the steps give, as expressions over the rows before the last
    /// step, if that step is a projection the reader of `exprs` can skip; the projection is
    /// then taken out of the steps. A `GROUP BY` over a window's columns
    /// (`SELECT *, date_time - date_time % 10000 AS window_start ...`) then computes its key
    /// from the row the window's projection reads, and no projected row is made.
    ///
    /// A row must meet the same outcome either way, so the projection is skipped only if its
    /// expressions that can fail (`Scalar::infallible`) are each read by an expression of
    /// `exprs` that is that column alone, first met in the projection's own order, and every
    /// other expression of `exprs` cannot fail once it reads the projection's expressions: a
    /// row then fails at the same expression with the same error, evaluated left to right.
    pub(crate) fn read_through_projection(&mut self, exprs: &[Scalar]) -> Option<Vec<Scalar>> {
        let Some(Step::Project(projection)) = self.steps.last() else { return None };
        let projected = projection.exprs();
        let can_fail = |c: usize| !projected[c].infallible();
        let mut first_met: Vec<usize> = Vec::new();
        let mut read = Vec::with_capacity(exprs.len());
        for expr in exprs {
            match expr {
                Scalar::Column(c) => {
                    if can_fail(*c) && !first_met.contains(c) {
                        first_met.push(*c);
                    }
                    read.push(projected[*c].clone());
                }
                _ => {
                    let through = expr.substituted(projected);
                    if !through.infallible() {
                        return None;
                    }
                    read.push(through);
                }
            }
        }
        let fallible: Vec<usize> = (0..projected.len()).filter(|&c| can_fail(c)).collect();
        if first_met != fallible {
            return None;
        }
        let mut steps = std::mem::take(&mut self.steps);
        steps.pop();
        *self = Steps::new(steps);
        Some(read)
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

    /// Reading a `GROUP BY` key through a projection gives each row the outcome reading it
    /// from the projected row gives, error included: on random rows of small integers (some
    /// `NULL`, some the largest), random projections of columns, literals, comparisons, sums
    /// (which may overflow) and quotients (which may divide by zero), and random keys of their
    /// columns.
    #[test]
    fn a_key_read_through_a_projection_is_the_key_of_the_projected_row() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static READ_THROUGH: AtomicUsize = AtomicUsize::new(0);
        fn leaf(choice: u8, width: usize) -> Scalar {
            match choice % 3 {
                0 => Scalar::Literal(int(i64::from(choice % 5) - 1)),
                _ => Scalar::Column(usize::from(choice) % width),
            }
        }
        let property = |row: Vec<Option<i8>>, list: Vec<(u8, u8, u8)>, key: Vec<u8>| -> bool {
            let row: SqlRow = row
                .iter()
                .take(4)
                .map(|v| match v {
                    None => Value::Null,
                    Some(i8::MAX) => int(i64::MAX),
                    Some(v) => int(i64::from(*v % 3)),
                })
                .collect();
            if row.is_empty() || list.is_empty() {
                return true;
            }
            let width = row.len();
            let exprs: Vec<Scalar> = list
                .iter()
                .take(5)
                .map(|&(kind, a, b)| match kind % 4 {
                    0 => Scalar::binary(BinaryOp::Add, leaf(a, width), leaf(b, width)),
                    1 => Scalar::binary(BinaryOp::Div, leaf(a, width), leaf(b, width)),
                    2 => Scalar::binary(BinaryOp::Lt, leaf(a, width), leaf(b, width)),
                    _ => leaf(a, width),
                })
                .collect();
            let key: Vec<Scalar> = key
                .iter()
                .take(4)
                .map(|&c| {
                    let column = Scalar::Column(usize::from(c) % exprs.len());
                    if c % 3 == 0 {
                        Scalar::binary(BinaryOp::Lt, column, Scalar::Literal(int(1)))
                    } else {
                        column
                    }
                })
                .collect();
            let mut steps = Steps::new(vec![Step::Project(Projection::new(&exprs, width))]);
            let outcome = |steps: &Steps, key: &[Scalar]| {
                let mut got = Vec::new();
                steps.run(row.clone(), &mut |result| got.push(result.and_then(|r| evaluate(key, &r))));
                got
            };
            let projected = outcome(&steps, &key);
            match steps.read_through_projection(&key) {
                Some(read) => {
                    READ_THROUGH.fetch_add(1, Ordering::Relaxed);
                    steps.is_empty() && outcome(&steps, &read) == projected
                }
                None => true,
            }
        };
        quickcheck::QuickCheck::new()
            .tests(5_000)
            .quickcheck(property as fn(Vec<Option<i8>>, Vec<(u8, u8, u8)>, Vec<u8>) -> bool);
        // Not only the cases where the projection is run.
        assert!(READ_THROUGH.load(Ordering::Relaxed) > 100);
    }

    /// A window's key is read through the projection that computes it, and a key that leaves
    /// out a computed column (which might fail) or reads computed ones out of order is not.
    #[test]
    fn a_projection_is_read_through_only_where_every_row_meets_the_same_outcome() {
        let c = Scalar::Column;
        let window = Scalar::binary(
            BinaryOp::Sub,
            c(1),
            Scalar::binary(BinaryOp::Mod, c(1), Scalar::Literal(int(10))),
        );
        let end = Scalar::binary(BinaryOp::Add, window.clone(), Scalar::Literal(int(10)));
        let list = [c(0), c(1), window.clone(), end.clone()];
        let steps = || Steps::new(vec![Step::Project(Projection::new(&list, 2))]);
        assert_eq!(
            steps().read_through_projection(&[c(0), c(2), c(3)]),
            Some(vec![c(0), window.clone(), end.clone()])
        );
        assert_eq!(steps().read_through_projection(&[c(0), c(2)]), None);
        assert_eq!(steps().read_through_projection(&[c(3), c(2)]), None);
        let shifted = [Scalar::binary(BinaryOp::Add, c(0), c(1))];
        assert_eq!(steps().read_through_projection(&shifted), None);
        // A comparison of a column that cannot fail is read through; of a window, it is not.
        let small = |e: Scalar| Scalar::binary(BinaryOp::Lt, e, Scalar::Literal(int(5)));
        assert_eq!(
            steps().read_through_projection(&[c(2), c(3), small(c(1))]),
            Some(vec![window.clone(), end.clone(), small(c(1))])
        );
        assert_eq!(steps().read_through_projection(&[small(c(2)), c(2), c(3)]), None);
        assert_eq!(Steps::new(Vec::new()).read_through_projection(&[c(0)]), None);
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
