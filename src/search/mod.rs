//! Search: a query → its nearest stored series, exactly.
//!
//! **What is compared.** A stored series is represented by its z-normalised reconstruction
//! `(x̂ − μ)/σ` with its stored μ and σ (all zeros when σ = 0) — what `qabbadb export --normalized`
//! writes. A query is z-normalised with its own mean and std (all zeros when constant). Only
//! series of the query's length are candidates. Distances are Euclidean or DTW within a
//! Sakoe-Chiba band ([`crate::distance`]).
//!
//! **Exactness.** Results equal brute force over those representations, sorted by distance then
//! id: every pruning step uses a lower bound ([`crate::index::mindist`], [`crate::distance::lb`])
//! and prunes only candidates whose bound *exceeds* the current k-th best.

pub mod brute;
pub mod cascade;
pub mod dtw_summaries;
pub mod flat;
pub mod knn;
#[cfg(any(test, feature = "baselines"))]
pub mod scan;
pub mod topk;

/// Bounds are shrunk by this factor before comparing, so that rounding in a bound can never prune
/// a candidate whose exact distance ties the threshold.
pub(crate) const BOUND_SLACK: f64 = 1.0 - 1e-9;

pub use crate::distance::Window;

/// The distance to search with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Metric {
    /// Euclidean distance.
    Euclidean,
    /// DTW within a Sakoe-Chiba window.
    Dtw {
        /// The window.
        window: Window,
    },
}

/// What a query asks for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// The k nearest.
    Knn(usize),
    /// Every series within this distance.
    Range(f64),
}

/// One answer.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Neighbor {
    /// Series id.
    pub id: crate::SeriesId,
    /// Distance to the query.
    pub distance: f64,
}

/// What a search did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct SearchStats {
    /// Lower bounds computed (nodes, leaves, words, and the DTW cascade).
    pub lower_bounds: u64,
    /// Nodes and leaves taken from the queue.
    pub nodes_visited: u64,
    /// Series whose exact distance was computed, even if abandoned early.
    pub verified: u64,
    /// Of those, abandoned early.
    pub abandoned: u64,
    /// Candidates (series of the query's length that pass the filter).
    pub candidates: u64,
    /// Original series read because the bounds from ε could not settle them (exactness over
    /// the originals only).
    pub raw_reads: u64,
    /// Wall time in microseconds.
    pub micros: u64,
}

impl SearchStats {
    /// Adds another search's counts (not its time).
    pub fn add(&mut self, o: &SearchStats) {
        self.lower_bounds += o.lower_bounds;
        self.nodes_visited += o.nodes_visited;
        self.verified += o.verified;
        self.abandoned += o.abandoned;
        self.candidates += o.candidates;
        self.raw_reads += o.raw_reads;
    }
}

/// Neighbours and statistics of one query.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SearchResult {
    /// Sorted by distance, then id.
    pub neighbors: Vec<Neighbor>,
    /// Statistics.
    pub stats: SearchStats,
}

/// How a query reads each segment. Every plan gives the same answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Plan {
    /// DTW queries scan segments whose length groups are small (up to 8,192 series and 4 M
    /// values, `search::flat`); the rest, and every Euclidean query, take the index.
    #[default]
    Auto,
    /// The index always.
    Index,
    /// The scan always (`search::flat`): every series of the segment is held normalised, 8
    /// bytes a value; kept while the database is open when the segment is within the limits
    /// of `Auto`, else made again for each query.
    Scan,
}

/// Which series the answers are exact for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Exactness {
    /// The stored reconstructions (normalised): what the index describes.
    #[default]
    Reconstructed,
    /// The original series (normalised with their own mean and std), read from the raw values
    /// only where the reconstruction and its error bound ε cannot settle a candidate.
    Original,
}

/// Where the search reads series from.
pub trait Source: Sync {
    /// Id of the series at `pos`.
    fn id(&self, pos: usize) -> u64;
    /// The normalised reconstruction of the series at `pos`, into `out`.
    fn normalized_into(&self, pos: usize, out: &mut Vec<f64>);
    /// Error bounds of the normalised reconstruction against the normalised original:
    /// (`‖z − ẑ‖₂`, `max |z − ẑ|`), i.e. ε/σ and the largest error over σ (0 when σ = 0).
    fn error_bounds(&self, _pos: usize) -> (f64, f64) {
        (0.0, 0.0)
    }
    /// The normalised original of the series at `pos`, into `out`; false when not kept.
    fn original_into(&self, _pos: usize, _out: &mut Vec<f64>) -> bool {
        false
    }
}
