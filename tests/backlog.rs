//! Back-pressure: commits wait (or are refused with `Backlogged`, applying nothing) while the
//! work accepted and not yet applied reaches the configured bound; readers never wait for it;
//! under a tiny bound, many writers still get every commit applied exactly.

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use ivm::{BacklogLimit, BacklogStats, Config, Engine, Error, Time, View};
use quickcheck::{QuickCheck, TestResult};

/// Holds every worker that reaches it until opened: a view whose rows pass through it cannot
/// complete any time, so nothing is applied meanwhile.
#[derive(Clone, Default)]
struct Gate(Arc<(Mutex<bool>, Condvar)>);

impl Gate {
    fn pass(&self) {
        let (open, opened) = &*self.0;
        let mut open = open.lock().unwrap();
        while !*open {
            open = opened.wait(open).unwrap();
        }
    }

    fn open(&self) {
        *self.0.0.lock().unwrap() = true;
        self.0.1.notify_all();
    }
}

fn gated_engine(limit: BacklogLimit) -> (Engine, ivm::Table<u64>, View<u64>, Gate) {
    let engine = Engine::start(Config::default().with_backlog(limit)).unwrap();
    let events = engine.table::<u64>("events").unwrap();
    let gate = Gate::default();
    let view = engine
        .view("gated", {
            let (events, gate) = (events.clone(), gate.clone());
            move |v| {
                let gate = gate.clone();
                v.table(&events).map(move |event| {
                    gate.pass();
                    event
                })
            }
        })
        .unwrap();
    (engine, events, view, gate)
}

#[test]
fn a_full_backlog_refuses_try_commit_and_commit_timeout_keeps_the_writes_and_commit_waits() {
    let (engine, events, view, gate) = gated_engine(BacklogLimit::new(3, 1 << 20));
    for event in 1..=3 {
        let mut tx = engine.transaction();
        tx.insert(&events, event);
        tx.try_commit().expect("the backlog has room for three commits");
        assert!(tx.is_empty(), "a successful try_commit leaves the transaction empty");
    }
    // The worker is held at the gate with time 1: none of the three is applied.
    let mut tx = engine.transaction();
    tx.insert(&events, 4);
    match tx.try_commit() {
        Err(Error::Backlogged { commits: 3, bytes, waited }) => {
            assert!(bytes >= 3 * std::mem::size_of::<u64>(), "{bytes} bytes for three rows");
            assert!(waited < Duration::from_secs(1), "try_commit does not wait: {waited:?}");
        }
        other => panic!("expected Backlogged with 3 commits, got {other:?}"),
    }
    match tx.commit_timeout(Duration::from_millis(30)) {
        Err(Error::Backlogged { waited, .. }) => assert!(waited >= Duration::from_millis(30), "{waited:?}"),
        other => panic!("expected Backlogged after the timeout, got {other:?}"),
    }
    assert_eq!(tx.len(), 1, "a refused commit keeps its writes");
    assert_eq!(engine.latest().unwrap(), 3, "a refused commit took no time");

    // A blocking commit waits; meanwhile the coordinator answers (the writer holds no lock).
    let (done, finished) = mpsc::channel();
    let writer = {
        let (engine, events) = (engine.clone(), events.clone());
        std::thread::spawn(move || {
            let time = engine.commit(|tx| tx.insert(&events, 5));
            done.send(()).unwrap();
            time
        })
    };
    assert_eq!(finished.recv_timeout(Duration::from_millis(100)), Err(mpsc::RecvTimeoutError::Timeout));
    assert_eq!((engine.latest().unwrap(), engine.since().unwrap()), (3, 0), "the coordinator still answers");

    gate.open();
    let waited = writer.join().unwrap().unwrap();
    assert_eq!(waited, 4, "the waiting commit went in once there was room");
    let last = tx.commit_timeout(Duration::from_secs(60)).expect("the kept writes commit later");
    assert_eq!(last, 5);
    let mut rows = view.rows_at(last).unwrap();
    rows.sort();
    assert_eq!(
        rows,
        vec![1, 2, 3, 4, 5],
        "every accepted commit applied once, the refused ones once retried"
    );
    // Each worker reports what it applied before it answers a read through that time.
    assert_eq!(engine.stats().unwrap().backlog, BacklogStats::default(), "nothing left to apply");
}

#[test]
fn an_async_commit_on_a_full_backlog_waits_without_blocking_its_thread() {
    let (engine, events, view, gate) = gated_engine(BacklogLimit::new(1, 1 << 20));
    engine.commit(|tx| tx.insert(&events, 1)).unwrap();
    let mut pending = Box::pin(engine.commit_async(|tx| tx.insert(&events, 2)));
    // Polled on this thread: the future is pending (the backlog is full), and the poll returned.
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    assert!(pending.as_mut().poll(&mut cx).is_pending(), "the commit waits for room");
    gate.open();
    let time = futures_executor_block_on(pending).unwrap();
    assert_eq!(time, 2);
    assert_eq!(view.rows_at(time).unwrap(), vec![1, 2]);
}

/// Drives a future to completion on this thread (the crate's tests use no runtime).
fn futures_executor_block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = std::task::Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        std::thread::park();
    }
}

/// Several threads commit random rows under a bound of one or two commits: every commit is
/// applied exactly once, and the view at each commit's time equals a recomputation.
fn writers_under_a_tiny_bound(workers: usize, seed: u64, commits: usize) -> TestResult {
    let limit = BacklogLimit::new(1 + (seed % 2) as usize, 64);
    let engine = Engine::start(Config::default().with_workers(workers).with_backlog(limit)).unwrap();
    let events = engine.table::<(u8, u64)>("events").unwrap();
    let counts = engine
        .view("counts", {
            let events = events.clone();
            move |v| v.table(&events).map(|(key, _)| key).count().map(|(key, n)| (key, n as u64))
        })
        .unwrap();
    let threads = 3;
    let handles: Vec<_> = (0..threads)
        .map(|thread| {
            let (engine, events) = (engine.clone(), events.clone());
            std::thread::spawn(move || {
                let mut state = seed.wrapping_mul(31).wrapping_add(thread as u64 + 1);
                let mut written = Vec::new();
                for _ in 0..commits {
                    state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    let rows: Vec<(u8, u64)> =
                        (0..1 + state % 3).map(|i| (((state >> 20) % 5) as u8, state ^ i)).collect();
                    let time = engine.commit(|tx| tx.insert_all(&events, rows.clone())).unwrap();
                    written.push((time, rows));
                }
                written
            })
        })
        .collect();
    let mut written: Vec<(Time, Vec<(u8, u64)>)> =
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
    written.sort();
    let mut expected = BTreeMap::<u8, u64>::new();
    for (time, rows) in written {
        for (key, _) in rows {
            *expected.entry(key).or_default() += 1;
        }
        let mut got = counts.rows_at(time).unwrap();
        got.sort();
        let want: Vec<(u8, u64)> = expected.iter().map(|(k, n)| (*k, *n)).collect();
        if got != want {
            return TestResult::error(format!("at {time}: {got:?} != {want:?}"));
        }
    }
    TestResult::passed()
}

#[test]
fn every_commit_is_applied_exactly_once_under_a_tiny_bound_on_1_2_and_4_workers() {
    fn one(seed: u64) -> TestResult {
        writers_under_a_tiny_bound(1, seed, 40)
    }
    fn two(seed: u64) -> TestResult {
        writers_under_a_tiny_bound(2, seed, 40)
    }
    fn four(seed: u64) -> TestResult {
        writers_under_a_tiny_bound(4, seed, 40)
    }
    for property in [one as fn(u64) -> TestResult, two, four] {
        QuickCheck::new().tests(4).quickcheck(property);
    }
}
