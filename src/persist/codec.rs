//! What the stored records hold, and the typed encoders and decoders of table rows.
//!
//! Payloads are postcard (a specified, compact serde encoding: varint integers, length-prefixed
//! sequences). Every record is checked (`frame.rs`) before it is decoded, and even a damaged
//! length cannot make the decoder allocate without bound: a sequence is filled as it decodes,
//! from a capacity serde caps, or ([`decode_extend`]) at most one element per byte of the
//! record, and decoding stops at the record's end. Row data is encoded by the table's own
//! codec, which knows its Rust types; the files only carry bytes and the row type's shape
//! ([`crate::shape`]), checked on reopen.

use std::any::Any;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::row::Row;
use crate::time::{Diff, Time};

/// Encodes a payload.
pub(crate) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    postcard::to_allocvec(value).expect("in-memory serialization of plain data does not fail")
}

/// Decodes a payload, which must be all of `bytes` (a `T` may borrow from them).
pub(crate) fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, String> {
    match postcard::take_from_bytes(bytes) {
        Ok((value, [])) => Ok(value),
        Ok((_, rest)) => Err(format!("{} bytes left over after the value", rest.len())),
        Err(e) => Err(e.to_string()),
    }
}

/// Decodes a payload that must be all of `bytes`, a sequence of `E` as [`encode`] wrote a
/// `Vec<E>`, appending `map(e)` to `out` for each element: the elements go straight into `out`,
/// with no vector of their own on the way. `out` is reserved for the sequence's length, at
/// most one element per byte of `bytes`. On an error, `out` may hold some of the elements.
pub(crate) fn decode_extend<'a, E: Deserialize<'a>, O>(
    bytes: &'a [u8],
    out: &mut Vec<O>,
    map: impl FnMut(E) -> O,
) -> Result<(), String> {
    let mut deserializer = postcard::Deserializer::from_bytes(bytes);
    let seed = Extend { out, map, most: bytes.len(), element: std::marker::PhantomData };
    serde::de::DeserializeSeed::deserialize(seed, &mut deserializer).map_err(|e| e.to_string())?;
    match deserializer.finalize() {
        Ok([]) => Ok(()),
        Ok(rest) => Err(format!("{} bytes left over after the value", rest.len())),
        Err(e) => Err(e.to_string()),
    }
}

/// [`decode_extend`]'s visitor of the sequence.
struct Extend<'o, E, O, F> {
    out: &'o mut Vec<O>,
    map: F,
    /// The most elements the sequence can hold.
    most: usize,
    element: std::marker::PhantomData<fn() -> E>,
}

impl<'de, E: Deserialize<'de>, O, F: FnMut(E) -> O> serde::de::DeserializeSeed<'de> for Extend<'_, E, O, F> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, E: Deserialize<'de>, O, F: FnMut(E) -> O> serde::de::Visitor<'de> for Extend<'_, E, O, F> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a sequence")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        self.out.reserve(seq.size_hint().unwrap_or(0).min(self.most));
        while let Some(element) = seq.next_element::<E>()? {
            self.out.push((self.map)(element));
        }
        Ok(())
    }
}

/// One committed transaction in the log.
///
/// The table's bytes are a borrowed slice both ways. Postcard writes a `&[u8]` exactly as it
/// writes a `Vec<u8>` (a varint length, then the bytes), but serde visits a `Vec<u8>` one byte
/// at a time, where a slice is copied in one piece when encoding and borrowed from the file's
/// buffer when decoding.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct LogRecord<'a> {
    pub(crate) time: Time,
    /// The writes to each table, encoded by the table's codec.
    #[serde(borrow)]
    pub(crate) writes: Vec<(&'a str, &'a [u8])>,
}

/// Which kind of table a stored name holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum StoredKind {
    Bag,
    Keyed,
    /// A bag whose rows are not kept in memory: stored like `Bag`, recovered by nobody (views
    /// read its history from the files). Added last: the manifest stores the variant's index.
    Streamed,
}

impl StoredKind {
    /// The word users read in error messages (as the catalog's kinds say it).
    pub(crate) fn noun(self) -> &'static str {
        match self {
            StoredKind::Bag => "table",
            StoredKind::Keyed => "keyed table",
            StoredKind::Streamed => "streamed table",
        }
    }
}

/// A table as the manifest records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredTable {
    pub(crate) name: String,
    pub(crate) kind: StoredKind,
    /// The shape of the row type (`(K, V)` for keyed tables), see [`crate::shape`].
    pub(crate) row_shape: String,
}

/// The first record of a checkpoint file.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct CheckpointHeader {
    /// Tables' contents are consolidated as of this time.
    pub(crate) time: Time,
    /// How many chunk records follow.
    pub(crate) chunks: u64,
}

/// A piece of one table's contents in a checkpoint (borrowed both ways, as [`LogRecord`]).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct CheckpointChunk<'a> {
    pub(crate) table: &'a str,
    /// `Vec<(row, diff)>`, encoded by the table's codec.
    pub(crate) rows: &'a [u8],
}

/// The typed side of storing one table: encoding its writes and contents, and rebuilding its
/// history (the table's write type, with times) from what was stored.
pub(crate) trait TableCodec: Send + Sync {
    /// Appends the writes of one log record (made at `time`) to `history`.
    fn decode_writes(&self, bytes: &[u8], time: Time, history: &mut dyn Any) -> Result<(), String>;
    /// Appends a checkpoint chunk (contents as of `time`) to `history`.
    fn decode_contents(&self, bytes: &[u8], time: Time, history: &mut dyn Any) -> Result<(), String>;
    /// Encodes contents given as `Vec<(row, time, diff)>` (times are dropped) in chunks of at most
    /// `chunk` rows.
    fn encode_contents(&self, rows: &Arc<dyn Any + Send + Sync>, chunk: usize) -> Vec<Vec<u8>>;
    /// An empty history of this table's write type (`BagWrites` or `KeyedWrites`).
    fn empty_history(&self) -> Box<dyn Any + Send>;
    /// How many writes `history` (of this table's write type) holds.
    fn len(&self, history: &dyn Any) -> usize;
    /// Rebuilds the table's rows as `Vec<(row, time, diff)>` from stored pieces in time order,
    /// each `(is contents, time, bytes)`: keyed upserts become the row changes they cause.
    fn decode_rows(&self, pieces: &[(bool, Time, &[u8])]) -> Result<Arc<dyn Any + Send + Sync>, String>;
    /// Advances the times of `history` before `since` to `since`, keeping what it sums to at
    /// every time from `since` on (for keyed tables: only the last write of each key by then).
    fn advance(&self, history: &mut dyn Any, since: Time);
    /// Splits a history into at most `parts` shares, one per worker.
    fn split(&self, history: Box<dyn Any + Send>, parts: usize) -> Vec<Box<dyn Any + Send>>;
}

/// Encodes a history `Vec<(R, Time, Diff)>` as the contents it sums to, in chunks of
/// `Vec<(R, Diff)>`: one entry per row, no zeros. (The history may still hold a row at several
/// times that its trace has not merged yet.)
pub(crate) fn encode_rows<R: Row>(rows: &Arc<dyn Any + Send + Sync>, chunk: usize) -> Vec<Vec<u8>> {
    let rows = rows.downcast_ref::<Vec<(R, Time, Diff)>>().expect("contents match the table type");
    let mut contents: Vec<(&R, Diff)> = rows.iter().map(|(row, _, diff)| (row, *diff)).collect();
    differential_dataflow::consolidation::consolidate(&mut contents);
    contents.chunks(chunk.max(1)).map(|piece| encode(&piece)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_extend_appends_what_decode_gives_and_refuses_what_it_refuses() {
        fn property(rows: Vec<(String, isize)>, before: Vec<(String, u64, isize)>, cut: usize) -> bool {
            let bytes = encode(&rows);
            let mut out = before.clone();
            decode_extend(&bytes, &mut out, |(row, diff): (String, isize)| (row, 9, diff)).unwrap();
            let expected: Vec<_> = before
                .iter()
                .cloned()
                .chain(rows.iter().map(|(row, diff)| (row.clone(), 9, *diff)))
                .collect();
            // A cut or lengthened payload fails exactly when `decode` does.
            let cut = &bytes[..cut % (bytes.len() + 1)];
            let mut longer = bytes.clone();
            longer.push(0);
            let agree = |bytes: &[u8]| {
                let whole: Result<Vec<(String, isize)>, String> = decode(bytes);
                whole.is_ok() == decode_extend(bytes, &mut Vec::new(), |row: (String, isize)| row).is_ok()
            };
            out == expected && agree(cut) && agree(&longer)
        }
        quickcheck::QuickCheck::new().quickcheck(property as fn(_, _, usize) -> bool);
    }

    #[test]
    fn log_records_round_trip() {
        let rows = encode(&vec![(1u32, 1isize)]);
        let record = LogRecord { time: 7, writes: vec![("t", &rows)] };
        let encoded = encode(&record);
        let back: LogRecord = decode(&encoded).unwrap();
        assert_eq!(back.time, 7);
        let rows: Vec<(u32, isize)> = decode(back.writes[0].1).unwrap();
        assert_eq!(rows, vec![(1, 1)]);
    }

    /// The records as format 2 first wrote them, with owned strings and byte vectors.
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct OwnedLogRecord {
        time: Time,
        writes: Vec<(String, Vec<u8>)>,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct OwnedCheckpointChunk {
        table: String,
        rows: Vec<u8>,
    }

    /// Files written before the records borrowed their bytes read the same, and the other
    /// way round: the slices changed how serde visits the bytes, not the bytes on disk.
    #[test]
    fn borrowed_records_are_the_owned_records_bytes() {
        let (a, b) = (vec![0u8, 1, 255, 128, 7], (0..=255u8).cycle().take(1000).collect::<Vec<u8>>());
        let owned =
            OwnedLogRecord { time: 300, writes: vec![("t".into(), a.clone()), ("u".into(), b.clone())] };
        let borrowed = LogRecord { time: 300, writes: vec![("t", &a), ("u", &b)] };
        let bytes = encode(&owned);
        assert_eq!(bytes, encode(&borrowed));
        let back: LogRecord = decode(&bytes).unwrap();
        assert_eq!(back.writes, vec![("t", a.as_slice()), ("u", b.as_slice())]);
        // Decoded in place: the rows are a slice of the record, not a copy.
        assert!(bytes.as_ptr_range().contains(&back.writes[1].1.as_ptr()));

        let chunk = OwnedCheckpointChunk { table: "t".into(), rows: b.clone() };
        let bytes = encode(&chunk);
        assert_eq!(bytes, encode(&CheckpointChunk { table: "t", rows: &b }));
        let back: CheckpointChunk = decode(&bytes).unwrap();
        assert_eq!((back.table, back.rows), ("t", b.as_slice()));
        assert_eq!(decode::<OwnedCheckpointChunk>(&encode(&back)).unwrap(), chunk);
    }

    #[test]
    fn arbitrary_bytes_never_panic_or_overallocate() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        for len in 0..300usize {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed as u8
                })
                .collect();
            let _ = decode::<LogRecord>(&bytes);
            let _ = decode::<Vec<(String, Option<u64>)>>(&bytes);
            let _ = decode::<CheckpointHeader>(&bytes);
        }
    }
}
