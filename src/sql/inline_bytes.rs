//! A byte string kept in place when it is short, as a [`PackedRow`](crate::sql::PackedRow)
//! keeps its bytes.
//!
//! Most rows an SQL view arranges by are short: a group's key, a join's key, a window and an
//! auction (three integers, 27 bytes packed). Boxed, each is an allocation of its own, made at
//! every copy: when a row is taken into an arrangement, and again at each of the arrangement's
//! merges, which also follow the pointer at each comparison. Kept in place, a short row is
//! copied and compared where it lies. The type is 32 bytes, twice a box's 16: a long row costs
//! 16 bytes more, a short one saves its allocation (at least 16 bytes, with the allocator's
//! rounding) and the time to make and free it.
//!
//! A byte string is in place exactly when it is at most [`INLINE`] bytes long, so equal strings
//! are alike however they were made. Order, equality and hashing are those of the bytes, as a
//! `Box<[u8]>`'s are, so that routing by hash is unchanged.

use std::cmp::Ordering;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

/// The longest byte string kept in place.
pub(crate) const INLINE: usize = 30;

/// A byte string, in place if at most [`INLINE`] bytes long, else boxed.
#[derive(Clone)]
pub(crate) enum InlineBytes {
    /// The first `len` of `bytes`.
    Inline { len: u8, bytes: [u8; INLINE] },
    /// Longer than [`INLINE`].
    Boxed(Box<[u8]>),
}

const _: () = assert!(std::mem::size_of::<InlineBytes>() == 32);

impl InlineBytes {
    /// The bytes of `parts`, one after the other, which are `len` long in all.
    pub(crate) fn concat<'p>(len: usize, parts: impl IntoIterator<Item = &'p [u8]>) -> InlineBytes {
        if len <= INLINE {
            let mut bytes = [0; INLINE];
            let mut at = 0;
            for part in parts {
                bytes[at..at + part.len()].copy_from_slice(part);
                at += part.len();
            }
            debug_assert_eq!(at, len, "the parts are as long as said");
            InlineBytes::Inline { len: at as u8, bytes }
        } else {
            let mut bytes = Vec::with_capacity(len);
            parts.into_iter().for_each(|part| bytes.extend_from_slice(part));
            InlineBytes::Boxed(bytes.into_boxed_slice())
        }
    }

    /// The bytes of `bytes`, copied.
    pub(crate) fn copied(bytes: &[u8]) -> InlineBytes {
        InlineBytes::concat(bytes.len(), [bytes])
    }

    /// `bytes`, in place if short enough, else in their own allocation.
    pub(crate) fn from_vec(bytes: Vec<u8>) -> InlineBytes {
        if bytes.len() <= INLINE {
            InlineBytes::copied(&bytes)
        } else {
            InlineBytes::Boxed(bytes.into_boxed_slice())
        }
    }
}

impl Deref for InlineBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            InlineBytes::Inline { len, bytes } => &bytes[..usize::from(*len)],
            InlineBytes::Boxed(bytes) => bytes,
        }
    }
}

impl PartialEq for InlineBytes {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for InlineBytes {}

impl PartialOrd for InlineBytes {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for InlineBytes {
    fn cmp(&self, other: &Self) -> Ordering {
        (**self).cmp(&**other)
    }
}

impl Hash for InlineBytes {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (**self).hash(state);
    }
}

#[cfg(test)]
mod tests {
    use std::hash::{BuildHasher, RandomState};

    use quickcheck::QuickCheck;

    use super::*;

    #[test]
    fn byte_strings_compare_and_hash_as_their_boxed_bytes_and_are_in_place_when_short() {
        fn property(a: Vec<u8>, b: Vec<u8>, cut: usize) -> bool {
            let (x, y) = (InlineBytes::from_vec(a.clone()), InlineBytes::copied(&b));
            let cut = cut % (b.len() + 1);
            let joined = InlineBytes::concat(b.len(), [&b[..cut], &b[cut..]]);
            let hasher = RandomState::new();
            let in_place = |bytes: &InlineBytes, len: usize| {
                matches!(bytes, InlineBytes::Inline { .. }) == (len <= INLINE)
            };
            *x == a[..]
                && *y == b[..]
                && joined == y
                && x.cmp(&y) == a.cmp(&b)
                && (x == y) == (a == b)
                && hasher.hash_one(&x) == hasher.hash_one(a.into_boxed_slice())
                && in_place(&x, x.len())
                && in_place(&joined, b.len())
        }
        QuickCheck::new().tests(2000).quickcheck(property as fn(Vec<u8>, Vec<u8>, usize) -> bool);
    }
}
