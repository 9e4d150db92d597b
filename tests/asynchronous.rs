//! The async path: `commit_async`, `at_async`, `get_async` and `Subscription::into_stream`,
//! checked against the blocking calls, on a runtime with a single thread: a call that blocked
//! its thread would stop the runtime (and the test fails at its deadline).

use std::time::Duration;

use ivm::{Config, Durability, Engine, Error, KeyedView, Retention, Table, Time, View};

/// How long any one awaited call may take before the test fails.
const WAIT: Duration = Duration::from_secs(30);

fn single_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap()
}

/// `future`, or a test failure after [`WAIT`].
async fn within<F: std::future::Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(WAIT, future).await {
        Ok(output) => output,
        Err(_) => panic!("{what} did not finish within {WAIT:?}"),
    }
}

/// An engine with a table of `(user, amount)`, and the total per user as a view and as a keyed
/// view.
type Shop = (Engine, Table<(u32, i64)>, View<(u32, i64)>, KeyedView<u32, i64>);

fn shop(config: Config) -> Shop {
    let engine = Engine::start(config).unwrap();
    let orders = engine.table::<(u32, i64)>("orders").unwrap();
    let totals = engine
        .view("totals", {
            let orders = orders.clone();
            move |v| {
                v.table(&orders).reduce(|_user, amounts, total| {
                    total.push((amounts.iter().map(|(amount, n)| **amount * *n as i64).sum::<i64>(), 1))
                })
            }
        })
        .unwrap();
    let by_user = engine
        .keyed_view("by_user", {
            let totals = totals.clone();
            move |v| v.view(&totals)
        })
        .unwrap();
    (engine, orders, totals, by_user)
}

#[test]
fn async_commits_and_reads_agree_with_the_blocking_ones() {
    for workers in [1, 2, 4] {
        let (engine, orders, totals, by_user) = shop(Config::default().with_workers(workers));
        let runtime = single_thread();
        let times: Vec<Time> = runtime.block_on(async {
            let mut times = Vec::new();
            for i in 0..20u32 {
                let commit = engine.commit_async(|tx| tx.insert(&orders, (i % 3, i64::from(i))));
                times.push(within("commit_async", commit).await.unwrap());
            }
            for (i, &t) in times.iter().enumerate() {
                assert_eq!(
                    within("at_async", totals.at_async(t)).await.unwrap(),
                    totals.at(t).unwrap(),
                    "{i}"
                );
                assert_eq!(
                    within("table at_async", orders.at_async(t)).await.unwrap(),
                    orders.at(t).unwrap()
                );
                assert_eq!(
                    within("keyed at_async", by_user.at_async(t)).await.unwrap(),
                    by_user.at(t).unwrap()
                );
                for user in 0..4 {
                    let value = within("get_async", by_user.get_async(&user, t)).await.unwrap();
                    assert_eq!(value, by_user.get(&user, t).unwrap(), "user {user} at {t}");
                }
            }
            times
        });
        // The async commits took the times in order, one per commit.
        assert_eq!(times, (1..=20).collect::<Vec<_>>(), "{workers} workers");
        let (mut tx, runtime) = (engine.transaction(), single_thread());
        tx.insert(&orders, (9, 9));
        let t = runtime.block_on(tx.commit_at_async(100)).unwrap();
        assert_eq!((t, totals.at(t).unwrap().last().copied()), (100, Some(((9, 9), 1))));
    }
}

#[test]
fn a_read_waiting_for_a_later_commit_does_not_block_the_runtime() {
    // One thread: the read of `t + 1` is pending while the commit that completes it runs on the
    // same thread. A read that blocked its thread would never see that commit.
    let (engine, orders, totals, _) = shop(Config::default().with_workers(2));
    let (done, finished) = std::sync::mpsc::channel();
    // The runtime runs on a thread of its own, so that a blocked runtime fails the test at the
    // deadline below instead of hanging it.
    std::thread::spawn(move || {
        let answer = single_thread().block_on(async {
            let t = engine.latest().unwrap();
            let read = tokio::spawn(totals.at_async(t + 1));
            tokio::task::yield_now().await;
            assert!(!read.is_finished(), "the read answered before its time was committed");
            let committed = engine.commit_async(|tx| tx.insert(&orders, (1, 5))).await;
            assert_eq!(committed, Ok(t + 1));
            read.await.unwrap()
        });
        let _ = done.send(answer);
    });
    let answer = finished.recv_timeout(WAIT).expect("the runtime was blocked: the read never answered");
    assert_eq!(answer.unwrap(), vec![((1, 5), 1)]);
}

#[test]
fn async_commits_with_storage_are_durable_and_old_reads_come_from_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let config = || {
        Config::default()
            .with_workers(2)
            .with_storage(dir.path())
            .with_durability(Durability::EveryCommit)
            .with_retention(Retention::LastCommits(2))
            .with_log_retention(Retention::All)
    };
    let (engine, orders, totals, by_user) = shop(config());
    let runtime = single_thread();
    let answers = runtime.block_on(async {
        let mut answers = Vec::new();
        for i in 0..10u32 {
            let t = within("commit_async", engine.commit_async(|tx| tx.insert(&orders, (i % 2, 1))))
                .await
                .unwrap();
            answers.push((t, within("at_async", totals.at_async(t)).await.unwrap()));
        }
        // Older than what memory keeps: answered by a batch run over the log, off the runtime.
        assert!(engine.since().unwrap() > 2);
        for (t, expected) in &answers {
            assert_eq!(&within("old at_async", totals.at_async(*t)).await.unwrap(), expected, "at {t}");
            let of_user_1: Vec<_> = expected
                .iter()
                .filter(|((user, _), _)| *user == 1)
                .map(|&((_, total), n)| (total, n))
                .collect();
            let got = within("old get_async", by_user.get_async(&1, *t)).await.unwrap();
            assert_eq!(got, of_user_1, "get at {t}");
        }
        answers
    });
    drop((engine, orders, totals, by_user));
    let (engine, _, totals, _) = shop(config());
    assert_eq!(engine.latest().unwrap(), 10);
    assert_eq!(totals.at(10).unwrap(), answers.last().unwrap().1);
}

#[test]
fn async_calls_fail_with_the_blocking_calls_errors() {
    let (engine, orders, totals, _) = shop(Config::default());
    let (other, other_orders, _, _) = shop(Config::default());
    let runtime = single_thread();
    runtime.block_on(async {
        let foreign = engine.commit_async(|tx| tx.insert(&other_orders, (1, 1))).await;
        assert!(matches!(foreign, Err(Error::ForeignHandle { .. })), "{foreign:?}");
        assert_eq!(engine.latest().unwrap(), 0, "a failed commit applied nothing");
        let mut tx = engine.transaction();
        tx.insert(&orders, (0, 0));
        let past = tx.commit_at_async(0).await;
        assert!(matches!(past, Err(Error::TimeNotIncreasing { .. })), "{past:?}");
        engine.shutdown();
        assert_eq!(engine.commit_async(|tx| tx.insert(&orders, (1, 1))).await, Err(Error::Shutdown));
        assert_eq!(totals.at_async(0).await, Err(Error::Shutdown));
    });
    drop(other);
}

#[test]
fn a_read_given_up_on_leaves_the_engine_working() {
    // A read of a time never committed, given up on (its future dropped by a timeout): later
    // commits and reads go on undisturbed. That the workers drop it is
    // `tests/retention.rs` `a_read_given_up_on_stops_holding_its_source`.
    let (engine, orders, totals, _) = shop(Config::default().with_workers(2));
    let runtime = single_thread();
    runtime.block_on(async {
        let gave_up = tokio::time::timeout(Duration::from_millis(20), totals.at_async(1_000)).await;
        assert!(gave_up.is_err(), "a read of an uncommitted time answered");
        let t = engine.commit_async(|tx| tx.insert(&orders, (2, 3))).await.unwrap();
        assert_eq!(within("at_async", totals.at_async(t)).await.unwrap(), vec![((2, 3), 1)]);
    });
    engine.shutdown();
}

#[test]
fn a_subscription_streams_with_next_await_on_one_thread() {
    let (engine, orders, totals, _) = shop(Config::default().with_workers(2));
    let runtime = single_thread();
    runtime.block_on(async {
        let mut changes = totals.subscribe().unwrap().into_stream();
        let snapshot = within("the snapshot", changes.next()).await.unwrap().unwrap();
        assert_eq!(snapshot.updates, vec![]);
        let mut last = 0;
        for i in 0..5 {
            last =
                within("commit_async", engine.commit_async(|tx| tx.insert(&orders, (7, i)))).await.unwrap();
        }
        let mut updates = Vec::new();
        loop {
            let batch = within("a batch", changes.next()).await.unwrap().unwrap();
            updates.extend(batch.updates.into_iter().map(|(row, _, diff)| (row, diff)));
            if batch.upper > last {
                break;
            }
        }
        ivm::differential_dataflow::consolidation::consolidate(&mut updates);
        assert_eq!(updates, vec![((7, 10), 1)]);
        engine.shutdown();
        // After shutdown: the error once (after any batch still complete), then the end.
        let mut error = None;
        while let Some(next) = within("the end", changes.next()).await {
            if let Err(e) = next {
                assert!(error.replace(e).is_none(), "the error came twice");
            }
        }
        assert_eq!(error, Some(Error::Shutdown));
        assert!(changes.get_ref().is_finished());
    });
}

#[cfg(feature = "async")]
#[test]
fn a_subscription_stream_works_with_stream_combinators() {
    use futures_util::StreamExt;

    let (engine, orders, totals, _) = shop(Config::default().with_workers(2));
    let runtime = single_thread();
    runtime.block_on(async {
        let mut changes = totals.subscribe().unwrap().into_stream();
        // `StreamExt` is in scope, and `.next()` is still the stream's own: no ambiguity.
        let snapshot = within("the snapshot", changes.next()).await.unwrap().unwrap();
        assert_eq!(snapshot.upper, 1);
        let t = engine.commit_async(|tx| tx.insert_all(&orders, [(1, 1), (2, 2)])).await.unwrap();
        let mut batches = changes.map(|batch| batch.map(|batch| (batch.upper, batch.updates)));
        let mut updates = Vec::new();
        loop {
            let (upper, more) = within("a batch", batches.next()).await.unwrap().unwrap();
            updates.extend(more);
            if upper > t {
                break;
            }
        }
        assert_eq!(updates, vec![((1, 1), t, 1), ((2, 2), t, 1)]);
    });
}

#[test]
fn the_futures_and_the_stream_say_what_they_are() {
    let (engine, orders, totals, _) = shop(Config::default());
    let commit = engine.commit_async(|tx| tx.insert(&orders, (1, 1)));
    assert_eq!(format!("{commit:?}"), "CommitFuture { .. }");
    let changes = totals.subscribe().unwrap().into_stream();
    assert!(format!("{changes:?}").starts_with("SubscriptionStream(Subscription {"), "{changes:?}");
    // Not polled: nothing committed.
    drop(commit);
    assert_eq!(engine.latest().unwrap(), 0);
}
