//! A `SELECT` list run over rows in place (see [`Projection`]).

use crate::sql::error::EvalError;
use crate::sql::scalar::Scalar;
use crate::sql::shared_exprs::shared;
use crate::sql::value::{SqlRow, Value};

/// A `SELECT` list over input rows: each expression evaluated, except that a column the list
/// names once, alone, is moved out of the input row instead of copied (a row's text is then
/// never copied by a projection that keeps it).
///
/// The output is written into the input row itself and the row is cut to length: nothing is
/// allocated unless the list is wider than its input. A column must not be overwritten before
/// every expression reading it has run, so the expressions that read a column left of their
/// own place (`SELECT *, a + b`, a list that reorders) run first, with their values kept past
/// the row's end; the others then run left to right, each over columns at or right of its
/// place, which nothing has overwritten yet; last, the early values swap into their places.
/// An error is the one the leftmost failing expression gives, as evaluating left to right does.
pub(crate) struct Projection {
    /// The input rows' width.
    width: usize,
    /// The list as written, run in place over rows as they come.
    plain: InPlace,
    /// With subexpressions the list repeats ([`shared`]): those subexpressions, and the list
    /// run in place over a row extended by their values.
    shared: Option<(Vec<Scalar>, InPlace)>,
}

impl Projection {
    /// The list `exprs` over rows `width` wide.
    pub(crate) fn new(exprs: &[Scalar], width: usize) -> Projection {
        let shared = shared(exprs, width).map(|s| (s.values, InPlace::new(&s.exprs)));
        Projection { width, plain: InPlace::new(exprs), shared }
    }

    /// True if the list is its input's columns in order: every row is its own value.
    pub(crate) fn is_identity(&self) -> bool {
        self.plain.exprs.len() == self.width
            && self.plain.exprs.iter().enumerate().all(|(i, e)| matches!(e, Scalar::Column(c) if *c == i))
    }

    /// The most values a row holds while the list runs over it ([`Projection::apply`], on
    /// either of its paths): a row made with that capacity is never reallocated by it.
    pub(crate) fn room(&self) -> usize {
        let plain = self.plain.room(self.width);
        self.shared
            .as_ref()
            .map_or(plain, |(values, in_place)| plain.max(in_place.room(self.width + values.len())))
    }

    /// The list's expressions, as written.
    pub(crate) fn exprs(&self) -> &[Scalar] {
        &self.plain.exprs
    }

    /// The list's values over `row`, written into `row` itself. With shared subexpressions,
    /// their values are computed first, past the row's end; if one fails (where the list as
    /// written might not have reached it, or would have failed elsewhere first), the row goes
    /// through the list as written, so the outcome is always the list's.
    pub(crate) fn apply(&self, mut row: SqlRow) -> Result<SqlRow, EvalError> {
        let Some((values, in_place)) = &self.shared else { return self.plain.apply(row) };
        if row.len() != self.width {
            return self.plain.apply(row);
        }
        row.reserve(values.len());
        for value in values {
            match value.eval(&row) {
                Ok(value) => row.push(value),
                Err(_) => {
                    row.truncate(self.width);
                    return self.plain.apply(row);
                }
            }
        }
        in_place.apply(row)
    }
}

/// A list run over rows in place (see [`Projection`]).
struct InPlace {
    exprs: Vec<Scalar>,
    /// For each expression, the input column it moves, if it does.
    moves: Vec<Option<usize>>,
    /// The places whose expression reads a column left of the place, in order.
    early: Vec<usize>,
}

impl InPlace {
    fn new(exprs: &[Scalar]) -> InPlace {
        // How many expressions read each input column.
        let mut uses = Vec::<usize>::new();
        for expr in exprs {
            expr.visit_columns(&mut |column| {
                if uses.len() <= column {
                    uses.resize(column + 1, 0);
                }
                uses[column] += 1;
            });
        }
        let moves = exprs
            .iter()
            .map(|expr| match expr {
                Scalar::Column(column) if uses[*column] == 1 => Some(*column),
                _ => None,
            })
            .collect();
        let early = (0..exprs.len())
            .filter(|place| {
                let mut left = false;
                exprs[*place].visit_columns(&mut |column| left |= column < *place);
                left
            })
            .collect();
        InPlace { exprs: exprs.to_vec(), moves, early }
    }

    /// The most values a row `width` wide holds while the list runs over it.
    fn room(&self, width: usize) -> usize {
        width.max(self.exprs.len()) + self.early.len()
    }

    /// The value of the expression at `place` over `row`: its column taken out, or evaluated.
    fn value(&self, place: usize, row: &mut [Value]) -> Result<Value, EvalError> {
        match self.moves[place] {
            // No other expression reads this column, so taking it leaves them their inputs.
            Some(column) => Ok(std::mem::replace(&mut row[column], Value::Null)),
            None => self.exprs[place].eval(row),
        }
    }

    /// The list's values over `row`, written into `row` itself.
    fn apply(&self, mut row: SqlRow) -> Result<SqlRow, EvalError> {
        let width = self.exprs.len();
        let wide = row.len().max(width);
        if wide + self.early.len() > row.len() {
            row.reserve_exact(wide + self.early.len() - row.len());
            row.resize(wide, Value::Null);
        }
        // The leftmost failure among the early expressions, by place.
        let mut failed: Option<(usize, EvalError)> = None;
        for &place in &self.early {
            let value = match self.value(place, &mut row) {
                Ok(value) => value,
                Err(error) => {
                    failed.get_or_insert((place, error));
                    Value::Null
                }
            };
            row.push(value);
        }
        let mut early = self.early.iter().peekable();
        for place in 0..width {
            if early.next_if_eq(&&place).is_some() {
                match failed {
                    Some((at, error)) if at == place => return Err(error),
                    _ => continue,
                }
            }
            // Columns left of `place` may be overwritten; this expression reads none of them.
            row[place] = self.value(place, &mut row)?;
        }
        for (index, place) in self.early.iter().enumerate() {
            row.swap(*place, wide + index);
        }
        row.truncate(width);
        Ok(row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::scalar::{BinaryOp, evaluate};
    use quickcheck::Arbitrary;

    /// A random `SELECT` list over a row of up to six integers: columns (some named twice,
    /// some left of their place), literals, and sums and quotients that may overflow or divide
    /// by zero, drawn from a few subexpressions so that some repeat, some of them where they
    /// are always evaluated and some only in a `CASE` branch or a `COALESCE`'s later argument.
    #[derive(Clone, Debug)]
    struct AnyProjection {
        row: SqlRow,
        exprs: Vec<Scalar>,
    }

    impl quickcheck::Arbitrary for AnyProjection {
        fn arbitrary(g: &mut quickcheck::Gen) -> Self {
            let width = usize::arbitrary(g) % 6 + 1;
            let row = (0..width)
                .map(|_| {
                    Value::Int(if u8::arbitrary(g) % 8 == 0 {
                        i64::MAX
                    } else {
                        i64::from(i8::arbitrary(g) % 3)
                    })
                })
                .collect();
            let column = |g: &mut quickcheck::Gen| Scalar::Column(usize::arbitrary(g) % width);
            let (add, div) = (BinaryOp::Add, BinaryOp::Div);
            let pool: Vec<Scalar> = vec![
                Scalar::binary(add, column(g), column(g)),
                Scalar::binary(div, column(g), column(g)),
                Scalar::binary(add, Scalar::binary(div, column(g), column(g)), column(g)),
            ];
            let pick = |g: &mut quickcheck::Gen| pool[usize::arbitrary(g) % pool.len()].clone();
            let exprs = (0..usize::arbitrary(g) % (width + 3))
                .map(|_| match u8::arbitrary(g) % 8 {
                    0 => Scalar::Literal(Value::Null),
                    1 => Scalar::binary(BinaryOp::Add, column(g), column(g)),
                    2 => Scalar::binary(BinaryOp::Div, column(g), column(g)),
                    3 => pick(g),
                    4 => Scalar::binary(BinaryOp::Add, pick(g), pick(g)),
                    5 => Scalar::Case(
                        vec![(Scalar::IsNull(Box::new(column(g)), bool::arbitrary(g)), pick(g))],
                        Box::new(pick(g)),
                    ),
                    6 => Scalar::Coalesce(vec![pick(g), pick(g)]),
                    _ => column(g),
                })
                .collect();
            AnyProjection { row, exprs }
        }
    }

    #[test]
    fn a_projection_in_place_gives_what_evaluating_each_expression_gives() {
        let mut g = quickcheck::Gen::new(8);
        let mut with_shared = 0;
        for _ in 0..20_000 {
            let p = AnyProjection::arbitrary(&mut g);
            let projection = Projection::new(&p.exprs, p.row.len());
            with_shared += usize::from(projection.shared.is_some());
            assert_eq!(projection.apply(p.row.clone()), evaluate(&p.exprs, &p.row), "{p:?}");
        }
        // Lists with shared subexpressions were among them.
        assert!(with_shared > 1_000, "{with_shared}");
        // A row made with the list's room is never reallocated by it: the result is in the
        // input's allocation.
        let mut reallocated_without_room = 0;
        for _ in 0..20_000 {
            let p = AnyProjection::arbitrary(&mut g);
            let projection = Projection::new(&p.exprs, p.row.len());
            let mut row = Vec::with_capacity(projection.room());
            row.extend(p.row.iter().cloned());
            let at = row.as_ptr();
            if let Ok(projected) = projection.apply(row) {
                assert_eq!(projected.as_ptr(), at, "{p:?}");
            }
            let at = p.row.as_ptr();
            reallocated_without_room += usize::from(projection.apply(p.row).is_ok_and(|r| r.as_ptr() != at));
        }
        // Rows without it were, for some lists (those that widen them).
        assert!(reallocated_without_room > 1_000, "{reallocated_without_room}");
        // Only expressions reading a column left of their place run early.
        let (c, null) = (Scalar::Column, || Scalar::Literal(Value::Null));
        assert!(InPlace::new(&[c(0), null(), c(2)]).early.is_empty());
        assert!(
            InPlace::new(&[c(0), c(2), Scalar::binary(BinaryOp::Mul, c(2), c(3)), c(5)]).early.is_empty()
        );
        assert_eq!(InPlace::new(&[c(1), c(0)]).early, vec![1]);
        let star_and_sum = [c(0), c(1), Scalar::binary(BinaryOp::Add, c(0), c(1))];
        assert_eq!(InPlace::new(&star_and_sum).early, vec![2]);
        // Only the input's columns in order, all of them, give each row back as it is.
        assert!(Projection::new(&[c(0), c(1)], 2).is_identity());
        assert!(!Projection::new(&[c(0)], 2).is_identity());
        assert!(!Projection::new(&[c(1), c(0)], 2).is_identity());
        assert!(!Projection::new(&star_and_sum, 2).is_identity());
    }
}
