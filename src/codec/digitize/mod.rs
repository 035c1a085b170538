//! Digitization: the pieces of all series → one alphabet of symbols (JABBA).
//!
//! Chen (2024), JABBA: pieces of every series are clustered *jointly*, so a symbol means the same
//! shape in every series. Each piece `(len, inc)` is first scaled to `(scl·len/σ_len, inc/σ_inc)`
//! with the standard deviations over all pieces (a deviation of 0 counts as 1), then clustered by
//! greedy aggregation ([`ga`], fABBA, Chen & Güttel 2022) or sampling k-means++ ([`kmeans`], JABBA
//! Algorithm 3).
//!
//! A symbol's centre is the **mean of its members** in original units. (The reference's joint
//! modes use each group's starting piece instead; means roughly halve the error.)
//!
//! `alpha = auto` is JABBA's error-bound choice (their eq. 20, with η = 3):
//! `alpha = (30·(S − N)·tol⁴ / (81·S))^¼` in our `tol` convention (`tol⁴` = the packages' `tol²`),
//! with S the number of values and N the number of pieces.

pub mod ga;
pub mod kmeans;

use super::compress::Piece;

/// How the pieces are clustered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Digitizer {
    /// Greedy aggregation with radius `alpha` (None: JABBA's automatic alpha).
    Greedy {
        /// Aggregation radius in scaled units.
        alpha: Option<f64>,
    },
    /// Sampling k-means++ with `k` symbols.
    KMeans {
        /// Number of symbols wanted (capped at the number of distinct pieces).
        k: usize,
        /// Fraction of pieces sampled to fit the centres (JABBA's `r`).
        sample_rate: f64,
        /// Seed of the sampler and of k-means++.
        seed: u64,
    },
}

/// Result of digitization.
#[derive(Debug, Clone, PartialEq)]
pub struct Clustering {
    /// Symbol of each input piece.
    pub labels: Vec<u32>,
    /// Centre `[len, inc]` of each symbol, in original units (mean of members).
    pub centres: Vec<[f64; 2]>,
    /// Factors that scale `[len, inc]` into the clustering space: `[scl/σ_len, 1/σ_inc]`.
    pub weights: [f64; 2],
    /// The aggregation radius used (greedy aggregation only).
    pub alpha: Option<f64>,
}

/// Renumbers labels `0..k` in order of first use, so that no symbol is empty.
fn compact(mut labels: Vec<u32>) -> (Vec<u32>, usize) {
    let size = labels.iter().map(|&l| l as usize + 1).max().unwrap_or(0);
    let mut map = vec![u32::MAX; size];
    let mut next = 0u32;
    for l in labels.iter_mut() {
        let m = &mut map[*l as usize];
        if *m == u32::MAX {
            *m = next;
            next += 1;
        }
        *l = *m;
    }
    (labels, next as usize)
}

/// JABBA's automatic alpha for `values` points compressed into `pieces` pieces at `tol`.
pub fn auto_alpha(tol: f64, values: u64, pieces: u64) -> f64 {
    if values == 0 {
        return 0.0;
    }
    let s = values as f64;
    let n = pieces as f64;
    (30.0 * (s - n).max(0.0) * tol.powi(4) / (81.0 * s)).powf(0.25)
}

/// The scaling weights `[scl/σ_len, 1/σ_inc]` over all pieces.
pub fn weights(pieces: &[Piece], scl: f64) -> [f64; 2] {
    let n = pieces.len().max(1) as f64;
    let mean_len = pieces.iter().map(|p| p.len as f64).sum::<f64>() / n;
    let mean_inc = pieces.iter().map(|p| p.inc).sum::<f64>() / n;
    let var_len = pieces
        .iter()
        .map(|p| (p.len as f64 - mean_len).powi(2))
        .sum::<f64>()
        / n;
    let var_inc = pieces
        .iter()
        .map(|p| (p.inc - mean_inc).powi(2))
        .sum::<f64>()
        / n;
    let std = |v: f64| {
        if v > 0.0 && v.is_finite() {
            v.sqrt()
        } else {
            1.0
        }
    };
    [scl / std(var_len), 1.0 / std(var_inc)]
}

/// Clusters `pieces` jointly. `values` is the number of points they came from (for auto alpha).
pub fn digitize(
    pieces: &[Piece],
    digitizer: Digitizer,
    scl: f64,
    tol: f64,
    values: u64,
) -> Clustering {
    let w = weights(pieces, scl);
    let scaled: Vec<[f64; 2]> = pieces
        .iter()
        .map(|p| [p.len as f64 * w[0], p.inc * w[1]])
        .collect();
    let (labels, alpha) = match digitizer {
        Digitizer::Greedy { alpha } => {
            let a = alpha.unwrap_or_else(|| auto_alpha(tol, values, pieces.len() as u64));
            (ga::aggregate(&scaled, a), Some(a))
        }
        Digitizer::KMeans {
            k,
            sample_rate,
            seed,
        } => (kmeans::fit_predict(&scaled, k, sample_rate, seed), None),
    };
    let (labels, k) = compact(labels);
    let mut sums = vec![[0.0f64; 3]; k];
    for (p, &l) in pieces.iter().zip(&labels) {
        let s = &mut sums[l as usize];
        s[0] += p.len as f64;
        s[1] += p.inc;
        s[2] += 1.0;
    }
    let centres = sums
        .iter()
        .map(|s| [s[0] / s[2].max(1.0), s[1] / s[2].max(1.0)])
        .collect();
    Clustering {
        labels,
        centres,
        weights: w,
        alpha,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_alpha_matches_the_reference_formula() {
        // fABBA/JABBA: (30 (S−N) tol_pkg² / (3⁴ S))^¼ with tol_pkg = tol².
        let tol_pkg: f64 = 0.05;
        let expect = (30.0 * (1000.0 - 100.0) * tol_pkg * tol_pkg / (81.0 * 1000.0)).powf(0.25);
        let got = auto_alpha(tol_pkg.sqrt(), 1000, 100);
        assert!((got - expect).abs() < 1e-12, "{got} vs {expect}");
    }

    #[test]
    fn centres_are_member_means() {
        let pieces = [
            Piece { len: 2, inc: 1.0 },
            Piece { len: 2, inc: 1.2 },
            Piece { len: 9, inc: -5.0 },
        ];
        let c = digitize(
            &pieces,
            Digitizer::Greedy { alpha: Some(0.5) },
            1.0,
            0.1,
            20,
        );
        assert_eq!(c.labels[0], c.labels[1]);
        assert_ne!(c.labels[0], c.labels[2]);
        let a = c.centres[c.labels[0] as usize];
        assert!((a[0] - 2.0).abs() < 1e-12 && (a[1] - 1.1).abs() < 1e-12);
    }
}
