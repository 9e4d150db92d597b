//! Record framing for every file the engine writes: a file header, then checksummed records.
//!
//! ```text
//! file   := magic (8 bytes) version (u32 LE) record*
//! record := len (u32 LE) crc32(len) (u32 LE) crc32(payload) (u32 LE) payload (len bytes)
//! ```
//!
//! The length has its own checksum so that a damaged length is told apart from a torn append:
//! a record whose header is intact but whose payload runs past the end of the file was being
//! appended when the process died (torn: never acknowledged, dropped). A record that is complete
//! but fails its checksum, or a damaged header, is corruption and is reported with the file and
//! offset, never skipped.

use std::path::Path;

use crate::error::Error;

/// Bytes before the first record.
pub(crate) const FILE_HEADER: usize = 12;
/// Bytes before a record's payload.
pub(crate) const RECORD_HEADER: usize = 12;
/// The on-disk format version this build writes and reads.
///
/// 1: ivm 0.1.0 before December 2026: bincode payloads, row types named by
/// `std::any::type_name`. 2: postcard payloads, row types named by their shape.
pub(crate) const VERSION: u32 = 2;
/// The largest record payload accepted (a bound on what a damaged length can make us allocate).
pub(crate) const MAX_RECORD: usize = 1 << 30;

/// The header of a file of `magic` kind.
pub(crate) fn file_header(magic: &[u8; 8]) -> [u8; FILE_HEADER] {
    let mut header = [0u8; FILE_HEADER];
    header[..8].copy_from_slice(magic);
    header[8..].copy_from_slice(&VERSION.to_le_bytes());
    header
}

/// Appends one framed record holding `payload` to `out`.
pub(crate) fn frame(payload: &[u8], out: &mut Vec<u8>) {
    let len = u32::try_from(payload.len()).expect("records are below MAX_RECORD");
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&len.to_le_bytes()).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// How a file's records end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tail {
    /// The last record ends exactly at the end of the file.
    Clean,
    /// The file ends inside a record being appended, which starts at this offset.
    Torn(u64),
}

/// The records of one file.
#[derive(Debug)]
pub(crate) struct Records<'a> {
    /// Each record's offset in the file and its payload.
    pub(crate) records: Vec<(u64, &'a [u8])>,
    pub(crate) tail: Tail,
}

/// Splits `bytes` (a whole file of `magic` kind at `path`) into its records.
///
/// A file too short to hold its header is torn at 0 (it was being created). Anything else that
/// does not check out is `Error::Corrupted` naming the file and offset.
pub(crate) fn read<'a>(path: &Path, magic: &[u8; 8], bytes: &'a [u8]) -> Result<Records<'a>, Error> {
    let corrupted = |offset: usize, reason: &str| Error::Corrupted {
        file: path.to_path_buf(),
        offset: offset as u64,
        reason: reason.to_string(),
    };
    if bytes.len() < FILE_HEADER {
        if file_header(magic).starts_with(bytes) {
            return Ok(Records { records: Vec::new(), tail: Tail::Torn(0) });
        }
        return Err(corrupted(0, "damaged file header"));
    }
    if &bytes[..8] != magic {
        return Err(corrupted(0, "not a file of this kind (wrong magic bytes)"));
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if version != VERSION {
        return Err(Error::IncompatibleFormat {
            file: path.to_path_buf(),
            found: version,
            supported: VERSION,
        });
    }
    let mut records = Vec::new();
    let mut at = FILE_HEADER;
    while at < bytes.len() {
        if bytes.len() - at < RECORD_HEADER {
            return Ok(Records { records, tail: Tail::Torn(at as u64) });
        }
        let word = |i: usize| u32::from_le_bytes(bytes[at + i..at + i + 4].try_into().expect("4 bytes"));
        let (len, len_crc, crc) = (word(0), word(4), word(8));
        if crc32fast::hash(&len.to_le_bytes()) != len_crc {
            return Err(corrupted(at, "damaged record header"));
        }
        let len = len as usize;
        if len > MAX_RECORD {
            return Err(corrupted(at, "record longer than any this engine writes"));
        }
        let start = at + RECORD_HEADER;
        if bytes.len() - start < len {
            return Ok(Records { records, tail: Tail::Torn(at as u64) });
        }
        let payload = &bytes[start..start + len];
        if crc32fast::hash(payload) != crc {
            return Err(corrupted(at, "record checksum mismatch"));
        }
        records.push((at as u64, payload));
        at = start + len;
    }
    Ok(Records { records, tail: Tail::Clean })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    const MAGIC: &[u8; 8] = b"IVMTEST\0";

    fn file(payloads: &[&[u8]]) -> Vec<u8> {
        let mut bytes = file_header(MAGIC).to_vec();
        for payload in payloads {
            frame(payload, &mut bytes);
        }
        bytes
    }

    fn payloads(bytes: &[u8]) -> Result<(Vec<Vec<u8>>, Tail), Error> {
        let records = read(&PathBuf::from("f"), MAGIC, bytes)?;
        Ok((records.records.iter().map(|(_, p)| p.to_vec()).collect(), records.tail))
    }

    #[test]
    fn records_round_trip() {
        let bytes = file(&[b"one", b"", b"three"]);
        let (got, tail) = payloads(&bytes).unwrap();
        assert_eq!(got, vec![b"one".to_vec(), vec![], b"three".to_vec()]);
        assert_eq!(tail, Tail::Clean);
    }

    #[test]
    fn every_truncation_is_a_torn_prefix() {
        let bytes = file(&[b"alpha", b"beta", b"gamma"]);
        let full = payloads(&bytes).unwrap().0;
        for cut in 0..bytes.len() {
            let (got, tail) = payloads(&bytes[..cut]).unwrap();
            assert!(full.starts_with(&got), "cut {cut}");
            assert!(
                matches!(tail, Tail::Torn(_)) || got.len() < full.len() || cut == bytes.len(),
                "cut {cut}"
            );
        }
    }

    #[test]
    fn every_flipped_byte_is_detected() {
        let bytes = file(&[b"alpha", b"beta", b"gamma"]);
        let full = payloads(&bytes).unwrap().0;
        for at in 0..bytes.len() {
            for flip in [0x01u8, 0x80, 0xFF] {
                let mut damaged = bytes.clone();
                damaged[at] ^= flip;
                match payloads(&damaged) {
                    Err(Error::Corrupted { offset, .. }) => assert!(offset as usize <= at, "byte {at}"),
                    Err(Error::IncompatibleFormat { .. }) => assert!((8..12).contains(&at)),
                    Ok((got, _)) => panic!("flip at {at} went unnoticed: {got:?} vs {full:?}"),
                    Err(other) => panic!("unexpected {other:?}"),
                }
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        fn property(bytes: Vec<u8>, with_header: bool) -> bool {
            let mut input = if with_header { file_header(MAGIC).to_vec() } else { Vec::new() };
            input.extend(bytes);
            match read(&PathBuf::from("f"), MAGIC, &input) {
                Ok(records) => {
                    records.records.iter().all(|(offset, p)| (*offset as usize) + p.len() <= input.len())
                }
                Err(_) => true,
            }
        }
        quickcheck::QuickCheck::new().tests(5_000).quickcheck(property as fn(Vec<u8>, bool) -> bool);
    }

    #[test]
    fn a_huge_damaged_length_is_not_allocated() {
        let mut bytes = file(&[]);
        let len = u32::MAX;
        bytes.extend_from_slice(&len.to_le_bytes());
        bytes.extend_from_slice(&crc32fast::hash(&len.to_le_bytes()).to_le_bytes());
        bytes.extend_from_slice(&[0; 4]);
        assert!(matches!(payloads(&bytes), Err(Error::Corrupted { .. })));
    }
}
