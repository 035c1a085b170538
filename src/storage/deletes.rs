//! Delete files: the ids of one segment deleted as of a generation (FORMAT.md §10).
//!
//! Layout: magic `\x89QDEL\r\n\x1a`, u64 length L, L bytes of a `RoaringTreemap` in the roaring
//! crate's portable 64-bit serialization, CRC-32 of everything before.

use std::path::Path;

use roaring::RoaringTreemap;

use crate::error::{Error, Result};

/// The 8 bytes a delete file starts with.
pub const MAGIC: [u8; 8] = [0x89, b'Q', b'D', b'E', b'L', b'\r', b'\n', 0x1a];

/// Serializes deleted ids.
pub fn to_bytes(ids: &RoaringTreemap) -> Vec<u8> {
    let mut body = Vec::with_capacity(ids.serialized_size());
    // Writing into a Vec cannot fail.
    let _ = ids.serialize_into(&mut body);
    let mut out = Vec::with_capacity(body.len() + 20);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(&body);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Parses a delete file.
pub fn from_bytes(path: &Path, b: &[u8]) -> Result<RoaringTreemap> {
    let corrupt = |offset: u64, detail: String| Error::Corrupt {
        path: path.to_path_buf(),
        section: "deletes",
        offset,
        detail,
    };
    if b.len() < 20 || b[..8] != MAGIC {
        return Err(corrupt(0, "not a qabbadb delete file".into()));
    }
    let mut l = [0u8; 8];
    l.copy_from_slice(&b[8..16]);
    let len = u64::from_le_bytes(l);
    if len.checked_add(20) != Some(b.len() as u64) {
        return Err(corrupt(8, "length does not match the file".into()));
    }
    let end = 16 + len as usize;
    let crc = u32::from_le_bytes([b[end], b[end + 1], b[end + 2], b[end + 3]]);
    if crc32fast::hash(&b[..end]) != crc {
        return Err(corrupt(end as u64, "checksum mismatch".into()));
    }
    RoaringTreemap::deserialize_from(&b[16..end])
        .map_err(|e| corrupt(16, format!("bad bitmap: {e}")))
}

/// Reads a delete file.
pub fn read(path: &Path) -> Result<RoaringTreemap> {
    let b = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    from_bytes(path, &b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_damage() {
        let ids: RoaringTreemap = [1u64, 5, 9, 1 << 40].into_iter().collect();
        let b = to_bytes(&ids);
        let p = Path::new("x.del");
        assert_eq!(from_bytes(p, &b).unwrap(), ids);
        for at in 0..b.len() {
            let mut x = b.clone();
            x[at] ^= 1;
            assert!(from_bytes(p, &x).is_err(), "flip at {at}");
        }
        assert!(from_bytes(p, &b[..b.len() - 1]).is_err());
    }
}
