//! The RESIDUALS section (FORMAT.md §4.10) of error-bounded segments: the residual levels of
//! every symbolic series ([`crate::codec::residual`]), in blocks of [`SERIES_PER_BLOCK`] series
//! ([`super::block_table`]). The header word is the bit pattern of the f64 bound δ (the step is
//! 2δ); block b is one pco stream of the i64 levels of the symbolic series among
//! `b·S .. min((b+1)·S, N)`, each with one level per value, concatenated in series order.
//! Lossless series have no levels.

pub use super::block_table::SERIES_PER_BLOCK;
use crate::codec::{EncodedSeries, Storage};

/// Serializes the levels of `series` under bound `max_error`; every symbolic series holds one
/// level per value (checked by the writer).
pub fn serialize(series: &[EncodedSeries], max_error: f64) -> crate::Result<Vec<u8>> {
    let blocks: Vec<Vec<u8>> = series
        .chunks(SERIES_PER_BLOCK)
        .map(|chunk| {
            let flat: Vec<i64> = chunk
                .iter()
                .filter(|e| matches!(e.storage, Storage::Symbolic(_)))
                .flat_map(|e| e.residuals.iter().copied())
                .collect();
            crate::codec::lossless::compress(&flat)
        })
        .collect::<crate::Result<_>>()?;
    Ok(super::block_table::serialize(&blocks, max_error.to_bits()))
}

/// Parses a RESIDUALS section for `count` series; returns the table and δ.
pub fn parse(sec: &[u8], count: usize) -> Result<(super::block_table::BlockTable, f64), String> {
    let t = super::block_table::parse(sec, count)?;
    let d = f64::from_bits(t.word);
    if !(d.is_finite() && d > 0.0 && (2.0 * d).is_finite()) {
        return Err(format!("bound δ = {d} is not a positive number"));
    }
    Ok((t, d))
}
