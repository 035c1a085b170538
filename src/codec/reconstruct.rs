//! Reconstruction: symbols → series of exactly the stored length.
//!
//! Inverse quantization gives each symbol's centre `(len, inc)`; the inverse digitization
//! replaces each symbol by its centre; the polygonal chain starts at the first value `z_0` and
//! puts vertex `k` at time `T_k = Σ_{j≤k} len_j` and value `V_k = z_0 + Σ_{j≤k} inc_j`.
//!
//! **Exact length.** Centre lengths are real numbers whose sum `T_K` differs from the true
//! `n − 1`; the reference rounds them cumulatively and returns `1 + round(T_K)` points (140–147
//! for 150). We stretch time by `(n − 1)/T_K`, so the last vertex lands on sample `n − 1`, and
//! sample the chain by linear interpolation at `t = 0, 1, …, n − 1`. The output always has `n`
//! points and the drift in time is spread over the series instead of cutting or padding its end.
//!
//! # Invariants
//! - `decode_normalized(n, ..)` has length `n`, starts at `z_0` and ends at `V_K`.

/// A symbol as stored in memory: `u32`, or `u16` for alphabets of at most 65,536 symbols.
pub trait SymbolIndex: Copy + Send + Sync {
    /// The symbol's index into the centres.
    fn index(self) -> usize;
}

impl SymbolIndex for u32 {
    #[inline]
    fn index(self) -> usize {
        self as usize
    }
}

impl SymbolIndex for u16 {
    #[inline]
    fn index(self) -> usize {
        self as usize
    }
}

/// Decodes the normalised series: `n` points from first value `z0` along the centres of
/// `symbols`. Every symbol must index `centres`, and every centre length must be > 0 (the
/// segment reader checks both before any decode).
pub fn decode_normalized<S: SymbolIndex>(
    n: usize,
    z0: f64,
    symbols: &[S],
    centres: &[[f64; 2]],
) -> Vec<f64> {
    let mut out = Vec::with_capacity(n);
    decode_into(n, z0, symbols, centres, &mut out);
    out
}

/// As [`decode_normalized`], appending to `out` (which is cleared first).
pub fn decode_into<S: SymbolIndex>(
    n: usize,
    z0: f64,
    symbols: &[S],
    centres: &[[f64; 2]],
    out: &mut Vec<f64>,
) {
    out.clear();
    if n == 0 {
        return;
    }
    out.push(z0);
    if n == 1 {
        return;
    }
    if symbols.is_empty() {
        out.resize(n, z0);
        return;
    }
    let total: f64 = symbols.iter().map(|&s| centres[s.index()][0]).sum();
    let stretch = (n - 1) as f64 / total;
    // Piece by piece: (t0, v0) → (t1, v1) in stretched time takes every sample t < n − 1 with
    // t ≤ t1 that an earlier piece did not take.
    let (mut t0, mut v0) = (0.0f64, z0);
    let mut cum = 0.0f64;
    let mut i = 1usize;
    for &s in symbols {
        let c = centres[s.index()];
        cum += c[0];
        let (t1, v1) = (cum * stretch, v0 + c[1]);
        while i < n - 1 && (i as f64) <= t1 {
            let t = i as f64;
            out.push(if t1 > t0 {
                v0 + (v1 - v0) * (t - t0) / (t1 - t0)
            } else {
                v1
            });
            i += 1;
        }
        (t0, v0) = (t1, v1);
    }
    // Samples past the last stretched vertex (rounding) take its value; so does the final
    // sample, whatever rounding did to the stretched times.
    out.resize(n, v0);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn exact_centres_give_the_polygon() {
        let centres = [[3.0, 3.0], [2.0, -1.0]];
        let z = decode_normalized(6, 1.0, &[0u32, 1], &centres);
        assert_eq!(z, vec![1.0, 2.0, 3.0, 4.0, 3.5, 3.0]);
    }

    #[test]
    fn stretches_to_the_stored_length() {
        // Centres sum to 4 but the series has 9 points (8 intervals): time doubles.
        let centres = [[2.0, 2.0]];
        let z = decode_normalized(9, 0.0, &[0u32, 0], &centres);
        assert_eq!(z.len(), 9);
        let expect: Vec<f64> = (0..9).map(|i| i as f64 * 0.5).collect();
        for (a, b) in z.iter().zip(&expect) {
            assert!((a - b).abs() < 1e-12, "{z:?}");
        }
    }

    #[test]
    fn tiny_series() {
        assert_eq!(decode_normalized::<u32>(1, 2.5, &[], &[]), vec![2.5]);
        assert_eq!(
            decode_normalized(2, 2.5, &[0u32], &[[0.3, 1.0]]),
            vec![2.5, 3.5]
        );
        assert!(decode_normalized::<u32>(0, 1.0, &[], &[]).is_empty());
    }

    proptest! {
        #[test]
        fn decoded_length_is_n(n in 2usize..500, syms in prop::collection::vec(0u32..4, 1..60), lens in prop::collection::vec(0.01f64..30.0, 4)) {
            let centres: Vec<[f64; 2]> = lens.iter().enumerate().map(|(i, &l)| [l, i as f64 - 1.5]).collect();
            let z = decode_normalized(n, 0.25, &syms, &centres);
            prop_assert_eq!(z.len(), n);
            prop_assert_eq!(z[0], 0.25);
            let end = syms.iter().fold(0.25, |a, &s| a + centres[s as usize][1]);
            prop_assert!((z[n - 1] - end).abs() < 1e-9);
            prop_assert!(z.iter().all(|v| v.is_finite()));
        }
    }
}
