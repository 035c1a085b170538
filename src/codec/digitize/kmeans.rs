//! Sampling k-means++ (JABBA: Chen 2024, Algorithm 3).
//!
//! A uniform sample of `max(k, r·N)` points (without replacement, seeded) is clustered by Lloyd's
//! algorithm from a k-means++ seeding (Arthur & Vassilvitskii 2007); every point is then labelled
//! with its nearest centre. Deterministic for a given seed: the random stream is ChaCha8 and all
//! sums run in a fixed order.
//!
//! # Invariants
//! - Every label is the index of a nearest final sample centre (ties to the lowest index).
//! - `k` is capped at the number of distinct points; no cluster of the sample is empty.

use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// Lloyd iterations at most (JABBA's sampled k-means uses 10; centres move little after 25).
const MAX_ITER: usize = 25;

/// Fits `k` centres on a sample of `points` and labels every point by its nearest centre.
pub fn fit_predict(points: &[[f64; 2]], k: usize, sample_rate: f64, seed: u64) -> Vec<u32> {
    if points.is_empty() {
        return Vec::new();
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n = points.len();
    let want = ((sample_rate.clamp(0.0, 1.0) * n as f64) as usize)
        .max(k)
        .min(n);
    let mut idx: Vec<usize> = sample(&mut rng, n, want).into_vec();
    idx.sort_unstable();
    let data: Vec<[f64; 2]> = idx.iter().map(|&i| points[i]).collect();
    let mut distinct = data.clone();
    distinct.sort_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
    distinct.dedup();
    let k = k.clamp(1, distinct.len());
    let mut centres = seed_plus_plus(&data, k, &mut rng);
    for _ in 0..MAX_ITER {
        let labels = nearest_all(&data, &centres);
        let mut sums = vec![[0.0f64; 3]; k];
        for (p, &l) in data.iter().zip(&labels) {
            let s = &mut sums[l as usize];
            s[0] += p[0];
            s[1] += p[1];
            s[2] += 1.0;
        }
        let mut next: Vec<[f64; 2]> = sums
            .iter()
            .zip(&centres)
            .map(|(s, c)| {
                if s[2] > 0.0 {
                    [s[0] / s[2], s[1] / s[2]]
                } else {
                    *c
                }
            })
            .collect();
        // An empty cluster takes the point farthest from its centre.
        for c in 0..k {
            if sums[c][2] == 0.0 {
                let far = (0..data.len())
                    .max_by(|&a, &b| {
                        dist_sq(data[a], next[labels[a] as usize])
                            .total_cmp(&dist_sq(data[b], next[labels[b] as usize]))
                            .then(b.cmp(&a))
                    })
                    .unwrap_or(0);
                next[c] = data[far];
            }
        }
        let shift: f64 = next
            .iter()
            .zip(&centres)
            .map(|(a, b)| dist_sq(*a, *b))
            .sum();
        centres = next;
        if shift <= 1e-12 {
            break;
        }
    }
    nearest_all(points, &centres)
}

fn dist_sq(a: [f64; 2], b: [f64; 2]) -> f64 {
    (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)
}

fn nearest(p: [f64; 2], centres: &[[f64; 2]]) -> u32 {
    let mut best = (f64::INFINITY, 0u32);
    for (i, &c) in centres.iter().enumerate() {
        let d = dist_sq(p, c);
        if d < best.0 {
            best = (d, i as u32);
        }
    }
    best.1
}

fn nearest_all(points: &[[f64; 2]], centres: &[[f64; 2]]) -> Vec<u32> {
    points.par_iter().map(|&p| nearest(p, centres)).collect()
}

/// k-means++ seeding: each next centre is drawn with probability ∝ squared distance to the
/// nearest centre chosen so far.
fn seed_plus_plus(data: &[[f64; 2]], k: usize, rng: &mut ChaCha8Rng) -> Vec<[f64; 2]> {
    let mut centres = vec![data[rng.gen_range(0..data.len())]];
    let mut d: Vec<f64> = data.iter().map(|&p| dist_sq(p, centres[0])).collect();
    while centres.len() < k {
        let total: f64 = d.iter().sum();
        let pick = if total > 0.0 {
            let mut r = rng.gen::<f64>() * total;
            let mut pick = data.len() - 1;
            for (i, &di) in d.iter().enumerate() {
                if r < di {
                    pick = i;
                    break;
                }
                r -= di;
            }
            pick
        } else {
            rng.gen_range(0..data.len())
        };
        let c = data[pick];
        centres.push(c);
        for (di, &p) in d.iter_mut().zip(data) {
            *di = di.min(dist_sq(p, c));
        }
    }
    centres
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separates_obvious_clusters() {
        let mut pts = Vec::new();
        for i in 0..50 {
            let t = i as f64 * 0.001;
            pts.push([t, t]);
            pts.push([10.0 + t, 10.0 - t]);
            pts.push([-10.0 - t, 5.0 + t]);
        }
        let labels = fit_predict(&pts, 3, 0.5, 7);
        for i in 0..50 {
            assert_eq!(labels[3 * i], labels[0]);
            assert_eq!(labels[3 * i + 1], labels[1]);
            assert_eq!(labels[3 * i + 2], labels[2]);
        }
        assert!(labels[0] != labels[1] && labels[1] != labels[2] && labels[0] != labels[2]);
    }

    #[test]
    fn deterministic_for_a_seed_and_k_capped() {
        let pts: Vec<[f64; 2]> = (0..500)
            .map(|i| [(i % 17) as f64, (i % 5) as f64])
            .collect();
        let a = fit_predict(&pts, 8, 0.3, 42);
        assert_eq!(a, fit_predict(&pts, 8, 0.3, 42));
        let b = fit_predict(&[[1.0, 1.0], [1.0, 1.0]], 5, 1.0, 1);
        assert_eq!(b, vec![0, 0]);
    }
}
