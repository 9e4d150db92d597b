//! The baseline for `commit_then_read`: a bare differential program on timely worker threads,
//! driven from the application thread with the same cross-thread round trip as the engine.
//!
//! Each worker runs a command loop (pattern A of DD-NOTES Q1): it drains its channel, answers
//! the pending read once its probe has passed the time, and otherwise parks in
//! `step_or_park(None)`; the application unparks it after every send. A round is: the row to one
//! worker (round robin), `Advance` to every worker, then wait for every worker's reply.

use std::thread::Thread;

use crossbeam_channel::{Receiver, Sender, TryRecvError};
use differential_dataflow::input::{Input, InputSession};
use differential_dataflow::operators::arrange::TraceAgent;
use differential_dataflow::trace::TraceReader;
use differential_dataflow::trace::cursor::{Cursor, cursor_list};
use differential_dataflow::trace::implementations::KeySpine;
use timely::communication::WorkerGuards;
use timely::dataflow::operators::probe::{Handle, Probe};
use timely::progress::Antichain;
use timely::worker::Worker;

/// One system under test: commits one row, then reads the count-per-key view at its time.
pub trait RoundTrip {
    /// The name criterion reports, `system/workers`.
    fn name(&self) -> String;
    /// Commits `row` and returns the number of rows in the view at the commit's time.
    fn commit_then_read(&mut self, row: (u64, u64)) -> usize;
}

/// Which dataflow the bare program runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// input -> map(key) -> count -> probe; replies without reading anything.
    ProbeOnly,
    /// The engine's shape: the input arranged by row (a table), the count arranged by row (a
    /// view) and read whole at the time on every worker.
    SameAsEngine,
    /// `SameAsEngine` split as the engine splits it: the table is one dataflow, and the view
    /// is a second one that imports the table's arrangement.
    TwoDataflows,
}

type Row = (u64, u64);
type Count = (u64, isize);
type RowTrace = TraceAgent<KeySpine<Row, u64, isize>>;
type ViewTrace = TraceAgent<KeySpine<Count, u64, isize>>;
/// Where a worker sends its shard of the view.
type Reply = Sender<Vec<(Count, isize)>>;

enum Command {
    /// Rows to insert at the current time.
    Insert(Vec<Row>),
    /// Close the current time (`upper - 1`) and reply once the view is complete through it.
    Advance { upper: u64, reply: Reply },
}

/// The bare program, as seen from the application thread.
pub struct Bare {
    senders: Vec<Sender<Command>>,
    threads: Vec<Thread>,
    guards: Option<WorkerGuards<()>>,
    shape: Shape,
    /// The time the next commit gets.
    time: u64,
    next_writer: usize,
}

impl Bare {
    /// Starts `workers` worker threads, loads `preload` at time 0 and waits until it is in.
    pub fn start(workers: usize, shape: Shape, preload: impl Iterator<Item = Row>, retained: u64) -> Self {
        let (senders, receivers): (Vec<_>, Vec<_>) =
            (0..workers).map(|_| crossbeam_channel::unbounded()).unzip();
        let (ready, ready_rx) = crossbeam_channel::unbounded();
        let guards = timely::execute(timely::Config::process(workers), move |worker| {
            let commands = receivers[worker.index()].clone();
            ready.send((worker.index(), std::thread::current())).expect("app waits for workers");
            run_worker(worker, commands, shape, retained);
        })
        .expect("timely starts");
        let mut threads: Vec<Option<Thread>> = vec![None; workers];
        for _ in 0..workers {
            let (index, thread) = ready_rx.recv().expect("every worker reports in");
            threads[index] = Some(thread);
        }
        let threads = threads.into_iter().map(|t| t.expect("reported")).collect();
        let mut bare = Bare { senders, threads, guards: Some(guards), shape, time: 0, next_writer: 0 };
        let mut shares = vec![Vec::new(); workers];
        for (i, row) in preload.enumerate() {
            shares[i % workers].push(row);
        }
        for (worker, share) in shares.into_iter().enumerate() {
            bare.send(worker, Command::Insert(share));
        }
        bare.advance();
        bare
    }

    fn send(&self, worker: usize, command: Command) {
        self.senders[worker].send(command).expect("worker runs");
        self.threads[worker].unpark();
    }

    /// Closes the current time on every worker and gathers the view at it.
    fn advance(&mut self) -> Vec<(Count, isize)> {
        let (reply, answers) = crossbeam_channel::unbounded();
        for worker in 0..self.senders.len() {
            self.send(worker, Command::Advance { upper: self.time + 1, reply: reply.clone() });
        }
        drop(reply);
        let mut rows: Vec<(Count, isize)> = answers.iter().flatten().collect();
        rows.sort_unstable_by_key(|row| row.0);
        self.time += 1;
        rows
    }
}

impl RoundTrip for Bare {
    fn name(&self) -> String {
        let base = match self.shape {
            Shape::ProbeOnly => "bare",
            Shape::SameAsEngine => "bare_same_shape",
            Shape::TwoDataflows => "bare_two_dataflows",
        };
        format!("{base}/{}", self.senders.len())
    }

    fn commit_then_read(&mut self, row: Row) -> usize {
        self.next_writer = (self.next_writer + 1) % self.senders.len();
        self.send(self.next_writer, Command::Insert(vec![row]));
        self.advance().len()
    }
}

impl Drop for Bare {
    fn drop(&mut self) {
        self.senders.clear();
        for thread in &self.threads {
            thread.unpark();
        }
        if let Some(guards) = self.guards.take() {
            let _ = guards.join();
        }
    }
}

/// The traces a worker keeps for `Shape::SameAsEngine`.
struct Traces {
    table: RowTrace,
    view: ViewTrace,
}

fn run_worker(worker: &mut Worker, commands: Receiver<Command>, shape: Shape, retained: u64) {
    let (mut input, probe, mut traces) = build(worker, shape);
    let mut pending: Option<(u64, Reply)> = None;
    loop {
        match commands.try_recv() {
            Ok(Command::Insert(rows)) => rows.into_iter().for_each(|row| input.insert(row)),
            Ok(Command::Advance { upper, reply }) => {
                input.advance_to(upper);
                input.flush();
                pending = Some((upper - 1, reply));
            }
            Err(TryRecvError::Disconnected) => return,
            Err(TryRecvError::Empty) => {
                if pending.as_ref().is_some_and(|(t, _)| !probe.less_equal(t)) {
                    let (t, reply) = pending.take().expect("checked");
                    let rows = traces.as_mut().map(|traces| read_at(traces, t, retained));
                    let _ = reply.send(rows.unwrap_or_default());
                }
                worker.step_or_park(None);
            }
        }
    }
}

fn build(worker: &mut Worker, shape: Shape) -> (InputSession<u64, Row, isize>, Handle<u64>, Option<Traces>) {
    if shape == Shape::TwoDataflows {
        return build_two_dataflows(worker);
    }
    worker.dataflow::<u64, _, _>(|scope| {
        let (input, rows) = scope.new_collection::<Row, isize>();
        match shape {
            Shape::ProbeOnly => {
                let (probe, _) = rows.map(|(k, _)| k).count().probe();
                (input, probe, None)
            }
            Shape::SameAsEngine => {
                let table = rows.arrange_by_self();
                let table_trace = table.trace.clone();
                let view = table.as_collection(|row, _| *row).map(|(k, _)| k).count().arrange_by_self();
                let view_trace = view.trace.clone();
                let (probe, _) = view.stream.probe();
                (input, probe, Some(Traces { table: table_trace, view: view_trace }))
            }
            Shape::TwoDataflows => unreachable!("built by build_two_dataflows"),
        }
    })
}

fn build_two_dataflows(worker: &mut Worker) -> (InputSession<u64, Row, isize>, Handle<u64>, Option<Traces>) {
    let (input, mut table) = worker.dataflow::<u64, _, _>(|scope| {
        let (input, rows) = scope.new_collection::<Row, isize>();
        (input, rows.arrange_by_self().trace)
    });
    let (probe, view) = worker.dataflow::<u64, _, _>(|scope| {
        let rows = table.import(scope).as_collection(|row, _| *row);
        let view = rows.map(|(k, _)| k).count().arrange_by_self();
        let trace = view.trace.clone();
        (view.stream.probe().0, trace)
    });
    (input, probe, Some(Traces { table, view }))
}

/// Reads the view shard at `t` (as the engine's peek does), then compacts both traces to keep
/// the last `retained` times readable.
fn read_at(traces: &mut Traces, t: u64, retained: u64) -> Vec<(Count, isize)> {
    let batches = traces.view.batches_through(Antichain::new().borrow()).expect("trace open");
    let (mut cursor, storage) = cursor_list(batches);
    let mut rows = Vec::new();
    while let Some(key) = cursor.get_key(&storage) {
        while cursor.get_val(&storage).is_some() {
            let mut sum = 0;
            cursor.map_times(&storage, |time, diff| {
                if *time <= t {
                    sum += *diff;
                }
            });
            if sum != 0 {
                rows.push((*key, sum));
            }
            cursor.step_val(&storage);
        }
        cursor.step_key(&storage);
    }
    let since = Antichain::from_elem((t + 1).saturating_sub(retained));
    let upper = Antichain::from_elem(t + 1);
    traces.table.set_logical_compaction(since.borrow());
    traces.table.set_physical_compaction(upper.borrow());
    traces.view.set_logical_compaction(since.borrow());
    traces.view.set_physical_compaction(upper.borrow());
    rows
}
