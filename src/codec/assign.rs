//! Symbol assignment: which symbol stands for each piece of a series.
//!
//! - [`Assign::Nearest`] is the papers' rule: each piece takes the symbol of its own cluster
//!   (for series encoded later with an existing codebook: the nearest centre in the scaled
//!   space). Each piece's error against its centre then adds up along the chain, like a random
//!   walk.
//! - [`Assign::ClosedLoop`] (the default) simulates the decoder while encoding: for piece `k`
//!   ending at time `E_k` with value `z(E_k)`, given the reconstructed vertex `(T, V)` so far, it
//!   picks the symbol `c` minimising
//!   `(w_len·(T + len_c − E_k))² + (w_inc·(V + inc_c − z(E_k)))²`
//!   in the same scaled space as digitization. Errors are corrected at every vertex instead of
//!   accumulating, so a vertex is off by at most about the codebook's resolution.

use super::compress::Piece;

/// The rule that picks a symbol for each piece.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Assign {
    /// Closed-loop: the symbol whose centre brings the reconstructed end point closest to the
    /// true one.
    #[default]
    ClosedLoop,
    /// The symbol of the piece's own cluster (the papers' rule).
    Nearest,
}

/// Centres sorted by increment, for pruned nearest-centre searches.
///
/// Both rules minimise `(w_len·(len_c − a))² + (w_inc·(inc_c − b))²` over centres `c`; walking
/// outwards from `b` in increment order, a side stops once `(w_inc·(inc_c − b))²` alone exceeds
/// the best cost found. The result (lowest cost, ties to the lowest index) equals the scan over
/// all centres.
#[derive(Debug, Clone)]
pub struct CentreIndex {
    /// Centre indices in increasing order of increment.
    order: Vec<u32>,
    /// Increments in that order.
    incs: Vec<f64>,
    /// Lengths in that order.
    lens: Vec<f64>,
    w: [f64; 2],
}

impl CentreIndex {
    /// Indexes `centres` `[len, inc]` with weights `w`.
    pub fn new(centres: &[[f64; 2]], w: [f64; 2]) -> Self {
        let mut order: Vec<u32> = (0..centres.len() as u32).collect();
        order.sort_by(|&a, &b| {
            centres[a as usize][1]
                .total_cmp(&centres[b as usize][1])
                .then(a.cmp(&b))
        });
        CentreIndex {
            incs: order.iter().map(|&i| centres[i as usize][1]).collect(),
            lens: order.iter().map(|&i| centres[i as usize][0]).collect(),
            order,
            w,
        }
    }

    /// The centre minimising `(w_len·(len_c − a))² + (w_inc·(inc_c − b))²`.
    pub fn best(&self, a: f64, b: f64) -> u32 {
        self.order.get(self.best_pos(a, b)).copied().unwrap_or(0)
    }

    /// Position (in increment order) of [`CentreIndex::best`].
    fn best_pos(&self, a: f64, b: f64) -> usize {
        let n = self.incs.len();
        let mut best = (f64::INFINITY, u32::MAX, 0usize);
        let cost = |p: usize| {
            let dt = self.w[0] * (self.lens[p] - a);
            let dv = self.w[1] * (self.incs[p] - b);
            (dt * dt + dv * dv, dv * dv)
        };
        let consider = |p: usize, best: &mut (f64, u32, usize)| -> bool {
            let (c, floor) = cost(p);
            let idx = self.order[p];
            if c < best.0 || (c == best.0 && idx < best.1) {
                *best = (c, idx, p);
            }
            floor <= best.0
        };
        let mid = self.incs.partition_point(|&v| v < b);
        let (mut lo, mut hi) = (mid, mid);
        let (mut go_lo, mut go_hi) = (true, true);
        while go_lo || go_hi {
            if go_hi {
                if hi < n {
                    go_hi = consider(hi, &mut best);
                    hi += 1;
                } else {
                    go_hi = false;
                }
            }
            if go_lo {
                if lo > 0 {
                    lo -= 1;
                    go_lo = consider(lo, &mut best);
                } else {
                    go_lo = false;
                }
            }
        }
        best.2
    }
}

/// Closed-loop assignment for one series with pieces `pieces` of the normalised series `z`.
/// `index` holds the dequantized centres with the digitization weights.
pub fn closed_loop(z: &[f64], pieces: &[Piece], index: &CentreIndex) -> Vec<u32> {
    let mut out = Vec::with_capacity(pieces.len());
    let (mut t, mut v) = (0.0f64, z.first().copied().unwrap_or(0.0));
    let mut end = 0usize;
    for p in pieces {
        end += p.len as usize;
        // Cost of c: (w_len·(t + len_c − end))² + (w_inc·(v + inc_c − z[end]))².
        let pos = index.best_pos(end as f64 - t, z[end] - v);
        t += index.lens[pos];
        v += index.incs[pos];
        out.push(index.order[pos]);
    }
    out
}

/// Nearest centre of each piece in the scaled space (for series outside the fitted set).
pub fn nearest(pieces: &[Piece], index: &CentreIndex) -> Vec<u32> {
    pieces
        .iter()
        .map(|p| index.best(p.len as f64, p.inc))
        .collect()
}

/// The scan over all centres that [`CentreIndex::best`] must equal.
pub fn best_by_scan(centres: &[[f64; 2]], w: [f64; 2], a: f64, b: f64) -> u32 {
    let mut best = (f64::INFINITY, 0u32);
    for (c, centre) in centres.iter().enumerate() {
        let dt = w[0] * (centre[0] - a);
        let dv = w[1] * (centre[1] - b);
        let cost = dt * dt + dv * dv;
        if cost < best.0 {
            best = (cost, c as u32);
        }
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn pruned_search_equals_scan(
            centres in prop::collection::vec((0.5f64..20.0, -5.0f64..5.0), 1..80),
            w0 in 0.01f64..3.0, w1 in 0.01f64..3.0,
            queries in prop::collection::vec((0.0f64..25.0, -8.0f64..8.0), 1..30),
        ) {
            // Coarse values make exact ties frequent.
            let centres: Vec<[f64; 2]> = centres.iter().map(|&(l, i)| [(l * 2.0).round() / 2.0, (i * 4.0).round() / 4.0]).collect();
            let index = CentreIndex::new(&centres, [w0, w1]);
            for &(a, b) in &queries {
                prop_assert_eq!(index.best(a, b), best_by_scan(&centres, [w0, w1], a, b));
            }
        }
    }

    #[test]
    fn closed_loop_corrects_drift() {
        // Every piece rises by 1.0 but the only centres rise by 0.8 or 1.4: nearest always
        // picks 0.8 and drifts; closed loop alternates and stays within half a step.
        let z: Vec<f64> = (0..=20).map(|i| i as f64).collect();
        let pieces = vec![Piece { len: 1, inc: 1.0 }; 20];
        let centres = [[1.0, 0.8], [1.0, 1.4]];
        let index = CentreIndex::new(&centres, [1.0, 1.0]);
        let near = nearest(&pieces, &index);
        assert!(near.iter().all(|&s| s == 0));
        let cl = closed_loop(&z, &pieces, &index);
        let mut v = 0.0;
        for (k, &s) in cl.iter().enumerate() {
            v += centres[s as usize][1];
            assert!((v - (k + 1) as f64).abs() <= 0.6 + 1e-12, "vertex {k}: {v}");
        }
    }
}
