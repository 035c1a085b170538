//! Banded DTW of one query against [`LANES`] candidates at once: the candidates' values are
//! interleaved (`x[j][l]` is value `j` of candidate `l`), so every cell of the dynamic program is
//! one vector operation across the lanes. A scalar kernel is latency-bound on the chain
//! `min → add` along a row; across lanes the same chain carries eight independent cells.
//!
//! A lane whose DTW is within its limit gets exactly what [`super::dtw::distance_sq`] computes
//! for its candidate, in the same order of operations, so bit for bit the scalar value; a lane
//! whose DTW exceeds its limit gets `None`. Cells that no path within any lane's limit can pass
//! through are pruned (EAPrunedDTW, Herrmann & Webb 2021), judged by each lane's cost so far plus
//! its bound of the rows still to come (UCR Suite's cumulative bound, Rakthanmanon et al. 2012),
//! and the batch stops as soon as a row has no live cell left.
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
    /// Squared DTW within band `r` of `q` against the candidates in `x` (`x.len() == q.len()`):
    /// lane `l` of the answer is `Some(d)` when the DTW `d` is at most `limit[l]`, else `None`.
    /// `tail[i][l]`, when given, must bound from below the cost of the rows after `i` of every
    /// path of lane `l` (as [`crate::search::cascade`]'s cumulative bound does); it decides which
    /// cells are pruned. A lane with limit `-∞` is unused.
    pub fn distance_sq(
        &mut self,
        q: &[f64],
        x: &[Lanes],
        r: usize,
        limit: &Lanes,
        tail: Option<&[Lanes]>,
    ) -> [Option<f64>; LANES] {
        let (prev, cur) = self.rows(q, x, tail);
        if q.is_empty() {
            return [Some(0.0); LANES];
        }
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
        let (prev, cur) = self.rows(q, x, tail);
        if q.is_empty() {
            return [Some(0.0); LANES];
        }
        kernel(q, x, r, limit, tail, prev, cur)
    }

    /// Checks the lengths and gives the two rows of the program, `n` cells each. Every cell a
    /// row reads was written by the row before it (or is the +∞ written right of its band), so
    /// the rows need no reset between calls.
    fn rows(&mut self, q: &[f64], x: &[Lanes], tail: Option<&[Lanes]>) -> (&mut [Lanes], &mut [Lanes]) {
        assert_eq!(q.len(), x.len(), "query and candidates differ in length");
        if let Some(t) = tail {
            assert_eq!(t.len(), q.len(), "the tail bound has one row per query point");
        }
        let n = q.len();
        if self.prev.len() < n {
            self.prev.resize(n, [f64::INFINITY; LANES]);
            self.cur.resize(n, [f64::INFINITY; LANES]);
        }
        (&mut self.prev[..n], &mut self.cur[..n])
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

/// Whether any lane of cell `c` is live: `c + t ≤ limit` (`t` the lane's bound of the rows
/// still to come).
#[inline(always)]
fn any_live(c: &Lanes, t: &Lanes, limit: &Lanes) -> bool {
    let mut live = false;
    for l in 0..LANES {
        live |= c[l] + t[l] <= limit[l];
    }
    live
}

/// Cell `j` of the row of query value `ai`: its cost from the cell left of it and the two above
/// (cells of the row before outside `start..end`, those it did not compute or left dead before
/// its first live one, count as +∞).
#[inline(always)]
fn cell(
    j: usize,
    ai: f64,
    x: &[Lanes],
    prev: &[Lanes],
    (start, end): (usize, usize),
    left: &Lanes,
) -> Lanes {
    let inf = [f64::INFINITY; LANES];
    let pj = if j < end { &prev[j] } else { &inf };
    let pm = if j > start && j - 1 < end {
        &prev[j - 1]
    } else {
        &inf
    };
    let xj = &x[j];
    let mut c = [0.0; LANES];
    for l in 0..LANES {
        let d = ai - xj[l];
        let best = min(min(pj[l], pm[l]), left[l]);
        c[l] = best + d * d;
    }
    c
}

/// The kernel: the dynamic program of `distance_sq_bounded` with every scalar a lane vector,
/// pruned as EAPrunedDTW does (Herrmann & Webb 2021), across the lanes.
///
/// A cell is *dead* when in every lane its cost plus the lane's bound of the rows still to come
/// exceeds the lane's limit: no path through it can finish within any limit. A row starts at the
/// first live cell of the row before (every cell left of it can only be reached through dead
/// cells) and ends at the first dead cell past the cells the row before computed (from there on
/// only steps to the right remain). Cells on a path whose total is within a lane's limit are
/// live, and keep their exact values: a pruned predecessor only ever had a larger cost. So a
/// lane whose DTW is within its limit gets it bit for bit; a lane whose DTW exceeds it gets
/// `None`. `prev` and `cur` hold `n` cells each, of any value: a row reads only cells that the
/// row before it wrote.
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
    let zero = [0.0; LANES];
    // Row 0: only steps to the right; it ends at its first dead cell.
    let t0 = tail.map_or(&zero, |t| &t[0]);
    let mut acc = [0.0; LANES];
    let a0 = q[0];
    let mut end = 0;
    for j in 0..=r {
        let xj = &x[j];
        for l in 0..LANES {
            let d = a0 - xj[l];
            acc[l] += d * d;
        }
        cur[j] = acc;
        end = j + 1;
        if !any_live(&acc, t0, limit) {
            break;
        }
    }
    if !any_live(&cur[0], t0, limit) {
        return [None; LANES];
    }
    // The previous row's computed cells are `start..end`, `start` its first live one.
    let mut start = 0;
    std::mem::swap(&mut prev, &mut cur);
    for i in 1..n {
        let lo = i.saturating_sub(r).max(start);
        let hi = (i + r).min(n - 1);
        let ai = q[i];
        let ti = tail.map_or(&zero, |t| &t[i]);
        let (p_start, p_end) = (start, end);
        end = hi + 1;
        let mut left = inf;
        let mut j = lo;
        // Up to the first live cell, each cell is checked.
        let mut first = None;
        while j <= hi {
            let c = cell(j, ai, x, prev, (p_start, p_end), &left);
            cur[j] = c;
            left = c;
            j += 1;
            if any_live(&c, ti, limit) {
                first = Some(j - 1);
                break;
            }
            if j > p_end {
                // Dead, and past the cells above: the rest of the row is dead too.
                end = j;
                break;
            }
        }
        if first.is_some() {
            // Below cells the row before computed, no check: the row goes on anyway.
            let inner = hi.min(p_end.saturating_sub(1));
            while j <= inner {
                let pm = &prev[j - 1];
                let pj = &prev[j];
                let xj = &x[j];
                let mut c = [0.0; LANES];
                for l in 0..LANES {
                    let d = ai - xj[l];
                    let best = min(min(pj[l], pm[l]), left[l]);
                    c[l] = best + d * d;
                }
                cur[j] = c;
                left = c;
                j += 1;
            }
            // Past them, only steps to the right: the row ends at its first dead cell.
            while j <= hi {
                let c = cell(j, ai, x, prev, (p_start, p_end), &left);
                cur[j] = c;
                left = c;
                j += 1;
                if !any_live(&c, ti, limit) {
                    end = j;
                    break;
                }
            }
        }
        let Some(f) = first else {
            // No live cell: every lane's DTW exceeds its limit.
            return [None; LANES];
        };
        start = f;
        std::mem::swap(&mut prev, &mut cur);
    }
    let mut out = [None; LANES];
    if end == n {
        let last = prev[n - 1];
        for l in 0..LANES {
            if last[l] <= limit[l] {
                out[l] = Some(last[l]);
            }
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
        /// Every lane whose DTW is within its limit gets the scalar kernel's value bit for bit,
        /// every other lane `None`, with and without the cumulative bound of the search (which
        /// prunes cells); the dispatched and the baseline variants agree, also on rows left
        /// dirty by an earlier, longer batch.
        #[test]
        fn lanes_equal_the_scalar_kernel(
            n in 1usize..48,
            r in 0usize..50,
            seed in any::<u64>(),
            used in 1usize..=LANES,
            limits in prop::collection::vec(prop_oneof![Just(f64::INFINITY), 0.0f64..40.0], LANES),
            with_tail in any::<bool>(),
        ) {
            use crate::distance::lb::{lb_keogh_terms, Envelope};
            use crate::search::cascade::tail_bound;
            use rand::{Rng, SeedableRng};
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let q: Vec<f64> = (0..n).map(|_| rng.gen_range(-3.0..3.0)).collect();
            let cands: Vec<Vec<f64>> = (0..used)
                .map(|_| (0..n).map(|_| rng.gen_range(-3.0..3.0)).collect())
                .collect();
            let rr = r.min(n - 1);
            let env = Envelope::new(&q, rr);
            let tails: Vec<Vec<f64>> = cands
                .iter()
                .map(|c| {
                    let (mut tx, mut tq, mut t) = (Vec::new(), Vec::new(), Vec::new());
                    lb_keogh_terms(&env, c, &mut tx);
                    lb_keogh_terms(&Envelope::new(c, rr), &q, &mut tq);
                    tail_bound(&tx, &tq, rr, crate::search::BOUND_SLACK, &mut t);
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
                let d = dtw::distance_sq(&q, &cands[l], r);
                if d <= limits[l] {
                    prop_assert_eq!(got[l].map(f64::to_bits), Some(d.to_bits()), "lane {}", l);
                    let naive = dtw::distance_sq_naive(&q, &cands[l], rr);
                    prop_assert!((d - naive).abs() <= 1e-9 * (1.0 + naive));
                } else {
                    prop_assert_eq!(got[l], None, "lane {} exceeds its limit", l);
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
