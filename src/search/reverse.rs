//! The reverse DTW bound of the index: the PAA of each stored series' own envelope against the
//! PAA of the query (the direction the index's word bound does not see).
//!
//! For a series x with Sakoe-Chiba envelope `[L, U]` at window r (Keogh & Ratanamahatana 2005),
//! `DTW_r(q, x)² ≥ Σ_i (q_i − U_i)₊² + (L_i − q_i)₊²` (LB_Keogh with x's envelope), and since
//! `t ↦ t₊²` is convex, per PAA segment j of length `ℓ_j` (Jensen):
//! `Σ_{i∈j} (q_i − U_i)₊² ≥ ℓ_j·(q̄_j − Ū_j)₊²`, the same for the lower side. So
//! `Σ_j ℓ_j·[(q̄_j − Ū_j)₊² + (L̄_j − q̄_j)₊²]` bounds DTW from below with the query's exact PAA
//! and the series' envelope PAA (`Ū_j`, `L̄_j`). A leaf or node keeps the largest `Ū_j` and the
//! smallest `L̄_j` of its members: its bound is at most each member's. Stored as f32 rounded
//! outward, so the bounds stay valid.
//!
//! The envelopes depend on the window: they are computed from the reconstructions at the first
//! DTW query of a window and kept (2·w f32 per series).

use rayon::prelude::*;

use super::Source;
use crate::distance::lb::Envelope;
use crate::index::{paa, Index, LengthGroup};

/// The envelope PAAs of one length group at one window.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupEnvelopes {
    /// Per member (index order) `w` lower values.
    pub series_lo: Vec<f32>,
    /// Per member (index order) `w` upper values.
    pub series_hi: Vec<f32>,
    /// Per leaf `w` smallest lower values.
    pub leaf_lo: Vec<f32>,
    /// Per leaf `w` largest upper values.
    pub leaf_hi: Vec<f32>,
    /// Per node `w` smallest lower values.
    pub node_lo: Vec<f32>,
    /// Per node `w` largest upper values.
    pub node_hi: Vec<f32>,
}

/// The largest f32 ≤ v.
fn down(v: f64) -> f32 {
    let f = v as f32;
    if (f as f64) > v {
        f.next_down()
    } else {
        f
    }
}

/// The smallest f32 ≥ v.
fn up(v: f64) -> f32 {
    let f = v as f32;
    if (f as f64) < v {
        f.next_up()
    } else {
        f
    }
}

impl GroupEnvelopes {
    /// The envelope PAAs of every member of `group` at window `r`, from `source`.
    pub fn build(group: &LengthGroup, source: &impl Source, r: usize) -> GroupEnvelopes {
        let w = group.w;
        let per: Vec<(Vec<f32>, Vec<f32>)> = group
            .members
            .par_iter()
            .map_init(Vec::new, |x, &pos| {
                source.normalized_into(pos as usize, x);
                if x.len() != group.len {
                    // A series that cannot be read bounds nothing: the widest envelope.
                    return (vec![f32::NEG_INFINITY; w], vec![f32::INFINITY; w]);
                }
                let env = Envelope::new(x, r);
                let lo = paa::paa(&env.lower, w).into_iter().map(down).collect();
                let hi = paa::paa(&env.upper, w).into_iter().map(up).collect();
                (lo, hi)
            })
            .collect();
        let mut series_lo = Vec::with_capacity(per.len() * w);
        let mut series_hi = Vec::with_capacity(per.len() * w);
        for (lo, hi) in per {
            series_lo.extend(lo);
            series_hi.extend(hi);
        }
        let hull = |ranges: &mut dyn Iterator<Item = (usize, usize)>, lo: &[f32], hi: &[f32]| {
            let (mut out_lo, mut out_hi) = (Vec::new(), Vec::new());
            for (a, b) in ranges {
                let mut l = vec![f32::INFINITY; w];
                let mut h = vec![f32::NEG_INFINITY; w];
                for e in a..b {
                    for j in 0..w {
                        l[j] = l[j].min(lo[e * w + j]);
                        h[j] = h[j].max(hi[e * w + j]);
                    }
                }
                out_lo.extend(l);
                out_hi.extend(h);
            }
            (out_lo, out_hi)
        };
        let tree = &group.tree;
        let (leaf_lo, leaf_hi) = hull(
            &mut tree
                .leaves
                .iter()
                .map(|l| (l.start as usize, l.end as usize)),
            &series_lo,
            &series_hi,
        );
        let (node_lo, node_hi) = hull(
            &mut tree
                .nodes
                .iter()
                .map(|n| (n.start as usize, n.end as usize)),
            &leaf_lo,
            &leaf_hi,
        );
        GroupEnvelopes {
            series_lo,
            series_hi,
            leaf_lo,
            leaf_hi,
            node_lo,
            node_hi,
        }
    }

    /// The envelopes of every group of `index` at window radius `r(n)` of each group's length.
    pub fn of(index: &Index, source: &impl Source, r: impl Fn(usize) -> usize) -> Vec<GroupEnvelopes> {
        index
            .groups
            .iter()
            .map(|g| GroupEnvelopes::build(g, source, r(g.len)))
            .collect()
    }
}

/// `Σ_j ℓ_j·[(q̄_j − hi_j)₊² + (lo_j − q̄_j)₊²]`: the reverse bound of squared DTW.
#[inline]
pub fn bound_sq(q_paa: &[f64], seg_len: &[f64], lo: &[f32], hi: &[f32]) -> f64 {
    let mut s = 0.0;
    for j in 0..q_paa.len() {
        let q = q_paa[j];
        let (l, h) = (lo[j] as f64, hi[j] as f64);
        let d = if q > h {
            q - h
        } else if q < l {
            l - q
        } else {
            0.0
        };
        s += seg_len[j] * d * d;
    }
    s
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
        /// The bound never exceeds the true DTW, for series, leaves and nodes, at every window;
        /// an envelope built at a wider window bounds every narrower one too.
        #[test]
        fn reverse_bound_is_below_dtw(
            rows in proptest::collection::vec(proptest::collection::vec(-3.0f64..3.0, 24), 2..40),
            q in proptest::collection::vec(-3.0f64..3.0, 24),
            w in 1usize..13,
            r in 0usize..24,
        ) {
            let n = 24;
            let words: Vec<u8> = (0..rows.len() * w).map(|i| (i * 37 % 256) as u8).collect();
            let group = LengthGroup::new(n, w, (0..rows.len() as u32).collect(), words);
            let src = Rows(rows.clone());
            let env = GroupEnvelopes::build(&group, &src, r);
            let qp = paa::paa(&q, w);
            for (e, &pos) in group.members.iter().enumerate() {
                let d = dtw::distance_sq(&q, &rows[pos as usize], r);
                let b = bound_sq(&qp, &group.seg_len, &env.series_lo[e * w..(e + 1) * w], &env.series_hi[e * w..(e + 1) * w]);
                prop_assert!(b <= d * (1.0 + 1e-12) + 1e-12, "series {pos}: bound {b} > dtw {d}");
                for r2 in 0..=r {
                    let d2 = dtw::distance_sq(&q, &rows[pos as usize], r2);
                    prop_assert!(b <= d2 * (1.0 + 1e-12) + 1e-12, "window {r2} < {r}");
                }
                let l = group.tree.leaves.iter().position(|l| (l.start as usize..l.end as usize).contains(&e)).unwrap();
                let bl = bound_sq(&qp, &group.seg_len, &env.leaf_lo[l * w..(l + 1) * w], &env.leaf_hi[l * w..(l + 1) * w]);
                prop_assert!(bl <= b * (1.0 + 1e-12) + 1e-12);
                let nd = group.tree.nodes.iter().position(|x| (x.start as usize..x.end as usize).contains(&l)).unwrap();
                let bn = bound_sq(&qp, &group.seg_len, &env.node_lo[nd * w..(nd + 1) * w], &env.node_hi[nd * w..(nd + 1) * w]);
                prop_assert!(bn <= bl * (1.0 + 1e-12) + 1e-12);
            }
        }
    }
}
