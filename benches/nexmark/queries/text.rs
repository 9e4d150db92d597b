//! Shared text: a string that an arrangement can copy without allocating.
//!
//! Differential dataflow's arrangements copy their records each time they merge batches, and
//! each copy of a `String` is an allocation and a memcpy. Queries that keep a bid's text in an
//! arrangement of all bids (q7, q9) hold it as [`Text`], an `Arc<str>`: a copy bumps a count.
//! Measured on q7's first step at 1M events with glibc's allocator (before the harness moved to
//! mimalloc), keeping `extra` as a `String` took 4.1× as long as keeping no text at all, and as
//! a `Text` 2.7×: its remaining cost is one allocation when the row is mapped, and a count
//! update per copy.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An immutable string whose clones share one allocation; serialized as a plain string.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Text(Arc<str>);

impl Text {
    /// The text, as an owned `String` (for output rows).
    pub fn to_owned_string(&self) -> String {
        self.0.to_string()
    }
}

impl From<String> for Text {
    fn from(text: String) -> Self {
        Text(text.into())
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl Serialize for Text {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Text::from)
    }
}
