//! ABBA compression: a series → a polygonal chain of pieces `(len, inc)`.
//!
//! Elsworth & Güttel (2020), "ABBA: adaptive Brownian bridge-based symbolic aggregation of time
//! series", §2.1. Starting at `s`, a piece is extended point by point; end `e` is accepted while
//!
//! ```text
//!   err(s, e) = Σ_{j=0..L} (z_s + (z_e − z_s)·j/L − z_{s+j})²  ≤  (L − 1)·tol² + 2⁻⁵²,   L = e − s
//! ```
//!
//! and the piece ends at the last accepted end, before the first end that fails (or at `max_len`
//! intervals). The next piece starts where the previous one ended, so pieces share end points;
//! `len` counts intervals and the first value is stored apart.
//!
//! **`tol` convention.** This is the papers' `tol`: the squared error budget is `(L−1)·tol²`.
//! The PyPI packages `fabba` and `qabba` accept a piece while `err ≤ tol·(L−1) + 2⁻⁵²`, so their
//! `tol` is our `tol²`: `qabbadb --tol 0.2236` ≡ `fABBA(tol=0.05)`.
//!
//! **Cost.** O(1) per point: with `y_j = z_{s+j} − z_s` and slope `a = y_L/L`,
//! `err = a²·Σj² − 2a·Σ j·y_j + Σ y_j²`, where `Σj² = L(L+1)(2L+1)/6` is closed-form and the two
//! sums grow by one term per step. The reference re-fits every candidate end (O(L) each). Where the
//! closed form lands within rounding distance of the threshold, the error is summed directly, so
//! the pieces are the same as those of [`compress_naive`].
//!
//! # Invariants
//! - `Σ len = n − 1` and every `len ≥ 1`; a series of length 1 has no pieces.
//! - `inc = z_e − z_s` exactly as computed from the stored values.

/// One piece of the polygonal chain: `len` intervals, value change `inc`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Piece {
    /// Number of intervals covered (≥ 1).
    pub len: u32,
    /// Value at the piece's end minus value at its start.
    pub inc: f64,
}

/// Relative width of the band around the threshold where the direct sum decides.
const RECHECK_BAND: f64 = 1e-9;

/// Compresses a (normalised) series into pieces. `max_len` caps a piece's `len` (None: no cap).
pub fn compress(z: &[f64], tol: f64, max_len: Option<u32>) -> Vec<Piece> {
    let n = z.len();
    let tol_sq = tol * tol;
    let cap = max_len.map_or(usize::MAX, |m| m.max(1) as usize);
    let mut pieces = Vec::new();
    let mut s = 0usize;
    while s + 1 < n {
        let zs = z[s];
        // Sums over j = 1..=L of j·y_j and y_j², for the current candidate end.
        let mut sum_jy = 0.0f64;
        let mut sum_yy = 0.0f64;
        let mut e = s + 1;
        {
            let y = z[e] - zs;
            sum_jy += y;
            sum_yy += y * y;
        }
        // L = 1 is always accepted: the line passes through both points.
        while e + 1 < n && e + 1 - s <= cap {
            let cand = e + 1;
            let l = (cand - s) as f64;
            let y = z[cand] - zs;
            sum_jy += l * y;
            sum_yy += y * y;
            let a = y / l;
            let sum_jj = l * (l + 1.0) * (2.0 * l + 1.0) / 6.0;
            let err = a * a * sum_jj - 2.0 * a * sum_jy + sum_yy;
            let thr = (l - 1.0) * tol_sq + f64::EPSILON;
            let scale = a * a * sum_jj + sum_yy + thr;
            let accept = if (err - thr).abs() <= RECHECK_BAND * scale {
                direct_error(&z[s..=cand]) <= thr
            } else {
                err <= thr
            };
            if !accept {
                break;
            }
            e = cand;
        }
        pieces.push(Piece {
            len: (e - s) as u32,
            inc: z[e] - zs,
        });
        s = e;
    }
    pieces
}

/// The squared distance of `w` from the straight line joining its end points, summed directly.
fn direct_error(w: &[f64]) -> f64 {
    let l = (w.len() - 1) as f64;
    let (zs, ze) = (w[0], w[w.len() - 1]);
    let slope = (ze - zs) / l;
    w.iter()
        .enumerate()
        .map(|(j, &v)| {
            let d = zs + slope * j as f64 - v;
            d * d
        })
        .sum()
}

/// The same criterion evaluated the obvious way (O(L) per candidate end): the oracle for
/// [`compress`] in tests and benches.
pub fn compress_naive(z: &[f64], tol: f64, max_len: Option<u32>) -> Vec<Piece> {
    let n = z.len();
    let cap = max_len.map_or(usize::MAX, |m| m.max(1) as usize);
    let mut pieces = Vec::new();
    let mut s = 0usize;
    while s + 1 < n {
        let mut e = s + 1;
        while e + 1 < n && e + 1 - s <= cap {
            let l = (e + 1 - s) as f64;
            if direct_error(&z[s..=e + 1]) > (l - 1.0) * tol * tol + f64::EPSILON {
                break;
            }
            e += 1;
        }
        pieces.push(Piece {
            len: (e - s) as u32,
            inc: z[e] - z[s],
        });
        s = e;
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn straight_line_is_one_piece() {
        let z: Vec<f64> = (0..100).map(|i| 0.5 * i as f64).collect();
        let p = compress(&z, 0.01, None);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].len, 99);
        assert!((p[0].inc - 49.5).abs() < 1e-12);
        let p = compress(&z, 0.01, Some(10));
        assert_eq!(p.len(), 10);
        assert!(p.iter().all(|q| q.len <= 10));
    }

    #[test]
    fn corner_splits_in_two() {
        let z = [0.0, 1.0, 2.0, 3.0, 2.0, 1.0, 0.0];
        let p = compress(&z, 0.1, None);
        assert_eq!(
            p,
            vec![Piece { len: 3, inc: 3.0 }, Piece { len: 3, inc: -3.0 }]
        );
    }

    #[test]
    fn short_series() {
        assert!(compress(&[1.0], 0.1, None).is_empty());
        assert_eq!(
            compress(&[1.0, 3.0], 0.1, None),
            vec![Piece { len: 1, inc: 2.0 }]
        );
    }

    fn random_walk() -> impl Strategy<Value = Vec<f64>> {
        prop::collection::vec(-1.0f64..1.0, 1..400).prop_map(|steps| {
            let mut acc = 0.0;
            steps
                .into_iter()
                .map(|s| {
                    acc += s;
                    acc
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn incremental_equals_naive(z in random_walk(), tol in 0.001f64..2.0, cap in prop::option::of(1u32..50)) {
            prop_assert_eq!(compress(&z, tol, cap), compress_naive(&z, tol, cap));
        }

        #[test]
        fn pieces_cover_the_series(z in random_walk(), tol in 0.001f64..2.0) {
            let p = compress(&z, tol, None);
            let total: u64 = p.iter().map(|q| q.len as u64).sum();
            prop_assert_eq!(total, z.len() as u64 - 1);
            prop_assert!(p.iter().all(|q| q.len >= 1));
            // Every piece meets the criterion.
            let mut s = 0usize;
            for q in &p {
                let e = s + q.len as usize;
                prop_assert!(direct_error(&z[s..=e]) <= (q.len as f64 - 1.0) * tol * tol + 1e-9);
                s = e;
            }
        }
    }
}
