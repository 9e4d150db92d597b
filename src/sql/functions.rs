//! The scalar functions SQL can call: their names, the types they take and give, and what
//! they compute. Every function gives `NULL` when an argument is `NULL` (`CONCAT`, which skips
//! them, aside).

use std::borrow::{Borrow, Cow};

use serde::{Deserialize, Serialize};

use crate::sql::error::EvalError;
use crate::sql::types::SqlType;
use crate::sql::value::{Date, MICROS_PER_DAY, Timestamp, Value};

/// A scalar function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Function {
    Lower,
    Upper,
    Length,
    Substring,
    Trim,
    Ltrim,
    Rtrim,
    Replace,
    Concat,
    Position,
    Left,
    Right,
    Reverse,
    StartsWith,
    /// `SPLIT_INDEX(text, delimiter, index)` (Flink's): the piece at `index`, counted from 0,
    /// of `text` split at every `delimiter`; `NULL` when there is no such piece.
    SplitIndex,
    Abs,
    Round,
    Floor,
    Ceil,
    Sqrt,
    Power,
    Sign,
    Greatest,
    Least,
    NullIf,
    /// `EXTRACT(field FROM date or timestamp)` with the field as the first argument (text).
    Extract,
    /// `DATE_TRUNC('unit', timestamp)`.
    DateTrunc,
    /// `EPOCH_MS(bigint)`: the timestamp that many milliseconds after 1970-01-01 (DuckDB's).
    EpochMs,
    /// `YEAR(t)`, `MONTH(t)`, `DAY(t)`, `HOUR(t)`, `MINUTE(t)`, `SECOND(t)`: `EXTRACT` of that
    /// field from a date or timestamp (DuckDB's and Flink's shorthands).
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
    /// A scalar subquery's value, from `(value, rows)`: an error if it had more than one row.
    /// Not callable by name.
    OneRow,
}

impl Function {
    /// The function called `name` with arguments of `args`' types, and its result type;
    /// `Err` says why not.
    pub(crate) fn bind(name: &str, args: &[SqlType]) -> Result<(Function, SqlType), String> {
        use Function as F;
        use SqlType as T;
        let text_like = |t: &SqlType| matches!(t, T::Text | T::Null);
        let numeric = |t: &SqlType| t.is_numeric() || *t == T::Null;
        let count = |range: std::ops::RangeInclusive<usize>| {
            if range.contains(&args.len()) {
                Ok(())
            } else {
                Err(format!("{name} takes {range:?} arguments, got {}", args.len()))
            }
        };
        let name = name.to_ascii_lowercase();
        let (function, result) = match name.as_str() {
            "lower" | "upper" | "trim" | "ltrim" | "rtrim" | "reverse" => {
                count(1..=1)?;
                let f = match name.as_str() {
                    "lower" => F::Lower,
                    "upper" => F::Upper,
                    "trim" => F::Trim,
                    "ltrim" => F::Ltrim,
                    "rtrim" => F::Rtrim,
                    _ => F::Reverse,
                };
                (f, T::Text)
            }
            "length" | "char_length" | "character_length" => {
                count(1..=1)?;
                (F::Length, T::Int)
            }
            "substr" | "substring" => {
                count(2..=3)?;
                (F::Substring, T::Text)
            }
            "replace" => {
                count(3..=3)?;
                (F::Replace, T::Text)
            }
            "concat" => (F::Concat, T::Text),
            "strpos" | "position" | "instr" => {
                count(2..=2)?;
                (F::Position, T::Int)
            }
            "left" | "right" => {
                count(2..=2)?;
                (if name == "left" { F::Left } else { F::Right }, T::Text)
            }
            "starts_with" => {
                count(2..=2)?;
                (F::StartsWith, T::Bool)
            }
            "split_index" => {
                count(3..=3)?;
                if !text_like(&args[1]) || !matches!(args[2], T::Int | T::Null) {
                    return Err(format!(
                        "{name} takes text, a text delimiter and an integer index, not {}, {} and {}",
                        args[0], args[1], args[2]
                    ));
                }
                (F::SplitIndex, T::Text)
            }
            "abs" | "round" | "floor" | "ceil" | "ceiling" | "sign" => {
                count(if name == "round" { 1..=2 } else { 1..=1 })?;
                if !numeric(&args[0]) {
                    return Err(format!("{name} takes a number, not {}", args[0]));
                }
                let f = match name.as_str() {
                    "abs" => F::Abs,
                    "round" => F::Round,
                    "floor" => F::Floor,
                    "ceil" | "ceiling" => F::Ceil,
                    _ => F::Sign,
                };
                (f, if args[0] == T::Null { T::Int } else { args[0] })
            }
            "sqrt" | "power" | "pow" => {
                count(if name == "sqrt" { 1..=1 } else { 2..=2 })?;
                (if name == "sqrt" { F::Sqrt } else { F::Power }, T::Double)
            }
            "greatest" | "least" | "nullif" => {
                count(if name == "nullif" { 2..=2 } else { 1..=usize::MAX })?;
                let common = args.iter().try_fold(T::Null, |a, b| a.common(*b));
                let common = common.ok_or_else(|| format!("{name} takes arguments of one type"))?;
                let f = match name.as_str() {
                    "greatest" => F::Greatest,
                    "least" => F::Least,
                    _ => F::NullIf,
                };
                (f, common)
            }
            "date_trunc" => {
                count(2..=2)?;
                (F::DateTrunc, T::Timestamp)
            }
            "extract" | "date_part" => {
                count(2..=2)?;
                (F::Extract, T::Int)
            }
            "epoch_ms" => {
                count(1..=1)?;
                if !matches!(args[0], T::Int | T::Null) {
                    return Err(format!("{name} takes an integer (milliseconds), not {}", args[0]));
                }
                (F::EpochMs, T::Timestamp)
            }
            "year" | "month" | "day" | "hour" | "minute" | "second" => {
                count(1..=1)?;
                if !matches!(args[0], T::Date | T::Timestamp | T::Null) {
                    return Err(format!("{name} takes a date or a timestamp, not {}", args[0]));
                }
                let f = match name.as_str() {
                    "year" => F::Year,
                    "month" => F::Month,
                    "day" => F::Day,
                    "hour" => F::Hour,
                    "minute" => F::Minute,
                    _ => F::Second,
                };
                (f, T::Int)
            }
            _ => return Err(format!("unknown function {name}")),
        };
        let wants_text = matches!(
            function,
            F::Lower
                | F::Upper
                | F::Length
                | F::Substring
                | F::Trim
                | F::Ltrim
                | F::Rtrim
                | F::Replace
                | F::Position
                | F::Left
                | F::Right
                | F::Reverse
                | F::StartsWith
                | F::SplitIndex
        );
        if wants_text && !args.first().is_some_and(text_like) {
            return Err(format!("{name} takes text, not {}", args.first().map_or(T::Null, |t| *t)));
        }
        // What an argument must be, and its name for the message.
        type Kind<'k> = (&'k dyn Fn(&SqlType) -> bool, &'k str);
        // The arguments after the first, where the function reads them as one kind.
        let integer = |t: &SqlType| matches!(t, T::Int | T::Null);
        let time = |t: &SqlType| matches!(t, T::Date | T::Timestamp | T::Null);
        let later: &[Kind<'_>] = match function {
            F::Substring | F::Left | F::Right | F::Round => &[(&integer, "an integer")],
            F::Replace | F::Position | F::StartsWith => &[(&text_like, "text")],
            F::Power => &[(&numeric, "a number")],
            F::DateTrunc | F::Extract => &[(&time, "a date or a timestamp")],
            _ => &[],
        };
        for (place, ty) in args.iter().enumerate().skip(1) {
            if let Some((fits, kind)) = later.get(place - 1).or(later.last())
                && !fits(ty)
            {
                return Err(format!("{name} takes {kind} as argument {}, not {ty}", place + 1));
            }
        }
        let first: Option<Kind<'_>> = match function {
            F::Sqrt | F::Power => Some((&numeric, "a number")),
            F::DateTrunc | F::Extract => Some((&text_like, "text (the unit)")),
            _ => None,
        };
        if let (Some((fits, kind)), Some(ty)) = (first, args.first())
            && !fits(ty)
        {
            return Err(format!("{name} takes {kind} as argument 1, not {ty}"));
        }
        Ok((function, result))
    }

    /// Applies the function to argument values (already cast to the types it was bound with),
    /// each read where it is (a column's text is not copied to be read).
    pub(crate) fn call<A: Borrow<Value>>(self, args: &[A]) -> Result<Value, EvalError> {
        use Function as F;
        let arg = |i: usize| args[i].borrow();
        if self == F::OneRow {
            return match arg(1) {
                Value::Int(rows) if *rows > 1 => Err(EvalError::MoreThanOneRow),
                _ => Ok(arg(0).clone()),
            };
        }
        if self == F::Concat {
            return Ok(Value::Text(
                args.iter()
                    .map(Borrow::borrow)
                    .filter(|v: &&Value| !v.is_null())
                    .map(|v| v.to_string())
                    .collect(),
            ));
        }
        if self == F::NullIf {
            return Ok(if arg(0).sql_cmp(arg(1)) == Some(std::cmp::Ordering::Equal) {
                Value::Null
            } else {
                arg(0).clone()
            });
        }
        if matches!(self, F::Greatest | F::Least) {
            let present = args.iter().map(Borrow::borrow).filter(|v: &&Value| !v.is_null());
            let pick = if self == F::Greatest { present.max() } else { present.min() };
            return Ok(pick.cloned().unwrap_or(Value::Null));
        }
        if args.iter().any(|a| a.borrow().is_null()) {
            return Ok(Value::Null);
        }
        let invalid = |message: &str| EvalError::InvalidArgument {
            function: format!("{self:?}").to_lowercase(),
            message: message.into(),
        };
        let text = |i: usize| -> Cow<'_, str> {
            match arg(i) {
                Value::Text(s) => Cow::Borrowed(s),
                other => Cow::Owned(other.to_string()),
            }
        };
        let int = |i: usize| match arg(i) {
            Value::Int(v) => Ok(*v),
            other => Err(invalid(&format!("expected an integer, got {other}"))),
        };
        let double = |i: usize| match arg(i) {
            Value::Int(v) => *v as f64,
            Value::Double(d) => d.get(),
            Value::Decimal(d) => d.to_f64(),
            _ => f64::NAN,
        };
        Ok(match self {
            F::Lower => Value::Text(text(0).to_lowercase()),
            F::Upper => Value::Text(text(0).to_uppercase()),
            F::Length => Value::Int(text(0).chars().count() as i64),
            F::Trim => Value::Text(text(0).trim().to_string()),
            F::Ltrim => Value::Text(text(0).trim_start().to_string()),
            F::Rtrim => Value::Text(text(0).trim_end().to_string()),
            F::Reverse => Value::Text(text(0).chars().rev().collect()),
            F::Substring => {
                // 1-based start; a start before 1 eats into the length, as in PostgreSQL.
                let start = int(1)?;
                let end = match args.get(2) {
                    Some(_) => {
                        let length = int(2)?;
                        if length < 0 {
                            return Err(invalid("negative substring length"));
                        }
                        start.saturating_add(length)
                    }
                    None => i64::MAX,
                };
                let (from, to) = ((start.max(1) - 1) as usize, (end.max(1) - 1) as usize);
                Value::Text(if from < to { chars(&text(0), from, to).to_string() } else { String::new() })
            }
            F::Replace => Value::Text(text(0).replace(&*text(1), &text(2))),
            F::Position => {
                let (haystack, needle) = (text(0), text(1));
                let found = match one_char(&needle) {
                    Some(one) => haystack.find(one),
                    None => haystack.find(&*needle),
                };
                Value::Int(match found {
                    Some(byte) => haystack[..byte].chars().count() as i64 + 1,
                    None => 0,
                })
            }
            F::Left | F::Right => {
                let (text, n) = (text(0), int(1)?);
                let len = text.chars().count();
                let keep = if n >= 0 { n.min(len as i64) } else { (len as i64 + n).max(0) } as usize;
                let (from, to) = if self == F::Left { (0, keep) } else { (len - keep, len) };
                Value::Text(chars(&text, from, to).to_string())
            }
            F::StartsWith => Value::Bool(text(0).starts_with(&*text(1))),
            F::SplitIndex => split_index(&text(0), &text(1), int(2)?).map_or(Value::Null, Value::Text),
            F::Abs => match arg(0) {
                Value::Int(v) => Value::Int(v.checked_abs().ok_or(EvalError::Overflow)?),
                Value::Decimal(d) => Value::Decimal(
                    crate::sql::value::Decimal::new(d.units().abs(), d.scale()).ok_or(EvalError::Overflow)?,
                ),
                _ => Value::double(double(0).abs()),
            },
            F::Sign => match arg(0) {
                Value::Int(v) => Value::Int(v.signum()),
                Value::Decimal(d) => {
                    Value::Decimal(crate::sql::value::Decimal::from_int(d.units().signum() as i64))
                }
                _ => Value::double(if double(0) == 0.0 { 0.0 } else { double(0).signum() }),
            },
            F::Round | F::Floor | F::Ceil => {
                let digits = if args.len() > 1 { int(1)? } else { 0 };
                match arg(0) {
                    Value::Int(v) => Value::Int(*v),
                    Value::Decimal(d) if self == F::Round => {
                        let scale = u8::try_from(digits.clamp(0, i64::from(d.scale()))).unwrap_or(0);
                        let rounded = d.rescale(scale).ok_or(EvalError::Overflow)?;
                        Value::Decimal(rounded.rescale(d.scale()).ok_or(EvalError::Overflow)?)
                    }
                    Value::Decimal(d) => {
                        let factor = 10i128.pow(u32::from(d.scale()));
                        let whole = d.units().div_euclid(factor)
                            + i128::from(self == F::Ceil && d.units().rem_euclid(factor) != 0);
                        Value::Decimal(
                            crate::sql::value::Decimal::new(whole * factor, d.scale())
                                .ok_or(EvalError::Overflow)?,
                        )
                    }
                    _ => {
                        let factor = 10f64.powi(digits.clamp(-300, 300) as i32);
                        let x = double(0) * factor;
                        Value::double(
                            match self {
                                F::Round => x.round(),
                                F::Floor => x.floor(),
                                _ => x.ceil(),
                            } / factor,
                        )
                    }
                }
            }
            F::Sqrt if double(0) < 0.0 => return Err(invalid("square root of a negative number")),
            F::Sqrt => Value::double(double(0).sqrt()),
            F::Power => Value::double(double(0).powf(double(1))),
            F::Extract => {
                extract(&text(0).to_ascii_lowercase(), arg(1)).ok_or_else(|| invalid("unknown field"))?
            }
            F::DateTrunc => {
                let micros = match arg(1) {
                    Value::Timestamp(t) => t.0,
                    Value::Date(d) => i64::from(d.0) * MICROS_PER_DAY,
                    _ => return Err(invalid("expected a date or timestamp")),
                };
                let t = Timestamp(micros);
                let (year, month, _) = t.date().ymd();
                let unit = text(0).to_ascii_lowercase();
                let truncated = match unit.as_str() {
                    "year" => Date::from_ymd(year, 1, 1).map(|d| i64::from(d.0) * MICROS_PER_DAY),
                    "month" => Date::from_ymd(year, month, 1).map(|d| i64::from(d.0) * MICROS_PER_DAY),
                    "day" => Some(micros - t.time_of_day()),
                    "hour" => Some(micros - micros.rem_euclid(3_600_000_000)),
                    "minute" => Some(micros - micros.rem_euclid(60_000_000)),
                    "second" => Some(micros - micros.rem_euclid(1_000_000)),
                    _ => None,
                };
                Value::Timestamp(Timestamp(truncated.ok_or_else(|| invalid("unknown unit"))?))
            }
            F::Year | F::Month | F::Day | F::Hour | F::Minute | F::Second => {
                let field = match self {
                    F::Year => "year",
                    F::Month => "month",
                    F::Day => "day",
                    F::Hour => "hour",
                    F::Minute => "minute",
                    _ => "second",
                };
                extract(field, arg(0)).ok_or_else(|| invalid("expected a date or timestamp"))?
            }
            F::EpochMs => Value::Timestamp(Timestamp(int(0)?.checked_mul(1_000).ok_or(EvalError::Overflow)?)),
            F::Concat | F::NullIf | F::Greatest | F::Least | F::OneRow => unreachable!("handled above"),
        })
    }
}

/// The characters of `text` from the `from`th up to the `to`th (from 0, `to` excluded; both
/// cut at the text's end), without collecting its characters.
fn chars(text: &str, from: usize, to: usize) -> &str {
    if text.is_ascii() {
        return &text[from.min(text.len())..to.min(text.len())];
    }
    let mut starts = text.char_indices().map(|(at, _)| at).chain(std::iter::once(text.len()));
    let Some(first) = starts.nth(from) else { return "" };
    let last = if to > from { starts.nth(to - from - 1).unwrap_or(text.len()) } else { first };
    &text[first..last]
}

/// `SPLIT_INDEX`: the piece at `index` (from 0) of `text` cut at every `delimiter`, if there is
/// one. `n` delimiters make `n + 1` pieces, empty ones included; an empty delimiter cuts
/// nothing, so the text is the only piece.
fn split_index(text: &str, delimiter: &str, index: i64) -> Option<String> {
    let index = usize::try_from(index).ok()?;
    if delimiter.is_empty() {
        return (index == 0).then(|| text.to_string());
    }
    match one_char(delimiter) {
        Some(one) => text.split(one).nth(index).map(str::to_string),
        None => text.split(delimiter).nth(index).map(str::to_string),
    }
}

/// The character `text` is, if it is one: a delimiter or needle searched for as a `char`
/// (`memchr`) rather than as a string, whose searcher is set up again at every call.
fn one_char(text: &str) -> Option<char> {
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(one), None) => Some(one),
        _ => None,
    }
}

/// A field of a date or timestamp, as `EXTRACT` gives it.
fn extract(field: &str, value: &Value) -> Option<Value> {
    let (date, micros) = match value {
        Value::Date(d) => (*d, 0),
        Value::Timestamp(t) => (t.date(), t.time_of_day()),
        _ => return None,
    };
    let (year, month, day) = date.ymd();
    Some(Value::Int(match field {
        "year" => i64::from(year),
        "month" => i64::from(month),
        "day" => i64::from(day),
        "hour" => micros / 3_600_000_000,
        "minute" => micros / 60_000_000 % 60,
        "second" => micros / 1_000_000 % 60,
        "dow" => i64::from((date.0 + 4).rem_euclid(7)),
        "doy" => i64::from(date.0 - Date::from_ymd(year, 1, 1)?.0 + 1),
        "epoch" => i64::from(date.0) * 86_400 + micros / 1_000_000,
        _ => return None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(name: &str, args: Vec<Value>) -> Result<Value, EvalError> {
        let types: Vec<SqlType> = args
            .iter()
            .map(|v| match v {
                Value::Int(_) => SqlType::Int,
                Value::Text(_) => SqlType::Text,
                Value::Double(_) => SqlType::Double,
                Value::Timestamp(_) => SqlType::Timestamp,
                _ => SqlType::Null,
            })
            .collect();
        Function::bind(name, &types).unwrap().0.call(&args)
    }

    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    #[test]
    fn string_functions_count_characters_not_bytes() {
        assert_eq!(call("length", vec![text("héllo")]), Ok(Value::Int(5)));
        assert_eq!(call("substr", vec![text("héllo"), Value::Int(2), Value::Int(3)]), Ok(text("éll")));
        assert_eq!(call("substr", vec![text("hello"), Value::Int(0), Value::Int(2)]), Ok(text("h")));
        assert_eq!(call("strpos", vec![text("héllo"), text("l")]), Ok(Value::Int(3)));
        assert_eq!(call("right", vec![text("hello"), Value::Int(2)]), Ok(text("lo")));
        assert_eq!(call("left", vec![text("héllo"), Value::Int(2)]), Ok(text("hé")));
        assert_eq!(call("left", vec![text("héllo"), Value::Int(-2)]), Ok(text("hél")));
        assert_eq!(call("right", vec![text("héllo"), Value::Int(-1)]), Ok(text("éllo")));
        assert_eq!(call("right", vec![text("héllo"), Value::Int(9)]), Ok(text("héllo")));
        assert_eq!(call("concat", vec![text("a"), Value::Null, Value::Int(1)]), Ok(text("a1")));
        assert_eq!(call("upper", vec![Value::Null]), Ok(Value::Null));
    }

    /// `strpos` and `SPLIT_INDEX` find a delimiter of one character (searched for as a `char`)
    /// where a search for the same text as a string finds it: random texts and delimiters of
    /// one to three characters, from an alphabet with characters of one to four bytes.
    #[test]
    fn one_character_delimiters_are_found_as_strings_are() {
        fn property(text: Vec<u8>, delimiter: Vec<u8>, index: u8) -> bool {
            const ALPHABET: [char; 5] = ['/', 'a', '&', 'é', '😀'];
            let pick = |codes: &[u8]| -> String { codes.iter().map(|c| ALPHABET[*c as usize % 5]).collect() };
            let (text, delimiter) = (pick(&text), pick(&delimiter[..delimiter.len().min(3)]));
            let index = i64::from(index % 6);
            let position = match text.find(delimiter.as_str()) {
                Some(byte) => text[..byte].chars().count() as i64 + 1,
                None => 0,
            };
            let piece = match delimiter.is_empty() {
                true => (index == 0).then(|| text.clone()),
                false => text.split(delimiter.as_str()).nth(index as usize).map(str::to_string),
            };
            let strpos = call("strpos", vec![Value::Text(text.clone()), Value::Text(delimiter.clone())]);
            let split =
                call("split_index", vec![Value::Text(text), Value::Text(delimiter), Value::Int(index)]);
            strpos == Ok(Value::Int(position)) && split == Ok(piece.map_or(Value::Null, Value::Text))
        }
        quickcheck::QuickCheck::new().tests(5_000).quickcheck(property as fn(Vec<u8>, Vec<u8>, u8) -> bool);
    }

    /// `chars` cuts where collecting the characters and slicing them does, on any text (ASCII
    /// or not) and any bounds, past the end included.
    #[test]
    fn a_character_range_is_the_collected_characters_range() {
        fn property(text: String, from: u8, to: u8) -> bool {
            let (from, to) = (usize::from(from % 24), usize::from(to % 24));
            let all: Vec<char> = text.chars().collect();
            let expected: String = if from < to {
                all[from.min(all.len())..to.min(all.len())].iter().collect()
            } else {
                String::new()
            };
            from >= to || chars(&text, from, to) == expected
        }
        quickcheck::QuickCheck::new().tests(5_000).quickcheck(property as fn(String, u8, u8) -> bool);
        assert_eq!(chars("héllo", 1, 4), "éll");
        assert_eq!(chars("héllo", 4, 9), "o");
        assert_eq!(chars("héllo", 5, 9), "");
    }

    #[test]
    fn numeric_and_date_functions() {
        assert_eq!(call("round", vec![Value::double(2.345), Value::Int(2)]), Ok(Value::double(2.35)));
        assert_eq!(call("abs", vec![Value::Int(i64::MIN)]), Err(EvalError::Overflow));
        assert!(call("sqrt", vec![Value::double(-1.0)]).is_err());
        let t = Value::Timestamp(Timestamp::parse("2024-03-05 06:07:08").unwrap());
        assert_eq!(call("extract", vec![text("month"), t.clone()]), Ok(Value::Int(3)));
        assert_eq!(call("extract", vec![text("dow"), t.clone()]), Ok(Value::Int(2)));
        assert_eq!(
            call("date_trunc", vec![text("month"), t.clone()]).map(|v| v.to_string()),
            Ok("2024-03-01 00:00:00".into())
        );
        assert_eq!(
            call("epoch_ms", vec![Value::Int(1_709_618_828_123)]).map(|v| v.to_string()),
            Ok("2024-03-05 06:07:08.123".into())
        );
        assert_eq!(call("epoch_ms", vec![Value::Int(i64::MAX)]), Err(EvalError::Overflow));
        assert!(Function::bind("epoch_ms", &[SqlType::Text]).is_err());
        assert_eq!(call("hour", vec![t.clone()]), Ok(Value::Int(6)));
        assert_eq!(call("year", vec![t.clone()]), Ok(Value::Int(2024)));
        assert_eq!(call("minute", vec![t.clone()]), Ok(Value::Int(7)));
        assert_eq!(call("second", vec![t]), Ok(Value::Int(8)));
        // Before 1970 the hour is still of the day's own clock.
        let before = Value::Timestamp(Timestamp::parse("1969-12-31 23:30:00").unwrap());
        assert_eq!(call("hour", vec![before]), Ok(Value::Int(23)));
        assert_eq!(call("day", vec![Value::Null]), Ok(Value::Null));
        assert!(Function::bind("hour", &[SqlType::Int]).is_err());
        assert!(Function::bind("hour", &[SqlType::Timestamp, SqlType::Timestamp]).is_err());
        assert!(Function::bind("no_such_function", &[]).is_err());
        assert!(Function::bind("lower", &[SqlType::Int]).is_err());
    }

    #[test]
    fn split_index_counts_pieces_from_zero_and_is_null_past_the_last() {
        let url = || text("https://www.nexmark.com/a/b/item.htm?query=1");
        let piece = |index: i64| call("split_index", vec![url(), text("/"), Value::Int(index)]);
        assert_eq!(piece(0), Ok(text("https:")));
        assert_eq!(piece(1), Ok(text("")));
        assert_eq!(piece(3), Ok(text("a")));
        assert_eq!(piece(5), Ok(text("item.htm?query=1")));
        assert_eq!(piece(6), Ok(Value::Null));
        assert_eq!(piece(-1), Ok(Value::Null));
        // Delimiters of several characters, and pieces that are empty.
        assert_eq!(call("split_index", vec![text("a::b::"), text("::"), Value::Int(1)]), Ok(text("b")));
        assert_eq!(call("split_index", vec![text("a::b::"), text("::"), Value::Int(2)]), Ok(text("")));
        assert_eq!(call("split_index", vec![text(""), text("/"), Value::Int(0)]), Ok(text("")));
        // An empty delimiter cuts nothing.
        assert_eq!(call("split_index", vec![text("a/b"), text(""), Value::Int(0)]), Ok(text("a/b")));
        assert_eq!(call("split_index", vec![text("a/b"), text(""), Value::Int(1)]), Ok(Value::Null));
        // Characters, not bytes.
        assert_eq!(call("split_index", vec![text("é/ü"), text("/"), Value::Int(1)]), Ok(text("ü")));
        for null in 0..3 {
            let mut args = vec![text("a/b"), text("/"), Value::Int(0)];
            args[null] = Value::Null;
            assert_eq!(call("split_index", args), Ok(Value::Null), "NULL argument {null}");
        }
        assert!(Function::bind("split_index", &[SqlType::Text, SqlType::Text]).is_err());
        assert!(Function::bind("split_index", &[SqlType::Int, SqlType::Text, SqlType::Int]).is_err());
        assert!(Function::bind("split_index", &[SqlType::Text, SqlType::Int, SqlType::Int]).is_err());
        assert!(Function::bind("split_index", &[SqlType::Text, SqlType::Text, SqlType::Text]).is_err());
    }
}
