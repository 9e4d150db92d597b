//! Expressions: from the parser's `Expr` to a typed [`Scalar`] over a scope's columns, with the
//! casts that make both sides of an operator one type.
//!
//! In an aggregate query the select list and `HAVING` are bound over the aggregate's output:
//! a `GROUP BY` expression becomes its group column, an aggregate call becomes an
//! [`AggregateCall`] (its argument bound over the input) and the column of its result.

use std::cell::RefCell;

use sqlparser::ast::{
    self, BinaryOperator, CastKind, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Spanned,
    UnaryOperator,
};

use crate::sql::bind::find::{aggregate_function, has_aggregate};
use crate::sql::bind::scope::{Scope, normalize};
use crate::sql::error::{Position, SqlError, SqlResult};
use crate::sql::functions::Function;
use crate::sql::plan::{AggregateCall, AggregateFunction};
use crate::sql::scalar::{BinaryOp, Scalar};
use crate::sql::types::{SqlType, cast};
use crate::sql::value::{Decimal, Value};

/// A bound expression and its type.
pub(crate) type Typed = (Scalar, SqlType);

/// What an aggregate query's select list and `HAVING` are bound against.
pub(crate) struct Grouping<'a> {
    /// The scope of the aggregate's input, for aggregate arguments.
    pub(crate) input: &'a Scope,
    /// Each `GROUP BY` expression: its text, its input column if it is a plain column, its type.
    pub(crate) group: Vec<(String, Option<usize>, SqlType)>,
    /// The aggregate calls met so far; the k-th is output column `group.len() + k`.
    pub(crate) calls: RefCell<Vec<AggregateCall>>,
}

/// Binds expressions over a scope.
pub(crate) struct ExprBinder<'a> {
    pub(crate) scope: &'a Scope,
    pub(crate) grouping: Option<&'a Grouping<'a>>,
}

fn at(expr: &impl Spanned) -> Position {
    Position::of(expr.span())
}

fn unsupported<T>(what: impl Into<String>, expr: &impl Spanned) -> SqlResult<T> {
    Err(SqlError::Unsupported { what: what.into(), at: at(expr) })
}

fn type_error<T>(message: impl Into<String>, expr: &impl Spanned) -> SqlResult<T> {
    Err(SqlError::Type { message: message.into(), at: at(expr) })
}

/// `typed` converted to `to`: a cast, folded now for a literal (so that a bad literal is an
/// error of the statement, not of a row).
pub(crate) fn coerce(typed: Typed, to: SqlType, expr: &impl Spanned) -> SqlResult<Scalar> {
    let (scalar, ty) = typed;
    if ty == to || to == SqlType::Null {
        return Ok(scalar);
    }
    match scalar {
        Scalar::Literal(value) => match cast(value, to) {
            Ok(value) => Ok(Scalar::Literal(value)),
            Err(error) => type_error(error.to_string(), expr),
        },
        scalar => Ok(Scalar::Cast(Box::new(scalar), to)),
    }
}

/// The type two operands meet at: their common type, or the other side's type for a text
/// literal (`date_column = '2024-01-01'`).
fn meet(a: &Typed, b: &Typed) -> Option<SqlType> {
    a.1.common(b.1).or(match (a, b) {
        ((Scalar::Literal(Value::Text(_)), SqlType::Text), (_, other))
        | ((_, other), (Scalar::Literal(Value::Text(_)), SqlType::Text)) => Some(*other),
        _ => None,
    })
}

impl ExprBinder<'_> {
    /// Binds `expr`.
    pub(crate) fn bind(&self, expr: &Expr) -> SqlResult<Typed> {
        if let Some(grouping) = self.grouping {
            let text = expr.to_string();
            if let Some(i) = grouping.group.iter().position(|(g, _, _)| *g == text) {
                return Ok((Scalar::Column(i), grouping.group[i].2));
            }
        }
        match expr {
            Expr::Identifier(ident) => self.column(None, ident, expr),
            Expr::CompoundIdentifier(parts) => match parts.as_slice() {
                [table, column] => self.column(Some(&normalize(table)), column, expr),
                _ => unsupported(format!("the name {expr}"), expr),
            },
            Expr::Value(value) => literal(&value.value, expr),
            Expr::TypedString(typed) => {
                let Some(to) = SqlType::of(&typed.data_type) else {
                    return unsupported(format!("the type {}", typed.data_type), expr);
                };
                let text = match &typed.value.value {
                    ast::Value::SingleQuotedString(s) => s.clone(),
                    other => other.to_string(),
                };
                Ok((coerce((Scalar::Literal(Value::Text(text)), SqlType::Text), to, expr)?, to))
            }
            Expr::Nested(inner) => self.bind(inner),
            Expr::UnaryOp { op, expr: inner } => {
                let (scalar, ty) = self.bind(inner)?;
                match op {
                    UnaryOperator::Not if matches!(ty, SqlType::Bool | SqlType::Null) => {
                        Ok((Scalar::Not(Box::new(scalar)), SqlType::Bool))
                    }
                    UnaryOperator::Minus if ty.is_numeric() || ty == SqlType::Null => match scalar {
                        Scalar::Literal(Value::Int(i)) => Ok((Scalar::Literal(Value::Int(-i)), ty)),
                        scalar => Ok((Scalar::Negate(Box::new(scalar)), ty)),
                    },
                    UnaryOperator::Plus if ty.is_numeric() => Ok((scalar, ty)),
                    _ => type_error(format!("{op} cannot take {ty}"), expr),
                }
            }
            Expr::BinaryOp { left, op, right } => self.binary(op, left, right, expr),
            Expr::IsNull(inner) => Ok((Scalar::IsNull(Box::new(self.bind(inner)?.0), false), SqlType::Bool)),
            Expr::IsNotNull(inner) => {
                Ok((Scalar::IsNull(Box::new(self.bind(inner)?.0), true), SqlType::Bool))
            }
            Expr::IsTrue(inner) | Expr::IsNotTrue(inner) | Expr::IsFalse(inner) | Expr::IsNotFalse(inner) => {
                let scalar = self.boolean(inner)?;
                let truth = matches!(expr, Expr::IsTrue(_) | Expr::IsNotTrue(_));
                let op = if matches!(expr, Expr::IsTrue(_) | Expr::IsFalse(_)) {
                    BinaryOp::NotDistinct
                } else {
                    BinaryOp::Distinct
                };
                Ok((Scalar::binary(op, scalar, Scalar::literal(Value::Bool(truth))), SqlType::Bool))
            }
            Expr::IsDistinctFrom(a, b) | Expr::IsNotDistinctFrom(a, b) => {
                let (a, b) = self.same_type(a, b, expr)?;
                let op = if matches!(expr, Expr::IsDistinctFrom(..)) {
                    BinaryOp::Distinct
                } else {
                    BinaryOp::NotDistinct
                };
                Ok((Scalar::binary(op, a.0, b.0), SqlType::Bool))
            }
            Expr::Between { expr: inner, negated, low, high } => {
                let value = self.bind(inner)?;
                let (low, high) = (self.bind(low)?, self.bind(high)?);
                let Some(ty) = meet(&value, &low).and_then(|t| meet(&(value.0.clone(), t), &high)) else {
                    return type_error(format!("BETWEEN of {}, {} and {}", value.1, low.1, high.1), expr);
                };
                let value = coerce(value, ty, inner.as_ref())?;
                let low = Scalar::binary(BinaryOp::GtEq, value.clone(), coerce(low, ty, expr)?);
                let high = Scalar::binary(BinaryOp::LtEq, value, coerce(high, ty, expr)?);
                let both = Scalar::binary(BinaryOp::And, low, high);
                Ok((if *negated { Scalar::Not(Box::new(both)) } else { both }, SqlType::Bool))
            }
            Expr::Like { negated, expr: inner, pattern, escape_char: None, any: false }
            | Expr::ILike { negated, expr: inner, pattern, escape_char: None, any: false } => {
                let text = self.text(inner)?;
                let pattern = self.text(pattern)?;
                let insensitive = matches!(expr, Expr::ILike { .. });
                Ok((Scalar::Like(Box::new(text), Box::new(pattern), *negated, insensitive), SqlType::Bool))
            }
            Expr::In { expr: inner, target: ast::InTarget::List(list), negated, .. } => {
                let value = self.bind(inner)?;
                let items = list.iter().map(|e| self.bind(e)).collect::<SqlResult<Vec<_>>>()?;
                let mut ty = value.1;
                for item in &items {
                    ty = meet(&(value.0.clone(), ty), item).ok_or_else(|| SqlError::Type {
                        message: format!("IN of {} and {}", value.1, item.1),
                        at: at(expr),
                    })?;
                }
                let items = items
                    .into_iter()
                    .zip(list)
                    .map(|(item, e)| coerce(item, ty, e))
                    .collect::<SqlResult<_>>()?;
                Ok((
                    Scalar::InList(Box::new(coerce(value, ty, inner.as_ref())?), items, *negated),
                    SqlType::Bool,
                ))
            }
            Expr::Case { operand, conditions, else_result, .. } => {
                let operand = operand.as_ref().map(|o| self.bind(o)).transpose()?;
                let mut whens = Vec::new();
                let mut results = Vec::new();
                for when in conditions {
                    let condition = match &operand {
                        Some(operand) => {
                            let value = self.bind(&when.condition)?;
                            let ty = meet(operand, &value).ok_or_else(|| SqlError::Type {
                                message: format!("CASE compares {} with {}", operand.1, value.1),
                                at: at(&when.condition),
                            })?;
                            Scalar::binary(
                                BinaryOp::Eq,
                                coerce(operand.clone(), ty, expr)?,
                                coerce(value, ty, &when.condition)?,
                            )
                        }
                        None => self.boolean(&when.condition)?,
                    };
                    whens.push(condition);
                    results.push((self.bind(&when.result)?, &when.result));
                }
                let otherwise = match else_result {
                    Some(e) => self.bind(e)?,
                    None => (Scalar::literal(Value::Null), SqlType::Null),
                };
                let ty = results.iter().try_fold(otherwise.1, |t, ((_, r), _)| t.common(*r));
                let Some(ty) = ty else { return type_error("CASE branches of different types", expr) };
                let mut bound = Vec::new();
                for (condition, (result, e)) in whens.into_iter().zip(results) {
                    bound.push((condition, coerce(result, ty, e)?));
                }
                Ok((Scalar::Case(bound, Box::new(coerce(otherwise, ty, expr)?)), ty))
            }
            Expr::Cast {
                kind: CastKind::Cast | CastKind::DoubleColon,
                expr: inner,
                data_type,
                format: None,
            } => {
                let Some(to) = SqlType::of(data_type) else {
                    return unsupported(format!("the type {data_type}"), expr);
                };
                let typed = self.bind(inner)?;
                Ok((coerce(typed, to, inner.as_ref())?, to))
            }
            Expr::Extract { field, expr: inner, .. } => {
                let value = self.bind(inner)?;
                if !matches!(value.1, SqlType::Date | SqlType::Timestamp | SqlType::Null) {
                    return type_error(format!("EXTRACT from {}", value.1), expr);
                }
                let field = Scalar::literal(Value::Text(field.to_string().to_lowercase()));
                Ok((Scalar::Call(Function::Extract, vec![field, value.0]), SqlType::Int))
            }
            Expr::Substring { expr: inner, substring_from, substring_for, .. } => {
                let mut args = vec![self.text(inner)?];
                let from = substring_from.as_ref().map(|e| self.integer(e)).transpose()?;
                args.push(from.unwrap_or(Scalar::literal(Value::Int(1))));
                if let Some(length) = substring_for {
                    args.push(self.integer(length)?);
                }
                Ok((Scalar::Call(Function::Substring, args), SqlType::Text))
            }
            Expr::Position { expr: needle, r#in } => Ok((
                Scalar::Call(Function::Position, vec![self.text(r#in)?, self.text(needle)?]),
                SqlType::Int,
            )),
            Expr::Trim { expr: inner, trim_where: None, trim_what: None, trim_characters: None } => {
                Ok((Scalar::Call(Function::Trim, vec![self.text(inner)?]), SqlType::Text))
            }
            Expr::Ceil {
                expr: inner,
                field: ast::CeilFloorKind::DateTimeField(ast::DateTimeField::NoDateTime),
            }
            | Expr::Floor {
                expr: inner,
                field: ast::CeilFloorKind::DateTimeField(ast::DateTimeField::NoDateTime),
            } => {
                let name = if matches!(expr, Expr::Ceil { .. }) { "ceil" } else { "floor" };
                let value = self.bind(inner)?;
                let (function, ty) = Function::bind(name, &[value.1]).or_else(|m| type_error(m, expr))?;
                Ok((Scalar::Call(function, vec![value.0]), ty))
            }
            Expr::Function(function) => self.function(function, expr),
            Expr::Subquery(_) if self.grouping.is_none() => {
                match self.scope.subqueries.iter().find(|(text, _)| *text == expr.to_string()) {
                    Some((_, value)) => {
                        let count = Scalar::Column(value + 1);
                        Ok((
                            Scalar::Call(Function::OneRow, vec![Scalar::Column(*value), count]),
                            self.scope.columns[*value].ty,
                        ))
                    }
                    None => unsupported("a correlated scalar subquery", expr),
                }
            }
            Expr::Subquery(_) => unsupported(
                "a scalar subquery in the select list of an aggregate query (it may be in WHERE)",
                expr,
            ),
            Expr::Exists { .. } | Expr::In { .. } => unsupported(
                "a subquery here (IN, NOT IN, EXISTS and NOT EXISTS are supported as conditions of WHERE)",
                expr,
            ),
            _ => unsupported(format!("the expression {expr}"), expr),
        }
    }

    /// Binds `expr`, which must be boolean.
    pub(crate) fn boolean(&self, expr: &Expr) -> SqlResult<Scalar> {
        let (scalar, ty) = self.bind(expr)?;
        match ty {
            SqlType::Bool | SqlType::Null => Ok(scalar),
            other => type_error(format!("expected a boolean, found {other}"), expr),
        }
    }

    fn text(&self, expr: &Expr) -> SqlResult<Scalar> {
        let (scalar, ty) = self.bind(expr)?;
        match ty {
            SqlType::Text | SqlType::Null => Ok(scalar),
            other => type_error(format!("expected text, found {other}"), expr),
        }
    }

    fn integer(&self, expr: &Expr) -> SqlResult<Scalar> {
        let (scalar, ty) = self.bind(expr)?;
        match ty {
            SqlType::Int | SqlType::Null => Ok(scalar),
            other => type_error(format!("expected an integer, found {other}"), expr),
        }
    }

    fn column(&self, qualifier: Option<&str>, ident: &ast::Ident, expr: &Expr) -> SqlResult<Typed> {
        let name = normalize(ident);
        match self.grouping {
            None => {
                let position = self.scope.resolve(qualifier, &name, at(expr))?;
                Ok((Scalar::Column(position), self.scope.columns[position].ty))
            }
            Some(grouping) => {
                let position = grouping.input.resolve(qualifier, &name, at(expr))?;
                match grouping.group.iter().position(|(_, column, _)| *column == Some(position)) {
                    Some(i) => Ok((Scalar::Column(i), grouping.group[i].2)),
                    None => Err(SqlError::Type {
                        message: format!(
                            "column {name} must appear in GROUP BY or be used in an aggregate function"
                        ),
                        at: at(expr),
                    }),
                }
            }
        }
    }

    /// Two operands converted to their common type.
    fn same_type(&self, a: &Expr, b: &Expr, expr: &Expr) -> SqlResult<(Typed, Typed)> {
        let (left, right) = (self.bind(a)?, self.bind(b)?);
        let Some(ty) = meet(&left, &right) else {
            return type_error(format!("cannot compare {} with {}", left.1, right.1), expr);
        };
        Ok(((coerce(left, ty, a)?, ty), (coerce(right, ty, b)?, ty)))
    }

    fn binary(&self, op: &BinaryOperator, a: &Expr, b: &Expr, expr: &Expr) -> SqlResult<Typed> {
        use BinaryOperator as O;
        let comparison = match op {
            O::Eq => Some(BinaryOp::Eq),
            O::NotEq => Some(BinaryOp::NotEq),
            O::Lt => Some(BinaryOp::Lt),
            O::LtEq => Some(BinaryOp::LtEq),
            O::Gt => Some(BinaryOp::Gt),
            O::GtEq => Some(BinaryOp::GtEq),
            _ => None,
        };
        if let Some(op) = comparison {
            let (left, right) = self.same_type(a, b, expr)?;
            return Ok((Scalar::binary(op, left.0, right.0), SqlType::Bool));
        }
        match op {
            O::And | O::Or => {
                let (left, right) = (self.boolean(a)?, self.boolean(b)?);
                let op = if *op == O::And { BinaryOp::And } else { BinaryOp::Or };
                Ok((Scalar::binary(op, left, right), SqlType::Bool))
            }
            O::StringConcat => {
                let (left, right) = (self.bind(a)?, self.bind(b)?);
                // `NULL || x` is `NULL`.
                Ok((Scalar::binary(BinaryOp::Concat, left.0, right.0), SqlType::Text))
            }
            O::Plus | O::Minus | O::Multiply | O::Divide | O::Modulo => {
                let op = match op {
                    O::Plus => BinaryOp::Add,
                    O::Minus => BinaryOp::Sub,
                    O::Multiply => BinaryOp::Mul,
                    O::Divide => BinaryOp::Div,
                    _ => BinaryOp::Mod,
                };
                let (left, right) = (self.bind(a)?, self.bind(b)?);
                match (left.1, right.1) {
                    (SqlType::Date, SqlType::Int) if matches!(op, BinaryOp::Add | BinaryOp::Sub) => {
                        Ok((Scalar::binary(op, left.0, right.0), SqlType::Date))
                    }
                    (SqlType::Int, SqlType::Date) if op == BinaryOp::Add => {
                        Ok((Scalar::binary(op, left.0, right.0), SqlType::Date))
                    }
                    (SqlType::Date, SqlType::Date) if op == BinaryOp::Sub => {
                        Ok((Scalar::binary(op, left.0, right.0), SqlType::Int))
                    }
                    (l, r)
                        if (l.is_numeric() || l == SqlType::Null)
                            && (r.is_numeric() || r == SqlType::Null) =>
                    {
                        let ty = match l.common(r) {
                            Some(SqlType::Null) | None => SqlType::Int,
                            Some(ty) => ty,
                        };
                        let result = match (op, ty) {
                            // Exact products and quotients change the scale; the evaluation gives it.
                            (BinaryOp::Mul, SqlType::Decimal(_)) => {
                                let scale = |t: SqlType| if let SqlType::Decimal(s) = t { s } else { 0 };
                                SqlType::Decimal((scale(l) + scale(r)).min(38))
                            }
                            (BinaryOp::Div, SqlType::Decimal(s)) => {
                                SqlType::Decimal(s.saturating_add(6).min(38))
                            }
                            _ => ty,
                        };
                        let (left, right) = match (op, ty) {
                            (BinaryOp::Mul, SqlType::Decimal(_)) => {
                                // Each side keeps its own scale; integers become scale 0.
                                let keep = |t: Typed, e: &Expr| {
                                    let to = if t.1 == SqlType::Int { SqlType::Decimal(0) } else { t.1 };
                                    coerce(t, to, e)
                                };
                                (keep(left, a)?, keep(right, b)?)
                            }
                            _ => (coerce(left, ty, a)?, coerce(right, ty, b)?),
                        };
                        Ok((Scalar::binary(op, left, right), result))
                    }
                    (l, r) => type_error(format!("{op:?} cannot take {l} and {r}"), expr),
                }
            }
            _ => unsupported(format!("the operator {op}"), expr),
        }
    }

    fn function(&self, function: &ast::Function, expr: &Expr) -> SqlResult<Typed> {
        let name = function.name.to_string().to_lowercase();
        if function.over.is_some() {
            return unsupported(
                "window functions (ROW_NUMBER() OVER (PARTITION BY ... ORDER BY ...) <= n is supported in WHERE of an outer query)",
                expr,
            );
        }
        if !function.within_group.is_empty() {
            return unsupported("WITHIN GROUP", expr);
        }
        let (args, distinct) = match &function.args {
            FunctionArguments::None => (Vec::new(), false),
            FunctionArguments::List(list) => {
                if !list.clauses.is_empty() {
                    return unsupported(format!("the arguments of {name}"), expr);
                }
                (
                    list.args.iter().collect::<Vec<_>>(),
                    list.duplicate_treatment == Some(ast::DuplicateTreatment::Distinct),
                )
            }
            FunctionArguments::Subquery(_) => {
                return unsupported("a subquery as a function's argument", expr);
            }
        };
        if let Some(aggregate) = aggregate_function(&name) {
            return self.aggregate(aggregate, &args, distinct, function.filter.as_deref(), expr);
        }
        if function.filter.is_some() {
            return unsupported(format!("FILTER on {name}, which is not an aggregate function"), expr);
        }
        if distinct {
            return unsupported(format!("DISTINCT in {name}"), expr);
        }
        let args = args
            .iter()
            .map(|arg| match arg {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Ok((self.bind(e)?, e)),
                _ => unsupported(format!("the argument {arg} of {name}"), expr),
            })
            .collect::<SqlResult<Vec<_>>>()?;
        if name == "coalesce" || name == "ifnull" {
            let ty = args.iter().try_fold(SqlType::Null, |t, ((_, ty), _)| t.common(*ty));
            let Some(ty) = ty else { return type_error("COALESCE of different types", expr) };
            let args = args.into_iter().map(|(typed, e)| coerce(typed, ty, e)).collect::<SqlResult<_>>()?;
            return Ok((Scalar::Coalesce(args), ty));
        }
        let types: Vec<SqlType> = args.iter().map(|((_, t), _)| *t).collect();
        let (bound, ty) = Function::bind(&name, &types).or_else(|message| {
            if message.starts_with("unknown function") {
                unsupported(message, expr)
            } else {
                type_error(message, expr)
            }
        })?;
        let args = match bound {
            Function::Greatest | Function::Least | Function::NullIf => {
                args.into_iter().map(|(typed, e)| coerce(typed, ty, e)).collect::<SqlResult<_>>()?
            }
            _ => args.into_iter().map(|((scalar, _), _)| scalar).collect(),
        };
        Ok((Scalar::Call(bound, args), ty))
    }

    /// An aggregate call. `AGG(x) FILTER (WHERE c)` is bound as `AGG(CASE WHEN c THEN x END)`,
    /// and `COUNT(*) FILTER (WHERE c)` as `COUNT(CASE WHEN c THEN 1 END)`: every aggregate
    /// skips `NULL`s, so the rows `c` does not hold for count for nothing, as the standard says.
    fn aggregate(
        &self,
        function: AggregateFunction,
        args: &[&FunctionArg],
        distinct: bool,
        filter: Option<&Expr>,
        expr: &Expr,
    ) -> SqlResult<Typed> {
        let Some(grouping) = self.grouping else {
            return Err(SqlError::Type {
                message: "aggregate functions are not allowed here".into(),
                at: at(expr),
            });
        };
        let input = ExprBinder { scope: grouping.input, grouping: None };
        let condition = match filter {
            Some(condition) if has_aggregate(condition) => {
                return type_error("a FILTER condition cannot call an aggregate", expr);
            }
            Some(condition) => match input.bind(condition)? {
                (scalar, SqlType::Bool | SqlType::Null) => Some(scalar),
                (_, ty) => return type_error(format!("a FILTER condition must be BOOLEAN, not {ty}"), expr),
            },
            None => None,
        };
        let only_where = |value: Scalar| match &condition {
            Some(condition) => {
                Scalar::Case(vec![(condition.clone(), value)], Box::new(Scalar::literal(Value::Null)))
            }
            None => value,
        };
        let (function, argument, ty, input_ty) = match (function, args) {
            (AggregateFunction::Count, [FunctionArg::Unnamed(FunctionArgExpr::Wildcard)])
            | (AggregateFunction::Count, []) => match condition {
                Some(_) => {
                    let one = only_where(Scalar::literal(Value::Int(1)));
                    (AggregateFunction::Count, Some(one), SqlType::Int, SqlType::Int)
                }
                None => (AggregateFunction::CountRows, None, SqlType::Int, SqlType::Int),
            },
            (function, [FunctionArg::Unnamed(FunctionArgExpr::Expr(e))]) => {
                if has_aggregate(e) {
                    return type_error("aggregate calls cannot be nested", expr);
                }
                let (scalar, ty) = input.bind(e)?;
                let scalar = only_where(scalar);
                let result = match function {
                    AggregateFunction::Count => SqlType::Int,
                    AggregateFunction::Avg if ty.is_numeric() || ty == SqlType::Null => SqlType::Double,
                    AggregateFunction::Sum if ty.is_numeric() => ty,
                    AggregateFunction::Sum if ty == SqlType::Null => SqlType::Int,
                    AggregateFunction::Min | AggregateFunction::Max => ty,
                    _ => return type_error(format!("{function:?} cannot take {ty}"), expr),
                };
                (function, Some(scalar), result, ty)
            }
            _ => return unsupported(format!("the arguments of {expr}"), expr),
        };
        let mut calls = grouping.calls.borrow_mut();
        let call = AggregateCall { function, argument, distinct, ty, input: input_ty };
        let index = match calls.iter().position(|c| *c == call) {
            Some(index) => index,
            None => {
                calls.push(call);
                calls.len() - 1
            }
        };
        Ok((Scalar::Column(grouping.group.len() + index), ty))
    }
}

/// A literal's value and type: integers that fit are `BIGINT`, other numbers with a point are
/// `DECIMAL`, with an exponent `DOUBLE`.
fn literal(value: &ast::Value, expr: &Expr) -> SqlResult<Typed> {
    Ok(match value {
        ast::Value::Number(text, _) => {
            if let Ok(i) = text.parse::<i64>() {
                (Scalar::literal(Value::Int(i)), SqlType::Int)
            } else if let Some(d) = Decimal::parse(text).filter(|_| !text.contains(['e', 'E'])) {
                (Scalar::literal(Value::Decimal(d)), SqlType::Decimal(d.scale()))
            } else if let Ok(d) = text.parse::<f64>() {
                (Scalar::literal(Value::double(d)), SqlType::Double)
            } else {
                return type_error(format!("the number {text} is out of range"), expr);
            }
        }
        ast::Value::SingleQuotedString(s) | ast::Value::EscapedStringLiteral(s) => {
            (Scalar::literal(Value::Text(s.clone())), SqlType::Text)
        }
        ast::Value::Boolean(b) => (Scalar::literal(Value::Bool(*b)), SqlType::Bool),
        ast::Value::Null => (Scalar::literal(Value::Null), SqlType::Null),
        ast::Value::HexStringLiteral(hex) => {
            let bytes = (0..hex.len())
                .step_by(2)
                .map(|i| hex.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
                .collect::<Option<Vec<u8>>>();
            match bytes {
                Some(bytes) => (Scalar::literal(Value::Bytes(bytes)), SqlType::Bytes),
                None => return type_error(format!("bad hex literal {hex}"), expr),
            }
        }
        other => return unsupported(format!("the literal {other}"), expr),
    })
}
