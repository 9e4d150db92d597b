//! Every kind of bad input gets its own typed error, with a message that names the culprit.

use ivm::{Config, Engine, Error, Retention};

fn engine() -> Engine {
    Engine::start(Config::default().with_workers(2).with_retention(Retention::LastCommits(2))).unwrap()
}

#[test]
fn unknown_table_or_view() {
    let engine = engine();
    let error = engine.open_table::<u32>("missing").unwrap_err();
    assert_eq!(error, Error::UnknownName { kind: "table", name: "missing".into() });
    assert!(error.to_string().contains("\"missing\""), "{error}");
    assert_eq!(
        engine.open_keyed_table::<u32, u32>("missing").unwrap_err(),
        Error::UnknownName { kind: "keyed table", name: "missing".into() }
    );
    assert_eq!(
        engine.open_view::<u32>("nope").unwrap_err(),
        Error::UnknownName { kind: "view", name: "nope".into() }
    );
    assert_eq!(
        engine.open_keyed_view::<u32, u32>("nope").unwrap_err(),
        Error::UnknownName { kind: "keyed view", name: "nope".into() }
    );
}

#[test]
fn duplicate_names() {
    let engine = engine();
    let table = engine.table::<u32>("shared").unwrap();
    let error = engine.view("shared", move |v| v.table(&table)).unwrap_err();
    assert_eq!(error, Error::DuplicateName { name: "shared".into(), existing: "table" });
    assert!(error.to_string().contains("\"shared\""), "{error}");

    let table = engine.table::<u32>("shared").unwrap();
    engine.view("v", move |v| v.table(&table)).unwrap();
    let table = engine.table::<u32>("shared").unwrap();
    assert_eq!(
        engine.view("v", move |v| v.table(&table)).unwrap_err(),
        Error::DuplicateName { name: "v".into(), existing: "view" }
    );
}

#[test]
fn opening_a_name_as_another_kind_says_the_kind_differs() {
    let engine = engine();
    let table = engine.table::<(u8, u16)>("shared").unwrap();
    engine.view("v", move |v| v.table(&table)).unwrap();
    let error = engine.keyed_table::<u8, u16>("shared").unwrap_err();
    assert_eq!(
        error,
        Error::KindMismatch { name: "shared".into(), existing: "table", requested: "keyed table" }
    );
    assert!(error.to_string().contains("is a table but was opened as a keyed table"), "{error}");
    assert_eq!(
        engine.table::<(u8, u16)>("v").unwrap_err(),
        Error::KindMismatch { name: "v".into(), existing: "view", requested: "table" }
    );
    assert_eq!(
        engine.open_keyed_view::<u8, u16>("v").unwrap_err(),
        Error::KindMismatch { name: "v".into(), existing: "view", requested: "keyed view" }
    );
}

#[test]
fn names_that_are_not_identifier_like_are_refused_and_nothing_is_created() {
    let engine = engine();
    let long = "n".repeat(5_000);
    for name in ["", "../escape", "a\0b", "line\nbreak", "with space", long.as_str()] {
        let is_invalid = |error: Error| matches!(error, Error::InvalidName { name: ref n, .. } if n == name);
        assert!(is_invalid(engine.table::<u32>(name).unwrap_err()), "table {name:?}");
        assert!(is_invalid(engine.keyed_table::<u32, u32>(name).unwrap_err()), "keyed table {name:?}");
        let t = engine.table::<u32>("t").unwrap();
        assert!(is_invalid(engine.view(name, move |v| v.table(&t)).unwrap_err()), "view {name:?}");
        assert!(is_invalid(engine.open_view::<u32>(name).unwrap_err()), "open {name:?}");
    }
    let message = engine.table::<u32>(&long).unwrap_err().to_string();
    assert!(message.len() < 400 && message.contains("too long"), "{message}");
    // Nothing was created: a valid name still works, and the engine is healthy.
    assert_eq!(engine.table::<u32>("ok_name-1.v2").unwrap().at(engine.latest().unwrap()).unwrap(), vec![]);
}

#[test]
fn reopening_with_another_row_type() {
    let engine = engine();
    engine.table::<u32>("t").unwrap();
    let error = engine.table::<String>("t").unwrap_err();
    assert_eq!(
        error,
        Error::TypeMismatch { name: "t".into(), expected: "u32", found: "alloc::string::String" }
    );
    assert!(error.to_string().contains("u32") && error.to_string().contains("String"), "{error}");
    assert!(matches!(engine.open_table::<i32>("t"), Err(Error::TypeMismatch { .. })));

    let kv = engine.keyed_table::<u32, u32>("kv").unwrap();
    assert!(matches!(engine.keyed_table::<u32, u64>("kv"), Err(Error::TypeMismatch { .. })));
    engine.view("view", move |v| v.keyed_table(&kv)).unwrap();
    assert!(matches!(engine.open_view::<(u32, u64)>("view"), Err(Error::TypeMismatch { .. })));
    assert!(engine.open_view::<(u32, u32)>("view").is_ok());
}

#[test]
fn a_time_in_the_past() {
    let engine = engine();
    let table = engine.table::<u32>("t").unwrap();
    engine.commit_at(10, |tx| tx.insert(&table, 1)).unwrap();
    let error = engine.commit_at(9, |tx| tx.insert(&table, 2)).unwrap_err();
    assert_eq!(error, Error::TimeNotIncreasing { requested: 9, last: 10 });
    assert!(error.to_string().contains("10") && error.to_string().contains("nothing was applied"));
    assert_eq!(table.at(10).unwrap(), vec![(1, 1)]);
    assert_eq!(engine.latest().unwrap(), 10);
}

#[test]
fn a_read_before_since() {
    let engine = engine();
    let table = engine.table::<u32>("t").unwrap();
    for i in 0..5 {
        engine.commit(|tx| tx.insert(&table, i)).unwrap();
    }
    let error = table.at(2).unwrap_err();
    assert_eq!(error, Error::Compacted { name: "t".into(), requested: 2, since: 4 });
    let message = error.to_string();
    assert!(
        message.contains("since = 4") && message.contains("\"t\"") && message.contains("time 2"),
        "{error}"
    );
    assert_eq!(table.at(4).unwrap().len(), 4);
}

#[test]
fn a_call_after_shutdown() {
    let engine = engine();
    let table = engine.table::<u32>("t").unwrap();
    engine.shutdown();
    let error = engine.commit(|tx| tx.insert(&table, 1)).unwrap_err();
    assert_eq!(error, Error::Shutdown);
    assert!(error.to_string().contains("shut down"));
}

#[test]
fn errors_are_std_errors() {
    fn assert_error<E: std::error::Error + Send + Sync + 'static>() {}
    assert_error::<Error>();
}
