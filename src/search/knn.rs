//! Exact search over the iSAX envelope tree (after MESSI's query: bound every node, visit in order
//! of bound with several workers sharing one k-th-best threshold, stop once the next bound exceeds
//! it; in a leaf, bound each series by its word before an early-abandoning exact distance).
//!
//! One loop serves k-NN and range queries: a collector ([`Shared`]) says what the pruning
//! threshold is. Candidates are verified by the Euclidean distance or the DTW cascade
//! ([`super::cascade`]); brute force, the oracle, is in [`super::brute`].

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering as AtomicOrdering};
use std::sync::Mutex;
use std::time::Instant;

use rayon::prelude::*;

use roaring::RoaringTreemap;

use super::topk::TopK;
use super::{Metric, Neighbor, SearchResult, SearchStats, Source, Target};
use crate::codec::Moments;
use super::cascade::{self, Scratch};
use super::dtw_summaries::{DtwQuery, DtwSummaries};
use super::BOUND_SLACK;
use crate::distance::euclid;
use crate::distance::lb::Envelope;
use crate::index::mindist::MindistTable;
use crate::index::{paa, Breakpoints, Index, LengthGroup};


/// What the search keeps.
enum Collector {
    Knn(TopK),
    Range { radius: f64, hits: Vec<(f64, u64)> },
}

impl Collector {
    fn threshold(&self) -> f64 {
        match self {
            Collector::Knn(t) => t.threshold(),
            // Squared, and a little above, so that sqrt rounding decides, not the pruning.
            Collector::Range { radius, .. } => radius * radius * (1.0 + 1e-9),
        }
    }

    fn offer(&mut self, dist_sq: f64, id: u64) {
        match self {
            Collector::Knn(t) => t.push(dist_sq, id),
            Collector::Range { radius, hits } => {
                if dist_sq.sqrt() <= *radius {
                    hits.push((dist_sq, id));
                }
            }
        }
    }

    fn finish(self) -> Vec<Neighbor> {
        let mut v = match self {
            Collector::Knn(t) => t.into_sorted(),
            Collector::Range { hits, .. } => hits,
        };
        v.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        v.into_iter()
            .map(|(d, id)| Neighbor {
                id: crate::SeriesId(id),
                distance: d.sqrt(),
            })
            .collect()
    }
}

/// The query prepared for one length group and metric.
struct Prepared {
    q: Vec<f64>,
    table: MindistTable,
    /// DTW: band radius, the query's envelope and a buffer for the candidate's.
    dtw: Option<(usize, Envelope)>,
}

fn prepare(q: Vec<f64>, group: &LengthGroup, index: &Index, metric: Metric) -> Prepared {
    let w = group.w;
    match metric {
        Metric::Euclidean => {
            let p = paa::paa(&q, w);
            let table = MindistTable::new(&p, &p, &group.seg_len, &index.breakpoints);
            Prepared {
                q,
                table,
                dtw: None,
            }
        }
        Metric::Dtw { window } => {
            let r = window.radius(q.len());
            let env = Envelope::new(&q, r);
            let (lo, hi) = (paa::paa(&env.lower, w), paa::paa(&env.upper, w));
            let table = MindistTable::new(&lo, &hi, &group.seg_len, &index.breakpoints);
            Prepared {
                q,
                table,
                dtw: Some((r, env)),
            }
        }
    }
}

/// Exact squared distance of `x` to the query, or `None` when it surely exceeds `limit`.
fn verify(
    p: &Prepared,
    x: &[f64],
    limit: f64,
    stats: &mut SearchStats,
    scratch: &mut Scratch,
) -> Option<f64> {
    match &p.dtw {
        None => {
            stats.verified += 1;
            let (d, abandoned) = euclid::distance_sq_bounded(&p.q, x, limit);
            if abandoned {
                stats.abandoned += 1;
                None
            } else {
                Some(d)
            }
        }
        Some((r, env)) => cascade::verify_dtw(&p.q, env, *r, x, limit, stats, scratch),
    }
}

/// The collector of one query, shared by its workers and by the segments it runs over, with its
/// threshold readable without a lock.
pub struct Shared {
    out: Mutex<Collector>,
    threshold: AtomicU64,
}

impl Shared {
    /// An empty collector for `mode`.
    pub fn new(mode: Target) -> Shared {
        let out = match mode {
            Target::Knn(k) => Collector::Knn(TopK::new(k)),
            Target::Range(radius) => Collector::Range {
                radius,
                hits: Vec::new(),
            },
        };
        Shared {
            threshold: AtomicU64::new(out.threshold().to_bits()),
            out: Mutex::new(out),
        }
    }

    /// The current pruning threshold (squared): the k-th best so far, or the radius.
    pub(crate) fn threshold(&self) -> f64 {
        f64::from_bits(self.threshold.load(AtomicOrdering::Relaxed))
    }

    /// Offers a series at squared distance `dist_sq`.
    pub(crate) fn offer(&self, dist_sq: f64, id: u64) {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        out.offer(dist_sq, id);
        self.threshold
            .store(out.threshold().to_bits(), AtomicOrdering::Relaxed);
    }

    /// The answers, sorted by distance then id.
    pub fn finish(self) -> Vec<Neighbor> {
        self.out
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .finish()
    }
}

/// Which ids a query may return: those in `include` (when given) and not in `exclude`.
#[derive(Debug, Clone, Copy, Default)]
pub struct IdFilter<'a> {
    /// Only these ids.
    pub include: Option<&'a RoaringTreemap>,
    /// Never these ids (deleted series).
    pub exclude: Option<&'a RoaringTreemap>,
}

impl IdFilter<'_> {
    pub(crate) fn allows(&self, id: u64) -> bool {
        self.include.is_none_or(|f| f.contains(id)) && !self.exclude.is_some_and(|f| f.contains(id))
    }
}

/// One segment's part of a query over many segments ([`search_segments`]).
pub struct SegmentInput<'a, S> {
    /// The segment's index.
    pub index: &'a Index,
    /// Where its series are read.
    pub source: &'a S,
    /// Which of its ids may be answers.
    pub filter: IdFilter<'a>,
    /// Exactness over the originals: the largest error bounds per leaf and node of each length
    /// group ([`OriginalBounds::of`]).
    pub original: Option<&'a [OriginalBounds]>,
    /// DTW: the two-way summaries of each length group at the query's window.
    pub dtw_summaries: Option<&'a [DtwSummaries]>,
}

/// The query prepared for one segment: its length group, lookup tables and slack.
struct SegmentQuery<'a, S> {
    source: &'a S,
    filter: IdFilter<'a>,
    group: &'a LengthGroup,
    bp: &'a Breakpoints,
    p: Prepared,
    /// Exactness over the originals: the group's error bounds per leaf and node.
    bounds: Option<&'a OriginalBounds>,
    /// DTW: the finer summaries' forward and reverse bounds beside the word bound.
    fine: Option<(&'a DtwSummaries, DtwQuery)>,
}

impl<'a, S: Source> SegmentQuery<'a, S> {
    /// `None` when the segment holds no series of the query's length.
    fn new(input: &'a SegmentInput<'a, S>, q: &[f64], metric: Metric) -> Option<Self> {
        let index = input.index;
        let gi = index
            .groups
            .binary_search_by_key(&q.len(), |g| g.len)
            .ok()?;
        let group = &index.groups[gi];
        let p = prepare(q.to_vec(), group, index, metric);
        let bp = &index.breakpoints;
        let fine = match (&p.dtw, input.dtw_summaries.and_then(|r| r.get(gi))) {
            (Some((_, env)), Some(s)) => Some((s, DtwQuery::new(&p.q, env, s, bp))),
            _ => None,
        };
        Some(SegmentQuery {
            source: input.source,
            filter: input.filter,
            group,
            bp,
            bounds: input.original.and_then(|o| o.get(gi)),
            fine,
            p,
        })
    }

    /// Exactness over the originals: how much closer the original of a series whose normalised
    /// reconstruction is within ε (largest point error `max_err`) may be than the
    /// reconstruction. ED: |ED(q, z) − ED(q, ẑ)| ≤ ‖z − ẑ‖ = ε. DTW: on the original's best
    /// path P each point j appears m_j ≥ 1 times, Σ_j (m_j − 1) = |P| − n ≤ n − 1 and
    /// m_j − 1 ≤ 2r, so ‖(z − ẑ)_P‖² = ‖z − ẑ‖² + Σ_j (m_j − 1)(z_j − ẑ_j)² ≤
    /// ε² + min((n − 1)·M², 2r·ε²), M the largest point error; the triangle inequality along P
    /// then bounds DTW(q, z) from below.
    fn slack(&self, eps: f64, max_err: f64) -> f64 {
        match &self.p.dtw {
            None => eps,
            Some((r, _)) => {
                let n = self.group.len as f64;
                let extra = ((n - 1.0) * max_err * max_err).min(2.0 * *r as f64 * eps * eps);
                (eps * eps + extra).sqrt()
            }
        }
    }

    /// The DTW summaries' two-way bound of a hull (0 without summaries).
    fn hull(&self, h: impl FnOnce(&DtwSummaries) -> &[Vec<u8>; 4]) -> f64 {
        match &self.fine {
            Some((s, dq)) => dq.hull_sq(h(s), self.bp),
            None => 0.0,
        }
    }

    /// The lower bound of an envelope `min..max` (a node's or a leaf's) with its DTW hull and,
    /// over the originals, its largest error bounds; slack and rounding included.
    fn envelope_bound(
        &self,
        (min, max): (&[u8], &[u8]),
        errors: Option<(f64, f64)>,
        hull: impl FnOnce(&DtwSummaries) -> &[Vec<u8>; 4],
    ) -> f64 {
        let e = errors.map_or(0.0, |(eps, mx)| self.slack(eps, mx));
        let b = self.p.table.envelope_bound_sq(min, max, self.bp).max(self.hull(hull));
        lower(b, e) * BOUND_SLACK
    }

    /// The lower bound of node `i`.
    fn node_bound(&self, i: usize) -> f64 {
        let node = &self.group.tree.nodes[i];
        let errors = self.bounds.map(|o| o.node[i]);
        self.envelope_bound((&node.min, &node.max), errors, |s| &s.node[i])
    }

    /// The lower bound of leaf `l`.
    fn leaf_bound(&self, l: usize) -> f64 {
        let leaf = &self.group.tree.leaves[l];
        let errors = self.bounds.map(|o| o.leaf[l]);
        self.envelope_bound((&leaf.min, &leaf.max), errors, |s| &s.leaf[l])
    }

    /// Candidates of the query: the group's series that pass the filter.
    fn candidates(&self) -> u64 {
        let f = &self.filter;
        if f.include.is_none() && f.exclude.is_none() {
            self.group.members.len() as u64
        } else {
            let allowed = |&&m: &&u32| f.allows(self.source.id(m as usize));
            self.group.members.iter().filter(allowed).count() as u64
        }
    }
}

/// Runs one query over the indexes of many segments on `workers` threads (1: the calling
/// thread), offering answers to `shared` (which may already hold answers).
///
/// The nodes of every segment are bounded and visited in one order of bound (MESSI's queue,
/// over all segments at once: the most promising nodes anywhere come first, and one k-th best
/// prunes them all); workers take the next node from a shared counter. Within a node, leaves
/// in order of bound; within a leaf, series in order of word bound. Everything whose bound
/// exceeds the current k-th best is skipped, and a node whose bound exceeds it ends the worker
/// (later nodes have larger bounds). The k-th best only decreases, so skipping against the
/// value read at any moment is safe: results are exact whatever the interleaving.
pub fn search_segments<S: Source>(
    shared: &Shared,
    inputs: &[SegmentInput<'_, S>],
    query: &[f64],
    metric: Metric,
    workers: usize,
) -> SearchStats {
    let mut stats = SearchStats::default();
    let q = Moments::of(query).normalize(query);
    let segs: Vec<SegmentQuery<S>> = inputs
        .iter()
        .filter_map(|input| SegmentQuery::new(input, &q, metric))
        .collect();
    let Some(first) = segs.first() else {
        return stats;
    };
    let n = first.group.len;
    let mut nodes: Vec<(f64, u32, u32)> = segs
        .iter()
        .enumerate()
        .flat_map(|(si, s)| {
            (0..s.group.tree.nodes.len()).map(move |i| (s.node_bound(i), si as u32, i as u32))
        })
        .collect();
    nodes.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let next = AtomicUsize::new(0);
    let work = || {
        let mut stats = SearchStats::default();
        let (mut x, mut scratch) = (Vec::new(), Scratch::default());
        let mut leaves: Vec<(f64, u32)> = Vec::new();
        let mut candidates: Vec<(f64, usize, u64)> = Vec::new();
        let mut z = Vec::new();
        let mut batch = first.p.dtw.as_ref().map(|_| cascade::LaneBatch::new(n));
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, AtomicOrdering::Relaxed);
            let Some(&(bound, si, node)) = nodes.get(i) else {
                break;
            };
            if bound > shared.threshold() {
                break;
            }
            let seg = &segs[si as usize];
            let (group, source) = (seg.group, seg.source);
            stats.nodes_visited += 1;
            let node = &group.tree.nodes[node as usize];
            leaves.clear();
            for l in node.start..node.end {
                stats.lower_bounds += 1;
                let b = seg.leaf_bound(l as usize);
                if b <= shared.threshold() {
                    leaves.push((b, l));
                }
            }
            leaves.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            for &(b, l) in &leaves {
                if b > shared.threshold() {
                    break;
                }
                stats.nodes_visited += 1;
                // Bound every series of the leaf by its word, then verify the most promising
                // first so that the threshold tightens as early as possible.
                let leaf = &group.tree.leaves[l as usize];
                candidates.clear();
                let limit = shared.threshold();
                // The words and summaries are arrays in index order; a series' record (its id,
                // its error bounds) is read only once its word bound, with the leaf's slack
                // (the largest of its members'), does not already rule it out.
                let leaf_sl = seg.bounds.map_or(0.0, |o| {
                    let (eps, mx) = o.leaf[l as usize];
                    seg.slack(eps, mx)
                });
                for e in leaf.start as usize..leaf.end as usize {
                    stats.lower_bounds += 1;
                    let word = seg.p.table.word_bound_sq(group.word(e));
                    if lower(word, leaf_sl) * BOUND_SLACK > limit {
                        continue;
                    }
                    let pos = group.members[e] as usize;
                    let sl = if seg.bounds.is_some() {
                        let (eps, mx) = source.error_bounds(pos);
                        seg.slack(eps, mx)
                    } else {
                        0.0
                    };
                    let both = match &seg.fine {
                        Some((s, dq)) => {
                            let wide = if sl > 0.0 { widen_by(limit, sl) } else { limit };
                            word.max(dq.series_sq(s, e, wide))
                        }
                        None => word,
                    };
                    let b = lower(both, sl) * BOUND_SLACK;
                    if b > limit {
                        continue;
                    }
                    let id = source.id(pos);
                    if seg.filter.allows(id) {
                        candidates.push((b, pos, id));
                    }
                }
                candidates.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.2.cmp(&b.2)));
                for &(b, pos, id) in &candidates {
                    let limit = shared.threshold();
                    if b > limit {
                        break;
                    }
                    source.normalized_into(pos, &mut x);
                    // Over the originals: the reconstruction is within `sl` of the original; its
                    // exact distance within the widened limit settles most candidates, the rest
                    // are read from the raw values.
                    let sl = seg.bounds.map(|_| {
                        let (eps, mx) = source.error_bounds(pos);
                        seg.slack(eps, mx)
                    });
                    let lim = sl.map_or(limit, |sl| widen_by(limit, sl));
                    let pending = Pending { id, pos, sl, seg: si };
                    if let (Some(batch), Some((r, env))) = (batch.as_mut(), &seg.p.dtw) {
                        // DTW: the cheap bounds now, the DTW itself LANES candidates at a time
                        // (candidates of several segments share a batch).
                        if cascade::screen_dtw(&seg.p.q, env, *r, &x, lim, &mut stats, &mut scratch)
                            && batch.push(&x, &scratch.tail, pending)
                        {
                            run_batch(batch, &segs, shared, &mut stats, &mut scratch, &mut z, &mut done);
                        }
                        continue;
                    }
                    if let Some(d_hat) = verify(&seg.p, &x, lim, &mut stats, &mut scratch) {
                        settle(seg, shared, d_hat, pending, &mut stats, &mut scratch, &mut z);
                    }
                }
            }
        }
        if let Some(batch) = batch.as_mut() {
            run_batch(batch, &segs, shared, &mut stats, &mut scratch, &mut z, &mut done);
        }
        stats
    };
    let per_worker: Vec<SearchStats> = if workers <= 1 {
        vec![work()]
    } else {
        (0..workers).into_par_iter().map(|_| work()).collect()
    };
    stats.lower_bounds = nodes.len() as u64;
    for s in per_worker {
        stats.add(&s);
    }
    stats.candidates = segs.iter().map(SegmentQuery::candidates).sum();
    stats
}

/// `(√limit + sl)²`, a little above: the largest squared distance of a reconstruction whose
/// original, within `sl` of it, may still be within `limit`.
fn widen_by(limit: f64, sl: f64) -> f64 {
    if limit.is_finite() {
        (limit.sqrt() + sl).powi(2) / BOUND_SLACK
    } else {
        limit
    }
}

/// The squared lower bound `(√b_sq − e)₊²` of a distance whose representation is within `e`.
fn lower(b_sq: f64, e: f64) -> f64 {
    if e <= 0.0 {
        return b_sq;
    }
    let b = b_sq.sqrt() - e;
    if b > 0.0 {
        b * b
    } else {
        0.0
    }
}

/// What a verified candidate carries: its id, its position in its segment, over the originals
/// its slack, and its segment (an index into the prepared segments).
#[derive(Debug, Clone, Copy)]
struct Pending {
    id: u64,
    pos: usize,
    sl: Option<f64>,
    seg: u32,
}

/// Offers a candidate whose reconstruction is at squared distance `d_hat`: at once over the
/// reconstructions (or when the reconstruction is exact); over the originals, unless `d_hat`
/// shows that the original exceeds the threshold, after reading the original and verifying it.
fn settle<S: Source>(
    seg: &SegmentQuery<S>,
    shared: &Shared,
    d_hat: f64,
    Pending { id, pos, sl, .. }: Pending,
    stats: &mut SearchStats,
    scratch: &mut Scratch,
    z: &mut Vec<f64>,
) {
    let Some(sl) = sl else {
        shared.offer(d_hat, id);
        return;
    };
    if sl > 0.0 && lower(d_hat, sl) * BOUND_SLACK > shared.threshold() {
        return;
    }
    if sl == 0.0 {
        shared.offer(d_hat, id);
        return;
    }
    if !seg.source.original_into(pos, z) {
        return;
    }
    stats.raw_reads += 1;
    if let Some(d) = verify(&seg.p, z, shared.threshold(), stats, scratch) {
        shared.offer(d, id);
    }
}

/// Runs the DTW of every candidate waiting in `batch` against the current threshold (widened by
/// each one's slack over the originals) and settles those within it. The query, its envelope
/// and the window are the same in every segment; only the sources differ.
fn run_batch<S: Source>(
    batch: &mut cascade::LaneBatch<Pending>,
    segs: &[SegmentQuery<S>],
    shared: &Shared,
    stats: &mut SearchStats,
    scratch: &mut Scratch,
    z: &mut Vec<f64>,
    done: &mut Vec<(Pending, f64)>,
) {
    let Some(p) = segs.first().map(|s| &s.p) else {
        return;
    };
    let Some((r, _)) = &p.dtw else {
        return;
    };
    let limit = |pending: &Pending| {
        let t = shared.threshold();
        pending.sl.map_or(t, |sl| widen_by(t, sl))
    };
    batch.run(&p.q, *r, limit, stats, done);
    for (pending, d_hat) in done.drain(..) {
        settle(&segs[pending.seg as usize], shared, d_hat, pending, stats, scratch, z);
    }
}

/// Per leaf and per node of one length group, the largest error bounds of their series
/// (`Source::error_bounds`): the slack of exactness over the originals.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OriginalBounds {
    /// (largest ε/σ, largest max error/σ) per leaf.
    pub leaf: Vec<(f64, f64)>,
    /// The same per node.
    pub node: Vec<(f64, f64)>,
}

impl OriginalBounds {
    /// The bounds of every group of `index`, in group order.
    pub fn of(index: &Index, source: &impl Source) -> Vec<OriginalBounds> {
        index
            .groups
            .iter()
            .map(|g| {
                let leaf: Vec<(f64, f64)> = g
                    .tree
                    .leaves
                    .iter()
                    .map(|l| {
                        (l.start as usize..l.end as usize).fold((0.0f64, 0.0f64), |acc, e| {
                            let (a, b) = source.error_bounds(g.members[e] as usize);
                            (acc.0.max(a), acc.1.max(b))
                        })
                    })
                    .collect();
                let node = g
                    .tree
                    .nodes
                    .iter()
                    .map(|n| {
                        leaf[n.start as usize..n.end as usize]
                            .iter()
                            .fold((0.0f64, 0.0f64), |acc, &(a, b)| {
                                (acc.0.max(a), acc.1.max(b))
                            })
                    })
                    .collect();
                OriginalBounds { leaf, node }
            })
            .collect()
    }
}

/// Runs one query over one index (see [`search_segments`]).
pub fn search(
    index: &Index,
    source: &impl Source,
    query: &[f64],
    mode: Target,
    metric: Metric,
    filter: Option<&RoaringTreemap>,
    workers: usize,
) -> SearchResult {
    let start = Instant::now();
    let shared = Shared::new(mode);
    let filter = IdFilter {
        include: filter,
        exclude: None,
    };
    let input = SegmentInput {
        index,
        source,
        filter,
        original: None,
        dtw_summaries: None,
    };
    let mut stats = search_segments(&shared, &[input], query, metric, workers);
    stats.micros = start.elapsed().as_micros() as u64;
    SearchResult {
        neighbors: shared.finish(),
        stats,
    }
}
