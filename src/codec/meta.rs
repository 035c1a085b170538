//! Per-series metadata at the precision the error model needs (FORMAT.md §4.3, version 2).
//!
//! A symbolic series needs its mean μ, its standard deviation σ and where its reconstruction
//! starts. Stored as f64 values they cost 24 bytes a series, more than the symbols of a short
//! series. None of them needs that precision when the symbols are lossy anyway:
//!
//! - σ is rounded to [`SCALE_BITS`] significant bits (σ'), and the series is normalised *with
//!   σ'*: the symbols then fit `(x − μ')/σ'`, so the rounding of σ adds no reconstruction error at
//!   all; it only makes the normalised series' spread differ from 1 by at most 2^-12.
//! - μ is rounded to a multiple of `σ'·2^a` (μ') and the first normalised value to a multiple of
//!   `2^b` (z₀'), the steps below 1/64 of the tolerance ([`Steps`]). The reconstruction starts at z₀' (the compression and the closed-loop
//!   assignment see the rounded start, so later symbols absorb it), and its error in original
//!   units includes the shift of μ.
//! - the error figures ε and max |x − x̂| are bounds, rounded *up* to [`BOUND_BITS`] significant
//!   bits, relative to σ' (so their range is that of f64, at every magnitude of the values).
//!
//! Every error figure is measured on the reconstruction decoded from the rounded metadata
//! ("quantize, then measure"), so what `info`, the error budget and search use stays true.
//!
//! A lossless series keeps rounded moments too (they only normalise it for search). Series for
//! which rounding does not hold keep *exact* metadata (f64 x₀, μ, σ, as in format version 1, with
//! x̂₀ = x₀): constant series, series whose rounded moments leave f64's range, and every series of
//! databases that keep the original values (search over the originals normalises them with the
//! stored moments, which must then be the exact ones).

use super::Moments;

/// Significant bits of a rounded σ' (one implicit, eleven stored).
pub const SCALE_BITS: u32 = 12;
/// Significant bits of a stored error bound.
pub const BOUND_BITS: u32 = 8;
/// Low bits of an f64 dropped from a rounded σ'.
pub const SCALE_SHIFT: u32 = 53 - SCALE_BITS;
/// Low bits of an f64 dropped from a stored bound.
pub const BOUND_SHIFT: u32 = 53 - BOUND_BITS;
/// Largest magnitude of a stored level: levels and their products stay exact in f64.
pub const MAX_LEVEL: i64 = 1 << 40;
/// Smallest step exponent a segment may use.
pub const MIN_STEP_LOG2: i32 = -60;

/// Where the reconstruction of a series starts (FORMAT.md §5 step 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Start {
    /// The first value x₀ in original units, reproduced exactly: x̂₀ = x₀.
    Value(f64),
    /// The normalised first value z₀: x̂₀ = μ + σ·z₀.
    Normalized(f64),
}

impl Start {
    /// The first value in original units, for moments `m`.
    pub fn value(&self, m: Moments) -> f64 {
        match *self {
            Start::Value(v) => v,
            Start::Normalized(z) => m.mean + m.std * z,
        }
    }
}

/// How the codec stores each series' metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Metadata {
    /// Rounded (this module), where it is valid; exact otherwise.
    #[default]
    Rounded,
    /// Exact f64 first value, mean and standard deviation for every series.
    Exact,
}

/// The step exponents of a segment's rounded metadata (FORMAT.md §4.3): μ' is a multiple of
/// `σ'·2^mean`, z₀' a multiple of `2^start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Steps {
    /// Exponent of the mean's step, relative to σ'.
    pub mean: i32,
    /// Exponent of the normalised start's step.
    pub start: i32,
}

impl Steps {
    /// The steps of a segment built with tolerance `tol`: the largest power of two at most
    /// `tol/64`, within `MIN_STEP_LOG2..=0`, for both. (A coarser start, `tol/8`, saves 3 bits a
    /// series but sends more spiky series over the error budget: Trace at tol 0.2 stored 18% more.)
    pub fn for_tol(tol: f64) -> Steps {
        let at = |d: f64| {
            if !(tol.is_finite() && tol > 0.0) {
                return MIN_STEP_LOG2;
            }
            ((tol / d).log2().floor() as i32).clamp(MIN_STEP_LOG2, 0)
        };
        Steps {
            mean: at(64.0),
            start: at(64.0),
        }
    }

    /// True when both exponents are in `MIN_STEP_LOG2..=0`.
    pub fn valid(&self) -> bool {
        (MIN_STEP_LOG2..=0).contains(&self.mean) && (MIN_STEP_LOG2..=0).contains(&self.start)
    }
}

/// `2^s`, exactly.
pub fn step(s: i32) -> f64 {
    2f64.powi(s)
}

/// The stored levels of a series with rounded metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Levels {
    /// z₀ = `start`·2^b (0 for a lossless series).
    pub start: i64,
    /// μ' = `mean`·(σ'·2^a).
    pub mean: i64,
    /// σ' = the f64 whose bits are `scale << SCALE_SHIFT`; > 0.
    pub scale: u64,
}

impl Levels {
    /// σ', μ' and z₀ as the format defines them from the levels (§5), or `None` when the
    /// levels do not describe finite moments with σ' > 0.
    pub fn decode(&self, s: Steps) -> Option<(Moments, f64)> {
        if self.scale == 0
            || self.scale >> (64 - SCALE_SHIFT) != 0
            || self.start.abs() > MAX_LEVEL
            || self.mean.abs() > MAX_LEVEL
        {
            return None;
        }
        let std = f64::from_bits(self.scale << SCALE_SHIFT);
        let unit = std * step(s.mean);
        let mean = self.mean as f64 * unit;
        if !(std.is_finite() && unit > 0.0 && unit.is_finite() && mean.is_finite()) {
            return None;
        }
        Some((Moments { mean, std }, self.start as f64 * step(s.start)))
    }

    /// The levels that decode to exactly `m` and `Start::Normalized(z0)` at steps `s`, if any.
    pub fn of(m: Moments, start: Start, s: Steps) -> Option<Levels> {
        let Start::Normalized(z0) = start else {
            return None;
        };
        let bits = m.std.to_bits();
        if m.std <= 0.0 || bits & ((1 << SCALE_SHIFT) - 1) != 0 || !s.valid() {
            return None;
        }
        let (unit, start_level) = (m.std * step(s.mean), z0 / step(s.start));
        if !(unit > 0.0 && unit.is_finite()) {
            return None;
        }
        let mean_level = m.mean / unit;
        let exact = |v: f64| v.fract() == 0.0 && v.abs() <= MAX_LEVEL as f64;
        if !(exact(mean_level) && exact(start_level)) {
            return None;
        }
        let levels = Levels {
            start: start_level as i64,
            mean: mean_level as i64,
            scale: bits >> SCALE_SHIFT,
        };
        (levels.decode(s) == Some((m, z0))).then_some(levels)
    }
}

/// Rounds exact moments to the stored precision at the mean's step `2^s`: `None` when they must
/// stay exact (σ = 0, or rounded values outside f64's range or [`MAX_LEVEL`]).
pub fn round_moments(m: Moments, s: i32) -> Option<Moments> {
    if !(m.std > 0.0 && m.std.is_finite() && m.mean.is_finite()) {
        return None;
    }
    let half = 1u64 << (SCALE_SHIFT - 1);
    let scale = (m.std.to_bits() + half) >> SCALE_SHIFT;
    let std = f64::from_bits(scale << SCALE_SHIFT);
    let unit = std * step(s);
    if !(std.is_finite() && std > 0.0 && unit > 0.0 && unit.is_finite()) {
        return None;
    }
    let level = (m.mean / unit).round();
    if level.is_nan() || level.abs() > MAX_LEVEL as f64 {
        return None;
    }
    let mean = level * unit;
    mean.is_finite().then_some(Moments { mean, std })
}

/// The stored start level closest to `z0` at step `2^s`, as a value (`level·2^s`), or `None`
/// when it is out of range.
pub fn round_start(z0: f64, s: i32) -> Option<f64> {
    let level = (z0 / step(s)).round();
    (level.abs() <= MAX_LEVEL as f64).then(|| level * step(s))
}

/// A stored bound: the f64 whose bits are `u << BOUND_SHIFT`, or `None` for a bit pattern that
/// is not a finite non-negative number.
pub fn bound_value(u: u64) -> Option<f64> {
    if u >> (64 - BOUND_SHIFT) != 0 {
        return None;
    }
    let v = f64::from_bits(u << BOUND_SHIFT);
    (v.is_finite() && v >= 0.0).then_some(v)
}

/// The stored form of a bound on `e` (≥ 0) relative to `unit` (σ' for rounded rows, 1 for exact
/// rows): the nearest short float to `e/unit`, moved up until `value·unit ≥ e` in f64. `None`
/// when no finite short float bounds it. Idempotent: the bound of a decoded bound is itself.
pub fn bound_bits(e: f64, unit: f64) -> Option<u64> {
    if !(e >= 0.0 && e.is_finite() && unit > 0.0 && unit.is_finite()) {
        return None;
    }
    let r = e / unit;
    if !r.is_finite() {
        return None;
    }
    let mut u = (r.to_bits() + (1u64 << (BOUND_SHIFT - 1))) >> BOUND_SHIFT;
    loop {
        let v = bound_value(u)?;
        if v * unit >= e {
            return Some(u);
        }
        u += 1;
    }
}

/// `e` rounded up to a stored bound relative to `unit`, in the units of `e`: what a reader will
/// see. `None` as for [`bound_bits`].
pub fn round_up_bound(e: f64, unit: f64) -> Option<f64> {
    bound_bits(e, unit).and_then(bound_value).map(|v| v * unit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn steps_follow_the_tolerance() {
        assert_eq!(Steps::for_tol(0.2), Steps { mean: -9, start: -9 });
        assert_eq!(Steps::for_tol(64.0), Steps { mean: 0, start: 0 });
        let tiny = Steps::for_tol(1e-300);
        assert_eq!((tiny.mean, tiny.start), (MIN_STEP_LOG2, MIN_STEP_LOG2));
        assert_eq!(step(-9), 1.0 / 512.0);
    }

    #[test]
    fn constant_series_keep_exact_moments() {
        assert_eq!(
            round_moments(
                Moments {
                    mean: 3.0,
                    std: 0.0
                },
                -9
            ),
            None
        );
    }

    proptest! {
        /// Rounded moments are representable as levels, and the levels decode to them.
        #[test]
        fn rounded_moments_round_trip(
            mean in -1e6f64..1e6, scale in -6i32..6, spread in 0.01f64..100.0, z in -8f64..8.0,
            a in -20i32..=0, b in -20i32..=0,
        ) {
            let m = Moments { mean: mean * 10f64.powi(scale), std: spread * 10f64.powi(scale) };
            let s = Steps { mean: a, start: b };
            if let Some(r) = round_moments(m, a) {
                prop_assert!(((r.std - m.std) / m.std).abs() <= 2f64.powi(-(SCALE_BITS as i32)));
                prop_assert!((r.mean - m.mean).abs() <= r.std * step(a) / 2.0 * (1.0 + 1e-12));
                let z0 = round_start(z, b).unwrap();
                prop_assert!((z0 - z).abs() <= step(b) / 2.0);
                let l = Levels::of(r, Start::Normalized(z0), s).unwrap();
                prop_assert_eq!(l.decode(s), Some((r, z0)));
            }
        }

        /// A stored bound is a bound, within one part in 2^7 of the value, at every scale from
        /// 1e-6 to 1e6 of the values and of σ; and storing it again changes nothing.
        #[test]
        fn bounds_stay_bounds(e in 0f64..1e3, escale in -6i32..6, unit in 1e-6f64..1e6) {
            let e = e * 10f64.powi(escale);
            let u = bound_bits(e, unit).unwrap();
            let v = bound_value(u).unwrap() * unit;
            prop_assert!(v >= e);
            prop_assert!(v <= e * (1.0 + 2f64.powi(-7)) + f64::MIN_POSITIVE);
            prop_assert_eq!(bound_bits(v, unit), Some(u));
        }
    }

    #[test]
    fn bounds_at_the_ends_of_the_range() {
        assert_eq!(round_up_bound(0.0, 1.0), Some(0.0));
        let tiny = f64::from_bits(1);
        assert!(round_up_bound(tiny, 1.0).unwrap() >= tiny);
        assert!(round_up_bound(1e300, 1e-10).is_none());
        assert!(round_up_bound(f64::MAX, 1.0).is_none());
        assert!(round_up_bound(1e300, 1.0).unwrap() >= 1e300);
        assert!(bound_value(u64::MAX).is_none());
    }
}
