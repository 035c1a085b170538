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

/// Centres in a uniform grid over the scaled plane `(w_len·len, w_inc·inc)`, for pruned
/// nearest-centre searches.
///
/// Both rules minimise `(w_len·(len_c − a))² + (w_inc·(inc_c − b))²` over centres `c`. A search
/// visits the grid in square rings around the query's cell and stops once the distance from
/// the query to the edge of the visited square exceeds the best cost found (with a margin for
/// rounding, so it never stops early). The result (lowest cost, ties to the lowest index)
/// equals the scan over all centres ([`best_by_scan`], property-tested).
#[derive(Debug, Clone)]
pub struct CentreIndex {
    /// Centre indices, cell by cell (row-major), ascending within a cell.
    order: Vec<u32>,
    /// Increments in that order.
    incs: Vec<f64>,
    /// Lengths in that order.
    lens: Vec<f64>,
    w: [f64; 2],
    /// Scaled coordinates of the grid's corner and its cell size.
    x0: f64,
    y0: f64,
    h: f64,
    /// Cells along each axis.
    gx: usize,
    gy: usize,
    /// Start of each cell's centres in `order` (`gx·gy + 1` entries).
    cell_start: Vec<u32>,
}

impl CentreIndex {
    /// Indexes `centres` `[len, inc]` with weights `w`.
    pub fn new(centres: &[[f64; 2]], w: [f64; 2]) -> Self {
        let k = centres.len();
        let pts: Vec<[f64; 2]> = centres.iter().map(|c| [w[0] * c[0], w[1] * c[1]]).collect();
        let fold =
            |i: usize, f: fn(f64, f64) -> f64, init: f64| pts.iter().map(|p| p[i]).fold(init, f);
        let (x0, x1) = (
            fold(0, f64::min, f64::INFINITY),
            fold(0, f64::max, f64::NEG_INFINITY),
        );
        let (y0, y1) = (
            fold(1, f64::min, f64::INFINITY),
            fold(1, f64::max, f64::NEG_INFINITY),
        );
        let (x0, y0) = if k == 0 { (0.0, 0.0) } else { (x0, y0) };
        let (rx, ry) = ((x1 - x0).max(0.0), (y1 - y0).max(0.0));
        // About eight cells per centre over the bounding box: centres cluster (short pieces are
        // common), and finer cells keep the clusters' cells nearly empty; an empty cell costs
        // one look at its bounds.
        let cells = (k as f64 * 8.0).max(1.0);
        let mut h = if rx > 0.0 && ry > 0.0 {
            (rx * ry / cells).sqrt()
        } else {
            rx.max(ry) / cells
        };
        if !(h.is_finite() && h > 0.0) {
            h = 1.0;
        }
        let dims = |h: f64| ((rx / h) as usize + 1, (ry / h) as usize + 1);
        while {
            let (a, b) = dims(h);
            a.saturating_mul(b) > 64 * k + 16
        } {
            h *= 2.0;
        }
        let (gx, gy) = dims(h);
        let cell_of = |p: &[f64; 2]| {
            let cx = (((p[0] - x0) / h) as usize).min(gx - 1);
            let cy = (((p[1] - y0) / h) as usize).min(gy - 1);
            cy * gx + cx
        };
        let mut cell_start = vec![0u32; gx * gy + 1];
        for p in &pts {
            cell_start[cell_of(p) + 1] += 1;
        }
        for c in 0..gx * gy {
            cell_start[c + 1] += cell_start[c];
        }
        let mut fill = cell_start.clone();
        let mut order = vec![0u32; k];
        for (i, p) in pts.iter().enumerate() {
            let c = cell_of(p);
            order[fill[c] as usize] = i as u32;
            fill[c] += 1;
        }
        CentreIndex {
            incs: order.iter().map(|&i| centres[i as usize][1]).collect(),
            lens: order.iter().map(|&i| centres[i as usize][0]).collect(),
            order,
            w,
            x0,
            y0,
            h,
            gx,
            gy,
            cell_start,
        }
    }

    /// The centre minimising the weighted squared distance to `(a, b)`.
    pub fn best(&self, a: f64, b: f64) -> u32 {
        self.order.get(self.best_pos(a, b)).copied().unwrap_or(0)
    }

    /// Position (in `order`) of the best centre for `(a, b)`; 0 without centres.
    fn best_pos(&self, a: f64, b: f64) -> usize {
        let mut best = (f64::INFINITY, u32::MAX, 0usize);
        if self.order.is_empty() {
            return 0;
        }
        let (qx, qy) = (self.w[0] * a, self.w[1] * b);
        let (gx, gy, h) = (self.gx as i64, self.gy as i64, self.h);
        let clamp = |v: f64, g: i64| -> i64 {
            if v.is_nan() {
                0
            } else {
                (v.floor().max(0.0) as i64).min(g - 1)
            }
        };
        let cx = clamp((qx - self.x0) / h, gx);
        let cy = clamp((qy - self.y0) / h, gy);
        // Rounding of the scaled coordinates against the costs' own formula.
        let slack = 1e-9 * (h + qx.abs() + qy.abs() + self.x0.abs() + self.y0.abs());
        let visit = |i: i64, j: i64, best: &mut (f64, u32, usize)| {
            if i < 0 || j < 0 || i >= gx || j >= gy {
                return;
            }
            let c = (j * gx + i) as usize;
            for p in self.cell_start[c] as usize..self.cell_start[c + 1] as usize {
                let dt = self.w[0] * (self.lens[p] - a);
                let dv = self.w[1] * (self.incs[p] - b);
                let cost = dt * dt + dv * dv;
                let idx = self.order[p];
                if cost < best.0 || (cost == best.0 && idx < best.1) {
                    *best = (cost, idx, p);
                }
            }
        };
        for r in 0i64.. {
            if r == 0 {
                visit(cx, cy, &mut best);
            } else {
                for i in cx - r..=cx + r {
                    visit(i, cy - r, &mut best);
                    visit(i, cy + r, &mut best);
                }
                for j in cy - r + 1..cy + r {
                    visit(cx - r, j, &mut best);
                    visit(cx + r, j, &mut best);
                }
            }
            // Distance from the query to the nearest side of the visited square that has
            // cells beyond it; none left: every centre has been seen.
            let mut d = f64::INFINITY;
            if cx - r > 0 {
                d = d.min(qx - (self.x0 + (cx - r) as f64 * h));
            }
            if cx + r + 1 < gx {
                d = d.min(self.x0 + (cx + r + 1) as f64 * h - qx);
            }
            if cy - r > 0 {
                d = d.min(qy - (self.y0 + (cy - r) as f64 * h));
            }
            if cy + r + 1 < gy {
                d = d.min(self.y0 + (cy + r + 1) as f64 * h - qy);
            }
            if d == f64::INFINITY {
                break;
            }
            let d = (d - slack).max(0.0);
            if d * d > best.0 * (1.0 + 1e-9) {
                break;
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

    proptest! {
        /// Centres on a line, on one point, or spread over very different scales; queries far
        /// outside the grid.
        #[test]
        fn pruned_search_equals_scan_on_degenerate_layouts(
            lens in prop::collection::vec(prop::sample::select(vec![1.0f64, 2.0, 3.0]), 1..40),
            incs in prop::collection::vec(-1e3f64..1e3, 1..40),
            line in any::<bool>(),
            queries in prop::collection::vec((-1e4f64..1e4, -1e5f64..1e5), 1..20),
        ) {
            let centres: Vec<[f64; 2]> = lens
                .iter()
                .zip(incs.iter().cycle())
                .map(|(&l, &i)| if line { [2.0, i] } else { [l, (i / 500.0).round()] })
                .collect();
            let w = [1.0, 0.01];
            let index = CentreIndex::new(&centres, w);
            for &(a, b) in &queries {
                prop_assert_eq!(index.best(a, b), best_by_scan(&centres, w, a, b));
            }
            let same = vec![[4.0, -2.0]; lens.len()];
            let index = CentreIndex::new(&same, w);
            prop_assert_eq!(index.best(queries[0].0, queries[0].1), 0);
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
