//! One-shot batch runs: the same definition, over rows in memory or the engine's tables as of t.

use ivm::batch::{self, BatchInputs};
use ivm::{Config, Engine, Error};

#[test]
fn in_memory_rows_on_any_number_of_workers() {
    let engine = Engine::start(Config::default()).unwrap();
    let sales = engine.table::<(u32, u64)>("sales").unwrap();
    let totals = engine
        .view("totals", {
            let sales = sales.clone();
            move |v| v.table(&sales).explode(|(shop, cents)| Some((shop, cents as isize))).count()
        })
        .unwrap();
    let rows: Vec<(u32, u64)> = (0..1_000u64).map(|i| ((i % 7) as u32, i)).collect();
    let expected: Vec<((u32, isize), isize)> = (0..7u32)
        .map(|shop| ((shop, (0..1_000u64).filter(|i| i % 7 == u64::from(shop)).sum::<u64>() as isize), 1))
        .collect();
    for workers in [1, 2, 4] {
        let inputs = BatchInputs::new().table(&sales, rows.clone());
        assert_eq!(batch::run(totals.definition(), &inputs, workers).unwrap(), expected, "workers {workers}");
    }
}

#[test]
fn tables_as_of_t_give_exactly_at_t() {
    let engine = Engine::start(Config::default().with_workers(2)).unwrap();
    let users = engine.keyed_table::<u32, String>("users").unwrap();
    let visits = engine.table::<(u32, u32)>("visits").unwrap();
    let per_country = engine
        .view("per_country", {
            let (users, visits) = (users.clone(), visits.clone());
            move |v| v.keyed_table(&users).join(v.table(&visits)).map(|(_, (country, _page))| country).count()
        })
        .unwrap();
    let busiest = engine
        .view("busiest", {
            let per_country = per_country.clone();
            move |v| v.view(&per_country).filter(|(_, n)| *n >= 2).map(|(country, _)| country)
        })
        .unwrap();
    let mut times = vec![];
    times.push(
        engine
            .commit(|tx| {
                tx.upsert(&users, 1, "fr".into());
                tx.upsert(&users, 2, "nz".into());
                tx.insert(&visits, (1, 10));
            })
            .unwrap(),
    );
    times.push(engine.commit(|tx| tx.insert(&visits, (1, 11))).unwrap());
    times.push(engine.commit(|tx| tx.upsert(&users, 1, "nz".into())).unwrap());
    times.push(engine.commit(|tx| tx.insert(&visits, (2, 12))).unwrap());
    times.push(engine.commit(|tx| tx.delete(&visits, (1, 10))).unwrap());
    for &t in &times {
        let inputs = BatchInputs::from_engine(&engine, t).unwrap();
        assert_eq!(inputs.time(), t);
        for workers in [1, 3] {
            assert_eq!(
                batch::run(per_country.definition(), &inputs, workers).unwrap(),
                per_country.at(t).unwrap()
            );
            // Views over views: the earlier view's definition runs in the same batch.
            assert_eq!(batch::run(busiest.definition(), &inputs, workers).unwrap(), busiest.at(t).unwrap());
        }
    }
}

#[test]
fn a_missing_table_is_a_typed_error_naming_it() {
    let engine = Engine::start(Config::default()).unwrap();
    let a = engine.table::<u32>("a").unwrap();
    let b = engine.table::<u32>("b").unwrap();
    let both = engine
        .view("both", {
            let (a, b) = (a.clone(), b.clone());
            move |v| v.table(&a).concat(v.table(&b))
        })
        .unwrap();
    let inputs = BatchInputs::new().table(&a, vec![1, 2]);
    let error = batch::run(both.definition(), &inputs, 2).unwrap_err();
    assert_eq!(error, Error::MissingInput { table: "b".into() });
    assert!(error.to_string().contains("\"b\""));
    // An empty table is an input like any other.
    let inputs = inputs.table(&b, Vec::<u32>::new());
    assert_eq!(batch::run(both.definition(), &inputs, 2).unwrap(), vec![(1, 1), (2, 1)]);
}

#[test]
fn zero_workers_is_rejected() {
    let engine = Engine::start(Config::default()).unwrap();
    let a = engine.table::<u32>("a").unwrap();
    let view = engine.view("v", move |v| v.table(&a)).unwrap();
    assert!(matches!(batch::run(view.definition(), &BatchInputs::new(), 0), Err(Error::InvalidConfig(_))));
}

#[test]
fn a_panicking_definition_fails_the_run_without_hanging() {
    let engine = Engine::start(Config::default()).unwrap();
    let a = engine.table::<u32>("a").unwrap();
    let view = engine
        .view("v", {
            let a = a.clone();
            move |v| {
                v.table(&a).map(|x| {
                    assert!(x != 3, "three is not allowed");
                    x
                })
            }
        })
        .unwrap();
    for workers in [1, 2, 4] {
        let inputs = BatchInputs::new().table(&a, 0..100);
        match batch::run(view.definition(), &inputs, workers) {
            Err(Error::WorkerPanicked { message }) => assert!(message.contains("three"), "{message}"),
            other => panic!("expected a panic error, got {other:?}"),
        }
    }
    // The engine itself is untouched by a failed batch run.
    assert_eq!(engine.commit(|_| {}).unwrap(), 1);
}

#[test]
fn updates_with_times_are_read_at_as_of() {
    let engine = Engine::start(Config::default()).unwrap();
    let a = engine.table::<u32>("a").unwrap();
    let view = engine.view("v", move |v| v.table(&a).map(|x| x * 10)).unwrap();
    let a = engine.open_table::<u32>("a").unwrap();
    let history = vec![(1, 1, 1), (2, 2, 1), (1, 3, -1), (5, 9, 1)];
    let at =
        |t| batch::run(view.definition(), &BatchInputs::new().as_of(t).table_updates(&a, history.clone()), 2);
    assert_eq!(at(0).unwrap(), vec![]);
    assert_eq!(at(2).unwrap(), vec![(10, 1), (20, 1)]);
    assert_eq!(at(3).unwrap(), vec![(20, 1)]);
    assert_eq!(at(100).unwrap(), vec![(20, 1), (50, 1)]);
}

#[test]
fn keyed_updates_with_times_are_read_at_as_of() {
    let engine = Engine::start(Config::default()).unwrap();
    let prices = engine.keyed_table::<u32, u32>("prices").unwrap();
    let view = engine
        .view("doubled", {
            let prices = prices.clone();
            move |v| v.keyed_table(&prices).map(|(k, p)| (k, p * 2))
        })
        .unwrap();
    // Key 1 is 10 from time 1, replaced by 11 at time 3; key 2 is 20 from time 2 to time 4.
    let history = vec![((1, 10), 1, 1), ((2, 20), 2, 1), ((1, 10), 3, -1), ((1, 11), 3, 1), ((2, 20), 4, -1)];
    let at = |t| {
        let inputs = BatchInputs::new().as_of(t).keyed_table_updates(&prices, history.clone());
        batch::run(view.definition(), &inputs, 2)
    };
    assert_eq!(at(0).unwrap(), vec![]);
    assert_eq!(at(2).unwrap(), vec![((1, 20), 1), ((2, 40), 1)]);
    assert_eq!(at(3).unwrap(), vec![((1, 22), 1), ((2, 40), 1)]);
    assert_eq!(at(4).unwrap(), vec![((1, 22), 1)]);
    // Current contents only: the same as the history read at its end.
    let current = BatchInputs::new().keyed_table(&prices, [(1, 11)]);
    assert_eq!(batch::run(view.definition(), &current, 2).unwrap(), at(4).unwrap());
}

#[test]
fn a_batch_run_below_since_is_compacted() {
    let engine = Engine::start(Config::default().with_retention(ivm::Retention::LastCommits(1))).unwrap();
    let a = engine.table::<u32>("a").unwrap();
    engine.commit(|tx| tx.insert(&a, 1)).unwrap();
    engine.commit(|tx| tx.insert(&a, 2)).unwrap();
    assert_eq!(
        BatchInputs::from_engine(&engine, 1).unwrap_err(),
        Error::Compacted { name: String::new(), requested: 1, since: 2 }
    );
}

#[test]
fn rows_with_diffs_add_up_like_the_live_engine_and_zeros_vanish() {
    let engine = Engine::start(Config::default().with_workers(2)).unwrap();
    let stock = engine.table::<char>("stock").unwrap();
    let rows = engine
        .view("rows", {
            let stock = stock.clone();
            move |v| v.table(&stock)
        })
        .unwrap();
    let kinds = engine
        .view("kinds", {
            let stock = stock.clone();
            move |v| v.table(&stock).map(|_| ()).count()
        })
        .unwrap();
    // Three apples 'a' (given as 2 + 1), one pear 'p' deleted more often than inserted, plums
    // 'u' that cancel out, and a fig 'f' with a zero diff.
    let pairs = [('a', 2), ('p', -1), ('a', 1), ('u', 4), ('u', -4), ('f', 0)];
    let t = engine
        .commit(|tx| {
            for (row, diff) in pairs {
                tx.update(&stock, row, diff);
            }
        })
        .unwrap();
    let expected = vec![('a', 3), ('p', -1)];
    assert_eq!(rows.at(t).unwrap(), expected);
    for workers in [1, 2, 4] {
        let inputs = BatchInputs::new().table_with_diffs(&stock, pairs);
        assert_eq!(batch::run(rows.definition(), &inputs, workers).unwrap(), expected, "workers {workers}");
        // `count` sees the negative multiplicity too: 3 - 1 copies.
        assert_eq!(batch::run(kinds.definition(), &inputs, workers).unwrap(), kinds.at(t).unwrap());
        assert_eq!(kinds.at(t).unwrap(), vec![(((), 2), 1)]);
    }
    // `table` is `table_with_diffs` with every diff 1.
    let repeated = BatchInputs::new().table(&stock, ['a', 'a', 'a']);
    let counted = BatchInputs::new().table_with_diffs(&stock, [('a', 3)]);
    assert_eq!(
        batch::run(rows.definition(), &repeated, 2).unwrap(),
        batch::run(rows.definition(), &counted, 2).unwrap()
    );
}
