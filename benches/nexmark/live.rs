//! The live run: the query as an `ivm` view, the events committed in transactions, a
//! subscriber thread reading the view's changes. In the `live` mode the inputs are tables (kept
//! arranged); in the `streamed` mode they are streamed tables, which keep nothing.
//!
//! The loop is closed: each transaction is committed and then waited for until the subscriber
//! holds its changes, so a transaction's latency is its own (from the start of the `commit`
//! call to the subscriber thread holding the batch that contains the commit's time) and no
//! backlog builds up. The subscriber fingerprints what it got on its own thread, after it
//! reported the batch held, so the committing thread does not wait for that work.
//!
//! After the timed loop: the view is read at the last commit, and its fingerprint must equal the
//! summed subscription's. Then a tail of small transactions (1,000 events) is committed on top of
//! the final state and timed the same way: the cost of one small transaction on a big state,
//! which the harness sets against one full recomputation.

use std::fmt::Debug;
use std::hash::Hash;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use ivm::{
    Batch, Config, Diff, Engine, Retention, Row, SubscribeOptions, Subscription, Table, Time, Transaction,
};

use crate::answer::{self, Answer};
use crate::args::{ChildOptions, Mode};
use crate::child::Input;
use crate::latencies;
use crate::measure::{cpu_seconds, kernel_seconds, median, memory_kib};
use crate::model::Event;
use crate::outcome::Outcome;
use crate::query::{Query, Tables};

/// Events per transaction of the tail.
pub const TAIL_BATCH: u64 = 1_000;
/// Transactions of the tail.
pub const TAIL_TRANSACTIONS: u64 = 50;

/// What the subscriber thread reports.
enum Held {
    /// It holds every change before `upper`, since `at`.
    Reached { upper: Time, at: Instant },
    /// The fingerprint of every change before `upper`.
    Summed { upper: Time, answer: Answer },
    /// It stopped: the subscription failed, or a change could not be read.
    Failed(String),
}

/// A view's changes as the subscriber thread reads them: a Rust view's [`Subscription`], or an
/// SQL view's (`crate::sql_live`).
pub trait Changes: Send + 'static {
    /// One batch of changes.
    type Batch: Send;

    /// The next complete batch; `None` once the subscription has ended.
    fn next_batch(&mut self) -> Option<Result<Self::Batch, String>>;

    /// The first time `batch` does not cover.
    fn upper(batch: &Self::Batch) -> Time;

    /// Adds `batch`'s changes to `answer`.
    fn add(&self, batch: Self::Batch, answer: &mut Answer) -> Result<(), String>;
}

impl<R: Row> Changes for Subscription<R> {
    type Batch = Batch<R>;

    fn next_batch(&mut self) -> Option<Result<Batch<R>, String>> {
        self.next().map(|batch| batch.map_err(|e| e.to_string()))
    }

    fn upper(batch: &Batch<R>) -> Time {
        batch.upper
    }

    fn add(&self, batch: Batch<R>, answer: &mut Answer) -> Result<(), String> {
        for (row, _time, diff) in &batch.updates {
            answer.add(row, *diff);
        }
        Ok(())
    }
}

/// Runs query `Q` live: in the `live` mode a view over tables, read at the end; in the
/// `streamed` mode a streamed view (nothing kept) over streamed tables, whose reading is its
/// summed subscription (a read of it would need the inputs' history, which an engine without
/// storage does not keep).
pub fn run<Q: Query>(input: &Input, options: &ChildOptions) -> Result<Outcome, String> {
    with_engine(options, |engine, tables| {
        let definition = Q::definition(tables);
        let streamed = options.mode == Mode::Streamed;
        let view = match streamed {
            true => engine.streamed_view_from(Q::NAME, &definition),
            false => engine.view_from(Q::NAME, &definition),
        }
        .map_err(failed("view"))?;
        let subscription = view.subscribe_with(SubscribeOptions::default()).map_err(failed("subscribe"))?;
        let at = |t| match streamed {
            true => Ok(None),
            false => view.at(t).map(Some).map_err(|e| format!("view.at({t}): {e}")),
        };
        drive(engine, tables, input, options, at, subscription)
    })
}

/// Starts an engine like the live run's, with the three tables, and runs `body` on it.
pub fn with_engine(
    options: &ChildOptions,
    body: impl FnOnce(&Engine, &Tables) -> Result<Outcome, String>,
) -> Result<Outcome, String> {
    let config = Config::default().with_workers(options.workers).with_retention(Retention::LastCommits(1));
    // `IVM_NEXMARK_IDLE_MERGE=<effort>`: merge traces between transactions (latency experiments).
    let config = match std::env::var("IVM_NEXMARK_IDLE_MERGE").ok().and_then(|effort| effort.parse().ok()) {
        Some(effort) => config.with_idle_merge_effort(effort),
        None => config,
    };
    let engine = Engine::start(config).map_err(|e| format!("engine start: {e}"))?;
    let streamed = options.mode == Mode::Streamed;
    let tables = Tables {
        persons: input(&engine, "persons", streamed).map_err(failed("table"))?,
        auctions: input(&engine, "auctions", streamed).map_err(failed("table"))?,
        bids: input(&engine, "bids", streamed).map_err(failed("table"))?,
    };
    let result = body(&engine, &tables);
    engine.shutdown();
    result
}

/// The input table `name`: a streamed table (which keeps nothing: events flow into the view
/// and are gone) in the `streamed` mode, a table otherwise.
fn input<T: Row>(engine: &Engine, name: &str, streamed: bool) -> ivm::Result<Table<T>> {
    if streamed { engine.streamed_table(name) } else { engine.table(name) }
}

/// An engine error as the harness's message, saying what failed.
pub fn failed(what: &'static str) -> impl Fn(ivm::Error) -> String {
    move |e| format!("{what}: {e}")
}

/// The timed loop, over a view read with `at` (`None`: it cannot be read, and its summed
/// subscription is its result) and subscribed to through `changes`.
pub fn drive<R: Ord + Hash + Debug>(
    engine: &Engine,
    tables: &Tables,
    input: &Input,
    options: &ChildOptions,
    at: impl Fn(Time) -> Result<Option<Vec<(R, Diff)>>, String>,
    changes: impl Changes,
) -> Result<Outcome, String> {
    let (held_tx, held) = crossbeam_channel::unbounded();
    let subscriber = spawn_subscriber(changes, held_tx);

    let (cpu, kernel, started) = (cpu_seconds(), kernel_seconds(), Instant::now());
    let mut latencies = Vec::new();
    let mut last = 0;
    for chunk in input.events.chunks(options.batch as usize) {
        let (t, latency) = transaction(engine, tables, chunk, &held)?;
        latencies.push(latency.as_secs_f64());
        last = t;
    }
    let seconds = started.elapsed().as_secs_f64();
    let (cpu_seconds, kernel_seconds) = (cpu_seconds() - cpu, kernel_seconds() - kernel);
    let peak_kib = memory_kib().0;
    latencies::write(&latencies, options)?;

    let read = at(last)?;
    let summed = summed_through(&held, last)?;
    let (answer, rows, dumped, also) = match read {
        Some(rows) => {
            let (answer, rows, dumped) = read_view(rows, options)?;
            (answer, rows, dumped, vec![("summed subscription".into(), summed)])
        }
        None => (summed, summed.count.max(0) as u64, false, Vec::new()),
    };
    let tail = tail(engine, tables, &input.tail, &held)?;
    engine.shutdown();
    let _ = subscriber.join();
    Ok(Outcome {
        transactions: latencies.len() as u64,
        seconds,
        cpu_seconds,
        kernel_seconds,
        peak_mib: peak_kib.saturating_sub(input.resident_kib) as f64 / 1024.0,
        input_mib: input.resident_kib as f64 / 1024.0,
        latency_p50_us: Some(latencies::quantile(&latencies, 0.5) * 1e6),
        latency_p99_us: Some(latencies::quantile(&latencies, 0.99) * 1e6),
        answer,
        also,
        rows,
        dumped,
        tail_seconds: tail.map(|(seconds, _)| seconds),
        tail_batch: tail.map(|(_, batch)| batch),
        ..Outcome::default()
    })
}

/// The subscriber: reports each batch held, then its running fingerprint.
fn spawn_subscriber<C: Changes>(mut changes: C, held: Sender<Held>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut answer = Answer::default();
        while let Some(batch) = changes.next_batch() {
            let batch = match batch {
                Ok(batch) => batch,
                Err(message) => {
                    let _ = held.send(Held::Failed(format!("subscription: {message}")));
                    return;
                }
            };
            let (upper, at) = (C::upper(&batch), Instant::now());
            if held.send(Held::Reached { upper, at }).is_err() {
                return;
            }
            if let Err(message) = changes.add(batch, &mut answer) {
                let _ = held.send(Held::Failed(message));
                return;
            }
            if held.send(Held::Summed { upper, answer }).is_err() {
                return;
            }
        }
    })
}

/// Commits `events` as one transaction and waits until the subscriber holds it; returns the
/// commit time and the latency from the start of the call.
fn transaction(
    engine: &Engine,
    tables: &Tables,
    events: &[Event],
    held: &Receiver<Held>,
) -> Result<(Time, Duration), String> {
    let called = Instant::now();
    let t = engine.commit(|tx| insert(tx, tables, events)).map_err(|e| format!("commit: {e}"))?;
    loop {
        match held.recv_timeout(Duration::from_secs(600)) {
            Ok(Held::Reached { upper, at }) if upper > t => {
                return Ok((t, at.saturating_duration_since(called)));
            }
            Ok(Held::Failed(message)) => return Err(message),
            Ok(_) => {}
            Err(_) => return Err(format!("the subscriber did not get time {t} within 10 minutes")),
        }
    }
}

/// Buffers clones of `events` in `tx`, one bulk insert per table (the harness keeps its copy,
/// so memory is measured beside it).
fn insert(tx: &mut Transaction, tables: &Tables, events: &[Event]) {
    let persons = events.iter().filter_map(|e| if let Event::Person(p) = e { Some(p.clone()) } else { None });
    tx.insert_all(&tables.persons, persons);
    let auctions =
        events.iter().filter_map(|e| if let Event::Auction(a) = e { Some(a.clone()) } else { None });
    tx.insert_all(&tables.auctions, auctions);
    let bids = events.iter().filter_map(|e| if let Event::Bid(b) = e { Some(b.clone()) } else { None });
    tx.insert_all(&tables.bids, bids);
}

/// The view's rows at the last commit: their fingerprint, their number, and whether they were
/// dumped.
fn read_view<R: Ord + Hash + Debug>(
    rows: Vec<(R, Diff)>,
    options: &ChildOptions,
) -> Result<(Answer, u64, bool), String> {
    let rows = answer::consolidate(rows);
    let dumped = match &options.dump {
        Some(path) => answer::dump(&rows, path).map_err(|e| format!("dump {}: {e}", path.display()))?,
        None => false,
    };
    Ok((Answer::of(&rows), rows.len() as u64, dumped))
}

/// The subscriber's fingerprint of every change through `t`.
fn summed_through(held: &Receiver<Held>, t: Time) -> Result<Answer, String> {
    loop {
        match held.recv_timeout(Duration::from_secs(600)) {
            Ok(Held::Summed { upper, answer }) if upper > t => return Ok(answer),
            Ok(Held::Failed(message)) => return Err(message),
            Ok(_) => {}
            Err(_) => return Err(format!("the subscriber did not sum time {t} within 10 minutes")),
        }
    }
}

/// Times the tail's small transactions; the median seconds of one, and the transaction size.
fn tail(
    engine: &Engine,
    tables: &Tables,
    events: &[Event],
    held: &Receiver<Held>,
) -> Result<Option<(f64, u64)>, String> {
    let mut times = Vec::new();
    for chunk in events.chunks(TAIL_BATCH as usize) {
        times.push(transaction(engine, tables, chunk, held)?.1.as_secs_f64());
    }
    Ok((!times.is_empty()).then(|| (median(times), TAIL_BATCH)))
}
