//! Named consumers' positions in a storage directory: the `CONSUMERS` file.
//!
//! One framed record holding every consumer's [`Position`], rewritten atomically (temporary
//! file, sync, rename, directory sync) each time one is created, acknowledges or is dropped: a
//! crash leaves the positions of before or of after, and an acknowledgement has returned only
//! once it is on disk. A directory without the file has no consumers.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::codec::{decode, encode};
use super::files::{self, write_atomically};
use super::frame::{self, Tail};
use crate::error::{Error, Result};
use crate::time::Time;

pub(crate) const CONSUMERS: &str = "CONSUMERS";
const MAGIC: &[u8; 8] = b"IVMCONS\0";

/// Where one named consumer of a view stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Position {
    /// The consumer's name.
    pub(crate) name: String,
    /// The view it reads.
    pub(crate) view: String,
    /// The time of its first batch, the snapshot.
    pub(crate) start: Time,
    /// The `upper` it acknowledged last: it has processed every change before it.
    pub(crate) acknowledged: Option<Time>,
}

impl Position {
    /// The oldest time the consumer may still ask for: where it resumes (the snapshot's time
    /// until it acknowledges, then `acknowledged - 1`, the `as_of` of a resumed subscription).
    pub(crate) fn hold(&self) -> Time {
        self.acknowledged.map_or(self.start, |upper| upper.saturating_sub(1).max(self.start))
    }
}

/// The positions stored in `dir` (none if the file does not exist).
pub(crate) fn load(dir: &Path) -> Result<Vec<Position>> {
    let path = dir.join(CONSUMERS);
    if !path.exists() {
        return Ok(Vec::new());
    }
    let bytes = files::read(&path)?;
    let records = frame::read(&path, MAGIC, &bytes)?;
    let corrupted = |offset: u64, reason: String| Error::Corrupted { file: path.clone(), offset, reason };
    match (records.records.as_slice(), records.tail) {
        ([(offset, payload)], Tail::Clean) => decode(payload).map_err(|reason| corrupted(*offset, reason)),
        (_, Tail::Torn(offset)) => {
            Err(corrupted(offset, "the file is cut short (it is only ever replaced whole)".into()))
        }
        (records, Tail::Clean) => {
            Err(corrupted(0, format!("{} records where one is written", records.len())))
        }
    }
}

/// Replaces the positions stored in `dir` with `positions`.
pub(crate) fn save(dir: &Path, positions: &[Position]) -> Result<()> {
    let mut bytes = frame::file_header(MAGIC).to_vec();
    frame::frame(&encode(&positions.to_vec()), &mut bytes);
    write_atomically(dir, CONSUMERS, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_read_back_and_damage_is_corruption() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(dir.path()).unwrap(), Vec::new(), "no file, no consumers");
        let positions = vec![
            Position { name: "audit".into(), view: "totals".into(), start: 3, acknowledged: None },
            Position { name: "mail".into(), view: "totals".into(), start: 1, acknowledged: Some(9) },
        ];
        save(dir.path(), &positions).unwrap();
        assert_eq!(load(dir.path()).unwrap(), positions);
        assert_eq!((positions[0].hold(), positions[1].hold()), (3, 8));
        let path = dir.path().join(CONSUMERS);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
        assert!(matches!(load(dir.path()), Err(Error::Corrupted { .. })));
        let mut flipped = bytes.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        std::fs::write(&path, &flipped).unwrap();
        assert!(matches!(load(dir.path()), Err(Error::Corrupted { .. })));
    }
}
