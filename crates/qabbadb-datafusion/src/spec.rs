//! What a k-NN table function or a series scan asks for, in a form that travels: the planner
//! builds it from SQL arguments, the extension codecs ([`crate::codec`]) carry it to other
//! processes as JSON, and the operators run it.

use serde::{Deserialize, Serialize};

use qabbadb::{Exactness, Metric, Window};

/// The distance of a k-NN query.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum MetricSpec {
    /// Euclidean distance.
    Euclidean,
    /// DTW within a Sakoe-Chiba window of this fraction of the length (0 ≤ window ≤ 1).
    Dtw {
        /// The window, as a fraction of the series length.
        window: f64,
    },
}

impl MetricSpec {
    /// The library's metric.
    pub fn metric(&self) -> Metric {
        match *self {
            MetricSpec::Euclidean => Metric::Euclidean,
            MetricSpec::Dtw { window } => Metric::Dtw {
                window: Window::Fraction(window),
            },
        }
    }
}

/// Which series the answers are exact for (`Exactness`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExactSpec {
    /// The stored reconstructions.
    Reconstruction,
    /// The original series (databases that keep raw values).
    Original,
}

impl ExactSpec {
    /// The library's exactness.
    pub fn exactness(&self) -> Exactness {
        match self {
            ExactSpec::Reconstruction => Exactness::Reconstructed,
            ExactSpec::Original => Exactness::Original,
        }
    }
}

/// A k-NN search over one or more shards (database directories), each answered exactly by its
/// own index; the merge keeps the `k` best of all shards per query, ties broken by shard then id:
/// the answer of one database holding every shard's series in shard order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KnnSpec {
    /// Database directories, as each process that runs a shard sees them.
    pub shards: Vec<String>,
    /// The query series.
    pub queries: Vec<Vec<f64>>,
    /// Neighbours per query.
    pub k: usize,
    /// The distance.
    pub metric: MetricSpec,
    /// Over the reconstructions or the originals.
    pub exact: ExactSpec,
    /// `knn_batch`: the output has a `query` column (the query's position).
    pub batch: bool,
}

/// Inclusive id ranges, sorted and disjoint: the ids a scan keeps (from pushed-down filters).
pub type IdRanges = Vec<(u64, u64)>;

/// A scan of the stored series of one or more shards.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanSpec {
    /// Database directories.
    pub shards: Vec<String>,
    /// Only these ids (all when `None`).
    pub ids: Option<IdRanges>,
    /// Columns of [`crate::table::series_schema`] to produce (all when `None`).
    pub projection: Option<Vec<usize>>,
    /// At most this many rows per shard (a pushed-down `LIMIT`).
    pub limit: Option<usize>,
}
