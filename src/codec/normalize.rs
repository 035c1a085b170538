//! Z-normalisation of one series: `z_i = (x_i − μ) / σ` with the population standard deviation.
//!
//! A series whose values are all equal (or whose spread is below the resolution of its values,
//! `σ ≤ 1e-13 · max|x|`) is *constant*: it is stored with `σ = 0`, its normalised form is all
//! zeros and it decodes to `μ` exactly. For an exactly constant series `μ` is its value, not a
//! rounded mean, so it round-trips bit for bit.
//!
//! The moments are right at every magnitude of finite values: where the sums could overflow
//! (values beyond about 1e140) or lose the spread to underflow (below about 1e-140), they are
//! computed on the values divided by a power of two near the largest magnitude (exact), and
//! scaled back.

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
        let max_abs = x.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let (mean, std) = if (1e-140..=1e140).contains(&max_abs) {
            let mean = x.iter().sum::<f64>() / n;
            let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
            (mean, var.sqrt())
        } else {
            // 2^⌊log2 max⌋: dividing by it is exact for every value that stays normal.
            let mut s = 2f64.powi((max_abs.log2().floor() as i32).min(1023));
            if s > max_abs {
                s /= 2.0;
            }
            let mean_s = x.iter().map(|v| v / s).sum::<f64>() / n;
            let var_s = x
                .iter()
                .map(|v| {
                    let d = v / s - mean_s;
                    d * d
                })
                .sum::<f64>()
                / n;
            (mean_s * s, var_s.sqrt() * s)
        };
        if std.is_nan() || std <= 1e-13 * max_abs || !std.is_finite() || !mean.is_finite() {
            return Moments { mean, std: 0.0 };
        }
        Moments { mean, std }
    }

    /// `(v − μ)/σ` for σ > 0, without overflow where `v − μ` would exceed f64's range.
    #[inline]
    pub fn z(&self, v: f64) -> f64 {
        let d = v - self.mean;
        if d.is_finite() {
            d / self.std
        } else {
            (v / 2.0 - self.mean / 2.0) / (self.std / 2.0)
        }
    }

    /// The normalised series `(x − μ)/σ`, or all zeros when σ = 0.
    pub fn normalize(&self, x: &[f64]) -> Vec<f64> {
        if self.std == 0.0 {
            return vec![0.0; x.len()];
        }
        x.iter().map(|&v| self.z(v)).collect()
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

    /// Closed form: the values a·{0, 1, 2, −1} have mean a/2 and σ = a·√(5/4), at every scale.
    #[test]
    fn moments_are_right_at_every_magnitude() {
        for e in [-307, -300, -200, -154, -100, 0, 100, 154, 200, 300, 307] {
            let a = 10f64.powi(e);
            let x = [0.0, a, 2.0 * a, -a];
            let m = Moments::of(&x);
            assert!(
                (m.mean / (a / 2.0) - 1.0).abs() < 1e-12,
                "1e{e}: mean {}",
                m.mean
            );
            let want = a * 1.25f64.sqrt();
            assert!((m.std / want - 1.0).abs() < 1e-12, "1e{e}: std {}", m.std);
            let z = m.normalize(&x);
            let zs = Moments::of(&z);
            assert!(
                zs.mean.abs() < 1e-12 && (zs.std - 1.0).abs() < 1e-12,
                "1e{e}"
            );
        }
        // Values spanning f64's whole range: v − μ overflows, z does not.
        let x = [f64::MAX, -f64::MAX, f64::MAX, -f64::MAX];
        let m = Moments::of(&x);
        assert_eq!(m.mean, 0.0);
        assert!((m.std / f64::MAX - 1.0).abs() < 1e-12);
        let m = Moments {
            mean: -f64::MAX / 2.0,
            std: f64::MAX,
        };
        assert!((m.z(f64::MAX) - 1.5).abs() < 1e-12);
    }
}
