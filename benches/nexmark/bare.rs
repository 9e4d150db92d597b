//! The baseline: the query's logic as a hand-driven differential dataflow program, fed the
//! same transactions as the live run.
//!
//! Each of `w` timely workers builds three `InputSession`s, runs [`Query::logic`] on them and
//! hands the output to a collector thread (as the engine hands changes to a subscriber). For
//! transaction `k` (time `k`, as the engine's commits are numbered from 1) every worker inserts
//! its share of the events (every `w`-th, cloned, as the live run clones them into its
//! transaction), advances its inputs to `k + 1` and steps until the output is complete through
//! `k`: the same closed loop as the live run, without the engine around it. Timed on worker 0
//! from a barrier after the dataflow is built to the last transaction's completion; a
//! transaction's latency is worker 0's, from its first insert to its output being complete.
//!
//! What the ratio to the live run measures is what `ivm` adds: tables kept as arrangements,
//! the view's result arranged, sequenced commits sent over channels, and subscriptions.
//!
//! The `bare_arranged` variant has the engine's shape without the engine: each input is
//! arranged (as a table is) and read back out of its arrangement, the result is arranged (as a
//! view is) and delivered from there, and the traces are kept and compacted after every
//! transaction as the engine compacts with `Retention::LastCommits(1)`. The ratio of the live
//! run to it is what the engine's machinery costs; its ratio to `bare` is what the shape costs.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::{Arc, Barrier};
use std::time::Instant;

use crossbeam_channel::Sender;
use differential_dataflow::input::{Input as _, InputSession};
use differential_dataflow::trace::TraceReader;
use differential_dataflow::{Data, ExchangeData, Hashable, VecCollection};
use ivm::{Diff, Time};
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::operator::Operator;
use timely::progress::Antichain;

use crate::answer::{self, Answer};
use crate::args::{ChildOptions, Mode};
use crate::child::Input;
use crate::latencies;
use crate::measure::{cpu_seconds, kernel_seconds, memory_kib};
use crate::model::{Auction, Bid, Event, Person};
use crate::outcome::Outcome;
use crate::query::{Query, Streams};

/// One worker's inputs.
struct Sessions {
    persons: InputSession<Time, Person, Diff>,
    auctions: InputSession<Time, Auction, Diff>,
    bids: InputSession<Time, Bid, Diff>,
}

impl Sessions {
    fn insert(&mut self, event: &Event) {
        match event {
            Event::Person(p) => self.persons.insert(p.clone()),
            Event::Auction(a) => self.auctions.insert(a.clone()),
            Event::Bid(b) => self.bids.insert(b.clone()),
        }
    }

    fn advance_to(&mut self, t: Time) {
        self.persons.advance_to(t);
        self.auctions.advance_to(t);
        self.bids.advance_to(t);
        self.persons.flush();
        self.auctions.flush();
        self.bids.flush();
    }
}

/// What worker 0 measured: wall seconds, CPU seconds (all, and the kernel's), each
/// transaction's latency (seconds, in order).
type Timed = (f64, (f64, f64), Vec<f64>);

/// Runs query `Q` as a bare differential program.
pub fn run<Q: Query>(input: Input, options: &ChildOptions) -> Result<Outcome, String> {
    let resident_kib = input.resident_kib;
    let events = Arc::new(input.events);
    let (batch, workers, keep_rows) = (options.batch as usize, options.workers, options.dump.is_some());
    let arranged = options.mode == Mode::BareArranged;
    let (output_tx, output) = crossbeam_channel::unbounded::<Vec<(Q::Out, Time, Diff)>>();
    let collector = std::thread::spawn(move || {
        let (mut answer, mut rows) = (Answer::default(), Vec::new());
        for updates in output {
            for (row, _time, diff) in updates {
                answer.add(&row, diff);
                if keep_rows {
                    rows.push((row, diff));
                }
            }
        }
        (answer, answer::consolidate(rows))
    });
    let barrier = Arc::new(Barrier::new(workers));
    let guards = timely::execute(timely::Config::process(workers), move |worker| {
        let output_tx = output_tx.clone();
        let mut kept = Kept::default();
        let (mut sessions, done) = worker.dataflow::<Time, _, _>(|scope| {
            let (persons_in, persons) = scope.new_collection();
            let (auctions_in, auctions) = scope.new_collection();
            let (bids_in, bids) = scope.new_collection();
            let out = if arranged {
                let inputs = Streams {
                    persons: kept.arranged(persons),
                    auctions: kept.arranged(auctions),
                    bids: kept.arranged(bids),
                };
                kept.arranged(Q::logic(inputs))
            } else {
                Q::logic(Streams { persons, auctions, bids })
            };
            let done = deliver(out, output_tx);
            (Sessions { persons: persons_in, auctions: auctions_in, bids: bids_in }, done)
        });
        barrier.wait();
        let (started, cpu, kernel) = (Instant::now(), cpu_seconds(), kernel_seconds());
        let (index, peers) = (worker.index(), worker.peers());
        let (mut time, mut latencies): (Time, Vec<f64>) = (1, Vec::new());
        for chunk in events.chunks(batch) {
            let began = Instant::now();
            sessions.advance_to(time);
            for event in chunk.iter().skip(index).step_by(peers) {
                sessions.insert(event);
            }
            sessions.advance_to(time + 1);
            worker.step_or_park_while(None, || done.get() <= time);
            latencies.push(began.elapsed().as_secs_f64());
            kept.compact(time);
            time += 1;
        }
        let cpu = (cpu_seconds() - cpu, kernel_seconds() - kernel);
        let timed: Timed = (started.elapsed().as_secs_f64(), cpu, latencies);
        (index == 0).then_some(timed)
    })
    .map_err(|e| format!("timely: {e}"))?;
    let mut timed = None;
    for result in guards.join() {
        match result {
            Ok(Some(t)) => timed = Some(t),
            Ok(None) => {}
            Err(message) => return Err(format!("a bare worker failed: {message}")),
        }
    }
    let peak_kib = memory_kib().0;
    let (seconds, (cpu_seconds, kernel_seconds), latencies) = timed.ok_or("worker 0 reported nothing")?;
    latencies::write(&latencies, options)?;
    let (answer, rows) = collector.join().map_err(|_| "the collector panicked")?;
    let dumped = match &options.dump {
        Some(path) => answer::dump(&rows, path).map_err(|e| format!("dump {}: {e}", path.display()))?,
        None => false,
    };
    Ok(Outcome {
        transactions: latencies.len() as u64,
        seconds,
        cpu_seconds,
        kernel_seconds,
        latency_p50_us: Some(latencies::quantile(&latencies, 0.5) * 1e6),
        latency_p99_us: Some(latencies::quantile(&latencies, 0.99) * 1e6),
        peak_mib: peak_kib.saturating_sub(resident_kib) as f64 / 1024.0,
        input_mib: resident_kib as f64 / 1024.0,
        answer,
        rows: rows.len() as u64,
        dumped,
        ..Outcome::default()
    })
}

/// The traces a `bare_arranged` worker keeps, as the engine keeps its tables and views.
#[derive(Default)]
struct Kept(Vec<Box<dyn Compact>>);

impl Kept {
    /// `collection` arranged by row, its trace kept, and read back out of the arrangement.
    fn arranged<'s, D: ExchangeData + Hashable>(
        &mut self,
        collection: VecCollection<'s, Time, D, Diff>,
    ) -> VecCollection<'s, Time, D, Diff> {
        let arranged = collection.arrange_by_self();
        self.0.push(Box::new(arranged.trace.clone()));
        arranged.as_collection(|row, _| row.clone())
    }

    /// Keeps only time `t` readable and lets batches merge up to it, as the engine does with
    /// `Retention::LastCommits(1)` once `t` is complete.
    fn compact(&mut self, t: Time) {
        for trace in &mut self.0 {
            trace.compact(t);
        }
    }
}

/// Compaction of a trace, whatever its types.
trait Compact {
    fn compact(&mut self, t: Time);
}

impl<Tr: TraceReader<Time = Time>> Compact for Tr {
    fn compact(&mut self, t: Time) {
        self.set_logical_compaction(Antichain::from_elem(t).borrow());
        self.set_physical_compaction(Antichain::from_elem(t + 1).borrow());
    }
}

/// Sends the output's updates to the collector; the returned cell holds the output's frontier
/// (every time before it is complete and sent).
fn deliver<D: Data>(
    out: VecCollection<'_, Time, D, Diff>,
    collector: Sender<Vec<(D, Time, Diff)>>,
) -> Rc<Cell<Time>> {
    let done = Rc::new(Cell::new(0));
    let frontier_seen = Rc::clone(&done);
    out.inner.sink(Pipeline, "Deliver", move |(input, frontier)| {
        input.for_each(|_time, data| {
            let _ = collector.send(std::mem::take(data));
        });
        frontier_seen.set(frontier.frontier().first().copied().unwrap_or(Time::MAX));
    });
    done
}
