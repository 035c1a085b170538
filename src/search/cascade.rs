//! The DTW cascade that verifies a candidate (after the UCR Suite, Rakthanmanon et al. 2012,
//! with LB_Improved, Lemire 2009): LB_Kim from the first and last points, LB_Improved (LB_Keogh
//! with the query's envelope, then against the projection's envelope), LB_Keogh with the
//! candidate's envelope, and a banded DTW that abandons as soon as its partial cost plus a
//! cumulative bound of the rows still to come exceeds the limit (`tail_bound`, shared with the
//! scan baseline).

use super::{SearchStats, BOUND_SLACK};
use crate::distance::dtw;
use crate::distance::dtw_lanes::{LaneDtw, Lanes, LANES};
use crate::distance::lb::{lb_improved_terms_sq, lb_keogh_terms, lb_kim_fl, Envelope, LbScratch};

/// Buffers reused across the verifications of one search worker.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    lb: LbScratch,
    /// The candidate's envelope.
    cenv: Option<Envelope>,
    work: Vec<f64>,
    tx: Vec<f64>,
    tq: Vec<f64>,
    /// The cumulative bound of the last candidate that passed [`screen_dtw`].
    pub(crate) tail: Vec<f64>,
}

/// The cumulative bound of banded DTW's remaining rows: with `tx[j]` the LB_Keogh terms of the
/// candidate against the query's envelope and `tq[i]` those of the query against the
/// candidate's, rows after `i` cover every column after `i + r` and every query row after `i`,
/// so `tail[i] = max(Σ_{j > i+r} tx[j], Σ_{i' > i} tq[i'])`, times `slack` (≤ 1) so that rounding
/// can never abandon a path that ties the limit.
pub(crate) fn tail_bound(tx: &[f64], tq: &[f64], r: usize, slack: f64, tail: &mut Vec<f64>) {
    let n = tx.len();
    tail.clear();
    tail.resize(n, 0.0);
    let (mut sx, mut sq) = (0.0f64, 0.0f64);
    for i in (0..n).rev() {
        let j = i + r + 1;
        if j < n {
            sx += tx[j];
        }
        tail[i] = sx.max(sq) * slack;
        sq += tq[i];
    }
}

/// The bounds of the cascade without the DTW itself: false when LB_Kim, LB_Improved or
/// LB_Keogh with the candidate's envelope shows that candidate `x` exceeds `limit`; when true,
/// `scratch.tail` holds the candidate's cumulative bound ([`tail_bound`]) for the DTW.
pub(crate) fn screen_dtw(
    q: &[f64],
    env: &Envelope,
    r: usize,
    x: &[f64],
    limit: f64,
    stats: &mut SearchStats,
    scratch: &mut Scratch,
) -> bool {
    stats.lower_bounds += 1;
    if lb_kim_fl(q, x) * BOUND_SLACK > limit {
        return false;
    }
    stats.lower_bounds += 1;
    // LB_Improved; its first part's terms are the candidate's LB_Keogh terms of the tail bound.
    let lb = lb_improved_terms_sq(q, env, x, r, limit / BOUND_SLACK, &mut scratch.lb, &mut scratch.tx);
    if lb * BOUND_SLACK > limit {
        return false;
    }
    let cenv = scratch.cenv.get_or_insert_with(|| Envelope {
        upper: Vec::new(),
        lower: Vec::new(),
    });
    cenv.fill(x, r, &mut scratch.work);
    stats.lower_bounds += 1;
    // LB_Keogh with the candidate's envelope, summed from the terms the tail bound needs.
    lb_keogh_terms(cenv, q, &mut scratch.tq);
    if scratch.tq.iter().sum::<f64>() * BOUND_SLACK > limit {
        return false;
    }
    tail_bound(&scratch.tx, &scratch.tq, r, BOUND_SLACK, &mut scratch.tail);
    true
}

/// Exact squared DTW distance (band `r`) of candidate `x` to query `q` with envelope `env`, or
/// `None` when a bound or the abandoned DTW shows that it exceeds `limit`.
pub(crate) fn verify_dtw(
    q: &[f64],
    env: &Envelope,
    r: usize,
    x: &[f64],
    limit: f64,
    stats: &mut SearchStats,
    scratch: &mut Scratch,
) -> Option<f64> {
    if !screen_dtw(q, env, r, x, limit, stats, scratch) {
        return None;
    }
    stats.verified += 1;
    let (d, abandoned) = dtw::distance_sq_bounded(q, x, r, limit, Some(&scratch.tail));
    if abandoned {
        stats.abandoned += 1;
        None
    } else {
        Some(d)
    }
}

/// Candidates that passed [`screen_dtw`], waiting for their DTW, computed [`LANES`] at a time by
/// the lane kernel ([`LaneDtw`]); each carries a payload `P` (its id, and what the caller needs
/// to settle it). Every lane's distance is the scalar kernel's, bit for bit.
#[derive(Debug)]
pub(crate) struct LaneBatch<P> {
    x: Vec<Lanes>,
    tail: Vec<Lanes>,
    payload: Vec<P>,
    kernel: LaneDtw,
}

impl<P: Copy> LaneBatch<P> {
    /// An empty batch for series of length `n`.
    pub(crate) fn new(n: usize) -> LaneBatch<P> {
        LaneBatch {
            x: vec![[0.0; LANES]; n],
            tail: vec![[0.0; LANES]; n],
            payload: Vec::with_capacity(LANES),
            kernel: LaneDtw::default(),
        }
    }

    /// Adds candidate `x` with its cumulative bound `tail` (both of length `n`); true when the
    /// batch is full and must be run.
    pub(crate) fn push(&mut self, x: &[f64], tail: &[f64], payload: P) -> bool {
        let l = self.payload.len();
        for (j, (&v, &t)) in x.iter().zip(tail).enumerate() {
            self.x[j][l] = v;
            self.tail[j][l] = t;
        }
        self.payload.push(payload);
        self.payload.len() == LANES
    }

    /// Computes every waiting candidate's DTW within band `r`, abandoning past `limit` of its
    /// payload (read now, so it is the tightest known), and appends `(payload, distance)` for
    /// those that finish; empties the batch.
    pub(crate) fn run(
        &mut self,
        q: &[f64],
        r: usize,
        limit: impl Fn(&P) -> f64,
        stats: &mut SearchStats,
        out: &mut Vec<(P, f64)>,
    ) {
        let used = self.payload.len();
        if used == 0 {
            return;
        }
        let mut limits = [f64::NEG_INFINITY; LANES];
        for (l, p) in self.payload.iter().enumerate() {
            limits[l] = limit(p);
        }
        let got = self.kernel.distance_sq(q, &self.x, r, &limits, Some(&self.tail));
        stats.verified += used as u64;
        for (l, p) in self.payload.iter().enumerate() {
            match got[l] {
                Some(d) => out.push((*p, d)),
                None => stats.abandoned += 1,
            }
        }
        self.payload.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tail bound never exceeds the true cost of the remaining rows of the best path: an
    /// abandoning DTW with it gives the plain DTW's distance whenever that is within the limit.
    #[test]
    fn abandoning_with_the_tail_bound_keeps_every_distance_within_the_limit() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        for _ in 0..200 {
            let n = rng.gen_range(2..60);
            let r = rng.gen_range(0..n);
            let q: Vec<f64> = (0..n).map(|_| rng.gen_range(-2.0..2.0)).collect();
            let x: Vec<f64> = (0..n).map(|_| rng.gen_range(-2.0..2.0)).collect();
            let exact = dtw::distance_sq(&q, &x, r);
            let env = Envelope::new(&q, r);
            let mut stats = SearchStats::default();
            let mut scratch = Scratch::default();
            let got = verify_dtw(&q, &env, r, &x, exact * 1.0001 + 1e-12, &mut stats, &mut scratch);
            assert_eq!(got.map(f64::to_bits), Some(exact.to_bits()), "n {n} r {r}");
            let below = verify_dtw(&q, &env, r, &x, exact * 0.5, &mut stats, &mut scratch);
            assert!(below.is_none() || below == Some(exact));
        }
    }
}
