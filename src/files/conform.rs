//! A file's columns matched against the columns a row type needs: found by name, cast where
//! the file's type differs but converts (a DuckDB `INTEGER` read as an `i64` field), with the
//! first value that does not convert, or the first null where the field is not an `Option`,
//! named by row and column.

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_cast::{CastOptions, can_cast_types, cast_with_options};
use arrow_schema::{DataType, FieldRef};

use crate::error::FileProblem;

/// What is wrong, and where: the row counted from 1 in the file, and the column.
#[derive(Debug)]
pub(crate) struct Mismatch {
    pub(crate) row: Option<u64>,
    pub(crate) column: String,
    pub(crate) problem: FileProblem,
}

/// `batch`'s columns for `fields`, in their order and of their types. `first_row` is the
/// file's row number of the batch's first row.
pub(crate) fn conform(
    batch: &RecordBatch,
    fields: &[FieldRef],
    first_row: u64,
) -> Result<Vec<ArrayRef>, Mismatch> {
    fields.iter().map(|field| column(batch, field, first_row)).collect()
}

/// Whether the file's `schema` has every column of `fields` in a type that can be cast to it:
/// checked once per file, before any row is read.
pub(crate) fn check_schema(schema: &arrow_schema::Schema, fields: &[FieldRef]) -> Result<(), Mismatch> {
    for field in fields {
        let Ok(found) = schema.field_with_name(field.name()) else {
            return Err(Mismatch {
                row: None,
                column: field.name().clone(),
                problem: FileProblem::MissingColumn,
            });
        };
        if !convertible(found.data_type(), field.data_type()) {
            return Err(wrong_type(field, found.data_type()));
        }
    }
    Ok(())
}

fn column(batch: &RecordBatch, field: &FieldRef, first_row: u64) -> Result<ArrayRef, Mismatch> {
    let name = field.name();
    let Some(found) = batch.column_by_name(name) else {
        return Err(Mismatch { row: None, column: name.clone(), problem: FileProblem::MissingColumn });
    };
    let array = if found.data_type() == field.data_type() {
        Arc::clone(found)
    } else if convertible(found.data_type(), field.data_type()) {
        cast(found, field, first_row)?
    } else {
        return Err(wrong_type(field, found.data_type()));
    };
    if !field.is_nullable() && array.null_count() > 0 {
        let at = (0..array.len()).find(|&i| array.is_null(i)).unwrap_or(0);
        return Err(Mismatch {
            row: Some(first_row + at as u64),
            column: name.clone(),
            problem: FileProblem::BadValue("a null, where the row type's field is not an Option".into()),
        });
    }
    Ok(array)
}

/// `found` cast to `field`'s type; a value that does not fit is an error at its row.
fn cast(found: &ArrayRef, field: &FieldRef, first_row: u64) -> Result<ArrayRef, Mismatch> {
    let strict = CastOptions { safe: false, ..Default::default() };
    match cast_with_options(found, field.data_type(), &strict) {
        Ok(array) => Ok(array),
        Err(error) => {
            // The lenient cast turns what does not fit into nulls: the first new null is the row.
            let lenient = cast_with_options(found, field.data_type(), &CastOptions::default()).ok();
            let at = lenient.and_then(|cast| (0..cast.len()).find(|&i| cast.is_null(i) && !found.is_null(i)));
            Err(Mismatch {
                row: at.map(|i| first_row + i as u64),
                column: field.name().clone(),
                problem: FileProblem::BadValue(format!("cannot be read as {}: {error}", field.data_type())),
            })
        }
    }
}

/// Whether a column of type `found` may be read as `expected`: the same kind of value (a
/// number as a number, text as text), as Arrow's cast converts it. Text is not parsed into
/// numbers, nor numbers printed as text: a schema that differs that way is a wrong schema.
fn convertible(found: &DataType, expected: &DataType) -> bool {
    use DataType::*;
    let text = |t: &DataType| matches!(t, Utf8 | LargeUtf8 | Utf8View);
    let number = |t: &DataType| t.is_numeric();
    let same_kind = match (found, expected) {
        (a, b) if a == b => true,
        (a, b) if text(a) && text(b) => true,
        (a, b) if number(a) && number(b) => true,
        (Binary | LargeBinary | BinaryView, Binary | LargeBinary | BinaryView) => true,
        (Boolean, Boolean) => true,
        (Date32 | Date64 | Timestamp(..), Date32 | Date64 | Timestamp(..)) => true,
        (Struct(_), Struct(_)) | (List(_) | LargeList(_), List(_) | LargeList(_)) => true,
        (Null, _) => true,
        _ => false,
    };
    same_kind && can_cast_types(found, expected)
}

fn wrong_type(field: &FieldRef, found: &DataType) -> Mismatch {
    Mismatch {
        row: None,
        column: field.name().clone(),
        problem: FileProblem::WrongType { expected: field.data_type().to_string(), found: found.to_string() },
    }
}

#[cfg(test)]
mod tests {
    use arrow_array::{Int32Array, Int64Array, StringArray};
    use arrow_schema::Field;

    use super::*;

    fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
        RecordBatch::try_from_iter(columns).unwrap()
    }

    #[test]
    fn columns_are_found_by_name_and_cast_when_they_fit() {
        let file = batch(vec![
            ("b", Arc::new(StringArray::from(vec!["x", "y"])) as ArrayRef),
            ("a", Arc::new(Int32Array::from(vec![1, 2]))),
        ]);
        let fields = [
            Arc::new(Field::new("a", DataType::Int64, false)),
            Arc::new(Field::new("b", DataType::Utf8, false)),
        ];
        let arrays = conform(&file, &fields, 1).unwrap();
        assert_eq!(arrays[0].as_ref(), &Int64Array::from(vec![1, 2]) as &dyn Array);
    }

    #[test]
    fn what_does_not_fit_is_named_by_row_and_column() {
        let file = batch(vec![("a", Arc::new(Int64Array::from(vec![Some(1), Some(300), None])) as ArrayRef)]);
        let small = [Arc::new(Field::new("a", DataType::Int8, true))];
        let error = conform(&file, &small, 11).unwrap_err();
        assert_eq!((error.row, error.column.as_str()), (Some(12), "a"));
        let required = [Arc::new(Field::new("a", DataType::Int64, false))];
        let error = conform(&file, &required, 11).unwrap_err();
        assert_eq!(error.row, Some(13));
        let text = [Arc::new(Field::new("a", DataType::Utf8, false))];
        assert!(matches!(conform(&file, &text, 1).unwrap_err().problem, FileProblem::WrongType { .. }));
        let missing = [Arc::new(Field::new("z", DataType::Utf8, false))];
        assert_eq!(conform(&file, &missing, 1).unwrap_err().problem, FileProblem::MissingColumn);
    }
}
