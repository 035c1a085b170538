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
///
/// Compiled for AVX-512 as well, chosen at run time where the processor has it: a piece's
/// samples are then computed eight at a time. Both give the same bits (IEEE operations only).
///
/// Kept out of line: inlined into its callers, the loop measured about 10 % slower in search.
#[inline(never)]
pub fn decode_into<S: SymbolIndex>(
    n: usize,
    z0: f64,
    symbols: &[S],
    centres: &[[f64; 2]],
    out: &mut Vec<f64>,
) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the processor has AVX-512F, checked just above; that is the only
            // requirement of `decode_avx512`.
            unsafe { decode_avx512(n, z0, symbols, centres, out) };
            return;
        }
    }
    decode_impl(n, z0, symbols, centres, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn decode_avx512<S: SymbolIndex>(
    n: usize,
    z0: f64,
    symbols: &[S],
    centres: &[[f64; 2]],
    out: &mut Vec<f64>,
) {
    decode_impl(n, z0, symbols, centres, out)
}

#[inline(always)]
fn decode_impl<S: SymbolIndex>(
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
    out.resize(n, z0);
    if n == 1 || symbols.is_empty() {
        return;
    }
    let total: f64 = symbols.iter().map(|&s| centres[s.index()][0]).sum();
    let stretch = (n - 1) as f64 / total;
    // Piece by piece: (t0, v0) → (t1, v1) in stretched time takes every sample t < n − 1 with
    // t ≤ t1 that an earlier piece did not take: samples i..end with end = min(⌊t1⌋ + 1, n − 1).
    // Each is computed as `v0 + (v1 − v0)·(t − t0)/(t1 − t0)` on its own, so a piece's samples
    // form one loop without a carried value, which the compiler turns into vector operations.
    let (mut t0, mut v0) = (0.0f64, z0);
    let mut cum = 0.0f64;
    let mut i = 1usize;
    let last = n - 1;
    for &s in symbols {
        let c = centres[s.index()];
        cum += c[0];
        let (t1, v1) = (cum * stretch, v0 + c[1]);
        if i < last && t1 >= i as f64 {
            // ⌊t1⌋ + 1 as an index, saturating (t1 ≥ i ≥ 1 here, so it is not negative).
            let end = if t1 < last as f64 { t1 as usize + 1 } else { last }.min(last);
            let piece = &mut out[i..end];
            if t1 > t0 {
                let (dv, dt) = (v1 - v0, t1 - t0);
                for (m, o) in piece.iter_mut().enumerate() {
                    let t = (i + m) as f64;
                    *o = v0 + dv * (t - t0) / dt;
                }
            } else {
                piece.fill(v1);
            }
            i = end;
        }
        (t0, v0) = (t1, v1);
    }
    // Samples past the last stretched vertex (rounding) take its value; so does the final
    // sample, whatever rounding did to the stretched times.
    out[i..].fill(v0);
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

    /// The sample-by-sample decoder this module replaced: the oracle of the piece-wise one.
    fn decode_naive(n: usize, z0: f64, symbols: &[u32], centres: &[[f64; 2]]) -> Vec<f64> {
        let mut out = vec![z0];
        if n <= 1 {
            out.truncate(n);
            return out;
        }
        if symbols.is_empty() {
            out.resize(n, z0);
            return out;
        }
        let total: f64 = symbols.iter().map(|&s| centres[s as usize][0]).sum();
        let stretch = (n - 1) as f64 / total;
        let (mut t0, mut v0) = (0.0f64, z0);
        let mut cum = 0.0f64;
        let mut i = 1usize;
        for &s in symbols {
            let c = centres[s as usize];
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
        out.resize(n, v0);
        out
    }

    proptest! {
        /// Bit for bit the sample-by-sample decoder, including pieces shorter than a sample and
        /// centres whose stretched times overshoot the end.
        #[test]
        fn piecewise_equals_sample_by_sample(
            n in 0usize..400,
            syms in prop::collection::vec(0u32..5, 0..80),
            lens in prop::collection::vec(1e-3f64..40.0, 5),
            incs in prop::collection::vec(-5.0f64..5.0, 5),
            z0 in -3.0f64..3.0,
        ) {
            let centres: Vec<[f64; 2]> = lens.iter().zip(&incs).map(|(&l, &v)| [l, v]).collect();
            let got = decode_normalized(n, z0, &syms, &centres);
            let want = decode_naive(n, z0, &syms, &centres);
            prop_assert_eq!(
                got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                want.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
            );
        }

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
