//! Error-bounded residuals: integer corrections of step `2δ` added to a symbolic
//! reconstruction so that every stored value is within `δ` of the original.
//!
//! This is the absolute error bound of SZ (Di & Cappello 2016; Liang et al. 2018) and of
//! ModelarDB's bounded models (Jensen, Pedersen & Thomsen 2018), applied on top of the QABBA
//! reconstruction x̂: with `q_i = round((x_i − x̂_i) / 2δ)` the decoder returns
//! `y_i = x̂_i + 2δ·q_i`, so `|x_i − y_i| ≤ δ` up to rounding of the floating-point sum, which
//! [`quantize`] checks on every value (and repairs by one step) before it accepts a series. The
//! levels are small integers concentrated at 0, entropy-coded by pco in the segment (FORMAT.md
//! §4.10).

/// Largest level magnitude: every level and its product with the step stay exact in an `f64`.
const MAX_LEVEL: f64 = (1u64 << 52) as f64;

/// `round((x − xh)/step)`, the level nearest to the residual; `None` when it is not a number or
/// beyond ±2^52 (where its product with the step would no longer be exact).
#[inline]
pub fn nearest_level(x: f64, xh: f64, step: f64) -> Option<i64> {
    let l = ((x - xh) / step).round();
    (l.abs() <= MAX_LEVEL).then_some(l as i64)
}

/// The value the decoder returns for reconstruction `xh` and level `q` (one rounding).
#[inline]
pub fn corrected(xh: f64, q: i64, step: f64) -> f64 {
    xh + step * q as f64
}

/// The levels that bring the reconstruction `xh` within `max_error` of `x` at every value, or
/// `None` when no level can (a value too large for the step to resolve, or a level beyond
/// ±2^52); the caller then stores the series losslessly.
pub fn quantize(x: &[f64], xh: &[f64], max_error: f64) -> Option<Vec<i64>> {
    let step = 2.0 * max_error;
    if !(step.is_finite() && step > 0.0) || x.len() != xh.len() {
        return None;
    }
    x.iter()
        .zip(xh)
        .map(|(&v, &r)| {
            let l = nearest_level(v, r, step)?;
            // The rounded level is right in exact arithmetic; the sum x̂ + step·q rounds once
            // more, so check it and try the neighbouring levels.
            [l, l - 1, l + 1]
                .into_iter()
                .find(|&q| within(v, corrected(r, q, step), max_error))
        })
        .collect()
}

/// `|x − y| ≤ bound` in exact arithmetic: the difference is split into its rounded value and
/// the rounding error (Knuth's TwoSum), so a difference that rounds down onto the bound is not
/// taken for one within it.
pub fn within(x: f64, y: f64, bound: f64) -> bool {
    let s = x - y;
    let v = s - x;
    let err = (x - (s - v)) + (-y - v);
    let a = s.abs();
    a < bound || (a == bound && (err == 0.0 || (err < 0.0) == (s > 0.0)))
}

/// Adds the corrections of `levels` to a reconstruction, in place.
pub fn apply(xh: &mut [f64], levels: impl IntoIterator<Item = i64>, step: f64) {
    for (v, q) in xh.iter_mut().zip(levels) {
        *v = corrected(*v, q, step);
    }
}

/// The residual levels of one series, held in the narrowest signed integer type that holds them
/// all: where the symbolic reconstruction is close they are small (a byte each at the bounds
/// users choose), so a bulk load holds a segment's levels in an eighth of the memory of i64s.
#[derive(Debug, Clone, PartialEq)]
pub struct Levels(Narrow);

#[derive(Debug, Clone, PartialEq)]
enum Narrow {
    I8(Vec<i8>),
    I16(Vec<i16>),
    I32(Vec<i32>),
    I64(Vec<i64>),
}

impl Default for Levels {
    fn default() -> Self {
        Levels(Narrow::I8(Vec::new()))
    }
}

impl From<Vec<i64>> for Levels {
    fn from(v: Vec<i64>) -> Levels {
        let (lo, hi) = (v.iter().copied().min(), v.iter().copied().max());
        let fits = |a: i64, b: i64| lo.is_none_or(|lo| lo >= a) && hi.is_none_or(|hi| hi <= b);
        Levels(if fits(i8::MIN.into(), i8::MAX.into()) {
            Narrow::I8(v.iter().map(|&q| q as i8).collect())
        } else if fits(i16::MIN.into(), i16::MAX.into()) {
            Narrow::I16(v.iter().map(|&q| q as i16).collect())
        } else if fits(i32::MIN.into(), i32::MAX.into()) {
            Narrow::I32(v.iter().map(|&q| q as i32).collect())
        } else {
            Narrow::I64(v)
        })
    }
}

impl Levels {
    /// Number of levels.
    pub fn len(&self) -> usize {
        match &self.0 {
            Narrow::I8(v) => v.len(),
            Narrow::I16(v) => v.len(),
            Narrow::I32(v) => v.len(),
            Narrow::I64(v) => v.len(),
        }
    }

    /// True when there are none (a lossless series, or a database without a bound).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The levels in order.
    pub fn iter(&self) -> Box<dyn Iterator<Item = i64> + '_> {
        match &self.0 {
            Narrow::I8(v) => Box::new(v.iter().map(|&q| q.into())),
            Narrow::I16(v) => Box::new(v.iter().map(|&q| q.into())),
            Narrow::I32(v) => Box::new(v.iter().map(|&q| q.into())),
            Narrow::I64(v) => Box::new(v.iter().copied()),
        }
    }

    /// The levels as i64s.
    pub fn to_vec(&self) -> Vec<i64> {
        self.iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrow_levels_hold_the_same_values() {
        for v in [
            vec![],
            vec![0, -128, 127],
            vec![-129, 5],
            vec![40_000, -3],
            vec![i32::MIN as i64, 1 << 31],
            vec![i64::MIN, i64::MAX],
        ] {
            let l = Levels::from(v.clone());
            assert_eq!((l.len(), l.is_empty(), l.to_vec()), (v.len(), v.is_empty(), v));
        }
        let width = |v: Vec<i64>| match Levels::from(v).0 {
            Narrow::I8(_) => 1,
            Narrow::I16(_) => 2,
            Narrow::I32(_) => 4,
            Narrow::I64(_) => 8,
        };
        assert_eq!([width(vec![-128, 127]), width(vec![128]), width(vec![-32_769]), width(vec![1 << 31])], [1, 2, 4, 8]);
    }

    #[test]
    fn every_value_within_the_bound() {
        let x: Vec<f64> = (0..1000).map(|i| (i as f64 * 0.1).sin() * 50.0).collect();
        let xh: Vec<f64> = x.iter().map(|v| v.round()).collect();
        for delta in [1e-9, 1e-3, 0.01, 0.4, 3.0] {
            let q = quantize(&x, &xh, delta).unwrap();
            let mut y = xh.clone();
            apply(&mut y, q.iter().copied(), 2.0 * delta);
            for (a, b) in x.iter().zip(&y) {
                assert!((a - b).abs() <= delta, "{a} vs {b} at δ = {delta}");
            }
            if delta >= 0.5 {
                assert!(q.iter().all(|&l| l == 0));
            }
        }
    }

    #[test]
    fn exact_bound_check() {
        assert!(within(1.0, 0.5, 0.5));
        assert!(!within(1.0, 0.4, 0.5));
        // 1 + 2^-54 rounds to 1: a difference just above the bound that rounds onto it.
        let tiny = f64::powi(2.0, -54);
        assert_eq!(1.0 + tiny, 1.0);
        assert!(!within(1.0, -tiny, 1.0));
        assert!(!within(-tiny, 1.0, 1.0));
        // Just below the bound, also rounding onto it.
        assert_eq!(1.0 - tiny / 2.0, 1.0);
        assert!(within(1.0, tiny / 2.0, 1.0));
        assert!(within(tiny / 2.0, 1.0, 1.0));
    }

    #[test]
    fn unresolvable_values_are_refused() {
        // A level beyond ±2^52 steps: the product would no longer be exact.
        assert!(quantize(&[1e12], &[0.3], 1e-6).is_none());
        assert!(quantize(&[1e300], &[0.0], 1e-6).is_none());
        assert!(quantize(&[1.0], &[0.0], 0.0).is_none());
        assert!(quantize(&[1.0], &[0.0, 1.0], 0.1).is_none());
    }
}
