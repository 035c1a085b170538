//! `qabbadb query DB --queries FILE --k K`.

use std::path::PathBuf;

use anyhow::Context;
use qabbadb::ingest;
use qabbadb::{Database, Exactness, Metric, SearchResult, Window};

use super::build::Format;

/// Distances on the command line.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum MetricArg {
    /// Euclidean distance.
    Euclidean,
    /// Dynamic time warping in a Sakoe-Chiba band (--window or --window-points).
    Dtw,
}

/// Arguments of `query`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The database file.
    pub db: PathBuf,
    /// File of query series (labels, if any, are ignored).
    #[arg(long, short)]
    pub queries: PathBuf,
    /// Query file format (default: from the file name).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Number of neighbours.
    #[arg(long, short, default_value_t = 1)]
    pub k: usize,
    /// Instead of the k nearest, every series within this distance.
    #[arg(long)]
    pub radius: Option<f64>,
    /// Distance.
    #[arg(long, value_enum, default_value_t = MetricArg::Euclidean)]
    pub metric: MetricArg,
    /// DTW band as a fraction of the length: r = floor(F·n), 0 ≤ F ≤ 1.
    #[arg(long, default_value_t = 0.1, conflicts_with = "window_points")]
    pub window: f64,
    /// DTW band in points.
    #[arg(long)]
    pub window_points: Option<usize>,
    /// Exact over the `original` series (needs --keep-raw; the default then) or over the stored
    /// `reconstructed` ones (the default otherwise).
    #[arg(long, value_enum)]
    pub exact: Option<ExactArg>,
    /// One JSON object per line and query.
    #[arg(long)]
    pub json: bool,
}

/// Exactness on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExactArg {
    /// Distances to the normalised original series.
    Original,
    /// Distances to the normalised reconstructions.
    Reconstructed,
}

impl Args {
    fn metric(&self) -> Metric {
        match self.metric {
            MetricArg::Euclidean => Metric::Euclidean,
            MetricArg::Dtw => Metric::Dtw {
                window: match self.window_points {
                    Some(r) => Window::Points(r),
                    None => Window::Fraction(self.window),
                },
            },
        }
    }
}

/// Runs `query`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let db = Database::open_read_only(&args.db)
        .with_context(|| format!("opening {}", args.db.display()))?;
    let queries = ingest::read(&args.queries, args.format.map(Into::into))
        .with_context(|| format!("reading {}", args.queries.display()))?;
    let metric = args.metric();
    let keeps_raw = db.options().keep_raw;
    let exactness = match args.exact {
        Some(ExactArg::Original) => Exactness::Original,
        Some(ExactArg::Reconstructed) => Exactness::Reconstructed,
        None if keeps_raw => Exactness::Original,
        None => Exactness::Reconstructed,
    };
    let results: Vec<SearchResult> = match (args.radius, exactness) {
        (Some(r), _) => queries
            .series
            .iter()
            .map(|q| db.range_exact(q, r, metric, exactness))
            .collect::<qabbadb::Result<_>>()?,
        (None, Exactness::Reconstructed) => db.knn_batch(&queries.series, args.k, metric)?,
        (None, Exactness::Original) => queries
            .series
            .iter()
            .map(|q| db.knn_exact(q, args.k, metric, exactness))
            .collect::<qabbadb::Result<_>>()?,
    };
    for (i, r) in results.iter().enumerate() {
        let neighbors: Vec<serde_json::Value> = r
            .neighbors
            .iter()
            .map(|n| {
                let label = db.label(n.id).ok().flatten();
                serde_json::json!({"id": n.id, "distance": n.distance, "label": label})
            })
            .collect();
        if args.json {
            crate::output::json_line(&serde_json::json!({
                "query": i,
                "neighbors": neighbors,
                "stats": {
                    "lower_bounds": r.stats.lower_bounds,
                    "verified": r.stats.verified,
                    "abandoned": r.stats.abandoned,
                    "nodes_visited": r.stats.nodes_visited,
                    "candidates": r.stats.candidates,
                    "raw_reads": r.stats.raw_reads,
                    "micros": r.stats.micros,
                },
            }))?;
            continue;
        }
        outln!(
            "query {i}: {} neighbours; verified {} of {} candidates ({:.1}%), {} µs",
            r.neighbors.len(),
            r.stats.verified,
            r.stats.candidates,
            100.0 * r.stats.verified as f64 / r.stats.candidates.max(1) as f64,
            r.stats.micros
        );
        outln!("  {:>4}  {:>10}  {:>12}  label", "rank", "id", "distance");
        for (rank, n) in r.neighbors.iter().enumerate() {
            let label = db.label(n.id).ok().flatten().unwrap_or_default();
            outln!(
                "  {:>4}  {:>10}  {:>12.6}  {}",
                rank + 1,
                n.id,
                n.distance,
                label
            );
        }
    }
    Ok(())
}
