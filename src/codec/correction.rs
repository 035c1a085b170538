//! Corrections: a step of its own and one integer level per value, added to the symbolic
//! reconstruction of a series that the codebook cannot bring within the error budget.
//!
//! A series over the RMSE budget (`max_rmse·σ`) used to be stored losslessly: a cliff, since a
//! series only just over the budget cost all of its values' bits. A correction is the residual
//! quantization of error-bounded mode (SZ, Di & Cappello 2016; [`super::residual`]) applied to one
//! series with the largest step that meets the budget: `q_t = round((x_t − x̂_t)/Δ)` and the
//! decoder returns `x̂_t + Δ·q_t`. With a step a few times the budget most levels are zero (only
//! the values the codebook missed by more than Δ/2 are corrected), so the correction costs a
//! fraction of a bit per value where the lossless stream costs tens. A segment codes the levels
//! of all its corrected series as one pco stream, and each step as a short float relative to the
//! series' σ, as the error bounds are (FORMAT.md §4.12).

use super::meta;
use super::residual::{corrected, nearest_level, Levels};

/// The steps tried, as multiples of the budget `max_rmse·σ`: from `4·√12` down by factors of
/// 2^(1/4). Uniform rounding errors of step Δ have an RMS of Δ/√12, so `√12` is the largest step
/// whose errors alone fit the budget on average; larger steps pay off where most of the residual
/// is already small. The last step, `√12·2^-4`, bounds every error by a tenth of the budget.
const LADDER: std::ops::RangeInclusive<i32> = -8..=16;

/// A series' correction: its step and its levels (one per value).
#[derive(Debug, Clone, PartialEq)]
pub struct Correction {
    /// The stored form of the step relative to the unit of the series' bounds
    /// ([`super::bound_unit`]): Δ = `meta::bound_value(code)·unit` (§4.12).
    pub code: u64,
    /// Δ in original units, as the decoder computes it: finite and > 0.
    pub step: f64,
    /// The levels, one per value.
    pub levels: Levels,
}

impl Correction {
    /// Adds the corrections to the reconstruction `xh` in place.
    pub fn apply(&self, xh: &mut [f64]) {
        apply(self.levels.iter(), self.step, xh);
    }

    /// What its levels cost, estimated by their empirical (order-0) entropy, plus a byte for the
    /// step: the segment codes every level of its corrected series in one pco stream, which
    /// comes close to that entropy.
    pub fn estimated_bytes(&self) -> usize {
        // Counts in level order, so that the sum (and the choice it decides) is the same in
        // every run.
        let mut levels = self.levels.to_vec();
        levels.sort_unstable();
        let n = levels.len() as f64;
        let bits: f64 = levels
            .chunk_by(|a, b| a == b)
            .map(|run| {
                let c = run.len() as f64;
                -c * (c / n).log2()
            })
            .sum();
        (bits / 8.0).ceil() as usize + 1
    }
}

/// The step a stored code stands for: `bound_value(code)·unit`, `None` when that is not a finite
/// number > 0 (§4.12).
pub fn step_of(code: u64, unit: f64) -> Option<f64> {
    meta::bound_value(code)
        .map(|v| v * unit)
        .filter(|s| s.is_finite() && *s > 0.0)
}

/// Adds the corrections `levels` at step `step` to the reconstruction `xh` in place:
/// `x̂_t + Δ·q_t` (FORMAT.md §4.12).
pub fn apply(levels: impl IntoIterator<Item = i64>, step: f64, xh: &mut [f64]) {
    for (v, l) in xh.iter_mut().zip(levels) {
        *v = corrected(*v, l, step);
    }
}

/// The levels of `x − xh` at step `step`: `round((x_t − xh_t)/step)`; `None` when a level is
/// beyond ±2^52 or not a number.
pub fn levels(x: &[f64], xh: &[f64], step: f64) -> Option<Vec<i64>> {
    if !(step.is_finite() && step > 0.0) || x.len() != xh.len() {
        return None;
    }
    x.iter()
        .zip(xh)
        .map(|(&v, &r)| nearest_level(v, r, step))
        .collect()
}

/// The correction with the largest step of the ladder (multiples of `budget`, the largest RMSE
/// allowed, in original units; each rounded to a stored step relative to `unit`) after which
/// `meets` accepts the corrected reconstruction, with that reconstruction; `None` when no step
/// does or `budget` is not a positive finite number.
pub fn find(
    x: &[f64],
    xh: &[f64],
    budget: f64,
    unit: f64,
    meets: impl Fn(&[f64]) -> bool,
) -> Option<(Correction, Vec<f64>)> {
    if !(budget.is_finite() && budget > 0.0) {
        return None;
    }
    let mut y = Vec::with_capacity(xh.len());
    let mut last = None;
    for k in LADDER {
        let wanted = budget * 12f64.sqrt() * (-f64::from(k) / 4.0).exp2();
        let Some(code) = meta::bound_bits(wanted, unit) else {
            continue;
        };
        let Some(step) = step_of(code, unit) else {
            continue;
        };
        if last == Some(code) {
            continue;
        }
        last = Some(code);
        let Some(q) = levels(x, xh, step) else {
            continue;
        };
        y.clear();
        y.extend(xh.iter().zip(&q).map(|(&r, &l)| corrected(r, l, step)));
        if meets(&y) {
            let levels = Levels::from(q);
            return Some((Correction { code, step, levels }, y));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rmse(x: &[f64], y: &[f64]) -> f64 {
        (x.iter().zip(y).map(|(a, b)| (a - b) * (a - b)).sum::<f64>() / x.len() as f64).sqrt()
    }

    #[test]
    fn the_largest_step_that_meets_the_budget() {
        // A reconstruction off by 1.0 on every tenth value and exact elsewhere: RMSE √0.1 ≈ 0.32.
        let x: Vec<f64> = (0..1000).map(|i| (i as f64 * 0.05).sin()).collect();
        let xh: Vec<f64> = x
            .iter()
            .enumerate()
            .map(|(i, v)| if i % 10 == 0 { v + 1.0 } else { *v })
            .collect();
        let (budget, unit) = (0.1, 0.7);
        let (c, y) = find(&x, &xh, budget, unit, |y| rmse(&x, y) <= budget).unwrap();
        assert!(rmse(&x, &y) <= budget);
        assert_eq!(Some(c.step), step_of(c.code, unit));
        // The first step of the ladder, about 4·√12·0.1 ≈ 1.39, corrects the misses of 1.0 to
        // errors of 0.39 (RMSE 0.12, over); the next, about 2^(7/4)·√12·0.1 ≈ 1.17, to 0.17.
        let second = 0.1 * 12f64.sqrt() * 1.75f64.exp2();
        assert!(c.step >= second && c.step < second * 1.01, "{}", c.step);
        let mut z = xh.clone();
        c.apply(&mut z);
        assert_eq!(z, y);
        // Levels are −1 on every tenth value and 0 elsewhere: 0.47 bits a value, 59 bytes.
        let q = c.levels.to_vec();
        assert_eq!(q.iter().filter(|&&l| l == -1).count(), 100);
        assert_eq!(q.iter().filter(|&&l| l == 0).count(), 900);
        assert_eq!(c.estimated_bytes(), 60);
    }

    #[test]
    fn a_tight_budget_takes_a_small_step_and_none_is_refused() {
        let x: Vec<f64> = (0..300).map(|i| (i as f64 * 0.3).cos() * 7.0).collect();
        let xh = vec![0.0; 300];
        let (c, y) = find(&x, &xh, 0.01, 1.0, |y| rmse(&x, y) <= 0.01).unwrap();
        assert!(rmse(&x, &y) <= 0.01 && c.step < 0.01 * 12f64.sqrt() * 16.0);
        assert!(find(&x, &xh, 0.0, 1.0, |_| true).is_none());
        assert!(find(&x, &xh, f64::NAN, 1.0, |_| true).is_none());
        // Nothing meets an impossible test.
        assert!(find(&x, &xh, 0.01, 1.0, |_| false).is_none());
        // Levels beyond 2^52 steps are refused.
        assert!(levels(&[1e300], &[0.0], 1e-6).is_none());
        assert!(levels(&[1.0], &[0.0], 0.0).is_none());
        assert!(step_of(0, 1.0).is_none());
        assert!(step_of(u64::MAX, 1.0).is_none());
    }
}
