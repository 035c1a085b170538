//! Lossless storage of a series with pco (Pcodec), for series the symbolic form cannot hold
//! within the error budget; also the entropy coder of raw blocks and of error-bounded residuals.

use crate::error::{Error, Result};

/// Compresses numbers (`f64` values, `i64` residual levels) losslessly. A refusal by pco is
/// returned as an error, never written as a stream its reader would reject.
pub fn compress<T: pco::data_types::Number>(values: &[T]) -> Result<Vec<u8>> {
    pco::standalone::simple_compress(values, &pco::ChunkConfig::default())
        .map_err(|e| Error::Encode(format!("pco refused {} values: {e}", values.len())))
}

/// Compresses f64 values losslessly, also trying pco's multiple-of-a-base mode with the power of
/// ten the values were written with (data parsed from decimal text, say `-1.9630089`): pco's own
/// detection samples a typical value and misses the base for data centred on zero. Keeps the
/// smaller stream; both decode with [`decompress`].
pub fn compress_values(values: &[f64]) -> Result<Vec<u8>> {
    let mut best = compress(values)?;
    let mut tried = Vec::new();
    for tolerance in [1e-9, 1e-6] {
        let Some(base) = decimal_base(values, tolerance) else {
            continue;
        };
        if tried.contains(&base) {
            continue;
        }
        tried.push(base);
        let config = pco::ChunkConfig::default().with_mode_spec(pco::ModeSpec::TryFloatMult(base));
        if let Ok(b) = pco::standalone::simple_compress(values, &config) {
            if b.len() < best.len()
                && decompress::<f64>(&b, values.len()).as_deref() == Some(values)
            {
                best = b;
            }
        }
    }
    Ok(best)
}

/// A candidate power of ten `10^-d` (1 ≤ d ≤ 12): the smallest that almost every sampled value
/// is within `tolerance` (relative) of a multiple of. Loose on purpose (values written with a
/// number of significant digits rather than of decimals are only mostly multiples);
/// [`compress_values`] keeps the result only when the stream it gives is smaller.
fn decimal_base(values: &[f64], tolerance: f64) -> Option<f64> {
    let step = (values.len() / 512).max(1);
    let sample: Vec<f64> = values
        .iter()
        .step_by(step)
        .copied()
        .filter(|v| v.is_finite() && *v != 0.0)
        .collect();
    if sample.len() < 16 {
        return None;
    }
    (1..=12).find_map(|d| {
        let scale = 10f64.powi(d);
        let fits = sample
            .iter()
            .filter(|&&v| {
                let m = v * scale;
                m.abs() < 1e15 && (m - m.round()).abs() <= tolerance * m.abs().max(1.0)
            })
            .count();
        (fits * 100 >= sample.len() * 95).then(|| 10f64.powi(-d))
    })
}

/// Decompresses; `None` when the bytes are not a pco stream of exactly `n` numbers.
///
/// Memory grows chunk by chunk with what the stream really holds (pco chunks have at most 2^24
/// numbers), never beyond `n`: a damaged count, in the stream or in the caller's records, costs
/// at most one chunk's buffer before it is reported, not an allocation of the claimed size.
pub fn decompress<T: pco::data_types::Number>(bytes: &[u8], n: usize) -> Option<Vec<T>> {
    use pco::standalone::{DecompressorItem, FileDecompressor};
    let (file, mut src) = FileDecompressor::new(bytes).ok()?;
    let mut out: Vec<T> = Vec::new();
    loop {
        match file.chunk_decompressor::<T, _>(src).ok()? {
            DecompressorItem::EndOfData(_) => break,
            DecompressorItem::Chunk(mut chunk) => {
                let (at, m) = (out.len(), chunk.n());
                if m > n - at {
                    return None;
                }
                out.resize(at + m, T::default());
                let progress = chunk.read(&mut out[at..]).ok()?;
                if progress.n_processed != m {
                    return None;
                }
                src = chunk.into_src();
            }
        }
    }
    (out.len() == n).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_is_bit_exact() {
        let v: Vec<f64> = (0..1000)
            .map(|i| (i as f64 * 0.37).sin() * 1e3 + 0.1)
            .collect();
        let b = compress(&v).unwrap();
        assert!(b.len() < v.len() * 8);
        let back: Vec<f64> = decompress(&b, v.len()).unwrap();
        assert!(back.iter().zip(&v).all(|(a, b)| a.to_bits() == b.to_bits()));
        assert!(decompress::<f64>(&b, 999).is_none());
        assert!(decompress::<f64>(&b[..b.len() / 2], 1000).is_none());
        assert!(decompress::<f64>(&[1, 2, 3], 1).is_none());
    }

    #[test]
    fn decimal_data_finds_its_base_and_round_trips() {
        // Seven decimals around zero, as UCR files write them.
        let v: Vec<f64> = (0..16064)
            .map(|i| {
                let x = ((i as f64 * 0.013).sin() * 1.7 + (i % 13) as f64 * 1e-4) * 1e7;
                x.round() / 1e7
            })
            .collect();
        assert_eq!(decimal_base(&v, 1e-9), Some(1e-7));
        let best = compress_values(&v).unwrap();
        assert!(best.len() <= compress(&v).unwrap().len());
        let back: Vec<f64> = decompress(&best, v.len()).unwrap();
        assert!(back.iter().zip(&v).all(|(a, b)| a.to_bits() == b.to_bits()));
        // Full-precision values: whatever the candidate, never a larger or different stream.
        let noise: Vec<f64> = (0..1000).map(|i| (i as f64 * 0.37).sin() / 3.0).collect();
        let b = compress_values(&noise).unwrap();
        assert!(b.len() <= compress(&noise).unwrap().len());
        assert_eq!(decompress::<f64>(&b, noise.len()), Some(noise));
        assert_eq!(
            decimal_base(&[1.5; 10], 1e-6),
            None,
            "too few values to judge"
        );
    }

    #[test]
    fn claimed_counts_beyond_the_stream_are_refused_cheaply() {
        let v: Vec<f64> = (0..5000).map(|i| i as f64 * 0.25).collect();
        let b = compress(&v).unwrap();
        // A count far larger than memory: refused without trying to allocate it.
        assert!(decompress::<f64>(&b, usize::MAX / 16).is_none());
        assert!(decompress::<f64>(&b, 4999).is_none());
        assert!(decompress::<f64>(&b, 5001).is_none());
        assert_eq!(decompress::<f64>(&b, 5000).as_deref(), Some(&v[..]));
        // Several chunks.
        let big: Vec<i64> = (0..300_000).map(|i| i % 1000).collect();
        let config =
            pco::ChunkConfig::default().with_paging_spec(pco::PagingSpec::EqualPagesUpTo(1 << 16));
        let mut file = Vec::new();
        let fc = pco::standalone::FileCompressor::default();
        fc.write_header(&mut file).unwrap();
        for part in big.chunks(100_000) {
            fc.chunk_compressor(part, &config)
                .unwrap()
                .write(&mut file)
                .unwrap();
        }
        fc.write_footer(&mut file).unwrap();
        assert_eq!(
            decompress::<i64>(&file, big.len()).as_deref(),
            Some(&big[..])
        );
        assert!(decompress::<i64>(&file, big.len() - 1).is_none());
    }

    #[test]
    fn integers_and_empty_streams_round_trip() {
        let q: Vec<i64> = (0..500).map(|i| (i % 7) - 3).collect();
        let b = compress(&q).unwrap();
        assert!(b.len() < q.len());
        assert_eq!(decompress::<i64>(&b, q.len()), Some(q));
        let e = compress::<i64>(&[]).unwrap();
        assert_eq!(decompress::<i64>(&e, 0), Some(Vec::new()));
        assert!(decompress::<i64>(&e, 1).is_none());
    }
}
