//! Squared Euclidean distance, plain and early-abandoning (Rakthanmanon et al. 2012, UCR Suite).

/// `Σ (a_i − b_i)²`.
pub fn distance_sq(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let chunks = a.len() / 4;
    for c in 0..chunks {
        for l in 0..4 {
            let d = a[4 * c + l] - b[4 * c + l];
            acc[l] += d * d;
        }
    }
    let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for i in 4 * chunks..a.len() {
        let d = a[i] - b[i];
        s += d * d;
    }
    s
}

/// `Σ (a_i − b_i)²`, or any value `> limit` as soon as the running sum exceeds `limit`.
/// Returns `(sum, abandoned)`.
pub fn distance_sq_bounded(a: &[f64], b: &[f64], limit: f64) -> (f64, bool) {
    let mut s = 0.0f64;
    let n = a.len();
    let mut i = 0;
    while i < n {
        let end = (i + 16).min(n);
        let mut part = 0.0f64;
        for j in i..end {
            let d = a[j] - b[j];
            part += d * d;
        }
        s += part;
        if s > limit {
            return (s, true);
        }
        i = end;
    }
    (s, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn matches_the_obvious_sum(v in prop::collection::vec((-10.0f64..10.0, -10.0f64..10.0), 0..100), limit in 0.0f64..500.0) {
            let a: Vec<f64> = v.iter().map(|p| p.0).collect();
            let b: Vec<f64> = v.iter().map(|p| p.1).collect();
            let naive: f64 = a.iter().zip(&b).map(|(x, y)| (x - y) * (x - y)).sum();
            prop_assert!((distance_sq(&a, &b) - naive).abs() <= 1e-9 * (1.0 + naive));
            let (s, abandoned) = distance_sq_bounded(&a, &b, limit);
            if abandoned {
                prop_assert!(naive > limit - 1e-9 * (1.0 + naive));
            } else {
                prop_assert!((s - naive).abs() <= 1e-9 * (1.0 + naive));
            }
        }
    }
}
