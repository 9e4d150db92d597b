//! Views: definitions over tables and views, keyed reads, late creation, concurrent readers.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ivm::differential_dataflow::operators::Iterate;
use ivm::{Config, Definition, Engine, Error};

#[test]
fn the_issue_example_reads_as_written() {
    let engine = Engine::start(Config::default().with_workers(2)).unwrap();
    let edges = engine.table::<(u32, u32)>("edges").unwrap();
    let degree = engine
        .view("degree", {
            let e = edges.clone();
            move |v| v.table(&e).map(|(src, _)| src).count()
        })
        .unwrap();
    let t = engine
        .commit(|tx| {
            tx.insert(&edges, (1, 2));
            tx.insert(&edges, (1, 3));
        })
        .unwrap();
    assert_eq!(degree.at(t).unwrap(), vec![((1, 2), 1)]);
}

#[test]
fn reads_are_sorted_and_consolidated_across_workers() {
    let engine = Engine::start(Config::default().with_workers(4)).unwrap();
    let nums = engine.table::<u64>("nums").unwrap();
    let mods = engine
        .view("mods", {
            let nums = nums.clone();
            move |v| v.table(&nums).map(|x| x % 7)
        })
        .unwrap();
    let t = engine.commit(|tx| tx.insert_all(&nums, 0..700)).unwrap();
    assert_eq!(mods.at(t).unwrap(), (0..7).map(|m| (m, 100)).collect::<Vec<_>>());
}

#[test]
fn views_over_views() {
    let engine = Engine::start(Config::default().with_workers(2)).unwrap();
    let edges = engine.table::<(u32, u32)>("edges").unwrap();
    let degree = engine
        .view("degree", {
            let edges = edges.clone();
            move |v| v.table(&edges).map(|(src, _)| src).count()
        })
        .unwrap();
    let histogram = engine
        .view("histogram", {
            let degree = degree.clone();
            move |v| v.view(&degree).map(|(_node, d)| d).count()
        })
        .unwrap();
    let t = engine
        .commit(|tx| {
            for (a, b) in [(1, 2), (1, 3), (2, 3), (3, 1), (3, 2)] {
                tx.insert(&edges, (a, b));
            }
        })
        .unwrap();
    assert_eq!(histogram.at(t).unwrap(), vec![((1, 1), 1), ((2, 2), 1)]);
}

#[test]
fn a_view_over_views_imports_them_instead_of_running_their_definitions_again() {
    // Each definition counts the times it is built: once per worker, when its view is made.
    // A view over earlier views shares their arrangements, so theirs are not built again.
    let workers = 2;
    let engine = Engine::start(Config::default().with_workers(workers)).unwrap();
    let numbers = engine.table::<u32>("numbers").unwrap();
    let (evens_built, squares_built) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let evens = engine
        .view("evens", {
            let (numbers, built) = (numbers.clone(), Arc::clone(&evens_built));
            move |v| {
                built.fetch_add(1, Ordering::SeqCst);
                v.table(&numbers).filter(|n| n % 2 == 0)
            }
        })
        .unwrap();
    let squares = engine
        .keyed_view("squares", {
            let (numbers, built) = (numbers.clone(), Arc::clone(&squares_built));
            move |v| {
                built.fetch_add(1, Ordering::SeqCst);
                v.table(&numbers).map(|n| (n, n * n))
            }
        })
        .unwrap();
    let both = engine
        .view("even_squares", {
            let (evens, squares) = (evens.clone(), squares.clone());
            move |v| v.view(&evens).map(|n| (n, ())).join_map(v.keyed_view(&squares), |n, (), sq| (*n, *sq))
        })
        .unwrap();
    let t = engine.commit(|tx| tx.insert_all(&numbers, 1..=4)).unwrap();
    assert_eq!(both.at(t).unwrap(), vec![((2, 4), 1), ((4, 16), 1)]);
    assert_eq!(evens_built.load(Ordering::SeqCst), workers, "evens was built again");
    assert_eq!(squares_built.load(Ordering::SeqCst), workers, "squares was built again");
}

#[test]
fn a_view_created_after_commits_shows_all_retained_history() {
    let engine = Engine::start(Config::default().with_workers(2)).unwrap();
    let table = engine.table::<u32>("t").unwrap();
    let t1 = engine.commit(|tx| tx.insert(&table, 1)).unwrap();
    let t2 = engine.commit(|tx| tx.insert(&table, 2)).unwrap();
    let t3 = engine.commit(|tx| tx.delete(&table, 1)).unwrap();
    let doubled = engine
        .view("doubled", {
            let table = table.clone();
            move |v| v.table(&table).map(|x| x * 2)
        })
        .unwrap();
    assert_eq!(doubled.at(t1).unwrap(), vec![(2, 1)]);
    assert_eq!(doubled.at(t2).unwrap(), vec![(2, 1), (4, 1)]);
    assert_eq!(doubled.at(t3).unwrap(), vec![(4, 1)]);
}

#[test]
fn keyed_views_answer_get_and_range_from_the_owning_shards() {
    for workers in [1, 2, 3] {
        let engine = Engine::start(Config::default().with_workers(workers)).unwrap();
        let sales = engine.table::<(u32, u64)>("sales").unwrap();
        let totals = engine
            .keyed_view("totals", {
                let sales = sales.clone();
                move |v| {
                    v.table(&sales)
                        .explode(|(shop, cents)| Some((shop, cents as isize)))
                        .count()
                        .map(|(shop, total)| (shop, total as u64))
                }
            })
            .unwrap();
        let t = engine
            .commit(|tx| {
                for shop in 0..50u32 {
                    tx.insert(&sales, (shop, 100));
                    tx.insert(&sales, (shop, u64::from(shop)));
                }
            })
            .unwrap();
        let all = totals.at(t).unwrap();
        assert_eq!(all.len(), 50);
        for shop in 0..50u32 {
            assert_eq!(totals.get(&shop, t).unwrap(), vec![(100 + u64::from(shop), 1)], "shop {shop}");
        }
        assert_eq!(totals.get(&999, t).unwrap(), vec![]);
        let expected: Vec<_> = all.iter().filter(|((k, _), _)| (10..20).contains(k)).cloned().collect();
        assert_eq!(totals.range(10..20, t).unwrap(), expected);
        assert_eq!(totals.range(10..=19, t).unwrap(), expected);
        assert_eq!(totals.range(..3, t).unwrap().len(), 3);
        assert_eq!(totals.range(47.., t).unwrap().len(), 3);
    }
}

#[test]
fn view_stats_count_what_each_view_holds() {
    let engine = Engine::start(Config::default().with_workers(2)).unwrap();
    let nums = engine.table::<u32>("nums").unwrap();
    let evens = engine
        .view("evens", {
            let nums = nums.clone();
            move |v| v.table(&nums).filter(|x| x % 2 == 0)
        })
        .unwrap();
    let by_tens = engine
        .keyed_view("by_tens", {
            let nums = nums.clone();
            move |v| v.table(&nums).map(|x| (x / 10, x))
        })
        .unwrap();
    assert_eq!((evens.stats().unwrap().updates, by_tens.stats().unwrap().updates), (0, 0));
    let t = engine.commit(|tx| tx.insert_all(&nums, 0..30)).unwrap();
    // Reading at `t` waits until both arrangements hold the commit.
    assert_eq!((evens.at(t).unwrap().len(), by_tens.at(t).unwrap().len()), (15, 30));
    let (evens_stats, by_tens_stats) = (evens.stats().unwrap(), by_tens.stats().unwrap());
    assert_eq!((evens_stats.updates, by_tens_stats.updates), (15, 30));
    assert!(evens_stats.batches >= 1 && by_tens_stats.batches >= 1);
    engine.shutdown();
    assert_eq!(by_tens.stats(), Err(Error::Shutdown));
}

#[test]
fn definitions_are_values_that_can_be_reused() {
    let engine = Engine::start(Config::default()).unwrap();
    let table = engine.table::<u32>("t").unwrap();
    let definition = Definition::new({
        let table = table.clone();
        move |v| v.table(&table).filter(|x| x % 2 == 0)
    });
    let a = engine.view_from("a", &definition).unwrap();
    let b = engine.view_from("b", a.definition()).unwrap();
    let t = engine.commit(|tx| tx.insert_all(&table, 0..6)).unwrap();
    assert_eq!(a.at(t).unwrap(), b.at(t).unwrap());
    assert_eq!(a.at(t).unwrap(), vec![(0, 1), (2, 1), (4, 1)]);
    let reopened = engine.open_view::<u32>("a").unwrap();
    assert_eq!(reopened.at(t).unwrap(), a.at(t).unwrap());
}

#[test]
fn many_threads_read_at_once() {
    let engine = Engine::start(Config::default().with_workers(2)).unwrap();
    let table = engine.table::<u64>("t").unwrap();
    let sums = engine
        .view("sum", {
            let table = table.clone();
            move |v| v.table(&table).explode(|x| Some(((), x as isize))).count()
        })
        .unwrap();
    let mut times = vec![];
    for i in 1..=50u64 {
        times.push(engine.commit(|tx| tx.insert(&table, i)).unwrap());
    }
    let times = Arc::new(times);
    let readers: Vec<_> = (0..8)
        .map(|reader| {
            let (sums, times) = (sums.clone(), Arc::clone(&times));
            std::thread::spawn(move || {
                for (i, &t) in times.iter().enumerate().skip(reader) {
                    let n = i as isize + 1;
                    assert_eq!(sums.at(t).unwrap(), vec![(((), n * (n + 1) / 2), 1)]);
                }
            })
        })
        .collect();
    for reader in readers {
        reader.join().unwrap();
    }
}

#[test]
fn reads_wait_for_a_later_commit() {
    let engine = Engine::start(Config::default().with_workers(2)).unwrap();
    let table = engine.table::<u32>("t").unwrap();
    let view = engine
        .view("v", {
            let table = table.clone();
            move |v| v.table(&table)
        })
        .unwrap();
    let reader = {
        let view = view.clone();
        std::thread::spawn(move || view.at(3))
    };
    engine.commit(|tx| tx.insert(&table, 1)).unwrap();
    engine.commit(|tx| tx.insert(&table, 2)).unwrap();
    engine.commit(|tx| tx.insert(&table, 3)).unwrap();
    assert_eq!(reader.join().unwrap(), Ok(vec![(1, 1), (2, 1), (3, 1)]));
}

#[test]
fn recursive_views_work() {
    let engine = Engine::start(Config::default().with_workers(2)).unwrap();
    let edges = engine.table::<(u32, u32)>("edges").unwrap();
    let reach = engine
        .view("reach", {
            let edges = edges.clone();
            move |v| {
                let edges = v.table(&edges);
                let roots = edges.clone().filter(|(a, _)| *a == 0).map(|(a, _)| a);
                roots.clone().iterate(|scope, reach| {
                    let edges = edges.clone().enter(scope);
                    let roots = roots.clone().enter(scope);
                    reach.map(|n| (n, ())).join(edges).map(|(_, (_, dst))| dst).concat(roots).distinct()
                })
            }
        })
        .unwrap();
    let t1 = engine.commit(|tx| tx.insert_all(&edges, [(0, 1), (1, 2), (2, 3), (5, 6)])).unwrap();
    let t2 = engine.commit(|tx| tx.delete(&edges, (1, 2))).unwrap();
    assert_eq!(reach.at(t1).unwrap(), vec![(0, 1), (1, 1), (2, 1), (3, 1)]);
    assert_eq!(reach.at(t2).unwrap(), vec![(0, 1), (1, 1)]);
}

#[test]
fn a_view_reading_a_foreign_table_is_not_created() {
    let engine = Engine::start(Config::default().with_workers(2)).unwrap();
    let other = Engine::start(Config::default()).unwrap();
    let theirs = other.table::<u32>("theirs").unwrap();
    let error = engine.view("v", move |v| v.table(&theirs)).unwrap_err();
    assert_eq!(error, Error::ForeignHandle { name: "theirs".into() });
    // The name stays free and the engine keeps working.
    let mine = engine.table::<u32>("mine").unwrap();
    let view = engine.view("v", move |v| v.table(&mine)).unwrap();
    let t = engine.commit(|_| {}).unwrap();
    assert_eq!(view.at(t).unwrap(), vec![]);
}

#[test]
fn handles_print_what_they_are_in_debug_output() {
    let engine = ivm::Engine::start(ivm::Config::default().with_workers(2)).unwrap();
    let orders = engine.table::<(u32, u64)>("orders").unwrap();
    let prices = engine.keyed_table::<u32, u64>("prices").unwrap();
    let spend = engine
        .keyed_view("spend", {
            let orders = orders.clone();
            move |v| v.table(&orders)
        })
        .unwrap();
    let count = engine.view("count", move |v| v.keyed_table(&prices).map(|_| ()).count()).unwrap();
    let mut tx = engine.transaction();
    tx.insert(&orders, (1, 2));
    let subscription = count.subscribe().unwrap();
    let inputs = ivm::batch::BatchInputs::new().table(&orders, [(1, 2)]);
    let printed = [
        format!("{engine:?}"),
        format!("{orders:?}"),
        format!("{:?}", engine.open_keyed_table::<u32, u64>("prices").unwrap()),
        format!("{spend:?}"),
        format!("{count:?}"),
        format!("{:?}", count.definition()),
        format!("{tx:?}"),
        format!("{subscription:?}"),
        format!("{inputs:?}"),
    ];
    let expected = [
        "Engine { workers: 2 }",
        "Table { name: \"orders\" }",
        "KeyedTable { name: \"prices\" }",
        "KeyedView { name: \"spend\" }",
        "View { name: \"count\" }",
        "Definition",
        "Transaction { writes: 1 }",
        "Subscription {",
        "BatchInputs { as_of: 0, tables: [\"orders\"] }",
    ];
    for (printed, expected) in printed.iter().zip(expected) {
        assert!(printed.starts_with(expected), "{printed:?} should start with {expected:?}");
    }
    let prices = engine.open_keyed_table::<u32, u64>("prices").unwrap();
    assert_eq!(
        [orders.name(), prices.name(), spend.name(), count.name()],
        ["orders", "prices", "spend", "count"]
    );
}
