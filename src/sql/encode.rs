//! Rust rows as SQL rows: the columns of a struct with named fields, read from its serde
//! derive, and each row serialized into [`Value`]s, for Rust tables and views exposed to SQL.

use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde::ser::{self, Impossible, SerializeStruct};
use serde_reflection::{ContainerFormat, Format, Samples, Tracer, TracerConfig};

use crate::sql::error::{EvalError, Position, SqlError, SqlResult};
use crate::sql::plan::Column;
use crate::sql::types::SqlType;
use crate::sql::value::{SqlRow, Value};

/// The SQL columns of `T`, a struct whose fields are booleans, integers, floats, strings, byte
/// vectors, or options of those; `name` is the table's, for the error.
pub(crate) fn columns_of<T: DeserializeOwned>(name: &str) -> SqlResult<Vec<Column>> {
    let refuse = |why: String| SqlError::Unsupported {
        what: format!("exposing {name} to SQL: {why}"),
        at: Position::default(),
    };
    let mut tracer = Tracer::new(TracerConfig::default());
    let (format, _) = tracer.trace_type_once::<T>(&Samples::new()).map_err(|e| refuse(e.to_string()))?;
    let registry = tracer.registry().map_err(|e| refuse(e.to_string()))?;
    let Format::TypeName(type_name) = format else {
        return Err(refuse("its rows are not a struct with named fields".into()));
    };
    let Some(ContainerFormat::Struct(fields)) = registry.get(&type_name) else {
        return Err(refuse(format!("{type_name} is not a struct with named fields")));
    };
    fields
        .iter()
        .map(|field| {
            let ty = sql_type(&field.value)
                .ok_or_else(|| refuse(format!("the field {} has a type SQL does not hold", field.name)))?;
            Ok(Column { name: field.name.to_lowercase(), qualifier: None, ty })
        })
        .collect()
}

fn sql_type(format: &Format) -> Option<SqlType> {
    Some(match format {
        Format::Bool => SqlType::Bool,
        Format::I8
        | Format::I16
        | Format::I32
        | Format::I64
        | Format::U8
        | Format::U16
        | Format::U32
        | Format::U64 => SqlType::Int,
        Format::F32 | Format::F64 => SqlType::Double,
        Format::Str | Format::Char => SqlType::Text,
        Format::Bytes => SqlType::Bytes,
        Format::Option(inner) => sql_type(inner)?,
        _ => return None,
    })
}

/// `row` as SQL values, field by field; with `needed`, only the fields it marks, the others
/// `NULL` (their text is never copied).
pub(crate) fn columns_of_row<T: Serialize>(row: &T, needed: Option<&[bool]>) -> Result<SqlRow, EvalError> {
    row.serialize(RowSerializer { needed })
        .map_err(|e| EvalError::InvalidArgument { function: "expose".into(), message: e.0 })
}

/// Why a value could not be encoded.
#[derive(Debug)]
pub(crate) struct EncodeError(String);

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for EncodeError {}

impl ser::Error for EncodeError {
    fn custom<M: fmt::Display>(message: M) -> Self {
        EncodeError(message.to_string())
    }
}

fn refuse<T>(what: &str) -> Result<T, EncodeError> {
    Err(EncodeError(format!("{what} cannot be an SQL value")))
}

/// A struct, as its fields' values (those `needed` marks, if given; `NULL` for the others).
struct RowSerializer<'n> {
    needed: Option<&'n [bool]>,
}

/// The fields of one struct.
struct Fields<'n> {
    row: SqlRow,
    needed: Option<&'n [bool]>,
}

impl SerializeStruct for Fields<'_> {
    type Ok = SqlRow;
    type Error = EncodeError;

    fn serialize_field<V: ?Sized + Serialize>(
        &mut self,
        _key: &'static str,
        value: &V,
    ) -> Result<(), EncodeError> {
        let wanted = self.needed.is_none_or(|needed| needed.get(self.row.len()).copied().unwrap_or(true));
        self.row.push(if wanted { value.serialize(ValueSerializer)? } else { Value::Null });
        Ok(())
    }

    fn end(self) -> Result<SqlRow, EncodeError> {
        Ok(self.row)
    }
}

/// Every method of a serializer that refuses anything but what it names.
macro_rules! refuse_all {
    ($ok:ty; $($method:ident($($arg:ty),*)),* $(,)?) => {
        $(fn $method(self, $(_: $arg),*) -> Result<$ok, EncodeError> { refuse(stringify!($method)) })*
    };
}

/// The compound forms neither serializer takes: sequences, tuples, maps and enums with data.
macro_rules! refuse_compound {
    ($ok:ty, $what:literal) => {
        fn serialize_newtype_variant<V: ?Sized + Serialize>(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: &V,
        ) -> Result<$ok, EncodeError> {
            refuse(concat!($what, " an enum"))
        }
        fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, EncodeError> {
            refuse(concat!($what, " a sequence"))
        }
        fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, EncodeError> {
            refuse(concat!($what, " a tuple (give the row type named fields)"))
        }
        fn serialize_tuple_struct(
            self,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleStruct, EncodeError> {
            refuse(concat!($what, " a tuple struct (give the row type named fields)"))
        }
        fn serialize_tuple_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleVariant, EncodeError> {
            refuse(concat!($what, " an enum"))
        }
        fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, EncodeError> {
            refuse(concat!($what, " a map"))
        }
        fn serialize_struct_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeStructVariant, EncodeError> {
            refuse(concat!($what, " an enum"))
        }
    };
}

impl<'n> ser::Serializer for RowSerializer<'n> {
    type Ok = SqlRow;
    type Error = EncodeError;
    type SerializeSeq = Impossible<SqlRow, EncodeError>;
    type SerializeTuple = Impossible<SqlRow, EncodeError>;
    type SerializeTupleStruct = Impossible<SqlRow, EncodeError>;
    type SerializeTupleVariant = Impossible<SqlRow, EncodeError>;
    type SerializeMap = Impossible<SqlRow, EncodeError>;
    type SerializeStruct = Fields<'n>;
    type SerializeStructVariant = Impossible<SqlRow, EncodeError>;

    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<Fields<'n>, EncodeError> {
        Ok(Fields { row: Vec::with_capacity(len), needed: self.needed })
    }

    refuse_compound!(SqlRow, "a row of");

    refuse_all! { SqlRow;
        serialize_bool(bool), serialize_i8(i8), serialize_i16(i16), serialize_i32(i32), serialize_i64(i64),
        serialize_u8(u8), serialize_u16(u16), serialize_u32(u32), serialize_u64(u64), serialize_f32(f32),
        serialize_f64(f64), serialize_char(char), serialize_str(&str), serialize_bytes(&[u8]), serialize_none(),
        serialize_unit(), serialize_unit_struct(&'static str),
        serialize_unit_variant(&'static str, u32, &'static str),
    }

    fn serialize_some<V: ?Sized + Serialize>(self, _: &V) -> Result<SqlRow, EncodeError> {
        refuse("an option of a row")
    }

    fn serialize_newtype_struct<V: ?Sized + Serialize>(
        self,
        _: &'static str,
        value: &V,
    ) -> Result<SqlRow, EncodeError> {
        value.serialize(self)
    }
}

/// One field's value.
struct ValueSerializer;

impl ser::Serializer for ValueSerializer {
    type Ok = Value;
    type Error = EncodeError;
    type SerializeSeq = Impossible<Value, EncodeError>;
    type SerializeTuple = Impossible<Value, EncodeError>;
    type SerializeTupleStruct = Impossible<Value, EncodeError>;
    type SerializeTupleVariant = Impossible<Value, EncodeError>;
    type SerializeMap = Impossible<Value, EncodeError>;
    type SerializeStruct = Impossible<Value, EncodeError>;
    type SerializeStructVariant = Impossible<Value, EncodeError>;

    fn serialize_bool(self, v: bool) -> Result<Value, EncodeError> {
        Ok(Value::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Value, EncodeError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_i16(self, v: i16) -> Result<Value, EncodeError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_i32(self, v: i32) -> Result<Value, EncodeError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_i64(self, v: i64) -> Result<Value, EncodeError> {
        Ok(Value::Int(v))
    }
    fn serialize_u8(self, v: u8) -> Result<Value, EncodeError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_u16(self, v: u16) -> Result<Value, EncodeError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_u32(self, v: u32) -> Result<Value, EncodeError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_u64(self, v: u64) -> Result<Value, EncodeError> {
        i64::try_from(v).map(Value::Int).map_err(|_| EncodeError(format!("{v} is larger than a BIGINT")))
    }
    fn serialize_f32(self, v: f32) -> Result<Value, EncodeError> {
        Ok(Value::double(v.into()))
    }
    fn serialize_f64(self, v: f64) -> Result<Value, EncodeError> {
        Ok(Value::double(v))
    }
    fn serialize_char(self, v: char) -> Result<Value, EncodeError> {
        Ok(Value::Text(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Value, EncodeError> {
        Ok(Value::Text(v.to_string()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Value, EncodeError> {
        Ok(Value::Bytes(v.to_vec()))
    }
    fn serialize_none(self) -> Result<Value, EncodeError> {
        Ok(Value::Null)
    }
    fn serialize_some<V: ?Sized + Serialize>(self, value: &V) -> Result<Value, EncodeError> {
        value.serialize(self)
    }
    fn serialize_newtype_struct<V: ?Sized + Serialize>(
        self,
        _: &'static str,
        value: &V,
    ) -> Result<Value, EncodeError> {
        value.serialize(self)
    }

    refuse_compound!(Value, "a field of");

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, EncodeError> {
        refuse("a nested struct")
    }

    refuse_all! { Value;
        serialize_unit(), serialize_unit_struct(&'static str), serialize_unit_variant(&'static str, u32, &'static str),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize, serde::Deserialize)]
    struct Person {
        id: u32,
        name: String,
        score: Option<f64>,
        admin: bool,
    }

    #[test]
    fn a_struct_with_named_fields_is_columns_and_values() {
        let columns = columns_of::<Person>("people").unwrap();
        let described: Vec<(String, SqlType)> = columns.into_iter().map(|c| (c.name, c.ty)).collect();
        assert_eq!(
            described,
            vec![
                ("id".into(), SqlType::Int),
                ("name".into(), SqlType::Text),
                ("score".into(), SqlType::Double),
                ("admin".into(), SqlType::Bool)
            ]
        );
        let person = Person { id: 7, name: "ada".into(), score: None, admin: true };
        let row = columns_of_row(&person, None).unwrap();
        assert_eq!(row, vec![Value::Int(7), Value::Text("ada".into()), Value::Null, Value::Bool(true)]);
        // Only the columns a query reads: the others are NULL.
        let row = columns_of_row(&person, Some(&[false, true, false, true])).unwrap();
        assert_eq!(row, vec![Value::Null, Value::Text("ada".into()), Value::Null, Value::Bool(true)]);
    }

    #[test]
    fn rows_without_named_fields_are_refused() {
        assert!(matches!(columns_of::<(u32, String)>("pairs"), Err(SqlError::Unsupported { .. })));
        assert!(columns_of::<Vec<u32>>("lists").is_err());
        assert!(columns_of_row(&(1u32, 2u32), None).is_err());
        #[derive(serde::Serialize, serde::Deserialize)]
        struct Big {
            n: u64,
        }
        assert!(columns_of_row(&Big { n: u64::MAX }, None).is_err());
    }
}
