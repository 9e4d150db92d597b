//! The queries, one file each, and the table of them the harness dispatches on.
//!
//! To add a query: a file `qN.rs` with a type implementing [`Query`](crate::query::Query), a
//! `mod` line, and a line in `for_each_query!`.

pub mod q0;

/// Calls `$run!(Type)` for every query, in order. The harness uses it to map names to types.
#[macro_export]
macro_rules! for_each_query {
    ($run:ident) => {
        $run!($crate::queries::q0::Q0);
    };
}
