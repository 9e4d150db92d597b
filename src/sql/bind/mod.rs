//! Binding: names resolved against the catalog and the scopes of a query, types checked and
//! casts inserted, subqueries turned into joins. `scope.rs` holds names in scope, `find.rs`
//! searches of expressions, `expr.rs` expressions, `query.rs` queries (it uses the other two).

pub(crate) mod expr;
pub(crate) mod find;
pub(crate) mod query;
pub(crate) mod scope;
