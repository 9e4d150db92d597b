//! A panic in user view code poisons the engine: later calls get a typed error, never a hang.

use std::time::Duration;

use ivm::{Config, Engine, Error};

fn assert_poisoned<T: std::fmt::Debug>(result: ivm::Result<T>, needle: &str) {
    match result {
        Err(Error::WorkerPanicked { message }) => assert!(message.contains(needle), "message: {message}"),
        other => panic!("expected WorkerPanicked, got {other:?}"),
    }
}

#[test]
fn a_panic_in_view_logic_poisons_the_engine_and_answers_waiting_reads() {
    for workers in [1, 2, 4] {
        let engine = Engine::start(Config::default().with_workers(workers)).unwrap();
        let table = engine.table::<u32>("t").unwrap();
        let view = engine
            .view("fragile", {
                let table = table.clone();
                move |v| {
                    v.table(&table).map(|x| {
                        assert!(x != 13, "unlucky row {x}");
                        x
                    })
                }
            })
            .unwrap();
        let t = engine.commit(|tx| tx.insert(&table, 1)).unwrap();
        assert_eq!(view.at(t).unwrap(), vec![(1, 1)]);

        let t = engine.commit(|tx| tx.insert(&table, 13)).unwrap();
        // The read waiting for time `t` is answered by the poison, not left to its timeout
        // (a generous one: the machine may be loaded; no timing is asserted).
        assert_poisoned(view.at_timeout(t, Duration::from_secs(60)), "unlucky row 13");

        // Every later call fails the same way.
        assert_poisoned(engine.commit(|tx| tx.insert(&table, 2)), "unlucky row 13");
        assert_poisoned(view.at(1), "unlucky row 13");
        assert_poisoned(engine.table::<u8>("other"), "unlucky row 13");
        // Shutdown after a poison does not hang either.
        engine.shutdown();
        assert_poisoned(view.at(1), "unlucky row 13");
    }
}

#[test]
fn a_panic_while_building_a_view_poisons_the_engine() {
    let engine = Engine::start(Config::default().with_workers(2)).unwrap();
    let table = engine.table::<u32>("t").unwrap();
    let result =
        engine.view("broken", move |v| -> ivm::differential_dataflow::VecCollection<'_, u64, u32, isize> {
            let _ = v.table(&table);
            panic!("definition bug")
        });
    assert_poisoned(result, "definition bug");
    assert_poisoned(engine.commit(|_| {}), "definition bug");
}

#[test]
fn a_panic_on_one_worker_while_building_a_view_is_reported_by_that_call_and_every_later_one() {
    // Regression: with only worker 1 panicking, the creating call returned `Shutdown` (its
    // reply channel closed before the poison was marked) and the next commit returned `Ok`.
    for _ in 0..20 {
        let engine = Engine::start(Config::default().with_workers(2)).unwrap();
        let a = engine.table::<u32>("a").unwrap();
        let result = engine.view("boom", move |v| {
            let c = v.table(&a);
            if v.scope().index() == 1 {
                panic!("only on worker 1")
            }
            c
        });
        assert_poisoned(result, "only on worker 1");
        assert_poisoned(engine.commit(|_| {}), "only on worker 1");
        assert_poisoned(engine.latest(), "only on worker 1");
    }
}

#[test]
fn reads_waiting_when_a_worker_panics_are_answered() {
    let engine = Engine::start(Config::default().with_workers(2)).unwrap();
    let table = engine.table::<u32>("t").unwrap();
    let view = engine
        .view("fragile", {
            let table = table.clone();
            move |v| {
                v.table(&table).inspect(|(x, _, _)| {
                    if *x == 13 {
                        panic!("boom")
                    }
                })
            }
        })
        .unwrap();
    // A read of a time far in the future waits...
    let waiting = {
        let view = view.clone();
        std::thread::spawn(move || view.at(1_000))
    };
    // ...until a panic ends the engine.
    engine.commit(|tx| tx.insert(&table, 13)).unwrap();
    assert_poisoned(waiting.join().unwrap(), "boom");
}

#[test]
fn view_logic_may_shut_the_engine_down() {
    for workers in [1, 2] {
        let engine = Engine::start(Config::default().with_workers(workers)).unwrap();
        let table = engine.table::<u32>("t").unwrap();
        let view = engine
            .view("stopper", {
                let (table, engine) = (table.clone(), engine.clone());
                move |v| {
                    let engine = engine.clone();
                    v.table(&table).inspect(move |(x, _, _)| {
                        if *x == 13 {
                            // On a worker thread: it must not wait for the workers to stop.
                            engine.shutdown();
                        }
                    })
                }
            })
            .unwrap();
        let waiting = {
            let view = view.clone();
            std::thread::spawn(move || view.at(1_000))
        };
        engine.commit(|tx| tx.insert(&table, 13)).unwrap();
        // A clean shutdown, not a panicking worker: the waiting read and later calls say so.
        assert_eq!(waiting.join().unwrap(), Err(Error::Shutdown));
        assert_eq!(engine.commit(|tx| tx.insert(&table, 1)), Err(Error::Shutdown));
        assert_eq!(view.at(1), Err(Error::Shutdown));
    }
}
