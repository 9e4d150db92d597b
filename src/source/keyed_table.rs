//! A keyed table: at most one value of `V` per key of `K`, arranged by key. Writes set a key's
//! value or remove it (`Transaction::upsert`, `delete_key`) without knowing the old value:
//! differential's `arrange_from_upsert` finds the value an upsert replaces. The log stores the
//! writes as `Vec<(K, Option<V>)>`, checkpoints the contents as `Vec<((K, V), Diff)>`.

use std::any::Any;
use std::marker::PhantomData;
use std::sync::Arc;

use differential_dataflow::operators::arrange::upsert::arrange_from_upsert;
use differential_dataflow::trace::implementations::{ValBuilder, ValSpine};

use crate::coordinator::commit::TableWrites;
use crate::error::Result;
use crate::persist::codec::{self, StoredKind, TableCodec, decode, decode_extend, encode_rows};
use crate::row::Row;
use crate::shard::input::{KeyedWrites, build, split_vec};
use crate::shard::kind::{Site, SourceKind};
use crate::shard::layout::KeyedTrace;
use crate::shard::registry::Shard;
use crate::time::{Diff, Time};

/// The kind of a keyed table from `K` to `V`.
pub(crate) struct KeyedTable<K, V>(PhantomData<fn() -> (K, V)>);

impl<K, V> KeyedTable<K, V> {
    pub(crate) fn new() -> Self {
        KeyedTable(PhantomData)
    }
}

impl<K: Row, V: Row> SourceKind for KeyedTable<K, V> {
    type Trace = KeyedTrace<K, V>;
    const NOUN: &'static str = "keyed table";

    fn build(&self, site: Site<'_>) -> Result<Shard> {
        let Site { worker, name, upper, since, history, .. } = site;
        let (input, arrangement) =
            build::<(K, Option<V>, Time), _>(worker, name, upper, since, history, |upserts| {
                arrange_from_upsert::<ValBuilder<K, V, Time, Diff>, ValSpine<K, V, Time, Diff>, K, V>(
                    upserts, name,
                )
                .trace
            });
        Ok(Shard { arrangement, input: Some(input), hub: None, reads: Default::default() })
    }

    fn stored(&self) -> Option<(StoredKind, &dyn TableCodec)> {
        Some((StoredKind::Keyed, self))
    }
}

/// A transaction's writes to one keyed table: the last write per key wins.
pub(crate) type KeyedUpserts<K, V> = hashbrown::HashMap<K, Option<V>>;

impl<K: Row, V: Row> TableWrites for KeyedUpserts<K, V> {
    fn len(&self) -> usize {
        hashbrown::HashMap::len(self)
    }

    fn bytes(&self) -> usize {
        hashbrown::HashMap::len(self) * std::mem::size_of::<(K, Option<V>, Time)>()
    }

    fn encode(&self) -> Vec<u8> {
        codec::encode(&self.iter().collect::<Vec<_>>())
    }

    fn split(self, parts: usize) -> Vec<Box<dyn Any + Send>> {
        let writes: KeyedWrites<K, V> = self.into_iter().map(|(k, v)| (k, v, 0)).collect();
        split_vec(writes, parts)
    }
}

/// Stored as `Vec<(K, Option<V>)>` writes and `Vec<((K, V), Diff)>` contents.
impl<K: Row, V: Row> TableCodec for KeyedTable<K, V> {
    fn decode_writes(&self, bytes: &[u8], time: Time, history: &mut dyn Any) -> Result<(), String> {
        let history = history.downcast_mut::<KeyedWrites<K, V>>().expect("history matches the table type");
        decode_extend(bytes, history, |(key, value): (K, Option<V>)| (key, value, time))
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

    fn len(&self, history: &dyn Any) -> usize {
        history.downcast_ref::<KeyedWrites<K, V>>().expect("history matches the table type").len()
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
    use crate::persist::codec::encode;

    #[test]
    fn contents_are_consolidated_whatever_the_history_still_separates() {
        // A key that changed value at 1 and 2, not merged yet: its contents are the new value.
        let history: Arc<dyn Any + Send + Sync> =
            Arc::new(vec![((1u32, 10u32), 1u64, 1isize), ((1, 10), 2, -1), ((1, 20), 2, 1), ((2, 5), 1, 1)]);
        let codec = KeyedTable::<u32, u32>::new();
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
        let codec = KeyedTable::<u32, u32>::new();
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
        let codec = KeyedTable::<u32, String>::new();
        let mut history = codec.empty_history();
        let bytes = encode(&vec![(1u32, Some("a".to_string())), (2, None)]);
        codec.decode_writes(&bytes, 5, history.as_mut()).unwrap();
        let history = history.downcast::<KeyedWrites<u32, String>>().unwrap();
        assert_eq!(*history, vec![(1, Some("a".to_string()), 5), (2, None, 5)]);
    }
}
