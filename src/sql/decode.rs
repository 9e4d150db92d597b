//! SQL rows into the caller's types through serde: a row becomes a struct (fields matched to
//! columns by name), a tuple or a sequence (by position), a map (column name to value), or, for
//! a one-column row, the value itself; `NULL` becomes `None`.

use serde::de::value::{Error, MapDeserializer, SeqDeserializer};
use serde::de::{self, DeserializeOwned, Deserializer, IntoDeserializer, Visitor};
use serde::forward_to_deserialize_any;

use crate::sql::error::{SqlError, SqlResult};
use crate::sql::value::Value;

/// Decodes each row of `rows` (of columns `names`) as a `T`.
pub(crate) fn decode<T: DeserializeOwned>(names: &[String], rows: &[Vec<Value>]) -> SqlResult<Vec<T>> {
    rows.iter().map(|row| decode_row(names, row)).collect()
}

/// Decodes one row (of columns `names`) as a `T`.
pub(crate) fn decode_row<T: DeserializeOwned>(names: &[String], row: &[Value]) -> SqlResult<T> {
    T::deserialize(RowDeserializer { names, row }).map_err(|e| SqlError::Decode(e.to_string()))
}

/// One row, read as a struct, tuple, sequence, map or single value.
struct RowDeserializer<'a> {
    names: &'a [String],
    row: &'a [Value],
}

impl<'de> Deserializer<'de> for RowDeserializer<'_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.row {
            [single] => ValueDeserializer(single).deserialize_any(visitor),
            _ => self.deserialize_seq(visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.row {
            [single] => ValueDeserializer(single).deserialize_option(visitor),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_seq(SeqDeserializer::new(self.row.iter().map(ValueDeserializer)))
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let entries = self.names.iter().map(String::as_str).zip(self.row.iter().map(ValueDeserializer));
        visitor.visit_map(MapDeserializer::new(entries))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_map(visitor)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct newtype_struct enum identifier ignored_any
    }
}

/// One value, borrowed from its row (a text is copied once, into the field that takes it):
/// `NULL` as none or unit, numbers as numbers, text as a string, dates and timestamps and
/// decimals as their text.
struct ValueDeserializer<'a>(&'a Value);

impl<'de> IntoDeserializer<'de, Error> for ValueDeserializer<'_> {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

impl<'de> Deserializer<'de> for ValueDeserializer<'_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Int(i) => visitor.visit_i64(*i),
            Value::Double(d) => visitor.visit_f64(d.get()),
            Value::Text(s) => visitor.visit_str(s),
            Value::Bytes(b) => visitor.visit_bytes(b),
            other => visitor.visit_string(other.to_string()),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Decimal(d) => visitor.visit_f64(d.to_f64()),
            Value::Int(i) => visitor.visit_f64(*i as f64),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            Value::Text(s) => visitor.visit_enum(s.as_str().into_deserializer()),
            other => Err(de::Error::custom(format!("expected a text naming a variant, found {other}"))),
        }
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Order {
        customer: String,
        total: i64,
        note: Option<String>,
    }

    #[test]
    fn rows_decode_as_structs_tuples_and_values() {
        let names = vec!["total".to_string(), "customer".to_string(), "note".to_string()];
        let rows = vec![vec![Value::Int(5), Value::Text("ada".into()), Value::Null]];
        let orders: Vec<Order> = decode(&names, &rows).unwrap();
        assert_eq!(orders, vec![Order { customer: "ada".into(), total: 5, note: None }]);
        let tuples: Vec<(u32, String, Option<String>)> = decode(&names, &rows).unwrap();
        assert_eq!(tuples, vec![(5, "ada".into(), None)]);
        let single: Vec<i64> = decode(&names[..1], &[vec![Value::Int(7)]]).unwrap();
        assert_eq!(single, vec![7]);
        let wrong: SqlResult<Vec<(String, String, String)>> = decode(&names, &rows);
        assert!(matches!(wrong, Err(SqlError::Decode(_))));
    }

    #[derive(serde::Deserialize, Debug, PartialEq)]
    enum Status {
        Open,
        Closed,
    }

    #[test]
    fn borrowed_values_decode_as_variants_options_floats_and_text() {
        let names = vec!["status".to_string(), "ratio".to_string(), "label".to_string()];
        let rows = vec![
            vec![Value::Text("Closed".into()), Value::Int(2), Value::Text("x".into())],
            vec![Value::Text("Open".into()), Value::double(0.5), Value::Null],
        ];
        let decoded: Vec<(Status, f64, Option<String>)> = decode(&names, &rows).unwrap();
        assert_eq!(decoded, vec![(Status::Closed, 2.0, Some("x".into())), (Status::Open, 0.5, None)]);
        let unknown: SqlResult<Vec<(Status, f64, Option<String>)>> =
            decode(&names, &[vec![Value::Text("Lost".into()), Value::Int(1), Value::Null]]);
        assert!(matches!(unknown, Err(SqlError::Decode(_))));
        // The rows are read, not consumed: decoding again gives the same.
        assert_eq!(decode::<(Status, f64, Option<String>)>(&names, &rows).unwrap(), decoded);
    }
}
