//! Distances between equal-length series: Euclidean ([`euclid`]) and DTW with a Sakoe-Chiba band
//! ([`dtw`]), and the cheap lower bounds that prune DTW ([`lb`]).
//!
//! Definitions (also in the README):
//! - `ED(q, x) = sqrt(Σ_i (q_i − x_i)²)`.
//! - `DTW_r(q, x) = sqrt(min over warping paths P inside |i − j| ≤ r of Σ_{(i,j)∈P} (q_i − x_j)²)`,
//!   paths from (0, 0) to (n−1, n−1) with steps (1,0), (0,1), (1,1).
//!
//! Functions ending in `_sq` work with squared distances, which is what the search compares.

pub mod dtw;
pub mod dtw_lanes;
pub mod euclid;
pub mod lb;

/// The Sakoe-Chiba window of a DTW query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Window {
    /// `r = floor(f·n)` for a fraction `0 ≤ f ≤ 1` (1: unconstrained).
    Fraction(f64),
    /// `r` points.
    Points(usize),
}

impl Window {
    /// The band half-width r for series of length `n`.
    pub fn radius(&self, n: usize) -> usize {
        match *self {
            Window::Fraction(f) => {
                ((f.clamp(0.0, 1.0) * n as f64).floor() as usize).min(n.saturating_sub(1))
            }
            Window::Points(r) => r.min(n.saturating_sub(1)),
        }
    }
}
