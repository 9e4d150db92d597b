//! The baselines for `bulk_load`: bare differential programs loading the same rows, and the
//! measurement plumbing (data, memory from `/proc/self/status`, the `RESULT` line) they share
//! with the engine's run.

use std::str::FromStr;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use differential_dataflow::input::{Input, InputSession};
use differential_dataflow::operators::arrange::TraceAgent;
use differential_dataflow::trace::TraceReader;
use differential_dataflow::trace::cursor::{Cursor, cursor_list};
use differential_dataflow::trace::implementations::KeySpine;
use timely::dataflow::operators::probe::{Handle, Probe};
use timely::progress::Antichain;
use timely::worker::Worker;

/// Distinct keys in the loaded rows.
pub const KEYS: u64 = 1_000_000;

/// The key of row `i`: a fixed bijective mix of `i % KEYS`, so keys are scattered but the data
/// is the same on every run.
pub fn key(i: u64) -> u64 {
    (i % KEYS).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Process memory, in KiB, from `/proc/self/status`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    /// Peak resident set size (`VmHWM`).
    pub peak_kib: u64,
    /// Resident set size now (`VmRSS`).
    pub now_kib: u64,
}

/// Reads this process's memory figures.
pub fn memory() -> Memory {
    let status = std::fs::read_to_string("/proc/self/status").expect("linux /proc");
    let kib = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    Memory { peak_kib: kib("VmHWM:"), now_kib: kib("VmRSS:") }
}

/// The system's load average line.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg").map(|s| s.trim().to_string()).unwrap_or_default()
}

/// The one-, five- and fifteen-minute load averages.
pub fn load1() -> String {
    loadavg().split_whitespace().take(3).collect::<Vec<_>>().join("/")
}

/// What one child run reports.
pub struct Measurement {
    /// Load time, from the first row to a complete view.
    pub elapsed: Duration,
    /// Memory at the end, with the loaded state still held.
    pub memory: Memory,
    /// Extra `name=value` fields.
    pub notes: String,
}

impl Measurement {
    /// The line a child prints for the parent.
    pub fn result_line(&self) -> String {
        format!(
            "RESULT secs={:.3} peak_kib={} end_kib={} {}",
            self.elapsed.as_secs_f64(),
            self.memory.peak_kib,
            self.memory.now_kib,
            self.notes
        )
    }
}

/// The value of `name=value` in a `RESULT` line.
pub fn field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    line.split_whitespace().find_map(|token| token.strip_prefix(name)?.strip_prefix('='))
}

/// Which bare dataflow to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bare {
    /// input -> map(key) -> count -> probe.
    CountOnly,
    /// input -> arrange_by_self (trace kept) -> as_collection -> map(key) -> count -> probe.
    Arranged,
    /// `Arranged`, with the count arranged too (trace kept) and read whole at the end.
    SameShape,
}

impl FromStr for Bare {
    type Err = String;
    fn from_str(s: &str) -> Result<Bare, String> {
        match s {
            "bare" => Ok(Bare::CountOnly),
            "bare_arranged" => Ok(Bare::Arranged),
            "bare_same_shape" => Ok(Bare::SameShape),
            other => Err(format!("unknown variant {other}")),
        }
    }
}

type Row = (u64, u64);
type RowTrace = TraceAgent<KeySpine<Row, u64, isize>>;
type ViewTrace = TraceAgent<KeySpine<(u64, isize), u64, isize>>;

/// The traces a bare dataflow keeps alive, like the engine's tables and views.
#[derive(Default)]
struct Kept {
    table: Option<RowTrace>,
    view: Option<ViewTrace>,
}

impl Kept {
    /// Lets batches merge up to `upper`, as the engine does after every step.
    fn compact_through(&mut self, upper: u64) {
        let upper = Antichain::from_elem(upper);
        if let Some(table) = self.table.as_mut() {
            table.set_physical_compaction(upper.borrow());
        }
        if let Some(view) = self.view.as_mut() {
            view.set_physical_compaction(upper.borrow());
        }
    }
}

fn build(worker: &mut Worker, shape: Bare) -> (InputSession<u64, Row, isize>, Handle<u64>, Kept) {
    worker.dataflow::<u64, _, _>(|scope| {
        let (input, rows) = scope.new_collection::<Row, isize>();
        if shape == Bare::CountOnly {
            let (probe, _) = rows.map(|(k, _)| k).count().probe();
            return (input, probe, Kept::default());
        }
        let table = rows.arrange_by_self();
        let table_trace = table.trace.clone();
        let counts = table.as_collection(|row, _| *row).map(|(k, _)| k).count();
        if shape == Bare::Arranged {
            let (probe, _) = counts.probe();
            return (input, probe, Kept { table: Some(table_trace), view: None });
        }
        let view = counts.arrange_by_self();
        let view_trace = view.trace.clone();
        let (probe, _) = view.stream.probe();
        (input, probe, Kept { table: Some(table_trace), view: Some(view_trace) })
    })
}

/// Counts the rows of a view shard at time `t`, walking it as the engine's read does.
fn rows_at(trace: &mut ViewTrace, t: u64) -> usize {
    let batches = trace.batches_through(Antichain::new().borrow()).expect("trace open");
    let (mut cursor, storage) = cursor_list(batches);
    let mut rows = Vec::new();
    while let Some(key) = cursor.get_key(&storage) {
        while cursor.get_val(&storage).is_some() {
            let mut sum = 0isize;
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
    rows.len()
}

/// Loads `rows` rows on `workers` timely workers, each generating its own share, and waits
/// until the probe passes time 0. Timed and measured on worker 0.
pub fn run_bare(shape: Bare, workers: usize, rows: u64) -> Measurement {
    let barrier = Arc::new(Barrier::new(workers));
    let guards = timely::execute(timely::Config::process(workers), move |worker| {
        let (index, peers) = (worker.index() as u64, worker.peers() as u64);
        let (mut input, probe, mut kept) = build(worker, shape);
        barrier.wait();
        let start = Instant::now();
        for i in (index..rows).step_by(peers as usize) {
            input.insert((key(i), i));
        }
        input.advance_to(1);
        input.flush();
        worker.step_or_park_while(None, || probe.less_than(&1));
        kept.compact_through(1);
        let view_rows = kept.view.as_mut().map(|view| rows_at(view, 0));
        barrier.wait();
        let elapsed = start.elapsed();
        let memory = (index == 0).then(memory);
        barrier.wait();
        drop(kept);
        (elapsed, memory, view_rows)
    })
    .expect("timely starts");
    let results: Vec<_> = guards.join().into_iter().map(|r| r.expect("worker finished")).collect();
    let (elapsed, memory, _) = results[0];
    let view_rows: Option<usize> = results.iter().map(|r| r.2).sum();
    if let Some(view_rows) = view_rows {
        assert_eq!(view_rows as u64, rows.min(KEYS));
    }
    let notes = view_rows.map(|n| format!("view_rows={n}")).unwrap_or_default();
    Measurement { elapsed, memory: memory.expect("worker 0 measured"), notes }
}
