//! Plans onto differential dataflow: each plan node becomes operators over collections of
//! [`SqlRow`]s, beside a collection of the [`EvalError`]s its rows met.
//!
//! Errors travel as data (as in Materialize): a row whose expression fails becomes an error
//! row instead, the errors of every input are carried up, and the view holds both. A view is
//! then correct for every row it could compute, and its reads fail only while an error is in it.

use std::borrow::Cow;
use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::Arc;

use differential_dataflow::difference::Semigroup;
use differential_dataflow::operators::arrange::{Arranged, TraceAgent};
use differential_dataflow::operators::iterate::Iterate;
use differential_dataflow::operators::join::join_traces;
use differential_dataflow::trace::implementations::{ValBuilder, ValSpine};
use differential_dataflow::{AsCollection, VecCollection};
use timely::container::{CapacityContainerBuilder, PushInto};
use timely::dataflow::Scope;
use timely::order::Product;

use crate::definition::{Views, constant_in};
use crate::ops::keyed::with_key;
use crate::sql::distinct_values::{self, DistinctValues};
use crate::sql::error::EvalError;
use crate::sql::extreme_rows;
use crate::sql::fork::{apart, fork};
use crate::sql::packed::{PackedRow, PackedValue};
use crate::sql::plan::{AggregateCall, AggregateFunction, JoinKind, JoinPerKey, Plan, SetOp, SortKey};
use crate::sql::projection::Projection;
use crate::sql::prune::{prune, read_by};
use crate::sql::pushdown::push_filters;
use crate::sql::row_steps::{ConstantJoin, Step, Steps};
use crate::sql::scalar::{Scalar, evaluate, evaluate_packed};
use crate::sql::source::{Needed, Source};
use crate::sql::sums::{self, Totals};
use crate::sql::times::Times;
use crate::sql::value::{Decimal, SqlRow, Value};
use crate::time::{Diff, Time};

/// A collection in a scope of time `T`.
pub(crate) type Rows<'s, T, D> = VecCollection<'s, T, D, Diff>;

/// A lowered plan: its rows and the errors met computing them.
#[derive(Clone)]
pub(crate) struct Lowered<'s, T: Times> {
    pub(crate) rows: Rows<'s, T, SqlRow>,
    pub(crate) errors: Rows<'s, T, EvalError>,
}

/// Where a plan's leaves come from: the definition's scope (tables and views through
/// [`Views`]), or the loop of a `WITH RECURSIVE` (its sources entered, and the rows so far).
trait Env<'s, T: Times> {
    fn scope(&self) -> Scope<'s, T>;
    /// `source`'s rows; with `needed`, the columns it does not mark may be `NULL`.
    fn scan(&self, source: &Arc<Source>, needed: Option<Needed>) -> Lowered<'s, T>;
    fn recurse(&self, id: usize) -> Rows<'s, T, SqlRow>;
    fn recursive(&self, plan: &Plan) -> Lowered<'s, T>;
    /// The plans lowered so far in this scope ([`lower_shared`]).
    fn lowered(&self) -> &Shared<'s, T>;
}

/// Plans already lowered in a scope, with their rows: a plan met again (a `WITH` query read
/// twice, one subquery written twice) reads the rows built the first time instead of building
/// its operators, and keeping their state, again. Only the nodes [`lower_node`] builds are
/// shared; row-at-a-time steps run in each reader's operator anyway.
type Shared<'s, T> = RefCell<Vec<(Plan, Lowered<'s, T>)>>;

/// `plan` rewritten where a shape has a cheaper plan of the same rows: rows joined with their
/// group's extreme ([`extreme_rows`]), filters moved below joins ([`push_filters`]). This is the
/// plan `EXPLAIN` shows.
pub(crate) fn rewrite(plan: &Plan) -> Plan {
    push_filters(&extreme_rows::rewrite(plan))
}

/// Builds `plan` in `views`' scope, [`rewrite`]n, each scan narrowed to the columns the plan
/// reads; each row is packed and made into `make`'s value by the operator that makes the row
/// ([`Pending::packed`]). Gives the values, and the errors met.
pub(crate) fn lower<'s, D: Clone + 'static>(
    plan: &Plan,
    views: &Views<'s>,
    make: impl Fn(PackedRow) -> D + 'static,
) -> (Rows<'s, Time, D>, Rows<'s, Time, EvalError>) {
    let pending = pending(&prune(&rewrite(plan)), &Outer { views, lowered: Shared::default() });
    pending.packed("SqlResult", make)
}

/// The definition's own scope.
struct Outer<'a, 's> {
    views: &'a Views<'s>,
    lowered: Shared<'s, Time>,
}

impl<'s> Env<'s, Time> for Outer<'_, 's> {
    fn scope(&self) -> Scope<'s, Time> {
        self.views.scope()
    }

    fn scan(&self, source: &Arc<Source>, needed: Option<Needed>) -> Lowered<'s, Time> {
        let (rows, errors) = source.read(self.views, needed);
        Lowered { rows, errors: errors.unwrap_or_else(|| no_errors(self.scope())) }
    }

    fn recurse(&self, _id: usize) -> Rows<'s, Time, SqlRow> {
        unreachable!("the binder puts a recursive reference only inside its step")
    }

    fn lowered(&self) -> &Shared<'s, Time> {
        &self.lowered
    }

    /// `WITH RECURSIVE`: the base, then the step over the rows so far, to a fixed point. The
    /// loop carries rows and errors together (as `Ok` and `Err`), so that errors leave it too.
    fn recursive(&self, plan: &Plan) -> Lowered<'s, Time> {
        let Plan::Recursive { id, base, step, distinct, .. } = plan else { unreachable!("a recursive plan") };
        let base = lower_in(base, self);
        let mut sources = Vec::new();
        scans(step, &mut sources);
        let outer: Vec<(Arc<Source>, Lowered<'s, Time>)> = sources
            .into_iter()
            .map(|s| {
                let lowered = self.scan(&s, None);
                (s, lowered)
            })
            .collect();
        let start = base.rows.map(Ok::<SqlRow, EvalError>);
        let (id, step, distinct) = (*id, step.as_ref().clone(), *distinct);
        let result = start.clone().iterate(move |scope, so_far| {
            let sources = outer
                .into_iter()
                .map(|(s, l)| (s, Lowered { rows: l.rows.enter(scope), errors: l.errors.enter(scope) }))
                .collect();
            let so_far = so_far.flat_map(Result::ok);
            let inner = Inner { scope, id, so_far, sources, lowered: Shared::default() };
            let step = lower_in(&step, &inner);
            let next = start.enter(scope).concat(step.rows.map(Ok)).concat(step.errors.map(Err));
            if distinct { present(next) } else { next }
        });
        let (rows, errors) = apart(result, |carried| carried);
        Lowered { rows, errors: base.errors.concat(errors) }
    }
}

/// The time inside the loop of a `WITH RECURSIVE`: the commit time and the round.
type Round = Product<Time, u64>;

/// The loop of a `WITH RECURSIVE`.
struct Inner<'s> {
    scope: Scope<'s, Round>,
    id: usize,
    so_far: Rows<'s, Round, SqlRow>,
    sources: Vec<(Arc<Source>, Lowered<'s, Round>)>,
    lowered: Shared<'s, Round>,
}

impl<'s> Env<'s, Round> for Inner<'s> {
    fn scope(&self) -> Scope<'s, Round> {
        self.scope
    }

    /// Every source of the step was entered whole, before the loop.
    fn scan(&self, source: &Arc<Source>, _needed: Option<Needed>) -> Lowered<'s, Round> {
        let (_, lowered) = self
            .sources
            .iter()
            .find(|(s, _)| Arc::ptr_eq(s, source))
            .expect("every source of the step entered");
        Lowered { rows: lowered.rows.clone(), errors: lowered.errors.clone() }
    }

    fn recurse(&self, id: usize) -> Rows<'s, Round, SqlRow> {
        assert_eq!(id, self.id, "the binder refuses nested recursion");
        self.so_far.clone()
    }

    fn recursive(&self, _plan: &Plan) -> Lowered<'s, Round> {
        unreachable!("the binder refuses WITH RECURSIVE inside a recursive step")
    }

    fn lowered(&self) -> &Shared<'s, Round> {
        &self.lowered
    }
}

/// The sources `plan` scans, each once.
fn scans(plan: &Plan, found: &mut Vec<Arc<Source>>) {
    if let Plan::Scan { source, .. } = plan
        && !found.iter().any(|s| Arc::ptr_eq(s, source))
    {
        found.push(Arc::clone(source));
    }
    plan.inputs().into_iter().for_each(|input| scans(input, found));
}

/// No errors.
fn no_errors<'s, T: Times>(scope: Scope<'s, T>) -> Rows<'s, T, EvalError> {
    constant_in(scope, Vec::new())
}

fn lower_in<'s, T: Times>(plan: &Plan, env: &dyn Env<'s, T>) -> Lowered<'s, T> {
    pending(plan, env).rows()
}

/// A plan lowered up to its topmost row-at-a-time nodes ([`row_steps`]), which are left for
/// whatever reads the rows to run in its own first operator: a `GROUP BY` runs them with its
/// preparation of each row, a join with its keying of each row, and [`Pending::rows`] alone.
struct Pending<'s, T: Times> {
    below: Below<'s, T>,
    steps: Steps,
}

/// What a [`Pending`]'s steps read.
enum Below<'s, T: Times> {
    /// Rows made by the operators below.
    Rows(Lowered<'s, T>),
    /// The matches of an inner join, made into rows only by the operator that runs the steps
    /// (the join itself), so that no joined row is buffered, consolidated or copied between
    /// the join and what reads it.
    Join(Box<InnerJoin<'s, T>>),
}

/// Rows arranged for a join: their join key and the row, both packed.
type JoinSide<'s, T> = Arranged<'s, TraceAgent<ValSpine<PackedRow, PackedRow, T, Diff>>>;

/// An inner join not yet run: its sides arranged, and the errors met keying them.
struct InnerJoin<'s, T: Times> {
    left: JoinSide<'s, T>,
    right: JoinSide<'s, T>,
    /// A joined row's width (the left row's and the right row's).
    width: usize,
    errors: Rows<'s, T, EvalError>,
}

impl<'s, T: Times> Pending<'s, T> {
    /// Rows with no step left to run.
    fn of(below: Lowered<'s, T>) -> Pending<'s, T> {
        Pending { below: Below::Rows(below), steps: Steps::default() }
    }

    /// The rows, every step run.
    fn rows(self) -> Lowered<'s, T> {
        match self.below {
            Below::Rows(below) if self.steps.is_empty() => below,
            below => {
                let pending = Pending { below, steps: self.steps };
                let (rows, errors) = pending.then("SqlRowSteps", |row, sink| sink(Ok(row)));
                Lowered { rows, errors }
            }
        }
    }

    /// Each row through the steps and then through `logic`, which gives what the row becomes
    /// (any number of values, and errors), in one operator named `name` (for an inner join's
    /// rows, the join); the errors are the input's, the steps' and `logic`'s.
    fn then<D: Clone + 'static>(
        self,
        name: &str,
        logic: impl Fn(SqlRow, &mut dyn FnMut(Result<D, EvalError>)) + 'static,
    ) -> (Rows<'s, T, D>, Rows<'s, T, EvalError>) {
        let room = self.steps.room();
        let steps = self.steps;
        let run = move |row: SqlRow, sink: &mut dyn FnMut(Result<D, EvalError>)| {
            steps.run(row, &mut |result| match result {
                Ok(row) => logic(row, sink),
                Err(error) => sink(Err(error)),
            })
        };
        match self.below {
            Below::Rows(below) => {
                let (values, errors) = fork(below.rows, name, run);
                (values, below.errors.concat(errors))
            }
            Below::Join(join) => join.then(name, room, run),
        }
    }

    /// The rows, every step run, each packed and made into `make`'s value in the operator
    /// that makes the rows. An inner join whose steps only pick columns copies those columns
    /// packed from the sides it matched: no value of its rows is unpacked.
    fn packed<D: Clone + 'static>(
        self,
        name: &str,
        make: impl Fn(PackedRow) -> D + 'static,
    ) -> (Rows<'s, T, D>, Rows<'s, T, EvalError>) {
        let columns = match &self.below {
            Below::Join(join) => self.steps.columns(join.width),
            Below::Rows(_) => None,
        };
        match (self.below, columns) {
            (Below::Join(join), Some(columns)) => join.picked(name, columns, make),
            (below, _) => {
                let pending = Pending { below, steps: self.steps };
                pending.then_map(name, move |row| Ok(make(PackedRow::pack(&row))))
            }
        }
    }

    /// [`Pending::then`] with one value or error for each row.
    fn then_map<D: Clone + 'static>(
        self,
        name: &str,
        logic: impl Fn(SqlRow) -> Result<D, EvalError> + 'static,
    ) -> (Rows<'s, T, D>, Rows<'s, T, EvalError>) {
        self.then(name, move |row, sink| sink(logic(row)))
    }
}

impl<'s, T: Times> InnerJoin<'s, T> {
    /// The join of `left` and `right` on `left_keys = right_keys`: each side's rows keyed
    /// (their steps run with the keying) and arranged.
    fn new(
        left: Pending<'s, T>,
        right: Pending<'s, T>,
        (left_keys, right_keys): (&[Scalar], &[Scalar]),
        width: usize,
    ) -> InnerJoin<'s, T> {
        let (left, left_errors) = keyed(left, left_keys);
        let (right, right_errors) = keyed(right, right_keys);
        InnerJoin {
            left: left.arrange_by_key_named("Arrange: SqlJoin"),
            right: right.arrange_by_key_named("Arrange: SqlJoin"),
            width,
            errors: left_errors.concat(right_errors),
        }
    }

    /// Each match made into a joined row (with capacity for `room` values) and given to `run`,
    /// inside the join operator (named `name`): what `run` passes its sink is the join's output.
    fn then<D: Clone + 'static>(
        self,
        name: &str,
        room: usize,
        mut run: impl FnMut(SqlRow, &mut dyn FnMut(Result<D, EvalError>)) + 'static,
    ) -> (Rows<'s, T, D>, Rows<'s, T, EvalError>) {
        type Output<D, T> = CapacityContainerBuilder<Vec<(Result<D, EvalError>, T, Diff)>>;
        let capacity = self.width.max(room);
        let results = join_traces::<_, _, _, _, Output<D, T>>(
            self.left,
            self.right,
            name,
            move |_key, left, right, time, left_diff, right_diff, output| {
                let mut row = Vec::with_capacity(capacity);
                left.unpack_into(&mut row);
                right.unpack_into(&mut row);
                let diff = left_diff * right_diff;
                run(row, &mut |result| output.push_into((result, time.clone(), diff)));
            },
        )
        .as_collection();
        let (values, errors) = apart(results, |result| result);
        (values, self.errors.concat(errors))
    }

    /// Each match's `columns` (of the joined row), copied packed from its sides and made into
    /// `make`'s value inside the join operator (named `name`).
    fn picked<D: Clone + 'static>(
        self,
        name: &str,
        columns: Vec<usize>,
        make: impl Fn(PackedRow) -> D + 'static,
    ) -> (Rows<'s, T, D>, Rows<'s, T, EvalError>) {
        let mut bounds = Vec::new();
        let rows = join_traces::<_, _, _, _, CapacityContainerBuilder<Vec<(D, T, Diff)>>>(
            self.left,
            self.right,
            name,
            move |_key, left, right, time, left_diff, right_diff, output| {
                let row = PackedRow::pick(&[left, right], &columns, &mut bounds);
                output.push_into((make(row), time, left_diff * right_diff));
            },
        )
        .as_collection();
        (rows, self.errors)
    }
}

/// `plan` lowered up to its topmost row-at-a-time nodes: filters, projections, and inner joins
/// with constant rows, taken down from the top while there are some. A source they read
/// directly is scanned for the columns they read, when a projection drops the others.
fn pending<'s, T: Times>(plan: &Plan, env: &dyn Env<'s, T>) -> Pending<'s, T> {
    let mut steps = Vec::new();
    let mut node = plan;
    loop {
        match node {
            Plan::Filter { input, predicate } => {
                steps.push(Step::Filter(predicate.clone()));
                node = input;
            }
            Plan::Project { input, exprs, .. } => {
                steps.push(Step::Project(Projection::new(exprs, input.width())));
                node = input;
            }
            Plan::Join { kind: JoinKind::Inner, left, right, left_keys, right_keys, residual } => {
                // The constant side's rows by key, whether it is the left one, and the other side.
                let constant = ConstantJoin::partners(right, right_keys)
                    .map(|partners| (partners, false, left, left_keys))
                    .or_else(|| {
                        ConstantJoin::partners(left, left_keys)
                            .map(|partners| (partners, true, right, right_keys))
                    });
                let Some((partners, on_left, other, other_keys)) = constant else { break };
                steps.push(Step::JoinConstant(ConstantJoin::new(
                    other_keys,
                    partners,
                    on_left,
                    residual.clone(),
                )));
                node = other;
            }
            _ => break,
        }
    }
    steps.reverse();
    let below = match node {
        Plan::Scan { source, .. } => Below::Rows(env.scan(source, scan_needed(&steps, node.width()))),
        Plan::Join { kind: JoinKind::Inner, left, right, left_keys, right_keys, residual } => {
            // The join's condition beyond its keys is the first step over its rows.
            if let Some(residual) = residual {
                steps.insert(0, Step::Filter(residual.clone()));
            }
            let (left, right, width) = (pending(left, env), pending(right, env), node.width());
            Below::Join(Box::new(InnerJoin::new(left, right, (left_keys, right_keys), width)))
        }
        _ => Below::Rows(lower_shared(node, env)),
    };
    Pending { below, steps: Steps::new(steps) }
}

/// `plan` lowered by [`lower_node`], or the rows of a plan lowered before in `env`'s scope
/// that computes the same rows ([`Shared`], [`Plan::same_rows`]: the same nodes over the same
/// sources).
fn lower_shared<'s, T: Times>(plan: &Plan, env: &dyn Env<'s, T>) -> Lowered<'s, T> {
    if let Some((_, lowered)) = env.lowered().borrow().iter().find(|(done, _)| done.same_rows(plan)) {
        return lowered.clone();
    }
    let lowered = lower_node(plan, env);
    env.lowered().borrow_mut().push((plan.clone(), lowered.clone()));
    lowered
}

/// The columns of a scanned source (`width` wide) that `steps` over it read, if a projection
/// with only filters before it leaves the others unread.
fn scan_needed(steps: &[Step], width: usize) -> Option<Needed> {
    let mut read: Vec<&Scalar> = Vec::new();
    for step in steps {
        match step {
            Step::Filter(predicate) => read.push(predicate),
            Step::Project(projection) => {
                read.extend(projection.exprs());
                return Some(read_by(read, width).into());
            }
            Step::JoinConstant(_) => return None,
        }
    }
    None
}

/// A plan node that is not a row-at-a-time step ([`pending`] takes those).
fn lower_node<'s, T: Times>(plan: &Plan, env: &dyn Env<'s, T>) -> Lowered<'s, T> {
    match plan {
        Plan::Scan { source, .. } => env.scan(source, None),
        Plan::Constant { rows, .. } => {
            Lowered { rows: constant_in(env.scope(), rows.clone()), errors: no_errors(env.scope()) }
        }
        Plan::Filter { .. } | Plan::Project { .. } | Plan::Join { kind: JoinKind::Inner, .. } => {
            pending(plan, env).rows()
        }
        Plan::Join { kind, left, right, left_keys, right_keys, residual } => outer_join(
            *kind,
            pending(left, env),
            pending(right, env),
            (left_keys, right_keys),
            residual.clone(),
            (left.width(), right.width()),
        ),
        Plan::Aggregate { input, group, aggregates, .. } => match plan.join_per_key() {
            Some(join) => aggregate_of_join(join, env, group, aggregates),
            None => aggregate(env.scope(), pending(input, env), group, aggregates),
        },
        Plan::Distinct { input } => {
            let input = lower_in(input, env);
            Lowered { rows: present(input.rows), errors: input.errors }
        }
        Plan::Set { op, all, left, right } => {
            let (left, right) = (lower_in(left, env), lower_in(right, env));
            let errors = left.errors.concat(right.errors);
            let rows = match (op, all) {
                (SetOp::Union, true) => left.rows.concat(right.rows),
                (SetOp::Union, false) => present(left.rows.concat(right.rows)),
                (SetOp::Except, true) => except_all(left.rows, right.rows),
                (SetOp::Except, false) => except_all(present(left.rows), present(right.rows)),
                (SetOp::Intersect, true) => {
                    // min(l, r) = l - max(0, l - r).
                    left.rows.clone().concat(except_all(left.rows, right.rows).negate())
                }
                (SetOp::Intersect, false) => {
                    let left = present(left.rows);
                    left.clone().concat(except_all(left, present(right.rows)).negate())
                }
            };
            Lowered { rows, errors }
        }
        Plan::TopK { input, partition, order, offset, limit, numbered, ties } => {
            if limit.is_none() && *offset == 0 && !numbered {
                return lower_in(input, env);
            }
            let places = Places { offset: *offset, limit: *limit, ties: *ties, numbered: *numbered };
            if let Some(join) = plan.join_per_key() {
                return top_k_of_join(join, env, order, places);
            }
            top_k(pending(input, env), partition, order, places)
        }
        Plan::Recursive { .. } => env.recursive(plan),
        Plan::Recurse { id, .. } => Lowered { rows: env.recurse(*id), errors: no_errors(env.scope()) },
    }
}

/// Results apart: the values, and the errors.
fn results_apart<'s, T: Times, D: differential_dataflow::Data>(
    results: Rows<'s, T, Result<D, EvalError>>,
) -> (Rows<'s, T, D>, Rows<'s, T, EvalError>) {
    apart(results, |result| result)
}

/// Rows and errors apart; `errors` are the inputs' errors, carried up.
fn split<'s, T: Times>(
    results: Rows<'s, T, Result<SqlRow, EvalError>>,
    errors: Rows<'s, T, EvalError>,
) -> Lowered<'s, T> {
    let (rows, new_errors) = results_apart(results);
    Lowered { rows, errors: errors.concat(new_errors) }
}

/// Each present row once.
fn present<'s, T: Times, D: differential_dataflow::ExchangeData + differential_dataflow::Hashable>(
    rows: Rows<'s, T, D>,
) -> Rows<'s, T, D> {
    T::threshold(rows, "SqlDistinct", |m| Diff::from(m > 0))
}

/// `max(0, left - right)` per row.
fn except_all<'s, T: Times>(left: Rows<'s, T, SqlRow>, right: Rows<'s, T, SqlRow>) -> Rows<'s, T, SqlRow> {
    T::threshold(left.concat(right.negate()), "SqlExcept", |m| m.max(0))
}

/// A join of `kind` (not inner: [`InnerJoin`] is) on `left_keys = right_keys` and `residual`.
fn outer_join<'s, T: Times>(
    kind: JoinKind,
    left: Pending<'s, T>,
    right: Pending<'s, T>,
    keys: (&[Scalar], &[Scalar]),
    residual: Option<Scalar>,
    (left_width, right_width): (usize, usize),
) -> Lowered<'s, T> {
    // The sides' rows are read as well as joined.
    let (left, right) = (left.rows(), right.rows());
    let (left_rows, right_rows) = (left.rows.clone(), right.rows.clone());
    let join = InnerJoin::new(Pending::of(left), Pending::of(right), keys, left_width + right_width);
    // Each match: the left row's values, then the right row's.
    let (matched, errors) =
        join.then("SqlJoin", 0, move |row, sink| match residual.as_ref().map(|r| r.holds(&row)) {
            None | Some(Ok(true)) => sink(Ok(row)),
            Some(Ok(false)) => {}
            Some(Err(error)) => sink(Err(error)),
        });
    let (left_rows, right_rows) = (|| left_rows.clone(), || right_rows.clone());
    // The left (right) rows that found a partner, each once.
    let matched_left = || present(matched.clone().map(move |row| row[..left_width].to_vec()));
    let matched_right = || present(matched.clone().map(move |row| row[left_width..].to_vec()));
    // `partnered` is a set (each row once), so differential's semi- and anti-join are exact.
    let unmatched = |rows: Rows<'s, T, SqlRow>, partnered: Rows<'s, T, SqlRow>| {
        rows.map(|row| (row, ())).antijoin(partnered).map(|(row, ())| row)
    };
    let pairs = || matched.clone();
    let rows = match kind {
        JoinKind::Inner => pairs(),
        JoinKind::Semi => left_rows().map(|row| (row, ())).semijoin(matched_left()).map(|(row, ())| row),
        JoinKind::Anti => unmatched(left_rows(), matched_left()),
        JoinKind::Left | JoinKind::Right | JoinKind::Full => {
            let mut rows = pairs();
            if kind != JoinKind::Right {
                let padded = unmatched(left_rows(), matched_left()).map(move |mut row| {
                    row.extend(std::iter::repeat_n(Value::Null, right_width));
                    row
                });
                rows = rows.concat(padded);
            }
            if kind != JoinKind::Left {
                let padded = unmatched(right_rows(), matched_right()).map(move |row| {
                    let mut padded = vec![Value::Null; left_width];
                    padded.extend(row);
                    padded
                });
                rows = rows.concat(padded);
            }
            rows
        }
    };
    Lowered { rows, errors }
}

/// Each row under its join key (`keys` evaluated over it), both packed; a row whose key has a
/// `NULL` is left out (it equals nothing, so it finds no partner), and one whose key cannot be
/// computed is an error.
fn keyed<'s, T: Times>(
    rows: Pending<'s, T>,
    keys: &[Scalar],
) -> (Rows<'s, T, (PackedRow, PackedRow)>, Rows<'s, T, EvalError>) {
    let keys = keys.to_vec();
    rows.then("SqlJoinKey", move |row, sink| match evaluate_packed(&keys, &row) {
        Ok(key) if key.has_null() => {}
        Ok(key) => sink(Ok((key, PackedRow::pack(&row)))),
        Err(error) => sink(Err(error)),
    })
}

/// A `GROUP BY`'s input row, prepared: its group's key, what it adds to the group's totals,
/// the `reduce`'s arguments, and its distinct values (`DistinctValues::of_row`).
type Prepared = (PackedRow, Totals, PackedRow, Vec<(usize, Value, u64)>);

/// `GROUP BY group` computing `aggregates`; with no group, one row even over no input.
fn aggregate<'s, T: Times>(
    scope: Scope<'s, T>,
    mut input: Pending<'s, T>,
    group: &[Scalar],
    aggregates: &[AggregateCall],
) -> Lowered<'s, T> {
    let (group, calls) = (group.to_vec(), aggregates.to_vec());
    if calls.iter().all(|c| c.function == AggregateFunction::CountRows) {
        return group_counts(scope, input, group, calls);
    }
    // Counts and integer sums are running totals per group (`sums`), `DISTINCT` ones over each
    // group's distinct values (`distinct_values`; at most `MAX_CALLS` of them, one bit each in
    // a mask); the others (`MIN`, `MAX`, sums of doubles and decimals) go through a `reduce`
    // that reads the group's arguments. A `GROUP BY` with both computes each part apart, so the
    // `reduce` holds only the arguments its aggregates read (one slot per distinct argument
    // expression), and joins the two results on the group's key; but counts and sums of what
    // the `reduce` holds go into it (`as_totals`). Group keys are packed.
    let summed = as_totals(&calls);
    let part =
        |kept: bool| calls.iter().zip(&summed).filter(|(_, s)| **s == kept).map(|(c, _)| c.clone()).collect();
    let (sum_calls, reduce_calls): (Vec<AggregateCall>, Vec<AggregateCall>) = (part(true), part(false));
    let sum_arguments: Vec<Option<Scalar>> =
        sum_calls.iter().map(|c| c.argument.clone().filter(|_| !c.distinct)).collect();
    let distinct = DistinctValues::of(&sum_calls);
    let (slots, slot_of) = argument_slots(&reduce_calls);
    let global = group.is_empty();
    // `DISTINCT` calls read their arguments apart (`DistinctValues::of_row`, after the others),
    // so with one the order a row evaluates its expressions in is not the list read through.
    let (group, sum_arguments, slots) = if distinct.any() {
        (group, sum_arguments, slots)
    } else {
        read_through_projection(&mut input.steps, group, sum_arguments, slots)
    };
    let row_distinct = distinct.clone();
    let sum_calls = Arc::new(sum_calls);
    let row_calls = Arc::clone(&sum_calls);
    let no_sum_arguments = sum_arguments.iter().all(Option::is_none);
    let (prepared, errors) = input.then_map("SqlGroupBy", move |row| {
        let key = evaluate_packed(&group, &row)?;
        // Each call's argument (`NULL` for none), read from the row where it is a column.
        let totals = if no_sum_arguments {
            sums::of_row(&row_calls, std::iter::repeat(&Value::Null))
        } else {
            let sum_args = sum_arguments
                .iter()
                .map(|a| a.as_ref().map_or(Ok(Cow::Owned(Value::Null)), |a| a.value(&row)))
                .collect::<Result<Vec<_>, _>>()?;
            sums::of_row(&row_calls, sum_args.iter().map(|v| &**v))
        };
        let reduce_args = evaluate_packed(&slots, &row)?;
        let distinct_values = row_distinct.of_row(&row)?;
        Ok::<_, EvalError>((key, totals, reduce_args, distinct_values))
    });
    let has_sums = !sum_calls.is_empty();
    // What each row, and each distinct value, adds to its group's totals.
    let added = |prepared: Rows<'s, T, Prepared>| {
        let added = prepared.clone().explode(|(key, totals, _, _)| Some((key, totals)));
        if !distinct.any() {
            return added;
        }
        // Each (group, base, value) once, with the calls some row holding it counts it for.
        let values = prepared.flat_map(|(key, _, _, values)| {
            values.into_iter().map(move |(base, value, mask)| ((key.clone(), base, value), mask))
        });
        let counted = values.reduce_named("SqlDistinctValues", |_value, masks, output| {
            let mask = masks.iter().filter(|(_, m)| *m > 0).fold(0u64, |union, (mask, _)| union | **mask);
            if mask != 0 {
                output.push((mask, 1));
            }
        });
        let calls = Arc::clone(&sum_calls);
        added.concat(counted.explode(move |((key, _, value), mask)| {
            Some((key, sums::of_distinct(&calls, distinct.bit_of(), mask, &value)))
        }))
    };
    let results = if reduce_calls.is_empty() {
        // Also the path of a `GROUP BY` without aggregates: its groups are those with rows.
        let calls = Arc::clone(&sum_calls);
        T::group_totals(added(prepared)).flat_map(move |(key, totals)| {
            sums::values(&calls, &totals).map(|values| group_row(&key, values))
        })
    } else {
        let reduced = reduce_arranged(
            prepared.clone().map(|(key, _, args, _)| (key, args)),
            "SqlAggregate",
            move |_key, values, output| output.push((compute(&reduce_calls, &slot_of, values), 1)),
        );
        if has_sums {
            let totals = reduce_arranged(
                added(prepared).map(|key| (key, ())),
                "SqlSums",
                move |_key, totals, output| {
                    if let Some(values) = totals.first().and_then(|(_, t)| sums::values(&sum_calls, t)) {
                        output.push((values, 1));
                    }
                },
            );
            totals.join_core(reduced, move |key, totals, reduced| {
                Some(group_row(key, interleave(&summed, totals, reduced)))
            })
        } else {
            reduced.as_collection(|key, values| group_row(key, values.clone()))
        }
    };
    with_empty_group(scope, split(results, errors), global, &calls)
}

/// A `GROUP BY`'s key, its sums' arguments and its `reduce`'s slots, in the order a row
/// evaluates them, read through the last of the `steps` before it where that is a projection
/// it can skip ([`Steps::read_through_projection`]); as they are otherwise.
fn read_through_projection(
    steps: &mut Steps,
    group: Vec<Scalar>,
    sums: Vec<Option<Scalar>>,
    slots: Vec<Scalar>,
) -> (Vec<Scalar>, Vec<Option<Scalar>>, Vec<Scalar>) {
    let read: Vec<Scalar> = group.iter().chain(sums.iter().flatten()).chain(&slots).cloned().collect();
    let Some(through) = steps.read_through_projection(&read) else { return (group, sums, slots) };
    let mut through = through.into_iter();
    let group = through.by_ref().take(group.len()).collect();
    let sums = sums.iter().map(|sum| sum.as_ref().and_then(|_| through.next())).collect();
    (group, sums, through.collect())
}

/// A `GROUP BY` whose aggregates are all `COUNT(*)`, or that has none (its groups are those
/// with rows): each group's rows counted by differential's `count_total` over the group keys
/// alone, with no running totals ([`Totals`]) or arguments beside them.
fn group_counts<'s, T: Times>(
    scope: Scope<'s, T>,
    mut input: Pending<'s, T>,
    group: Vec<Scalar>,
    calls: Vec<AggregateCall>,
) -> Lowered<'s, T> {
    let global = group.is_empty();
    let group = input.steps.read_through_projection(&group).unwrap_or(group);
    let (keys, errors) = input.then_map("SqlGroupBy", move |row| evaluate_packed(&group, &row));
    let counted = Arc::new(calls.clone());
    let results = T::group_totals(keys).flat_map(move |(key, rows)| {
        sums::values(&counted, &Totals::of_rows(rows)).map(|values| group_row(&key, values))
    });
    with_empty_group(scope, split(results, errors), global, &calls)
}

/// A `GROUP BY`'s rows, and for a `GROUP BY` with no group (`global`), the row of no input
/// while there is none.
fn with_empty_group<'s, T: Times>(
    scope: Scope<'s, T>,
    mut lowered: Lowered<'s, T>,
    global: bool,
    calls: &[AggregateCall],
) -> Lowered<'s, T> {
    if global {
        // The row of no input: `COUNT` 0, the others `NULL`; present only while there is none.
        let empty: SqlRow = calls
            .iter()
            .map(|c| match c.function {
                AggregateFunction::CountRows | AggregateFunction::Count => Value::Int(0),
                _ => Value::Null,
            })
            .collect();
        let default = constant_in(scope, vec![empty.clone()]);
        let shadow =
            present(lowered.rows.clone().map(|_| SqlRow::new())).map(move |_| empty.clone()).negate();
        lowered.rows = lowered.rows.concat(default).concat(shadow);
    }
    lowered
}

/// Which of `calls` a `GROUP BY` keeps as running totals (`sums`); the others go through a
/// `reduce` over the group's arguments.
///
/// `COUNT`, and `SUM` and `AVG` of integers, are totals (`DISTINCT` ones too, up to
/// `distinct_values::MAX_CALLS` of them), except where a `reduce` runs anyway (for a `MIN`, a
/// `MAX` or a sum of doubles): it reads its group whole, so a count or sum that reads only
/// columns the `reduce` holds as arguments (`COUNT(*)`; in Nexmark q17, `SUM(CASE WHEN price <
/// 10000 ...)` beside `MIN(price)`) is computed there, adding no argument row. If no call is
/// left as a total, the running totals and the join of the two results are not built.
fn as_totals(calls: &[AggregateCall]) -> Vec<bool> {
    let distinct_totals = calls.iter().filter(|c| c.distinct && c.additive()).count();
    let additive =
        |c: &AggregateCall| c.additive() && (!c.distinct || distinct_totals <= distinct_values::MAX_CALLS);
    let reduce_columns: Vec<usize> = calls
        .iter()
        .filter(|c| !additive(c))
        .filter_map(|c| match c.argument {
            Some(Scalar::Column(column)) => Some(column),
            _ => None,
        })
        .collect();
    let in_reduce = |c: &AggregateCall| {
        let mut held = !c.distinct;
        if let Some(argument) = &c.argument {
            argument.visit_columns(&mut |column| held &= reduce_columns.contains(&column));
        }
        held
    };
    let has_reduce = calls.iter().any(|c| !additive(c));
    calls.iter().map(|c| additive(c) && !(has_reduce && in_reduce(c))).collect()
}

/// A group's row: its key's values, then its aggregates' (or the error computing them).
fn group_row(key: &PackedRow, computed: Result<SqlRow, EvalError>) -> Result<SqlRow, EvalError> {
    let values = computed?;
    let mut row = key.values();
    row.extend(values);
    Ok(row)
}

/// The result of a `reduce` per key, kept arranged by key (differential's `reduce_named`
/// without reading the result back out), for `join_core` or `as_collection`.
fn reduce_arranged<'s, T, K, V, R, V2, L>(
    rows: VecCollection<'s, T, (K, V), R>,
    name: &str,
    logic: L,
) -> Arranged<'s, TraceAgent<ValSpine<K, V2, T, Diff>>>
where
    T: Times,
    K: differential_dataflow::ExchangeData + differential_dataflow::Hashable,
    V: differential_dataflow::ExchangeData,
    R: differential_dataflow::ExchangeData + Semigroup,
    V2: differential_dataflow::Data,
    L: FnMut(&K, &[(&V, R)], &mut Vec<(V2, Diff)>) + 'static,
{
    rows.arrange_by_key_named(&format!("Arrange: {name}"))
        .reduce_abelian::<_, ValBuilder<K, V2, T, Diff>, _, _, _>(name, logic, with_key)
}

/// The distinct argument expressions of `calls` (the slots of the argument rows a `reduce`
/// holds), and each call's slot (`None` for `COUNT(*)`).
fn argument_slots(calls: &[AggregateCall]) -> (Vec<Scalar>, Vec<Option<usize>>) {
    let mut slots: Vec<Scalar> = Vec::new();
    let slot_of = calls
        .iter()
        .map(|call| {
            let argument = call.argument.as_ref()?;
            Some(slots.iter().position(|s| s == argument).unwrap_or_else(|| {
                slots.push(argument.clone());
                slots.len() - 1
            }))
        })
        .collect();
    (slots, slot_of)
}

/// The values of every aggregate in call order, from those kept as totals (`summed[i]`) and
/// those computed by the `reduce`, each in call order too.
fn interleave(
    summed: &[bool],
    totals: &Result<SqlRow, EvalError>,
    reduced: &Result<SqlRow, EvalError>,
) -> Result<SqlRow, EvalError> {
    let (totals, reduced) = (totals.as_ref().map_err(Clone::clone)?, reduced.as_ref().map_err(Clone::clone)?);
    let (mut totals, mut reduced) = (totals.iter(), reduced.iter());
    Ok(summed
        .iter()
        .map(|&summed| if summed { totals.next() } else { reduced.next() })
        .map(|value| value.cloned().unwrap_or(Value::Null))
        .collect())
}

/// The value of `slot` in an argument row, still packed; none for no slot (`COUNT(*)`).
fn slot_value(args: &PackedRow, slot: Option<usize>) -> Option<PackedValue<'_>> {
    args.packed_values().nth(slot?)
}

/// The aggregates of one group, from its argument rows (packed; `slot_of[i]` is the slot of
/// `calls[i]`'s argument) and their multiplicities, as a `reduce` gives them: sorted. `MIN`,
/// `MAX` and `COUNT` read the packed values (which order as the values do) and unpack only
/// their result; sums and averages unpack their arguments.
fn compute(
    calls: &[AggregateCall],
    slot_of: &[Option<usize>],
    values: &[(&PackedRow, Diff)],
) -> Result<SqlRow, EvalError> {
    calls
        .iter()
        .zip(slot_of)
        .map(|(call, &slot)| {
            // This aggregate's non-NULL arguments with their multiplicities (all rows for
            // COUNT(*), whose argument is no value).
            let present =
                values.iter().filter(|(_, m)| *m > 0).filter_map(|(args, m)| match slot_value(args, slot) {
                    Some(value) if value.is_null() => None,
                    value => Some((value, *m)),
                });
            let arguments: Vec<(Option<PackedValue<'_>>, Diff)> = if call.distinct {
                // The argument rows are sorted by their first slot, not this one.
                let mut seen: Vec<Option<PackedValue<'_>>> = present.map(|(value, _)| value).collect();
                seen.sort();
                seen.dedup();
                seen.into_iter().map(|v| (v, 1)).collect()
            } else {
                present.collect()
            };
            let count: i64 = arguments.iter().map(|(_, m)| *m as i64).sum();
            let extreme =
                |value: Option<Option<PackedValue<'_>>>| value.flatten().map_or(Value::Null, |v| v.value());
            let unpacked = || -> Vec<(Value, Diff)> {
                arguments.iter().map(|(v, m)| (v.map_or(Value::Null, |v| v.value()), *m)).collect()
            };
            Ok(match call.function {
                AggregateFunction::CountRows | AggregateFunction::Count => Value::Int(count),
                AggregateFunction::Min => extreme(arguments.iter().map(|(v, _)| *v).min()),
                AggregateFunction::Max => extreme(arguments.iter().map(|(v, _)| *v).max()),
                AggregateFunction::Sum | AggregateFunction::Avg if count == 0 => Value::Null,
                // Integers, summed exactly as running totals sum them (`sums::values`), so
                // that a count or sum gives the same value on either path.
                function @ (AggregateFunction::Sum | AggregateFunction::Avg) if int_arguments(&arguments) => {
                    let total: i128 = arguments
                        .iter()
                        .filter_map(|(v, m)| Some(i128::from((*v)?.int()?) * *m as i128))
                        .sum();
                    if function == AggregateFunction::Sum {
                        Value::Int(i64::try_from(total).map_err(|_| EvalError::Overflow)?)
                    } else {
                        Value::double(total as f64 / count as f64)
                    }
                }
                AggregateFunction::Sum => {
                    let unpacked = unpacked();
                    sum(&unpacked.iter().map(|(v, m)| (v, *m)).collect::<Vec<_>>())?
                }
                AggregateFunction::Avg => {
                    let total: f64 = unpacked()
                        .iter()
                        .map(|(v, m)| {
                            *m as f64
                                * match v {
                                    Value::Int(i) => *i as f64,
                                    Value::Double(d) => d.get(),
                                    Value::Decimal(d) => d.to_f64(),
                                    _ => 0.0,
                                }
                        })
                        .sum();
                    Value::double(total / count as f64)
                }
            })
        })
        .collect()
}

/// True if every argument is an integer (and there is one).
fn int_arguments(arguments: &[(Option<PackedValue<'_>>, Diff)]) -> bool {
    !arguments.is_empty() && arguments.iter().all(|(v, _)| v.is_some_and(|v| v.int().is_some()))
}

/// The sum of values with multiplicities, exact for integers and decimals.
fn sum(arguments: &[(&Value, Diff)]) -> Result<Value, EvalError> {
    match arguments[0].0 {
        Value::Int(_) => {
            let total: i128 = arguments
                .iter()
                .map(|(v, m)| if let Value::Int(i) = v { i128::from(*i) * *m as i128 } else { 0 })
                .sum();
            Ok(Value::Int(i64::try_from(total).map_err(|_| EvalError::Overflow)?))
        }
        Value::Decimal(first) => {
            let scale = first.scale();
            let mut total: i128 = 0;
            for (v, m) in arguments {
                if let Value::Decimal(d) = v {
                    let units = d.rescale(scale).ok_or(EvalError::Overflow)?.units();
                    total = units
                        .checked_mul(*m as i128)
                        .and_then(|u| total.checked_add(u))
                        .ok_or(EvalError::Overflow)?;
                }
            }
            Ok(Value::Decimal(Decimal::new(total, scale).ok_or(EvalError::Overflow)?))
        }
        _ => {
            // `reduce` gives the values sorted, so the sum does not depend on arrival order.
            let total: f64 = arguments
                .iter()
                .map(|(v, m)| if let Value::Double(d) = v { d.get() * *m as f64 } else { 0.0 })
                .sum();
            Ok(Value::double(total))
        }
    }
}

/// Which ranked rows a top-k keeps ([`Plan::TopK`]): the first `limit` after `offset`, and with
/// `ties` every later one ranked equal to the last of those; each with its place (from 1) if
/// `numbered`.
#[derive(Clone, Copy)]
struct Places {
    offset: usize,
    limit: Option<usize>,
    ties: bool,
    numbered: bool,
}

/// The rows of each partition that `places` keeps, in `order` (ties broken by the row).
fn top_k<'s, T: Times>(
    input: Pending<'s, T>,
    partition: &[Scalar],
    order: &[SortKey],
    places: Places,
) -> Lowered<'s, T> {
    let (partition, order) = (partition.to_vec(), order.to_vec());
    let keys: Vec<Scalar> = order.iter().map(|k| k.expr.clone()).collect();
    // The partition key is packed, and so are the sort keys followed by the row, in one
    // allocation: the reduce's input arrangement holds them all, and the sort keys compare
    // packed (`compare_keys` reads as many values as there are keys).
    let sort_keys = keys.len();
    let (prepared, errors) = input.then_map("SqlTopK", move |row| {
        let partition = evaluate_packed(&partition, &row)?;
        let own = row.iter().map(|value| Ok(Cow::Borrowed(value)));
        let ranked = PackedRow::try_pack_each(keys.iter().map(|key| key.value(&row)).chain(own))?;
        Ok::<_, EvalError>((partition, ranked))
    });
    let ranked = prepared.reduce_named("SqlTopK", move |_key, values, output| {
        let mut sorted: Vec<&PackedRow> = Vec::new();
        for (value, m) in values {
            sorted.extend(std::iter::repeat_n(*value, (*m).max(0) as usize));
        }
        let rank =
            |a: &&PackedRow, b: &&PackedRow| compare_keys(&order, a.packed_values(), b.packed_values());
        // Packed rows order as their values: ties are broken by the row.
        let compare = |a: &&PackedRow, b: &&PackedRow| {
            rank(a, b).then_with(|| a.bytes_after(sort_keys).cmp(b.bytes_after(sort_keys)))
        };
        for (ranked, place) in ranked_places(sorted, compare, rank, places) {
            output.push(((ranked.after(sort_keys), place), 1));
        }
    });
    let rows = ranked.map(|(_partition, numbered_row)| unpack_numbered(numbered_row));
    Lowered { rows, errors }
}

/// The items of `places` (the `offset..offset + limit` first in `compare`'s order, and with
/// `ties` the later ones `rank` puts equal to the last of them), each with its place (from 1)
/// if numbered. Only the items kept are sorted: a top 1 of a large group is one pass.
fn ranked_places<I>(
    mut items: Vec<I>,
    compare: impl Fn(&I, &I) -> Ordering,
    rank: impl Fn(&I, &I) -> Ordering,
    places: Places,
) -> impl Iterator<Item = (I, Option<i64>)> {
    let wanted = places.offset.saturating_add(places.limit.unwrap_or(usize::MAX));
    if wanted < items.len() {
        items.select_nth_unstable_by(wanted, &compare);
        let mut kept = wanted;
        if places.ties && wanted > 0 {
            // The last kept is the greatest of the first `wanted`; the ones after them that
            // rank equal to it move up behind them.
            let last = (0..wanted).max_by(|a, b| compare(&items[*a], &items[*b])).expect("wanted > 0");
            for later in wanted..items.len() {
                if rank(&items[last], &items[later]) == Ordering::Equal {
                    items.swap(kept, later);
                    kept += 1;
                }
            }
        }
        items.truncate(kept);
    }
    items.sort_by(&compare);
    let (offset, numbered) = (places.offset, places.numbered);
    items
        .into_iter()
        .skip(offset)
        .enumerate()
        .map(move |(place, item)| (item, numbered.then_some(offset as i64 + place as i64 + 1)))
}

/// A ranked row's values, with its place appended if it has one.
fn unpack_numbered((packed, place): (PackedRow, Option<i64>)) -> SqlRow {
    let mut row = packed.values();
    row.extend(place.map(Value::Int));
    row
}

/// A join's two sides under their join key, each row with its side (`true` for the right one).
type Sides<'s, T> = Rows<'s, T, (PackedRow, (bool, PackedRow))>;

/// The two sides of a join that runs per key ([`JoinPerKey`]), lowered, keyed and packed, as
/// one collection; and the errors of both sides and of their keys.
fn sides_by_key<'s, T: Times>(
    join: &JoinPerKey<'_>,
    env: &dyn Env<'s, T>,
) -> (Sides<'s, T>, Rows<'s, T, EvalError>) {
    let (left_keyed, left_errors) = keyed(pending(join.left, env), join.left_keys);
    let (right_keyed, right_errors) = keyed(pending(join.right, env), join.right_keys);
    let sides = left_keyed
        .map(|(key, row)| (key, (false, row)))
        .concat(right_keyed.map(|(key, row)| (key, (true, row))));
    (sides, left_errors.concat(right_errors))
}

/// The joined rows of one key, from its two sides as a co-group's `reduce` gives them (the
/// left side's rows first, [`sides_by_key`]): each pair that every condition holds for is
/// passed to `each` as the joined row with its two packed rows, and a pair for which a
/// condition cannot be computed as the error, with the pair's multiplicity.
fn joined_rows<'v>(
    values: &[(&'v (bool, PackedRow), Diff)],
    conditions: &[Scalar],
    mut each: impl FnMut(Result<(&SqlRow, &'v PackedRow, &'v PackedRow), EvalError>, Diff),
) {
    let split = values.partition_point(|((right, _), _)| !*right);
    let (lefts, rights) = values.split_at(split);
    let mut row = Vec::new();
    for ((_, l), lm) in lefts.iter().filter(|(_, m)| *m > 0) {
        row.clear();
        l.unpack_into(&mut row);
        let width = row.len();
        for ((_, r), rm) in rights.iter().filter(|(_, m)| *m > 0) {
            row.truncate(width);
            r.unpack_into(&mut row);
            let held =
                conditions.iter().try_fold(true, |held, c| if held { c.holds(&row) } else { Ok(false) });
            let copies = lm * rm;
            match held {
                Ok(true) => each(Ok((&row, l, r)), copies),
                Ok(false) => {}
                Err(error) => each(Err(error), copies),
            }
        }
    }
}

/// A top-k per join key of an inner join ([`JoinPerKey`]): both sides keyed and packed,
/// and a `reduce` per key that forms the key's joined rows, keeps those every condition holds
/// for, and ranks them as [`top_k`] does (ties broken by the joined row). A change to a key
/// reads that key's rows on both sides, as the top-k of the joined rows read the key's joined
/// rows; the joined rows themselves are not kept.
fn top_k_of_join<'s, T: Times>(
    join: JoinPerKey<'_>,
    env: &dyn Env<'s, T>,
    order: &[SortKey],
    places: Places,
) -> Lowered<'s, T> {
    let (sides, errors) = sides_by_key(&join, env);
    let (conditions, order) = (join.conditions, order.to_vec());
    let keys: Vec<Scalar> = order.iter().map(|k| k.expr.clone()).collect();
    type Ranked = Result<(PackedRow, Option<i64>), EvalError>;
    let ranked =
        sides.reduce_named("SqlTopKOfJoin", move |_key, values, output: &mut Vec<(Ranked, Diff)>| {
            let mut candidates: Vec<(PackedRow, &PackedRow, &PackedRow)> = Vec::new();
            joined_rows(values, &conditions, |joined, copies| {
                match joined.and_then(|(row, l, r)| Ok((evaluate_packed(&keys, row)?, l, r))) {
                    Ok(candidate) => candidates.extend(std::iter::repeat_n(candidate, copies as usize)),
                    Err(error) => output.push((Err(error), copies)),
                }
            });
            // Packed rows order as their values, and a joined row's are its left row's then its
            // right row's: comparing the two sides in turn compares the joined rows.
            // The sort keys are packed (as `top_k`'s), so a text key is not copied out of the row.
            type Candidate<'v> = (PackedRow, &'v PackedRow, &'v PackedRow);
            let rank = |a: &Candidate<'_>, b: &Candidate<'_>| {
                compare_keys(&order, a.0.packed_values(), b.0.packed_values())
            };
            let compare =
                |a: &Candidate<'_>, b: &Candidate<'_>| rank(a, b).then_with(|| (a.1, a.2).cmp(&(b.1, b.2)));
            for ((_, l, r), place) in ranked_places(candidates, compare, rank, places) {
                output.push((Ok((l.concat(r), place)), 1));
            }
        });
    let (ranked, rank_errors) = results_apart(ranked.map(|(_key, ranked)| ranked));
    let rows = ranked.map(unpack_numbered);
    Lowered { rows, errors: errors.concat(rank_errors) }
}

/// An aggregate per join key of an inner join ([`JoinPerKey`]): both sides keyed and packed,
/// and a `reduce` per key that forms the key's joined rows, keeps those every condition holds
/// for, groups them and computes every aggregate of each group as [`aggregate`]'s `reduce`
/// does (from its argument rows sorted, equal ones added up). A change to a key reads that
/// key's rows on both sides, where [`aggregate`] over the join would read the changed groups'
/// joined rows, which it keeps arranged as well as the join's sides.
fn aggregate_of_join<'s, T: Times>(
    join: JoinPerKey<'_>,
    env: &dyn Env<'s, T>,
    group: &[Scalar],
    aggregates: &[AggregateCall],
) -> Lowered<'s, T> {
    let (sides, errors) = sides_by_key(&join, env);
    let (conditions, group, calls) = (join.conditions, group.to_vec(), aggregates.to_vec());
    let (slots, slot_of) = argument_slots(&calls);
    let computed = sides.reduce_named(
        "SqlAggregateOfJoin",
        move |_key, values, output: &mut Vec<(Result<PackedRow, EvalError>, Diff)>| {
            let mut groups: BTreeMap<SqlRow, Vec<(PackedRow, Diff)>> = BTreeMap::new();
            joined_rows(values, &conditions, |joined, copies| {
                match joined
                    .and_then(|(row, _, _)| Ok((evaluate(&group, row)?, evaluate_packed(&slots, row)?)))
                {
                    Ok((key, args)) => groups.entry(key).or_default().push((args, copies)),
                    Err(error) => output.push((Err(error), copies)),
                }
            });
            for (mut key, mut args) in groups {
                // As a `reduce` gives them: sorted, each distinct row once (so that a sum of
                // doubles adds in the same order).
                differential_dataflow::consolidation::consolidate(&mut args);
                let args: Vec<(&PackedRow, Diff)> = args.iter().map(|(row, m)| (row, *m)).collect();
                let row = compute(&calls, &slot_of, &args).map(|values| {
                    key.extend(values);
                    PackedRow::pack(&key)
                });
                output.push((row, 1));
            }
        },
    );
    let (rows, compute_errors) = results_apart(computed.map(|(_key, row)| row));
    Lowered { rows: rows.map(|row| row.values()), errors: errors.concat(compute_errors) }
}

/// A value an `ORDER BY` key compares: one of a row, or one still packed.
pub(crate) trait SortValue {
    /// True for `NULL`.
    fn is_null(&self) -> bool;
    /// SQL's comparison ([`Value::sql_cmp`]).
    fn sql_cmp(&self, other: &Self) -> Option<Ordering>;
}

impl SortValue for &Value {
    fn is_null(&self) -> bool {
        Value::is_null(self)
    }

    fn sql_cmp(&self, other: &Self) -> Option<Ordering> {
        Value::sql_cmp(self, other)
    }
}

impl SortValue for PackedValue<'_> {
    fn is_null(&self) -> bool {
        PackedValue::is_null(self)
    }

    fn sql_cmp(&self, other: &Self) -> Option<Ordering> {
        PackedValue::sql_cmp(self, other)
    }
}

/// SQL's order of two lists of the values of `order`'s keys: each ascending or descending,
/// `NULL`s first or last.
pub(crate) fn compare_keys<V: SortValue>(
    order: &[SortKey],
    a: impl IntoIterator<Item = V>,
    b: impl IntoIterator<Item = V>,
) -> Ordering {
    for (key, (x, y)) in order.iter().zip(a.into_iter().zip(b)) {
        let order = match (x.is_null(), y.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) if key.nulls_first => Ordering::Less,
            (true, false) => Ordering::Greater,
            (false, true) if key.nulls_first => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => {
                let order = x.sql_cmp(&y).unwrap_or(Ordering::Equal);
                if key.descending { order.reverse() } else { order }
            }
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::scalar::BinaryOp;
    use crate::sql::types::SqlType;
    use differential_dataflow::difference::{Multiply, Semigroup};

    fn call(function: AggregateFunction, argument: Option<Scalar>) -> AggregateCall {
        AggregateCall { function, argument, distinct: false, ty: SqlType::Int, input: SqlType::Int }
    }

    #[test]
    fn a_reduce_holds_each_argument_expression_once() {
        use AggregateFunction as F;
        let price = Scalar::Column(2);
        let calls = [
            call(F::Min, Some(price.clone())),
            call(F::CountRows, None),
            call(F::Max, Some(price.clone())),
            call(F::Max, Some(Scalar::Column(0))),
        ];
        let (slots, slot_of) = argument_slots(&calls);
        assert_eq!(slots, vec![price, Scalar::Column(0)]);
        assert_eq!(slot_of, vec![Some(0), None, Some(0), Some(1)]);
        // MIN and MAX read the one slot; COUNT(*) counts every row.
        let (low, high) = (vec![Value::Int(3), Value::Int(9)], vec![Value::Int(7), Value::Int(1)]);
        let (low, high) = (PackedRow::pack(&low), PackedRow::pack(&high));
        let values = [(&low, 2), (&high, 1)];
        assert_eq!(
            compute(&calls, &slot_of, &values),
            Ok(vec![Value::Int(3), Value::Int(3), Value::Int(7), Value::Int(9)])
        );
    }

    #[test]
    fn counts_and_sums_of_what_a_reduce_reads_are_computed_there() {
        use AggregateFunction as F;
        let (price, other) = (Scalar::Column(2), Scalar::Column(0));
        let rank = Scalar::Case(
            vec![(
                Scalar::binary(BinaryOp::Lt, price.clone(), Scalar::literal(Value::Int(10))),
                Scalar::literal(Value::Int(1)),
            )],
            Box::new(Scalar::literal(Value::Int(0))),
        );
        let int_call = |function, argument: Option<Scalar>| AggregateCall {
            input: SqlType::Int,
            ..call(function, argument)
        };
        // Counts and sums alone: all running totals.
        let sums = [int_call(F::CountRows, None), int_call(F::Sum, Some(price.clone()))];
        assert_eq!(as_totals(&sums), vec![true, true]);
        // Beside a MIN of the price: COUNT(*) and the sums of the price, or of an expression of
        // it, go into the reduce; a sum of another column and a DISTINCT count stay totals.
        let mixed = [
            int_call(F::CountRows, None),
            int_call(F::Sum, Some(rank)),
            int_call(F::Min, Some(price.clone())),
            int_call(F::Avg, Some(price.clone())),
            int_call(F::Sum, Some(other.clone())),
            AggregateCall { distinct: true, ..int_call(F::Count, Some(price.clone())) },
        ];
        assert_eq!(as_totals(&mixed), vec![false, false, false, false, true, true]);
        // A MAX of an expression holds no column as such: a count of the column stays a total
        // (COUNT(*) reads none, and goes into the reduce).
        let max = int_call(F::Max, Some(Scalar::Negate(Box::new(price.clone()))));
        let expression = [int_call(F::Count, Some(price)), int_call(F::CountRows, None), max];
        assert_eq!(as_totals(&expression), vec![true, false, false]);
    }

    #[test]
    fn an_integer_average_computed_in_a_reduce_is_the_running_totals_one() {
        use AggregateFunction as F;
        let call = AggregateCall { input: SqlType::Int, ..call(F::Avg, Some(Scalar::Column(0))) };
        // Values whose sum as doubles rounds: 2^53 + 1 twice, and 1.
        let (big, one) = (PackedRow::pack(&[Value::Int((1 << 53) + 1)]), PackedRow::pack(&[Value::Int(1)]));
        let computed = compute(std::slice::from_ref(&call), &[Some(0)], &[(&big, 2), (&one, 1)]);
        let mut totals = sums::of_row(std::slice::from_ref(&call), [&Value::Int((1 << 53) + 1)]).multiply(&2);
        totals.plus_equals(&sums::of_row(std::slice::from_ref(&call), [&Value::Int(1)]));
        assert_eq!(Some(computed), sums::values(std::slice::from_ref(&call), &totals));
    }

    /// Leaves for a test: every scan is the rows `1` and `2`, and is counted.
    struct CountedScans<'s> {
        scope: Scope<'s, Time>,
        scans: std::cell::Cell<usize>,
        lowered: Shared<'s, Time>,
    }

    impl<'s> Env<'s, Time> for CountedScans<'s> {
        fn scope(&self) -> Scope<'s, Time> {
            self.scope
        }

        fn scan(&self, _source: &Arc<Source>, _needed: Option<Needed>) -> Lowered<'s, Time> {
            self.scans.set(self.scans.get() + 1);
            let rows = constant_in(self.scope, [vec![Value::Int(1)], vec![Value::Int(2)]]);
            Lowered { rows, errors: no_errors(self.scope) }
        }

        fn recurse(&self, _id: usize) -> Rows<'s, Time, SqlRow> {
            unreachable!("no recursion here")
        }

        fn recursive(&self, _plan: &Plan) -> Lowered<'s, Time> {
            unreachable!("no recursion here")
        }

        fn lowered(&self) -> &Shared<'s, Time> {
            &self.lowered
        }
    }

    #[test]
    fn a_plan_met_twice_is_built_once_and_read_by_both() {
        use crate::sql::plan::Column;
        use timely::dataflow::ProbeHandle;
        use timely::dataflow::operators::Probe;
        use timely::dataflow::operators::capture::{Capture, Extract};
        let read: Arc<crate::sql::source::ReadRows> = Arc::new(|_, _| unreachable!("scans are the test's"));
        let source = Arc::new(Source::Rust { name: "t".into(), read });
        let column = |name: &str| Column { name: name.into(), qualifier: None, ty: SqlType::Int };
        let scan = Plan::Scan { source, columns: vec![column("a")] };
        let count = |input: Plan| Plan::Aggregate {
            input: Box::new(input),
            group: Vec::new(),
            aggregates: vec![call(AggregateFunction::CountRows, None)],
            columns: vec![column("n")],
        };
        let union = |left: Plan, right: Plan| Plan::Set {
            op: SetOp::Union,
            all: true,
            left: Box::new(left),
            right: Box::new(right),
        };
        let odd = Plan::Filter {
            input: Box::new(scan.clone()),
            predicate: Scalar::binary(
                BinaryOp::Eq,
                Scalar::binary(BinaryOp::Mod, Scalar::Column(0), Scalar::literal(Value::Int(2))),
                Scalar::literal(Value::Int(1)),
            ),
        };
        // The same count twice, then two different counts.
        let plans = [union(count(scan.clone()), count(scan.clone())), union(count(scan), count(odd))];
        let runs: Vec<(usize, Vec<(SqlRow, Diff)>)> = plans
            .into_iter()
            .map(|plan| {
                timely::execute_directly(move |worker| {
                    let probe = ProbeHandle::new();
                    let (scans, rows) = worker.dataflow::<Time, _, _>(|scope| {
                        let env =
                            CountedScans { scope, scans: Default::default(), lowered: Default::default() };
                        let rows = pending(&plan, &env).rows().rows.consolidate().inner.probe_with(&probe);
                        (env.scans.get(), rows.capture())
                    });
                    worker.step_while(|| !probe.done());
                    let rows = rows
                        .extract()
                        .into_iter()
                        .flat_map(|(_, rows)| rows)
                        .map(|(r, _, d)| (r, d))
                        .collect();
                    (scans, rows)
                })
            })
            .collect();
        assert_eq!(runs[0], (1, vec![(vec![Value::Int(2)], 2)]));
        let mut different = runs[1].1.clone();
        different.sort();
        assert_eq!(runs[1].0, 2);
        assert_eq!(different, vec![(vec![Value::Int(1)], 1), (vec![Value::Int(2)], 1)]);
    }

    /// `ranked_places` against sorting every item: items are (rank, tie-breaker) pairs, ranked
    /// by the first alone.
    #[test]
    fn the_places_kept_are_those_of_a_full_sort_and_ties_keep_every_equal_last() {
        fn property(items: Vec<(u8, u8)>, offset: u8, limit: Option<u8>, ties: bool) -> bool {
            let items: Vec<(u8, u8)> = items.into_iter().map(|(r, t)| (r % 5, t % 4)).collect();
            let (offset, limit) = (usize::from(offset % 4), limit.map(|l| usize::from(l % 5)));
            let places = Places { offset, limit, ties, numbered: true };
            let got: Vec<((u8, u8), Option<i64>)> =
                ranked_places(items.clone(), |a, b| a.cmp(b), |a, b| a.0.cmp(&b.0), places).collect();
            let mut sorted = items;
            sorted.sort();
            let mut kept = offset.saturating_add(limit.unwrap_or(usize::MAX)).min(sorted.len());
            if ties && kept > 0 {
                while kept < sorted.len() && sorted[kept].0 == sorted[kept - 1].0 {
                    kept += 1;
                }
            }
            let want: Vec<((u8, u8), Option<i64>)> = sorted[..kept]
                .iter()
                .skip(offset)
                .zip(offset as i64 + 1..)
                .map(|(i, p)| (*i, Some(p)))
                .collect();
            got == want
        }
        quickcheck::QuickCheck::new()
            .tests(5_000)
            .quickcheck(property as fn(Vec<(u8, u8)>, u8, Option<u8>, bool) -> bool);
    }

    #[test]
    fn totals_and_reduced_values_go_back_in_call_order() {
        let summed = [true, false, false, true];
        let totals = Ok(vec![Value::Int(1), Value::Int(4)]);
        let reduced = Ok(vec![Value::Int(2), Value::Int(3)]);
        assert_eq!(
            interleave(&summed, &totals, &reduced),
            Ok(vec![Value::Int(1), Value::Int(2), Value::Int(3), Value::Int(4)])
        );
        assert_eq!(interleave(&summed, &Err(EvalError::Overflow), &reduced), Err(EvalError::Overflow));
        assert_eq!(
            interleave(&summed, &totals, &Err(EvalError::DivisionByZero)),
            Err(EvalError::DivisionByZero)
        );
    }
}
