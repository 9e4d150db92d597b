//! SQL types: what a column holds, read from a `CREATE TABLE` or a `CAST`, and the casts
//! between them.

use std::fmt;

use serde::{Deserialize, Serialize};
use sqlparser::ast::{DataType, ExactNumberInfo};

use crate::sql::error::EvalError;
use crate::sql::value::{Date, Decimal, Timestamp, Value};

/// The type of an SQL column or expression.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SqlType {
    /// `BOOLEAN`.
    Bool,
    /// `BIGINT`; `INT`, `INTEGER`, `SMALLINT` and `TINYINT` are 64-bit integers too.
    Int,
    /// `DOUBLE` (`FLOAT`, `REAL`, `DOUBLE PRECISION`).
    Double,
    /// `DECIMAL(38, scale)` (`NUMERIC`); the precision is always 38.
    Decimal(u8),
    /// `TEXT` (`VARCHAR`, `CHAR`, `STRING`; lengths are not enforced).
    Text,
    /// `BYTEA` (`BLOB`).
    Bytes,
    /// `DATE`.
    Date,
    /// `TIMESTAMP` without time zone.
    Timestamp,
    /// The type of a bare `NULL`: it takes the type of whatever it meets.
    Null,
}

impl SqlType {
    /// The type of a parsed SQL type name; `None` for one `ivm` does not have.
    pub(crate) fn of(data_type: &DataType) -> Option<SqlType> {
        use DataType as D;
        Some(match data_type {
            D::Bool | D::Boolean => SqlType::Bool,
            D::TinyInt(_)
            | D::SmallInt(_)
            | D::Int2(_)
            | D::Int(_)
            | D::Int4(_)
            | D::Int8(_)
            | D::Integer(_)
            | D::BigInt(_)
            | D::Int16
            | D::Int32
            | D::Int64
            | D::Signed
            | D::SignedInteger => SqlType::Int,
            D::Float(_)
            | D::Float4
            | D::Float8
            | D::Float32
            | D::Float64
            | D::Real
            | D::Double(_)
            | D::DoublePrecision => SqlType::Double,
            D::Decimal(info) | D::Numeric(info) | D::Dec(info) => SqlType::Decimal(match info {
                ExactNumberInfo::PrecisionAndScale(_, scale) => {
                    u8::try_from(*scale).ok().filter(|s| *s <= 38)?
                }
                ExactNumberInfo::None | ExactNumberInfo::Precision(_) => 0,
            }),
            D::Text
            | D::Varchar(_)
            | D::Char(_)
            | D::Character(_)
            | D::CharacterVarying(_)
            | D::CharVarying(_)
            | D::Nvarchar(_)
            | D::String(_) => SqlType::Text,
            D::Bytea | D::Blob(_) | D::Varbinary(_) | D::Binary(_) | D::Bytes(_) => SqlType::Bytes,
            D::Date => SqlType::Date,
            D::Timestamp(_, _) | D::TimestampNtz(_) | D::Datetime(_) => SqlType::Timestamp,
            _ => return None,
        })
    }

    /// True for the numeric types.
    pub fn is_numeric(self) -> bool {
        matches!(self, SqlType::Int | SqlType::Double | SqlType::Decimal(_))
    }

    /// The type both `self` and `other` convert to without loss (for comparisons, `CASE`
    /// branches, `UNION` columns and arithmetic), or `None` if there is none.
    pub(crate) fn common(self, other: SqlType) -> Option<SqlType> {
        use SqlType as T;
        Some(match (self, other) {
            (a, b) if a == b => a,
            (T::Null, t) | (t, T::Null) => t,
            (T::Int, T::Double)
            | (T::Double, T::Int)
            | (T::Decimal(_), T::Double)
            | (T::Double, T::Decimal(_)) => T::Double,
            (T::Int, T::Decimal(s)) | (T::Decimal(s), T::Int) => T::Decimal(s),
            (T::Decimal(a), T::Decimal(b)) => T::Decimal(a.max(b)),
            (T::Date, T::Timestamp) | (T::Timestamp, T::Date) => T::Timestamp,
            _ => return None,
        })
    }
}

impl fmt::Display for SqlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SqlType::Bool => f.write_str("BOOLEAN"),
            SqlType::Int => f.write_str("BIGINT"),
            SqlType::Double => f.write_str("DOUBLE"),
            SqlType::Decimal(scale) => write!(f, "DECIMAL(38, {scale})"),
            SqlType::Text => f.write_str("TEXT"),
            SqlType::Bytes => f.write_str("BYTEA"),
            SqlType::Date => f.write_str("DATE"),
            SqlType::Timestamp => f.write_str("TIMESTAMP"),
            SqlType::Null => f.write_str("NULL"),
        }
    }
}

/// `value` cast to `to`, as SQL's `CAST` does: numbers convert (doubles to integers round half
/// away from zero), text parses, everything prints to text; `NULL` stays `NULL`.
pub(crate) fn cast(value: Value, to: SqlType) -> Result<Value, EvalError> {
    let invalid = |value: &Value| EvalError::InvalidCast { value: value.to_string(), to: to.to_string() };
    Ok(match (value, to) {
        (Value::Null, _) | (_, SqlType::Null) => Value::Null,
        (Value::Bool(b), SqlType::Bool) => Value::Bool(b),
        (Value::Int(i), SqlType::Int) => Value::Int(i),
        (Value::Double(d), SqlType::Double) => Value::Double(d),
        (Value::Text(s), SqlType::Text) => Value::Text(s),
        (Value::Bytes(b), SqlType::Bytes) => Value::Bytes(b),
        (Value::Date(d), SqlType::Date) => Value::Date(d),
        (Value::Timestamp(t), SqlType::Timestamp) => Value::Timestamp(t),
        (Value::Bool(b), SqlType::Int) => Value::Int(i64::from(b)),
        (Value::Int(i), SqlType::Bool) => Value::Bool(i != 0),
        (Value::Int(i), SqlType::Double) => Value::double(i as f64),
        (Value::Int(i), SqlType::Decimal(scale)) => {
            Value::Decimal(Decimal::from_int(i).rescale(scale).ok_or(EvalError::Overflow)?)
        }
        (Value::Double(d), SqlType::Int) => {
            let rounded = d.get().round();
            if !rounded.is_finite() || rounded < i64::MIN as f64 || rounded >= i64::MAX as f64 {
                return Err(EvalError::Overflow);
            }
            Value::Int(rounded as i64)
        }
        (Value::Double(d), SqlType::Decimal(scale)) => {
            let value = d.get();
            let units = (value * 10f64.powi(i32::from(scale))).round();
            if !units.is_finite() || units.abs() >= 1e38 {
                return Err(EvalError::Overflow);
            }
            Value::Decimal(Decimal::new(units as i128, scale).ok_or(EvalError::Overflow)?)
        }
        (Value::Decimal(d), SqlType::Decimal(scale)) => {
            Value::Decimal(d.rescale(scale).ok_or(EvalError::Overflow)?)
        }
        (Value::Decimal(d), SqlType::Double) => Value::double(d.to_f64()),
        (Value::Decimal(d), SqlType::Int) => {
            let whole = d.rescale(0).ok_or(EvalError::Overflow)?.units();
            Value::Int(i64::try_from(whole).map_err(|_| EvalError::Overflow)?)
        }
        (Value::Date(d), SqlType::Timestamp) => {
            Value::Timestamp(Timestamp(i64::from(d.0) * crate::sql::value::MICROS_PER_DAY))
        }
        (Value::Timestamp(t), SqlType::Date) => Value::Date(t.date()),
        (Value::Text(s), SqlType::Bool) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "t" | "yes" | "y" | "on" | "1" => Value::Bool(true),
            "false" | "f" | "no" | "n" | "off" | "0" => Value::Bool(false),
            _ => return Err(invalid(&Value::Text(s))),
        },
        (Value::Text(s), SqlType::Int) => match s.trim().parse() {
            Ok(i) => Value::Int(i),
            Err(_) => return Err(invalid(&Value::Text(s))),
        },
        (Value::Text(s), SqlType::Double) => match s.trim().to_ascii_lowercase().as_str() {
            "nan" => Value::double(f64::NAN),
            "infinity" | "inf" => Value::double(f64::INFINITY),
            "-infinity" | "-inf" => Value::double(f64::NEG_INFINITY),
            text => match text.parse() {
                Ok(d) => Value::double(d),
                Err(_) => return Err(invalid(&Value::Text(s))),
            },
        },
        (Value::Text(s), SqlType::Decimal(scale)) => {
            match Decimal::parse(&s).and_then(|d| d.rescale(scale)) {
                Some(d) => Value::Decimal(d),
                None => return Err(invalid(&Value::Text(s))),
            }
        }
        (Value::Text(s), SqlType::Date) => match Date::parse(&s) {
            Some(d) => Value::Date(d),
            None => return Err(invalid(&Value::Text(s))),
        },
        (Value::Text(s), SqlType::Timestamp) => match Timestamp::parse(&s) {
            Some(t) => Value::Timestamp(t),
            None => return Err(invalid(&Value::Text(s))),
        },
        (Value::Text(s), SqlType::Bytes) => Value::Bytes(s.into_bytes()),
        (value, SqlType::Text) => Value::Text(value.to_string()),
        (value, _) => return Err(invalid(&value)),
    })
}

/// True if a value of type `from` may be stored in a column of type `to` without an explicit
/// `CAST` (an `INSERT`, an `UPDATE ... SET`): the same type, `NULL`, a wider number, or text
/// for any type (`'2024-01-01'` for a date, `'NaN'` for a double; a text that does not parse
/// is refused when the row is written, naming the column).
pub(crate) fn assignable(from: SqlType, to: SqlType) -> bool {
    from == to
        || from == SqlType::Null
        || from == SqlType::Text
        || (from == SqlType::Int && to.is_numeric())
        || (matches!(from, SqlType::Decimal(_)) && matches!(to, SqlType::Decimal(_) | SqlType::Double))
        || (from == SqlType::Double && matches!(to, SqlType::Decimal(_)))
        || (from == SqlType::Date && to == SqlType::Timestamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn casts_convert_parse_and_refuse() {
        assert_eq!(cast(Value::Text(" 42 ".into()), SqlType::Int), Ok(Value::Int(42)));
        assert_eq!(cast(Value::double(2.5), SqlType::Int), Ok(Value::Int(3)));
        assert_eq!(cast(Value::double(-2.5), SqlType::Int), Ok(Value::Int(-3)));
        assert_eq!(cast(Value::double(1e300), SqlType::Int), Err(EvalError::Overflow));
        assert_eq!(cast(Value::Int(7), SqlType::Text), Ok(Value::Text("7".into())));
        assert_eq!(cast(Value::Int(7), SqlType::Decimal(2)).map(|v| v.to_string()), Ok("7.00".into()));
        assert_eq!(
            cast(Value::Text("2024-02-30".into()), SqlType::Date).map_err(|e| e.to_string()),
            Err("cannot cast \"2024-02-30\" to DATE".into())
        );
        assert_eq!(cast(Value::Null, SqlType::Int), Ok(Value::Null));
        assert!(cast(Value::Bool(true), SqlType::Date).is_err());
    }

    #[test]
    fn common_types_widen_numbers_and_refuse_strangers() {
        assert_eq!(SqlType::Int.common(SqlType::Double), Some(SqlType::Double));
        assert_eq!(SqlType::Null.common(SqlType::Text), Some(SqlType::Text));
        assert_eq!(SqlType::Decimal(2).common(SqlType::Decimal(4)), Some(SqlType::Decimal(4)));
        assert_eq!(SqlType::Text.common(SqlType::Int), None);
    }
}
