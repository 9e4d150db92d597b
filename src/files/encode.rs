//! Rows encoded into Arrow arrays on the workers that hold them: each worker walks its share
//! at the read's time and pushes every row, by reference, into serde_arrow builders, so an
//! export neither copies the rows out of the arrangements nor encodes them on one thread.

use std::any::Any;
use std::sync::Arc;

use arrow_array::ArrayRef;
use serde_arrow::ArrayBuilder;

use crate::protocol::wire::Visitor;
use crate::shard::peek::{RowSink, SinkFactory};
use crate::time::Diff;

/// What one worker's sink answers: its rows as chunks of arrays (one per column), or the first
/// thing that stopped it.
pub(crate) struct Encoded {
    pub(crate) chunks: Vec<Vec<ArrayRef>>,
    /// A row held a negative number of times: its `Debug` form and multiplicity.
    pub(crate) negative: Option<(String, Diff)>,
    /// Why a row could not be encoded.
    pub(crate) error: Option<String>,
}

/// Makes the builders of the columns `P` describes.
pub(crate) type Make<P> = fn(&P) -> Result<Vec<ArrayBuilder>, String>;

/// Pushes one row (a key and a value) onto the builders of the columns `P` describes.
pub(crate) type Push<P, K, V> = fn(&P, &mut [ArrayBuilder], &K, &V) -> Result<(), String>;

/// A row's `Debug` form, for an error.
type Show<K, V> = fn(&K, &V) -> String;

/// How a sink lays out rows: the columns (`parts`) and the functions that build them.
pub(crate) struct Encoding<P, K, V> {
    pub(crate) parts: P,
    pub(crate) make: Make<P>,
    pub(crate) push: Push<P, K, V>,
    pub(crate) show: Show<K, V>,
}

/// The visitor of a source whose trace has keys `K` and values `V`, encoding rows as
/// `encoding` says, `rows_per_chunk` rows a chunk.
pub(crate) fn visitor<P: Send + Sync + 'static, K: 'static, V: 'static>(
    encoding: Encoding<P, K, V>,
    rows_per_chunk: usize,
) -> Visitor {
    let encoding = Arc::new(encoding);
    let factory: SinkFactory<K, V> = Arc::new(move || {
        let encoding = Arc::clone(&encoding);
        Box::new(ArrowSink { encoding, builders: None, rows: 0, rows_per_chunk, done: None })
    });
    Visitor(Arc::new(factory))
}

struct ArrowSink<P, K, V> {
    encoding: Arc<Encoding<P, K, V>>,
    /// Made at the first row (a worker with no rows makes none).
    builders: Option<Vec<ArrayBuilder>>,
    /// Rows in the builders.
    rows: usize,
    rows_per_chunk: usize,
    done: Option<Encoded>,
}

impl<P, K, V> ArrowSink<P, K, V> {
    fn encoded(&mut self) -> &mut Encoded {
        self.done.get_or_insert_with(|| Encoded { chunks: Vec::new(), negative: None, error: None })
    }

    fn failed(&self) -> bool {
        self.done.as_ref().is_some_and(|done| done.negative.is_some() || done.error.is_some())
    }

    /// The builders' rows as one chunk.
    fn cut(&mut self) {
        let Some(builders) = self.builders.as_mut() else { return };
        let mut arrays = Vec::new();
        for builder in builders.iter_mut() {
            match builder.to_arrow() {
                Ok(part) => arrays.extend(part),
                Err(error) => {
                    self.encoded().error = Some(error.to_string());
                    return;
                }
            }
        }
        self.rows = 0;
        self.encoded().chunks.push(arrays);
    }

    fn push_row(&mut self, key: &K, value: &V) -> Result<(), String> {
        if self.builders.is_none() {
            self.builders = Some((self.encoding.make)(&self.encoding.parts)?);
        }
        let builders = self.builders.as_deref_mut().unwrap_or_default();
        (self.encoding.push)(&self.encoding.parts, builders, key, value)?;
        self.rows += 1;
        if self.rows >= self.rows_per_chunk {
            self.cut();
        }
        Ok(())
    }
}

impl<P, K, V> RowSink<K, V> for ArrowSink<P, K, V> {
    fn push(&mut self, key: &K, value: &V, diff: Diff) {
        if self.failed() {
            return;
        }
        if diff < 0 {
            let shown = (self.encoding.show)(key, value);
            self.encoded().negative = Some((shown, diff));
            return;
        }
        for _ in 0..diff {
            if let Err(error) = self.push_row(key, value) {
                self.encoded().error = Some(error);
                return;
            }
        }
    }

    fn finish(mut self: Box<Self>) -> Box<dyn Any + Send> {
        if self.rows > 0 && !self.failed() {
            self.cut();
        }
        let encoded = self.encoded();
        Box::new(Encoded {
            chunks: std::mem::take(&mut encoded.chunks),
            negative: encoded.negative.take(),
            error: encoded.error.take(),
        })
    }
}
