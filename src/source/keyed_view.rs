//! A keyed view: the `(key, value)` rows its definition returns, arranged by key, so that reads
//! of one key or a range of keys seek instead of scanning.

use crate::definition::Definition;
use crate::error::Result;
use crate::row::Row;
use crate::shard::kind::{Site, SourceKind};
use crate::shard::layout::KeyedTrace;
use crate::shard::registry::Shard;
use crate::shard::sorted_runs::arrange_keyed;

/// The kind of a keyed view from `K` to `V`; holds the view's definition.
pub(crate) struct KeyedView<K: 'static, V: 'static> {
    pub(crate) definition: Definition<(K, V)>,
}

impl<K: Row, V: Row> KeyedView<K, V> {
    pub(crate) fn new(definition: Definition<(K, V)>) -> Self {
        KeyedView { definition }
    }
}

impl<K: Row, V: Row> SourceKind for KeyedView<K, V> {
    type Trace = KeyedTrace<K, V>;
    const NOUN: &'static str = "keyed view";

    fn build(&self, site: Site<'_>) -> Result<Shard> {
        super::view_dataflow::build(site, |views, name| arrange_keyed(self.definition.build(views), name))
    }
}
