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
        Envelope {
            upper: window_extreme(a, r, f64::NEG_INFINITY, f64::max),
            lower: window_extreme(a, r, f64::INFINITY, f64::min),
        }
    }
}

/// `out[i] = op over a[i−r..=i+r]` (clipped to the series), with `pad` the identity of `op`.
fn window_extreme(a: &[f64], r: usize, pad: f64, op: fn(f64, f64) -> f64) -> Vec<f64> {
    let n = a.len();
    if n == 0 {
        return Vec::new();
    }
    let r = r.min(n);
    let w = 2 * r + 1;
    // Padded series: r identities on each side, so every window has exactly w points.
    let len = n + 2 * r;
    let at = |k: usize| if k < r || k >= r + n { pad } else { a[k - r] };
    let mut prefix = vec![pad; len];
    let mut suffix = vec![pad; len];
    for k in 0..len {
        prefix[k] = if k % w == 0 {
            at(k)
        } else {
            op(prefix[k - 1], at(k))
        };
    }
    for k in (0..len).rev() {
        suffix[k] = if k % w == w - 1 || k == len - 1 {
            at(k)
        } else {
            op(suffix[k + 1], at(k))
        };
    }
    // Window of point i in padded coordinates: [i, i + 2r].
    (0..n).map(|i| op(suffix[i], prefix[i + 2 * r])).collect()
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

/// LB_Improved (Lemire 2009): LB_Keogh of `b` against `env` (the envelope of `a` for band `r`),
/// plus LB_Keogh of `a` against the envelope of `b` projected onto `env`. Abandons past `limit`.
pub fn lb_improved_sq(
    a: &[f64],
    env: &Envelope,
    b: &[f64],
    r: usize,
    limit: f64,
    projection: &mut Vec<f64>,
) -> f64 {
    let mut s = 0.0;
    projection.clear();
    for (j, &v) in b.iter().enumerate() {
        let h = v.clamp(env.lower[j], env.upper[j]);
        s += (v - h) * (v - h);
        projection.push(h);
    }
    if s > limit {
        return s;
    }
    let penv = Envelope::new(projection, r);
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
    out.clear();
    out.extend(
        b.iter()
            .enumerate()
            .map(|(j, &v)| interval_dist_sq(v, env.lower[j], env.upper[j])),
    );
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
            let mut scratch = Vec::new();
            let env = Envelope::new(&a, r);
            let imp = lb_improved_sq(&a, &env, &b, r, f64::INFINITY, &mut scratch);
            prop_assert!(imp <= d + 1e-9, "LB_Improved {imp} > DTW {d}");
            prop_assert!(imp + 1e-12 >= lb_keogh_sq(&env, &b, f64::INFINITY));
        }
    }
}
