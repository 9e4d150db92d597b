//! Plain reads: an exact read's `(row, multiplicity)` answer turned into what most callers
//! want, rows listed without multiplicities or one value per key, with the checks that keep
//! them exact.
//!
//! An exact read (`at`, `get`) answers a multiset: each row with its multiplicity, which may be
//! more than one, or negative for a bag table's row deleted more often than it was inserted.
//! A plain read holds the same information only when it can:
//! - [`expand`] lists each row as many times as it is held, and fails with
//!   [`Error::NegativeMultiplicity`] on a negative multiplicity, which no list can hold;
//! - [`entries`] gives each key its one value, and fails with [`Error::KeyNotUnique`] on a key
//!   with anything else (two values, a value held twice, a negative multiplicity): a keyed view
//!   whose definition is not a function of its key is an error, never a silently picked value.
//!
//! Both take the read's rows sorted, as every handle's read returns them, and keep that order.

use std::fmt::Debug;

use crate::error::{Error, Result, shown_debug};
use crate::time::{Diff, Time};

/// The rows of `name`'s read at `time`, each repeated by its multiplicity, in their order;
/// [`Error::NegativeMultiplicity`] at the first row with a negative one.
pub(crate) fn expand<R: Debug + Clone>(rows: Vec<(R, Diff)>, name: &str, time: Time) -> Result<Vec<R>> {
    let mut listed = Vec::with_capacity(rows.len());
    for (row, diff) in rows {
        let Ok(copies) = usize::try_from(diff) else {
            return Err(negative(&row, diff, name, time));
        };
        listed.extend(std::iter::repeat_n(row, copies));
    }
    Ok(listed)
}

/// The error of a read of `name` at `time` that holds `row` a negative number (`diff`) of
/// times, where a list of rows was asked for.
pub(crate) fn negative(row: &dyn Debug, diff: Diff, name: &str, time: Time) -> Error {
    Error::NegativeMultiplicity { name: name.to_string(), row: shown_debug(row), diff, time }
}

/// The `(key, value)` rows of keyed source `name`'s read at `time` (sorted by key, then value)
/// as one value per key; [`Error::KeyNotUnique`] at the first key with anything other than one
/// value held once.
pub(crate) fn entries<K: Debug + Clone + Eq, V: Debug + Clone>(
    rows: Vec<((K, V), Diff)>,
    name: &str,
    time: Time,
) -> Result<Vec<(K, V)>> {
    let mut entries = Vec::with_capacity(rows.len());
    for group in rows.chunk_by(|((a, _), _), ((b, _), _)| a == b) {
        match group {
            [((key, value), 1)] => entries.push((key.clone(), value.clone())),
            _ => return Err(not_unique(group, name, time)),
        }
    }
    Ok(entries)
}

/// The one value of the key whose rows `rows` are (none if there are none); see [`entries`].
pub(crate) fn one_value<K: Debug + Clone + Eq, V: Debug + Clone>(
    rows: Vec<((K, V), Diff)>,
    name: &str,
    time: Time,
) -> Result<Option<V>> {
    Ok(entries(rows, name, time)?.pop().map(|(_, value)| value))
}

/// The error for a key whose rows are `group` (not empty).
fn not_unique<K: Debug, V: Debug>(group: &[((K, V), Diff)], name: &str, time: Time) -> Error {
    let key = group.first().map(|((key, _), _)| shown_debug(key)).unwrap_or_default();
    let values: Vec<(&V, Diff)> = group.iter().map(|((_, value), diff)| (value, *diff)).collect();
    Error::KeyNotUnique { name: name.to_string(), key, found: shown_debug(&values), time }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_repeated_by_their_multiplicity_in_order() {
        assert_eq!(expand(vec![("a", 2), ("b", 1)], "v", 3), Ok(vec!["a", "a", "b"]));
        assert_eq!(expand(Vec::<(u8, Diff)>::new(), "v", 3), Ok(vec![]));
    }

    #[test]
    fn a_negative_multiplicity_is_an_error_naming_the_row() {
        let error = expand(vec![("a", 1), ("b", -1)], "orders", 4).unwrap_err();
        let expected =
            Error::NegativeMultiplicity { name: "orders".into(), row: "\"b\"".into(), diff: -1, time: 4 };
        assert_eq!(error, expected);
    }

    #[test]
    fn each_key_gives_its_one_value() {
        let rows = vec![((1, 'a'), 1), ((2, 'b'), 1)];
        assert_eq!(entries(rows.clone(), "v", 1), Ok(vec![(1, 'a'), (2, 'b')]));
        assert_eq!(one_value(rows[..1].to_vec(), "v", 1), Ok(Some('a')));
        assert_eq!(one_value(Vec::<((u8, char), Diff)>::new(), "v", 1), Ok(None));
    }

    #[test]
    fn two_values_a_copy_or_a_negative_multiplicity_are_not_one_value() {
        let found = |rows: Vec<((u8, char), Diff)>| match entries(rows, "v", 7) {
            Err(Error::KeyNotUnique { name, key, found, time }) => (name, key, found, time),
            other => panic!("expected KeyNotUnique, got {other:?}"),
        };
        let error = |key: &str, found: &str| ("v".to_string(), key.to_string(), found.to_string(), 7);
        assert_eq!(
            found(vec![((1, 'a'), 1), ((2, 'b'), 1), ((2, 'c'), 1)]),
            error("2", "[('b', 1), ('c', 1)]")
        );
        assert_eq!(found(vec![((1, 'a'), 2)]), error("1", "[('a', 2)]"));
        assert_eq!(found(vec![((1, 'a'), -1)]), error("1", "[('a', -1)]"));
    }

    #[test]
    fn long_rows_are_shortened_in_errors() {
        let row = "x".repeat(100);
        match expand(vec![(row, -2)], "v", 1) {
            Err(Error::NegativeMultiplicity { row, .. }) => assert_eq!(row.chars().count(), 65),
            other => panic!("expected NegativeMultiplicity, got {other:?}"),
        }
    }
}
