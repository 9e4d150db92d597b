//! A row of SQL values packed into one byte string, as SQL keeps the rows it arranges (a view's
//! rows, both sides of a join, a top-k's partitions, sort keys and rows).
//!
//! A [`SqlRow`] is a vector of 32-byte [`Value`]s, each text or bytes value a further
//! allocation: a row of four integers and a short text is some 200 bytes in three allocations.
//! Packed, the same row is about 50 bytes in one; a row of at most 30 bytes (three integers)
//! is kept in place, in no allocation at all ([`InlineBytes`]). An arrangement holds every row
//! it has, and copies each at every merge, so this is most of what an SQL view weighs.
//!
//! The packing is ordered: the bytes of two rows compare as the rows do (as [`SqlRow`]s, by the
//! derived order of [`Value`]), so that an arrangement of packed rows is sorted as one of rows,
//! and equal rows have equal bytes. Each value is a tag byte (the variant's place in [`Value`])
//! and then:
//! - `Bool`: one byte, 0 or 1;
//! - `Int`, `Date`, `Timestamp`: the integer big-endian with its sign bit flipped;
//! - `Double`: the normalized bits big-endian, all flipped if negative, else the sign bit;
//! - `Decimal`: the units as an `i128` (sign bit flipped, big-endian), then the scale;
//! - `Text`, `Bytes`: the bytes with each `0x00` written `0x00 0xFF`, ended by `0x00 0x00`.
//!
//! A row that is a prefix of another is shorter, and so compares less, as a vector does.

use std::borrow::Cow;
use std::cell::RefCell;
use std::cmp::Ordering;
use std::convert::Infallible;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde::{Serialize, Serializer};

use crate::sql::inline_bytes::{INLINE, InlineBytes};
use crate::sql::value::{Date, Decimal, Double, SqlRow, Timestamp, Value};

/// A row of SQL values as one byte string (in place when short), ordered, compared and hashed
/// as its values are.
///
/// An SQL view holds its rows packed (see [`Computed`](crate::sql::Computed)); [`values`](Self::values)
/// gives them back.
///
/// ```
/// use ivm::sql::{PackedRow, Value};
/// let row = vec![Value::Int(7), Value::Text("ada".into()), Value::Null];
/// let packed = PackedRow::pack(&row);
/// assert_eq!(packed.values(), row);
/// assert!(PackedRow::pack(&[Value::Int(-1)]) < PackedRow::pack(&[Value::Int(3)]));
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PackedRow(InlineBytes);

const NULL: u8 = 0;
const BOOL: u8 = 1;
const INT: u8 = 2;
const DOUBLE: u8 = 3;
const DECIMAL: u8 = 4;
const TEXT: u8 = 5;
const BYTES: u8 = 6;
const DATE: u8 = 7;
const TIMESTAMP: u8 = 8;

impl PackedRow {
    /// `values`, packed.
    pub fn pack(values: &[Value]) -> PackedRow {
        PackedRow::pack_each(values.iter())
    }

    /// The values `values` gives, packed (it is read twice: for the length, then the bytes).
    pub(crate) fn pack_each<'v>(values: impl Iterator<Item = &'v Value> + Clone) -> PackedRow {
        let len = values.clone().map(packed_len).sum();
        if len <= INLINE {
            // Packed in the thread's buffer and copied into the row: no allocation at all.
            let borrowed = values.map(|value| Ok(Cow::Borrowed(value)));
            return PackedRow::try_pack_each(borrowed).unwrap_or_else(|never: Infallible| match never {});
        }
        let mut bytes = Vec::with_capacity(len);
        for value in values {
            pack_value(value, &mut bytes);
        }
        PackedRow(InlineBytes::from_vec(bytes))
    }

    /// The values `values` gives, packed, or the first error it gives: one pass over them,
    /// packed into a buffer the thread keeps, then copied out, so that a row computed value by
    /// value (a key, a sort key) is one allocation and its values are never collected.
    pub(crate) fn try_pack_each<'v, E>(
        mut values: impl Iterator<Item = Result<Cow<'v, Value>, E>>,
    ) -> Result<PackedRow, E> {
        thread_local! {
            static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
        }
        /// The most the buffer keeps between rows: one row of long texts does not hold its
        /// size on the thread for good.
        const KEPT: usize = 1 << 16;
        SCRATCH.with_borrow_mut(|bytes| {
            bytes.clear();
            let packed = values.try_for_each(|value| value.map(|value| pack_value(&value, bytes)));
            let row = packed.map(|()| PackedRow(InlineBytes::copied(bytes)));
            if bytes.capacity() > KEPT {
                *bytes = Vec::new();
            }
            row
        })
    }

    /// The bytes of the values after the first `n`.
    pub(crate) fn bytes_after(&self, n: usize) -> &[u8] {
        let skipped: usize = self.packed_values().take(n).map(|value| value.0.len()).sum();
        &self.0[skipped..]
    }

    /// The row of the values after the first `n`, copied.
    pub(crate) fn after(&self, n: usize) -> PackedRow {
        PackedRow(InlineBytes::copied(self.bytes_after(n)))
    }

    /// True if one of the values is `NULL`.
    pub(crate) fn has_null(&self) -> bool {
        self.packed_values().any(|value| value.is_null())
    }

    /// The values, unpacked.
    pub fn values(&self) -> SqlRow {
        let mut values = Vec::new();
        self.unpack_into(&mut values);
        values
    }

    /// The values, unpacked onto the end of `values`.
    pub fn unpack_into(&self, values: &mut SqlRow) {
        let mut rest = &self.0[..];
        while !rest.is_empty() {
            // Every packed row was made by `pack` or checked by `check` when deserialized.
            let (value, tail) = unpack_value(rest).expect("a packed row is checked when it is made");
            values.push(value);
            rest = tail;
        }
    }

    /// The row of `self`'s values followed by `other`'s (their bytes, one after the other).
    pub(crate) fn concat(&self, other: &PackedRow) -> PackedRow {
        PackedRow(InlineBytes::concat(self.0.len() + other.0.len(), [&self.0[..], &other.0[..]]))
    }

    /// The row of the values at `columns` of the row `rows` make one after the other, copied
    /// as packed bytes (nothing unpacked). `bounds` is scratch space, kept by the caller so
    /// that a row picked per call allocates only the row.
    pub(crate) fn pick(
        rows: &[&PackedRow],
        columns: &[usize],
        bounds: &mut Vec<(usize, usize, usize)>,
    ) -> PackedRow {
        bounds.clear();
        for (at, row) in rows.iter().enumerate() {
            let mut start = 0;
            while start < row.0.len() {
                let end = start + value_len(&row.0[start..]);
                bounds.push((at, start, end));
                start = end;
            }
        }
        let len = columns.iter().map(|&c| bounds[c].2 - bounds[c].1).sum();
        let parts = columns.iter().map(|&column| {
            let (at, start, end) = bounds[column];
            &rows[at].0[start..end]
        });
        PackedRow(InlineBytes::concat(len, parts))
    }

    /// Each value, still packed.
    pub(crate) fn packed_values(&self) -> impl Iterator<Item = PackedValue<'_>> {
        let mut rest = &self.0[..];
        std::iter::from_fn(move || {
            if rest.is_empty() {
                return None;
            }
            let len = value_len(rest);
            let (value, tail) = rest.split_at(len);
            rest = tail;
            Some(PackedValue(value))
        })
    }

    /// The packed bytes' length.
    pub fn packed_len(&self) -> usize {
        self.0.len()
    }

    /// `bytes` as a packed row, if they are one.
    fn check(bytes: Vec<u8>) -> Result<PackedRow, String> {
        let mut rest = &bytes[..];
        while !rest.is_empty() {
            rest = unpack_value(rest)?.1;
        }
        Ok(PackedRow(InlineBytes::from_vec(bytes)))
    }
}

impl fmt::Debug for PackedRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PackedRow").field(&self.values()).finish()
    }
}

/// One value of a packed row, its tag and encoding, still packed. Its bytes order as the
/// value does (by the derived order of [`Value`]), as a row's do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct PackedValue<'a>(&'a [u8]);

impl PackedValue<'_> {
    /// True for `NULL`.
    pub(crate) fn is_null(&self) -> bool {
        self.0[0] == NULL
    }

    /// SQL's comparison of the two values, as [`Value::sql_cmp`]: by their bytes where those
    /// compare as the values do (two values of one type, not decimals, which compare equal at
    /// different scales), else unpacked.
    pub(crate) fn sql_cmp(&self, other: &PackedValue<'_>) -> Option<Ordering> {
        let tag = self.0[0];
        if tag == other.0[0] && tag != NULL && tag != DECIMAL {
            return Some(self.0.cmp(other.0));
        }
        self.value().sql_cmp(&other.value())
    }

    /// The integer, if the value is one, read without unpacking anything else.
    pub(crate) fn int(&self) -> Option<i64> {
        match self.0 {
            [INT, bytes @ ..] => Some(signed(bytes.try_into().ok()?)),
            _ => None,
        }
    }

    /// The value, unpacked.
    pub(crate) fn value(&self) -> Value {
        unpack_value(self.0).expect("a packed row is checked when it is made").0
    }
}

/// A 64-bit integer from its packed bytes: big-endian with the sign bit flipped, so that the
/// bytes order as the integers do.
fn signed(bytes: [u8; 8]) -> i64 {
    (u64::from_be_bytes(bytes) ^ (1 << 63)) as i64
}

/// The length of the first packed value of `bytes` (a checked row's), tag included.
fn value_len(bytes: &[u8]) -> usize {
    match bytes[0] {
        NULL => 1,
        BOOL => 2,
        DATE => 5,
        INT | DOUBLE | TIMESTAMP => 9,
        DECIMAL => 18,
        // Text and bytes: up to their end mark, a zero then a zero (an escaped zero is followed
        // by 0xFF).
        _ => {
            let mut at = 1;
            loop {
                let zero = at + bytes[at..].iter().position(|&b| b == 0).expect("a checked row");
                if bytes[zero + 1] == 0 {
                    return zero + 2;
                }
                at = zero + 2;
            }
        }
    }
}

/// The bytes `value` packs into (exact but for the escapes of text and bytes).
fn packed_len(value: &Value) -> usize {
    1 + match value {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Int(_) | Value::Double(_) | Value::Timestamp(_) => 8,
        Value::Decimal(_) => 17,
        Value::Text(text) => text.len() + 2,
        Value::Bytes(bytes) => bytes.len() + 2,
        Value::Date(_) => 4,
    }
}

fn pack_value(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.push(NULL),
        Value::Bool(b) => out.extend_from_slice(&[BOOL, u8::from(*b)]),
        Value::Int(i) => {
            out.push(INT);
            out.extend_from_slice(&((*i as u64) ^ (1 << 63)).to_be_bytes());
        }
        Value::Double(d) => {
            out.push(DOUBLE);
            let bits = Double::new(d.get()).get().to_bits();
            let ordered = if bits >> 63 == 1 { !bits } else { bits ^ (1 << 63) };
            out.extend_from_slice(&ordered.to_be_bytes());
        }
        Value::Decimal(d) => {
            out.push(DECIMAL);
            out.extend_from_slice(&((d.units() as u128) ^ (1 << 127)).to_be_bytes());
            out.push(d.scale());
        }
        Value::Text(text) => pack_bytes(TEXT, text.as_bytes(), out),
        Value::Bytes(bytes) => pack_bytes(BYTES, bytes, out),
        Value::Date(date) => {
            out.push(DATE);
            out.extend_from_slice(&((date.0 as u32) ^ (1 << 31)).to_be_bytes());
        }
        Value::Timestamp(ts) => {
            out.push(TIMESTAMP);
            out.extend_from_slice(&((ts.0 as u64) ^ (1 << 63)).to_be_bytes());
        }
    }
}

fn pack_bytes(tag: u8, bytes: &[u8], out: &mut Vec<u8>) {
    out.push(tag);
    for chunk in bytes.split_inclusive(|&b| b == 0) {
        out.extend_from_slice(chunk);
        if chunk.last() == Some(&0) {
            out.push(0xFF);
        }
    }
    out.extend_from_slice(&[0, 0]);
}

/// The first value of `bytes` and the bytes after it; an error if they do not start with one.
fn unpack_value(bytes: &[u8]) -> Result<(Value, &[u8]), String> {
    let (&tag, rest) = bytes.split_first().ok_or("a packed row ends inside a value")?;
    match tag {
        NULL => Ok((Value::Null, rest)),
        BOOL => {
            let (b, rest) = fixed::<1>(rest)?;
            match b[0] {
                0 | 1 => Ok((Value::Bool(b[0] == 1), rest)),
                other => Err(format!("a packed boolean of byte {other}")),
            }
        }
        INT => fixed::<8>(rest).map(|(b, rest)| (Value::Int(signed(b)), rest)),
        DOUBLE => fixed::<8>(rest).map(|(b, rest)| {
            let ordered = u64::from_be_bytes(b);
            let bits = if ordered >> 63 == 1 { ordered ^ (1 << 63) } else { !ordered };
            (Value::double(f64::from_bits(bits)), rest)
        }),
        DECIMAL => {
            let (units, rest) = fixed::<16>(rest)?;
            let (scale, rest) = fixed::<1>(rest)?;
            let units = (u128::from_be_bytes(units) ^ (1 << 127)) as i128;
            let decimal = Decimal::new(units, scale[0])
                .ok_or_else(|| format!("a packed decimal of {units} units at scale {}", scale[0]))?;
            Ok((Value::Decimal(decimal), rest))
        }
        TEXT => {
            let (bytes, rest) = unpack_bytes(rest)?;
            let text = String::from_utf8(bytes).map_err(|_| "a packed text that is not UTF-8".to_string())?;
            Ok((Value::Text(text), rest))
        }
        BYTES => unpack_bytes(rest).map(|(bytes, rest)| (Value::Bytes(bytes), rest)),
        DATE => fixed::<4>(rest)
            .map(|(b, rest)| (Value::Date(Date((u32::from_be_bytes(b) ^ (1 << 31)) as i32)), rest)),
        TIMESTAMP => fixed::<8>(rest).map(|(b, rest)| (Value::Timestamp(Timestamp(signed(b))), rest)),
        other => Err(format!("a packed value of tag {other}")),
    }
}

fn fixed<const N: usize>(bytes: &[u8]) -> Result<([u8; N], &[u8]), String> {
    match bytes.split_first_chunk::<N>() {
        Some((head, rest)) => Ok((*head, rest)),
        None => Err("a packed row ends inside a value".to_string()),
    }
}

/// Escaped bytes up to their end mark, unescaped, and the bytes after the mark.
fn unpack_bytes(bytes: &[u8]) -> Result<(Vec<u8>, &[u8]), String> {
    let mut out = Vec::new();
    let mut rest = bytes;
    loop {
        let zero = rest.iter().position(|&b| b == 0).ok_or("a packed text or bytes value has no end")?;
        out.extend_from_slice(&rest[..zero]);
        match rest.get(zero + 1) {
            Some(0) => return Ok((out, &rest[zero + 2..])),
            Some(0xFF) => {
                out.push(0);
                rest = &rest[zero + 2..];
            }
            _ => return Err("a packed text or bytes value with a bad escape".to_string()),
        }
    }
}

impl Serialize for PackedRow {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for PackedRow {
    /// Checks the bytes: a damaged packed row fails to deserialize, never to unpack.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<PackedRow, D::Error> {
        struct Packed;
        impl<'de> Visitor<'de> for Packed {
            type Value = PackedRow;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("the bytes of a packed row")
            }

            fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<PackedRow, E> {
                PackedRow::check(bytes.to_vec()).map_err(E::custom)
            }

            fn visit_byte_buf<E: de::Error>(self, bytes: Vec<u8>) -> Result<PackedRow, E> {
                PackedRow::check(bytes).map_err(E::custom)
            }

            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<PackedRow, A::Error> {
                let mut bytes = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16));
                while let Some(byte) = seq.next_element()? {
                    bytes.push(byte);
                }
                PackedRow::check(bytes).map_err(de::Error::custom)
            }
        }
        deserializer.deserialize_bytes(Packed)
    }
}

#[cfg(test)]
mod tests {
    use std::hash::{BuildHasher, RandomState};

    use quickcheck::{Arbitrary, Gen, QuickCheck};

    use super::*;

    /// A value from a small range of each type, so that equal values and shared prefixes are
    /// common; text and bytes include `0x00` and `0xFF`.
    #[derive(Clone, Debug)]
    struct AnyValue(Value);

    impl Arbitrary for AnyValue {
        fn arbitrary(g: &mut Gen) -> AnyValue {
            let small = |g: &mut Gen| i64::from(i8::arbitrary(g) % 4);
            let value = match u8::arbitrary(g) % 11 {
                0 => Value::Null,
                1 => Value::Bool(bool::arbitrary(g)),
                2 => Value::Int(if bool::arbitrary(g) { small(g) } else { i64::arbitrary(g) }),
                3 => Value::double(
                    *g.choose(&[
                        0.0,
                        -0.0,
                        1.5,
                        -1.5,
                        f64::NAN,
                        -f64::NAN,
                        f64::INFINITY,
                        f64::NEG_INFINITY,
                        1e-300,
                    ])
                    .expect("not empty"),
                ),
                4 => Value::double(f64::arbitrary(g)),
                5 => Value::Decimal(
                    Decimal::new(i128::from(i64::arbitrary(g)) * i128::from(small(g)), u8::arbitrary(g) % 4)
                        .expect("within 38 digits"),
                ),
                6 => {
                    let chars = ['a', 'b', '\0', 'é'];
                    let len = usize::arbitrary(g) % 4;
                    Value::Text((0..len).map(|_| *g.choose(&chars).expect("not empty")).collect())
                }
                7 => {
                    let len = usize::arbitrary(g) % 4;
                    Value::Bytes((0..len).map(|_| *g.choose(&[0u8, 1, 0xFF]).expect("not empty")).collect())
                }
                8 => Value::Date(Date(i32::arbitrary(g))),
                9 => Value::Timestamp(Timestamp(small(g) - 1)),
                _ => Value::Timestamp(Timestamp(i64::arbitrary(g))),
            };
            AnyValue(value)
        }
    }

    fn row(values: &[AnyValue]) -> SqlRow {
        values.iter().map(|v| v.0.clone()).collect()
    }

    #[test]
    fn packed_rows_unpack_to_their_values_and_compare_as_they_do() {
        fn property(a: Vec<AnyValue>, b: Vec<AnyValue>) -> bool {
            let (a, b) = (row(&a), row(&b));
            let (pa, pb) = (PackedRow::pack(&a), PackedRow::pack(&b));
            let hashes = RandomState::new();
            pa.values() == a
                && pb.values() == b
                && pa.cmp(&pb) == a.cmp(&b)
                && (pa == pb) == (a == b)
                && (pa != pb || hashes.hash_one(&pa) == hashes.hash_one(&pb))
        }
        QuickCheck::new().tests(20_000).quickcheck(property as fn(Vec<AnyValue>, Vec<AnyValue>) -> bool);
    }

    /// A packed value's bytes order as the value does (the derived order `MIN` and `MAX` of a
    /// `reduce` take), and unpack to it.
    #[test]
    fn packed_values_order_and_unpack_as_their_values() {
        fn property(a: Vec<AnyValue>, b: Vec<AnyValue>) -> bool {
            let (a, b) = (row(&a), row(&b));
            let (pa, pb) = (PackedRow::pack(&a), PackedRow::pack(&b));
            pa.packed_values().zip(&a).all(|(x, v)| {
                x.value() == *v && pb.packed_values().zip(&b).all(|(y, w)| x.cmp(&y) == v.cmp(w))
            })
        }
        QuickCheck::new().tests(20_000).quickcheck(property as fn(Vec<AnyValue>, Vec<AnyValue>) -> bool);
    }

    #[test]
    fn packed_values_compare_as_sql_compares_their_values() {
        fn property(a: Vec<AnyValue>, b: Vec<AnyValue>) -> bool {
            let (a, b) = (row(&a), row(&b));
            let (pa, pb) = (PackedRow::pack(&a), PackedRow::pack(&b));
            pa.packed_values().count() == a.len()
                && pa.packed_values().zip(&a).all(|(packed, value)| packed.is_null() == value.is_null())
                && pa
                    .packed_values()
                    .zip(&a)
                    .all(|(x, v)| pb.packed_values().zip(&b).all(|(y, w)| x.sql_cmp(&y) == v.sql_cmp(w)))
        }
        QuickCheck::new().tests(20_000).quickcheck(property as fn(Vec<AnyValue>, Vec<AnyValue>) -> bool);
    }

    #[test]
    fn two_rows_packed_one_after_the_other_are_their_concatenation() {
        fn property(a: Vec<AnyValue>, b: Vec<AnyValue>) -> bool {
            let (a, b) = (row(&a), row(&b));
            let both: SqlRow = a.iter().chain(&b).cloned().collect();
            PackedRow::pack(&a).concat(&PackedRow::pack(&b)) == PackedRow::pack(&both)
        }
        QuickCheck::new().tests(2_000).quickcheck(property as fn(Vec<AnyValue>, Vec<AnyValue>) -> bool);
    }

    /// The values after the first `n` of a row packed whole are the rest of the row packed, and
    /// a row packed value by value (`try_pack_each`) is the row packed; the first error is
    /// the outcome where a value fails.
    #[test]
    fn the_values_after_a_prefix_are_the_rest_packed() {
        fn property(a: Vec<AnyValue>, b: Vec<AnyValue>) -> bool {
            let (a, b) = (row(&a), row(&b));
            let both: SqlRow = a.iter().chain(&b).cloned().collect();
            let each = PackedRow::try_pack_each(both.iter().map(|v| Ok::<_, ()>(Cow::Borrowed(v))));
            let packed = PackedRow::pack(&both);
            each.as_ref() == Ok(&packed)
                && packed.after(a.len()) == PackedRow::pack(&b)
                && packed.bytes_after(a.len()) == &PackedRow::pack(&b).0[..]
        }
        QuickCheck::new().tests(2_000).quickcheck(property as fn(Vec<AnyValue>, Vec<AnyValue>) -> bool);
        let failing = [Ok(Cow::Owned(Value::Int(1))), Err(1), Err(2)];
        assert_eq!(PackedRow::try_pack_each(failing.into_iter()), Err(1));
        // A row longer than the buffer keeps, then a short one (the buffer made again).
        for row in [vec![Value::Text("x".repeat(200_000)), Value::Int(3)], vec![Value::Int(4)]] {
            let each = PackedRow::try_pack_each(row.iter().map(|v| Ok::<_, ()>(Cow::Borrowed(v))));
            assert_eq!(each, Ok(PackedRow::pack(&row)));
        }
    }

    /// Columns picked from two packed rows are the packing of the same columns picked from the
    /// rows one after the other, in any order, repeated or left out.
    #[test]
    fn columns_picked_from_packed_rows_are_those_columns_packed() {
        fn property(a: Vec<AnyValue>, b: Vec<AnyValue>, picks: Vec<u8>) -> bool {
            let (a, b) = (row(&a), row(&b));
            let both: SqlRow = a.iter().chain(&b).cloned().collect();
            if both.is_empty() {
                return true;
            }
            let columns: Vec<usize> = picks.iter().map(|&p| usize::from(p) % both.len()).collect();
            let picked: SqlRow = columns.iter().map(|&c| both[c].clone()).collect();
            let mut bounds = Vec::new();
            PackedRow::pick(&[&PackedRow::pack(&a), &PackedRow::pack(&b)], &columns, &mut bounds)
                == PackedRow::pack(&picked)
        }
        QuickCheck::new()
            .tests(5_000)
            .quickcheck(property as fn(Vec<AnyValue>, Vec<AnyValue>, Vec<u8>) -> bool);
    }

    #[test]
    fn a_row_and_its_prefix_compare_as_vectors() {
        let long = vec![Value::Text("a".into()), Value::Null];
        let short = vec![Value::Text("a".into())];
        assert!(PackedRow::pack(&short) < PackedRow::pack(&long));
        assert!(PackedRow::pack(&[]) < PackedRow::pack(&short));
        let nul = vec![Value::Text("a\0".into())];
        assert!(PackedRow::pack(&short) < PackedRow::pack(&nul) && short < nul);
    }

    #[test]
    fn packed_rows_round_trip_through_serde_and_damaged_bytes_are_refused() {
        let row = vec![
            Value::Int(-3),
            Value::Text("x\0y".into()),
            Value::double(-0.0),
            Value::Bytes(vec![0, 0xFF]),
        ];
        let packed = PackedRow::pack(&row);
        let bytes = postcard::to_allocvec(&packed).expect("serializes");
        let back: PackedRow = postcard::from_bytes(&bytes).expect("deserializes");
        assert_eq!(back.values(), row);
        // A cut of the bytes deserializes only where it ends between two values.
        let ends: Vec<usize> = (0..=row.len()).map(|n| PackedRow::pack(&row[..n]).packed_len()).collect();
        for len in 0..packed.0.len() {
            let cut = postcard::to_allocvec(&serde_bytes_of(&packed.0[..len])).expect("serializes");
            let taken = postcard::from_bytes::<PackedRow>(&cut);
            assert_eq!(taken.is_ok(), ends.contains(&len), "{len} bytes");
        }
        let bad = postcard::to_allocvec(&serde_bytes_of(&[9])).expect("serializes");
        assert!(postcard::from_bytes::<PackedRow>(&bad).is_err());
        let bad_bool = postcard::to_allocvec(&serde_bytes_of(&[BOOL, 2])).expect("serializes");
        assert!(postcard::from_bytes::<PackedRow>(&bad_bool).is_err());
    }

    /// `bytes` serialized as a byte string, as a packed row is.
    fn serde_bytes_of(bytes: &[u8]) -> PackedRow {
        PackedRow(InlineBytes::copied(bytes))
    }

    #[test]
    fn a_packed_row_is_smaller_than_its_values() {
        let row = vec![
            Value::Int(1),
            Value::Int(2),
            Value::Int(3),
            Value::Timestamp(Timestamp(4)),
            Value::Text("x".into()),
        ];
        let packed = PackedRow::pack(&row);
        assert_eq!(packed.packed_len(), 4 * 9 + 1 + 1 + 2);
        assert!(
            packed.packed_len() + std::mem::size_of::<PackedRow>() < row.len() * std::mem::size_of::<Value>()
        );
    }
}
