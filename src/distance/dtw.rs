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
    let inf = f64::INFINITY;
    // Full-width rows; row i only writes its band [i − r, i + r], and the one cell right of the
    // band is reset so that the next row never reads a value from two rows back.
    let mut prev = vec![inf; n];
    let mut cur = vec![inf; n];
    let rest = |i: usize| tail.and_then(|t| t.get(i)).copied().unwrap_or(0.0);
    // Row 0: only steps to the right.
    let mut acc = 0.0;
    let mut row_min = inf;
    for j in 0..=r {
        let d = a[0] - b[j];
        acc += d * d;
        cur[j] = acc;
        row_min = row_min.min(acc);
    }
    if r + 1 < n {
        cur[r + 1] = inf;
    }
    if row_min + rest(0) > limit {
        return (row_min + rest(0), true);
    }
    std::mem::swap(&mut prev, &mut cur);
    for i in 1..n {
        let lo = i.saturating_sub(r);
        let hi = (i + r).min(n - 1);
        let ai = a[i];
        let mut row_min = inf;
        let mut left;
        let mut j = lo;
        if lo == 0 {
            // Column 0: only from above.
            let d = ai - b[0];
            left = prev[0] + d * d;
            cur[0] = left;
            row_min = left;
            j = 1;
        } else {
            left = inf;
        }
        while j <= hi {
            let d = ai - b[j];
            let best = prev[j].min(prev[j - 1]).min(left);
            left = best + d * d;
            cur[j] = left;
            row_min = row_min.min(left);
            j += 1;
        }
        if hi + 1 < n {
            cur[hi + 1] = inf;
        }
        let rest = rest(i);
        if row_min + rest > limit {
            return (row_min + rest, true);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    (prev[n - 1], false)
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
