//! The RAW section (FORMAT.md §4.9): every series' original values, losslessly, in blocks of
//! [`SERIES_PER_BLOCK`] series, so that one series is read by decoding one block.
//!
//! Layout: u32 series per block S, u32 blocks B, u64 reserved (0), B records of (u64 offset from
//! the start of the section, u64 bytes), then the payloads: block b is one pco stream of the
//! values of series `b·S .. min((b+1)·S, N)` concatenated in series order.

/// Series per raw block.
pub const SERIES_PER_BLOCK: usize = 64;

/// Serializes the original values of all series (in series order).
pub fn serialize(series: &[Vec<f64>]) -> Vec<u8> {
    let blocks: Vec<Vec<u8>> = series
        .chunks(SERIES_PER_BLOCK)
        .map(|chunk| {
            let flat: Vec<f64> = chunk.iter().flatten().copied().collect();
            crate::codec::lossless::compress(&flat)
        })
        .collect();
    let mut out = Vec::new();
    out.extend_from_slice(&(SERIES_PER_BLOCK as u32).to_le_bytes());
    out.extend_from_slice(&(blocks.len() as u32).to_le_bytes());
    out.extend_from_slice(&0u64.to_le_bytes());
    let mut at = (16 + 16 * blocks.len()) as u64;
    for b in &blocks {
        out.extend_from_slice(&at.to_le_bytes());
        out.extend_from_slice(&(b.len() as u64).to_le_bytes());
        at += b.len() as u64;
    }
    for b in &blocks {
        out.extend_from_slice(b);
    }
    out
}

/// A validated view of the block table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawTable {
    /// Series per block.
    pub per_block: usize,
    /// (offset, bytes) of each block, inside the section.
    pub blocks: Vec<(usize, usize)>,
}

/// Parses the block table of a RAW section for `count` series.
pub fn parse(sec: &[u8], count: usize) -> Result<RawTable, String> {
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
    if per_block == 0 || u64_at(8) != 0 {
        return Err("bad header".into());
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
    Ok(RawTable {
        per_block,
        blocks: out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let series: Vec<Vec<f64>> = (0..150)
            .map(|i| (0..(i % 7 + 1)).map(|t| (i * t) as f64 * 0.1).collect())
            .collect();
        let b = serialize(&series);
        let t = parse(&b, series.len()).unwrap();
        assert_eq!(t.blocks.len(), 3);
        let (off, len) = t.blocks[1];
        let n: usize = series[64..128].iter().map(Vec::len).sum();
        let flat = crate::codec::lossless::decompress(&b[off..off + len], n).unwrap();
        assert_eq!(
            flat,
            series[64..128]
                .iter()
                .flatten()
                .copied()
                .collect::<Vec<_>>()
        );
        assert!(parse(&b, 200).is_err());
        assert!(parse(&b[..20], 150).is_err());
    }
}
