//! Lossless storage of a series with pco (Pcodec), for series the symbolic form cannot hold
//! within the error budget.

/// Compresses values losslessly.
pub fn compress(values: &[f64]) -> Vec<u8> {
    // The default configuration is valid, so pco has nothing to refuse; an empty result would
    // fail to decompress and be reported as corruption rather than pass silently.
    pco::standalone::simple_compress(values, &pco::ChunkConfig::default()).unwrap_or_default()
}

/// Decompresses; `None` when the bytes are not a pco stream of exactly `n` values.
pub fn decompress(bytes: &[u8], n: usize) -> Option<Vec<f64>> {
    // Decode into a buffer of the stored length: a damaged header cannot make us allocate more.
    let mut v = vec![0.0f64; n];
    let progress = pco::standalone::simple_decompress_into(bytes, &mut v).ok()?;
    (progress.n_processed == n && progress.finished).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_is_bit_exact() {
        let v: Vec<f64> = (0..1000)
            .map(|i| (i as f64 * 0.37).sin() * 1e3 + 0.1)
            .collect();
        let b = compress(&v);
        assert!(b.len() < v.len() * 8);
        let back = decompress(&b, v.len()).unwrap();
        assert!(back.iter().zip(&v).all(|(a, b)| a.to_bits() == b.to_bits()));
        assert!(decompress(&b, 999).is_none());
        assert!(decompress(&b[..b.len() / 2], 1000).is_none());
        assert!(decompress(&[1, 2, 3], 1).is_none());
    }
}
