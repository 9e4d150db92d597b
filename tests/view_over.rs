//! Definitions over their inputs (`Definition::over`, `Engine::view_over`): handles named once,
//! collections handed over, the same answers live and in batch runs.

use ivm::batch::{self, BatchInputs};
use ivm::{Config, Definition, Engine, Error};

#[test]
fn one_input_and_a_tuple_of_every_kind_of_handle() {
    for workers in [1, 2, 4] {
        let engine = Engine::start(Config::default().with_workers(workers)).unwrap();
        let edges = engine.table::<(u32, u32)>("edges").unwrap();
        let names = engine.keyed_table::<u32, String>("names").unwrap();
        let degree =
            engine.view_over("degree", &edges, |_, edges| edges.map(|(from, _)| from).count()).unwrap();
        let named = engine
            .keyed_view_over("named", (&names,), |_, (names,)| names.filter(|(_, name)| !name.is_empty()))
            .unwrap();
        // A view (row and keyed) and two tables at once, and the context still at hand.
        let report = engine
            .view_over("report", (&degree, &named, (&edges, &names)), |v, (degree, named, (edges, names))| {
                let sinks = edges.map(|(_, to)| (to, ())).antijoin(names.map(|(node, _)| node));
                degree
                    .join(named)
                    .map(|(_node, (d, name))| (name, d))
                    .concat(sinks.map(|(node, ())| (format!("sink {node}"), 0)))
                    .concat(v.constant([("total".to_string(), -1)]))
            })
            .unwrap();
        let t1 = engine
            .commit(|tx| {
                tx.insert_all(&edges, [(1, 2), (1, 3), (2, 3)]);
                tx.upsert(&names, 1, "one".into());
                tx.upsert(&names, 2, String::new());
            })
            .unwrap();
        let t2 = engine.commit(|tx| tx.upsert(&names, 3, "three".into())).unwrap();
        let rows = |pairs: &[(&str, isize, isize)]| -> Vec<((String, isize), isize)> {
            pairs.iter().map(|(name, d, n)| ((name.to_string(), *d), *n)).collect()
        };
        assert_eq!(degree.at(t1).unwrap(), vec![((1, 2), 1), ((2, 1), 1)]);
        assert_eq!(named.get(&2, t1).unwrap(), vec![]);
        assert_eq!(named.get(&1, t1).unwrap(), vec![("one".to_string(), 1)]);
        let expected = rows(&[("one", 2, 1), ("sink 3", 0, 2), ("total", -1, 1)]);
        assert_eq!(report.at(t1).unwrap(), expected, "workers {workers}");
        assert_eq!(report.at(t2).unwrap(), rows(&[("one", 2, 1), ("total", -1, 1)]), "workers {workers}");
        // The batch run of the same definitions gives the same answers.
        for t in [t1, t2] {
            let inputs = BatchInputs::from_engine(&engine, t).unwrap();
            assert_eq!(batch::run(report.definition(), &inputs, workers).unwrap(), report.at(t).unwrap());
            assert_eq!(batch::run(named.definition(), &inputs, workers).unwrap(), named.at(t).unwrap());
        }
    }
}

#[test]
fn a_definition_over_inputs_is_a_value_that_runs_in_batch() {
    let engine = Engine::start(Config::default()).unwrap();
    let sales = engine.table::<(u32, u64)>("sales").unwrap();
    let shops = engine.keyed_table::<u32, String>("shops").unwrap();
    let per_city = Definition::over((&sales, &shops), |_, (sales, shops)| {
        shops.join(sales.map(|(shop, cents)| (shop, cents))).map(|(_, (city, _))| city).count()
    });
    let inputs = BatchInputs::new()
        .table(&sales, [(1, 10), (1, 20), (2, 5)])
        .keyed_table(&shops, [(1, "Lyon".to_string()), (2, "Oslo".to_string())]);
    for workers in [1, 2, 4] {
        assert_eq!(
            batch::run(&per_city, &inputs, workers).unwrap(),
            vec![(("Lyon".to_string(), 2), 1), (("Oslo".to_string(), 1), 1)],
            "workers {workers}"
        );
    }
    let missing = batch::run(&per_city, &BatchInputs::new().table(&sales, [(1, 1)]), 1);
    assert!(matches!(missing, Err(Error::MissingInput { table }) if table == "shops"));
}

#[test]
fn a_handle_of_another_engine_is_refused_and_nothing_is_created() {
    let engine = Engine::start(Config::default()).unwrap();
    let other = Engine::start(Config::default()).unwrap();
    let theirs = other.table::<u32>("nums").unwrap();
    let ours = engine.table::<u32>("nums").unwrap();
    let created = engine.view_over("sum", (&ours, &theirs), |_, (ours, theirs)| ours.concat(theirs));
    assert!(matches!(created, Err(Error::ForeignHandle { .. })), "{created:?}");
    assert!(matches!(engine.open_view::<u32>("sum"), Err(Error::UnknownName { .. })));
}
