//! Bound scalar expressions: columns by position, typed operators, and their evaluation over a
//! row with SQL's three-valued logic.
//!
//! The binder (`bind/expr.rs`) resolves names and types and inserts the casts that make both
//! sides of an operator one type, so evaluation only meets values of the types it expects.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::sql::error::EvalError;
use crate::sql::functions::Function;
use crate::sql::packed::PackedRow;
use crate::sql::types::{SqlType, cast};
use crate::sql::value::{Date, Decimal, SqlRow, Value};

/// The most arguments a function call reads into an array on the stack ([`Scalar::eval`]).
const FEW_ARGUMENTS: usize = 4;

/// `NULL`, for the places of that array a call does not fill.
static NULL: Value = Value::Null;

/// A binary operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    /// `IS DISTINCT FROM` (`NULL`s equal, never `NULL`).
    Distinct,
    /// `IS NOT DISTINCT FROM`.
    NotDistinct,
    And,
    Or,
    Concat,
}

/// A bound scalar expression.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) enum Scalar {
    /// The value of the row's column at this position.
    Column(usize),
    Literal(Value),
    Not(Box<Scalar>),
    Negate(Box<Scalar>),
    Binary(BinaryOp, Box<Scalar>, Box<Scalar>),
    /// `IS NULL` (or `IS NOT NULL` when the flag is set).
    IsNull(Box<Scalar>, bool),
    /// `CASE WHEN c THEN v ... ELSE e END` (a `CASE x WHEN` is bound to equalities).
    Case(Vec<(Scalar, Scalar)>, Box<Scalar>),
    Cast(Box<Scalar>, SqlType),
    /// `expr [NOT] [I]LIKE pattern`: (expr, pattern, negated, case-insensitive).
    Like(Box<Scalar>, Box<Scalar>, bool, bool),
    /// `expr [NOT] IN (list)`.
    InList(Box<Scalar>, Vec<Scalar>, bool),
    Call(Function, Vec<Scalar>),
    /// The first argument that is not `NULL`.
    Coalesce(Vec<Scalar>),
}

impl Scalar {
    pub(crate) fn literal(value: Value) -> Scalar {
        Scalar::Literal(value)
    }

    pub(crate) fn binary(op: BinaryOp, left: Scalar, right: Scalar) -> Scalar {
        Scalar::Binary(op, Box::new(left), Box::new(right))
    }

    /// True if evaluating the expression never fails, whatever the row: it reads columns and
    /// literals, compares them, tests for `NULL`, matches patterns and combines truth values,
    /// and does no arithmetic, cast or function call (which can overflow, divide by zero or
    /// meet a value they cannot take).
    pub(crate) fn infallible(&self) -> bool {
        use BinaryOp as B;
        match self {
            Scalar::Column(_) | Scalar::Literal(_) => true,
            Scalar::Not(e) | Scalar::IsNull(e, _) => e.infallible(),
            Scalar::Binary(op, a, b) => {
                matches!(
                    op,
                    B::Eq
                        | B::NotEq
                        | B::Lt
                        | B::LtEq
                        | B::Gt
                        | B::GtEq
                        | B::Distinct
                        | B::NotDistinct
                        | B::And
                        | B::Or
                ) && a.infallible()
                    && b.infallible()
            }
            Scalar::Like(e, pattern, _, _) => e.infallible() && pattern.infallible(),
            Scalar::InList(e, list, _) => e.infallible() && list.iter().all(Scalar::infallible),
            Scalar::Coalesce(list) => list.iter().all(Scalar::infallible),
            Scalar::Case(whens, otherwise) => {
                whens.iter().all(|(when, then)| when.infallible() && then.infallible())
                    && otherwise.infallible()
            }
            Scalar::Negate(_) | Scalar::Cast(..) | Scalar::Call(..) => false,
        }
    }

    /// Calls `f` with every column position the expression reads.
    pub(crate) fn visit_columns(&self, f: &mut dyn FnMut(usize)) {
        self.visit_subexpressions(true, &mut |e, _| {
            if let Scalar::Column(c) = e {
                f(*c);
            }
        });
    }

    /// The expression with every column position `c` replaced by `map(c)`.
    pub(crate) fn remap(&self, map: &dyn Fn(usize) -> usize) -> Scalar {
        match self {
            Scalar::Column(c) => Scalar::Column(map(*c)),
            _ => self.map_children(&|e| e.remap(map)),
        }
    }

    /// The expression over the rows `exprs` are evaluated over: every column `c` it reads
    /// replaced by `exprs[c]`.
    pub(crate) fn substituted(&self, exprs: &[Scalar]) -> Scalar {
        match self {
            Scalar::Column(c) => exprs[*c].clone(),
            _ => self.map_children(&|e| e.substituted(exprs)),
        }
    }

    /// The expression with every occurrence of `target` in it read from `column` instead.
    pub(crate) fn replaced(&self, target: &Scalar, column: usize) -> Scalar {
        if self == target {
            return Scalar::Column(column);
        }
        self.map_children(&|e| e.replaced(target, column))
    }

    /// The same node over its operands mapped by `map` (a leaf is itself).
    fn map_children(&self, map: &dyn Fn(&Scalar) -> Scalar) -> Scalar {
        let boxed = |e: &Scalar| Box::new(map(e));
        let all = |list: &[Scalar]| list.iter().map(map).collect();
        match self {
            Scalar::Column(_) | Scalar::Literal(_) => self.clone(),
            Scalar::Not(e) => Scalar::Not(boxed(e)),
            Scalar::Negate(e) => Scalar::Negate(boxed(e)),
            Scalar::IsNull(e, negated) => Scalar::IsNull(boxed(e), *negated),
            Scalar::Cast(e, t) => Scalar::Cast(boxed(e), *t),
            Scalar::Binary(op, a, b) => Scalar::Binary(*op, boxed(a), boxed(b)),
            Scalar::Like(a, b, negated, insensitive) => {
                Scalar::Like(boxed(a), boxed(b), *negated, *insensitive)
            }
            Scalar::Case(whens, otherwise) => {
                Scalar::Case(whens.iter().map(|(c, v)| (map(c), map(v))).collect(), boxed(otherwise))
            }
            Scalar::InList(e, list, negated) => Scalar::InList(boxed(e), all(list), *negated),
            Scalar::Call(func, args) => Scalar::Call(*func, all(args)),
            Scalar::Coalesce(args) => Scalar::Coalesce(all(args)),
        }
    }

    /// Calls `f` with the expression and each of its subexpressions, parents first, each with
    /// whether it is evaluated whenever the expression is (given `evaluated` for the
    /// expression itself) and the evaluation gets to it without failing: not so for the
    /// right side of `AND` and `OR`, a `CASE`'s branches and conditions after the first, an
    /// `IN` list's items and `COALESCE`'s arguments after the first, which
    /// [`eval`](Scalar::eval) may skip.
    pub(crate) fn visit_subexpressions<'e>(&'e self, evaluated: bool, f: &mut dyn FnMut(&'e Scalar, bool)) {
        f(self, evaluated);
        match self {
            Scalar::Column(_) | Scalar::Literal(_) => {}
            Scalar::Not(e) | Scalar::Negate(e) | Scalar::IsNull(e, _) | Scalar::Cast(e, _) => {
                e.visit_subexpressions(evaluated, f)
            }
            Scalar::Binary(BinaryOp::And | BinaryOp::Or, a, b) => {
                a.visit_subexpressions(evaluated, f);
                b.visit_subexpressions(false, f);
            }
            Scalar::Binary(_, a, b) | Scalar::Like(a, b, _, _) => {
                a.visit_subexpressions(evaluated, f);
                b.visit_subexpressions(evaluated, f);
            }
            Scalar::Case(whens, otherwise) => {
                for (at, (condition, value)) in whens.iter().enumerate() {
                    condition.visit_subexpressions(evaluated && at == 0, f);
                    value.visit_subexpressions(false, f);
                }
                otherwise.visit_subexpressions(false, f);
            }
            Scalar::InList(e, list, _) => {
                e.visit_subexpressions(evaluated, f);
                list.iter().for_each(|item| item.visit_subexpressions(false, f));
            }
            Scalar::Call(_, args) => args.iter().for_each(|arg| arg.visit_subexpressions(evaluated, f)),
            Scalar::Coalesce(args) => {
                for (at, arg) in args.iter().enumerate() {
                    arg.visit_subexpressions(evaluated && at == 0, f);
                }
            }
        }
    }

    /// The value of the expression for `row`, borrowed from the row or the expression where
    /// it is a column or a literal: an operator reads its operands without copying them (a
    /// text column compared or tested for `NULL` is never cloned).
    pub(crate) fn value<'r>(&'r self, row: &'r [Value]) -> Result<Cow<'r, Value>, EvalError> {
        match self {
            Scalar::Column(c) => Ok(Cow::Borrowed(&row[*c])),
            Scalar::Literal(v) => Ok(Cow::Borrowed(v)),
            _ => self.eval(row).map(Cow::Owned),
        }
    }

    /// The expression's value where it is integer arithmetic (`+ - * / %`, negation) over
    /// integer columns and literals, computed on `i64`s without making a [`Value`] for each
    /// node: what [`eval`](Scalar::eval) gives (`Ok(None)` for `NULL`), evaluated in the same
    /// order, so with the same error. `None` where a node or a value it reads is not of that
    /// kind: `eval` computes it then, from the start.
    fn int(&self, row: &[Value]) -> Option<Result<Option<i64>, EvalError>> {
        use BinaryOp as B;
        let value = match self {
            Scalar::Column(c) => match row[*c] {
                Value::Int(i) => Some(i),
                Value::Null => None,
                _ => return None,
            },
            Scalar::Literal(Value::Int(i)) => Some(*i),
            Scalar::Negate(e) => match e.int(row)? {
                Ok(Some(i)) => match i.checked_neg() {
                    Some(negated) => Some(negated),
                    None => return Some(Err(EvalError::Overflow)),
                },
                other => return Some(other),
            },
            Scalar::Binary(op @ (B::Add | B::Sub | B::Mul | B::Div | B::Mod), a, b) => {
                let x = match a.int(row)? {
                    Ok(x) => x,
                    Err(error) => return Some(Err(error)),
                };
                let y = match b.int(row)? {
                    Ok(y) => y,
                    Err(error) => return Some(Err(error)),
                };
                match (x, y) {
                    (Some(x), Some(y)) => match int_arithmetic(*op, x, y) {
                        Ok(v) => Some(v),
                        Err(error) => return Some(Err(error)),
                    },
                    _ => None,
                }
            }
            _ => return None,
        };
        Some(Ok(value))
    }

    /// The value of the expression for `row`.
    pub(crate) fn eval(&self, row: &[Value]) -> Result<Value, EvalError> {
        use BinaryOp as B;
        match self {
            Scalar::Binary(B::Add | B::Sub | B::Mul | B::Div | B::Mod, ..) | Scalar::Negate(_) => {
                if let Some(value) = self.int(row) {
                    return value.map(|v| v.map_or(Value::Null, Value::Int));
                }
            }
            Scalar::Binary(op @ (B::Eq | B::NotEq | B::Lt | B::LtEq | B::Gt | B::GtEq), a, b) => {
                // Two integers compared without making a value of either.
                if let Some(x) = a.int(row) {
                    let x = x?;
                    if let Some(y) = b.int(row) {
                        let (Some(x), Some(y)) = (x, y?) else { return Ok(Value::Null) };
                        return Ok(Value::Bool(compared(*op, x.cmp(&y))));
                    }
                }
            }
            _ => {}
        }
        Ok(match self {
            Scalar::Column(c) => row[*c].clone(),
            Scalar::Literal(v) => v.clone(),
            Scalar::Not(e) => match *e.value(row)? {
                Value::Bool(b) => Value::Bool(!b),
                _ => Value::Null,
            },
            Scalar::Negate(e) => match *e.value(row)? {
                Value::Int(i) => Value::Int(i.checked_neg().ok_or(EvalError::Overflow)?),
                Value::Double(d) => Value::double(-d.get()),
                Value::Decimal(d) => {
                    Value::Decimal(Decimal::new(-d.units(), d.scale()).ok_or(EvalError::Overflow)?)
                }
                _ => Value::Null,
            },
            Scalar::IsNull(e, negated) => Value::Bool(e.value(row)?.is_null() != *negated),
            Scalar::Cast(e, t) => cast(e.eval(row)?, *t)?,
            Scalar::Binary(BinaryOp::And, a, b) => match *a.value(row)? {
                Value::Bool(false) => Value::Bool(false),
                ref left => match (left, &*b.value(row)?) {
                    (_, Value::Bool(false)) => Value::Bool(false),
                    (Value::Bool(true), Value::Bool(true)) => Value::Bool(true),
                    _ => Value::Null,
                },
            },
            Scalar::Binary(BinaryOp::Or, a, b) => match *a.value(row)? {
                Value::Bool(true) => Value::Bool(true),
                ref left => match (left, &*b.value(row)?) {
                    (_, Value::Bool(true)) => Value::Bool(true),
                    (Value::Bool(false), Value::Bool(false)) => Value::Bool(false),
                    _ => Value::Null,
                },
            },
            Scalar::Binary(op, a, b) => binary(*op, &*a.value(row)?, &*b.value(row)?)?,
            Scalar::Like(e, pattern, negated, insensitive) => {
                match (&*e.value(row)?, &*pattern.value(row)?) {
                    (Value::Text(text), Value::Text(pattern)) => {
                        let matched = if *insensitive {
                            like(&text.to_lowercase(), &pattern.to_lowercase())
                        } else {
                            like(text, pattern)
                        };
                        Value::Bool(matched != *negated)
                    }
                    _ => Value::Null,
                }
            }
            Scalar::Case(whens, otherwise) => {
                for (condition, value) in whens {
                    if condition.holds(row)? {
                        return value.eval(row);
                    }
                }
                otherwise.eval(row)?
            }
            Scalar::InList(e, list, negated) => {
                let value = e.value(row)?;
                if value.is_null() {
                    return Ok(Value::Null);
                }
                let mut saw_null = false;
                for item in list {
                    match value.sql_cmp(&*item.value(row)?) {
                        Some(Ordering::Equal) => return Ok(Value::Bool(!negated)),
                        None => saw_null = true,
                        Some(_) => {}
                    }
                }
                if saw_null { Value::Null } else { Value::Bool(*negated) }
            }
            // A call of a few arguments reads them into an array on the stack: a call per
            // row and function (`SPLIT_INDEX` three times a row in q22) allocates nothing
            // for its arguments.
            Scalar::Call(func, args) if args.len() <= FEW_ARGUMENTS => {
                let mut values: [Cow<'_, Value>; FEW_ARGUMENTS] =
                    std::array::from_fn(|_| Cow::Borrowed(&NULL));
                for (value, arg) in values.iter_mut().zip(args) {
                    *value = arg.value(row)?;
                }
                func.call(&values[..args.len()])?
            }
            Scalar::Call(func, args) => {
                let values = args.iter().map(|a| a.value(row)).collect::<Result<Vec<_>, _>>()?;
                func.call(&values)?
            }
            Scalar::Coalesce(args) => {
                for arg in args {
                    let value = arg.value(row)?;
                    if !value.is_null() {
                        return Ok(value.into_owned());
                    }
                }
                Value::Null
            }
        })
    }

    /// True if the expression is `TRUE` for `row` (`NULL` and `FALSE` are not), as `WHERE`,
    /// `HAVING` and `ON` decide.
    pub(crate) fn holds(&self, row: &[Value]) -> Result<bool, EvalError> {
        Ok(matches!(*self.value(row)?, Value::Bool(true)))
    }
}

impl fmt::Display for BinaryOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Mod => "%",
            BinaryOp::Eq => "=",
            BinaryOp::NotEq => "<>",
            BinaryOp::Lt => "<",
            BinaryOp::LtEq => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::GtEq => ">=",
            BinaryOp::Distinct => "IS DISTINCT FROM",
            BinaryOp::NotDistinct => "IS NOT DISTINCT FROM",
            BinaryOp::And => "AND",
            BinaryOp::Or => "OR",
            BinaryOp::Concat => "||",
        })
    }
}

/// An expression as `EXPLAIN` shows it: input columns as `#0`, `#1`...
impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |f: &mut fmt::Formatter<'_>, items: &[Scalar]| {
            let shown: Vec<String> = items.iter().map(ToString::to_string).collect();
            f.write_str(&shown.join(", "))
        };
        match self {
            Scalar::Column(c) => write!(f, "#{c}"),
            Scalar::Literal(Value::Text(s)) => write!(f, "'{}'", s.replace('\'', "''")),
            Scalar::Literal(v) => write!(f, "{v}"),
            Scalar::Not(e) => write!(f, "NOT {e}"),
            Scalar::Negate(e) => write!(f, "-{e}"),
            Scalar::Binary(op, a, b) => write!(f, "({a} {op} {b})"),
            Scalar::IsNull(e, false) => write!(f, "{e} IS NULL"),
            Scalar::IsNull(e, true) => write!(f, "{e} IS NOT NULL"),
            Scalar::Case(whens, otherwise) => {
                f.write_str("CASE")?;
                for (c, v) in whens {
                    write!(f, " WHEN {c} THEN {v}")?;
                }
                write!(f, " ELSE {otherwise} END")
            }
            Scalar::Cast(e, t) => write!(f, "CAST({e} AS {t})"),
            Scalar::Like(e, p, negated, insensitive) => {
                let not = if *negated { "NOT " } else { "" };
                let like = if *insensitive { "ILIKE" } else { "LIKE" };
                write!(f, "{e} {not}{like} {p}")
            }
            Scalar::InList(e, items, negated) => {
                write!(f, "{e} {}IN (", if *negated { "NOT " } else { "" })?;
                list(f, items)?;
                f.write_str(")")
            }
            Scalar::Call(function, args) => {
                write!(f, "{}(", format!("{function:?}").to_lowercase())?;
                list(f, args)?;
                f.write_str(")")
            }
            Scalar::Coalesce(args) => {
                f.write_str("coalesce(")?;
                list(f, args)?;
                f.write_str(")")
            }
        }
    }
}

/// A binary operator applied to two values of the types the binder made them.
fn binary(op: BinaryOp, a: &Value, b: &Value) -> Result<Value, EvalError> {
    use BinaryOp as B;
    match op {
        B::Distinct | B::NotDistinct => {
            let same = match (a.is_null(), b.is_null()) {
                (true, true) => true,
                (false, false) => a.sql_cmp(b) == Some(Ordering::Equal),
                _ => false,
            };
            return Ok(Value::Bool(same == (op == B::NotDistinct)));
        }
        _ if a.is_null() || b.is_null() => return Ok(Value::Null),
        B::Eq | B::NotEq | B::Lt | B::LtEq | B::Gt | B::GtEq => {
            let Some(order) = a.sql_cmp(b) else { return Ok(Value::Null) };
            return Ok(Value::Bool(compared(op, order)));
        }
        _ => {}
    }
    Ok(match (op, a, b) {
        (B::Concat, Value::Text(a), Value::Text(b)) => {
            let mut text = String::with_capacity(a.len() + b.len());
            text.push_str(a);
            text.push_str(b);
            Value::Text(text)
        }
        (B::Concat, a, b) => Value::Text(format!("{a}{b}")),
        (op, &Value::Int(x), &Value::Int(y)) => Value::Int(int_arithmetic(op, x, y)?),
        (op, &Value::Double(x), &Value::Double(y)) => {
            let (x, y) = (x.get(), y.get());
            Value::double(match op {
                B::Add => x + y,
                B::Sub => x - y,
                B::Mul => x * y,
                B::Div if y == 0.0 => return Err(EvalError::DivisionByZero),
                B::Div => x / y,
                B::Mod if y == 0.0 => return Err(EvalError::DivisionByZero),
                B::Mod => x % y,
                _ => unreachable!("the binder gives doubles only arithmetic"),
            })
        }
        (op, &Value::Decimal(x), &Value::Decimal(y)) => Value::Decimal(decimal(op, x, y)?),
        (B::Add, &Value::Date(d), &Value::Int(days)) | (B::Add, &Value::Int(days), &Value::Date(d)) => {
            Value::Date(shift(d, days)?)
        }
        (B::Sub, &Value::Date(d), &Value::Int(days)) => {
            Value::Date(shift(d, days.checked_neg().ok_or(EvalError::Overflow)?)?)
        }
        (B::Sub, &Value::Date(a), &Value::Date(b)) => Value::Int(i64::from(a.0) - i64::from(b.0)),
        _ => unreachable!("the binder only pairs values of matching types"),
    })
}

/// A comparison's truth for two values ordered `order`.
fn compared(op: BinaryOp, order: Ordering) -> bool {
    use BinaryOp as B;
    match op {
        B::Eq => order == Ordering::Equal,
        B::NotEq => order != Ordering::Equal,
        B::Lt => order == Ordering::Less,
        B::LtEq => order != Ordering::Greater,
        B::Gt => order == Ordering::Greater,
        _ => order != Ordering::Less,
    }
}

/// Integer arithmetic (`+ - * / %`), checked.
fn int_arithmetic(op: BinaryOp, x: i64, y: i64) -> Result<i64, EvalError> {
    use BinaryOp as B;
    match op {
        B::Add => x.checked_add(y),
        B::Sub => x.checked_sub(y),
        B::Mul => x.checked_mul(y),
        B::Div if y == 0 => return Err(EvalError::DivisionByZero),
        B::Div => x.checked_div(y),
        B::Mod if y == 0 => return Err(EvalError::DivisionByZero),
        B::Mod => x.checked_rem(y),
        _ => unreachable!("the binder gives integers only arithmetic"),
    }
    .ok_or(EvalError::Overflow)
}

fn shift(date: Date, days: i64) -> Result<Date, EvalError> {
    let days = i64::from(date.0).checked_add(days).ok_or(EvalError::Overflow)?;
    Ok(Date(i32::try_from(days).map_err(|_| EvalError::Overflow)?))
}

/// Decimal arithmetic, exact: sums at the larger scale, products at the sum of the scales,
/// quotients at the larger scale plus 6 digits (rounded half away from zero).
fn decimal(op: BinaryOp, x: Decimal, y: Decimal) -> Result<Decimal, EvalError> {
    let scale = x.scale().max(y.scale());
    let (a, b) = match (x.rescale(scale), y.rescale(scale)) {
        (Some(a), Some(b)) => (a.units(), b.units()),
        _ => return Err(EvalError::Overflow),
    };
    let result = match op {
        BinaryOp::Add => a.checked_add(b).and_then(|u| Decimal::new(u, scale)),
        BinaryOp::Sub => a.checked_sub(b).and_then(|u| Decimal::new(u, scale)),
        BinaryOp::Mul => x
            .units()
            .checked_mul(y.units())
            .and_then(|u| Decimal::new(u, x.scale().checked_add(y.scale()).filter(|s| *s <= 38)?)),
        BinaryOp::Div | BinaryOp::Mod if b == 0 => return Err(EvalError::DivisionByZero),
        BinaryOp::Mod => Decimal::new(a % b, scale),
        BinaryOp::Div => {
            let out = scale.saturating_add(6).min(38);
            // a / b with `out` digits: a * 10^out / b, rounded.
            10i128.checked_pow(u32::from(out)).and_then(|f| a.checked_mul(f)).and_then(|n| {
                let (q, r) = (n / b, n % b);
                let q = if r.abs() * 2 >= b.abs() { q + n.signum() * b.signum() } else { q };
                Decimal::new(q, out)
            })
        }
        _ => unreachable!("the binder gives decimals only arithmetic"),
    };
    result.ok_or(EvalError::Overflow)
}

/// SQL's `LIKE`: `%` matches any run of characters, `_` one character, `\` escapes the next.
pub(crate) fn like(text: &str, pattern: &str) -> bool {
    let text: Vec<char> = text.chars().collect();
    let pattern: Vec<char> = pattern.chars().collect();
    // Positions in the text reachable after each pattern element: a set, kept as flags.
    let mut reachable = vec![false; text.len() + 1];
    reachable[0] = true;
    let mut p = 0;
    while p < pattern.len() {
        let mut next = vec![false; text.len() + 1];
        match pattern[p] {
            '%' => {
                let first = reachable.iter().position(|r| *r);
                if let Some(first) = first {
                    next[first..].iter_mut().for_each(|n| *n = true);
                }
            }
            c => {
                let (literal, any) = if c == '\\' && p + 1 < pattern.len() {
                    p += 1;
                    (pattern[p], false)
                } else {
                    (c, c == '_')
                };
                for i in 0..text.len() {
                    if reachable[i] && (any || text[i] == literal) {
                        next[i + 1] = true;
                    }
                }
            }
        }
        reachable = next;
        p += 1;
    }
    reachable[text.len()]
}

/// Each expression of `exprs` over `row`.
pub(crate) fn evaluate(exprs: &[Scalar], row: &[Value]) -> Result<SqlRow, EvalError> {
    exprs.iter().map(|e| e.eval(row)).collect()
}

/// The values of `exprs` over `row`, packed, with no value copied on the way (a column is
/// packed from the row itself) and none collected (each is packed as it is computed).
pub(crate) fn evaluate_packed(exprs: &[Scalar], row: &[Value]) -> Result<PackedRow, EvalError> {
    PackedRow::try_pack_each(exprs.iter().map(|e| e.value(row)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(c: usize) -> Box<Scalar> {
        Box::new(Scalar::Column(c))
    }

    /// A call reads its arguments the same whether they fit the array on the stack or not:
    /// `concat` of one to seven arguments (text, integers, `NULL`s) gives what `Function::call`
    /// gives over the arguments' values, and an argument that fails (a division by zero) is
    /// the call's error, the leftmost one first.
    #[test]
    fn calls_of_few_and_many_arguments_read_them_alike() {
        let lit = |v: Value| Scalar::Literal(v);
        let division_by_zero = Scalar::binary(BinaryOp::Div, lit(Value::Int(1)), lit(Value::Int(0)));
        let pool = [
            lit(Value::Text("a".into())),
            Scalar::Column(0),
            lit(Value::Null),
            lit(Value::Int(7)),
            Scalar::Column(1),
        ];
        let row = vec![Value::Text("é/x".into()), Value::Int(-3)];
        for count in 1..=7 {
            let args: Vec<Scalar> = (0..count).map(|i| pool[i % pool.len()].clone()).collect();
            let values: Vec<Value> = args.iter().map(|a| a.eval(&row).expect("a value")).collect();
            let call = Scalar::Call(Function::Concat, args.clone());
            assert_eq!(call.eval(&row), Function::Concat.call(&values), "{count} arguments");
            // The last argument fails, then also the first.
            let mut failing_args = args;
            *failing_args.last_mut().expect("an argument") = division_by_zero.clone();
            assert_eq!(
                Scalar::Call(Function::Concat, failing_args.clone()).eval(&row),
                Err(EvalError::DivisionByZero)
            );
            failing_args[0] = Scalar::binary(BinaryOp::Mul, lit(Value::Int(i64::MAX)), lit(Value::Int(2)));
            assert_eq!(Scalar::Call(Function::Concat, failing_args).eval(&row), Err(EvalError::Overflow));
        }
    }

    /// Integer arithmetic and comparisons (the nodes [`Scalar::int`] computes on `i64`s) give
    /// what SQL does, checked against a reference over `Option<i64>` written here: `NULL` in,
    /// `NULL` out; operands left to right, so the left one's error first; division by zero
    /// and overflow as errors, a zero divisor with a `NULL` dividend `NULL`.
    #[test]
    fn integer_expressions_give_what_sql_does() {
        use quickcheck::QuickCheck;
        type Outcome = Result<Option<i64>, EvalError>;
        const OPS: [BinaryOp; 5] =
            [BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div, BinaryOp::Mod];
        const COMPARISONS: [BinaryOp; 6] =
            [BinaryOp::Eq, BinaryOp::NotEq, BinaryOp::Lt, BinaryOp::LtEq, BinaryOp::Gt, BinaryOp::GtEq];
        fn int(v: i8) -> i64 {
            match v {
                i8::MAX => i64::MAX,
                i8::MIN => i64::MIN,
                v => i64::from(v % 8),
            }
        }
        fn as_int(value: &Value) -> Option<i64> {
            if let Value::Int(i) = value { Some(*i) } else { None }
        }
        fn reference_op(op: BinaryOp, x: Outcome, y: Outcome) -> Outcome {
            let (x, y) = (x?, y?);
            let (Some(x), Some(y)) = (x, y) else { return Ok(None) };
            let value = match op {
                BinaryOp::Add => x.checked_add(y),
                BinaryOp::Sub => x.checked_sub(y),
                BinaryOp::Mul => x.checked_mul(y),
                _ if y == 0 => return Err(EvalError::DivisionByZero),
                BinaryOp::Div => x.checked_div(y),
                _ => x.checked_rem(y),
            };
            value.map(Some).ok_or(EvalError::Overflow)
        }
        // A tree built from `build` bottom up (a leaf, a negation of the last tree, or an
        // operator over the last two), then compared with the row's column 0.
        let property = |build: Vec<(u8, i8)>, row: Vec<Option<i8>>, comparison: u8| -> bool {
            let row: Vec<Value> = (0..3)
                .map(|c| row.get(c).copied().flatten().map_or(Value::Null, |v| Value::Int(int(v))))
                .collect();
            let mut trees: Vec<(Scalar, Outcome)> = Vec::new();
            for (kind, v) in build.into_iter().take(12) {
                let leaf = match kind % 4 {
                    0 => (
                        Scalar::Column(v.unsigned_abs() as usize % 3),
                        Ok(as_int(&row[v.unsigned_abs() as usize % 3])),
                    ),
                    1 => (Scalar::literal(Value::Int(int(v))), Ok(Some(int(v)))),
                    _ => (Scalar::literal(Value::Null), Ok(None)),
                };
                let tree = match (kind % 4, trees.len()) {
                    (2, 1..) => {
                        let (e, outcome) = trees.pop().expect("a tree");
                        let negated = outcome
                            .and_then(|v| v.map(|v| v.checked_neg().ok_or(EvalError::Overflow)).transpose());
                        (Scalar::Negate(Box::new(e)), negated)
                    }
                    (3, 2..) => {
                        let (b, y) = trees.pop().expect("a tree");
                        let (a, x) = trees.pop().expect("a tree");
                        let op = OPS[v.unsigned_abs() as usize % OPS.len()];
                        (Scalar::binary(op, a, b), reference_op(op, x, y))
                    }
                    _ => leaf,
                };
                trees.push(tree);
            }
            let Some((tree, expected)) = trees.pop() else { return true };
            let arithmetic = tree.eval(&row) == expected.clone().map(|v| v.map_or(Value::Null, Value::Int));
            let op = COMPARISONS[comparison as usize % COMPARISONS.len()];
            let compared = Scalar::binary(op, tree, Scalar::Column(0));
            let expected = expected.map(|x| match (x, as_int(&row[0])) {
                (Some(x), Some(y)) => Value::Bool(compared_ints(op, x, y)),
                _ => Value::Null,
            });
            arithmetic && compared.eval(&row) == expected
        };
        QuickCheck::new()
            .tests(20_000)
            .quickcheck(property as fn(Vec<(u8, i8)>, Vec<Option<i8>>, u8) -> bool);
    }

    fn compared_ints(op: BinaryOp, x: i64, y: i64) -> bool {
        match op {
            BinaryOp::Eq => x == y,
            BinaryOp::NotEq => x != y,
            BinaryOp::Lt => x < y,
            BinaryOp::LtEq => x <= y,
            BinaryOp::Gt => x > y,
            _ => x >= y,
        }
    }

    #[test]
    fn like_matches_percent_underscore_and_escapes() {
        assert!(like("hello", "h%o"));
        assert!(like("hello", "%"));
        assert!(like("", "%"));
        assert!(like("hello", "h_llo"));
        assert!(!like("hello", "h_lo"));
        assert!(like("50%", "50\\%"));
        assert!(!like("500", "50\\%"));
        assert!(like("abcabc", "%bc%bc"));
    }

    #[test]
    fn three_valued_logic_follows_sql() {
        let and = Scalar::Binary(BinaryOp::And, column(0), column(1));
        let or = Scalar::Binary(BinaryOp::Or, column(0), column(1));
        let (t, f, n) = (Value::Bool(true), Value::Bool(false), Value::Null);
        assert_eq!(and.eval(&[n.clone(), f.clone()]), Ok(f.clone()));
        assert_eq!(and.eval(&[n.clone(), t.clone()]), Ok(n.clone()));
        assert_eq!(or.eval(&[n.clone(), t.clone()]), Ok(t.clone()));
        assert_eq!(or.eval(&[n.clone(), f.clone()]), Ok(n.clone()));
        let in_list =
            Scalar::InList(column(0), vec![Scalar::Literal(Value::Int(1)), Scalar::Literal(n.clone())], true);
        assert_eq!(in_list.eval(&[Value::Int(2)]), Ok(n.clone()));
        assert_eq!(in_list.eval(&[Value::Int(1)]), Ok(f));
    }

    #[test]
    fn arithmetic_fails_with_typed_errors() {
        let div = Scalar::Binary(BinaryOp::Div, column(0), column(1));
        assert_eq!(div.eval(&[Value::Int(1), Value::Int(0)]), Err(EvalError::DivisionByZero));
        assert_eq!(div.eval(&[Value::Int(7), Value::Int(2)]), Ok(Value::Int(3)));
        let add = Scalar::Binary(BinaryOp::Add, column(0), column(1));
        assert_eq!(add.eval(&[Value::Int(i64::MAX), Value::Int(1)]), Err(EvalError::Overflow));
        let x = Value::Decimal(Decimal::parse("1.00").unwrap());
        let y = Value::Decimal(Decimal::parse("3").unwrap());
        assert_eq!(div.eval(&[x, y]).map(|v| v.to_string()), Ok("0.33333333".into()));
    }
}
