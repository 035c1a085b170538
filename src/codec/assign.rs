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

/// Closed-loop assignment for one series with pieces `pieces` of the normalised series `z`.
/// `centres` are the dequantized centres; `w` the scaling weights of digitization.
pub fn closed_loop(z: &[f64], pieces: &[Piece], centres: &[[f64; 2]], w: [f64; 2]) -> Vec<u32> {
    let mut out = Vec::with_capacity(pieces.len());
    let (mut t, mut v) = (0.0f64, z.first().copied().unwrap_or(0.0));
    let mut end = 0usize;
    for p in pieces {
        end += p.len as usize;
        let target_t = end as f64;
        let target_v = z[end];
        let mut best = (f64::INFINITY, 0u32);
        for (c, centre) in centres.iter().enumerate() {
            let dt = w[0] * (t + centre[0] - target_t);
            let dv = w[1] * (v + centre[1] - target_v);
            let cost = dt * dt + dv * dv;
            if cost < best.0 {
                best = (cost, c as u32);
            }
        }
        let c = centres[best.1 as usize];
        t += c[0];
        v += c[1];
        out.push(best.1);
    }
    out
}

/// Nearest centre of each piece in the scaled space (for series outside the fitted set).
pub fn nearest(pieces: &[Piece], centres: &[[f64; 2]], w: [f64; 2]) -> Vec<u32> {
    pieces
        .iter()
        .map(|p| {
            let mut best = (f64::INFINITY, 0u32);
            for (c, centre) in centres.iter().enumerate() {
                let dt = w[0] * (p.len as f64 - centre[0]);
                let dv = w[1] * (p.inc - centre[1]);
                let cost = dt * dt + dv * dv;
                if cost < best.0 {
                    best = (cost, c as u32);
                }
            }
            best.1
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_loop_corrects_drift() {
        // Every piece rises by 1.0 but the only centres rise by 0.8 or 1.4: nearest always
        // picks 0.8 and drifts; closed loop alternates and stays within half a step.
        let z: Vec<f64> = (0..=20).map(|i| i as f64).collect();
        let pieces = vec![Piece { len: 1, inc: 1.0 }; 20];
        let centres = [[1.0, 0.8], [1.0, 1.4]];
        let w = [1.0, 1.0];
        let near = nearest(&pieces, &centres, w);
        assert!(near.iter().all(|&s| s == 0));
        let cl = closed_loop(&z, &pieces, &centres, w);
        let mut v = 0.0;
        for (k, &s) in cl.iter().enumerate() {
            v += centres[s as usize][1];
            assert!((v - (k + 1) as f64).abs() <= 0.6 + 1e-12, "vertex {k}: {v}");
        }
    }
}
