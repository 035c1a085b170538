//! Z-normalisation of one series: `z_i = (x_i − μ) / σ` with the population standard deviation.
//!
//! A series whose values are all equal (or whose spread is below the resolution of its values,
//! `σ ≤ 1e-13 · max|x|`) is *constant*: it is stored with `σ = 0`, its normalised form is all
//! zeros and it decodes to `μ` exactly. For an exactly constant series `μ` is its value, not a
//! rounded mean, so it round-trips bit for bit.

/// Mean and standard deviation of a series, as stored.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Moments {
    /// Mean μ.
    pub mean: f64,
    /// Population standard deviation σ (0 for a constant series).
    pub std: f64,
}

impl Moments {
    /// Computes the moments of `x` (two passes, for accuracy). `x` must not be empty.
    pub fn of(x: &[f64]) -> Moments {
        let first = x.first().copied().unwrap_or(0.0);
        if x.iter().all(|&v| v == first) {
            return Moments {
                mean: first,
                std: 0.0,
            };
        }
        let n = x.len() as f64;
        let mean = x.iter().sum::<f64>() / n;
        let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
        let std = var.sqrt();
        let max_abs = x.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        if std.is_nan() || std <= 1e-13 * max_abs || !std.is_finite() {
            return Moments { mean, std: 0.0 };
        }
        Moments { mean, std }
    }

    /// The normalised series `(x − μ)/σ`, or all zeros when σ = 0.
    pub fn normalize(&self, x: &[f64]) -> Vec<f64> {
        if self.std == 0.0 {
            return vec![0.0; x.len()];
        }
        x.iter().map(|v| (v - self.mean) / self.std).collect()
    }

    /// Back to original units: `μ + σ·z`.
    pub fn denormalize(&self, z: &[f64]) -> Vec<f64> {
        z.iter().map(|v| self.mean + self.std * v).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn z_scores_have_zero_mean_unit_std() {
        let x = [1.0, 2.0, 3.0, 4.0];
        let m = Moments::of(&x);
        assert!((m.mean - 2.5).abs() < 1e-15);
        assert!((m.std - 1.25f64.sqrt()).abs() < 1e-15);
        let z = m.normalize(&x);
        let back = m.denormalize(&z);
        for (a, b) in back.iter().zip(x) {
            assert!((a - b).abs() < 1e-12);
        }
    }

    #[test]
    fn constant_series() {
        let x = [0.1; 7];
        let m = Moments::of(&x);
        assert_eq!(
            m,
            Moments {
                mean: 0.1,
                std: 0.0
            }
        );
        assert_eq!(m.normalize(&x), vec![0.0; 7]);
        assert_eq!(m.denormalize(&[0.0; 7]), vec![0.1; 7]);
        let m = Moments::of(&[1e6, 1e6 * (1.0 + f64::EPSILON)]);
        assert_eq!(m.std, 0.0, "spread below resolution counts as constant");
    }
}
