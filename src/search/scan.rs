//! Sequential scans over plain matrices: the baselines that indexed search is measured against.
//!
//! - [`ed_scan_f32`]: exact 1-NN / k-NN by Euclidean distance over rows of `f32`, early
//!   abandoning, split over threads by rows.
//! - [`dtw_scan`]: the UCR Suite cascade (Rakthanmanon et al. 2012) over every row: LB_Kim,
//!   LB_Keogh with the query's envelope, LB_Keogh with the candidate's envelope, then banded DTW
//!   abandoning on the cumulative bound.
//!
//! Rows are compared as given (normalise them first for z-normalised search).

use rayon::prelude::*;

use super::cascade::tail_bound;
use super::topk::TopK;
use crate::distance::dtw;
use crate::distance::lb::{lb_keogh_sq, lb_keogh_terms, lb_kim_fl, Envelope};

/// The `k` rows of `data` (row-major, `n` columns) nearest to `q` by Euclidean distance, as
/// (squared distance, row) sorted by distance then row.
pub fn ed_scan_f32(data: &[f32], n: usize, q: &[f32], k: usize) -> Vec<(f64, u64)> {
    let rows = data.len() / n.max(1);
    let chunk = rows.div_ceil(rayon::current_num_threads().max(1)).max(1);
    let parts: Vec<Vec<(f64, u64)>> = (0..rows)
        .step_by(chunk)
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|start| {
            let mut top = TopK::new(k);
            for r in start..(start + chunk).min(rows) {
                let row = &data[r * n..(r + 1) * n];
                let limit = top.threshold() as f32;
                let mut s = 0.0f32;
                let mut abandoned = false;
                for (c, (a, b)) in row.chunks(32).zip(q.chunks(32)).enumerate() {
                    let mut part = 0.0f32;
                    for (x, y) in a.iter().zip(b) {
                        let d = x - y;
                        part += d * d;
                    }
                    s += part;
                    if c % 2 == 1 && s > limit {
                        abandoned = true;
                        break;
                    }
                }
                if !abandoned {
                    top.push(s as f64, r as u64);
                }
            }
            top.into_sorted()
        })
        .collect();
    let mut top = TopK::new(k);
    for (d, r) in parts.into_iter().flatten() {
        top.push(d, r);
    }
    top.into_sorted()
}

/// Counters of a DTW scan: how far down the cascade candidates went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CascadeStats {
    /// Pruned by LB_Kim.
    pub kim: u64,
    /// Pruned by LB_Keogh with the query's envelope.
    pub keogh_q: u64,
    /// Pruned by LB_Keogh with the candidate's envelope.
    pub keogh_c: u64,
    /// DTW computed (possibly abandoned).
    pub dtw: u64,
}

/// The `k` rows nearest to `q` by DTW within band `r` (squared distance, row), one thread.
pub fn dtw_scan(
    rows: &[Vec<f64>],
    q: &[f64],
    r: usize,
    k: usize,
) -> (Vec<(f64, u64)>, CascadeStats) {
    let env = Envelope::new(q, r);
    let mut top = TopK::new(k);
    let mut stats = CascadeStats::default();
    let (mut tx, mut tq) = (Vec::new(), Vec::new());
    let n = q.len();
    let mut tail = Vec::with_capacity(n);
    for (i, x) in rows.iter().enumerate() {
        if x.len() != n {
            continue;
        }
        let limit = top.threshold();
        if lb_kim_fl(q, x) > limit {
            stats.kim += 1;
            continue;
        }
        if lb_keogh_sq(&env, x, limit) > limit {
            stats.keogh_q += 1;
            continue;
        }
        let cenv = Envelope::new(x, r);
        if lb_keogh_sq(&cenv, q, limit) > limit {
            stats.keogh_c += 1;
            continue;
        }
        lb_keogh_terms(&env, x, &mut tx);
        lb_keogh_terms(&cenv, q, &mut tq);
        tail_bound(&tx, &tq, r, 1.0, &mut tail);
        stats.dtw += 1;
        let (d, abandoned) = dtw::distance_sq_bounded(q, x, r, limit, Some(&tail));
        if !abandoned {
            top.push(d, i as u64);
        }
    }
    (top.into_sorted(), stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn scans_equal_brute_force() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let n = 40;
        let rows: Vec<Vec<f64>> = (0..300)
            .map(|_| (0..n).map(|_| rng.gen_range(-1.0..1.0)).collect())
            .collect();
        let q: Vec<f64> = (0..n).map(|_| rng.gen_range(-1.0..1.0)).collect();
        // DTW.
        let (got, _) = dtw_scan(&rows, &q, 4, 5);
        let mut all: Vec<(f64, u64)> = rows
            .iter()
            .enumerate()
            .map(|(i, x)| (dtw::distance_sq(&q, x, 4), i as u64))
            .collect();
        all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        assert_eq!(
            got.iter().map(|p| p.1).collect::<Vec<_>>(),
            all.iter().take(5).map(|p| p.1).collect::<Vec<_>>()
        );
        // ED over f32.
        let flat: Vec<f32> = rows.iter().flatten().map(|&v| v as f32).collect();
        let qf: Vec<f32> = q.iter().map(|&v| v as f32).collect();
        let got = ed_scan_f32(&flat, n, &qf, 3);
        let mut all: Vec<(f32, u64)> = rows
            .iter()
            .enumerate()
            .map(|(i, x)| {
                (
                    x.iter()
                        .zip(&qf)
                        .map(|(a, b)| (*a as f32 - b).powi(2))
                        .sum::<f32>(),
                    i as u64,
                )
            })
            .collect();
        all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        assert_eq!(
            got.iter().map(|p| p.1).collect::<Vec<_>>(),
            all.iter().take(3).map(|p| p.1).collect::<Vec<_>>()
        );
    }
}
