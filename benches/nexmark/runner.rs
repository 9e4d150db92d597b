//! The parent process: runs every (query, workers, system) in a child process, checks that the
//! systems agree, and writes the report.

use std::path::Path;
use std::process::Command;

use crate::args::{Mode, Options};
use crate::measure::loadavg;
use crate::outcome::{LINE_PREFIX, Outcome};
use crate::progress::Progress;
use crate::query::Query;
use crate::report::{self, Machine};
use crate::{check, child, guard};

/// Results of runs with at most this many events are dumped, for row-by-row diffs.
const DUMP_EVENTS: u64 = 1_000_000;

/// One child run to do.
struct Run<'a> {
    query: &'a str,
    mode: Mode,
    workers: usize,
    /// Which of the `--repeat` rounds (from 0).
    round: u64,
}

/// Runs everything `options` asks for; `Ok(false)` if some query's systems disagreed or a run
/// failed (the report is written anyway).
pub fn run(options: &Options) -> Result<bool, String> {
    let queries = selected_queries(&options.queries)?;
    let dumps = options.out.join("rows");
    std::fs::create_dir_all(&dumps).map_err(|e| format!("cannot create {}: {e}", dumps.display()))?;
    let machine_before = Machine::now();
    let plan = plan(&queries, options);
    let mut progress = Progress::new(plan.len());
    let mut outcomes: Vec<Outcome> = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    for (i, run) in plan.iter().enumerate() {
        let what = match options.repeat {
            1 => format!("{} {} w{}", run.query, run.mode.name(), run.workers),
            _ => format!("{} {} w{} round {}", run.query, run.mode.name(), run.workers, run.round + 1),
        };
        progress.running(&what);
        match spawn(run, options, &dumps) {
            Ok(outcome) => outcomes.push(outcome),
            Err(error) => {
                progress.note(&format!("FAILED {what}: {error}"));
                failures.push(format!("{what}: {error}"));
            }
        }
        progress.finished_one();
        let last_of_query = plan.get(i + 1).is_none_or(|next| next.query != run.query);
        if last_of_query {
            let (of_query, others): (Vec<Outcome>, Vec<Outcome>) =
                outcomes.drain(..).partition(|o| o.query == run.query);
            if let Err(message) = check::agree(&of_query, &dumps) {
                progress.note(&format!("MISMATCH {}: {message}", run.query));
                failures.push(format!("{}: {message}", run.query));
            } else if options.events <= DUMP_EVENTS {
                remove_dumps(&of_query, &dumps);
            }
            outcomes = others;
            outcomes.extend(medians(of_query));
        }
    }
    progress.close();
    let machine = Machine { loadavg_after: loadavg(), ..machine_before };
    let summary = report::write(options, &machine, &outcomes, &failures)?;
    if options.smoke {
        guard(&summary, &mut failures)?;
    }
    if !failures.is_empty() {
        eprintln!("\nFAILED: {} problem(s):", failures.len());
        for failure in &failures {
            eprintln!("- {failure}");
        }
    }
    Ok(failures.is_empty())
}

/// Compares the smoke run's `live / bare_arranged` ratios with those BENCHMARKS.md records
/// (see [`crate::guard`]); a slowdown of the engine becomes a failure.
fn guard(summary: &[report::Summary], failures: &mut Vec<String>) -> Result<(), String> {
    let benchmarks = Path::new(env!("CARGO_MANIFEST_DIR")).join("../BENCHMARKS.md");
    let recorded = guard::recorded(&benchmarks)?;
    let Some(verdict) = guard::judge(summary, &recorded) else {
        return Err("the smoke guard found no 1-worker query with a recorded ratio".into());
    };
    let fallen: Vec<String> =
        verdict.fallen.iter().map(|(q, m, r)| format!("{q} {m:.2} (recorded {r:.2})")).collect();
    if verdict.slower() {
        failures.push(format!(
            "the live engine is slower than BENCHMARKS.md records: median live / bare_arranged is \
             {:.2} of the recorded ratios (fails below {}); fallen: {}",
            verdict.median,
            guard::FAIL_BELOW,
            fallen.join(", ")
        ));
    } else if verdict.doubtful() {
        println!(
            "WARNING: the live engine may be slower than BENCHMARKS.md records (median {:.2}, \
             below {}); re-measure §7 on a quiet machine. Fallen: {}",
            verdict.median,
            guard::WARN_BELOW,
            fallen.join(", ")
        );
    }
    Ok(())
}

/// The names of every query, in order.
pub fn all_queries() -> Vec<&'static str> {
    let mut names = Vec::new();
    macro_rules! push_name {
        ($query:ty) => {
            names.push(<$query as Query>::NAME);
        };
    }
    crate::for_each_query!(push_name);
    names
}

/// The queries asked for (all by default), each checked to exist.
fn selected_queries(asked: &[String]) -> Result<Vec<String>, String> {
    let all = all_queries();
    if asked.is_empty() {
        return Ok(all.iter().map(|q| q.to_string()).collect());
    }
    for name in asked {
        if !all.contains(&name.as_str()) {
            return Err(format!("unknown query `{name}`; this build has {}", all.join(",")));
        }
    }
    Ok(asked.to_vec())
}

/// Every run, query by query; single-threaded systems run once, with the first worker count.
/// With `--repeat`, a query's runs are done in rounds, each round every system once, so a
/// change in the machine over time falls on every system alike.
fn plan<'a>(queries: &'a [String], options: &Options) -> Vec<Run<'a>> {
    let mut plan = Vec::new();
    for query in queries {
        for round in 0..options.repeat {
            plan_round(query, round, options, &mut plan);
        }
    }
    plan
}

/// One round of `query`'s runs.
fn plan_round<'a>(query: &'a str, round: u64, options: &Options, plan: &mut Vec<Run<'a>>) {
    for (i, &workers) in options.workers.iter().enumerate() {
        for &mode in &options.modes {
            if (mode == Mode::Duckdb && !child::duckdb_has(query))
                || (mode == Mode::Sql && !child::sql_has(query))
            {
                continue;
            }
            if !mode.single_threaded() {
                plan.push(Run { query, mode, workers, round });
            } else if i == 0 {
                plan.push(Run { query, mode, workers: 1, round });
            }
        }
    }
}

/// One outcome per (system, workers) of a query's rounds: the round of median wall time (the
/// lower of the middle two for an even number), holding every round's wall seconds.
fn medians(mut outcomes: Vec<Outcome>) -> Vec<Outcome> {
    let mut kept: Vec<Outcome> = Vec::new();
    while let Some(first) = outcomes.first() {
        let (mode, workers) = (first.mode.clone(), first.workers);
        let (mut rounds, rest): (Vec<Outcome>, Vec<Outcome>) =
            outcomes.into_iter().partition(|o| o.mode == mode && o.workers == workers);
        outcomes = rest;
        let seconds: Vec<f64> = rounds.iter().map(|o| o.seconds).collect();
        rounds.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
        let mut median = rounds.swap_remove((rounds.len() - 1) / 2);
        if seconds.len() > 1 {
            median.rounds_seconds = seconds;
        }
        kept.push(median);
    }
    kept
}

/// Runs one child and reads its outcome.
fn spawn(run: &Run, options: &Options, dumps: &Path) -> Result<Outcome, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this binary: {e}"))?;
    let mut command = Command::new(exe);
    command
        .args(["--bench", "--child", run.mode.name(), run.query])
        .args(["--events", &options.events.to_string(), "--batch", &options.batch.to_string()])
        .args(["--workers", &run.workers.to_string(), "--seed", &options.seed.to_string()]);
    if options.events <= DUMP_EVENTS {
        command.arg("--dump").arg(check::dump_path(dumps, run.query, run.mode.name(), run.workers));
    }
    let output = command.output().map_err(|e| format!("cannot start the child: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().find_map(|line| line.strip_prefix(LINE_PREFIX));
    match (output.status.success(), line) {
        (true, Some(json)) => serde_json::from_str(json).map_err(|e| format!("bad outcome line: {e}")),
        _ => Err(format!(
            "child exited with {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )),
    }
}

/// Removes the dumps of a query whose systems agreed.
fn remove_dumps(outcomes: &[Outcome], dumps: &Path) {
    for outcome in outcomes.iter().filter(|o| o.dumped) {
        let _ = std::fs::remove_file(check::dump_path(dumps, &outcome.query, &outcome.mode, outcome.workers));
    }
}
