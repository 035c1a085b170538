//! MINDIST lower bounds through per-query lookup tables (Lin et al. 2003; Shieh & Keogh 2008;
//! edwSAX: Kloska & Rozinajova).
//!
//! For a query, segment j is summarised by an interval `[a_j, b_j]`: for Euclidean distance the
//! query's PAA value (`a_j = b_j = q̄_j`), for DTW the PAA of its lower and upper envelope. A stored
//! series whose PAA value in segment j has symbol s lies in the symbol's interval `[c_s, d_s]`, so
//!
//! ```text
//!   table[j][s] = ℓ_j · gap([a_j, b_j], [c_s, d_s])²,   gap = max(0, c − b, a − d)
//!   bound²(word) = Σ_j table[j][word_j]                  (w lookups per series)
//! ```
//!
//! and an iSAX envelope (per segment the symbols `min_j..=max_j` of a group) gives
//! `Σ_j ℓ_j · gap([a_j, b_j], [c_{min_j}, d_{max_j}])²`.
//!
//! # Invariants
//! - Euclidean: `bound² ≤ Σ_i (q_i − x_i)²` (PAA bound per segment, then the interval relaxation).
//! - DTW: `bound² ≤ LB_Keogh² ≤ DTW²` (Keogh 2002: Jensen per segment on the envelope terms).
//! - A group's bound is ≤ the bound of every word in it.

use super::breakpoints::{Breakpoints, CARDINALITY};

/// Squared gap between `[a, b]` and `[c, d]`.
#[inline]
fn gap_sq(a: f64, b: f64, c: f64, d: f64) -> f64 {
    let g = (c - b).max(a - d).max(0.0);
    g * g
}

/// A query's lookup table for one length group.
#[derive(Debug, Clone)]
pub struct MindistTable {
    w: usize,
    table: Vec<f64>,
    lo: Vec<f64>,
    hi: Vec<f64>,
    seg_len: Vec<f64>,
}

impl MindistTable {
    /// The table for query intervals `[lo_j, hi_j]` and segment lengths `ℓ_j`.
    pub fn new(lo: &[f64], hi: &[f64], seg_len: &[f64], bp: &Breakpoints) -> MindistTable {
        let w = seg_len.len();
        let mut table = vec![0.0; w * CARDINALITY];
        for j in 0..w {
            for s in 0..CARDINALITY {
                let (c, d) = bp.interval(s as u8, s as u8);
                table[j * CARDINALITY + s] = seg_len[j] * gap_sq(lo[j], hi[j], c, d);
            }
        }
        MindistTable {
            w,
            table,
            lo: lo.to_vec(),
            hi: hi.to_vec(),
            seg_len: seg_len.to_vec(),
        }
    }

    /// `bound²` of one word.
    #[inline]
    pub fn word_bound_sq(&self, word: &[u8]) -> f64 {
        let mut s = 0.0;
        for (j, &sym) in word.iter().enumerate().take(self.w) {
            s += self.table[j * CARDINALITY + sym as usize];
        }
        s
    }

    /// `bound²` of an envelope of symbols `min_j..=max_j`.
    pub fn envelope_bound_sq(&self, min: &[u8], max: &[u8], bp: &Breakpoints) -> f64 {
        let mut s = 0.0;
        for j in 0..self.w {
            let (c, d) = bp.interval(min[j], max[j]);
            s += self.seg_len[j] * gap_sq(self.lo[j], self.hi[j], c, d);
        }
        s
    }

    /// `bound²` of a word at `bits` bits per symbol (the top bits of each 8-bit symbol), for
    /// tightness measurements at lower cardinalities.
    pub fn word_bound_sq_at(&self, word: &[u8], bits: u32, bp: &Breakpoints) -> f64 {
        word_bound_sq_at(&self.lo, &self.hi, &self.seg_len, word, bits, bp)
    }
}

/// Tightness of the lower bound for one pair at `bits` bits per symbol: the MINDIST bound between
/// the PAA of `a` (as a query) and the word of the PAA of `b`, divided by `ed`, their Euclidean
/// distance (which must be > 0).
pub fn pair_tlb(
    paa_a: &[f64],
    paa_b: &[f64],
    seg_len: &[f64],
    ed: f64,
    bits: u32,
    bp: &Breakpoints,
) -> f64 {
    let word: Vec<u8> = paa_b.iter().map(|&v| bp.symbol(v)).collect();
    word_tlb(paa_a, &word, seg_len, ed, bits, bp)
}

/// [`pair_tlb`] with the 8-bit word of `b` given.
pub fn word_tlb(
    paa_a: &[f64],
    word_b: &[u8],
    seg_len: &[f64],
    ed: f64,
    bits: u32,
    bp: &Breakpoints,
) -> f64 {
    word_bound_sq_at(paa_a, paa_a, seg_len, word_b, bits, bp).sqrt() / ed
}

/// `bound²` of a word at `bits` bits per symbol for query intervals `[lo_j, hi_j]`, without a
/// table (for one-off bounds).
pub fn word_bound_sq_at(
    lo: &[f64],
    hi: &[f64],
    seg_len: &[f64],
    word: &[u8],
    bits: u32,
    bp: &Breakpoints,
) -> f64 {
    let mut s = 0.0;
    for j in 0..seg_len.len() {
        let (c, d) = bp.interval_at((word[j] >> (8 - bits)) as u32, bits);
        s += seg_len[j] * gap_sq(lo[j], hi[j], c, d);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distance::{dtw, lb::Envelope};
    use crate::index::paa;
    use proptest::prelude::*;

    fn word(x: &[f64], w: usize, bp: &Breakpoints) -> Vec<u8> {
        paa::paa(x, w).iter().map(|&v| bp.symbol(v)).collect()
    }

    proptest! {
        #[test]
        fn bounds_never_exceed_distances(
            v in prop::collection::vec((-3.0f64..3.0, -3.0f64..3.0), 2..90),
            w in 1usize..20,
            r in 0usize..10,
            kde in any::<bool>(),
        ) {
            let q: Vec<f64> = v.iter().map(|p| p.0).collect();
            let x: Vec<f64> = v.iter().map(|p| p.1).collect();
            let n = q.len();
            let w = paa::word_len_for(n, w);
            let bp = if kde { Breakpoints::kde(&x) } else { Breakpoints::gaussian() };
            let sl = paa::seg_lens(n, w);
            let wx = word(&x, w, &bp);
            // Euclidean.
            let qp = paa::paa(&q, w);
            let t = MindistTable::new(&qp, &qp, &sl, &bp);
            let ed: f64 = q.iter().zip(&x).map(|(a, b)| (a - b).powi(2)).sum();
            let wb = t.word_bound_sq(&wx);
            prop_assert!(wb <= ed + 1e-9, "word {wb} > ED {ed}");
            prop_assert!(t.envelope_bound_sq(&wx, &wx, &bp) <= wb + 1e-12);
            for bits in 1..=8 {
                prop_assert!(t.word_bound_sq_at(&wx, bits, &bp) <= wb + 1e-12);
            }
            // DTW.
            let env = Envelope::new(&q, r);
            let (lo, hi) = (paa::paa(&env.lower, w), paa::paa(&env.upper, w));
            let td = MindistTable::new(&lo, &hi, &sl, &bp);
            let d = dtw::distance_sq_naive(&q, &x, r.min(n));
            prop_assert!(td.word_bound_sq(&wx) <= d + 1e-9);
        }
    }
}
