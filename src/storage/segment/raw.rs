//! The RAW section (FORMAT.md §4.9): every series' original values, losslessly, in blocks of
//! [`SERIES_PER_BLOCK`] series ([`super::block_table`], header word 0): block b is one pco
//! stream of the values of series `b·S .. min((b+1)·S, N)` concatenated in series order.

pub use super::block_table::SERIES_PER_BLOCK;

/// Serializes the original values of all series (in series order), the blocks in parallel.
pub fn serialize(series: &[Vec<f64>]) -> crate::Result<Vec<u8>> {
    use rayon::prelude::*;
    let blocks: Vec<Vec<u8>> = series
        .par_chunks(SERIES_PER_BLOCK)
        .map(compress_block)
        .collect::<crate::Result<_>>()?;
    Ok(super::block_table::serialize(&blocks, 0))
}

/// The payload of one block: the values of its series concatenated, as one pco stream.
pub fn compress_block(series: &[Vec<f64>]) -> crate::Result<Vec<u8>> {
    let flat: Vec<f64> = series.iter().flatten().copied().collect();
    crate::codec::lossless::compress_values(&flat)
}

/// The head and block records of the section of these payloads ([`compress_block`]'s, in
/// order; the payloads follow them).
pub fn table(blocks: &[Vec<u8>]) -> Vec<u8> {
    super::block_table::table(blocks, 0)
}

/// Parses the block table of a RAW section of a file of format `version` for `count` series.
pub fn parse(
    sec: &[u8],
    count: usize,
    version: u32,
) -> Result<super::block_table::BlockTable, String> {
    let t = super::block_table::parse(sec, count, version)?;
    if t.word != 0 {
        return Err("bad header".into());
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let series: Vec<Vec<f64>> = (0..150)
            .map(|i| (0..(i % 7 + 1)).map(|t| (i * t) as f64 * 0.1).collect())
            .collect();
        let b = serialize(&series).unwrap();
        let t = parse(&b, series.len(), 2).unwrap();
        assert_eq!(t.blocks.len(), 3);
        let (off, len) = t.blocks[1];
        let n: usize = series[64..128].iter().map(Vec::len).sum();
        let flat: Vec<f64> = crate::codec::lossless::decompress(&b[off..off + len], n).unwrap();
        assert_eq!(
            flat,
            series[64..128]
                .iter()
                .flatten()
                .copied()
                .collect::<Vec<_>>()
        );
        assert!(parse(&b, 200, 2).is_err());
        assert!(parse(&b[..20], 150, 2).is_err());
    }
}
