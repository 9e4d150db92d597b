//! Queries: from the parser's `Query` to a [`Plan`]. `FROM` items become scans and joins (with
//! the equalities of `ON` and `WHERE` as join keys), `WHERE` a filter (its `IN`, `EXISTS`, `NOT
//! IN` and `NOT EXISTS` conditions semi- and anti-joins), `GROUP BY` an aggregate, `UNION`,
//! `EXCEPT` and `INTERSECT` set operations, `ORDER BY ... LIMIT` a top-k, `WITH` named plans.

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;

use sqlparser::ast::{
    self, BinaryOperator, Expr, GroupByExpr, JoinConstraint, JoinOperator, LimitClause, OrderByKind, Query,
    Select, SelectItem, SetExpr, SetOperator, SetQuantifier, Spanned, TableFactor, TableWithJoins,
};

use crate::sql::bind::expr::{ExprBinder, Grouping, Typed, coerce};
use crate::sql::bind::find::{has_aggregate, scalar_subqueries};
use crate::sql::bind::scope::{Scope, Tables, normalize, object_name};
use crate::sql::error::{Position, SqlError, SqlResult};
use crate::sql::plan::{AggregateCall, AggregateFunction, Column, JoinKind, Plan, SetOp, SortKey};
use crate::sql::scalar::{BinaryOp, Scalar};
use crate::sql::types::SqlType;
use crate::sql::value::Value;

/// A bound query: its plan, and the order its rows are shown in (an `ORDER BY` without
/// `LIMIT`, which a maintained view, a collection, does not keep).
pub(crate) struct Bound {
    /// The plan; its first `visible` columns are the query's, the others `ORDER BY` keys
    /// that the select list does not have.
    pub(crate) plan: Plan,
    pub(crate) order: Vec<SortKey>,
    pub(crate) visible: usize,
}

/// The qualifier of the hidden columns that hold `ORDER BY` keys the select list lacks.
const ORDER_KEY: &str = "#order";

/// The qualifier of the column of a `ROW_NUMBER()`, which `*` does not show.
const WINDOW: &str = "#window";

impl Bound {
    /// The plan without its hidden `ORDER BY` columns.
    pub(crate) fn visible_plan(self) -> Plan {
        let columns = self.plan.columns();
        if self.visible == columns.len() {
            return self.plan;
        }
        let exprs = (0..self.visible).map(Scalar::Column).collect();
        let columns = columns.into_iter().take(self.visible).collect();
        Plan::Project { input: Box::new(self.plan), exprs, columns }
    }
}

fn unsupported<T>(what: impl Into<String>, node: &impl Spanned) -> SqlResult<T> {
    Err(SqlError::Unsupported { what: what.into(), at: Position::of(node.span()) })
}

/// Binds queries against the tables and views of a catalog.
pub(crate) struct QueryBinder<'a> {
    tables: &'a dyn Tables,
    /// The `WITH` queries in scope, innermost last.
    ctes: RefCell<Vec<(String, Plan)>>,
    /// Recursive queries bound so far (each gets its number).
    recursions: Cell<usize>,
    /// True while the step of a recursive query is bound.
    in_step: Cell<bool>,
}

impl<'a> QueryBinder<'a> {
    pub(crate) fn new(tables: &'a dyn Tables) -> Self {
        QueryBinder {
            tables,
            ctes: RefCell::new(Vec::new()),
            recursions: Cell::new(0),
            in_step: Cell::new(false),
        }
    }

    /// Binds a whole query.
    pub(crate) fn bind(&self, query: &Query) -> SqlResult<Bound> {
        let depth = self.ctes.borrow().len();
        let bound = self.query(query);
        self.ctes.borrow_mut().truncate(depth);
        bound
    }

    fn query(&self, query: &Query) -> SqlResult<Bound> {
        if let Some(with) = &query.with {
            for cte in &with.cte_tables {
                let name = normalize(&cte.alias.name);
                let names: Vec<String> = cte.alias.columns.iter().map(|c| normalize(&c.name)).collect();
                let at = Position::of(cte.alias.name.span);
                let plan = match cte.query.body.as_ref() {
                    SetExpr::SetOperation { op: SetOperator::Union, set_quantifier, left, right }
                        if with.recursive =>
                    {
                        self.recursive(
                            &name,
                            &names,
                            (left, right),
                            *set_quantifier != SetQuantifier::All,
                            &cte.query,
                        )?
                    }
                    _ => rename(self.bind(&cte.query)?.visible_plan(), Some(&name), &names, at)?,
                };
                self.ctes.borrow_mut().push((name, plan));
            }
        }
        if !query.locks.is_empty()
            || query.fetch.is_some()
            || query.for_clause.is_some()
            || !query.pipe_operators.is_empty()
        {
            return unsupported("FOR, FETCH and pipe operators", query);
        }
        let keys: &[ast::OrderByExpr] = match query.order_by.as_ref().map(|o| &o.kind) {
            None => &[],
            Some(OrderByKind::Expressions(keys)) => keys,
            Some(OrderByKind::All(_)) => return unsupported("ORDER BY ALL", query),
        };
        let (plan, visible) = match query.body.as_ref() {
            SetExpr::Select(select) => self.select(select, keys)?,
            body => {
                let plan = self.set_expr(body)?;
                let width = plan.width();
                (plan, width)
            }
        };
        let (limit, offset) = match &query.limit_clause {
            None => (None, 0),
            Some(LimitClause::LimitOffset { limit, offset, limit_by }) => {
                if !limit_by.is_empty() {
                    return unsupported("LIMIT BY", query);
                }
                let limit = limit.as_ref().map(count).transpose()?;
                let offset = offset.as_ref().map(|o| count(&o.value)).transpose()?.unwrap_or(0);
                (limit, offset)
            }
            Some(LimitClause::OffsetCommaLimit { offset, limit }) => (Some(count(limit)?), count(offset)?),
        };
        let order = self.sort_keys(&plan, keys)?;
        if limit.is_none() && offset == 0 {
            return Ok(Bound { plan, order, visible });
        }
        let plan = Plan::TopK {
            input: Box::new(plan),
            partition: Vec::new(),
            order: order.clone(),
            offset,
            limit,
            numbered: false,
            ties: false,
        };
        Ok(Bound { plan, order, visible })
    }

    /// `WITH RECURSIVE name AS (base UNION [ALL] step)`: `step` sees `name` as the rows so far.
    fn recursive(
        &self,
        name: &str,
        names: &[String],
        (base, step): (&SetExpr, &SetExpr),
        distinct: bool,
        query: &Query,
    ) -> SqlResult<Plan> {
        if query.order_by.is_some() || query.limit_clause.is_some() {
            return unsupported("ORDER BY or LIMIT in a recursive query", query);
        }
        if self.in_step.get() {
            return unsupported("WITH RECURSIVE inside the step of another", query);
        }
        let at = Position::of(query.span());
        let base = rename(self.set_expr(base)?, Some(name), names, at)?;
        let columns = base.columns();
        let id = self.recursions.get();
        self.recursions.set(id + 1);
        self.ctes.borrow_mut().push((name.to_string(), Plan::Recurse { id, columns: columns.clone() }));
        self.in_step.set(true);
        let stepped = self.set_expr(step);
        self.in_step.set(false);
        self.ctes.borrow_mut().pop();
        let step = stepped?;
        if step.width() != columns.len() {
            return Err(SqlError::Type {
                message: format!(
                    "the recursive step of {name} gives {} columns, its base {}",
                    step.width(),
                    columns.len()
                ),
                at,
            });
        }
        // The step's columns take the base's types (the rows so far have them).
        let exprs = step
            .columns()
            .iter()
            .zip(&columns)
            .enumerate()
            .map(|(i, (s, b))| {
                if s.ty == b.ty {
                    Ok(Scalar::Column(i))
                } else if s.ty == SqlType::Null || s.ty.common(b.ty) == Some(b.ty) {
                    Ok(Scalar::Cast(Box::new(Scalar::Column(i)), b.ty))
                } else {
                    Err(SqlError::Type {
                        message: format!(
                            "column {} of {name} is {} in its base and {} in its step",
                            b.name, b.ty, s.ty
                        ),
                        at,
                    })
                }
            })
            .collect::<SqlResult<Vec<_>>>()?;
        let step = Plan::Project { input: Box::new(step), exprs, columns: columns.clone() };
        Ok(Plan::Recursive { id, base: Box::new(base), step: Box::new(step), distinct, columns })
    }

    /// `ORDER BY` keys over the query's output: a column name or alias, a position (`ORDER BY
    /// 2`), or an expression over the output columns.
    fn sort_keys(&self, plan: &Plan, keys: &[ast::OrderByExpr]) -> SqlResult<Vec<SortKey>> {
        let scope = Scope::new(plan.columns());
        let binder = ExprBinder { scope: &scope, grouping: None };
        keys.iter()
            .map(|key| {
                let text = key.expr.to_string();
                let hidden = scope
                    .columns
                    .iter()
                    .position(|c| c.qualifier.as_deref() == Some(ORDER_KEY) && c.name == text);
                let expr = match &key.expr {
                    _ if hidden.is_some() => Scalar::Column(hidden.unwrap_or_default()),
                    Expr::Value(v) => match &v.value {
                        ast::Value::Number(n, _) => match n.parse::<usize>() {
                            Ok(i) if (1..=scope.columns.len()).contains(&i) => Scalar::Column(i - 1),
                            _ => {
                                return unsupported(
                                    format!("ORDER BY {n}: no such column position"),
                                    &key.expr,
                                );
                            }
                        },
                        _ => binder.bind(&key.expr)?.0,
                    },
                    expr => {
                        binder
                            .bind(expr)
                            .map_err(|error| match error {
                                SqlError::UnknownColumn { name, at } => SqlError::Unsupported {
                                    what: format!("ORDER BY {name}, which the select list does not have"),
                                    at,
                                },
                                other => other,
                            })?
                            .0
                    }
                };
                let descending = matches!(key.options.sort, Some(ast::OrderBySort::Desc));
                // As PostgreSQL: NULLs sort as if larger than every value.
                let nulls_first = key.options.nulls_first.unwrap_or(descending);
                Ok(SortKey { expr, descending, nulls_first })
            })
            .collect()
    }

    fn set_expr(&self, body: &SetExpr) -> SqlResult<Plan> {
        match body {
            SetExpr::Select(select) => Ok(self.select(select, &[])?.0),
            SetExpr::Query(query) => Ok(self.bind(query)?.visible_plan()),
            SetExpr::SetOperation { left, op, set_quantifier, right } => {
                let op = match op {
                    SetOperator::Union => SetOp::Union,
                    SetOperator::Except | SetOperator::Minus => SetOp::Except,
                    SetOperator::Intersect => SetOp::Intersect,
                };
                let all = match set_quantifier {
                    SetQuantifier::All => true,
                    SetQuantifier::Distinct | SetQuantifier::None => false,
                    _ => return unsupported("BY NAME", body),
                };
                let (left, right) = (self.set_expr(left)?, self.set_expr(right)?);
                let (left, right) = unify(left, right, body)?;
                Ok(Plan::Set { op, all, left: Box::new(left), right: Box::new(right) })
            }
            SetExpr::Values(values) => self.values(values, body),
            _ => unsupported(format!("{body} as a query"), body),
        }
    }

    fn values(&self, values: &ast::Values, body: &SetExpr) -> SqlResult<Plan> {
        let empty = Scope::default();
        let binder = ExprBinder { scope: &empty, grouping: None };
        let rows: Vec<Vec<(Typed, &Expr)>> = values
            .rows
            .iter()
            .map(|row| row.content.iter().map(|e| Ok((binder.bind(e)?, e))).collect::<SqlResult<Vec<_>>>())
            .collect::<SqlResult<_>>()?;
        let width = rows.first().map_or(0, Vec::len);
        if rows.iter().any(|r| r.len() != width) {
            return Err(SqlError::Type {
                message: "VALUES rows of different lengths".into(),
                at: Position::of(body.span()),
            });
        }
        // A column's type is the common type of its values, text literals aside: they take
        // the others' type (`('2024-01-01'), (DATE '2024-01-02')` is a date column).
        let mut types = vec![SqlType::Null; width];
        for i in 0..width {
            let typed = rows
                .iter()
                .map(|row| &row[i])
                .filter(|((scalar, ty), _)| !(*ty == SqlType::Text && matches!(scalar, Scalar::Literal(_))));
            for ((_, ty), e) in typed {
                types[i] = types[i].common(*ty).ok_or_else(|| SqlError::Type {
                    message: format!("VALUES column {} holds {} and {}", i + 1, types[i], ty),
                    at: Position::of(e.span()),
                })?;
            }
            if types[i] == SqlType::Null && rows.iter().any(|row| row[i].0.1 == SqlType::Text) {
                types[i] = SqlType::Text;
            }
        }
        let mut constant = Vec::new();
        for row in rows {
            let mut values = Vec::new();
            for (i, (typed, e)) in row.into_iter().enumerate() {
                let scalar = coerce(typed, types[i], e)?;
                values.push(scalar.eval(&[]).map_err(|error| SqlError::Type {
                    message: error.to_string(),
                    at: Position::of(e.span()),
                })?);
            }
            constant.push(values);
        }
        let columns = types
            .into_iter()
            .enumerate()
            .map(|(i, ty)| Column { name: format!("column{}", i + 1), qualifier: None, ty })
            .collect();
        Ok(Plan::Constant { rows: constant, columns })
    }

    /// A `SELECT`, and the number of its columns: the plan has more when `order` (its query's
    /// `ORDER BY`) names what the select list does not have.
    fn select(&self, select: &Select, order: &[ast::OrderByExpr]) -> SqlResult<(Plan, usize)> {
        if select.top.is_some()
            || select.into.is_some()
            || !select.lateral_views.is_empty()
            || select.prewhere.is_some()
            || !select.connect_by.is_empty()
            || !select.cluster_by.is_empty()
            || !select.distribute_by.is_empty()
            || !select.sort_by.is_empty()
            || !select.named_window.is_empty()
            || select.qualify.is_some()
            || select.exclude.is_some()
        {
            return unsupported("this form of SELECT", select);
        }
        // FROM, with the WHERE conditions that fit pushed into its joins.
        let mut conditions = Vec::new();
        let mut subqueries = Vec::new();
        let mut scalar = Vec::new();
        for condition in select.selection.iter().flat_map(conjuncts) {
            if is_subquery_condition(condition) {
                subqueries.push(condition)
            } else if !scalar_subqueries(condition).is_empty() {
                scalar.push(condition)
            } else {
                conditions.push(condition)
            }
        }
        let (mut plan, mut scope) = self.from(&select.from, &conditions)?;
        for condition in subqueries {
            plan = self.subquery_condition(plan, &scope, condition)?;
        }
        // Scalar subqueries (of WHERE and the select list), each joined to every row as its
        // one value; then the conditions that use them.
        let mut found: Vec<(String, Query)> = scalar.iter().flat_map(|c| scalar_subqueries(c)).collect();
        for item in &select.projection {
            if let SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } = item {
                found.extend(scalar_subqueries(e));
            }
        }
        for (text, query) in found {
            if !scope.subqueries.iter().any(|(t, _)| *t == text) {
                (plan, scope) = self.scalar_subquery(plan, scope, text, &query)?;
            }
        }
        for condition in scalar {
            let predicate = ExprBinder { scope: &scope, grouping: None }.boolean(condition)?;
            plan = Plan::Filter { input: Box::new(plan), predicate };
        }

        let items = &select.projection;
        let grouped = !matches!(&select.group_by, GroupByExpr::Expressions(e, _) if e.is_empty())
            || select.having.is_some()
            || items.iter().any(|item| match item {
                SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => has_aggregate(e),
                _ => false,
            });
        let (plan, visible) = if grouped {
            self.aggregate(plan, &scope, select, order)?
        } else {
            let (plan, scope, rank) = self.numbered(plan, scope, items)?;
            let binder = ExprBinder { scope: &scope, grouping: None };
            let (mut exprs, mut columns) = self.projection(&binder, &scope, items, rank)?;
            let visible = columns.len();
            hidden_keys(&binder, order, &mut exprs, &mut columns)?;
            (Plan::Project { input: Box::new(plan), exprs, columns }, visible)
        };
        match &select.distinct {
            None | Some(ast::Distinct::All) => Ok((plan, visible)),
            Some(ast::Distinct::Distinct) if plan.width() == visible => {
                Ok((Plan::Distinct { input: Box::new(plan) }, visible))
            }
            Some(ast::Distinct::Distinct) => {
                unsupported("ORDER BY of what a SELECT DISTINCT does not select", select)
            }
            Some(_) => unsupported("DISTINCT ON", select),
        }
    }

    /// The select list over `scope`: its expressions and output columns.
    /// `plan` with the value of an uncorrelated scalar subquery joined to each row: its
    /// smallest value and its number of rows, which an error makes of more than one.
    fn scalar_subquery(
        &self,
        plan: Plan,
        mut scope: Scope,
        text: String,
        query: &Query,
    ) -> SqlResult<(Plan, Scope)> {
        let sub = self.bind(query)?.visible_plan();
        let columns = sub.columns();
        let [column] = columns.as_slice() else {
            return Err(SqlError::Type {
                message: "a scalar subquery must select one column".into(),
                at: Position::of(query.span()),
            });
        };
        let ty = column.ty;
        let calls = vec![
            AggregateCall {
                function: AggregateFunction::Min,
                argument: Some(Scalar::Column(0)),
                distinct: false,
                ty,
                input: ty,
            },
            AggregateCall {
                function: AggregateFunction::CountRows,
                argument: None,
                distinct: false,
                ty: SqlType::Int,
                input: SqlType::Int,
            },
        ];
        let hidden = |ty| Column { name: text.clone(), qualifier: Some("#subquery".into()), ty };
        let one = Plan::Aggregate {
            input: Box::new(sub),
            group: Vec::new(),
            aggregates: calls,
            columns: vec![hidden(ty), hidden(SqlType::Int)],
        };
        let value = scope.columns.len();
        scope.columns.extend(one.columns());
        scope.subqueries.push((text, value));
        let plan = Plan::Join {
            kind: JoinKind::Inner,
            left: Box::new(plan),
            right: Box::new(one),
            left_keys: vec![],
            right_keys: vec![],
            residual: None,
        };
        Ok((plan, scope))
    }

    /// `plan` with the place of each row in the window of the select list's `ROW_NUMBER()
    /// OVER (PARTITION BY ... ORDER BY ...)` appended, if it has one: the plan, its scope, and
    /// the place's column.
    fn numbered(
        &self,
        plan: Plan,
        scope: Scope,
        items: &[SelectItem],
    ) -> SqlResult<(Plan, Scope, Option<usize>)> {
        let windows: Vec<(&ast::WindowSpec, &Expr)> = items
            .iter()
            .filter_map(|item| match item {
                SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                    row_number(e).map(|w| (w, e))
                }
                _ => None,
            })
            .collect();
        let Some((spec, expr)) = windows.first() else { return Ok((plan, scope, None)) };
        if windows.iter().any(|(w, _)| w != spec) || spec.window_frame.is_some() || spec.window_name.is_some()
        {
            return unsupported(
                "window functions other than one ROW_NUMBER() OVER (PARTITION BY ... ORDER BY ...)",
                *expr,
            );
        }
        let binder = ExprBinder { scope: &scope, grouping: None };
        let partition = spec.partition_by.iter().map(|e| Ok(binder.bind(e)?.0)).collect::<SqlResult<_>>()?;
        let order = spec
            .order_by
            .iter()
            .map(|key| {
                let descending = matches!(key.options.sort, Some(ast::OrderBySort::Desc));
                Ok(SortKey {
                    expr: binder.bind(&key.expr)?.0,
                    descending,
                    nulls_first: key.options.nulls_first.unwrap_or(descending),
                })
            })
            .collect::<SqlResult<_>>()?;
        let rank = scope.columns.len();
        let plan = Plan::TopK {
            input: Box::new(plan),
            partition,
            order,
            offset: 0,
            limit: None,
            numbered: true,
            ties: false,
        };
        let mut scope = scope;
        scope.columns.push(Column {
            name: "row_number".into(),
            qualifier: Some(WINDOW.into()),
            ty: SqlType::Int,
        });
        Ok((plan, scope, Some(rank)))
    }

    fn projection(
        &self,
        binder: &ExprBinder<'_>,
        scope: &Scope,
        items: &[SelectItem],
        rank: Option<usize>,
    ) -> SqlResult<(Vec<Scalar>, Vec<Column>)> {
        let (mut exprs, mut columns) = (Vec::new(), Vec::new());
        for item in items {
            match item {
                SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. } => {
                    let (scalar, ty) = match (row_number(expr), rank) {
                        (Some(_), Some(rank)) => (Scalar::Column(rank), SqlType::Int),
                        _ => binder.bind(expr)?,
                    };
                    let name = match item {
                        SelectItem::ExprWithAlias { alias, .. } => normalize(alias),
                        _ => output_name(expr),
                    };
                    exprs.push(scalar);
                    columns.push(Column { name, qualifier: None, ty });
                }
                SelectItem::Wildcard(options) | SelectItem::QualifiedWildcard(_, options) => {
                    if options.opt_exclude.is_some()
                        || options.opt_except.is_some()
                        || options.opt_replace.is_some()
                        || options.opt_rename.is_some()
                    {
                        return unsupported("options of *", item);
                    }
                    if binder.grouping.is_some() {
                        return unsupported("* in a query with GROUP BY", item);
                    }
                    let qualifier = match item {
                        SelectItem::QualifiedWildcard(
                            ast::SelectItemQualifiedWildcardKind::ObjectName(name),
                            _,
                        ) => Some(object_name(name)?),
                        SelectItem::QualifiedWildcard(..) => return unsupported(format!("{item}"), item),
                        _ => None,
                    };
                    let positions = scope.star(qualifier.as_deref());
                    if positions.is_empty()
                        && let Some(q) = qualifier
                    {
                        return Err(SqlError::UnknownTable { name: q, at: Position::of(item.span()) });
                    }
                    for position in positions {
                        exprs.push(Scalar::Column(position));
                        columns.push(Column { qualifier: None, ..scope.columns[position].clone() });
                    }
                }
                _ => return unsupported(format!("the select item {item}"), item),
            }
        }
        Ok((exprs, columns))
    }

    /// `GROUP BY`, the aggregates of the select list and `HAVING`, and the select list over them.
    fn aggregate(
        &self,
        input: Plan,
        scope: &Scope,
        select: &Select,
        order: &[ast::OrderByExpr],
    ) -> SqlResult<(Plan, usize)> {
        let group_exprs: Vec<&Expr> = match &select.group_by {
            GroupByExpr::Expressions(exprs, modifiers) if modifiers.is_empty() => exprs.iter().collect(),
            _ => return unsupported("GROUP BY ALL, ROLLUP, CUBE and GROUPING SETS", select),
        };
        let plain = ExprBinder { scope, grouping: None };
        let mut group = Vec::new();
        let mut keys = Vec::new();
        let mut columns = Vec::new();
        for expr in group_exprs {
            // `GROUP BY 1` names a select item.
            let expr = match expr {
                Expr::Value(v) if matches!(&v.value, ast::Value::Number(..)) => {
                    let ast::Value::Number(n, _) = &v.value else { unreachable!() };
                    match n.parse::<usize>().ok().and_then(|i| select.projection.get(i.wrapping_sub(1))) {
                        Some(SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. }) => e,
                        _ => return unsupported(format!("GROUP BY {n}: no such select item"), expr),
                    }
                }
                Expr::Identifier(ident)
                    if scope.resolve(None, &normalize(ident), Position::default()).is_err() =>
                {
                    // `GROUP BY alias` names a select item by its alias.
                    let alias = normalize(ident);
                    let found = select.projection.iter().find_map(|item| match item {
                        SelectItem::ExprWithAlias { expr, alias: a } if normalize(a) == alias => Some(expr),
                        _ => None,
                    });
                    found.unwrap_or(expr)
                }
                expr => expr,
            };
            let (scalar, ty) = plain.bind(expr)?;
            let column = if let Scalar::Column(c) = scalar { Some(c) } else { None };
            let name = column.map_or_else(|| output_name(expr), |c| scope.columns[c].name.clone());
            columns.push(Column { name, qualifier: None, ty });
            group.push((expr.to_string(), column, ty));
            keys.push(scalar);
        }
        let grouping = Grouping { input: scope, group, calls: RefCell::new(Vec::new()) };
        let after = Scope::default();
        let binder = ExprBinder { scope: &after, grouping: Some(&grouping) };
        let (mut exprs, mut output) = self.projection(&binder, &after, &select.projection, None)?;
        let visible = output.len();
        hidden_keys(&binder, order, &mut exprs, &mut output)?;
        let having = select.having.as_ref().map(|h| binder.boolean(h)).transpose()?;
        let calls = grouping.calls.into_inner();
        columns.extend(calls.iter().enumerate().map(|(i, call)| Column {
            name: format!("agg{i}"),
            qualifier: None,
            ty: call.ty,
        }));
        let mut plan = Plan::Aggregate { input: Box::new(input), group: keys, aggregates: calls, columns };
        if let Some(predicate) = having {
            plan = Plan::Filter { input: Box::new(plan), predicate };
        }
        Ok((Plan::Project { input: Box::new(plan), exprs, columns: output }, visible))
    }

    /// The `FROM` items joined, with `conditions` (conjuncts of `WHERE`) applied: each as early
    /// as its columns allow, and equalities between two items as join keys.
    fn from(&self, from: &[TableWithJoins], conditions: &[&Expr]) -> SqlResult<(Plan, Scope)> {
        let mut items = Vec::new();
        for item in from {
            items.push(self.table_with_joins(item)?);
        }
        if items.is_empty() {
            let plan = Plan::Constant { rows: vec![Vec::new()], columns: Vec::new() };
            items.push((plan, Scope::default()));
        }
        // Bind every condition over all items first (so that an ambiguous name is an error).
        let full = items.iter().fold(Scope::default(), |scope, (_, s)| scope.join(s));
        let binder = ExprBinder { scope: &full, grouping: None };
        let mut pending: Vec<Option<Scalar>> =
            conditions.iter().map(|c| binder.boolean(c).map(Some)).collect::<SqlResult<_>>()?;
        let mut offsets = Vec::new();
        let mut offset = 0;
        for (_, scope) in &items {
            offsets.push(offset);
            offset += scope.columns.len();
        }
        let item_of = |column: usize| offsets.iter().rposition(|o| *o <= column).unwrap_or(0);
        let touched = |scalar: &Scalar| {
            let mut items = BTreeSet::new();
            scalar.visit_columns(&mut |c| {
                items.insert(item_of(c));
            });
            items
        };
        // Conditions on one item filter it before any join.
        let mut plans = Vec::new();
        for (i, (plan, _)) in items.into_iter().enumerate() {
            let mut plan = plan;
            for slot in pending.iter_mut() {
                if let Some(condition) = slot.as_ref().filter(|c| touched(c).iter().eq([i].iter())) {
                    let shift = offsets[i];
                    let predicate = condition.remap(&|c| c - shift);
                    plan = Plan::Filter { input: Box::new(limit_rank(plan, &predicate)), predicate };
                    *slot = None;
                }
            }
            plans.push(plan);
        }
        let mut plans = plans.into_iter();
        let mut plan = plans.next().expect("at least one item");
        for (i, right) in plans.enumerate().map(|(i, p)| (i + 1, p)) {
            let (mut left_keys, mut right_keys) = (Vec::new(), Vec::new());
            for slot in pending.iter_mut() {
                let Some(Scalar::Binary(BinaryOp::Eq, a, b)) = slot.as_ref() else { continue };
                let (ta, tb) = (touched(a), touched(b));
                let before = |t: &BTreeSet<usize>| !t.is_empty() && t.iter().all(|x| *x < i);
                let this = |t: &BTreeSet<usize>| t.iter().eq([i].iter());
                let shift = offsets[i];
                let (l, r) = if before(&ta) && this(&tb) {
                    (a.as_ref().clone(), b.remap(&|c| c - shift))
                } else if before(&tb) && this(&ta) {
                    (b.as_ref().clone(), a.remap(&|c| c - shift))
                } else {
                    continue;
                };
                left_keys.push(l);
                right_keys.push(r);
                *slot = None;
            }
            plan = Plan::Join {
                kind: JoinKind::Inner,
                left: Box::new(plan),
                right: Box::new(right),
                left_keys,
                right_keys,
                residual: None,
            };
        }
        for predicate in pending.into_iter().flatten() {
            plan = Plan::Filter { input: Box::new(plan), predicate };
        }
        Ok((plan, full))
    }

    fn table_with_joins(&self, item: &TableWithJoins) -> SqlResult<(Plan, Scope)> {
        let (mut plan, mut scope) = self.table_factor(&item.relation)?;
        for join in &item.joins {
            let (right, right_scope) = self.table_factor(&join.relation)?;
            let (kind, constraint) = match &join.join_operator {
                JoinOperator::Join(c) | JoinOperator::Inner(c) => (JoinKind::Inner, Some(c)),
                JoinOperator::Left(c) | JoinOperator::LeftOuter(c) => (JoinKind::Left, Some(c)),
                JoinOperator::Right(c) | JoinOperator::RightOuter(c) => (JoinKind::Right, Some(c)),
                JoinOperator::FullOuter(c) => (JoinKind::Full, Some(c)),
                JoinOperator::CrossJoin(JoinConstraint::None) => (JoinKind::Inner, None),
                JoinOperator::Semi(c) | JoinOperator::LeftSemi(c) => (JoinKind::Semi, Some(c)),
                JoinOperator::Anti(c) | JoinOperator::LeftAnti(c) => (JoinKind::Anti, Some(c)),
                other => return unsupported(format!("the join {other:?}"), &join.relation),
            };
            let joined = scope.join(&right_scope);
            let (left_keys, right_keys, residual) = match constraint {
                None | Some(JoinConstraint::None) => (Vec::new(), Vec::new(), None),
                Some(JoinConstraint::On(on)) => self.join_condition(on, &scope, &joined)?,
                Some(JoinConstraint::Using(names)) => {
                    let at = Position::of(join.relation.span());
                    let pairs = names
                        .iter()
                        .map(|name| {
                            let name = object_name(name)?;
                            Ok((scope.resolve(None, &name, at)?, right_scope.resolve(None, &name, at)?))
                        })
                        .collect::<SqlResult<Vec<_>>>()?;
                    column_keys(&scope, &right_scope, pairs, &join.relation)?
                }
                Some(JoinConstraint::Natural) => {
                    let pairs = scope
                        .columns
                        .iter()
                        .enumerate()
                        .filter_map(|(l, c)| {
                            right_scope.columns.iter().position(|r| r.name == c.name).map(|r| (l, r))
                        })
                        .collect();
                    column_keys(&scope, &right_scope, pairs, &join.relation)?
                }
                Some(other) => return unsupported(format!("the join constraint {other:?}"), &join.relation),
            };
            plan = Plan::Join {
                kind,
                left: Box::new(plan),
                right: Box::new(right),
                left_keys,
                right_keys,
                residual,
            };
            scope = if matches!(kind, JoinKind::Semi | JoinKind::Anti) { scope } else { joined };
        }
        Ok((plan, scope))
    }

    /// An `ON` condition as join keys (equalities between the two sides) and a residual.
    fn join_condition(
        &self,
        on: &Expr,
        left: &Scope,
        joined: &Scope,
    ) -> SqlResult<(Vec<Scalar>, Vec<Scalar>, Option<Scalar>)> {
        let (mut left_keys, mut right_keys, mut residual) = (Vec::new(), Vec::new(), Vec::new());
        let width = left.columns.len();
        let binder = ExprBinder { scope: joined, grouping: None };
        for condition in conjuncts(on) {
            if let Expr::BinaryOp { left: a, op: BinaryOperator::Eq, right: b } = condition {
                let (ta, tb) = (binder.bind(a)?, binder.bind(b)?);
                let side = |s: &Scalar| {
                    let (mut l, mut r) = (false, false);
                    s.visit_columns(&mut |c| if c < width { l = true } else { r = true });
                    (l, r)
                };
                let pair = match (side(&ta.0), side(&tb.0)) {
                    ((true, false), (false, true)) => Some((ta, tb)),
                    ((false, true), (true, false)) => Some((tb, ta)),
                    _ => None,
                };
                if let Some((l, r)) = pair {
                    let r = (r.0.remap(&|c| c - width), r.1);
                    let (l, r) = key_pair(l, r, condition)?;
                    left_keys.push(l);
                    right_keys.push(r);
                    continue;
                }
            }
            residual.push(binder.boolean(condition)?);
        }
        let residual = residual.into_iter().reduce(|a, b| Scalar::binary(BinaryOp::And, a, b));
        Ok((left_keys, right_keys, residual))
    }

    fn table_factor(&self, factor: &TableFactor) -> SqlResult<(Plan, Scope)> {
        match factor {
            TableFactor::Table { name, alias, args: None, with_hints, version: None, partitions, .. }
                if with_hints.is_empty() && partitions.is_empty() =>
            {
                let name = object_name(name)?;
                let cte =
                    self.ctes.borrow().iter().rev().find(|(n, _)| *n == name).map(|(_, plan)| plan.clone());
                let plan = match cte {
                    Some(plan) => plan,
                    None => match self.tables.lookup(&name) {
                        Some((source, columns)) => Plan::Scan { source, columns },
                        None => return Err(SqlError::UnknownTable { name, at: Position::of(factor.span()) }),
                    },
                };
                self.aliased(plan, &name, alias.as_ref())
            }
            TableFactor::Derived { lateral: false, subquery, alias, .. } => {
                let plan = self.bind(subquery)?.visible_plan();
                match alias {
                    Some(alias) => self.aliased(plan, &normalize(&alias.name), Some(alias)),
                    None => {
                        let columns =
                            plan.columns().into_iter().map(|c| Column { qualifier: None, ..c }).collect();
                        Ok((plan, Scope::new(columns)))
                    }
                }
            }
            TableFactor::NestedJoin { table_with_joins, alias: None } => {
                self.table_with_joins(table_with_joins)
            }
            _ => unsupported(format!("the FROM item {factor}"), factor),
        }
    }

    /// `plan`'s columns qualified by `alias` (or `name`), renamed by the alias's column list.
    fn aliased(&self, plan: Plan, name: &str, alias: Option<&ast::TableAlias>) -> SqlResult<(Plan, Scope)> {
        let qualifier = alias.map_or_else(|| name.to_string(), |a| normalize(&a.name));
        let names: Vec<String> =
            alias.map(|a| a.columns.iter().map(|c| normalize(&c.name)).collect()).unwrap_or_default();
        let at = alias.map_or_else(Position::default, |a| Position::of(a.name.span));
        let plan = rename(plan, Some(&qualifier), &names, at)?;
        let scope = Scope::new(plan.columns());
        Ok((plan, scope))
    }

    /// A `WHERE` condition with a subquery, as a semi- or anti-join of `plan`.
    fn subquery_condition(&self, plan: Plan, scope: &Scope, condition: &Expr) -> SqlResult<Plan> {
        let (negated, subquery, needle) = match condition {
            Expr::Exists { subquery, negated } => (*negated, subquery, None),
            Expr::In { expr, target: ast::InTarget::Subquery(subquery), negated, .. } => {
                (*negated, subquery, Some(expr.as_ref()))
            }
            Expr::UnaryOp { op: ast::UnaryOperator::Not, expr } => match expr.as_ref() {
                Expr::Exists { subquery, negated } => (!*negated, subquery, None),
                Expr::In { expr, target: ast::InTarget::Subquery(subquery), negated, .. } => {
                    (!*negated, subquery, Some(expr.as_ref()))
                }
                _ => return unsupported("this subquery condition", condition),
            },
            Expr::Nested(inner) => return self.subquery_condition(plan, scope, inner),
            _ => return unsupported("this subquery condition", condition),
        };
        // The subquery's own FROM and WHERE, with conditions on the outer row (correlation)
        // set aside as join keys or residual.
        let SetExpr::Select(select) = subquery.body.as_ref() else {
            return self.uncorrelated_in(plan, scope, negated, subquery, needle, condition);
        };
        let simple = subquery.with.is_none()
            && subquery.order_by.is_none()
            && subquery.limit_clause.is_none()
            && matches!(&select.group_by, GroupByExpr::Expressions(e, _) if e.is_empty())
            && select.having.is_none()
            && select.distinct.is_none()
            && !select.projection.iter().any(|i| matches!(i, SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } if has_aggregate(e)));
        if !simple {
            return self.uncorrelated_in(plan, scope, negated, subquery, needle, condition);
        }
        let (inner, inner_scope) = self.from(&select.from, &[])?;
        let joined = scope.join(&inner_scope);
        let width = scope.columns.len();
        let inner_binder = ExprBinder { scope: &inner_scope, grouping: None };
        let joined_binder = ExprBinder { scope: &joined, grouping: None };
        let mut inner = inner;
        let (mut left_keys, mut right_keys, mut residual) = (Vec::new(), Vec::new(), Vec::new());
        for c in select.selection.iter().flat_map(conjuncts) {
            match inner_binder.boolean(c) {
                Ok(predicate) => inner = Plan::Filter { input: Box::new(inner), predicate },
                Err(SqlError::UnknownColumn { .. }) => {
                    let (l, r, rest) = self.join_condition(c, scope, &joined)?;
                    left_keys.extend(l);
                    right_keys.extend(r);
                    residual.extend(rest);
                }
                Err(other) => return Err(other),
            }
        }
        if let Some(needle) = needle {
            let [SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. }] =
                select.projection.as_slice()
            else {
                return unsupported("IN of a subquery that does not select one column", condition);
            };
            let outer = ExprBinder { scope, grouping: None }.bind(needle)?;
            let value = joined_binder.bind(e).map(|(s, t)| (s.remap(&|c| c - width), t));
            let value = match value {
                Ok(value) => value,
                Err(_) => inner_binder.bind(e)?,
            };
            if negated {
                // NOT IN is not NOT EXISTS: a NULL on either side makes it unknown.
                return self.not_in(plan, inner, (outer, value), left_keys, right_keys, residual, condition);
            }
            let (l, r) = key_pair(outer, value, condition)?;
            left_keys.push(l);
            right_keys.push(r);
        }
        let residual = residual.into_iter().reduce(|a, b| Scalar::binary(BinaryOp::And, a, b));
        let kind = if negated { JoinKind::Anti } else { JoinKind::Semi };
        Ok(Plan::Join { kind, left: Box::new(plan), right: Box::new(inner), left_keys, right_keys, residual })
    }

    /// `x [NOT] IN (query)` for a query that is not a plain `SELECT` (a union, an aggregate):
    /// uncorrelated, bound on its own.
    fn uncorrelated_in(
        &self,
        plan: Plan,
        scope: &Scope,
        negated: bool,
        subquery: &Query,
        needle: Option<&Expr>,
        condition: &Expr,
    ) -> SqlResult<Plan> {
        let inner = self.bind(subquery)?.visible_plan();
        let Some(needle) = needle else {
            // EXISTS of an uncorrelated query: every row or none, as the query has rows or not.
            let kind = if negated { JoinKind::Anti } else { JoinKind::Semi };
            return Ok(Plan::Join {
                kind,
                left: Box::new(plan),
                right: Box::new(inner),
                left_keys: vec![],
                right_keys: vec![],
                residual: None,
            });
        };
        let columns = inner.columns();
        if columns.len() != 1 {
            return unsupported("IN of a subquery that does not select one column", condition);
        }
        let outer = ExprBinder { scope, grouping: None }.bind(needle)?;
        let value = (Scalar::Column(0), columns[0].ty);
        if negated {
            return self.not_in(plan, inner, (outer, value), vec![], vec![], vec![], condition);
        }
        let (l, r) = key_pair(outer, value, condition)?;
        Ok(Plan::Join {
            kind: JoinKind::Semi,
            left: Box::new(plan),
            right: Box::new(inner),
            left_keys: vec![l],
            right_keys: vec![r],
            residual: None,
        })
    }

    /// `outer NOT IN (values of inner)`: true when no value equals it, no value is `NULL`, and
    /// `outer` is not `NULL` (or there are no values at all).
    #[allow(clippy::too_many_arguments, reason = "the pieces of one correlated condition")]
    fn not_in(
        &self,
        plan: Plan,
        inner: Plan,
        (outer, value): (Typed, Typed),
        left_keys: Vec<Scalar>,
        right_keys: Vec<Scalar>,
        residual: Vec<Scalar>,
        condition: &Expr,
    ) -> SqlResult<Plan> {
        let (l, r) = key_pair(outer, value, condition)?;
        let width = plan.width();
        let anti = |left: Plan, left_keys: Vec<Scalar>, right_keys: Vec<Scalar>, residual: Option<Scalar>| {
            Plan::Join {
                kind: JoinKind::Anti,
                left: Box::new(left),
                right: Box::new(inner.clone()),
                left_keys,
                right_keys,
                residual,
            }
        };
        let is_null = |s: &Scalar| Scalar::IsNull(Box::new(s.clone()), false);
        let and_all =
            |parts: Vec<Scalar>| parts.into_iter().reduce(|a, b| Scalar::binary(BinaryOp::And, a, b));
        // A partner is any inner row (of the same correlation) whose value equals the outer
        // value or is NULL, or any inner row at all when the outer value is NULL.
        let shifted = r.remap(&|c| c + width);
        let matches = Scalar::binary(
            BinaryOp::Or,
            Scalar::binary(
                BinaryOp::Or,
                Scalar::binary(BinaryOp::Eq, l.clone(), shifted.clone()),
                is_null(&shifted),
            ),
            is_null(&l),
        );
        let mut all = residual;
        all.push(matches);
        Ok(anti(plan, left_keys, right_keys, and_all(all)))
    }
}

/// The window of `expr` if it is `ROW_NUMBER() OVER (...)`.
fn row_number(expr: &Expr) -> Option<&ast::WindowSpec> {
    match expr {
        Expr::Function(f) if f.name.to_string().eq_ignore_ascii_case("row_number") => match &f.over {
            Some(ast::WindowType::WindowSpec(spec)) => Some(spec),
            _ => None,
        },
        Expr::Nested(inner) => row_number(inner),
        _ => None,
    }
}

/// `plan` with a numbered top-k under it limited when `predicate` keeps only its first places
/// (`rn <= 3`, `rn < 4`, `rn = 1` on its `ROW_NUMBER()` column): the filter stays, but the
/// top-k keeps no more rows per partition than it lets through.
fn limit_rank(plan: Plan, predicate: &Scalar) -> Plan {
    let (column, limit) = match predicate {
        Scalar::Binary(op, a, b) => match (op, a.as_ref(), b.as_ref()) {
            (BinaryOp::LtEq, Scalar::Column(c), Scalar::Literal(Value::Int(k))) if *k >= 0 => {
                (*c, *k as usize)
            }
            (BinaryOp::Lt, Scalar::Column(c), Scalar::Literal(Value::Int(k))) if *k >= 1 => {
                (*c, *k as usize - 1)
            }
            (BinaryOp::Eq, Scalar::Column(c), Scalar::Literal(Value::Int(1))) => (*c, 1),
            _ => return plan,
        },
        _ => return plan,
    };
    set_limit(plan, column, limit)
}

fn set_limit(plan: Plan, column: usize, limit: usize) -> Plan {
    match plan {
        Plan::Project { input, exprs, columns } => {
            let input = match exprs.get(column) {
                Some(Scalar::Column(inner)) => Box::new(set_limit(*input, *inner, limit)),
                _ => input,
            };
            Plan::Project { input, exprs, columns }
        }
        Plan::TopK { input, partition, order, offset, limit: None, numbered: true, ties: false }
            if column == input.width() =>
        {
            Plan::TopK { input, partition, order, offset, limit: Some(limit), numbered: true, ties: false }
        }
        other => other,
    }
}

/// Appends to a select list (`exprs`, `columns`) the `ORDER BY` keys it cannot answer itself
/// (a column it does not select), as hidden columns.
fn hidden_keys(
    binder: &ExprBinder<'_>,
    order: &[ast::OrderByExpr],
    exprs: &mut Vec<Scalar>,
    columns: &mut Vec<Column>,
) -> SqlResult<()> {
    for key in order {
        let output = Scope::new(columns.clone());
        let answered = match &key.expr {
            Expr::Value(_) => true,
            expr => ExprBinder { scope: &output, grouping: None }.bind(expr).is_ok(),
        };
        if !answered {
            let (scalar, ty) = binder.bind(&key.expr)?;
            exprs.push(scalar);
            columns.push(Column { name: key.expr.to_string(), qualifier: Some(ORDER_KEY.to_string()), ty });
        }
    }
    Ok(())
}

/// The join keys of pairs of columns (`USING`, `NATURAL`), each pair of one type.
fn column_keys(
    left: &Scope,
    right: &Scope,
    pairs: Vec<(usize, usize)>,
    node: &impl Spanned,
) -> SqlResult<(Vec<Scalar>, Vec<Scalar>, Option<Scalar>)> {
    let (mut left_keys, mut right_keys) = (Vec::new(), Vec::new());
    for (l, r) in pairs {
        let (l, r) = key_pair(
            (Scalar::Column(l), left.columns[l].ty),
            (Scalar::Column(r), right.columns[r].ty),
            node,
        )?;
        left_keys.push(l);
        right_keys.push(r);
    }
    Ok((left_keys, right_keys, None))
}

/// Two join key expressions converted to one type.
fn key_pair(left: Typed, right: Typed, node: &impl Spanned) -> SqlResult<(Scalar, Scalar)> {
    let Some(ty) = left.1.common(right.1) else {
        return Err(SqlError::Type {
            message: format!("cannot compare {} with {}", left.1, right.1),
            at: Position::of(node.span()),
        });
    };
    Ok((coerce(left, ty, node)?, coerce(right, ty, node)?))
}

/// The conjuncts of a condition: `a AND (b AND c)` is `[a, b, c]`.
pub(crate) fn conjuncts(expr: &Expr) -> Vec<&Expr> {
    match expr {
        Expr::BinaryOp { left, op: BinaryOperator::And, right } => {
            let mut all = conjuncts(left);
            all.extend(conjuncts(right));
            all
        }
        Expr::Nested(inner) if matches!(inner.as_ref(), Expr::BinaryOp { op: BinaryOperator::And, .. }) => {
            conjuncts(inner)
        }
        other => vec![other],
    }
}

/// True for a `WHERE` conjunct that is a subquery condition (`[NOT] EXISTS`, `[NOT] IN`).
fn is_subquery_condition(expr: &Expr) -> bool {
    match expr {
        Expr::Exists { .. } | Expr::In { target: ast::InTarget::Subquery(_), .. } => true,
        Expr::UnaryOp { op: ast::UnaryOperator::Not, expr } | Expr::Nested(expr) => {
            is_subquery_condition(expr)
        }
        _ => false,
    }
}

/// The name a select item's column gets without an alias: a column's name, a function's name,
/// or the expression's text.
fn output_name(expr: &Expr) -> String {
    match expr {
        Expr::Identifier(ident) => normalize(ident),
        Expr::CompoundIdentifier(parts) => parts.last().map(normalize).unwrap_or_default(),
        Expr::Function(f) => f.name.to_string().to_lowercase(),
        Expr::Nested(inner) => output_name(inner),
        Expr::Cast { expr, .. } => output_name(expr),
        other => other.to_string(),
    }
}

/// A non-negative integer literal (a `LIMIT` or `OFFSET`).
fn count(expr: &Expr) -> SqlResult<usize> {
    match expr {
        Expr::Value(v) => match &v.value {
            ast::Value::Number(n, _) => n.parse().map_err(|_| SqlError::Type {
                message: format!("{n} is not a row count"),
                at: Position::of(expr.span()),
            }),
            _ => unsupported("a LIMIT or OFFSET that is not a number", expr),
        },
        _ => unsupported("a LIMIT or OFFSET that is not a number", expr),
    }
}

/// `plan` with its columns qualified by `qualifier` and renamed by `names` (the first ones).
fn rename(plan: Plan, qualifier: Option<&str>, names: &[String], at: Position) -> SqlResult<Plan> {
    let columns = plan.columns();
    if names.len() > columns.len() {
        return Err(SqlError::Type {
            message: format!("{} column names for {} columns", names.len(), columns.len()),
            at,
        });
    }
    let renamed: Vec<Column> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| Column {
            name: names.get(i).cloned().unwrap_or_else(|| c.name.clone()),
            qualifier: qualifier.map(str::to_string),
            ty: c.ty,
        })
        .collect();
    let exprs = (0..columns.len()).map(Scalar::Column).collect();
    Ok(Plan::Project { input: Box::new(plan), exprs, columns: renamed })
}

/// Two set-operation inputs with the same number of columns, cast to common types.
fn unify(left: Plan, right: Plan, node: &SetExpr) -> SqlResult<(Plan, Plan)> {
    let (lc, rc) = (left.columns(), right.columns());
    if lc.len() != rc.len() {
        return Err(SqlError::Type {
            message: format!(
                "each side of a set operation must have the same number of columns ({} and {})",
                lc.len(),
                rc.len()
            ),
            at: Position::of(node.span()),
        });
    }
    let mut types = Vec::new();
    for (l, r) in lc.iter().zip(&rc) {
        types.push(l.ty.common(r.ty).ok_or_else(|| SqlError::Type {
            message: format!("column {} is {} on one side and {} on the other", l.name, l.ty, r.ty),
            at: Position::of(node.span()),
        })?);
    }
    let cast = |plan: Plan, columns: Vec<Column>| {
        if columns.iter().zip(&types).all(|(c, t)| c.ty == *t) {
            return plan;
        }
        let exprs =
            columns
                .iter()
                .zip(&types)
                .enumerate()
                .map(|(i, (c, t))| {
                    if c.ty == *t { Scalar::Column(i) } else { Scalar::Cast(Box::new(Scalar::Column(i)), *t) }
                })
                .collect();
        let columns = columns.into_iter().zip(&types).map(|(c, t)| Column { ty: *t, ..c }).collect();
        Plan::Project { input: Box::new(plan), exprs, columns }
    };
    let right_columns = lc.iter().zip(rc).map(|(l, r)| Column { name: l.name.clone(), ..r }).collect();
    Ok((cast(left, lc), cast(right, right_columns)))
}
