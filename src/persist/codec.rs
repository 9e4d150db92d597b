//! What the stored records hold, and the typed encoders and decoders of table rows.
//!
//! Payloads are bincode (fixed-width integers, a size limit equal to the record's length, so a
//! damaged record can never make the decoder allocate more than the record itself). Row data is
//! encoded by the table's own codec, which knows its Rust types; the files only carry bytes and
//! the row type's name, checked on reopen.

use std::any::Any;
use std::marker::PhantomData;
use std::sync::Arc;

use bincode::Options;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::row::Row;
use crate::runtime::table_input::{BagWrites, KeyedWrites, split_vec};
use crate::time::{Diff, Time};

/// The bincode configuration of every payload, bounded by `limit` bytes when decoding.
fn options(limit: u64) -> impl Options {
    bincode::DefaultOptions::new().with_fixint_encoding().with_limit(limit)
}

/// Encodes a payload.
pub(crate) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    options(u64::MAX).serialize(value).expect("in-memory serialization of plain data does not fail")
}

/// Decodes a payload, never allocating more than its length.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    options(bytes.len() as u64 + 64).deserialize(bytes).map_err(|e| e.to_string())
}

/// One committed transaction in the log.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct LogRecord {
    pub(crate) time: Time,
    /// The writes to each table, encoded by the table's codec.
    pub(crate) writes: Vec<(String, Vec<u8>)>,
}

/// Which kind of table a stored name holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum StoredKind {
    Bag,
    Keyed,
}

impl StoredKind {
    /// The word users read in error messages (as the catalog's kinds say it).
    pub(crate) fn noun(self) -> &'static str {
        match self {
            StoredKind::Bag => "table",
            StoredKind::Keyed => "keyed table",
        }
    }
}

/// A table as the manifest records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredTable {
    pub(crate) name: String,
    pub(crate) kind: StoredKind,
    /// `std::any::type_name` of the row type (`(K, V)` for keyed tables).
    pub(crate) row_type: String,
}

/// The first record of a checkpoint file.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct CheckpointHeader {
    /// Tables' contents are consolidated as of this time.
    pub(crate) time: Time,
    /// How many chunk records follow.
    pub(crate) chunks: u64,
}

/// A piece of one table's contents in a checkpoint.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct CheckpointChunk {
    pub(crate) table: String,
    /// `Vec<(row, diff)>`, encoded by the table's codec.
    pub(crate) rows: Vec<u8>,
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
fn encode_rows<R: Row>(rows: &Arc<dyn Any + Send + Sync>, chunk: usize) -> Vec<Vec<u8>> {
    let rows = rows.downcast_ref::<Vec<(R, Time, Diff)>>().expect("contents match the table type");
    let mut contents: Vec<(&R, Diff)> = rows.iter().map(|(row, _, diff)| (row, *diff)).collect();
    differential_dataflow::consolidation::consolidate(&mut contents);
    contents.chunks(chunk.max(1)).map(|piece| encode(&piece)).collect()
}

/// The codec of bag tables of `T`: writes are `Vec<(T, Diff)>`.
pub(crate) struct BagCodec<T>(PhantomData<fn() -> T>);

impl<T> BagCodec<T> {
    pub(crate) fn new() -> Self {
        BagCodec(PhantomData)
    }
}

impl<T: Row> TableCodec for BagCodec<T> {
    fn decode_writes(&self, bytes: &[u8], time: Time, history: &mut dyn Any) -> Result<(), String> {
        let writes: Vec<(T, Diff)> = decode(bytes)?;
        let history = history.downcast_mut::<BagWrites<T>>().expect("history matches the table type");
        history.extend(writes.into_iter().map(|(row, diff)| (row, time, diff)));
        Ok(())
    }

    fn decode_contents(&self, bytes: &[u8], time: Time, history: &mut dyn Any) -> Result<(), String> {
        self.decode_writes(bytes, time, history)
    }

    fn encode_contents(&self, rows: &Arc<dyn Any + Send + Sync>, chunk: usize) -> Vec<Vec<u8>> {
        encode_rows::<T>(rows, chunk)
    }

    fn empty_history(&self) -> Box<dyn Any + Send> {
        Box::new(BagWrites::<T>::new())
    }

    fn split(&self, history: Box<dyn Any + Send>, parts: usize) -> Vec<Box<dyn Any + Send>> {
        split_vec(*history.downcast::<BagWrites<T>>().expect("history matches the table type"), parts)
    }

    fn advance(&self, history: &mut dyn Any, since: Time) {
        let history = history.downcast_mut::<BagWrites<T>>().expect("history matches the table type");
        for update in history.iter_mut() {
            update.1 = update.1.max(since);
        }
    }

    fn decode_rows(&self, pieces: &[(bool, Time, &[u8])]) -> Result<Arc<dyn Any + Send + Sync>, String> {
        let mut rows: Vec<(T, Time, Diff)> = Vec::new();
        for (_, time, bytes) in pieces {
            let writes: Vec<(T, Diff)> = decode(bytes)?;
            rows.extend(writes.into_iter().map(|(row, diff)| (row, *time, diff)));
        }
        Ok(Arc::new(rows))
    }
}

/// The codec of keyed tables: writes are `Vec<(K, Option<V>)>`, contents `Vec<((K, V), Diff)>`.
pub(crate) struct KeyedCodec<K, V>(PhantomData<fn() -> (K, V)>);

impl<K, V> KeyedCodec<K, V> {
    pub(crate) fn new() -> Self {
        KeyedCodec(PhantomData)
    }
}

impl<K: Row, V: Row> TableCodec for KeyedCodec<K, V> {
    fn decode_writes(&self, bytes: &[u8], time: Time, history: &mut dyn Any) -> Result<(), String> {
        let writes: Vec<(K, Option<V>)> = decode(bytes)?;
        let history = history.downcast_mut::<KeyedWrites<K, V>>().expect("history matches the table type");
        history.extend(writes.into_iter().map(|(key, value)| (key, value, time)));
        Ok(())
    }

    fn decode_contents(&self, bytes: &[u8], time: Time, history: &mut dyn Any) -> Result<(), String> {
        let pairs: Vec<((K, V), Diff)> = decode(bytes)?;
        let history = history.downcast_mut::<KeyedWrites<K, V>>().expect("history matches the table type");
        for ((key, value), diff) in pairs {
            if diff != 1 {
                return Err(format!("a keyed table's contents hold {key:?} with multiplicity {diff}"));
            }
            history.push((key, Some(value), time));
        }
        Ok(())
    }

    fn encode_contents(&self, rows: &Arc<dyn Any + Send + Sync>, chunk: usize) -> Vec<Vec<u8>> {
        encode_rows::<(K, V)>(rows, chunk)
    }

    fn empty_history(&self) -> Box<dyn Any + Send> {
        Box::new(KeyedWrites::<K, V>::new())
    }

    fn split(&self, history: Box<dyn Any + Send>, parts: usize) -> Vec<Box<dyn Any + Send>> {
        split_vec(*history.downcast::<KeyedWrites<K, V>>().expect("history matches the table type"), parts)
    }

    fn advance(&self, history: &mut dyn Any, since: Time) {
        let history = history.downcast_mut::<KeyedWrites<K, V>>().expect("history matches the table type");
        // Upserts of one key at one time have no order, so of the writes at or before `since`
        // only each key's last one may move to `since`; the earlier ones are replaced by it.
        let mut last: std::collections::BTreeMap<K, (Time, usize)> = std::collections::BTreeMap::new();
        for (index, (key, _, time)) in history.iter().enumerate() {
            if *time <= since {
                let entry = last.entry(key.clone()).or_insert((*time, index));
                if *time >= entry.0 {
                    *entry = (*time, index);
                }
            }
        }
        let keep: std::collections::BTreeSet<usize> = last.values().map(|(_, index)| *index).collect();
        let mut index = 0;
        history.retain(|(_, _, time)| {
            let kept = *time > since || keep.contains(&index);
            index += 1;
            kept
        });
        for upsert in history.iter_mut() {
            upsert.2 = upsert.2.max(since);
        }
    }

    fn decode_rows(&self, pieces: &[(bool, Time, &[u8])]) -> Result<Arc<dyn Any + Send + Sync>, String> {
        let mut current: std::collections::BTreeMap<K, V> = std::collections::BTreeMap::new();
        let mut rows: Vec<((K, V), Time, Diff)> = Vec::new();
        let mut set = |key: K, value: Option<V>, time: Time, rows: &mut Vec<((K, V), Time, Diff)>| {
            if let Some(old) = current.remove(&key) {
                rows.push(((key.clone(), old), time, -1));
            }
            if let Some(value) = value {
                rows.push(((key.clone(), value.clone()), time, 1));
                current.insert(key, value);
            }
        };
        for (contents, time, bytes) in pieces {
            if *contents {
                let pairs: Vec<((K, V), Diff)> = decode(bytes)?;
                for ((key, value), diff) in pairs {
                    if diff != 1 {
                        return Err(format!(
                            "a keyed table's contents hold {key:?} with multiplicity {diff}"
                        ));
                    }
                    set(key, Some(value), *time, &mut rows);
                }
            } else {
                let writes: Vec<(K, Option<V>)> = decode(bytes)?;
                for (key, value) in writes {
                    set(key, value, *time, &mut rows);
                }
            }
        }
        differential_dataflow::consolidation::consolidate_updates(&mut rows);
        Ok(Arc::new(rows))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_records_round_trip() {
        let record = LogRecord { time: 7, writes: vec![("t".into(), encode(&vec![(1u32, 1isize)]))] };
        let back: LogRecord = decode(&encode(&record)).unwrap();
        assert_eq!(back.time, 7);
        let rows: Vec<(u32, isize)> = decode(&back.writes[0].1).unwrap();
        assert_eq!(rows, vec![(1, 1)]);
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

    #[test]
    fn contents_are_consolidated_whatever_the_history_still_separates() {
        // A key that changed value at 1 and 2, not merged yet: its contents are the new value.
        let history: Arc<dyn Any + Send + Sync> =
            Arc::new(vec![((1u32, 10u32), 1u64, 1isize), ((1, 10), 2, -1), ((1, 20), 2, 1), ((2, 5), 1, 1)]);
        let codec = KeyedCodec::<u32, u32>::new();
        let chunks = codec.encode_contents(&history, 100);
        let mut restored = codec.empty_history();
        for chunk in &chunks {
            codec.decode_contents(chunk, 3, restored.as_mut()).unwrap();
        }
        let restored = restored.downcast::<KeyedWrites<u32, u32>>().unwrap();
        assert_eq!(*restored, vec![(1, Some(20), 3), (2, Some(5), 3)]);
    }

    #[test]
    fn advancing_a_keyed_history_keeps_each_keys_last_write() {
        let codec = KeyedCodec::<u32, u32>::new();
        let mut history: Box<dyn Any + Send> = Box::new(vec![
            (1u32, Some(9u32), 1u64),
            (1, Some(3), 2),
            (2, Some(7), 2),
            (2, None, 3),
            (1, Some(5), 6),
        ]);
        codec.advance(history.as_mut(), 4);
        let history = history.downcast::<KeyedWrites<u32, u32>>().unwrap();
        assert_eq!(*history, vec![(1, Some(3), 4), (2, None, 4), (1, Some(5), 6)]);
    }

    #[test]
    fn keyed_writes_decode_into_upserts() {
        let codec = KeyedCodec::<u32, String>::new();
        let mut history = codec.empty_history();
        let bytes = encode(&vec![(1u32, Some("a".to_string())), (2, None)]);
        codec.decode_writes(&bytes, 5, history.as_mut()).unwrap();
        let history = history.downcast::<KeyedWrites<u32, String>>().unwrap();
        assert_eq!(*history, vec![(1, Some("a".to_string()), 5), (2, None, 5)]);
    }
}
