//! How rows are laid out as Arrow columns, derived from the row type's serde derive.
//!
//! - A row type that is a struct with named fields is one column per field, named as the
//!   field (nested structs, `Vec`s and `Option`s become Arrow structs, lists and nulls).
//! - Any other row type (a number, a string, a tuple, an enum) is one column, named `value`.
//! - A keyed source's `(key, value)` row is the key's columns then the value's, each laid out
//!   by the two rules above, with a key that is not a struct named `key`. If the key's and the
//!   value's names meet, the key is one (struct) column `key` and the value one column `value`.
//!
//! Enums without data are written as their variant's name (a string); enums with data are
//! Arrow unions, which Parquet cannot hold.

use std::marker::PhantomData;
use std::sync::Arc;

use arrow_array::ArrayRef;
use arrow_schema::{DataType, Field, FieldRef};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_arrow::schema::{SchemaLike, TracingOptions};
use serde_arrow::utils::Item;

use crate::files::encode::{Encoding, visitor};
use crate::row::Row;

/// The name serde_arrow gives the one field of [`Item`].
const ITEM: &str = "item";

/// A problem met while laying rows out as columns, or reading them back: a message, and the
/// column when one is to blame.
#[derive(Debug)]
pub struct LayoutError {
    pub(crate) column: Option<String>,
    pub(crate) message: String,
}

impl LayoutError {
    /// A problem that no one column is to blame for.
    pub(crate) fn new(message: impl ToString) -> LayoutError {
        LayoutError { column: None, message: message.to_string() }
    }
}

/// One Rust type's columns (public only to be named by [`Shape`], in a private module).
#[derive(Debug, Clone)]
pub enum Part {
    /// A struct with named fields: one column per field.
    Fields(Vec<FieldRef>),
    /// Anything else: one column, under this field's name.
    Column(FieldRef),
}

impl Part {
    /// `T`'s part, a lone column named `name` when it is not a struct with named fields.
    fn of<T: Serialize + DeserializeOwned>(name: &str) -> Result<Part, LayoutError> {
        let options = TracingOptions::default()
            .enums_without_data_as_strings(true)
            .strings_as_large_utf8(false)
            .bytes_as_large_binary(false)
            .sequence_as_large_list(false);
        let traced = Vec::<FieldRef>::from_type::<Item<T>>(options).map_err(LayoutError::new)?;
        let [field] = traced.as_slice() else {
            return Err(LayoutError::new("serde_arrow traced more than one field for an item"));
        };
        Ok(match field.data_type() {
            DataType::Struct(children) if !field.is_nullable() && is_named(children.iter()) => {
                Part::Fields(children.iter().cloned().collect())
            }
            _ => Part::Column(Arc::new(field.as_ref().clone().with_name(name))),
        })
    }

    /// The part as a lone column named `name` (a struct column if it was a struct's fields).
    fn nested(self, name: &str) -> Part {
        match self {
            Part::Fields(fields) => {
                Part::Column(Arc::new(Field::new(name, DataType::Struct(fields.into()), false)))
            }
            Part::Column(field) => Part::Column(Arc::new(field.as_ref().clone().with_name(name))),
        }
    }

    /// The columns, as they are named in a file.
    fn fields(&self) -> &[FieldRef] {
        match self {
            Part::Fields(fields) => fields,
            Part::Column(field) => std::slice::from_ref(field),
        }
    }

    fn encode<T: Serialize>(&self, items: &[&T]) -> Result<Vec<ArrayRef>, LayoutError> {
        match self {
            Part::Fields(fields) => serde_arrow::to_arrow(fields, items),
            Part::Column(field) => {
                let items: Vec<Item<&T>> = items.iter().map(|item| Item(*item)).collect();
                serde_arrow::to_arrow(&[as_item(field)], &items)
            }
        }
        .map_err(LayoutError::new)
    }

    fn decode<T: DeserializeOwned>(&self, arrays: &[ArrayRef]) -> Result<Vec<T>, LayoutError> {
        match self {
            Part::Fields(fields) => serde_arrow::from_arrow::<Vec<T>, _>(fields, arrays),
            Part::Column(field) => serde_arrow::from_arrow::<Vec<Item<T>>, _>(&[as_item(field)], arrays)
                .map(|items| items.into_iter().map(|item| item.0).collect()),
        }
        .map_err(LayoutError::new)
    }
}

impl Part {
    /// A builder of this part's arrays, one value pushed at a time with [`push`](Self::push).
    fn builder(&self) -> Result<serde_arrow::ArrayBuilder, String> {
        match self {
            Part::Fields(fields) => serde_arrow::ArrayBuilder::from_arrow(fields),
            Part::Column(field) => serde_arrow::ArrayBuilder::from_arrow(&[as_item(field)]),
        }
        .map_err(|error| error.to_string())
    }

    /// Pushes `value` onto `builder`, a builder of this part.
    fn push<T: Serialize>(&self, builder: &mut serde_arrow::ArrayBuilder, value: &T) -> Result<(), String> {
        match self {
            Part::Fields(_) => builder.push(value),
            Part::Column(_) => builder.push(Item(value)),
        }
        .map_err(|error| error.to_string())
    }

    /// The value of this part in a CSV `record`: a struct by its fields' names in `headers`,
    /// a lone column by its name in `headers`; without headers, by position from `first`.
    fn read_csv<T: DeserializeOwned>(
        &self,
        record: &csv::StringRecord,
        headers: Option<&csv::StringRecord>,
        first: usize,
    ) -> Result<T, LayoutError> {
        let at = |index: usize, name: Option<&str>| LayoutError {
            column: name
                .map(str::to_string)
                .or_else(|| headers.and_then(|h| h.get(index)).map(str::to_string)),
            message: String::new(),
        };
        let failed = |error: csv::Error, base: usize, names: &[&str]| match error.kind() {
            csv::ErrorKind::Deserialize { err, .. } => {
                let index = err.field().map(|field| field as usize);
                let name = index.and_then(|i| names.get(i).copied());
                let mut located = at(base + index.unwrap_or(0), name);
                if index.is_none() {
                    located.column = None;
                }
                located.message = err.kind().to_string();
                located
            }
            _ => LayoutError::new(error),
        };
        match (self, headers) {
            (Part::Fields(_), Some(headers)) => {
                record.deserialize(Some(headers)).map_err(|e| failed(e, 0, &[]))
            }
            (Part::Fields(fields), None) => {
                let own: csv::StringRecord = record.iter().skip(first).take(fields.len()).collect();
                let names: Vec<&str> = fields.iter().map(|field| field.name().as_str()).collect();
                own.deserialize(None).map_err(|e| failed(e, first, &names))
            }
            (Part::Column(field), headers) => {
                let index = match headers {
                    Some(headers) => headers.iter().position(|name| name == field.name()),
                    None => Some(first),
                };
                let Some(value) = index.and_then(|index| record.get(index)) else {
                    return Err(LayoutError {
                        column: Some(field.name().clone()),
                        message: "the record has no value for this column".into(),
                    });
                };
                csv::StringRecord::from(vec![value])
                    .deserialize(None)
                    .map_err(|e| failed(e, 0, &[field.name().as_str()]))
            }
        }
    }

    /// The CSV columns this part reads, by name.
    fn csv_names(&self) -> Vec<&str> {
        self.fields().iter().map(|field| field.name().as_str()).collect()
    }
}

/// A builder for each of `parts`.
#[allow(clippy::ptr_arg, reason = "the signature of `encode::Make<Vec<Part>>`")]
fn builders(parts: &Vec<Part>) -> Result<Vec<serde_arrow::ArrayBuilder>, String> {
    parts.iter().map(Part::builder).collect()
}

/// Whether `fields` are a struct's named fields (not empty, not a tuple's `0`, `1`, ...).
fn is_named<'a>(mut fields: impl ExactSizeIterator<Item = &'a FieldRef>) -> bool {
    fields.len() > 0 && !fields.all(|field| field.name().chars().all(|c| c.is_ascii_digit()))
}

/// `field` renamed to what serde_arrow calls an [`Item`]'s field.
fn as_item(field: &FieldRef) -> FieldRef {
    Arc::new(field.as_ref().clone().with_name(ITEM))
}

/// The rows of a kind of source, and how they split into parts: a bag source's rows are one
/// part, a keyed source's `(key, value)` rows two.
pub trait Shape: 'static {
    /// The source's row.
    type Row: Row;
    /// The parts, in column order.
    fn parts() -> Result<Vec<Part>, LayoutError>;
    fn encode(parts: &[Part], rows: &[&Self::Row]) -> Result<Vec<ArrayRef>, LayoutError>;
    fn decode(parts: &[Part], arrays: &[ArrayRef]) -> Result<Vec<Self::Row>, LayoutError>;
    /// The reader of a worker's rows into arrays of these parts, `rows_per_chunk` at a time
    /// (see `files::encode`).
    fn visitor(parts: &[Part], rows_per_chunk: usize) -> crate::protocol::wire::Visitor;
    /// The row a CSV `record` holds (see [`Part::read_csv`]).
    fn from_csv(
        parts: &[Part],
        record: &csv::StringRecord,
        headers: Option<&csv::StringRecord>,
    ) -> Result<Self::Row, LayoutError>;
}

/// A bag source of `R` rows.
pub struct Whole<R>(PhantomData<R>);

/// A keyed source of `(K, V)` rows.
pub struct Pair<K, V>(PhantomData<(K, V)>);

impl<R: Row> Shape for Whole<R> {
    type Row = R;

    fn parts() -> Result<Vec<Part>, LayoutError> {
        Ok(vec![Part::of::<R>("value")?])
    }

    fn encode(parts: &[Part], rows: &[&R]) -> Result<Vec<ArrayRef>, LayoutError> {
        parts[0].encode(rows)
    }

    fn decode(parts: &[Part], arrays: &[ArrayRef]) -> Result<Vec<R>, LayoutError> {
        parts[0].decode(arrays)
    }

    fn visitor(parts: &[Part], rows_per_chunk: usize) -> crate::protocol::wire::Visitor {
        let encoding: Encoding<Vec<Part>, R, ()> = Encoding {
            parts: parts.to_vec(),
            make: builders,
            push: |parts, builders, row, _| parts[0].push(&mut builders[0], row),
            show: |row, _| crate::error::shown_debug(row),
        };
        visitor(encoding, rows_per_chunk)
    }

    fn from_csv(
        parts: &[Part],
        record: &csv::StringRecord,
        headers: Option<&csv::StringRecord>,
    ) -> Result<R, LayoutError> {
        parts[0].read_csv(record, headers, 0)
    }
}

impl<K: Row, V: Row> Shape for Pair<K, V> {
    type Row = (K, V);

    fn parts() -> Result<Vec<Part>, LayoutError> {
        let (key, value) = (Part::of::<K>("key")?, Part::of::<V>("value")?);
        let meet = key.fields().iter().any(|k| value.fields().iter().any(|v| k.name() == v.name()));
        Ok(if meet { vec![key.nested("key"), value.nested("value")] } else { vec![key, value] })
    }

    fn encode(parts: &[Part], rows: &[&(K, V)]) -> Result<Vec<ArrayRef>, LayoutError> {
        let keys: Vec<&K> = rows.iter().map(|(key, _)| key).collect();
        let values: Vec<&V> = rows.iter().map(|(_, value)| value).collect();
        let mut arrays = parts[0].encode(&keys)?;
        arrays.extend(parts[1].encode(&values)?);
        Ok(arrays)
    }

    fn decode(parts: &[Part], arrays: &[ArrayRef]) -> Result<Vec<(K, V)>, LayoutError> {
        let (keys, values) = arrays.split_at(parts[0].fields().len());
        let keys: Vec<K> = parts[0].decode(keys)?;
        let values: Vec<V> = parts[1].decode(values)?;
        Ok(keys.into_iter().zip(values).collect())
    }

    fn visitor(parts: &[Part], rows_per_chunk: usize) -> crate::protocol::wire::Visitor {
        let encoding: Encoding<Vec<Part>, K, V> = Encoding {
            parts: parts.to_vec(),
            make: builders,
            push: |parts, builders, key, value| {
                parts[0].push(&mut builders[0], key)?;
                parts[1].push(&mut builders[1], value)
            },
            show: |key, value| crate::error::shown_debug(&(key, value)),
        };
        visitor(encoding, rows_per_chunk)
    }

    fn from_csv(
        parts: &[Part],
        record: &csv::StringRecord,
        headers: Option<&csv::StringRecord>,
    ) -> Result<(K, V), LayoutError> {
        let key = parts[0].read_csv(record, headers, 0)?;
        Ok((key, parts[1].read_csv(record, headers, parts[0].fields().len())?))
    }
}

/// The columns of a source of shape `S`, as a file holds them.
pub(crate) struct Columns<S: Shape> {
    parts: Vec<Part>,
    fields: Vec<FieldRef>,
    shape: PhantomData<fn() -> S>,
}

impl<S: Shape> std::fmt::Debug for Columns<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.fields.iter().map(|field| field.name())).finish()
    }
}

impl<S: Shape> Columns<S> {
    /// `S`'s columns; fails if the row type cannot be laid out.
    pub(crate) fn new() -> Result<Self, LayoutError> {
        let parts = S::parts()?;
        let fields: Vec<FieldRef> = parts.iter().flat_map(|part| part.fields().iter().cloned()).collect();
        if let Some(twice) = first_repeated(fields.iter().map(|field| field.name().as_str())) {
            return Err(LayoutError {
                column: Some(twice.to_string()),
                message: "two columns have this name".into(),
            });
        }
        Ok(Columns { parts, fields, shape: PhantomData })
    }

    /// The row columns, in order.
    pub(crate) fn fields(&self) -> &[FieldRef] {
        &self.fields
    }

    /// The row columns followed by `extra` (the columns a change file adds); fails if one of
    /// `extra` is also a row column's name.
    pub(crate) fn fields_with(&self, extra: &[FieldRef]) -> Result<Vec<FieldRef>, LayoutError> {
        let mut fields = self.fields.clone();
        fields.extend(extra.iter().cloned());
        match first_repeated(fields.iter().map(|field| field.name().as_str())) {
            Some(twice) => Err(LayoutError {
                column: Some(twice.to_string()),
                message: "the row type has a column of this name; choose another name for it in the options"
                    .into(),
            }),
            None => Ok(fields),
        }
    }

    /// `rows` as one array per row column.
    pub(crate) fn encode(&self, rows: &[&S::Row]) -> Result<Vec<ArrayRef>, LayoutError> {
        S::encode(&self.parts, rows)
    }

    /// The reader of a worker's rows into arrays of these columns (see `files::encode`).
    pub(crate) fn visitor(&self, rows_per_chunk: usize) -> crate::protocol::wire::Visitor {
        S::visitor(&self.parts, rows_per_chunk)
    }

    /// The row a CSV `record` holds; `headers` are the file's header line, if it has one.
    pub(crate) fn row_from_csv(
        &self,
        record: &csv::StringRecord,
        headers: Option<&csv::StringRecord>,
    ) -> Result<S::Row, LayoutError> {
        S::from_csv(&self.parts, record, headers)
    }

    /// The names of the CSV columns the row type reads.
    pub(crate) fn csv_names(&self) -> Vec<&str> {
        self.parts.iter().flat_map(Part::csv_names).collect()
    }

    /// The rows held by `arrays`, one per row column, each of the column's type.
    pub(crate) fn decode(&self, arrays: &[ArrayRef]) -> Result<Vec<S::Row>, LayoutError> {
        S::decode(&self.parts, arrays)
    }
}

/// The first name that appears twice.
fn first_repeated<'a>(names: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let mut seen = hashbrown::HashSet::new();
    names.into_iter().find(|name| !seen.insert(*name))
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
    struct Order {
        id: u64,
        customer: String,
        note: Option<String>,
    }

    #[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
    struct Customer {
        customer: String,
    }

    fn names<S: Shape>() -> Vec<String> {
        Columns::<S>::new().unwrap().fields().iter().map(|field| field.name().clone()).collect()
    }

    fn round_trip<S: Shape>(rows: Vec<S::Row>) {
        let columns = Columns::<S>::new().unwrap();
        let arrays = columns.encode(&rows.iter().collect::<Vec<_>>()).unwrap();
        assert_eq!(arrays.len(), columns.fields().len());
        assert_eq!(columns.decode(&arrays).unwrap(), rows);
    }

    #[test]
    fn structs_are_their_fields_and_anything_else_one_column() {
        assert_eq!(names::<Whole<Order>>(), ["id", "customer", "note"]);
        assert_eq!(names::<Whole<u64>>(), ["value"]);
        assert_eq!(names::<Whole<(u64, String)>>(), ["value"]);
        assert_eq!(names::<Pair<u64, Order>>(), ["key", "id", "customer", "note"]);
        assert_eq!(names::<Pair<String, i64>>(), ["key", "value"]);
        // `customer` is in both: each side is nested under its own name.
        assert_eq!(names::<Pair<Customer, Order>>(), ["key", "value"]);
    }

    #[test]
    fn rows_come_back_as_they_went() {
        let order =
            |id, note: Option<&str>| Order { id, customer: format!("c{id}"), note: note.map(Into::into) };
        round_trip::<Whole<Order>>(vec![order(1, None), order(2, Some("gift"))]);
        round_trip::<Whole<(u64, String)>>(vec![(1, "a".into()), (2, "b".into())]);
        round_trip::<Pair<u64, Order>>(vec![(7, order(1, None)), (8, order(2, Some("x")))]);
        round_trip::<Pair<Customer, Order>>(vec![(Customer { customer: "k".into() }, order(3, None))]);
        round_trip::<Whole<i64>>(vec![]);
    }

    #[test]
    fn extra_columns_may_not_take_a_row_columns_name() {
        let columns = Columns::<Whole<Order>>::new().unwrap();
        let time = Arc::new(Field::new("id", DataType::UInt64, false));
        let error = columns.fields_with(&[time]).unwrap_err();
        assert_eq!(error.column.as_deref(), Some("id"));
    }
}
