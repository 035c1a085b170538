//! Lower bounds of DTW for pruning (Rakthanmanon et al. 2012; Keogh & Ratanamahatana 2005;
//! Lemire 2009 for LB_Improved).
//!
//! - [`lb_kim_fl`]: the first and the last points are matched by every warping path.
//! - [`Envelope`]: `U_i = max(a[i−r..=i+r])`, `L_i = min(...)`, in O(n) (van Herk 1992; Gil &
//!   Werman 1993).
//! - [`lb_keogh_sq`]: `Σ_j d(b_j, [L_j, U_j])²`, where `d` is the distance to the interval: every
//!   column `j` of a path within the band meets some `a_i` with `|i − j| ≤ r`.
//!
//! # Invariants
//! Each bound is ≤ the squared DTW distance within the same band (property tests below).

/// `(a_0 − b_0)² + (a_{n−1} − b_{n−1})²` (one term when n = 1).
pub fn lb_kim_fl(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len();
    if n == 0 {
        return 0.0;
    }
    let d0 = a[0] - b[0];
    if n == 1 {
        return d0 * d0;
    }
    let d1 = a[n - 1] - b[n - 1];
    d0 * d0 + d1 * d1
}

/// Upper and lower envelope of a series for band `r`.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    /// `U_i = max(a[i−r..=i+r])`.
    pub upper: Vec<f64>,
    /// `L_i = min(a[i−r..=i+r])`.
    pub lower: Vec<f64>,
}

impl Envelope {
    /// The envelope of `a` for band `r` (van Herk / Gil-Werman: blocks of the window's size,
    /// prefix and suffix extremes within each block, three comparisons per point whatever `r`).
    pub fn new(a: &[f64], r: usize) -> Envelope {
        let mut e = Envelope {
            upper: Vec::new(),
            lower: Vec::new(),
        };
        e.fill(a, r, &mut Vec::new());
        e
    }

    /// As [`Envelope::new`], into `self`, with `work` as reusable scratch space: no allocation
    /// once the buffers have grown to the series' length. `a` must hold no NaN.
    ///
    /// The series is padded with `r` copies of its first value on the left and of its last on
    /// the right: a window clipped at an end contains that end's value, so the copies change no
    /// extreme, and every window then has exactly `2r + 1` points.
    pub fn fill(&mut self, a: &[f64], r: usize, work: &mut Vec<f64>) {
        self.upper.clear();
        self.lower.clear();
        let n = a.len();
        if n == 0 {
            return;
        }
        let r = r.min(n);
        let w = 2 * r + 1;
        let len = n + 2 * r;
        // Every cell of the five rows is written below before it is read: no reset needed.
        if work.len() < 5 * len {
            work.resize(5 * len, 0.0);
        }
        let (pad, rest) = work[..5 * len].split_at_mut(len);
        let (pmax, rest) = rest.split_at_mut(len);
        let (pmin, rest) = rest.split_at_mut(len);
        let (smax, smin) = rest.split_at_mut(len);
        pad[..r].fill(a[0]);
        pad[r..r + n].copy_from_slice(a);
        pad[r + n..].fill(a[n - 1]);
        let mut s = 0;
        while s < len {
            let e = (s + w).min(len);
            // Prefix extremes forward from `s` and suffix extremes backward from `e − 1` in one
            // loop: four independent running values, kept in registers.
            let (mut hi_p, mut lo_p) = (f64::NEG_INFINITY, f64::INFINITY);
            let (mut hi_s, mut lo_s) = (f64::NEG_INFINITY, f64::INFINITY);
            for m in 0..e - s {
                let (f, b) = (s + m, e - 1 - m);
                let (v, u) = (pad[f], pad[b]);
                hi_p = if v > hi_p { v } else { hi_p };
                lo_p = if v < lo_p { v } else { lo_p };
                hi_s = if u > hi_s { u } else { hi_s };
                lo_s = if u < lo_s { u } else { lo_s };
                pmax[f] = hi_p;
                pmin[f] = lo_p;
                smax[b] = hi_s;
                smin[b] = lo_s;
            }
            s = e;
        }
        // Window of point i in padded coordinates: [i, i + 2r], across at most two blocks.
        let (hi, lo) = (&pmax[2 * r..], &pmin[2 * r..]);
        self.upper
            .extend((0..n).map(|i| if smax[i] > hi[i] { smax[i] } else { hi[i] }));
        self.lower
            .extend((0..n).map(|i| if smin[i] < lo[i] { smin[i] } else { lo[i] }));
    }
}

/// Squared distance of `v` to the interval `[lo, hi]`.
#[inline]
pub fn interval_dist_sq(v: f64, lo: f64, hi: f64) -> f64 {
    if v > hi {
        (v - hi) * (v - hi)
    } else if v < lo {
        (lo - v) * (lo - v)
    } else {
        0.0
    }
}

/// LB_Keogh: `Σ_j d(b_j, [L_j, U_j])²` for the envelope of the other series; abandons once the
/// sum exceeds `limit` (returns the partial sum, which is then `> limit`).
pub fn lb_keogh_sq(env: &Envelope, b: &[f64], limit: f64) -> f64 {
    let mut s = 0.0;
    for (j, &v) in b.iter().enumerate() {
        s += interval_dist_sq(v, env.lower[j], env.upper[j]);
        if s > limit {
            return s;
        }
    }
    s
}

/// Reusable buffers of [`lb_improved_sq`].
#[derive(Debug, Clone, Default)]
pub struct LbScratch {
    projection: Vec<f64>,
    terms: Vec<f64>,
    envelope: Option<Envelope>,
    work: Vec<f64>,
}

/// LB_Improved (Lemire 2009): LB_Keogh of `b` against `env` (the envelope of `a` for band `r`),
/// plus LB_Keogh of `a` against the envelope of `b` projected onto `env`. Abandons past `limit`.
pub fn lb_improved_sq(
    a: &[f64],
    env: &Envelope,
    b: &[f64],
    r: usize,
    limit: f64,
    scratch: &mut LbScratch,
) -> f64 {
    let mut terms = std::mem::take(&mut scratch.terms);
    let s = lb_improved_terms_sq(a, env, b, r, limit, scratch, &mut terms);
    scratch.terms = terms;
    s
}

/// As [`lb_improved_sq`], also leaving in `terms` the LB_Keogh terms of its first part (those of
/// [`lb_keogh_terms`] for `env` and `b`, bit for bit) when it does not abandon there.
pub fn lb_improved_terms_sq(
    a: &[f64],
    env: &Envelope,
    b: &[f64],
    r: usize,
    limit: f64,
    scratch: &mut LbScratch,
    terms: &mut Vec<f64>,
) -> f64 {
    let mut s = 0.0;
    let projection = &mut scratch.projection;
    projection.clear();
    terms.clear();
    for (j, &v) in b.iter().enumerate() {
        let h = v.clamp(env.lower[j], env.upper[j]);
        let t = (v - h) * (v - h);
        s += t;
        terms.push(t);
        projection.push(h);
    }
    if s > limit {
        return s;
    }
    let penv = scratch.envelope.get_or_insert_with(|| Envelope {
        upper: Vec::new(),
        lower: Vec::new(),
    });
    penv.fill(projection, r, &mut scratch.work);
    for (i, &v) in a.iter().enumerate() {
        s += interval_dist_sq(v, penv.lower[i], penv.upper[i]);
        if s > limit {
            return s;
        }
    }
    s
}

/// LB_Keogh's per-point terms, for the cumulative bound of early-abandoning DTW.
pub fn lb_keogh_terms(env: &Envelope, b: &[f64], out: &mut Vec<f64>) {
    keogh_terms(&env.lower, &env.upper, b, out);
}

/// LB_Keogh's per-point terms `d(b_j, [lower_j, upper_j])²` for an envelope given as slices
/// (`lower ≤ upper`, no NaN), without branches so that it vectorises: the values of
/// [`interval_dist_sq`], bit for bit (one of the two parts is always zero).
pub fn keogh_terms(lower: &[f64], upper: &[f64], b: &[f64], out: &mut Vec<f64>) {
    out.clear();
    out.extend(b.iter().zip(lower.iter().zip(upper)).map(|(&v, (&lo, &hi))| {
        let d = (v - hi).max(0.0) + (lo - v).max(0.0);
        d * d
    }));
}

/// LB_Keogh `Σ_j d(b_j, [lower_j, upper_j])²` without abandoning, summed in eight independent
/// running sums so that it vectorises: equal to [`lb_keogh_sq`]'s sum up to the rounding of a
/// different order of additions (callers compare it with a slack, as every bound). Compiled
/// for AVX-512, AVX2 and the x86-64 baseline, chosen at run time; all three give the same bits.
pub fn keogh_sum(lower: &[f64], upper: &[f64], b: &[f64]) -> f64 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the processor has AVX-512F, checked just above; that is the only
            // requirement of `keogh_sum_avx512`.
            return unsafe { keogh_sum_avx512(lower, upper, b) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the processor has AVX2, checked just above; that is the only requirement
            // of `keogh_sum_avx2`.
            return unsafe { keogh_sum_avx2(lower, upper, b) };
        }
    }
    keogh_sum_baseline(lower, upper, b)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn keogh_sum_avx512(lower: &[f64], upper: &[f64], b: &[f64]) -> f64 {
    keogh_sum_body(lower, upper, b)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn keogh_sum_avx2(lower: &[f64], upper: &[f64], b: &[f64]) -> f64 {
    keogh_sum_body(lower, upper, b)
}

/// [`keogh_sum`] with the baseline instructions (for the test that compares the variants).
pub fn keogh_sum_baseline(lower: &[f64], upper: &[f64], b: &[f64]) -> f64 {
    keogh_sum_body(lower, upper, b)
}

#[inline(always)]
fn keogh_sum_body(lower: &[f64], upper: &[f64], b: &[f64]) -> f64 {
    const W: usize = 8;
    let n = b.len().min(lower.len()).min(upper.len());
    let (b, lower, upper) = (&b[..n], &lower[..n], &upper[..n]);
    let mut acc = [0.0f64; W];
    let whole = n - n % W;
    for ((v, lo), hi) in b[..whole]
        .chunks_exact(W)
        .zip(lower[..whole].chunks_exact(W))
        .zip(upper[..whole].chunks_exact(W))
    {
        for k in 0..W {
            let d = (v[k] - hi[k]).max(0.0) + (lo[k] - v[k]).max(0.0);
            acc[k] += d * d;
        }
    }
    let mut s = acc.iter().sum::<f64>();
    for j in whole..n {
        let d = (b[j] - upper[j]).max(0.0) + (lower[j] - b[j]).max(0.0);
        s += d * d;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distance::dtw;
    use proptest::prelude::*;

    fn naive_env(a: &[f64], r: usize) -> Envelope {
        let n = a.len();
        let w = |i: usize| &a[i.saturating_sub(r)..=(i + r).min(n - 1)];
        Envelope {
            upper: (0..n)
                .map(|i| w(i).iter().copied().fold(f64::NEG_INFINITY, f64::max))
                .collect(),
            lower: (0..n)
                .map(|i| w(i).iter().copied().fold(f64::INFINITY, f64::min))
                .collect(),
        }
    }

    proptest! {
        #[test]
        fn branch_free_keogh_equals_the_scalar_terms(
            a in prop::collection::vec(-5.0f64..5.0, 1..80),
            b in prop::collection::vec(-5.0f64..5.0, 80),
            r in 0usize..20,
        ) {
            let env = Envelope::new(&a, r);
            let b = &b[..a.len()];
            let mut terms = Vec::new();
            keogh_terms(&env.lower, &env.upper, b, &mut terms);
            let scalar: Vec<f64> = (0..a.len())
                .map(|j| interval_dist_sq(b[j], env.lower[j], env.upper[j]))
                .collect();
            prop_assert_eq!(terms.iter().map(|t| t.to_bits()).collect::<Vec<_>>(),
                scalar.iter().map(|t| t.to_bits()).collect::<Vec<_>>());
            let serial = lb_keogh_sq(&env, b, f64::INFINITY);
            let sum = keogh_sum(&env.lower, &env.upper, b);
            prop_assert!((sum - serial).abs() <= 1e-12 * serial.max(1.0), "{} vs {}", sum, serial);
            // The dispatched variant (AVX-512 or AVX2 where the processor has them) and the
            // baseline give the same bits.
            prop_assert_eq!(sum.to_bits(), keogh_sum_baseline(&env.lower, &env.upper, b).to_bits());
        }

        #[test]
        fn envelope_equals_window_min_max(a in prop::collection::vec(-5.0f64..5.0, 1..80), r in 0usize..20) {
            prop_assert_eq!(Envelope::new(&a, r), naive_env(&a, r));
        }

        #[test]
        fn bounds_never_exceed_dtw(v in prop::collection::vec((-3.0f64..3.0, -3.0f64..3.0), 1..50), r in 0usize..12) {
            let a: Vec<f64> = v.iter().map(|p| p.0).collect();
            let b: Vec<f64> = v.iter().map(|p| p.1).collect();
            let d = dtw::distance_sq_naive(&a, &b, r.min(a.len()));
            prop_assert!(lb_kim_fl(&a, &b) <= d + 1e-9);
            prop_assert!(lb_keogh_sq(&Envelope::new(&a, r), &b, f64::INFINITY) <= d + 1e-9);
            prop_assert!(lb_keogh_sq(&Envelope::new(&b, r), &a, f64::INFINITY) <= d + 1e-9);
            let mut scratch = LbScratch::default();
            let env = Envelope::new(&a, r);
            let imp = lb_improved_sq(&a, &env, &b, r, f64::INFINITY, &mut scratch);
            prop_assert!(imp <= d + 1e-9, "LB_Improved {imp} > DTW {d}");
            prop_assert!(imp + 1e-12 >= lb_keogh_sq(&env, &b, f64::INFINITY));
            let (mut terms, mut want) = (Vec::new(), Vec::new());
            let imp2 = lb_improved_terms_sq(&a, &env, &b, r, f64::INFINITY, &mut scratch, &mut terms);
            prop_assert_eq!(imp2.to_bits(), imp.to_bits());
            lb_keogh_terms(&env, &b, &mut want);
            prop_assert_eq!(
                terms.iter().map(|t| t.to_bits()).collect::<Vec<_>>(),
                want.iter().map(|t| t.to_bits()).collect::<Vec<_>>()
            );
        }
    }
}
