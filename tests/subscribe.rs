//! Subscriptions: batches, options, resuming, consumption styles, slow consumers, lifecycle.

use std::collections::BTreeMap;
use std::time::Duration;

use ivm::{Batch, Config, Diff, Engine, Error, Retention, SubscribeOptions, Table, Time, View};

const WAIT: Duration = Duration::from_secs(30);

fn engine_with_view(workers: usize) -> (Engine, Table<u32>, View<u32>) {
    let engine = Engine::start(Config::default().with_workers(workers)).unwrap();
    let table = engine.table::<u32>("t").unwrap();
    let view = engine
        .view("v", {
            let table = table.clone();
            move |v| v.table(&table).map(|x| x % 10)
        })
        .unwrap();
    (engine, table, view)
}

/// Takes batches until one reaches past `t`.
fn batches_through<D: ivm::Row>(sub: &mut ivm::Subscription<D>, t: Time) -> Vec<Batch<D>> {
    let mut out = Vec::new();
    while out.last().is_none_or(|b: &Batch<D>| b.upper <= t) {
        out.push(sub.next_timeout(WAIT).unwrap().expect("not finished"));
    }
    out
}

/// The collection obtained by summing every update with `time <= t`.
fn sum_through<D: ivm::Row>(batches: &[Batch<D>], t: Time) -> Vec<(D, Diff)> {
    let mut sum = BTreeMap::new();
    for (row, time, diff) in batches.iter().flat_map(|b| b.updates.iter()) {
        if *time <= t {
            *sum.entry(row.clone()).or_insert(0) += diff;
        }
    }
    sum.into_iter().filter(|(_, d)| *d != 0).collect()
}

fn check_contiguous<D>(batches: &[Batch<D>]) {
    for pair in batches.windows(2) {
        assert_eq!(pair[0].upper, pair[1].lower, "batches must be contiguous");
    }
    for batch in batches {
        assert!(batch.lower < batch.upper);
        for (_, time, diff) in &batch.updates {
            assert!(batch.lower <= *time && *time < batch.upper, "update outside its batch");
            assert_ne!(*diff, 0);
        }
        let mut keys: Vec<_> = batch.updates.iter().map(|(_, t, _)| *t).collect();
        let sorted = keys.clone();
        keys.sort();
        assert_eq!(keys, sorted, "updates in time order");
    }
}

#[test]
fn the_stream_sums_to_the_batch_reading() {
    for workers in [1, 2, 4] {
        let (engine, table, view) = engine_with_view(workers);
        let t0 = engine.commit(|tx| tx.insert_all(&table, 0..25)).unwrap();
        let mut sub = view.subscribe().unwrap();
        let mut times = vec![t0];
        for i in 0..20u32 {
            times.push(
                engine
                    .commit(|tx| {
                        tx.insert(&table, 100 + i);
                        tx.delete(&table, i);
                    })
                    .unwrap(),
            );
        }
        let last = *times.last().unwrap();
        let batches = batches_through(&mut sub, last);
        // The snapshot comes first, on its own, at the subscription's as_of (the latest commit).
        assert_eq!((batches[0].lower, batches[0].upper), (t0, t0 + 1));
        assert!(batches[0].updates.iter().all(|(_, t, _)| *t == t0));
        check_contiguous(&batches);
        for &t in &times {
            assert_eq!(sum_through(&batches, t), view.at(t).unwrap(), "workers {workers}, t {t}");
        }
    }
}

#[test]
fn options_choose_start_snapshot_and_end() {
    let (engine, table, view) = engine_with_view(2);
    for i in 1..=6u32 {
        engine.commit(|tx| tx.insert(&table, i)).unwrap();
    }
    // From time 2, through 4, then the subscription ends.
    let sub = view.subscribe_with(SubscribeOptions::default().as_of(2).until(4)).unwrap();
    let batches: Vec<_> = sub.map(|b| b.unwrap()).collect(); // ends by itself
    assert_eq!(batches[0], Batch { lower: 2, upper: 3, updates: vec![(1, 2, 1), (2, 2, 1)] });
    check_contiguous(&batches);
    assert_eq!(batches.last().unwrap().upper, 5);
    let changes: Vec<_> = batches[1..].iter().flat_map(|b| b.updates.clone()).collect();
    assert_eq!(changes, vec![(3, 3, 1), (4, 4, 1)]);

    // Without a snapshot, only changes after as_of.
    let mut sub = view.subscribe_with(SubscribeOptions::default().as_of(4).snapshot(false).until(6)).unwrap();
    let mut batches = Vec::new();
    while let Some(batch) = sub.next_timeout(WAIT).unwrap() {
        batches.push(batch);
    }
    assert!(sub.is_finished());
    assert_eq!(batches[0].lower, 5);
    assert_eq!(batches.last().unwrap().upper, 7);
    let changes: Vec<_> = batches.iter().flat_map(|b| b.updates.clone()).collect();
    assert_eq!(changes, vec![(5, 5, 1), (6, 6, 1)]);
}

#[test]
fn an_until_before_as_of_ends_at_once_without_a_malformed_batch() {
    // Regression: `as_of(8).until(5)` yielded a batch with `lower: 8, upper: 5` before ending.
    let (engine, table, view) = engine_with_view(2);
    for i in 1..=9u32 {
        engine.commit(|tx| tx.insert(&table, i)).unwrap();
    }
    for options in [
        SubscribeOptions::default().as_of(8).until(5),
        SubscribeOptions::default().as_of(8).snapshot(false).until(8),
    ] {
        let mut sub = view.subscribe_with(options).unwrap();
        assert_eq!(sub.next_timeout(WAIT), Ok(None), "{options:?}");
        assert!(sub.is_finished());
        let sub = view.subscribe_with(options).unwrap();
        assert_eq!(sub.count(), 0, "{options:?}: no batch at all");
    }
    // `until` equal to `as_of` with a snapshot: exactly the snapshot.
    let batches: Vec<_> = view
        .subscribe_with(SubscribeOptions::default().as_of(8).until(8))
        .unwrap()
        .map(|b| b.unwrap())
        .collect();
    assert_eq!(batches.len(), 1);
    assert_eq!((batches[0].lower, batches[0].upper), (8, 9));
    assert_eq!(batches[0].updates.len(), 8);
}

#[test]
fn an_as_of_before_the_retained_history_is_compacted() {
    let engine = Engine::start(Config::default().with_retention(Retention::LastCommits(2))).unwrap();
    let table = engine.table::<u32>("t").unwrap();
    let view = engine.view("v", move |v| v.table(&table)).unwrap();
    for _ in 0..5 {
        engine.commit(|_| {}).unwrap();
    }
    let error = view.subscribe_with(SubscribeOptions::default().as_of(1)).unwrap_err();
    assert_eq!(error, Error::Compacted { name: "v".into(), requested: 1, since: 4 });
}

#[test]
fn resuming_from_a_stored_upper_sees_each_change_once() {
    let (engine, table, view) = engine_with_view(2);
    engine.commit(|tx| tx.insert_all(&table, 0..5)).unwrap();
    let mut sub = view.subscribe().unwrap();
    let mut seen: Vec<Batch<u32>> = Vec::new();
    for i in 0..5u32 {
        engine.commit(|tx| tx.insert(&table, 10 + i)).unwrap();
    }
    let t = engine.latest().unwrap();
    seen.extend(batches_through(&mut sub, t - 2));
    let stored_upper = seen.last().unwrap().upper;
    drop(sub);
    for i in 0..5u32 {
        engine.commit(|tx| tx.delete(&table, i)).unwrap();
    }
    let last = engine.latest().unwrap();
    let mut resumed =
        view.subscribe_with(SubscribeOptions::default().as_of(stored_upper - 1).snapshot(false)).unwrap();
    let more = batches_through(&mut resumed, last);
    assert_eq!(more[0].lower, stored_upper, "no gap");
    seen.extend(more);
    check_contiguous(&seen);
    for t in 1..=last {
        if t >= seen[0].lower {
            assert_eq!(sum_through(&seen, t), view.at(t).unwrap(), "at {t}");
        }
    }
}

#[test]
fn try_next_does_not_block_and_next_timeout_expires() {
    let (engine, table, view) = engine_with_view(1);
    let t = engine.commit(|tx| tx.insert(&table, 3)).unwrap();
    let mut sub = view.subscribe().unwrap();
    // The snapshot arrives; then nothing more until the next commit.
    let snapshot = sub.next_timeout(WAIT).unwrap().unwrap();
    assert_eq!(snapshot.updates, vec![(3, t, 1)]);
    assert_eq!(sub.try_next().unwrap(), None);
    assert!(!sub.is_finished());
    assert!(matches!(sub.next_timeout(Duration::from_millis(10)), Err(Error::Timeout { .. })));
    let t2 = engine.commit(|tx| tx.insert(&table, 4)).unwrap();
    let batch = sub.next_timeout(WAIT).unwrap().unwrap();
    assert_eq!(batch, Batch { lower: t + 1, upper: t2 + 1, updates: vec![(4, t2, 1)] });
}

#[test]
fn empty_batches_report_progress() {
    let (engine, table, view) = engine_with_view(2);
    let mut sub = view.subscribe().unwrap();
    let snapshot = sub.next_timeout(WAIT).unwrap().unwrap();
    assert!(snapshot.updates.is_empty());
    let t = engine.commit(|tx| tx.insert(&table, 11)).unwrap(); // 11 % 10 == 1, a change
    let t2 = engine.commit(|_| {}).unwrap(); // nothing changes
    let batches = batches_through(&mut sub, t2);
    let mut all = vec![snapshot];
    all.extend(batches);
    check_contiguous(&all);
    assert_eq!(sum_through(&all, t), vec![(1, 1)]);
    assert_eq!(all.last().unwrap().upper, t2 + 1);
}

#[test]
fn a_slow_subscriber_holds_only_what_changed() {
    let engine =
        Engine::start(Config::default().with_workers(2).with_retention(Retention::LastCommits(10))).unwrap();
    let table = engine.table::<u32>("t").unwrap();
    let view = engine
        .view("v", {
            let table = table.clone();
            move |v| v.table(&table)
        })
        .unwrap();
    let mut sub = view.subscribe().unwrap();
    let snapshot = sub.next_timeout(WAIT).unwrap().unwrap();
    let mut present = [false; 10];
    let mut last = 0;
    for i in 0..100_000u32 {
        let row = (i % 10) as usize;
        last = engine
            .commit(
                |tx| if present[row] { tx.delete(&table, row as u32) } else { tx.insert(&table, row as u32) },
            )
            .unwrap();
        present[row] = !present[row];
    }
    let current = view.at(last).unwrap();
    // The workers are done with `last`; the subscriber has read nothing since the snapshot.
    let pending = sub.pending();
    assert!(pending <= 200, "{pending} unread updates held after 100,000 commits of 10 rows");
    let batch = sub.next_timeout(WAIT).unwrap().unwrap();
    assert_eq!(batch.lower, snapshot.upper);
    let mut all = vec![snapshot, batch];
    if all[1].upper <= last {
        all.extend(batches_through(&mut sub, last));
    }
    check_contiguous(&all);
    assert_eq!(sum_through(&all, last), current);
    // Everything committed has been taken: the subscription holds nothing more.
    assert_eq!(sub.pending(), 0);
}

#[test]
fn hundreds_of_subscribers_and_dropping_them_releases_the_workers() {
    let (engine, table, view) = engine_with_view(2);
    let mut subs: Vec<_> = (0..300).map(|_| view.subscribe().unwrap()).collect();
    let t = engine.commit(|tx| tx.insert_all(&table, 0..20)).unwrap();
    for sub in subs.iter_mut() {
        let batches = batches_through(sub, t);
        assert_eq!(sum_through(&batches, t), view.at(t).unwrap());
    }
    assert_eq!(view.stats().unwrap().subscribers, 300);
    subs.truncate(100);
    engine.commit(|_| {}).unwrap(); // the drops are sequenced before this read:
    assert_eq!(view.stats().unwrap().subscribers, 100);
    drop(subs);
    assert_eq!(view.stats().unwrap().subscribers, 0);
}

#[test]
fn a_subscriber_keeps_its_updates_when_another_one_goes() {
    for workers in [1, 2] {
        let (engine, table, view) = engine_with_view(workers);
        let (mut kept, gone) = (view.subscribe().unwrap(), view.subscribe().unwrap());
        let first = engine.commit(|tx| tx.insert(&table, 1)).unwrap();
        drop(gone);
        let last = engine.commit(|tx| tx.insert_all(&table, [2, 13])).unwrap();
        assert_eq!(view.stats().unwrap().subscribers, 1);
        let batches = batches_through(&mut kept, last);
        assert_eq!(sum_through(&batches, first), vec![(1, 1)]);
        assert_eq!(sum_through(&batches, last), vec![(1, 1), (2, 1), (3, 1)], "workers {workers}");
    }
}

#[test]
fn dropping_a_subscription_that_waits_for_its_as_of_leaves_the_others_waiting() {
    let (engine, table, view) = engine_with_view(2);
    // Both wait for time 3, which no commit has reached yet.
    let options = || SubscribeOptions::default().as_of(3);
    let (mut kept, gone) = (view.subscribe_with(options()).unwrap(), view.subscribe_with(options()).unwrap());
    drop(gone);
    engine.commit(|tx| tx.insert(&table, 1)).unwrap();
    let last = engine.commit_at(5, |tx| tx.insert(&table, 2)).unwrap();
    let batches = batches_through(&mut kept, last);
    assert_eq!(sum_through(&batches, last), view.at(last).unwrap());
    assert_eq!(view.stats().unwrap().subscribers, 1);
}

#[test]
fn shutdown_ends_every_subscription_with_a_final_error() {
    let (engine, table, view) = engine_with_view(2);
    let t = engine.commit(|tx| tx.insert(&table, 1)).unwrap();
    let subs: Vec<_> = (0..3).map(|_| view.subscribe().unwrap()).collect();
    let waiting = std::thread::spawn({
        let mut sub = view.subscribe_with(SubscribeOptions::default().snapshot(false)).unwrap();
        move || sub.next()
    });
    engine.shutdown();
    assert_eq!(waiting.join().unwrap(), Some(Err(Error::Shutdown)));
    for mut sub in subs {
        // Whatever was complete is delivered first, then the error, then the end.
        let items: Vec<_> = sub.by_ref().collect();
        assert_eq!(items.last(), Some(&Err(Error::Shutdown)));
        for item in &items[..items.len() - 1] {
            assert!(item.as_ref().unwrap().upper <= t + 1);
        }
        assert!(sub.next().is_none());
    }
    assert_eq!(view.subscribe().unwrap_err(), Error::Shutdown);
}

#[test]
fn a_poisoned_engine_ends_subscriptions_with_the_panic() {
    let engine = Engine::start(Config::default().with_workers(2)).unwrap();
    let table = engine.table::<u32>("t").unwrap();
    let view = engine
        .view("fragile", {
            let table = table.clone();
            move |v| {
                v.table(&table).map(|x| {
                    assert!(x != 13, "unlucky");
                    x
                })
            }
        })
        .unwrap();
    let mut sub = view.subscribe_with(SubscribeOptions::default().snapshot(false)).unwrap();
    engine.commit(|tx| tx.insert(&table, 13)).unwrap();
    let last = sub.by_ref().last();
    assert!(matches!(last, Some(Err(Error::WorkerPanicked { .. }))), "{last:?}");
    assert!(matches!(view.subscribe(), Err(Error::WorkerPanicked { .. })));
}

#[test]
fn keyed_views_stream_their_pairs() {
    let engine = Engine::start(Config::default().with_workers(2)).unwrap();
    let kv = engine.keyed_table::<u32, String>("kv").unwrap();
    let view = engine
        .keyed_view("upper", {
            let kv = kv.clone();
            move |v| v.keyed_table(&kv).map(|(k, s)| (k, s.to_uppercase()))
        })
        .unwrap();
    let mut sub = view.subscribe().unwrap();
    let t1 = engine.commit(|tx| tx.upsert(&kv, 1, "a".into())).unwrap();
    let t2 = engine.commit(|tx| tx.upsert(&kv, 1, "b".into())).unwrap();
    let batches = batches_through(&mut sub, t2);
    let updates: Vec<_> = batches.into_iter().flat_map(|b| b.updates).collect();
    assert_eq!(
        updates,
        vec![((1, "A".to_string()), t1, 1), ((1, "A".to_string()), t2, -1), ((1, "B".to_string()), t2, 1)]
    );
}

#[cfg(feature = "async")]
#[test]
fn subscriptions_are_streams_under_tokio() {
    use futures_util::StreamExt;

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (engine, table, view) = engine_with_view(2);
    runtime.block_on(async move {
        let mut sub = view.subscribe_with(SubscribeOptions::default().snapshot(false)).unwrap().into_stream();
        let committer = engine.clone();
        let writer = tokio::task::spawn_blocking(move || {
            let mut last = 0;
            for i in 0..10u32 {
                last = committer.commit(|tx| tx.insert(&table, i)).unwrap();
            }
            last
        });
        let last = writer.await.unwrap();
        let mut batches = Vec::new();
        while batches.last().is_none_or(|b: &Batch<u32>| b.upper <= last) {
            let next = tokio::time::timeout(WAIT, StreamExt::next(&mut sub)).await.expect("a batch in time");
            batches.push(next.unwrap().unwrap());
        }
        check_contiguous(&batches);
        assert_eq!(sum_through(&batches, last), (0..10).map(|i| (i, 1)).collect::<Vec<_>>());
        drop(engine);
    });
}

#[test]
fn pending_counts_what_the_subscriber_has_not_taken() {
    let (engine, table, view) = engine_with_view(2);
    let mut sub = view.subscribe().unwrap();
    assert_eq!(sub.next_timeout(WAIT).unwrap().unwrap().updates, vec![]);
    let t = engine.commit(|tx| tx.insert_all(&table, [1, 2, 13])).unwrap();
    // The workers hand the changes over on their own schedule: wait for them, with a deadline.
    let deadline = std::time::Instant::now() + WAIT;
    while sub.pending() < 2 {
        assert!(std::time::Instant::now() < deadline, "the changes never reached the subscription");
        std::thread::yield_now();
    }
    // (1, t, 1), (2, t, 1), (3, t, 1): three rows of `x % 10`, held until taken.
    let batches = batches_through(&mut sub, t);
    assert_eq!(sum_through(&batches, t), vec![(1, 1), (2, 1), (3, 1)]);
    assert_eq!(sub.pending(), 0);
}

#[test]
fn a_subscription_without_a_snapshot_made_right_after_a_commit_sees_only_later_changes() {
    // The view may not have applied the commit yet when the subscription reaches the workers:
    // it must wait until the view is complete through `as_of`, or the commit's own changes
    // come through afterwards, in batches that start after them.
    for workers in [1, 2, 4] {
        let engine = Engine::start(Config::default().with_workers(workers)).unwrap();
        let numbers = engine.table::<u32>("numbers").unwrap();
        let copy = engine.view_over("copy", &numbers, |_, numbers| numbers.map(|x| x)).unwrap();
        for round in 0..10u32 {
            let t = engine.commit(|tx| tx.insert(&numbers, round)).unwrap();
            let options = SubscribeOptions::default().as_of(t).snapshot(false);
            let mut changes = copy.subscribe_with(options).unwrap();
            let later = engine.commit(|tx| tx.insert(&numbers, 1_000 + round)).unwrap();
            let mut seen = Vec::new();
            loop {
                let batch = changes.next_timeout(Duration::from_secs(60)).unwrap().unwrap();
                for &(row, time, diff) in &batch.updates {
                    assert!(batch.lower <= time && time < batch.upper, "{batch:?}");
                    seen.push((row, time, diff));
                }
                if batch.upper > later {
                    break;
                }
            }
            assert_eq!(seen, vec![(1_000 + round, later, 1)], "{workers} workers, round {round}");
        }
    }
}
