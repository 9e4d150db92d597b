//! The baseline for `subscribe`: a bare differential program whose view ends in a sink that
//! hands every update and the worker's frontier to an application-side subscriber thread over a
//! channel, driven from the application thread as the engine is.
//!
//! Each worker runs a command loop: it drains its channel (rows to insert, advances) and
//! otherwise parks in `step_or_park(None)`; the application unparks it after every send. The
//! sink sends `(worker, updates, frontier)` whenever it saw updates or its frontier moved. The
//! subscriber thread keeps each worker's frontier and the unread updates, and once the least
//! frontier passes the last batch's upper it cuts a batch `[lower, upper)`, consolidates it and
//! "holds" it: it reports `(upper, updates, Instant::now())` to the application, as the engine's
//! subscriber thread does after `Subscription::next` returns.

use std::thread::{JoinHandle, Thread};
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender, TryRecvError};
use differential_dataflow::consolidation::consolidate_updates;
use differential_dataflow::input::Input;
use differential_dataflow::operators::arrange::TraceAgent;
use differential_dataflow::trace::TraceReader;
use differential_dataflow::trace::implementations::KeySpine;
use differential_dataflow::{Data, VecCollection};
use timely::communication::WorkerGuards;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::operator::Operator;
use timely::progress::Antichain;
use timely::worker::Worker;

/// A batch the subscriber holds: its upper, its number of updates, and when it got it.
pub type Held = (u64, usize, Instant);

/// Which view the bare program keeps, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `map(key) -> count -> sink`: no arrangement kept.
    CountMinimal,
    /// The engine's shape for a count view: the input arranged (a table), the count arranged
    /// (a view), the sink on the view's arranged stream; both traces compacted to the last
    /// `retained` times.
    CountLikeEngine,
    /// `map(swap) -> sink`: no arrangement kept.
    SwapMinimal,
    /// The engine's shape for a `map(swap)` view: input arranged, result arranged, sink on it.
    SwapLikeEngine,
}

impl Shape {
    /// The name reported for this shape.
    pub fn name(self) -> &'static str {
        match self {
            Shape::CountMinimal | Shape::SwapMinimal => "bare",
            Shape::CountLikeEngine | Shape::SwapLikeEngine => "bare_same_shape",
        }
    }
}

type Row = (u64, u64);
type Update<D> = (D, u64, isize);
type RowTrace = TraceAgent<KeySpine<Row, u64, isize>>;
type CountTrace = TraceAgent<KeySpine<(u64, isize), u64, isize>>;

enum Command {
    /// Rows to insert at the current time.
    Insert(Vec<Row>),
    /// Close the current time: no more rows before `upper`.
    Advance { upper: u64 },
}

/// What a worker's sink sends: its index, new updates, and its frontier (`None`: done).
type Pushed<D> = (usize, Vec<Update<D>>, Option<u64>);

/// The bare program and its subscriber thread, as seen from the application thread.
pub struct Bare {
    senders: Vec<Sender<Command>>,
    threads: Vec<Thread>,
    guards: Option<WorkerGuards<()>>,
    subscriber: Option<JoinHandle<()>>,
    held: Receiver<Held>,
    shape: Shape,
    /// The time the next commit gets.
    time: u64,
    next_writer: usize,
}

impl Bare {
    /// Starts `workers` workers and the subscriber thread. Nothing is committed yet: the first
    /// commit gets time 0.
    pub fn start(workers: usize, shape: Shape, retained: u64) -> Self {
        let (senders, receivers): (Vec<_>, Vec<_>) =
            (0..workers).map(|_| crossbeam_channel::unbounded()).unzip();
        let (ready, ready_rx) = crossbeam_channel::unbounded();
        let (held_tx, held) = crossbeam_channel::unbounded();
        let (guards, subscriber) = match shape {
            Shape::CountMinimal | Shape::CountLikeEngine => {
                let (pushed_tx, pushed) = crossbeam_channel::unbounded::<Pushed<(u64, isize)>>();
                let guards = timely::execute(timely::Config::process(workers), move |worker| {
                    let commands = receivers[worker.index()].clone();
                    ready.send((worker.index(), std::thread::current())).expect("app waits for workers");
                    run_worker(worker, commands, shape, retained, pushed_tx.clone());
                })
                .expect("timely starts");
                (guards, std::thread::spawn(move || subscribe(workers, pushed, held_tx)))
            }
            Shape::SwapMinimal | Shape::SwapLikeEngine => {
                let (pushed_tx, pushed) = crossbeam_channel::unbounded::<Pushed<Row>>();
                let guards = timely::execute(timely::Config::process(workers), move |worker| {
                    let commands = receivers[worker.index()].clone();
                    ready.send((worker.index(), std::thread::current())).expect("app waits for workers");
                    run_worker(worker, commands, shape, retained, pushed_tx.clone());
                })
                .expect("timely starts");
                (guards, std::thread::spawn(move || subscribe(workers, pushed, held_tx)))
            }
        };
        let mut threads: Vec<Option<Thread>> = vec![None; workers];
        for _ in 0..workers {
            let (index, thread) = ready_rx.recv().expect("every worker reports in");
            threads[index] = Some(thread);
        }
        let threads = threads.into_iter().map(|t| t.expect("reported")).collect();
        Bare {
            senders,
            threads,
            guards: Some(guards),
            subscriber: Some(subscriber),
            held,
            shape,
            time: 0,
            next_writer: 0,
        }
    }

    /// The name reported for this system, `bare.../workers`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.shape.name(), self.senders.len())
    }

    fn send(&self, worker: usize, command: Command) {
        self.senders[worker].send(command).expect("worker runs");
        self.threads[worker].unpark();
    }

    /// Commits `rows` at the next time, which it returns: one share per worker if there are
    /// many rows (as the engine splits bulk writes), else all to one worker, round robin.
    pub fn commit(&mut self, rows: Vec<Row>) -> u64 {
        let workers = self.senders.len();
        if rows.len() >= 4_096 && workers > 1 {
            let mut shares = vec![Vec::with_capacity(rows.len() / workers + 1); workers];
            for (i, row) in rows.into_iter().enumerate() {
                shares[i % workers].push(row);
            }
            for (worker, share) in shares.into_iter().enumerate() {
                self.send(worker, Command::Insert(share));
            }
        } else {
            self.next_writer = (self.next_writer + 1) % workers;
            self.send(self.next_writer, Command::Insert(rows));
        }
        let time = self.time;
        for worker in 0..workers {
            self.send(worker, Command::Advance { upper: time + 1 });
        }
        self.time += 1;
        time
    }

    /// The batches the subscriber thread holds, in order.
    pub fn held(&self) -> &Receiver<Held> {
        &self.held
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
        if let Some(subscriber) = self.subscriber.take() {
            let _ = subscriber.join();
        }
    }
}

/// The subscriber thread: gathers the workers' pushes into batches and reports each one held.
fn subscribe<D: Data>(workers: usize, pushed: Receiver<Pushed<D>>, held: Sender<Held>) {
    let mut frontiers = vec![0u64; workers];
    let mut pending: Vec<Update<D>> = Vec::new();
    let mut lower = 0;
    for (worker, updates, frontier) in pushed {
        pending.extend(updates);
        frontiers[worker] = frontier.unwrap_or(u64::MAX);
        let upper = frontiers.iter().copied().min().expect("at least one worker");
        if upper > lower {
            let (mut batch, rest): (Vec<_>, Vec<_>) = pending.drain(..).partition(|(_, t, _)| *t < upper);
            pending = rest;
            consolidate_updates(&mut batch);
            let now = Instant::now();
            lower = upper;
            if held.send((upper, batch.len(), now)).is_err() {
                return;
            }
        }
    }
}

/// The traces a same-shape worker keeps and compacts.
#[derive(Default)]
struct Kept {
    table: Option<RowTrace>,
    count: Option<CountTrace>,
    swap: Option<RowTrace>,
}

impl Kept {
    /// Keeps the last `retained` times readable and lets batches merge up to `upper`.
    fn compact(&mut self, upper: u64, retained: u64) {
        let since = Antichain::from_elem(upper.saturating_sub(retained));
        let upper = Antichain::from_elem(upper);
        let traces: [Option<&mut dyn Compact>; 3] = [
            self.table.as_mut().map(|t| t as &mut dyn Compact),
            self.count.as_mut().map(|t| t as &mut dyn Compact),
            self.swap.as_mut().map(|t| t as &mut dyn Compact),
        ];
        for trace in traces.into_iter().flatten() {
            trace.compact(&since, &upper);
        }
    }
}

/// Compaction of a trace, whatever its types.
trait Compact {
    fn compact(&mut self, since: &Antichain<u64>, upper: &Antichain<u64>);
}

impl<Tr: TraceReader<Time = u64>> Compact for Tr {
    fn compact(&mut self, since: &Antichain<u64>, upper: &Antichain<u64>) {
        self.set_logical_compaction(since.borrow());
        self.set_physical_compaction(upper.borrow());
    }
}

fn run_worker<D: Data>(
    worker: &mut Worker,
    commands: Receiver<Command>,
    shape: Shape,
    retained: u64,
    pushed: Sender<Pushed<D>>,
) where
    Shape: Build<D>,
{
    let index = worker.index();
    let (mut input, mut kept) = worker.dataflow::<u64, _, _>(|scope| {
        let (input, rows) = scope.new_collection::<Row, isize>();
        let (view, kept) = shape.build(rows);
        sink(view, index, pushed);
        (input, kept)
    });
    loop {
        match commands.try_recv() {
            Ok(Command::Insert(rows)) => rows.into_iter().for_each(|row| {
                input.insert(row);
            }),
            Ok(Command::Advance { upper }) => {
                input.advance_to(upper);
                input.flush();
                kept.compact(upper, retained);
            }
            Err(TryRecvError::Disconnected) => return,
            Err(TryRecvError::Empty) => {
                worker.step_or_park(None);
            }
        }
    }
}

/// Builds the view of rows `D` from the input rows.
trait Build<D> {
    fn build<'s>(self, rows: VecCollection<'s, u64, Row, isize>) -> (VecCollection<'s, u64, D, isize>, Kept);
}

impl Build<(u64, isize)> for Shape {
    fn build<'s>(
        self,
        rows: VecCollection<'s, u64, Row, isize>,
    ) -> (VecCollection<'s, u64, (u64, isize), isize>, Kept) {
        if self == Shape::CountMinimal {
            return (rows.map(|(k, _)| k).count(), Kept::default());
        }
        let table = rows.arrange_by_self();
        let table_trace = table.trace.clone();
        let counts = table.as_collection(|row, _| *row).map(|(k, _)| k).count().arrange_by_self();
        let kept = Kept { table: Some(table_trace), count: Some(counts.trace.clone()), swap: None };
        (counts.as_collection(|row, _| *row), kept)
    }
}

impl Build<Row> for Shape {
    fn build<'s>(
        self,
        rows: VecCollection<'s, u64, Row, isize>,
    ) -> (VecCollection<'s, u64, Row, isize>, Kept) {
        if self == Shape::SwapMinimal {
            return (rows.map(|(k, i)| (i, k)), Kept::default());
        }
        let table = rows.arrange_by_self();
        let table_trace = table.trace.clone();
        let swapped = table.as_collection(|row, _| *row).map(|(k, i)| (i, k)).arrange_by_self();
        let kept = Kept { table: Some(table_trace), count: None, swap: Some(swapped.trace.clone()) };
        (swapped.as_collection(|row, _| *row), kept)
    }
}

/// Hands the view's updates and frontier to the subscriber thread.
fn sink<D: Data>(view: VecCollection<'_, u64, D, isize>, index: usize, pushed: Sender<Pushed<D>>) {
    let mut reported = Some(0u64);
    view.inner.sink(Pipeline, "Subscriber", move |(input, frontier)| {
        let mut updates = Vec::new();
        input.for_each(|_time, data| updates.append(data));
        let frontier = frontier.frontier().first().copied();
        if !updates.is_empty() || frontier != reported {
            reported = frontier;
            let _ = pushed.send((index, updates, frontier));
        }
    });
}
