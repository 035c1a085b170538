//! Breakpoints of the SAX alphabet: 255 cuts for 256 equiprobable symbols (8 bits).
//!
//! - [`BreakpointKind::Gaussian`]: classic SAX (Lin et al. 2003): the `i/256` quantiles of
//!   N(0, 1).
//! - [`BreakpointKind::Kde`]: edwSAX (Kloska & Rozinajova): the `i/256` quantiles of a kernel
//!   density estimate of the PAA values seen at build time, with the Epanechnikov kernel and the
//!   Improved Sheather-Jones bandwidth (Botev, Grotowski & Kroese 2010, computed for a Gaussian
//!   kernel and converted to the Epanechnikov kernel by the ratio of canonical bandwidths,
//!   `(15)^{1/5} / (1/(2√π))^{1/5}`).
//!
//! Equiprobable cuts are nested: the cuts of cardinality `2^b` are the cuts `i·2^(8−b) − 1` of the
//! 256-symbol set, so a symbol of `b` bits is the top `b` bits of the 8-bit symbol (iSAX).

use super::normal::inverse_cdf;

/// Grid cells over the data's range for the KDE's CDF (at least 8 per bandwidth).
const GRID: usize = 8192;

/// Symbols of the finest cardinality.
pub const CARDINALITY: usize = 256;
/// Bits of the finest cardinality.
pub const MAX_BITS: u32 = 8;

/// Where breakpoints come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakpointKind {
    /// N(0, 1) quantiles (SAX).
    Gaussian,
    /// Quantiles of a KDE of the data's PAA values (edwSAX).
    Kde,
}

/// 255 ascending cuts.
#[derive(Debug, Clone, PartialEq)]
pub struct Breakpoints {
    /// How they were made.
    pub kind: BreakpointKind,
    /// `cuts[i]` separates symbol `i` from symbol `i + 1`.
    pub cuts: Vec<f64>,
}

impl Breakpoints {
    /// Classic SAX breakpoints.
    pub fn gaussian() -> Breakpoints {
        let cuts = (1..CARDINALITY)
            .map(|i| inverse_cdf(i as f64 / CARDINALITY as f64))
            .collect();
        Breakpoints {
            kind: BreakpointKind::Gaussian,
            cuts,
        }
    }

    /// edwSAX breakpoints from PAA values (non-finite values are ignored; fewer than two
    /// distinct values fall back to Gaussian).
    pub fn kde(values: &[f64]) -> Breakpoints {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        v.sort_by(f64::total_cmp);
        if v.len() < 2 || v[0] == v[v.len() - 1] {
            return Breakpoints {
                kind: BreakpointKind::Kde,
                ..Breakpoints::gaussian()
            };
        }
        let ratio = epanechnikov_per_gaussian();
        let h = isj_bandwidth(&v) * ratio;
        let h = if h.is_finite() && h > 0.0 {
            h
        } else {
            silverman(&v) * ratio
        };
        // The KDE's CDF on a fine grid, from binned data: each bin's mass spreads over ±h with
        // the Epanechnikov CDF. (Any breakpoints keep the bounds valid; the grid only needs to be
        // fine next to the bandwidth.)
        let (min, max) = (v[0] - h, v[v.len() - 1] + h);
        let step = ((max - min) / GRID as f64).min(h / 8.0);
        let cells = (((max - min) / step).ceil() as usize).clamp(2, 1 << 22);
        let step = (max - min) / cells as f64;
        let mut mass = vec![0.0f64; cells + 1];
        for &d in &v {
            mass[(((d - min) / step).round() as usize).min(cells)] += 1.0;
        }
        let reach = (h / step).ceil() as usize;
        let cdf = smoothed_cdf(&mass, reach, step / h, v.len() as f64);
        let mut cuts = Vec::with_capacity(CARDINALITY - 1);
        for i in 1..CARDINALITY {
            let p = i as f64 / CARDINALITY as f64;
            let g = cdf.partition_point(|&c| c < p).clamp(1, cells);
            let (c0, c1) = (cdf[g - 1], cdf[g]);
            let frac = if c1 > c0 { (p - c0) / (c1 - c0) } else { 0.5 };
            let x = min + (g as f64 - 1.0 + frac.clamp(0.0, 1.0)) * step;
            let x = cuts.last().map_or(x, |&prev: &f64| x.max(prev));
            cuts.push(x);
        }
        Breakpoints {
            kind: BreakpointKind::Kde,
            cuts,
        }
    }

    /// The 8-bit symbol of a PAA value: the number of cuts `≤ v`.
    pub fn symbol(&self, v: f64) -> u8 {
        self.cuts.partition_point(|&c| c <= v).min(CARDINALITY - 1) as u8
    }

    /// The interval `[lower, upper]` of the 8-bit symbols `lo..=hi` (±∞ at the ends).
    pub fn interval(&self, lo: u8, hi: u8) -> (f64, f64) {
        let lower = if lo == 0 {
            f64::NEG_INFINITY
        } else {
            self.cuts[lo as usize - 1]
        };
        let upper = if hi as usize == CARDINALITY - 1 {
            f64::INFINITY
        } else {
            self.cuts[hi as usize]
        };
        (lower, upper)
    }

    /// The interval of the `bits`-bit symbol `s` (1 ≤ bits ≤ 8).
    pub fn interval_at(&self, s: u32, bits: u32) -> (f64, f64) {
        let shift = MAX_BITS - bits;
        let lo = (s << shift) as u8;
        let hi = (((s + 1) << shift) - 1) as u8;
        self.interval(lo, hi)
    }
}

/// Canonical-bandwidth ratio of the Epanechnikov to the Gaussian kernel:
/// `(R(K)/μ₂(K)²)^{1/5}` is `15^{1/5}` for Epanechnikov and `(1/(2√π))^{1/5}` for Gaussian.
fn epanechnikov_per_gaussian() -> f64 {
    15f64.powf(0.2) / (0.5 / std::f64::consts::PI.sqrt()).powf(0.2)
}

/// Silverman's rule of thumb (Gaussian kernel), the fallback.
fn silverman(sorted: &[f64]) -> f64 {
    let n = sorted.len() as f64;
    let mean = sorted.iter().sum::<f64>() / n;
    let sd = (sorted.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n).sqrt();
    let q = |p: f64| sorted[((p * (n - 1.0)) as usize).min(sorted.len() - 1)];
    let iqr = q(0.75) - q(0.25);
    let s = if iqr > 0.0 { sd.min(iqr / 1.34) } else { sd };
    0.9 * s * n.powf(-0.2)
}

/// The Epanechnikov kernel's CDF, `F(u) = 1/2 + 3u/4 − u³/4` on [−1, 1].
fn kernel_cdf(u: f64) -> f64 {
    if u <= -1.0 {
        0.0
    } else if u >= 1.0 {
        1.0
    } else {
        0.5 + 0.75 * u - 0.25 * u * u * u
    }
}

/// The KDE's CDF on the grid: `cdf[g] = Σ_b mass[b]·F((g − b)·scale) / total`, where `scale` is
/// the grid step over the bandwidth and `reach ≥ 1/scale` cells cover the kernel. `F` depends
/// only on `g − b`, so it is tabulated once; each occupied bin adds its mass times the table over
/// ±reach, and fully to every cell right of that (a running sum).
fn smoothed_cdf(mass: &[f64], reach: usize, scale: f64, total: f64) -> Vec<f64> {
    let cells = mass.len() - 1;
    let kern: Vec<f64> = (0..=2 * reach)
        .map(|d| kernel_cdf((d as f64 - reach as f64) * scale))
        .collect();
    let mut cdf = vec![0.0f64; cells + 1];
    let mut full = vec![0.0f64; cells + 2];
    for (b, &m) in mass.iter().enumerate() {
        if m == 0.0 {
            continue;
        }
        let lo = b.saturating_sub(reach);
        let hi = (b + reach).min(cells);
        // Slices of equal length: the loop vectorises (each cell on its own, same arithmetic).
        let weights = &kern[lo + reach - b..=hi + reach - b];
        for (c, &w) in cdf[lo..=hi].iter_mut().zip(weights) {
            *c += m * w;
        }
        full[hi + 1] += m;
    }
    let mut run = 0.0f64;
    for (c, f) in cdf.iter_mut().zip(&full) {
        run += f;
        *c = (*c + run) / total;
    }
    cdf
}

/// `(a_k / 2)²` for k = 1..BINS of the DCT-II of `hist` as in kde.m:
/// `a_k = 2 Σ_j hist_j·cos(π k (2j+1) / (2 BINS))`. The angle is `π·m/(2 BINS)` with
/// `m = k(2j+1)` taken modulo `4 BINS`: one table of cosines, and only occupied bins summed.
fn dct_squares(hist: &[f64]) -> Vec<f64> {
    let bins = hist.len();
    let table: Vec<f64> = (0..4 * bins)
        .map(|m| (std::f64::consts::PI * m as f64 / (2 * bins) as f64).cos())
        .collect();
    let occupied: Vec<(usize, f64)> = hist
        .iter()
        .enumerate()
        .filter(|(_, &h)| h != 0.0)
        .map(|(j, &h)| (2 * j + 1, h))
        .collect();
    (1..bins)
        .map(|k| {
            let s: f64 = occupied
                .iter()
                .map(|&(odd, h)| h * table[(k * odd) % (4 * bins)])
                .sum();
            s * s
        })
        .collect()
}

/// `2π^{2s} Σ_{k≥1} k^{2s} a_k² e^{−k²π²t}`, the functional of ISJ's fixed point (Botev et al.
/// 2010, eq. (29) in kde.m's form) for the squared DCT coefficients `a2` (`a2[k−1]` for `k`).
/// The exponentials come from the recurrence `e_k = e_{k−1}·r_k`, `r_{k+1} = r_k·e^{−2π²t}`
/// (`e^{−k²c} = e^{−(k−1)²c}·e^{−(2k−1)c}`), two products a term; the sum stops where they reach 0.
fn isj_functional(a2: &[f64], s: i32, t: f64) -> f64 {
    let c = std::f64::consts::PI * std::f64::consts::PI * t;
    let q = (-2.0 * c).exp();
    let (mut e, mut r) = (1.0f64, (-c).exp());
    let mut sum = 0.0;
    for (k, &a) in a2.iter().enumerate() {
        e *= r;
        r *= q;
        if e == 0.0 {
            break;
        }
        let kk = ((k + 1) * (k + 1)) as f64;
        sum += ipow(kk, s) * a * e;
    }
    2.0 * ipow(std::f64::consts::PI, 2 * s) * sum
}

/// `x^n` (n ≥ 0) by n − 1 products in order: unlike `powi`, whose rounding LLVM may change
/// with inlining, the same in every build, so that the breakpoints (and the files they are
/// written to) are too.
fn ipow(x: f64, n: i32) -> f64 {
    (1..n).fold(if n > 0 { x } else { 1.0 }, |acc, _| acc * x)
}

/// `t − ξγ^[ℓ](t)` with ℓ = 7 (kde.m's `fixed_point`): its root is the squared bandwidth in
/// units of the binned range.
fn isj_fixed_point(a2: &[f64], n: f64, t: f64) -> f64 {
    let l = 7i32;
    let mut f = isj_functional(a2, l, t);
    for s in (2..l).rev() {
        let k0: f64 = (1..=(2 * s - 1))
            .step_by(2)
            .map(|x| x as f64)
            .product::<f64>()
            / (2.0 * std::f64::consts::PI).sqrt();
        let c = (1.0 + 0.5f64.powf(s as f64 + 0.5)) / 3.0;
        let time = (2.0 * c * k0 / n / f).powf(2.0 / (3.0 + 2.0 * s as f64));
        f = isj_functional(a2, s, time);
    }
    t - (2.0 * n * std::f64::consts::PI.sqrt() * f).powf(-0.4)
}

/// The first step of the ISJ bandwidth (Botev et al. 2010, `kde.m`): `sorted` (non-empty)
/// binned on 1024 points over its range widened by a tenth on each side, as frequencies; the
/// squared DCT coefficients of that histogram ([`dct_squares`]) and the widened range.
fn isj_spectrum(sorted: &[f64]) -> (Vec<f64>, f64) {
    const BINS: usize = 1024;
    let n = sorted.len() as f64;
    let (lo, hi) = (sorted[0], sorted[sorted.len() - 1]);
    let range = hi - lo;
    let (min, max) = (lo - range / 10.0, hi + range / 10.0);
    let r = max - min;
    let mut hist = vec![0.0f64; BINS];
    for &x in sorted {
        let b = (((x - min) / r) * BINS as f64) as usize;
        hist[b.min(BINS - 1)] += 1.0 / n;
    }
    (dct_squares(&hist), r)
}

/// Improved Sheather-Jones bandwidth of a Gaussian KDE (Botev et al. 2010, the `kde.m`
/// algorithm): bin on 1024 points, DCT, solve `t = ξγ^[ℓ](t)` with ℓ = 7 on (0, 0.1] by the
/// Illinois variant of regula falsi (Dowell & Jarratt 1971), which keeps the root bracketed
/// like bisection and needs about 10 evaluations where bisection needs 43.
fn isj_bandwidth(sorted: &[f64]) -> f64 {
    let (a2, r) = isj_spectrum(sorted);
    let n = sorted.len() as f64;
    let f = |t: f64| isj_fixed_point(&a2, n, t);
    // f is negative near 0 and grows with t.
    let (mut a, mut b) = (1e-12f64, 0.1f64);
    let (mut fa, mut fb) = (f(a), f(b));
    if !(fa.is_finite() && fb.is_finite()) || fa.signum() == fb.signum() {
        return silverman(sorted);
    }
    let mut side = 0i8;
    for _ in 0..200 {
        let m = (a * fb - b * fa) / (fb - fa);
        // A secant step that leaves the bracket (rounding) falls back to bisection.
        let m = if m > a && m < b { m } else { 0.5 * (a + b) };
        let fm = f(m);
        if !fm.is_finite() {
            return silverman(sorted);
        }
        if fm == 0.0 {
            (a, b) = (m, m);
            break;
        }
        if fm.signum() == fa.signum() {
            (a, fa) = (m, fm);
            if side == -1 {
                fb /= 2.0;
            }
            side = -1;
        } else {
            (b, fb) = (m, fm);
            if side == 1 {
                fa /= 2.0;
            }
            side = 1;
        }
        if b - a < 1e-14 + 1e-12 * b {
            break;
        }
    }
    (0.5 * (a + b)).sqrt() * r
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn gaussian_cuts_are_nested_quantiles() {
        let b = Breakpoints::gaussian();
        assert_eq!(b.cuts.len(), 255);
        assert!(b.cuts.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(b.cuts[127], 0.0);
        // 4 symbols: the classic SAX table −0.67, 0, 0.67.
        let (_, u0) = b.interval_at(0, 2);
        assert!((u0 + 0.6745).abs() < 1e-4);
        assert_eq!(b.symbol(0.0), 128);
        assert_eq!(b.symbol(-100.0), 0);
        assert_eq!(b.symbol(100.0), 255);
        // Nesting: the 1-bit symbol of v is the top bit of its 8-bit symbol.
        for v in [-2.0, -0.1, 0.0, 0.3, 5.0] {
            let s = b.symbol(v) as u32;
            let (lo, hi) = b.interval_at(s >> 7, 1);
            assert!(lo <= v && v <= hi);
        }
    }

    #[test]
    fn tabulated_kde_pieces_equal_the_direct_formulas() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        // The CDF on the grid against the double sum of the definition.
        for _ in 0..20 {
            let cells = rng.gen_range(2..300);
            let mass: Vec<f64> = (0..=cells)
                .map(|_| if rng.gen_bool(0.3) { rng.gen_range(1..5) as f64 } else { 0.0 })
                .collect();
            let total = mass.iter().sum::<f64>().max(1.0);
            let scale: f64 = rng.gen_range(0.01..1.0);
            let reach = (1.0 / scale).ceil() as usize;
            let got = smoothed_cdf(&mass, reach, scale, total);
            for (g, &c) in got.iter().enumerate() {
                let want: f64 = mass
                    .iter()
                    .enumerate()
                    .map(|(b, &m)| m * kernel_cdf((g as f64 - b as f64) * scale))
                    .sum::<f64>()
                    / total;
                assert!((c - want).abs() < 1e-12, "cell {g}: {c} vs {want}");
            }
        }
        // The DCT against cosines of the exact angle.
        let hist: Vec<f64> = (0..64)
            .map(|_| if rng.gen_bool(0.5) { rng.gen::<f64>() } else { 0.0 })
            .collect();
        let got = dct_squares(&hist);
        for k in 1..64 {
            let a: f64 = 2.0
                * hist
                    .iter()
                    .enumerate()
                    .map(|(j, &h)| {
                        h * (std::f64::consts::PI * k as f64 * (2 * j + 1) as f64 / 128.0).cos()
                    })
                    .sum::<f64>();
            let want = (a / 2.0).powi(2);
            assert!((got[k - 1] - want).abs() < 1e-12, "k {k}: {} vs {want}", got[k - 1]);
        }
    }

    /// kde.m's fixed-point solve as written: every exponential evaluated, bisection to 1e-14.
    fn isj_naive(sorted: &[f64]) -> f64 {
        // The same spectrum (its DCT is checked against the direct sum above); the solver is
        // what differs.
        let (a2, r) = isj_spectrum(sorted);
        let n = sorted.len() as f64;
        let pi = std::f64::consts::PI;
        let func = |s: i32, t: f64| {
            2.0 * pi.powi(2 * s)
                * a2.iter()
                    .enumerate()
                    .map(|(k, &a)| {
                        let i = ((k + 1) * (k + 1)) as f64;
                        i.powi(s) * a * (-i * pi * pi * t).exp()
                    })
                    .sum::<f64>()
        };
        let fixed = |t: f64| {
            let mut f = func(7, t);
            for s in (2..7).rev() {
                let k0: f64 = (1..=(2 * s - 1)).step_by(2).map(|x| x as f64).product::<f64>()
                    / (2.0 * pi).sqrt();
                let c = (1.0 + 0.5f64.powf(s as f64 + 0.5)) / 3.0;
                f = func(s, (2.0 * c * k0 / n / f).powf(2.0 / (3.0 + 2.0 * s as f64)));
            }
            t - (2.0 * n * pi.sqrt() * f).powf(-0.4)
        };
        let (mut a, mut b) = (1e-12f64, 0.1f64);
        let fa = fixed(a);
        while b - a >= 1e-14 {
            let m = 0.5 * (a + b);
            if fixed(m).signum() == fa.signum() {
                a = m;
            } else {
                b = m;
            }
        }
        (0.5 * (a + b)).sqrt() * r
    }

    #[test]
    fn isj_bandwidth_equals_the_naive_solver() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(21);
        for (i, n) in [50usize, 400, 3200, 20000].into_iter().enumerate() {
            let mut v: Vec<f64> = (0..n)
                .map(|_| match i % 3 {
                    0 => inverse_cdf(rng.gen_range(1e-9..1.0 - 1e-9)),
                    1 => -(1.0 - rng.gen::<f64>()).ln(),
                    // Bimodal.
                    _ => inverse_cdf(rng.gen_range(1e-9..1.0 - 1e-9)) * 0.3
                        + if rng.gen_bool(0.5) { 2.0 } else { -2.0 },
                })
                .collect();
            v.sort_by(f64::total_cmp);
            let (got, want) = (isj_bandwidth(&v), isj_naive(&v));
            assert!(
                (got - want).abs() <= 1e-9 * want,
                "n {n}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn kde_cuts_follow_the_data() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        // Skewed data: exponential.
        let v: Vec<f64> = (0..20000).map(|_| -(1.0 - rng.gen::<f64>()).ln()).collect();
        let b = Breakpoints::kde(&v);
        assert!(b.cuts.windows(2).all(|w| w[0] <= w[1]));
        // Equiprobable: about i/256 of the data lies below cut i (the KDE smooths the hard edge
        // at 0, so allow a little).
        let mut sorted = v.clone();
        sorted.sort_by(f64::total_cmp);
        for (i, &c) in b.cuts.iter().enumerate() {
            let below = sorted.partition_point(|&x| x < c) as f64 / sorted.len() as f64;
            assert!(
                (below - (i + 1) as f64 / 256.0).abs() < 0.02,
                "cut {i}: {below}"
            );
        }
        // Median of Exp(1) is ln 2.
        assert!(
            (b.cuts[127] - std::f64::consts::LN_2).abs() < 0.05,
            "{}",
            b.cuts[127]
        );
        // Normal data gives cuts close to the Gaussian ones.
        let g: Vec<f64> = (0..20000)
            .map(|_| inverse_cdf(rng.gen_range(1e-9..1.0 - 1e-9)))
            .collect();
        let bk = Breakpoints::kde(&g);
        let bg = Breakpoints::gaussian();
        assert!((bk.cuts[63] - bg.cuts[63]).abs() < 0.05);
        assert!((bk.cuts[191] - bg.cuts[191]).abs() < 0.05);
    }

    #[test]
    fn degenerate_data_falls_back() {
        assert_eq!(
            Breakpoints::kde(&[1.0, 1.0]).cuts,
            Breakpoints::gaussian().cuts
        );
        assert_eq!(Breakpoints::kde(&[]).kind, BreakpointKind::Kde);
    }
}
