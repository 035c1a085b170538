//! The block table shared by the RAW (§4.9) and RESIDUALS (§4.10) sections: per-series data in
//! blocks of a fixed number of series, each block one pco stream, so that one series is read by
//! decoding one block.
//!
//! Layout: u32 series per block S, u32 blocks B, an 8-byte word the section defines, B records,
//! then the payloads in block order. Version 1 records are (u64 offset from the start of the
//! section, u64 bytes); version 2 records add the CRC-32 of the payload and a zero u32, and the
//! section's TOC checksum covers only its head and records ([`table_len`]), so that opening a
//! segment does not read every payload: each is checked when it is decoded.

/// Series per block.
pub const SERIES_PER_BLOCK: usize = 64;

/// Bytes of a block record in a file of format `version`.
pub fn record_bytes(version: u32) -> usize {
    if version >= 2 {
        24
    } else {
        16
    }
}

/// Bytes of a section's head and block records in a file of format `version` (what its TOC
/// checksum covers in version 2), from the block count at offset 4; `None` when they do not fit.
pub fn table_len(sec: &[u8], version: u32) -> Option<usize> {
    let blocks = u32::from_le_bytes(sec.get(4..8)?.try_into().ok()?) as usize;
    blocks
        .checked_mul(record_bytes(version))?
        .checked_add(16)
        .filter(|&e| e <= sec.len())
}

/// Serializes block payloads behind the table (version 2 records); `word` is the section's
/// 8-byte header word.
pub fn serialize(blocks: &[Vec<u8>], word: u64) -> Vec<u8> {
    let mut out = table(blocks, word);
    for b in blocks {
        out.extend_from_slice(b);
    }
    out
}

/// The head and block records of the section [`serialize`] makes: the bytes before the first
/// payload (the payloads follow in order).
pub fn table(blocks: &[Vec<u8>], word: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + record_bytes(2) * blocks.len());
    out.extend_from_slice(&(SERIES_PER_BLOCK as u32).to_le_bytes());
    out.extend_from_slice(&(blocks.len() as u32).to_le_bytes());
    out.extend_from_slice(&word.to_le_bytes());
    let mut at = (16 + record_bytes(2) * blocks.len()) as u64;
    for b in blocks {
        out.extend_from_slice(&at.to_le_bytes());
        out.extend_from_slice(&(b.len() as u64).to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(b).to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        at += b.len() as u64;
    }
    out
}

/// A validated view of a block table.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockTable {
    /// Series per block.
    pub per_block: usize,
    /// The section's header word.
    pub word: u64,
    /// (offset, bytes) of each block, inside the section.
    pub blocks: Vec<(usize, usize)>,
    /// Version 2: the CRC-32 of each block's payload.
    pub crcs: Option<Vec<u32>>,
}

impl BlockTable {
    /// The block holding series `pos` and the series that block starts with.
    pub fn block_of(&self, pos: usize) -> (usize, usize) {
        let b = pos / self.per_block;
        (b, b * self.per_block)
    }
}

/// Parses the block table of a section of a file of format `version` for `count` series.
pub fn parse(sec: &[u8], count: usize, version: u32) -> Result<BlockTable, String> {
    let rec = record_bytes(version);
    if sec.len() < 16 {
        return Err("shorter than its header".into());
    }
    let u32_at =
        |at: usize| u32::from_le_bytes([sec[at], sec[at + 1], sec[at + 2], sec[at + 3]]) as usize;
    let u64_at = |at: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&sec[at..at + 8]);
        u64::from_le_bytes(b)
    };
    let (per_block, blocks) = (u32_at(0), u32_at(4));
    if per_block == 0 {
        return Err("zero series per block".into());
    }
    if blocks != count.div_ceil(per_block) {
        return Err(format!(
            "{blocks} blocks for {count} series of {per_block} a block"
        ));
    }
    let table_end = blocks
        .checked_mul(rec)
        .and_then(|t| t.checked_add(16))
        .filter(|&e| e <= sec.len())
        .ok_or("block table outside the section")?;
    let mut out = Vec::with_capacity(blocks);
    let mut crcs = Vec::new();
    for b in 0..blocks {
        let at = 16 + rec * b;
        let (off, len) = (u64_at(at), u64_at(at + 8));
        if rec == 24 {
            if u32_at(at + 20) != 0 {
                return Err(format!("block {b}: reserved bytes are not zero"));
            }
            crcs.push(u32_at(at + 16) as u32);
        }
        let end = off
            .checked_add(len)
            .filter(|&e| e <= sec.len() as u64)
            .ok_or(format!("block {b} outside the section"))?;
        if off < table_end as u64 || end > sec.len() as u64 {
            return Err(format!("block {b} overlaps the table"));
        }
        out.push((off as usize, len as usize));
    }
    Ok(BlockTable {
        per_block,
        word: u64_at(8),
        blocks: out,
        crcs: (rec == 24).then_some(crcs),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_bad_tables() {
        let payloads = vec![vec![1u8, 2, 3], vec![], vec![9; 10]];
        let b = serialize(&payloads, 77);
        let t = parse(&b, 150, 2).unwrap();
        assert_eq!(table_len(&b, 2), Some(16 + 3 * 24));
        assert_eq!(
            t.crcs,
            Some(payloads.iter().map(|p| crc32fast::hash(p)).collect())
        );
        assert_eq!(t.word, 77);
        assert_eq!(t.blocks.len(), 3);
        for (p, &(off, len)) in payloads.iter().zip(&t.blocks) {
            assert_eq!(&b[off..off + len], &p[..]);
        }
        assert_eq!(t.block_of(130), (2, 128));
        assert!(parse(&b, 200, 2).is_err());
        assert!(parse(&b[..20], 150, 2).is_err());
        assert!(parse(&b[..b.len() - 1], 150, 2).is_err());
        let mut bad = b.clone();
        bad[16 + 20] = 1;
        assert!(parse(&bad, 150, 2).is_err(), "reserved bytes");
    }
}
