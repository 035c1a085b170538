//! QABBA quantization of symbol centres (Carson, Chen & Kang 2024).
//!
//! Each coordinate of the centres (lengths, increments) is quantized on its own with `b` bits
//! (2 ≤ b ≤ 32), affine over its range `[min, max]`:
//!
//! ```text
//!   scale = (max − min) / (2^b − 1)          zero = min (in real units)
//!   q     = round((v − zero) / scale) − 2^(b−1)        ∈ [−2^(b−1), 2^(b−1) − 1]
//!   v̂     = (q + 2^(b−1))·scale + zero
//! ```
//!
//! # Invariants
//! - `|v − v̂| ≤ scale/2` for every quantized value (the paper's bound `(max−min)/(2(2^b−1))`),
//!   up to one rounding of f64 arithmetic.
//! - When all values are equal, `scale = 0` and `v̂ = v` exactly.

/// An affine quantizer for one coordinate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quantizer {
    /// Bit width b.
    pub bits: u8,
    /// Step between adjacent levels (0 when the range is a single value).
    pub scale: f64,
    /// Real value of the lowest level.
    pub zero: f64,
}

impl Quantizer {
    /// Fits a `bits`-bit quantizer to the range of `values`.
    pub fn fit(values: &[f64], bits: u8) -> Quantizer {
        let bits = bits.clamp(2, 32);
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if !(min.is_finite() && max.is_finite()) || max <= min {
            let zero = if min.is_finite() { min } else { 0.0 };
            return Quantizer {
                bits,
                scale: 0.0,
                zero,
            };
        }
        Quantizer {
            bits,
            scale: (max - min) / Self::levels_minus_one(bits),
            zero: min,
        }
    }

    fn levels_minus_one(bits: u8) -> f64 {
        ((1u64 << bits) - 1) as f64
    }

    fn offset(&self) -> i64 {
        1i64 << (self.bits - 1)
    }

    /// The level of `v`, clamped to the representable range.
    pub fn quantize(&self, v: f64) -> i32 {
        let lo = -self.offset();
        let hi = self.offset() - 1;
        if self.scale == 0.0 {
            return lo as i32;
        }
        let level = ((v - self.zero) / self.scale).round();
        let level = if level.is_finite() { level as i64 } else { 0 };
        (level - self.offset()).clamp(lo, hi) as i32
    }

    /// The real value of level `q`.
    pub fn dequantize(&self, q: i32) -> f64 {
        (q as i64 + self.offset()) as f64 * self.scale + self.zero
    }

    /// The largest error of a value inside the fitted range: `scale / 2`.
    pub fn max_error(&self) -> f64 {
        self.scale / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn constant_range_is_exact() {
        let q = Quantizer::fit(&[3.5, 3.5], 8);
        assert_eq!(q.dequantize(q.quantize(3.5)), 3.5);
    }

    #[test]
    fn end_points_are_exact_and_levels_span_the_signed_range() {
        let q = Quantizer::fit(&[-2.0, 5.0], 4);
        assert_eq!(q.quantize(-2.0), -8);
        assert_eq!(q.quantize(5.0), 7);
        assert_eq!(q.dequantize(-8), -2.0);
        assert!((q.dequantize(7) - 5.0).abs() < 1e-12);
        let q = Quantizer::fit(&[0.0, 1.0], 32);
        assert_eq!(q.quantize(1.0), i32::MAX);
        assert_eq!(q.quantize(0.0), i32::MIN);
    }

    proptest! {
        /// QABBA's bound: |v − v̂| ≤ (max − min) / (2 (2^b − 1)).
        #[test]
        fn error_bound_of_the_paper(values in prop::collection::vec(-1e3f64..1e3, 1..64), bits in 2u8..=32) {
            let q = Quantizer::fit(&values, bits);
            let min = values.iter().copied().fold(f64::INFINITY, f64::min);
            let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let bound = (max - min) / (2.0 * ((1u64 << bits) - 1) as f64);
            for &v in &values {
                let err = (v - q.dequantize(q.quantize(v))).abs();
                prop_assert!(err <= bound + 4.0 * f64::EPSILON * max.abs().max(min.abs()), "{err} > {bound}");
            }
        }
    }
}
