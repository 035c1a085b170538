//! [`Query`]: one search of a [`Snapshot`], and the two calls that run them.
//!
//! A query holds the series, what to find ([`Target`]: the k nearest or every series within a
//! radius), the metric, the exactness (over the reconstructions or over the originals), an
//! optional id filter and, for tests and benchmarks, a brute-force switch that scans every live
//! series instead of the index: the oracle that indexed answers must equal.

use std::time::Instant;

use rayon::prelude::*;
use roaring::RoaringTreemap;

use super::Snapshot;
use crate::error::{Error, Result};
use crate::search::brute;
use crate::search::knn::{self, IdFilter, SegmentInput, Shared};
pub use crate::search::Target;
use crate::search::{Exactness, Metric, Plan, SearchResult, SearchStats, Window};
use crate::storage::cache::{OpenSegment, OriginalSource};

/// One search: built with [`Query::knn`] or [`Query::range`], then refined.
///
/// ```
/// # use qabbadb::{Exactness, Metric, Query, Window};
/// let x = vec![0.0, 1.0, 0.5, 2.0];
/// let q = Query::knn(&x, 5)
///     .metric(Metric::Dtw { window: Window::Fraction(0.1) })
///     .exactness(Exactness::Original);
/// assert_eq!(q.k(), Some(5));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Query<'a> {
    /// The query series (z-normalised by the search with its own mean and σ).
    pub series: &'a [f64],
    /// The k nearest, or every series within a radius.
    pub target: Target,
    /// Euclidean or DTW.
    pub metric: Metric,
    /// Exact over the reconstructions (default) or over the originals (databases that keep
    /// raw values).
    pub exactness: Exactness,
    /// Only series whose ids are in the filter are candidates.
    pub filter: Option<&'a RoaringTreemap>,
    /// Scan every live series instead of using the index (the oracle of the tests).
    pub brute_force: bool,
    /// How each segment is read: the index, or a bounded scan of small segments.
    pub plan: Plan,
}

impl<'a> Query<'a> {
    /// The `k` stored series nearest to `series` (Euclidean, over the reconstructions).
    pub fn knn(series: &'a [f64], k: usize) -> Query<'a> {
        Query {
            series,
            target: Target::Knn(k),
            metric: Metric::Euclidean,
            exactness: Exactness::Reconstructed,
            filter: None,
            brute_force: false,
            plan: Plan::Auto,
        }
    }

    /// Every stored series within `radius` of `series`.
    pub fn range(series: &'a [f64], radius: f64) -> Query<'a> {
        Query {
            target: Target::Range(radius),
            ..Query::knn(series, 1)
        }
    }

    /// The distance.
    pub fn metric(self, metric: Metric) -> Query<'a> {
        Query { metric, ..self }
    }

    /// DTW within `window`.
    pub fn dtw(self, window: Window) -> Query<'a> {
        self.metric(Metric::Dtw { window })
    }

    /// Which series the answers are exact for.
    pub fn exactness(self, exactness: Exactness) -> Query<'a> {
        Query { exactness, ..self }
    }

    /// Only the series whose ids are in `filter`.
    pub fn filter(self, filter: &'a RoaringTreemap) -> Query<'a> {
        Query {
            filter: Some(filter),
            ..self
        }
    }

    /// Scan every live series (`true`) instead of the index.
    pub fn brute_force(self, brute_force: bool) -> Query<'a> {
        Query {
            brute_force,
            ..self
        }
    }

    /// How each segment is read ([`Plan::Auto`] unless set; every plan gives the same
    /// answers).
    pub fn plan(self, plan: Plan) -> Query<'a> {
        Query { plan, ..self }
    }

    /// `k` of a k-NN query.
    pub fn k(&self) -> Option<usize> {
        match self.target {
            Target::Knn(k) => Some(k),
            Target::Range(_) => None,
        }
    }

    /// Checks the query against what it asks of the snapshot.
    fn validate(&self, snap: &Snapshot) -> Result<()> {
        crate::ingest::validate_one(0, self.series)?;
        match self.target {
            Target::Knn(0) => return Err(Error::InvalidOptions("k must be at least 1".into())),
            Target::Range(r) if r.is_nan() || r < 0.0 => {
                return Err(Error::InvalidOptions(format!(
                    "radius must be ≥ 0, got {r}"
                )))
            }
            _ => {}
        }
        if let Metric::Dtw {
            window: Window::Fraction(f),
        } = self.metric
        {
            if !(0.0..=1.0).contains(&f) {
                return Err(Error::InvalidOptions(format!(
                    "window fraction must be in [0, 1], got {f}"
                )));
            }
        }
        if self.exactness == Exactness::Original
            && !snap.state.segments.iter().all(|s| s.reader.has_raw())
        {
            return Err(Error::NoRawValues);
        }
        if !self.brute_force && snap.state.segments.iter().any(|s| !s.reader.has_index()) {
            return Err(Error::NoIndex);
        }
        Ok(())
    }
}

impl Snapshot {
    /// Runs one query on the threads of the current rayon pool. Answers are exact: identical
    /// (ids, distances, order; ties broken by id) to brute force over the same representations.
    /// The indexes of all segments are searched as one: their nodes in one order of bound, with
    /// one k-th best.
    ///
    /// Over the originals ([`Exactness::Original`]) the index bounds shrink by each series'
    /// error bound ε/σ (for DTW: `√(ε² + min((n−1)·M², 2r·ε²))/σ` with M the largest point
    /// error, since a warping path has at most 2n−1 cells and meets each point at most 2r+1
    /// times), the reconstruction's exact distance settles most candidates, and only the rest are
    /// read from the raw values (`stats.raw_reads`).
    pub fn search(&self, query: &Query) -> Result<SearchResult> {
        query.validate(self)?;
        self.run(query, rayon::current_num_threads())
    }

    /// Runs many queries in parallel, one per thread (each on all threads when there are fewer
    /// queries than threads); results in query order.
    pub fn search_batch(&self, queries: &[Query]) -> Result<Vec<SearchResult>> {
        for q in queries {
            q.validate(self)?;
        }
        self.prepare_search_data()?;
        let threads = rayon::current_num_threads();
        if queries.len() < threads {
            return queries.iter().map(|q| self.run(q, threads)).collect();
        }
        queries.par_iter().map(|q| self.run(q, 1)).collect()
    }

    /// What search decodes of each segment (made once, on first use), for all segments in
    /// parallel.
    fn prepare_search_data(&self) -> Result<()> {
        let todo: Vec<&OpenSegment> = (self.state.segments.iter())
            .filter(|s| !s.has_search_data())
            .map(|s| s.as_ref())
            .collect();
        super::parallel::map(&todo, |seg| seg.search_data().map(|_| ())).map(|_| ())
    }

    fn run(&self, query: &Query, workers: usize) -> Result<SearchResult> {
        if query.brute_force {
            return self.brute_force(query);
        }
        self.prepare_search_data()?;
        let start = Instant::now();
        let shared = Shared::new(query.target);
        let mut stats = SearchStats::default();
        let over_originals = query.exactness == Exactness::Original;
        // Segments that the plan scans are scanned first; the others are searched together,
        // their nodes in one order of bound.
        let mut indexed = Vec::new();
        for seg in &self.state.segments {
            let index = seg.reader.index()?.ok_or(Error::NoIndex)?;
            let data = seg.search_data()?;
            data.check()?;
            let source = seg.source(data)?;
            let filter = IdFilter {
                include: query.filter,
                exclude: (!seg.deleted.is_empty()).then_some(&seg.deleted),
            };
            let flat = match query.plan {
                Plan::Index => None,
                Plan::Auto => match query.metric {
                    Metric::Dtw { .. } => data.flat(&source, index, over_originals, false),
                    Metric::Euclidean => None,
                },
                Plan::Scan => data.flat(&source, index, over_originals, true),
            };
            match flat {
                Some(flat) => {
                    data.check()?;
                    if let Some(g) = flat.group(query.series.len()) {
                        stats.add(&g.search(&shared, query.series, query.metric, filter));
                    }
                }
                None => {
                    let envelopes = match query.metric {
                        Metric::Dtw { window } => Some(data.envelopes(&source, index, window)),
                        Metric::Euclidean => None,
                    };
                    indexed.push((index, source, filter, data, envelopes));
                }
            }
        }
        let inputs: Vec<SegmentInput<_>> = indexed
            .iter()
            .map(|(index, source, filter, data, envelopes)| SegmentInput {
                index,
                source,
                filter: *filter,
                original: over_originals.then_some(data.original_bounds.as_slice()),
                dtw_summaries: envelopes.as_deref().map(Vec::as_slice),
            })
            .collect();
        for (_, _, _, data, _) in &indexed {
            data.check()?;
        }
        stats.add(&knn::search_segments(
            &shared,
            &inputs,
            query.series,
            query.metric,
            workers,
        ));
        // A block found damaged while verifying: the answers may miss its series.
        for (_, _, _, data, _) in &indexed {
            data.check()?;
        }
        stats.micros = start.elapsed().as_micros() as u64;
        Ok(SearchResult {
            neighbors: shared.finish(),
            stats,
        })
    }

    /// Every live series that passes the filter, distance computed: no index, no bound.
    fn brute_force(&self, query: &Query) -> Result<SearchResult> {
        let start = Instant::now();
        let mut all = Vec::new();
        let mut stats = SearchStats::default();
        for seg in &self.state.segments {
            let data = seg.search_data()?;
            let source = seg.source(data)?;
            let records = seg.reader.records()?;
            let filter = IdFilter {
                include: query.filter,
                exclude: Some(&seg.deleted),
            };
            let candidates: Vec<usize> = (0..records.len())
                .filter(|&p| {
                    records[p].len as usize == query.series.len() && filter.allows(records[p].id)
                })
                .collect();
            stats.candidates += candidates.len() as u64;
            stats.verified += candidates.len() as u64;
            data.check()?;
            match query.exactness {
                Exactness::Reconstructed => brute::brute_force_into(
                    &source,
                    candidates.into_iter(),
                    query.series,
                    query.metric,
                    &mut all,
                ),
                Exactness::Original => brute::brute_force_into(
                    &OriginalSource(&source),
                    candidates.into_iter(),
                    query.series,
                    query.metric,
                    &mut all,
                ),
            }
            data.check()?;
        }
        stats.micros = start.elapsed().as_micros() as u64;
        Ok(SearchResult {
            neighbors: brute::brute_force_finish(all, query.target),
            stats,
        })
    }
}
