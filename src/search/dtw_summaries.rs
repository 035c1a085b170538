//! The index's DTW summaries: per stored series, at a finer resolution than the index's words
//! ([`DTW_SEGMENTS`] segments), the PAA of the series and the PAA of its own Sakoe-Chiba
//! envelope, each value as one 8-bit cell of the index's breakpoints; per leaf and node their
//! hulls. They give both directions of the PAA bound of DTW (Keogh & Ratanamahatana 2005):
//!
//! - **forward** (the query's envelope `[L, U]` against the series):
//!   `DTW_r(q, x)² ≥ Σ_i (x_i − U_i)₊² + (L_i − x_i)₊²` (LB_Keogh), and since `t ↦ t₊²` is convex,
//!   per segment j of `ℓ_j` points (Jensen) `≥ ℓ_j·gap(x̄_j, [L̄_j, Ū_j])²`; with `x̄_j` known
//!   only to lie in its cell `[c, d]`, `≥ ℓ_j·gap([c, d], [L̄_j, Ū_j])²` ([`MindistTable`]).
//! - **reverse** (the series' envelope against the query):
//!   `DTW_r(q, x)² ≥ Σ_j ℓ_j·[(q̄_j − Ū_j)₊² + (L̄_j − q̄_j)₊²]` by the same steps with the roles
//!   swapped; `L̄_j` is replaced by the lower edge of its cell and `Ū_j` by the upper edge of its
//!   cell, which only lowers the bound ([`ReverseTable`]).
//!
//! The search takes the larger of the two, and of the word bound. A leaf or node keeps per
//! segment the smallest and largest PAA cell, the smallest lower-envelope cell and the largest
//! upper-envelope cell of its members, so its bounds are at most each member's.
//!
//! The envelopes depend on the window: the summaries are computed from the reconstructions at
//! the first DTW query of a window and kept (`3·w` bytes per series, plus one flag).

use rayon::prelude::*;

use super::Source;
use crate::distance::lb::Envelope;
use crate::index::breakpoints::{Breakpoints, CARDINALITY};
use crate::index::mindist::MindistTable;
use crate::index::{paa, LengthGroup};

/// Segments of the DTW summaries (fewer for shorter series: one point per segment at most).
///
/// Measured on 100,000 random walks of length 256 at a 10 % window, exact 1-NN of fresh walks:
/// series whose two-way bound does not exceed the answer's distance, 5–15 % at 32 segments,
/// 4–11 % at 64, 3–9 % at 128; median query time (`examples/dtw_bench`) 28.7 ms at 32 and
/// 21.5 ms at 64 segments. 64 costs 193 bytes per series in memory.
pub const DTW_SEGMENTS: usize = 64;

/// The DTW summaries of one length group at one window.
#[derive(Debug, Clone, PartialEq)]
pub struct DtwSummaries {
    /// Segments.
    pub w: usize,
    /// Their lengths `ℓ_j`.
    pub seg_len: Vec<f64>,
    /// Per member (index order) `w` cells of the series' PAA.
    pub series_paa: Vec<u8>,
    /// Per member `w` cells of the PAA of the lower envelope.
    pub series_lo: Vec<u8>,
    /// Per member `w` cells of the PAA of the upper envelope.
    pub series_hi: Vec<u8>,
    /// Per member: its series could not be read, so it bounds nothing (bound 0).
    pub unknown: Vec<bool>,
    /// Per leaf: `[smallest PAA cell, largest PAA cell, smallest lower cell, largest upper
    /// cell]`, `w` each.
    pub leaf: Vec<[Vec<u8>; 4]>,
    /// The same per node.
    pub node: Vec<[Vec<u8>; 4]>,
}

impl DtwSummaries {
    /// The summaries of every member of `group` at window `r`, from `source`, in the cells of
    /// `bp`.
    pub fn build(
        group: &LengthGroup,
        source: &impl Source,
        r: usize,
        bp: &Breakpoints,
    ) -> DtwSummaries {
        let w = DTW_SEGMENTS.min(group.len).max(1);
        let per: Vec<Option<[Vec<u8>; 3]>> = group
            .members
            .par_iter()
            .map_init(Vec::new, |x, &pos| {
                source.normalized_into(pos as usize, x);
                if x.len() != group.len || x.is_empty() {
                    return None;
                }
                let env = Envelope::new(x, r);
                let cells = |v: &[f64]| -> Vec<u8> {
                    paa::paa(v, w).into_iter().map(|p| bp.symbol(p)).collect()
                };
                Some([cells(x), cells(&env.lower), cells(&env.upper)])
            })
            .collect();
        let count = per.len();
        let mut s = DtwSummaries {
            w,
            seg_len: paa::seg_lens(group.len, w),
            series_paa: Vec::with_capacity(count * w),
            series_lo: Vec::with_capacity(count * w),
            series_hi: Vec::with_capacity(count * w),
            unknown: Vec::with_capacity(count),
            leaf: Vec::new(),
            node: Vec::new(),
        };
        for p in per {
            match p {
                Some([paa, lo, hi]) => {
                    s.series_paa.extend(paa);
                    s.series_lo.extend(lo);
                    s.series_hi.extend(hi);
                    s.unknown.push(false);
                }
                None => {
                    // The widest cells: both bounds of this series are 0.
                    s.series_paa.extend(std::iter::repeat_n(0, w));
                    s.series_lo.extend(std::iter::repeat_n(0, w));
                    s.series_hi.extend(std::iter::repeat_n(u8::MAX, w));
                    s.unknown.push(true);
                }
            }
        }
        let hull = |parts: &mut dyn Iterator<Item = [&[u8]; 4]>| -> [Vec<u8>; 4] {
            let mut h = [
                vec![u8::MAX; w],
                vec![0; w],
                vec![u8::MAX; w],
                vec![0; w],
            ];
            for [pmin, pmax, lo, hi] in parts {
                for j in 0..w {
                    h[0][j] = h[0][j].min(pmin[j]);
                    h[1][j] = h[1][j].max(pmax[j]);
                    h[2][j] = h[2][j].min(lo[j]);
                    h[3][j] = h[3][j].max(hi[j]);
                }
            }
            h
        };
        let tree = &group.tree;
        s.leaf = tree
            .leaves
            .iter()
            .map(|l| {
                let mut members = (l.start as usize..l.end as usize).map(|e| {
                    if s.unknown[e] {
                        [&FULL_LO[..w], &FULL_HI[..w], &FULL_LO[..w], &FULL_HI[..w]]
                    } else {
                        let p = &s.series_paa[e * w..(e + 1) * w];
                        [p, p, &s.series_lo[e * w..(e + 1) * w], &s.series_hi[e * w..(e + 1) * w]]
                    }
                });
                hull(&mut members)
            })
            .collect();
        s.node = tree
            .nodes
            .iter()
            .map(|n| {
                let mut leaves = s.leaf[n.start as usize..n.end as usize]
                    .iter()
                    .map(|h| [&h[0][..], &h[1][..], &h[2][..], &h[3][..]]);
                hull(&mut leaves)
            })
            .collect();
        s
    }
}

/// Cell rows of the widest hull (long enough for any `w ≤ DTW_SEGMENTS`).
const FULL_LO: [u8; DTW_SEGMENTS] = [0; DTW_SEGMENTS];
const FULL_HI: [u8; DTW_SEGMENTS] = [u8::MAX; DTW_SEGMENTS];

/// The reverse bound's lookup tables for one query: per segment j and cell s,
/// `lo[j][s] = ℓ_j·(c_s − q̄_j)₊²` (the series' lower envelope above the query, with `c_s` the
/// cell's lower edge) and `hi[j][s] = ℓ_j·(q̄_j − d_s)₊²` (`d_s` its upper edge).
#[derive(Debug, Clone)]
pub struct ReverseTable {
    w: usize,
    lo: Vec<f64>,
    hi: Vec<f64>,
}

impl ReverseTable {
    /// The tables for a query whose PAA is `q_paa`.
    pub fn new(q_paa: &[f64], seg_len: &[f64], bp: &Breakpoints) -> ReverseTable {
        let w = q_paa.len();
        let mut lo = vec![0.0; w * CARDINALITY];
        let mut hi = vec![0.0; w * CARDINALITY];
        for j in 0..w {
            for s in 0..CARDINALITY {
                let (c, d) = bp.interval(s as u8, s as u8);
                let above = (c - q_paa[j]).max(0.0);
                let below = (q_paa[j] - d).max(0.0);
                lo[j * CARDINALITY + s] = seg_len[j] * above * above;
                hi[j * CARDINALITY + s] = seg_len[j] * below * below;
            }
        }
        ReverseTable { w, lo, hi }
    }

    /// The reverse bound of squared DTW for lower-envelope cells `lo` and upper-envelope cells
    /// `hi` (of a series, or a hull's smallest and largest).
    #[inline]
    pub fn bound_sq(&self, lo: &[u8], hi: &[u8]) -> f64 {
        self.partial_sq(lo, hi, 0..self.w)
    }

    /// The terms of segments `js` only (each term is ≥ 0, so any part of the sum is a bound).
    #[inline]
    fn partial_sq(&self, lo: &[u8], hi: &[u8], js: std::ops::Range<usize>) -> f64 {
        let mut s = 0.0;
        for j in js {
            s += self.lo[j * CARDINALITY + lo[j] as usize] + self.hi[j * CARDINALITY + hi[j] as usize];
        }
        s
    }
}

/// A query's side of the DTW summaries of one group: the forward table (its envelope's PAA
/// intervals) and the reverse table (its PAA).
#[derive(Debug, Clone)]
pub struct DtwQuery {
    forward: MindistTable,
    reverse: ReverseTable,
    w: usize,
}

impl DtwQuery {
    /// Prepares `q` (normalised) with envelope `env` for summaries `s`.
    pub fn new(q: &[f64], env: &Envelope, s: &DtwSummaries, bp: &Breakpoints) -> DtwQuery {
        let (lo, hi) = (paa::paa(&env.lower, s.w), paa::paa(&env.upper, s.w));
        DtwQuery {
            forward: MindistTable::new(&lo, &hi, &s.seg_len, bp),
            reverse: ReverseTable::new(&paa::paa(q, s.w), &s.seg_len, bp),
            w: s.w,
        }
    }

    /// The larger of the forward and reverse bounds of member `e` (0 for a series that could
    /// not be read); when the forward bound alone exceeds `limit`, it is returned without the
    /// reverse one.
    #[inline]
    pub fn series_sq(&self, s: &DtwSummaries, e: usize, limit: f64) -> f64 {
        if s.unknown[e] {
            return 0.0;
        }
        let w = self.w;
        let fwd = self.forward.word_bound_sq(&s.series_paa[e * w..(e + 1) * w]);
        if fwd > limit {
            return fwd;
        }
        // The reverse sum in quarters, stopping once a part of it exceeds the limit.
        let (lo, hi) = (&s.series_lo[e * w..(e + 1) * w], &s.series_hi[e * w..(e + 1) * w]);
        let step = w.div_ceil(4);
        let mut rev = 0.0;
        let mut j = 0;
        while j < w {
            let end = (j + step).min(w);
            rev += self.reverse.partial_sq(lo, hi, j..end);
            if rev > limit {
                break;
            }
            j = end;
        }
        fwd.max(rev)
    }

    /// The larger of the forward and reverse bounds of a hull (a leaf's or a node's).
    pub fn hull_sq(&self, h: &[Vec<u8>; 4], bp: &Breakpoints) -> f64 {
        let fwd = self.forward.envelope_bound_sq(&h[0], &h[1], bp);
        fwd.max(self.reverse.bound_sq(&h[2], &h[3]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distance::dtw;
    use proptest::prelude::*;

    struct Rows(Vec<Vec<f64>>);

    impl Source for Rows {
        fn id(&self, pos: usize) -> u64 {
            pos as u64
        }
        fn normalized_into(&self, pos: usize, out: &mut Vec<f64>) {
            out.clear();
            out.extend_from_slice(&self.0[pos]);
        }
    }

    proptest! {
        /// Both bounds never exceed the true DTW, for series, leaves and nodes, at the window
        /// they were built for and at every narrower one; leaves bound below their members and
        /// nodes below their leaves; a series that cannot be read bounds nothing.
        #[test]
        fn summaries_bound_dtw_from_below(
            rows in proptest::collection::vec(proptest::collection::vec(-3.0f64..3.0, 40), 2..40),
            q in proptest::collection::vec(-3.0f64..3.0, 40),
            w in 1usize..13,
            r in 0usize..40,
            gaussian in any::<bool>(),
        ) {
            let n = 40;
            let words: Vec<u8> = (0..rows.len() * w).map(|i| (i * 37 % 256) as u8).collect();
            let group = LengthGroup::new(n, w, (0..rows.len() as u32).collect(), words);
            let bp = if gaussian {
                Breakpoints::gaussian()
            } else {
                let all: Vec<f64> = rows.iter().flatten().copied().collect();
                Breakpoints::kde(&all)
            };
            let mut src = Rows(rows.clone());
            src.0[0].clear();
            let s = DtwSummaries::build(&group, &src, r, &bp);
            let env = Envelope::new(&q, r);
            let dq = DtwQuery::new(&q, &env, &s, &bp);
            for (e, &pos) in group.members.iter().enumerate() {
                let b = dq.series_sq(&s, e, f64::INFINITY);
                if pos == 0 {
                    prop_assert_eq!(b, 0.0);
                }
                for r2 in 0..=r {
                    let d = dtw::distance_sq(&q, &rows[pos as usize], r2);
                    prop_assert!(b <= d * (1.0 + 1e-12) + 1e-12, "series {pos} window {r2}: {b} > {d}");
                }
                let l = group.tree.leaves.iter().position(|l| (l.start as usize..l.end as usize).contains(&e)).unwrap();
                let bl = dq.hull_sq(&s.leaf[l], &bp);
                prop_assert!(bl <= b * (1.0 + 1e-12) + 1e-12, "leaf {bl} > series {b}");
                let nd = group.tree.nodes.iter().position(|x| (x.start as usize..x.end as usize).contains(&l)).unwrap();
                prop_assert!(dq.hull_sq(&s.node[nd], &bp) <= bl * (1.0 + 1e-12) + 1e-12);
            }
        }
    }
}
