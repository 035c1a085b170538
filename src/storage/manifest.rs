//! The MANIFEST: which segment files and delete files make up the database (FORMAT.md §9).
//!
//! It is the commit point: a change is committed when a new MANIFEST has replaced the old one
//! (write `MANIFEST.tmp`, fsync, rename, fsync the directory). Files it does not name are garbage.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The 8 bytes a MANIFEST starts with: `\x89QMAN\r\n\x1a`.
pub const MAGIC: [u8; 8] = [0x89, b'Q', b'M', b'A', b'N', b'\r', b'\n', 0x1a];
/// The manifest version this build writes and reads.
pub const MANIFEST_VERSION: u32 = 1;
/// The MANIFEST's file name.
pub const FILE: &str = "MANIFEST";
/// Largest MANIFEST body accepted (bounds what a reader allocates).
const MAX_BODY: u64 = 1 << 30;

/// One segment of the database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentEntry {
    /// Segment file name, in the database directory.
    pub file: String,
    /// Smallest id in the segment.
    pub first_id: u64,
    /// Largest id in the segment.
    pub last_id: u64,
    /// Series in the segment (live or deleted).
    pub series: u64,
    /// Delete file (roaring bitmap of deleted ids), if any series is deleted.
    pub deletes: Option<String>,
}

/// The committed state of a database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Format version of the segments written into this database.
    pub format_version: u32,
    /// Incremented by every commit.
    pub generation: u64,
    /// The id the next appended series gets; ids are never reused.
    pub next_id: u64,
    /// Segments in id order.
    pub segments: Vec<SegmentEntry>,
    /// Build options of the database, as the `info` parameters.
    pub options: serde_json::Value,
    /// The database's random id (16 hex digits), carried by the names of its files
    /// ([`super::names`]); absent in databases made before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
}

impl Manifest {
    /// Serializes: magic, version, reserved, body length, JSON body, CRC-32 of all before it.
    pub fn to_bytes(&self) -> Vec<u8> {
        let body = serde_json::to_vec(self).unwrap_or_default();
        let mut out = Vec::with_capacity(body.len() + 28);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&MANIFEST_VERSION.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&(body.len() as u64).to_le_bytes());
        out.extend_from_slice(&body);
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// Parses and checks a MANIFEST.
    pub fn from_bytes(path: &Path, b: &[u8]) -> Result<Manifest> {
        let corrupt = |offset: u64, detail: String| Error::Corrupt {
            path: path.to_path_buf(),
            section: "MANIFEST",
            offset,
            detail,
        };
        if b.len() < 28 || b[..8] != MAGIC {
            return Err(corrupt(
                0,
                "not a qabbadb MANIFEST (bad magic or too short)".into(),
            ));
        }
        let version = u32::from_le_bytes([b[8], b[9], b[10], b[11]]);
        if version != MANIFEST_VERSION {
            return Err(Error::UnsupportedVersion {
                found: version,
                oldest: MANIFEST_VERSION,
                newest: MANIFEST_VERSION,
            });
        }
        let mut len8 = [0u8; 8];
        len8.copy_from_slice(&b[16..24]);
        let len = u64::from_le_bytes(len8);
        if len > MAX_BODY || 24 + len + 4 != b.len() as u64 {
            return Err(corrupt(
                16,
                format!(
                    "body of {len} bytes does not fit a file of {} bytes",
                    b.len()
                ),
            ));
        }
        let end = 24 + len as usize;
        let crc = u32::from_le_bytes([b[end], b[end + 1], b[end + 2], b[end + 3]]);
        if crc32fast::hash(&b[..end]) != crc {
            return Err(corrupt(end as u64, "checksum mismatch".into()));
        }
        if b[12..16] != [0; 4] {
            return Err(corrupt(12, "reserved bytes are not zero".into()));
        }
        let m: Manifest = serde_json::from_slice(&b[24..end])
            .map_err(|e| corrupt(24, format!("bad body: {e}")))?;
        m.check().map_err(|d| corrupt(24, d))?;
        Ok(m)
    }

    /// Invariants: segments in id order with disjoint ranges below `next_id`, plain file names.
    fn check(&self) -> std::result::Result<(), String> {
        let mut prev: Option<u64> = None;
        for s in &self.segments {
            let plain =
                |f: &str| !f.is_empty() && !f.contains(['/', '\\']) && f != "." && f != "..";
            if !plain(&s.file) || s.deletes.as_deref().is_some_and(|d| !plain(d)) {
                return Err(format!("file name {:?} is not a plain name", s.file));
            }
            if s.first_id > s.last_id
                || prev.is_some_and(|p| p >= s.first_id)
                || s.last_id >= self.next_id
            {
                return Err(format!(
                    "segment {} has ids {}..={} out of order",
                    s.file, s.first_id, s.last_id
                ));
            }
            if s.series == 0 || s.series - 1 > s.last_id - s.first_id {
                return Err(format!(
                    "segment {} cannot hold {} series in its id range",
                    s.file, s.series
                ));
            }
            prev = Some(s.last_id);
        }
        if let Some(u) = &self.uid {
            if super::names::DbUid::parse(u).is_none() {
                return Err(format!("uid {u:?} is not 16 hex digits"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        Manifest {
            format_version: 1,
            generation: 3,
            next_id: 120,
            segments: vec![
                SegmentEntry {
                    file: "1-a.qseg".into(),
                    first_id: 0,
                    last_id: 99,
                    series: 100,
                    deletes: Some("1-a.3.del".into()),
                },
                SegmentEntry {
                    file: "2-b.qseg".into(),
                    first_id: 100,
                    last_id: 119,
                    series: 20,
                    deletes: None,
                },
            ],
            options: serde_json::json!({"tol": 0.2}),
            uid: Some("0123456789abcdef".into()),
        }
    }

    #[test]
    fn round_trip_and_damage() {
        let m = sample();
        let b = m.to_bytes();
        let p = Path::new("MANIFEST");
        assert_eq!(Manifest::from_bytes(p, &b).unwrap(), m);
        for cut in [0, 10, 27, b.len() - 1] {
            assert!(Manifest::from_bytes(p, &b[..cut]).is_err(), "cut {cut}");
        }
        for at in (0..b.len()).step_by(3) {
            let mut x = b.clone();
            x[at] ^= 0x20;
            assert!(Manifest::from_bytes(p, &x).is_err(), "flip {at}");
        }
        let mut bad = sample();
        bad.segments[1].first_id = 50;
        assert!(Manifest::from_bytes(p, &bad.to_bytes()).is_err());
        let mut bad = sample();
        bad.segments[0].file = "../etc/passwd".into();
        assert!(Manifest::from_bytes(p, &bad.to_bytes()).is_err());
    }
}
