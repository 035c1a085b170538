//! The block table shared by the RAW (§4.9) and RESIDUALS (§4.10) sections: per-series data in
//! blocks of a fixed number of series, each block one pco stream, so that one series is read by
//! decoding one block.
//!
//! Layout: u32 series per block S, u32 blocks B, an 8-byte word the section defines, B records
//! of (u64 offset from the start of the section, u64 bytes), then the payloads in block order.

/// Series per block.
pub const SERIES_PER_BLOCK: usize = 64;

/// Serializes block payloads behind the table; `word` is the section's 8-byte header word.
pub fn serialize(blocks: &[Vec<u8>], word: u64) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&(SERIES_PER_BLOCK as u32).to_le_bytes());
    out.extend_from_slice(&(blocks.len() as u32).to_le_bytes());
    out.extend_from_slice(&word.to_le_bytes());
    let mut at = (16 + 16 * blocks.len()) as u64;
    for b in blocks {
        out.extend_from_slice(&at.to_le_bytes());
        out.extend_from_slice(&(b.len() as u64).to_le_bytes());
        at += b.len() as u64;
    }
    for b in blocks {
        out.extend_from_slice(b);
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
}

impl BlockTable {
    /// The block holding series `pos` and the series that block starts with.
    pub fn block_of(&self, pos: usize) -> (usize, usize) {
        let b = pos / self.per_block;
        (b, b * self.per_block)
    }
}

/// Parses the block table of a section for `count` series.
pub fn parse(sec: &[u8], count: usize) -> Result<BlockTable, String> {
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
        .checked_mul(16)
        .and_then(|t| t.checked_add(16))
        .filter(|&e| e <= sec.len())
        .ok_or("block table outside the section")?;
    let mut out = Vec::with_capacity(blocks);
    for b in 0..blocks {
        let (off, len) = (u64_at(16 + 16 * b), u64_at(24 + 16 * b));
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
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_bad_tables() {
        let payloads = vec![vec![1u8, 2, 3], vec![], vec![9; 10]];
        let b = serialize(&payloads, 77);
        let t = parse(&b, 150).unwrap();
        assert_eq!(t.word, 77);
        assert_eq!(t.blocks.len(), 3);
        for (p, &(off, len)) in payloads.iter().zip(&t.blocks) {
            assert_eq!(&b[off..off + len], &p[..]);
        }
        assert_eq!(t.block_of(130), (2, 128));
        assert!(parse(&b, 200).is_err());
        assert!(parse(&b[..20], 150).is_err());
        assert!(parse(&b[..b.len() - 1], 150).is_err());
    }
}
