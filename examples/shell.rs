//! An interactive SQL shell on an `ivm` engine: type statements (end each with `;`), see
//! results as aligned tables with timings; `SUBSCRIBE` prints changes as they arrive until
//! Ctrl-C. Line editing and history (kept in `~/.ivm_sql_history`).
//!
//! ```sh
//! cargo run --release --features sql --example shell                      # in memory
//! cargo run --release --features sql --example shell -- --storage ./data  # kept on disk
//! cargo run --release --features sql --example shell -- --demo            # a live table of bids
//! echo "SELECT 1 + 1;" | cargo run --release --features sql --example shell
//! ```
//!
//! Meta-commands: `\d` lists tables and views, `\q` quits. Read from a pipe, the shell stops
//! at the first failing statement with exit code 1.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ivm::sql::{Outcome, Sql, SqlSubscription};
use ivm::{Config, Engine};
use rustyline::DefaultEditor;
use rustyline::error::ReadlineError;

struct Options {
    workers: usize,
    storage: Option<String>,
    demo: bool,
}

fn options() -> Result<Options, String> {
    let mut options = Options { workers: 2, storage: None, demo: false };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--workers" => {
                options.workers =
                    args.next().and_then(|n| n.parse().ok()).ok_or("--workers takes a number")?
            }
            "--storage" => options.storage = Some(args.next().ok_or("--storage takes a directory")?),
            "--demo" => options.demo = true,
            other => return Err(format!("unknown argument {other}; use --workers N, --storage DIR, --demo")),
        }
    }
    Ok(options)
}

fn main() {
    let options = match options() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    let mut config = Config::default().with_workers(options.workers);
    if let Some(dir) = &options.storage {
        config = config.with_storage(dir);
    }
    let engine = Engine::start(config).unwrap_or_else(|e| fail(&format!("cannot start the engine: {e}")));
    let sql = Arc::new(Sql::open(&engine).unwrap_or_else(|e| fail(&format!("cannot open SQL: {e}"))));
    // Ctrl-C ends a running SUBSCRIBE (and otherwise reaches the line editor as an interrupt).
    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&interrupted);
    ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst)).unwrap_or_else(|e| fail(&format!("{e}")));
    if options.demo {
        demo(&sql);
    }
    let interactive = std::io::stdin().is_terminal();
    if interactive {
        println!("ivm SQL shell: statements end with ';'. \\d lists tables and views, \\q quits.");
    }
    let mut editor = DefaultEditor::new().unwrap_or_else(|e| fail(&format!("{e}")));
    let history = std::env::var("HOME").map(|home| format!("{home}/.ivm_sql_history")).ok();
    if let Some(history) = &history {
        let _ = editor.load_history(history);
    }
    let mut connection = sql.connection();
    let mut pending = String::new();
    loop {
        let prompt = if pending.is_empty() { "ivm> " } else { "...> " };
        let line = match editor.readline(prompt) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => {
                pending.clear();
                continue;
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => fail(&format!("{e}")),
        };
        let trimmed = line.trim();
        if pending.is_empty() && trimmed.starts_with('\\') {
            match trimmed {
                "\\q" => break,
                "\\d" => {
                    for (name, kind) in sql.names() {
                        println!("  {name:<24} {kind}");
                    }
                }
                other => println!("unknown command {other}: \\d lists tables and views, \\q quits"),
            }
            continue;
        }
        pending.push_str(&line);
        pending.push('\n');
        if !trimmed.ends_with(';') {
            continue;
        }
        let text = std::mem::take(&mut pending);
        let _ = editor.add_history_entry(text.trim());
        let started = Instant::now();
        match connection.execute(&text) {
            Ok(outcome) => show(outcome, started, &interrupted),
            Err(error) => {
                println!("ERROR: {error}");
                if !interactive {
                    std::process::exit(1);
                }
            }
        }
    }
    if let Some(history) = &history {
        let _ = editor.save_history(history);
    }
    if !pending.trim().is_empty() {
        println!("ignored an unfinished statement (no ';'): {}", pending.trim());
    }
    engine.shutdown();
}

fn show(outcome: Outcome, started: Instant, interrupted: &AtomicBool) {
    let took = started.elapsed();
    match outcome {
        Outcome::Rows(rows) => println!("{rows}\n(at time {}, {took:.1?})", rows.time()),
        Outcome::Created { kind, name } => println!("created {kind} {name} ({took:.1?})"),
        Outcome::Dropped { kind, names } if names.is_empty() => println!("no {kind} to drop"),
        Outcome::Dropped { kind, names } => println!("dropped {kind} {} ({took:.1?})", names.join(", ")),
        Outcome::Changed { rows, time: Some(t) } => {
            println!("{rows} rows, committed at time {t} ({took:.1?})")
        }
        Outcome::Changed { rows, time: None } => println!("{rows} rows (pending until COMMIT)"),
        Outcome::Began => println!("BEGIN"),
        Outcome::Committed(Some(t)) => println!("COMMIT at time {t} ({took:.1?})"),
        Outcome::Committed(None) => println!("COMMIT (nothing written)"),
        Outcome::RolledBack => println!("ROLLBACK"),
        Outcome::Plan(plan) => print!("{plan}"),
        Outcome::Subscribed(subscription) => follow(subscription, interrupted),
        other => println!("{other:?}"),
    }
}

/// Prints a subscription's changes until Ctrl-C (or its end).
fn follow(mut subscription: SqlSubscription, interrupted: &AtomicBool) {
    interrupted.store(false, Ordering::SeqCst);
    println!("{} | time | diff   (Ctrl-C to stop)", subscription.names().join(" | "));
    while !interrupted.load(Ordering::SeqCst) {
        match subscription.next_timeout(Duration::from_millis(200)) {
            Ok(Some(batch)) => {
                for (row, time, diff) in batch.updates {
                    let cells: Vec<String> = row.iter().map(ToString::to_string).collect();
                    println!("{} | {time} | {diff:+}", cells.join(" | "));
                }
                for (error, time, diff) in batch.errors {
                    println!("ERROR {error} | {time} | {diff:+}");
                }
            }
            Ok(None) => break,
            Err(ivm::sql::SqlError::Engine(ivm::Error::Timeout { .. })) => {}
            Err(error) => {
                println!("ERROR: {error}");
                break;
            }
        }
    }
}

/// A table of bids that a thread of its own keeps writing to, and a view over it.
fn demo(sql: &Arc<Sql>) {
    let setup = "CREATE TABLE IF NOT EXISTS bids (auction BIGINT, bidder TEXT, price BIGINT);
                 CREATE VIEW IF NOT EXISTS best AS SELECT auction, MAX(price) AS price, COUNT(*) AS bids FROM bids GROUP BY auction";
    sql.execute(setup).unwrap_or_else(|e| fail(&format!("{e}")));
    println!(
        "demo: a bid is written every half second into `bids`; try SELECT * FROM best; or SUBSCRIBE best;"
    );
    let sql = Arc::clone(sql);
    std::thread::spawn(move || {
        let mut n: u64 = 1;
        loop {
            n = n.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let (auction, price) = ((n >> 60) % 5, (n >> 40) % 1000);
            let bidder = ["ada", "bob", "cy"][((n >> 20) % 3) as usize];
            if sql.execute(&format!("INSERT INTO bids VALUES ({auction}, '{bidder}', {price})")).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    });
}

fn fail(message: &str) -> ! {
    eprintln!("{message}");
    std::process::exit(1)
}
