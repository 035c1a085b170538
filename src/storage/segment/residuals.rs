//! The RESIDUALS section (FORMAT.md §4.10) of error-bounded segments: the residual levels of
//! every symbolic series ([`crate::codec::residual`]), in blocks of [`SERIES_PER_BLOCK`] series
//! ([`super::block_table`]). The header word is the bit pattern of the f64 bound δ (the step is
//! 2δ); block b is one pco stream of the i64 levels of the symbolic series among
//! `b·S .. min((b+1)·S, N)`, each with one level per value, concatenated in series order.
//! Lossless series have no levels.

pub use super::block_table::SERIES_PER_BLOCK;
use crate::codec::{EncodedSeries, Storage};

/// The section of the levels of `series` under bound `max_error` (every symbolic series holds
/// one level per value, checked by the writer), as its head and block records and its payloads
/// apart: the writer writes them one after the other without joining them.
pub fn table_and_blocks(
    series: &[EncodedSeries],
    max_error: f64,
) -> crate::Result<(Vec<u8>, Vec<Vec<u8>>)> {
    let blocks: Vec<Vec<u8>> = series
        .chunks(SERIES_PER_BLOCK)
        .map(|chunk| {
            let flat: Vec<i64> = chunk
                .iter()
                .filter(|e| matches!(e.storage, Storage::Symbolic(_)))
                .flat_map(|e| e.residuals.iter())
                .collect();
            crate::codec::lossless::compress(&flat)
        })
        .collect::<crate::Result<_>>()?;
    Ok((super::block_table::table(&blocks, max_error.to_bits()), blocks))
}

/// Where the levels of each block and series are: the number of levels in each block, and
/// where each series' levels start inside its block (symbolic series have one level a value;
/// lossless series none).
pub fn layout(
    table: &super::block_table::BlockTable,
    records: &[super::layout::SeriesRecord],
) -> (Vec<usize>, Vec<usize>) {
    let mut levels = vec![0usize; table.blocks.len()];
    let mut skip = Vec::with_capacity(records.len());
    for (pos, r) in records.iter().enumerate() {
        let (b, _) = table.block_of(pos);
        skip.push(levels[b]);
        if r.kind == super::layout::storage_kind::SYMBOLIC {
            levels[b] += r.len as usize;
        }
    }
    (levels, skip)
}

/// Parses a RESIDUALS section of a file of format `version` for `count` series; returns the
/// table and δ.
pub fn parse(
    sec: &[u8],
    count: usize,
    version: u32,
) -> Result<(super::block_table::BlockTable, f64), String> {
    let t = super::block_table::parse(sec, count, version)?;
    let d = f64::from_bits(t.word);
    if !(d.is_finite() && d > 0.0 && (2.0 * d).is_finite()) {
        return Err(format!("bound δ = {d} is not a positive number"));
    }
    Ok((t, d))
}
