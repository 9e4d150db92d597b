//! The queries, one file each, and the table of them the harness dispatches on.
//!
//! To add a query: a file `qN.rs` with a type implementing [`Query`](crate::query::Query), a
//! `mod` line, and a line in `for_each_query!`.

pub mod calendar;
pub mod q0;
pub mod q1;
pub mod q2;
pub mod q3;
pub mod q4;
pub mod q5;
pub mod q6;
pub mod q7;
pub mod q8;
pub mod q9;

pub mod q12;
pub mod q13;
pub mod q14;
pub mod q15;
pub mod q16;
pub mod q17;
pub mod q18;
pub mod q19;
pub mod q20;
pub mod q21;
pub mod q22;
pub mod text;

/// Calls `$run!(Type)` for every query, in order. The harness uses it to map names to types.
#[macro_export]
macro_rules! for_each_query {
    ($run:ident) => {
        $run!($crate::queries::q0::Q0);
        $run!($crate::queries::q1::Q1);
        $run!($crate::queries::q2::Q2);
        $run!($crate::queries::q3::Q3);
        $run!($crate::queries::q4::Q4);
        $run!($crate::queries::q5::Q5);
        $run!($crate::queries::q6::Q6);
        $run!($crate::queries::q7::Q7);
        $run!($crate::queries::q8::Q8);
        $run!($crate::queries::q9::Q9);
        $run!($crate::queries::q12::Q12);
        $run!($crate::queries::q13::Q13);
        $run!($crate::queries::q14::Q14);
        $run!($crate::queries::q15::Q15);
        $run!($crate::queries::q16::Q16);
        $run!($crate::queries::q17::Q17);
        $run!($crate::queries::q18::Q18);
        $run!($crate::queries::q19::Q19);
        $run!($crate::queries::q20::Q20);
        $run!($crate::queries::q21::Q21);
        $run!($crate::queries::q22::Q22);
    };
}

/// Runs `$run!(Q)` for every query that is also written in `ivm`'s SQL ([`crate::query::SqlQuery`]).
#[macro_export]
macro_rules! for_each_sql_query {
    ($run:ident) => {
        $run!($crate::queries::q0::Q0);
        $run!($crate::queries::q1::Q1);
        $run!($crate::queries::q2::Q2);
        $run!($crate::queries::q3::Q3);
        $run!($crate::queries::q4::Q4);
        $run!($crate::queries::q5::Q5);
        $run!($crate::queries::q6::Q6);
        $run!($crate::queries::q7::Q7);
        $run!($crate::queries::q8::Q8);
        $run!($crate::queries::q9::Q9);
        $run!($crate::queries::q12::Q12);
        $run!($crate::queries::q13::Q13);
        $run!($crate::queries::q14::Q14);
        $run!($crate::queries::q15::Q15);
        $run!($crate::queries::q16::Q16);
        $run!($crate::queries::q17::Q17);
        $run!($crate::queries::q18::Q18);
        $run!($crate::queries::q19::Q19);
        $run!($crate::queries::q20::Q20);
        $run!($crate::queries::q21::Q21);
        $run!($crate::queries::q22::Q22);
    };
}
