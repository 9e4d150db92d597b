//! What the stored records hold, and the typed encoders and decoders of table rows.
//!
//! Payloads are postcard (a specified, compact serde encoding: varint integers, length-prefixed
//! sequences). A damaged length cannot make the decoder allocate much more than the record: a
//! sequence is filled as it decodes, from a capacity serde caps, and decoding stops at the
//! record's end. Row data is encoded by the table's own codec, which knows its Rust types; the
//! files only carry bytes and the row type's shape ([`crate::shape`]), checked on reopen.

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
