//! Dynamic time warping inside a Sakoe-Chiba band, with early abandoning on a cumulative lower
//! bound (Rakthanmanon et al. 2012, UCR Suite: `cb[i]` bounds the cost still to come from row
//! `i + r + 1` onwards).

/// Squared DTW distance of equal-length `a`, `b` within band `r`.
pub fn distance_sq(a: &[f64], b: &[f64], r: usize) -> f64 {
    distance_sq_bounded(a, b, r, f64::INFINITY, None).0
}

/// Squared DTW within band `r`; abandons (returns `(value > limit, true)`) once every cell of a
/// row plus the bound on the rows still to come (`tail[i]` = lower bound of the cost contributed
/// by rows `> i`, when given) exceeds `limit`.
pub fn distance_sq_bounded(
    a: &[f64],
    b: &[f64],
    r: usize,
    limit: f64,
    tail: Option<&[f64]>,
) -> (f64, bool) {
    let n = a.len();
    if n == 0 {
        return (0.0, false);
    }
    let r = r.min(n - 1);
    let width = 2 * r + 1;
    // Two rows of the band; cell (i, j) lives at index j − i + r.
    let inf = f64::INFINITY;
    let mut prev = vec![inf; width];
    let mut cur = vec![inf; width];
    for i in 0..n {
        let lo = i.saturating_sub(r);
        let hi = (i + r).min(n - 1);
        let mut row_min = inf;
        for j in lo..=hi {
            let k = j + r - i;
            let d = a[i] - b[j];
            let cost = d * d;
            let best = if i == 0 && j == 0 {
                0.0
            } else {
                // (i−1, j) is at k+1 in prev; (i, j−1) at k−1 in cur; (i−1, j−1) at k in prev.
                let up = if i > 0 && k + 1 < width {
                    prev[k + 1]
                } else {
                    inf
                };
                let left = if j > lo && k > 0 { cur[k - 1] } else { inf };
                let diag = if i > 0 && j > 0 { prev[k] } else { inf };
                up.min(left).min(diag)
            };
            let v = best + cost;
            cur[k] = v;
            row_min = row_min.min(v);
        }
        // Cells of this row outside [lo, hi] are unreachable.
        for k in 0..width {
            let j = i as isize + k as isize - r as isize;
            if j < lo as isize || j > hi as isize {
                cur[k] = inf;
            }
        }
        let rest = tail.and_then(|t| t.get(i)).copied().unwrap_or(0.0);
        if row_min + rest > limit {
            return (row_min + rest, true);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    (prev[r], false)
}

/// The textbook full-matrix DTW within band `r`: the oracle for tests.
pub fn distance_sq_naive(a: &[f64], b: &[f64], r: usize) -> f64 {
    let n = a.len();
    let mut m = vec![vec![f64::INFINITY; n + 1]; n + 1];
    m[0][0] = 0.0;
    for i in 1..=n {
        for j in 1..=n {
            if i.abs_diff(j) > r {
                continue;
            }
            let d = a[i - 1] - b[j - 1];
            m[i][j] = d * d + m[i - 1][j].min(m[i][j - 1]).min(m[i - 1][j - 1]);
        }
    }
    m[n][n]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn small_cases() {
        assert_eq!(distance_sq(&[0.0, 1.0, 2.0], &[0.0, 1.0, 2.0], 1), 0.0);
        // A shift by one costs nothing at the ends' expense only.
        assert_eq!(distance_sq(&[0.0, 0.0, 1.0], &[0.0, 1.0, 1.0], 1), 0.0);
        assert_eq!(distance_sq(&[0.0, 0.0, 1.0], &[0.0, 1.0, 1.0], 0), 1.0);
    }

    proptest! {
        #[test]
        fn equals_full_matrix(v in prop::collection::vec((-3.0f64..3.0, -3.0f64..3.0), 1..40), r in 0usize..45) {
            let a: Vec<f64> = v.iter().map(|p| p.0).collect();
            let b: Vec<f64> = v.iter().map(|p| p.1).collect();
            let r = r.min(a.len());
            let fast = distance_sq(&a, &b, r);
            let slow = distance_sq_naive(&a, &b, r);
            prop_assert!((fast - slow).abs() <= 1e-9 * (1.0 + slow), "{fast} vs {slow}");
            prop_assert!(fast <= super::super::euclid::distance_sq(&a, &b) + 1e-9);
        }

        #[test]
        fn abandoning_is_sound(v in prop::collection::vec((-3.0f64..3.0, -3.0f64..3.0), 1..40), r in 0usize..10, limit in 0.0f64..20.0) {
            let a: Vec<f64> = v.iter().map(|p| p.0).collect();
            let b: Vec<f64> = v.iter().map(|p| p.1).collect();
            let exact = distance_sq_naive(&a, &b, r.min(a.len()));
            let (d, abandoned) = distance_sq_bounded(&a, &b, r, limit, None);
            if abandoned {
                prop_assert!(exact > limit - 1e-9);
            } else {
                prop_assert!((d - exact).abs() <= 1e-9 * (1.0 + exact));
            }
        }
    }
}
