//! The command line: what to run, parsed by hand, with a clear message and exit code 2 for
//! anything it does not understand.

use std::path::PathBuf;

/// Events of a full run.
pub const DEFAULT_EVENTS: u64 = 10_000_000;
/// Events per transaction.
pub const DEFAULT_BATCH: u64 = 40_000;
/// Events of `--smoke` (what CI runs).
pub const SMOKE_EVENTS: u64 = 100_000;
/// Events per transaction of `--smoke`: many commits, so incremental updates are checked.
pub const SMOKE_BATCH: u64 = 1_000;
/// Events of a run under `cargo test --benches` (no `--bench` argument, debug build).
pub const TEST_EVENTS: u64 = 5_000;

/// The usage text of `--help`.
pub const USAGE: &str = "\
Nexmark on ivm, live and batch, against bare differential dataflow and full recomputation.

usage: cargo bench -p ivm-benches --bench nexmark -- [options]

  --events N     events in the run (default 10000000)
  --batch N      events per transaction of the live run (default 40000; try 1000 and 1)
  --workers LIST worker counts to run, comma separated (default 1)
  --queries LIST queries to run, comma separated, e.g. q0,q3 (default: all)
  --modes LIST   systems to run, comma separated, from live,streamed,sql,bare,bare_arranged,
                 batch,recompute,duckdb (streamed: the live run with streamed tables)
                 (default: all but duckdb, which needs a nexmark-duckdb feature and has
                 SQL for q0,q1,q2,q3,q17,q22 only; sql runs the queries written in
                 ivm's SQL, see BENCHMARKS.md)
  --seed N       number of the first event; the generator is a pure function of it (default 0)
  --repeat N     run every (query, system, workers) N times, the rounds interleaved, and report
                 the run of median wall time (default 1); on a VM whose host takes back freed
                 memory, one run can be several times slower than the next (BENCHMARKS.md §7)
  --out DIR      where the JSON report, the SVG chart and row dumps go (default target/nexmark)
  --smoke        100000 events in 1000-event transactions, all queries, 1 and 2 workers:
                 checks that every system agrees (what CI runs)
  --help         this text

Every (query, system, workers) runs in a child process of this binary, so CPU seconds and peak
memory are its own. The run fails (exit code 1) if any two systems disagree on a query's result.";

/// A system the harness runs a query on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mode {
    /// `ivm` engine, transactions committed, a subscriber reading the view.
    Live,
    /// The same, with the inputs as streamed tables (`Engine::streamed_table`): no input kept.
    Streamed,
    /// The same, with the view written in SQL (`ivm::sql`), for the queries that have SQL.
    Sql,
    /// The same definition as differential dataflow by hand.
    Bare,
    /// The same, with the engine's shape: inputs and result arranged and kept.
    BareArranged,
    /// `ivm::batch::run` of the definition over all events.
    Batch,
    /// The plain-Rust oracle, recomputed after transactions.
    Recompute,
    /// DuckDB recomputing the query's SQL (feature `nexmark-duckdb` or `nexmark-duckdb-linked`).
    Duckdb,
}

impl Mode {
    /// Every mode, in the order they run.
    pub const ALL: [Mode; 8] = [
        Mode::Live,
        Mode::Streamed,
        Mode::Sql,
        Mode::Bare,
        Mode::BareArranged,
        Mode::Batch,
        Mode::Recompute,
        Mode::Duckdb,
    ];

    /// The mode's name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Live => "live",
            Mode::Streamed => "streamed",
            Mode::Sql => "sql",
            Mode::Bare => "bare",
            Mode::BareArranged => "bare_arranged",
            Mode::Batch => "batch",
            Mode::Recompute => "recompute",
            Mode::Duckdb => "duckdb",
        }
    }

    fn parse(name: &str) -> Result<Mode, String> {
        Mode::ALL.into_iter().find(|mode| mode.name() == name).ok_or_else(|| {
            format!(
                "unknown mode `{name}` (live, streamed, sql, bare, bare_arranged, batch, recompute, duckdb)"
            )
        })
    }

    /// True for modes whose time and memory do not depend on the worker count (one thread).
    pub fn single_threaded(self) -> bool {
        matches!(self, Mode::Recompute | Mode::Duckdb)
    }
}

/// What the parent runs.
#[derive(Debug, Clone)]
pub struct Options {
    pub events: u64,
    pub batch: u64,
    pub workers: Vec<usize>,
    /// Query names; empty means all.
    pub queries: Vec<String>,
    pub modes: Vec<Mode>,
    pub seed: u64,
    pub out: PathBuf,
    pub smoke: bool,
    /// Runs of each (query, system, workers); the report keeps the one of median wall time.
    pub repeat: u64,
}

/// What one child process runs.
#[derive(Debug, Clone)]
pub struct ChildOptions {
    pub mode: Mode,
    pub query: String,
    pub events: u64,
    pub batch: u64,
    pub workers: usize,
    pub seed: u64,
    /// Write the result rows here (sorted, one per line) if the result is small.
    pub dump: Option<PathBuf>,
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Command {
    Help,
    Run(Options),
    Child(ChildOptions),
}

/// Parses the arguments after the program name. `--bench` (added by `cargo bench`) is
/// ignored; without it (under `cargo test --benches`) the defaults are a tiny run.
pub fn parse(args: &[String]) -> Result<Command, String> {
    let benchmarking = args.iter().any(|a| a == "--bench");
    let mut options = Options {
        events: if benchmarking { DEFAULT_EVENTS } else { TEST_EVENTS },
        batch: DEFAULT_BATCH,
        workers: vec![1],
        queries: Vec::new(),
        modes: default_modes(),
        seed: 0,
        out: PathBuf::from("target/nexmark"),
        smoke: false,
        repeat: 1,
    };
    if !benchmarking {
        options.batch = SMOKE_BATCH;
    }
    let mut child: Option<(Mode, String)> = None;
    let mut dump = None;
    let mut explicit = Explicit::default();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let mut value = |name: &str| rest.next().cloned().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--bench" => {}
            "--help" | "-h" => return Ok(Command::Help),
            "--smoke" => options.smoke = true,
            "--events" => {
                options.events = number(&value("--events")?, "--events")?;
                explicit.events = true;
            }
            "--batch" => {
                options.batch = number(&value("--batch")?, "--batch")?;
                explicit.batch = true;
            }
            "--workers" => {
                options.workers = list(&value("--workers")?, |w| number(w, "--workers").map(|n| n as usize))?;
                explicit.workers = true;
            }
            "--queries" => options.queries = list(&value("--queries")?, |q| Ok(q.to_string()))?,
            "--modes" => options.modes = list(&value("--modes")?, Mode::parse)?,
            "--repeat" => options.repeat = number(&value("--repeat")?, "--repeat")?,
            "--seed" => options.seed = value("--seed")?.parse().map_err(|_| "--seed needs a number")?,
            "--out" => options.out = PathBuf::from(value("--out")?),
            "--child" => {
                let mode = Mode::parse(&value("--child")?)?;
                child = Some((mode, value("--child")?));
            }
            "--dump" => dump = Some(PathBuf::from(value("--dump")?)),
            other => return Err(format!("unknown option `{other}` (see --help)")),
        }
    }
    if options.smoke {
        options.events = if explicit.events { options.events } else { SMOKE_EVENTS };
        options.batch = if explicit.batch { options.batch } else { SMOKE_BATCH };
        options.workers = if explicit.workers { options.workers } else { vec![1, 2] };
    }
    if options.modes.contains(&Mode::Duckdb) && !cfg!(feature = "nexmark-duckdb-linked") {
        return Err("--modes duckdb needs the nexmark-duckdb (or nexmark-duckdb-linked) feature".into());
    }
    match child {
        Some((mode, query)) => Ok(Command::Child(ChildOptions {
            mode,
            query,
            events: options.events,
            batch: options.batch,
            workers: options.workers[0],
            seed: options.seed,
            dump,
        })),
        None => Ok(Command::Run(options)),
    }
}

/// Options given explicitly, which `--smoke` does not override.
#[derive(Default)]
struct Explicit {
    events: bool,
    batch: bool,
    workers: bool,
}

/// The modes run without `--modes`. DuckDB runs only when asked for.
fn default_modes() -> Vec<Mode> {
    vec![Mode::Live, Mode::Streamed, Mode::Sql, Mode::Bare, Mode::BareArranged, Mode::Batch, Mode::Recompute]
}

/// A positive number.
fn number(text: &str, name: &str) -> Result<u64, String> {
    match text.replace('_', "").parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("{name} needs a positive number, got `{text}`")),
    }
}

/// A non-empty comma-separated list.
fn list<T>(text: &str, item: impl Fn(&str) -> Result<T, String>) -> Result<Vec<T>, String> {
    let items: Vec<T> =
        text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(item).collect::<Result<_, _>>()?;
    if items.is_empty() {
        return Err(format!("empty list `{text}`"));
    }
    Ok(items)
}
