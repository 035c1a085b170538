//! Banded DTW of one query against [`LANES`] candidates at once: the candidates' values are
//! interleaved (`x[j][l]` is value `j` of candidate `l`), so every cell of the dynamic program is
//! one vector operation across the lanes. A scalar kernel is latency-bound on the chain
//! `min → add` along a row; across lanes the same chain carries eight independent cells.
//!
//! Each lane computes exactly what [`super::dtw::distance_sq_bounded`] computes for its candidate,
//! in the same order of operations, so its value is bit for bit the scalar one: a lane abandons at
//! the first row whose smallest cell plus the lane's bound of the rows still to come (UCR Suite's
//! cumulative bound, Rakthanmanon et al. 2012) exceeds the lane's limit, and the batch stops as
//! soon as every lane has abandoned.
//!
//! The same source is compiled for AVX-512 and AVX2 where the processor has them (detected at
//! run time) and for the baseline otherwise; the three give identical results (no fused
//! multiply-add: Rust never contracts `a * b + c`).

/// Candidates per batch.
pub const LANES: usize = 8;

/// One value per lane.
pub type Lanes = [f64; LANES];

/// Reusable rows of the lane kernel.
#[derive(Debug, Clone, Default)]
pub struct LaneDtw {
    prev: Vec<Lanes>,
    cur: Vec<Lanes>,
}

#[inline(always)]
fn min(a: f64, b: f64) -> f64 {
    // Values are sums of squares or +∞, never NaN: this equals `f64::min` bit for bit.
    if b < a {
        b
    } else {
        a
    }
}

impl LaneDtw {
    /// Squared DTW within band `r` of `q` against the candidates in `x` (`x.len() == q.len()`),
    /// lane `l` abandoning past `limit[l]` with `tail[i][l]` bounding the cost of rows after `i`
    /// (when given). Lane `l` of the answer is `Some(d)` where the scalar kernel returns `d`
    /// unabandoned, `None` where it abandons. A lane with limit `-∞` is unused.
    pub fn distance_sq(
        &mut self,
        q: &[f64],
        x: &[Lanes],
        r: usize,
        limit: &Lanes,
        tail: Option<&[Lanes]>,
    ) -> [Option<f64>; LANES] {
        assert_eq!(q.len(), x.len(), "query and candidates differ in length");
        if let Some(t) = tail {
            assert_eq!(t.len(), q.len(), "the tail bound has one row per query point");
        }
        let n = q.len();
        if n == 0 {
            return [Some(0.0); LANES];
        }
        // Every cell a row reads was written by the row before it (or is the +∞ written right of
        // its band), so the rows need no reset between calls.
        if self.prev.len() < n {
            self.prev.resize(n, [f64::INFINITY; LANES]);
            self.cur.resize(n, [f64::INFINITY; LANES]);
        }
        let (prev, cur) = (&mut self.prev[..n], &mut self.cur[..n]);
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: the processor has AVX-512F, checked just above; that is the only
                // requirement of `kernel_avx512`.
                return unsafe { kernel_avx512(q, x, r, limit, tail, prev, cur) };
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the processor has AVX2, checked just above; that is the only
                // requirement of `kernel_avx2`.
                return unsafe { kernel_avx2(q, x, r, limit, tail, prev, cur) };
            }
        }
        kernel(q, x, r, limit, tail, prev, cur)
    }

    /// As [`LaneDtw::distance_sq`], always with the baseline instructions (for tests that
    /// compare the compiled variants).
    pub fn distance_sq_baseline(
        &mut self,
        q: &[f64],
        x: &[Lanes],
        r: usize,
        limit: &Lanes,
        tail: Option<&[Lanes]>,
    ) -> [Option<f64>; LANES] {
        assert_eq!(q.len(), x.len(), "query and candidates differ in length");
        let n = q.len();
        if n == 0 {
            return [Some(0.0); LANES];
        }
        if self.prev.len() < n {
            self.prev.resize(n, [f64::INFINITY; LANES]);
            self.cur.resize(n, [f64::INFINITY; LANES]);
        }
        kernel(q, x, r, limit, tail, &mut self.prev[..n], &mut self.cur[..n])
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn kernel_avx512(
    q: &[f64],
    x: &[Lanes],
    r: usize,
    limit: &Lanes,
    tail: Option<&[Lanes]>,
    prev: &mut [Lanes],
    cur: &mut [Lanes],
) -> [Option<f64>; LANES] {
    kernel(q, x, r, limit, tail, prev, cur)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn kernel_avx2(
    q: &[f64],
    x: &[Lanes],
    r: usize,
    limit: &Lanes,
    tail: Option<&[Lanes]>,
    prev: &mut [Lanes],
    cur: &mut [Lanes],
) -> [Option<f64>; LANES] {
    kernel(q, x, r, limit, tail, prev, cur)
}

/// Marks the lanes whose row minimum plus tail exceeds their limit; true when none is left.
#[inline(always)]
fn abandon(row_min: &Lanes, rest: Option<&Lanes>, limit: &Lanes, dead: &mut [bool; LANES]) -> bool {
    let mut all = true;
    for l in 0..LANES {
        let t = rest.map_or(0.0, |t| t[l]);
        if row_min[l] + t > limit[l] {
            dead[l] = true;
        }
        all &= dead[l];
    }
    all
}

/// The kernel: the scalar program of `distance_sq_bounded` with every scalar a lane vector.
/// `prev` and `cur` hold `n` cells each, of any value: a row reads only cells that the row
/// before it wrote.
#[inline(always)]
fn kernel(
    q: &[f64],
    x: &[Lanes],
    r: usize,
    limit: &Lanes,
    tail: Option<&[Lanes]>,
    prev: &mut [Lanes],
    cur: &mut [Lanes],
) -> [Option<f64>; LANES] {
    let n = q.len();
    let r = r.min(n - 1);
    let (mut prev, mut cur) = (prev, cur);
    let inf = [f64::INFINITY; LANES];
    let mut dead = [false; LANES];
    let rest = |i: usize| tail.and_then(|t| t.get(i));
    // Row 0: only steps to the right.
    let mut acc = [0.0; LANES];
    let mut row_min = inf;
    let a0 = q[0];
    for j in 0..=r {
        let xj = &x[j];
        for l in 0..LANES {
            let d = a0 - xj[l];
            acc[l] += d * d;
            row_min[l] = min(row_min[l], acc[l]);
        }
        cur[j] = acc;
    }
    if r + 1 < n {
        cur[r + 1] = inf;
    }
    if abandon(&row_min, rest(0), limit, &mut dead) {
        return [None; LANES];
    }
    std::mem::swap(&mut prev, &mut cur);
    for i in 1..n {
        let lo = i.saturating_sub(r);
        let hi = (i + r).min(n - 1);
        let ai = q[i];
        let mut row_min = inf;
        let mut left;
        let mut j = lo;
        if lo == 0 {
            let (p0, x0) = (&prev[0], &x[0]);
            let mut c = [0.0; LANES];
            for l in 0..LANES {
                let d = ai - x0[l];
                c[l] = p0[l] + d * d;
            }
            cur[0] = c;
            left = c;
            row_min = c;
            j = 1;
        } else {
            left = inf;
        }
        while j <= hi {
            let (pj, pm, xj) = (&prev[j], &prev[j - 1], &x[j]);
            let mut c = [0.0; LANES];
            for l in 0..LANES {
                let d = ai - xj[l];
                let best = min(min(pj[l], pm[l]), left[l]);
                c[l] = best + d * d;
                row_min[l] = min(row_min[l], c[l]);
            }
            cur[j] = c;
            left = c;
            j += 1;
        }
        if hi + 1 < n {
            cur[hi + 1] = inf;
        }
        if abandon(&row_min, rest(i), limit, &mut dead) {
            return [None; LANES];
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    let last = prev[n - 1];
    let mut out = [None; LANES];
    for l in 0..LANES {
        if !dead[l] {
            out[l] = Some(last[l]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distance::dtw;
    use proptest::prelude::*;

    fn interleave(cands: &[Vec<f64>], n: usize) -> Vec<Lanes> {
        (0..n)
            .map(|j| {
                let mut v = [0.0; LANES];
                for (l, c) in cands.iter().enumerate() {
                    v[l] = c[j];
                }
                v
            })
            .collect()
    }

    proptest! {
        /// Every lane equals the scalar kernel bit for bit (abandoned or not), which equals the
        /// textbook DTW; the dispatched and the baseline variants agree.
        #[test]
        fn lanes_equal_the_scalar_kernel(
            n in 1usize..48,
            r in 0usize..50,
            seed in any::<u64>(),
            used in 1usize..=LANES,
            limits in prop::collection::vec(prop_oneof![Just(f64::INFINITY), 0.0f64..40.0], LANES),
            with_tail in any::<bool>(),
        ) {
            use rand::{Rng, SeedableRng};
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let q: Vec<f64> = (0..n).map(|_| rng.gen_range(-3.0..3.0)).collect();
            let cands: Vec<Vec<f64>> = (0..used)
                .map(|_| (0..n).map(|_| rng.gen_range(-3.0..3.0)).collect())
                .collect();
            let tails: Vec<Vec<f64>> = cands
                .iter()
                .map(|_| {
                    let mut t: Vec<f64> = (0..n).map(|_| rng.gen_range(0.0..0.5)).collect();
                    for i in (0..n.saturating_sub(1)).rev() {
                        t[i] += t[i + 1];
                    }
                    t
                })
                .collect();
            let x = interleave(&cands, n);
            let tail_lanes = interleave(&tails, n);
            let mut limit = [f64::NEG_INFINITY; LANES];
            limit[..used].copy_from_slice(&limits[..used]);
            let tail = with_tail.then_some(tail_lanes.as_slice());
            // A kernel whose rows still hold a longer, unrelated batch.
            let mut k = LaneDtw::default();
            let junk: Vec<Lanes> = (0..n + 7).map(|_| [rng.gen_range(-9.0..9.0); LANES]).collect();
            let junk_q: Vec<f64> = (0..n + 7).map(|_| rng.gen_range(-9.0..9.0)).collect();
            k.distance_sq(&junk_q, &junk, r / 2, &[f64::INFINITY; LANES], None);
            let got = k.distance_sq(&q, &x, r, &limit, tail);
            let base = k.distance_sq_baseline(&q, &x, r, &limit, tail);
            for l in 0..LANES {
                prop_assert_eq!(got[l].map(f64::to_bits), base[l].map(f64::to_bits));
            }
            for l in 0..used {
                let t = with_tail.then_some(tails[l].as_slice());
                let (d, abandoned) = dtw::distance_sq_bounded(&q, &cands[l], r, limits[l], t);
                if abandoned {
                    prop_assert_eq!(got[l], None, "lane {} should abandon", l);
                } else {
                    prop_assert_eq!(got[l].map(f64::to_bits), Some(d.to_bits()), "lane {}", l);
                    let naive = dtw::distance_sq_naive(&q, &cands[l], r.min(n));
                    prop_assert!((d - naive).abs() <= 1e-9 * (1.0 + naive));
                }
            }
            for l in used..LANES {
                prop_assert_eq!(got[l], None);
            }
        }
    }

    #[test]
    fn full_window_and_length_one() {
        let mut k = LaneDtw::default();
        let q = [1.0];
        let x = [[2.0; LANES]];
        let got = k.distance_sq(&q, &x, 5, &[f64::INFINITY; LANES], None);
        assert!(got.iter().all(|g| *g == Some(1.0)));
        let q = [0.0, 0.0, 1.0];
        let mut x = vec![[0.0; LANES]; 3];
        for (j, v) in [0.0, 1.0, 1.0].into_iter().enumerate() {
            x[j] = [v; LANES];
        }
        let got = k.distance_sq(&q, &x, 2, &[f64::INFINITY; LANES], None);
        assert!(got.iter().all(|g| *g == Some(0.0)));
    }
}
