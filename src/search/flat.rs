//! The plan for small collections: a length group's series held as one row-major matrix and
//! scanned with the lower-bound cascade, instead of walking the index.
//!
//! For DTW, below several thousand series the index's fixed costs per query (its lookup
//! tables, the bounds of every node and leaf, decoding each candidate, reading originals that
//! the reconstruction and ε cannot settle) outweigh what it prunes. The scan reads series
//! already normalised (the reconstructions, or the originals when the answers must be exact
//! over them, so no candidate needs a second step) and:
//!
//! - Euclidean: the distance of every row, abandoned past the k-th best (UCR Suite's early
//!   abandoning).
//! - DTW: LB_Kim and LB_Keogh with the query's envelope for every row (Keogh & Ratanamahatana
//!   2005), rows then visited in order of that bound; LB_Keogh with the row's envelope (kept
//!   per window) and the cumulative bound of the remaining rows as in the UCR Suite
//!   (Rakthanmanon et al. 2012); the DTW of the survivors eight at a time by the lane kernel
//!   ([`crate::distance::dtw_lanes`]), abandoning past the current k-th best. The visit stops
//!   at the first row whose bound exceeds it: later rows have larger bounds.
//!
//! Exactness is that of the index: only rows whose lower bound exceeds the current threshold are
//! skipped, and the threshold only decreases.

use std::sync::{Arc, Mutex};

use super::cascade::{tail_bound, LaneBatch};
use super::knn::{IdFilter, Shared};
use super::{Metric, SearchStats, Source, BOUND_SLACK};
use crate::codec::Moments;
use crate::distance::euclid;
use crate::distance::lb::{keogh_sum, keogh_terms, lb_kim_fl, Envelope};
use crate::index::Index;

/// Series of a group up to which DTW queries scan rather than walk the index. Measured on
/// random walks of length 256 (`examples/plan_crossover`, BENCHMARKS appendix J): the scan takes
/// 0.3–0.8 of the index's time up to 8,000 series and 0.6–1.05 of it at 16,000. Euclidean
/// queries always take the index, which wins from 500 series on.
pub const SCAN_MAX_SERIES: usize = 8192;

/// Values a scanned group may hold (8 bytes each): 32 MiB.
const SCAN_MAX_VALUES: usize = 4 << 20;

/// How many windows' row envelopes a group keeps.
const KEPT_WINDOWS: usize = 4;

/// The series of one length, normalised, as one matrix.
#[derive(Debug)]
pub struct FlatGroup {
    /// Series length.
    pub len: usize,
    /// The id of each row.
    pub ids: Vec<u64>,
    /// Row-major values, `ids.len() × len`.
    pub rows: Vec<f64>,
    /// Per band radius, the rows' lower and upper envelopes (row-major, as `rows`).
    envelopes: Mutex<Vec<(usize, Arc<RowEnvelopes>)>>,
}

/// The envelopes of every row of a group for one band radius.
#[derive(Debug)]
struct RowEnvelopes {
    lower: Vec<f64>,
    upper: Vec<f64>,
}

/// Every length group of a segment, as matrices, in the index's group order.
#[derive(Debug)]
pub struct Flat {
    /// One per length group.
    pub groups: Vec<FlatGroup>,
}

/// Whether a group of `series` series of length `len` is small enough for DTW queries to scan
/// it rather than walk the index.
pub fn worth_scanning(series: usize, len: usize) -> bool {
    series <= SCAN_MAX_SERIES && series.saturating_mul(len) <= SCAN_MAX_VALUES
}

impl Flat {
    /// The groups of `index` read from `source`: the originals when `original` (a series whose
    /// error bounds are zero is its reconstruction), else the reconstructions. `None` when an
    /// original cannot be read, or, unless `any_size`, when a group is too large to be worth
    /// scanning ([`worth_scanning`]).
    pub fn of(index: &Index, source: &impl Source, original: bool, any_size: bool) -> Option<Flat> {
        let mut groups = Vec::with_capacity(index.groups.len());
        let mut x = Vec::new();
        for g in &index.groups {
            if !any_size && !worth_scanning(g.members.len(), g.len) {
                return None;
            }
            let mut rows = Vec::with_capacity(g.members.len() * g.len);
            let mut ids = Vec::with_capacity(g.members.len());
            for &m in &g.members {
                let pos = m as usize;
                let exact_already = source.error_bounds(pos) == (0.0, 0.0);
                if original && !exact_already {
                    if !source.original_into(pos, &mut x) {
                        return None;
                    }
                } else {
                    source.normalized_into(pos, &mut x);
                }
                if x.len() != g.len {
                    return None;
                }
                rows.extend_from_slice(&x);
                ids.push(source.id(pos));
            }
            groups.push(FlatGroup {
                len: g.len,
                ids,
                rows,
                envelopes: Mutex::new(Vec::new()),
            });
        }
        Some(Flat { groups })
    }

    /// The group of series of length `len`.
    pub fn group(&self, len: usize) -> Option<&FlatGroup> {
        self.groups
            .binary_search_by_key(&len, |g| g.len)
            .ok()
            .map(|i| &self.groups[i])
    }
}

impl FlatGroup {
    fn row(&self, i: usize) -> &[f64] {
        &self.rows[i * self.len..(i + 1) * self.len]
    }

    /// The rows' envelopes for band `r`, built on first use and kept.
    fn envelopes(&self, r: usize) -> Arc<RowEnvelopes> {
        let mut kept = self.envelopes.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, e)) = kept.iter().find(|(k, _)| *k == r) {
            return e.clone();
        }
        let (mut lower, mut upper) = (Vec::with_capacity(self.rows.len()), Vec::with_capacity(self.rows.len()));
        let (mut env, mut work) = (Envelope::new(&[], 0), Vec::new());
        for i in 0..self.ids.len() {
            env.fill(self.row(i), r, &mut work);
            lower.extend_from_slice(&env.lower);
            upper.extend_from_slice(&env.upper);
        }
        let built = Arc::new(RowEnvelopes { lower, upper });
        if kept.len() == KEPT_WINDOWS {
            kept.remove(0);
        }
        kept.push((r, built.clone()));
        built
    }

    /// Runs one query over the group, offering answers to `shared` (which may hold answers from
    /// other segments already).
    pub fn search(
        &self,
        shared: &Shared,
        query: &[f64],
        metric: Metric,
        filter: IdFilter,
    ) -> SearchStats {
        let mut stats = SearchStats::default();
        if query.len() != self.len {
            return stats;
        }
        let q = Moments::of(query).normalize(query);
        let live: Vec<usize> = (0..self.ids.len())
            .filter(|&i| filter.allows(self.ids[i]))
            .collect();
        stats.candidates = live.len() as u64;
        match metric {
            Metric::Euclidean => {
                for &i in &live {
                    stats.verified += 1;
                    let (d, abandoned) =
                        euclid::distance_sq_bounded(&q, self.row(i), shared.threshold());
                    if abandoned {
                        stats.abandoned += 1;
                    } else {
                        shared.offer(d, self.ids[i]);
                    }
                }
            }
            Metric::Dtw { window } => self.search_dtw(shared, &q, window.radius(self.len), &live, &mut stats),
        }
        stats
    }

    fn search_dtw(
        &self,
        shared: &Shared,
        q: &[f64],
        r: usize,
        live: &[usize],
        stats: &mut SearchStats,
    ) {
        let n = self.len;
        let env = Envelope::new(q, r);
        let rows_env = self.envelopes(r);
        let mut tx = Vec::with_capacity(n);
        // LB_Kim and LB_Keogh with the query's envelope for every row.
        let mut order: Vec<(f64, u32)> = live
            .iter()
            .map(|&i| {
                let x = self.row(i);
                let lb = keogh_sum(&env.lower, &env.upper, x).max(lb_kim_fl(q, x));
                (lb * BOUND_SLACK, i as u32)
            })
            .collect();
        stats.lower_bounds += 2 * live.len() as u64;
        order.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut batch = LaneBatch::<u32>::new(n);
        let (mut tq, mut tail, mut done) = (Vec::with_capacity(n), Vec::with_capacity(n), Vec::new());
        let run = |batch: &mut LaneBatch<u32>, stats: &mut SearchStats, done: &mut Vec<(u32, f64)>| {
            batch.run(q, r, |_| shared.threshold(), stats, done);
            for (i, d) in done.drain(..) {
                shared.offer(d, self.ids[i as usize]);
            }
        };
        for &(lb, i) in &order {
            let limit = shared.threshold();
            if lb > limit {
                break;
            }
            let i = i as usize;
            let x = self.row(i);
            let span = i * n..(i + 1) * n;
            stats.lower_bounds += 1;
            let (lower, upper) = (&rows_env.lower[span.clone()], &rows_env.upper[span]);
            if keogh_sum(lower, upper, q) * BOUND_SLACK > limit {
                continue;
            }
            keogh_terms(lower, upper, q, &mut tq);
            keogh_terms(&env.lower, &env.upper, x, &mut tx);
            tail_bound(&tx, &tq, r, BOUND_SLACK, &mut tail);
            if batch.push(x, &tail, i as u32) {
                run(&mut batch, stats, &mut done);
            }
        }
        run(&mut batch, stats, &mut done);
    }
}
