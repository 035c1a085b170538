//! Lossless storage of a series with pco (Pcodec), for series the symbolic form cannot hold
//! within the error budget; also the entropy coder of raw blocks and of error-bounded residuals.

/// Compresses numbers (`f64` values, `i64` residual levels) losslessly.
pub fn compress<T: pco::data_types::Number>(values: &[T]) -> Vec<u8> {
    // The default configuration is valid, so pco has nothing to refuse; an empty result would
    // fail to decompress and be reported as corruption rather than pass silently.
    pco::standalone::simple_compress(values, &pco::ChunkConfig::default()).unwrap_or_default()
}

/// Decompresses; `None` when the bytes are not a pco stream of exactly `n` values.
pub fn decompress<T: pco::data_types::Number>(bytes: &[u8], n: usize) -> Option<Vec<T>> {
    // Decode into a buffer of the stored length: a damaged header cannot make us allocate more.
    let mut v = vec![T::default(); n];
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
        let back: Vec<f64> = decompress(&b, v.len()).unwrap();
        assert!(back.iter().zip(&v).all(|(a, b)| a.to_bits() == b.to_bits()));
        assert!(decompress::<f64>(&b, 999).is_none());
        assert!(decompress::<f64>(&b[..b.len() / 2], 1000).is_none());
        assert!(decompress::<f64>(&[1, 2, 3], 1).is_none());
    }

    #[test]
    fn integers_and_empty_streams_round_trip() {
        let q: Vec<i64> = (0..500).map(|i| (i % 7) - 3).collect();
        let b = compress(&q);
        assert!(b.len() < q.len());
        assert_eq!(decompress::<i64>(&b, q.len()), Some(q));
        let e = compress::<i64>(&[]);
        assert_eq!(decompress::<i64>(&e, 0), Some(Vec::new()));
        assert!(decompress::<i64>(&e, 1).is_none());
    }
}
