//! Nexmark on `ivm`: every query live (transactions committed, a subscriber reading the view)
//! and as a one-shot batch run of the same definition, against the same logic as a bare
//! differential program and against full recomputation by a plain-Rust oracle (and, with the
//! `nexmark-duckdb` feature, by DuckDB).
//!
//! ```text
//! cargo bench -p ivm-benches --bench nexmark -- --help
//! cargo bench -p ivm-benches --bench nexmark -- --smoke                       # what CI runs: every system must agree
//! cargo bench -p ivm-benches --bench nexmark -- --queries q0,q3 --events 1000000 --workers 1,2
//! CARGO_TARGET_DIR=/work/target-bench cargo bench -p ivm-benches --bench nexmark -- --workers 1,2   # the full run
//! ```
//!
//! Every (query, system, workers) runs in a child process of this binary (`--child`), which
//! generates the events into memory with the `nexmark` crate's standard generator before
//! anything is timed, so CPU seconds and peak memory are per run. The parent checks that
//! every reading of a query's result agrees (exit code 1 if not), prints a table, and writes
//! `nexmark.json` and `nexmark.svg` to `--out`. BENCHMARKS.md explains the measurements.

mod answer;
mod args;
mod bare;
mod batch_run;
mod chart;
mod check;
mod child;
#[cfg(feature = "nexmark-duckdb-linked")]
mod duckdb;
mod guard;
mod latencies;
mod live;
#[path = "../common/measure.rs"]
mod measure;
mod model;
mod outcome;
mod peer;
mod progress;
mod queries;
mod query;
mod recompute;
mod report;
mod runner;
mod sql_live;

use std::process::ExitCode;

/// Every system in this binary allocates through mimalloc: under glibc's malloc, allocation and
/// freeing of the events' strings took about 60% of a live q0 run's CPU (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    match args::parse(&arguments) {
        Err(message) => {
            eprintln!("nexmark: {message}");
            ExitCode::from(2)
        }
        Ok(args::Command::Help) => {
            println!("{}", args::USAGE);
            ExitCode::SUCCESS
        }
        Ok(args::Command::Child(options)) => match child::main(&options) {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("nexmark child {} {}: {message}", options.mode.name(), options.query);
                ExitCode::FAILURE
            }
        },
        Ok(args::Command::Run(options)) => match runner::run(&options) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::FAILURE,
            Err(message) => {
                eprintln!("nexmark: {message}");
                ExitCode::from(2)
            }
        },
    }
}
