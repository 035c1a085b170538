//! Piecewise Aggregate Approximation (Keogh et al. 2001; Yi & Faloutsos 2000).
//!
//! A series of length n is cut into `w` segments `[⌊j·n/w⌋, ⌊(j+1)·n/w⌋)`; segment j has
//! `ℓ_j` points and the PAA value is their mean. When `w` does not divide `n` the segments differ
//! in length by at most one; every lower bound weights segment j by its own `ℓ_j` (Cauchy-Schwarz
//! per segment: `Σ_{i∈j} (q_i − x_i)² ≥ ℓ_j·(q̄_j − x̄_j)²`), so it stays a lower bound for any n.
//! Series shorter than `w` use `w = n` (one point per segment).

/// The word length used for series of length `n` when `word_len` is asked for.
pub fn word_len_for(n: usize, word_len: usize) -> usize {
    word_len.min(n).max(1)
}

/// Segment boundaries: segment j is `bounds[j]..bounds[j+1]`.
pub fn bounds(n: usize, w: usize) -> Vec<usize> {
    (0..=w).map(|j| j * n / w).collect()
}

/// The PAA of `x` into `w` segments.
pub fn paa(x: &[f64], w: usize) -> Vec<f64> {
    let b = bounds(x.len(), w);
    b.windows(2)
        .map(|s| x[s[0]..s[1]].iter().sum::<f64>() / (s[1] - s[0]) as f64)
        .collect()
}

/// Segment lengths `ℓ_j` as floats.
pub fn seg_lens(n: usize, w: usize) -> Vec<f64> {
    bounds(n, w)
        .windows(2)
        .map(|s| (s[1] - s[0]) as f64)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn uneven_segments() {
        assert_eq!(bounds(10, 4), vec![0, 2, 5, 7, 10]);
        assert_eq!(
            paa(&[1.0, 3.0, 2.0, 2.0, 2.0, 0.0, 4.0, 1.0, 1.0, 1.0], 4),
            vec![2.0, 2.0, 2.0, 1.0]
        );
        assert_eq!(word_len_for(5, 16), 5);
    }

    proptest! {
        #[test]
        fn weighted_paa_distance_is_a_lower_bound(v in prop::collection::vec((-3.0f64..3.0, -3.0f64..3.0), 1..100), w in 1usize..20) {
            let a: Vec<f64> = v.iter().map(|p| p.0).collect();
            let b: Vec<f64> = v.iter().map(|p| p.1).collect();
            let w = word_len_for(a.len(), w);
            let (pa, pb, l) = (paa(&a, w), paa(&b, w), seg_lens(a.len(), w));
            let lb: f64 = (0..w).map(|j| l[j] * (pa[j] - pb[j]).powi(2)).sum();
            let ed: f64 = a.iter().zip(&b).map(|(x, y)| (x - y).powi(2)).sum();
            prop_assert!(lb <= ed + 1e-9);
        }
    }
}
