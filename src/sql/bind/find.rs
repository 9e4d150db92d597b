//! Searches of an expression that stop at subqueries: the aggregate calls and the scalar
//! subqueries of a query's own level, not those of the queries nested in it.

use std::ops::ControlFlow;

use sqlparser::ast::{Expr, Query, Visit, Visitor};

use crate::sql::plan::AggregateFunction;

/// The name of an aggregate function, if `name` is one.
pub(crate) fn aggregate_function(name: &str) -> Option<AggregateFunction> {
    Some(match name {
        "count" => AggregateFunction::Count,
        "sum" => AggregateFunction::Sum,
        "min" => AggregateFunction::Min,
        "max" => AggregateFunction::Max,
        "avg" | "mean" => AggregateFunction::Avg,
        _ => return None,
    })
}

/// Calls `found` with every expression of `expr` outside its subqueries.
fn shallow(expr: &Expr, found: impl FnMut(&Expr)) {
    struct Shallow<F> {
        depth: usize,
        found: F,
    }
    impl<F: FnMut(&Expr)> Visitor for Shallow<F> {
        type Break = ();
        fn pre_visit_query(&mut self, _query: &Query) -> ControlFlow<()> {
            self.depth += 1;
            ControlFlow::Continue(())
        }
        fn post_visit_query(&mut self, _query: &Query) -> ControlFlow<()> {
            self.depth -= 1;
            ControlFlow::Continue(())
        }
        fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
            if self.depth == 0 {
                (self.found)(expr);
            }
            ControlFlow::Continue(())
        }
    }
    let _ = expr.visit(&mut Shallow { depth: 0, found });
}

/// True if `expr` calls an aggregate function (outside its subqueries).
pub(crate) fn has_aggregate(expr: &Expr) -> bool {
    let mut any = false;
    shallow(expr, |e| {
        if let Expr::Function(f) = e
            && f.over.is_none()
            && aggregate_function(&f.name.to_string().to_lowercase()).is_some()
        {
            any = true;
        }
    });
    any
}

/// The scalar subqueries of `expr` (outside its subqueries), by their text.
pub(crate) fn scalar_subqueries(expr: &Expr) -> Vec<(String, Query)> {
    let mut found = Vec::new();
    shallow(expr, |e| {
        if let Expr::Subquery(query) = e {
            found.push((e.to_string(), query.as_ref().clone()));
        }
    });
    found
}
