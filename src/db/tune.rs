//! Targets instead of knobs: the tolerance that meets an error target with the fewest bytes,
//! or simply the one with the fewest bytes where the error is bounded anyway.
//!
//! `Options::target_rmse(Some(t))` asks for a mean RMSE/σ of at most `t` over the stored series.
//! The tolerance is chosen on a sample of the build's series (all of them up to
//! [`SAMPLE_SERIES`], else that many evenly spaced): the sample is encoded at [`GRID`] tolerances
//! spaced by a factor of √2 from 0.01 to 1.81, each encoding written as a segment in memory and
//! measured (mean RMSE/σ of the stored series, as `info` reports it, and bytes of the whole
//! segment); the cheapest that meets the target is then refined by bisection towards the next
//! coarser tolerance. Bits do not fall strictly as the tolerance grows (the alphabet and the
//! series the budget refines change with it), which is why every candidate is measured rather
//! than the largest tolerance meeting the target taken.

use crate::codec::{self, CodecParams};

/// Tolerances [`tol_for_fewest_bytes`] starts from: [`GRID`] of them spaced by √2 from 0.05 to
/// 9.05 (in error-bounded mode the cheapest tolerance is often coarse: the residuals carry the
/// detail, and a coarse alphabet costs few symbols).
fn coarse_grid() -> Vec<f64> {
    (0..GRID)
        .map(|i| 0.05 * 2f64.powf(i as f64 / 2.0))
        .collect()
}
use crate::error::Result;
use crate::storage::segment::{writer, SegmentContents};

/// Most series the tolerance is chosen on.
pub const SAMPLE_SERIES: usize = 1000;
/// Tolerances tried before the refinement.
pub const GRID: usize = 16;
/// Bisection steps of the refinement.
const REFINE_STEPS: usize = 6;

/// What the choice of a tolerance measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Tuning {
    /// The tolerance chosen.
    pub tol: f64,
    /// Mean RMSE/σ of the sample at that tolerance.
    pub sample_rmse: f64,
    /// Bytes of the sample's segment at that tolerance.
    pub sample_bytes: u64,
    /// Series in the sample.
    pub sample_series: usize,
    /// Every tolerance tried: (tol, mean RMSE/σ, bytes).
    pub tried: Vec<(f64, f64, u64)>,
}

/// Mean RMSE/σ (from the stored error bounds, as `info` reports it) and segment bytes of
/// `series` encoded with `p` (no index).
fn measure(series: &[Vec<f64>], p: &CodecParams) -> Result<(f64, u64)> {
    let (codebook, encoded, fit) = codec::fit_encode(series, p)?;
    let rel: f64 = encoded
        .iter()
        .filter(|e| e.moments.std > 0.0)
        .map(|e| e.eps / (e.len as f64).sqrt() / e.moments.std)
        .sum();
    let ids: Vec<u64> = (0..series.len() as u64).collect();
    let labels = vec![None; series.len()];
    let (bytes, _) = writer::serialize(&SegmentContents {
        params: p,
        alpha: fit.alpha,
        codebook: &codebook,
        series: &encoded,
        ids: &ids,
        labels: &labels,
        report: serde_json::Value::Null,
        index: None,
        raw: None,
    })?;
    Ok((rel / series.len() as f64, bytes.len() as u64))
}

/// [`measure`] of `sample` at `tol` (every other parameter as in `p`), recorded in `tried` as
/// (tol, mean RMSE/σ, bytes).
fn measure_at(
    sample: &[Vec<f64>],
    p: &CodecParams,
    tol: f64,
    tried: &mut Vec<(f64, f64, u64)>,
) -> Result<(f64, u64)> {
    let q = CodecParams {
        tol,
        target_rmse: None,
        tol_auto: Some(false),
        ..p.clone()
    };
    let (rmse, bytes) = measure(sample, &q)?;
    tried.push((tol, rmse, bytes));
    Ok((rmse, bytes))
}

/// Up to [`SAMPLE_SERIES`] of `series`, evenly spaced.
fn sample_of(series: &[Vec<f64>]) -> Vec<Vec<f64>> {
    if series.len() <= SAMPLE_SERIES {
        series.to_vec()
    } else {
        (0..SAMPLE_SERIES)
            .map(|i| series[i * series.len() / SAMPLE_SERIES].clone())
            .collect()
    }
}

/// The tolerance for `series` with the fewest bytes, every other parameter as in `p`: the
/// sample is measured at the [`GRID`] tolerances of `coarse_grid`, then the best is refined by
/// [`REFINE_STEPS`] more measurements, in rounds that try the geometric midpoints towards both
/// neighbours of the best so far (half a grid step, then a quarter, …) and keep the
/// cheapest. Meant for error-bounded mode (every value within δ whatever the tolerance) and for
/// builds whose error budget bounds every series.
pub fn tol_for_fewest_bytes(series: &[Vec<f64>], p: &CodecParams) -> Result<Tuning> {
    let sample = sample_of(series);
    let mut tried: Vec<(f64, f64, u64)> = Vec::new();
    let at = |tol: f64, tried: &mut Vec<(f64, f64, u64)>| measure_at(&sample, p, tol, tried);
    let grid = coarse_grid();
    for &tol in &grid {
        at(tol, &mut tried)?;
    }
    let cheapest = |tried: &[(f64, f64, u64)]| {
        tried
            .iter()
            .min_by(|a, b| a.2.cmp(&b.2).then(a.0.total_cmp(&b.0)))
            .copied()
    };
    // Half a grid step on each side, then a quarter, …, around the best so far.
    let mut step = 2f64.sqrt().ln() / 2.0;
    for _ in 0..REFINE_STEPS / 2 {
        let Some((best, ..)) = cheapest(&tried) else {
            break;
        };
        for t in [(best.ln() - step).exp(), (best.ln() + step).exp()] {
            at(t, &mut tried)?;
        }
        step /= 2.0;
    }
    let (tol, sample_rmse, sample_bytes) = cheapest(&tried).unwrap_or((p.tol, f64::NAN, 0));
    Ok(Tuning {
        tol,
        sample_rmse,
        sample_bytes,
        sample_series: sample.len(),
        tried,
    })
}

/// The tolerance for `series` that meets `target` (mean RMSE/σ) with the fewest bytes, with
/// every other parameter as in `p`. When no tolerance tried meets the target, the one of the
/// smallest error.
pub fn tol_for_target(series: &[Vec<f64>], p: &CodecParams, target: f64) -> Result<Tuning> {
    let sample = sample_of(series);
    let mut tried = Vec::new();
    let at = |tol: f64, tried: &mut Vec<(f64, f64, u64)>| measure_at(&sample, p, tol, tried);
    let grid: Vec<f64> = (0..GRID)
        .map(|i| 0.01 * 2f64.powf(i as f64 / 2.0))
        .collect();
    for &tol in &grid {
        at(tol, &mut tried)?;
    }
    let best = |tried: &[(f64, f64, u64)]| {
        tried
            .iter()
            .filter(|t| t.1 <= target)
            .min_by(|a, b| a.2.cmp(&b.2).then(b.0.total_cmp(&a.0)))
            .copied()
    };
    if let Some((tol, ..)) = best(&tried) {
        // Towards the next coarser tolerance of the grid: the largest that still meets the
        // target, by bisection on log(tol).
        let (mut lo, mut hi) = (tol.ln(), (tol * 2f64.sqrt()).ln());
        for _ in 0..REFINE_STEPS {
            let mid = 0.5 * (lo + hi);
            let (rmse, _) = at(mid.exp(), &mut tried)?;
            if rmse <= target {
                lo = mid;
            } else {
                hi = mid;
            }
        }
    }
    let (tol, sample_rmse, sample_bytes) = match best(&tried) {
        Some(b) => b,
        None => tried
            .iter()
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .copied()
            .unwrap_or((p.tol, f64::NAN, 0)),
    };
    Ok(Tuning {
        tol,
        sample_rmse,
        sample_bytes,
        sample_series: sample.len(),
        tried,
    })
}
