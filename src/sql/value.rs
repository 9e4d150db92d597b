//! One SQL value, and the row of them that SQL tables and views hold.
//!
//! Every SQL table is an engine table of [`SqlRow`]s (a keyed table of `(key, rest)` pairs of
//! them), so a value must be a [`Row`](crate::Row): ordered, hashed and serialized. Doubles are
//! ordered by [`f64::total_cmp`] after `-0.0` is made `0.0` and every NaN the same NaN, so that
//! equal doubles are one value to differential's consolidation, as they are to SQL.

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A row of SQL values, in the order of its columns.
pub type SqlRow = Vec<Value>;

/// One SQL value. `Null` is SQL's `NULL`; the others hold a value of one [`SqlType`](crate::sql::SqlType).
///
/// The derived order (`Null` first, then by variant, then by value) is the order of rows in
/// reads; `ORDER BY` uses SQL's order (`NULL`s last when ascending, as in PostgreSQL and DuckDB).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Value {
    /// SQL's `NULL`.
    Null,
    /// A `BOOLEAN`.
    Bool(bool),
    /// A `BIGINT` (every SQL integer type is a 64-bit integer here).
    Int(i64),
    /// A `DOUBLE`.
    Double(Double),
    /// A `DECIMAL(p, s)`.
    Decimal(Decimal),
    /// A `TEXT` (or `VARCHAR`).
    Text(String),
    /// A `BYTEA` (or `BLOB`).
    Bytes(Vec<u8>),
    /// A `DATE`.
    Date(Date),
    /// A `TIMESTAMP` (without time zone), to the microsecond.
    Timestamp(Timestamp),
}

impl Value {
    /// True for `NULL`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// A double value (`-0.0` becomes `0.0`, every NaN the same NaN).
    pub fn double(value: f64) -> Value {
        Value::Double(Double::new(value))
    }

    /// SQL comparison: `None` when either side is `NULL`. Both sides have the same type (the
    /// binder casts them to one), except that integers, decimals and doubles compare by value.
    pub fn sql_cmp(&self, other: &Value) -> Option<Ordering> {
        match (self, other) {
            (Value::Null, _) | (_, Value::Null) => None,
            (Value::Int(a), Value::Double(b)) => Some(Double::new(*a as f64).cmp(b)),
            (Value::Double(a), Value::Int(b)) => Some(a.cmp(&Double::new(*b as f64))),
            (Value::Decimal(a), Value::Decimal(b)) => Some(a.cmp_value(b)),
            (Value::Decimal(a), Value::Int(b)) => Some(a.cmp_value(&Decimal::from_int(*b))),
            (Value::Int(a), Value::Decimal(b)) => Some(Decimal::from_int(*a).cmp_value(b)),
            (Value::Decimal(a), Value::Double(b)) => Some(Double::new(a.to_f64()).cmp(b)),
            (Value::Double(a), Value::Decimal(b)) => Some(a.cmp(&Double::new(b.to_f64()))),
            _ => Some(self.cmp(other)),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Double(d) => write!(f, "{d}"),
            Value::Decimal(d) => write!(f, "{d}"),
            Value::Text(s) => f.write_str(s),
            Value::Bytes(b) => {
                f.write_str("\\x")?;
                b.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
            }
            Value::Date(d) => write!(f, "{d}"),
            Value::Timestamp(t) => write!(f, "{t}"),
        }
    }
}

/// A double with a total order: `-0.0` is stored as `0.0` and every NaN as one NaN, which sorts
/// above every number (as in PostgreSQL).
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct Double(f64);

impl Double {
    /// The double `value`, normalized.
    pub fn new(value: f64) -> Double {
        if value == 0.0 {
            Double(0.0)
        } else if value.is_nan() {
            Double(f64::NAN)
        } else {
            Double(value)
        }
    }

    /// The value.
    pub fn get(self) -> f64 {
        self.0
    }
}

impl PartialEq for Double {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Double {}

impl PartialOrd for Double {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Double {
    fn cmp(&self, other: &Self) -> Ordering {
        // Normalized in `new`; deserialized values are normalized here again.
        Double::new(self.0).0.total_cmp(&Double::new(other.0).0)
    }
}

impl std::hash::Hash for Double {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        Double::new(self.0).0.to_bits().hash(state)
    }
}

impl fmt::Display for Double {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_nan() {
            f.write_str("NaN")
        } else if self.0.is_infinite() {
            f.write_str(if self.0 > 0.0 { "Infinity" } else { "-Infinity" })
        } else {
            write!(f, "{}", self.0)
        }
    }
}

/// A decimal number: `units / 10^scale`, with at most 38 digits (`DECIMAL(38, s)`).
///
/// Values of one column share its scale; arithmetic keeps exact results (the scale of a sum is
/// the larger one, of a product the sum of both), and fails with an overflow past 38 digits.
///
/// The units are held as two 64-bit halves, so that a decimal is aligned as a `u64` and a
/// [`Value`] takes 32 bytes rather than the 48 an `i128` field's 16-byte alignment would make
/// it; the halves order as the `i128` does. It serializes as `{ units: i128, scale: u8 }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "DecimalWire", into = "DecimalWire")]
pub struct Decimal {
    /// The units' upper 64 bits, signed: `(high, low)` orders as the units do.
    high: i64,
    /// The units' lower 64 bits.
    low: u64,
    scale: u8,
}

/// How a [`Decimal`] is serialized (the form it had when its units were an `i128` field).
#[derive(Serialize, Deserialize)]
#[serde(rename = "Decimal")]
struct DecimalWire {
    units: i128,
    scale: u8,
}

impl TryFrom<DecimalWire> for Decimal {
    type Error = String;

    /// Stored bytes past 38 digits are corrupt, and fail to decode rather than make a decimal
    /// no arithmetic expects.
    fn try_from(wire: DecimalWire) -> Result<Decimal, String> {
        Decimal::new(wire.units, wire.scale).ok_or_else(|| {
            format!("a decimal of {} units at scale {} is past 38 digits", wire.units, wire.scale)
        })
    }
}

impl From<Decimal> for DecimalWire {
    fn from(decimal: Decimal) -> DecimalWire {
        DecimalWire { units: decimal.units(), scale: decimal.scale }
    }
}

/// The largest magnitude of a 38-digit decimal's units.
const DECIMAL_MAX: i128 = 10i128.pow(38) - 1;

impl Decimal {
    /// `units / 10^scale`; `None` past 38 digits or a scale above 38.
    pub fn new(units: i128, scale: u8) -> Option<Decimal> {
        (units.abs() <= DECIMAL_MAX && scale <= 38).then(|| Decimal::from_parts(units, scale))
    }

    /// The integer `value`, scale 0.
    pub fn from_int(value: i64) -> Decimal {
        Decimal::from_parts(i128::from(value), 0)
    }

    /// `units` and `scale` as they are, unchecked.
    fn from_parts(units: i128, scale: u8) -> Decimal {
        Decimal { high: (units >> 64) as i64, low: units as u64, scale }
    }

    /// The units (the value times `10^scale`).
    pub fn units(self) -> i128 {
        (i128::from(self.high) << 64) | i128::from(self.low)
    }

    /// The number of digits after the point.
    pub fn scale(self) -> u8 {
        self.scale
    }

    /// The same value with `scale` digits after the point, rounded half away from zero when
    /// digits are dropped; `None` past 38 digits.
    pub fn rescale(self, scale: u8) -> Option<Decimal> {
        match scale.cmp(&self.scale) {
            Ordering::Equal => Some(self),
            Ordering::Greater => {
                let factor = 10i128.checked_pow(u32::from(scale - self.scale))?;
                Decimal::new(self.units().checked_mul(factor)?, scale)
            }
            Ordering::Less => {
                let factor = 10i128.pow(u32::from(self.scale - scale));
                let (quotient, remainder) = (self.units() / factor, self.units() % factor);
                let rounded =
                    if remainder.abs() * 2 >= factor { quotient + self.units().signum() } else { quotient };
                Decimal::new(rounded, scale)
            }
        }
    }

    /// Compares by value, whatever the scales.
    pub fn cmp_value(&self, other: &Decimal) -> Ordering {
        let scale = self.scale.max(other.scale);
        match (self.rescale(scale), other.rescale(scale)) {
            (Some(a), Some(b)) => a.units().cmp(&b.units()),
            _ => self.to_f64().total_cmp(&other.to_f64()),
        }
    }

    /// The nearest double.
    pub fn to_f64(self) -> f64 {
        self.units() as f64 / 10f64.powi(i32::from(self.scale))
    }

    /// Parses `-12.345` (digits, an optional point and sign); `None` if it is not such a number.
    pub fn parse(text: &str) -> Option<Decimal> {
        let text = text.trim();
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        if whole.is_empty() && fraction.is_empty()
            || !whole.chars().chain(fraction.chars()).all(|c| c.is_ascii_digit())
        {
            return None;
        }
        let scale = u8::try_from(fraction.len()).ok()?;
        let units: i128 = format!("{whole}{fraction}").trim_start_matches('0').parse().unwrap_or(0);
        Decimal::new(if negative { -units } else { units }, scale)
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.units() < 0 { "-" } else { "" };
        let digits = self.units().unsigned_abs().to_string();
        let scale = usize::from(self.scale);
        if scale == 0 {
            return write!(f, "{sign}{digits}");
        }
        let padded = format!("{digits:0>width$}", width = scale + 1);
        let (whole, fraction) = padded.split_at(padded.len() - scale);
        write!(f, "{sign}{whole}.{fraction}")
    }
}

/// A date: days since 1970-01-01 in the proleptic Gregorian calendar.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Date(pub i32);

impl Date {
    /// The date of `year`, `month` (1-12) and `day` (1-31); `None` if there is no such day.
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Option<Date> {
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        Some(Date(days_from_civil(year, month, day)))
    }

    /// The year, month and day.
    pub fn ymd(self) -> (i32, u32, u32) {
        civil_from_days(self.0)
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Option<Date> {
        let mut parts = text.trim().splitn(3, '-');
        let year = parts.next()?.parse().ok()?;
        let month = parts.next()?.parse().ok()?;
        let day = parts.next()?.parse().ok()?;
        Date::from_ymd(year, month, day)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (year, month, day) = self.ymd();
        write!(f, "{year:04}-{month:02}-{day:02}")
    }
}

/// A timestamp without time zone: microseconds since 1970-01-01 00:00:00.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Timestamp(pub i64);

/// Microseconds in a day.
pub(crate) const MICROS_PER_DAY: i64 = 86_400_000_000;

impl Timestamp {
    /// The date part.
    pub fn date(self) -> Date {
        Date(self.0.div_euclid(MICROS_PER_DAY) as i32)
    }

    /// Microseconds since midnight.
    pub fn time_of_day(self) -> i64 {
        self.0.rem_euclid(MICROS_PER_DAY)
    }

    /// Parses `YYYY-MM-DD[ HH:MM[:SS[.ffffff]]]` (a `T` may stand for the space).
    pub fn parse(text: &str) -> Option<Timestamp> {
        let text = text.trim();
        let (date, time) = match text.split_once([' ', 'T']) {
            Some((date, time)) => (date, time.trim()),
            None => (text, ""),
        };
        let date = Date::parse(date)?;
        let mut micros = 0i64;
        if !time.is_empty() {
            let mut parts = time.splitn(3, ':');
            let hours: i64 = parts.next()?.parse().ok()?;
            let minutes: i64 = parts.next()?.parse().ok()?;
            let (seconds, fraction) = match parts.next() {
                Some(seconds) => seconds.split_once('.').unwrap_or((seconds, "")),
                None => ("0", ""),
            };
            let seconds: i64 = seconds.parse().ok()?;
            if hours > 23 || minutes > 59 || seconds > 59 || fraction.len() > 6 {
                return None;
            }
            let fraction: i64 =
                if fraction.is_empty() { 0 } else { format!("{fraction:0<6}").parse().ok()? };
            micros = ((hours * 60 + minutes) * 60 + seconds) * 1_000_000 + fraction;
        }
        Some(Timestamp(i64::from(date.0) * MICROS_PER_DAY + micros))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let micros = self.time_of_day();
        let seconds = micros / 1_000_000;
        write!(f, "{} {:02}:{:02}:{:02}", self.date(), seconds / 3600, seconds / 60 % 60, seconds % 60)?;
        match micros % 1_000_000 {
            0 => Ok(()),
            fraction => write!(f, ".{}", format!("{fraction:06}").trim_end_matches('0')),
        }
    }
}

fn is_leap(year: i32) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i32, month: u32, day: u32) -> i32 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month = month as i32;
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day as i32 - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The civil date of days since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i32) -> (i32, u32, u32) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 } as u32;
    let year = year_of_era + era * 400 + i32::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_through_their_days() {
        for days in -800_000..800_000 {
            let (year, month, day) = Date(days).ymd();
            assert_eq!(Date::from_ymd(year, month, day), Some(Date(days)));
        }
        assert_eq!(Date::parse("1970-01-01"), Some(Date(0)));
        assert_eq!(Date::parse("2000-02-29").map(|d| d.to_string()), Some("2000-02-29".into()));
        assert_eq!(Date::parse("1900-02-29"), None);
        assert_eq!(Date::parse("2024-13-01"), None);
    }

    #[test]
    fn timestamps_parse_and_print() {
        let t = Timestamp::parse("2024-03-05 06:07:08.25").unwrap();
        assert_eq!(t.to_string(), "2024-03-05 06:07:08.25");
        assert_eq!(Timestamp::parse("1969-12-31 23:59:59").unwrap().0, -1_000_000);
        assert_eq!(Timestamp::parse("2024-03-05").unwrap().to_string(), "2024-03-05 00:00:00");
        assert_eq!(Timestamp::parse("2024-03-05 24:00:00"), None);
    }

    #[test]
    fn decimals_parse_print_rescale_and_compare_by_value() {
        let d = Decimal::parse("-12.345").unwrap();
        assert_eq!((d.units(), d.scale()), (-12345, 3));
        assert_eq!(d.to_string(), "-12.345");
        assert_eq!(Decimal::parse("0.05").unwrap().to_string(), "0.05");
        assert_eq!(d.rescale(2).unwrap().to_string(), "-12.35");
        assert_eq!(d.rescale(5).unwrap().to_string(), "-12.34500");
        assert_eq!(
            Decimal::parse("1.50").unwrap().cmp_value(&Decimal::parse("1.5").unwrap()),
            Ordering::Equal
        );
        assert_eq!(Decimal::parse("abc"), None);
        assert_eq!(Decimal::parse("."), None);
    }

    #[test]
    fn a_value_takes_32_bytes() {
        assert_eq!(std::mem::size_of::<Value>(), 32);
    }

    #[test]
    fn decimals_order_hold_and_serialize_as_their_i128_units() {
        let units = [
            -DECIMAL_MAX,
            -(1i128 << 64) - 1,
            -(1i128 << 64),
            -(1i128 << 63),
            -1,
            0,
            1,
            (1i128 << 64) - 1,
            1i128 << 64,
            DECIMAL_MAX,
        ];
        for (i, &a) in units.iter().enumerate() {
            let x = Decimal::new(a, 2).unwrap();
            assert_eq!(x.units(), a);
            let bytes = postcard::to_allocvec(&x).unwrap();
            assert_eq!(bytes, postcard::to_allocvec(&(a, 2u8)).unwrap());
            assert_eq!(postcard::from_bytes::<Decimal>(&bytes).unwrap(), x);
            for &b in &units[i..] {
                assert_eq!(x.cmp(&Decimal::new(b, 2).unwrap()), a.cmp(&b), "{a} against {b}");
            }
        }
        let past = postcard::to_allocvec(&(DECIMAL_MAX + 1, 0u8)).unwrap();
        assert!(postcard::from_bytes::<Decimal>(&past).is_err());
    }

    #[test]
    fn doubles_are_one_value_per_sql_value() {
        assert_eq!(Value::double(-0.0), Value::double(0.0));
        assert_eq!(Value::double(f64::NAN), Value::double(-f64::NAN));
        assert!(Value::double(f64::NAN) > Value::double(f64::INFINITY));
        assert_eq!(Value::Int(2).sql_cmp(&Value::double(2.5)), Some(Ordering::Less));
        assert_eq!(Value::Null.sql_cmp(&Value::Int(1)), None);
    }
}
