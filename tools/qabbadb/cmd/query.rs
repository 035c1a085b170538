//! `qabbadb query DB --queries FILE --k K`.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::{bail, Context};
use qabbadb::{Database, Exactness, Metric, Query, SearchResult, Window};

use qabbadb::ingest;

use super::build::{read_series, Format, HeaderArg, ReadNote};

/// Distances on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MetricArg {
    /// Euclidean distance.
    Euclidean,
    /// Dynamic time warping in a Sakoe-Chiba band (--window or --window-points).
    Dtw,
}

/// The query series: raw values of --length each for --format f32 and f64, else the file as
/// `build` reads it.
fn read_queries(args: &Args) -> anyhow::Result<(ingest::Dataset, ReadNote)> {
    use ingest::stream::StreamFormat;
    let raw = match (args.format, args.length) {
        (Some(Format::F32), Some(length)) => StreamFormat::F32 { length },
        (Some(Format::F64), Some(length)) => StreamFormat::F64 { length },
        (Some(Format::F32 | Format::F64), None) => {
            bail!("--format f32 and f64 need --length N (values per query)")
        }
        (_, Some(_)) => bail!("--length applies to --format f32 and f64"),
        (_, None) => return read_series(&args.queries, args.format, args.header),
    };
    let path = &args.queries;
    let file = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut data = ingest::Dataset::default();
    ingest::stream::for_each(file, path, raw, |x, label| {
        data.series.push(x);
        data.labels.push(label);
        Ok(())
    })
    .with_context(|| format!("reading {}", path.display()))?;
    Ok((data, ReadNote::default()))
}

/// Arguments of `query`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The database directory.
    pub db: PathBuf,
    /// File of query series (labels, if any, are ignored).
    #[arg(long, short)]
    pub queries: PathBuf,
    /// Query file format (default: from the file name).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Values per query of --format f32 or f64 query files.
    #[arg(long, value_name = "N")]
    pub length: Option<usize>,
    /// Whether the first row of a CSV query file is a header.
    #[arg(long, value_enum, default_value_t = HeaderArg::Auto)]
    pub header: HeaderArg,
    /// Number of neighbours [default: 1].
    #[arg(long, short, conflicts_with = "radius")]
    pub k: Option<usize>,
    /// Instead of the k nearest, every series within this distance.
    #[arg(long, allow_negative_numbers = true)]
    pub radius: Option<f64>,
    /// Distance.
    #[arg(long, value_enum, default_value_t = MetricArg::Euclidean)]
    pub metric: MetricArg,
    /// DTW band as a fraction of the length: r = floor(F·n), 0 ≤ F ≤ 1 [default: 0.1].
    #[arg(long, conflicts_with = "window_points", allow_negative_numbers = true)]
    pub window: Option<f64>,
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
    /// Megabytes of decoded blocks (original values read by --exact original) kept for later
    /// queries [default: 256].
    #[arg(long, value_name = "MB")]
    pub cache_mb: Option<usize>,
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
    fn metric(&self) -> anyhow::Result<Metric> {
        Ok(match self.metric {
            MetricArg::Euclidean => {
                if self.window.is_some() || self.window_points.is_some() {
                    bail!("--window and --window-points apply to --metric dtw only");
                }
                Metric::Euclidean
            }
            MetricArg::Dtw => Metric::Dtw {
                window: match self.window_points {
                    Some(r) => Window::Points(r),
                    None => Window::Fraction(self.window.unwrap_or(0.1)),
                },
            },
        })
    }
}

/// Queries per progress step: enough to keep every thread busy between updates.
const CHUNK: usize = 64;

/// Runs `query`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let metric = args.metric()?;
    let db = Database::open_read_only(&args.db)
        .with_context(|| format!("opening {}", args.db.display()))?;
    if let Some(mb) = args.cache_mb {
        db.set_cache_bytes(mb.saturating_mul(1 << 20));
    }
    let (queries, note) = read_queries(&args)?;
    if !args.json {
        note.eprint(&args.queries);
    }
    let keeps_raw = db.options().keep_raw;
    let exactness = match args.exact {
        Some(ExactArg::Original) => Exactness::Original,
        Some(ExactArg::Reconstructed) => Exactness::Reconstructed,
        None if keeps_raw => Exactness::Original,
        None => Exactness::Reconstructed,
    };
    let snap = db.snapshot();
    // Only series of a query's length are candidates: say when a query has none.
    let mut of_length: HashMap<usize, u64> = HashMap::new();
    for r in snap.series_info()? {
        *of_length.entry(r.len).or_default() += 1;
    }
    let same_length = |q: &[f64]| of_length.get(&q.len()).copied().unwrap_or(0);
    let unmatched: Vec<usize> = (0..queries.len())
        .filter(|&i| same_length(&queries.series[i]) == 0)
        .collect();
    if !unmatched.is_empty() && !args.json {
        let shown: Vec<String> = unmatched.iter().take(5).map(|i| i.to_string()).collect();
        eprintln!(
            "warning: {} of {} queries (query {}{}) have a length that no stored series has, so they get no neighbours",
            unmatched.len(),
            queries.len(),
            shown.join(", "),
            if unmatched.len() > 5 { ", …" } else { "" }
        );
    }
    let base = match args.radius {
        Some(r) => Query::range(&[], r),
        None => Query::knn(&[], args.k.unwrap_or(1)),
    }
    .metric(metric)
    .exactness(exactness);
    let pb = crate::output::bar(queries.len() as u64, "queries", args.json);
    let mut results: Vec<SearchResult> = Vec::with_capacity(queries.len());
    for chunk in queries.series.chunks(CHUNK * rayon::current_num_threads()) {
        let batch: Vec<Query> = chunk.iter().map(|q| Query { series: q, ..base }).collect();
        results.extend(snap.search_batch(&batch)?);
        pb.inc(chunk.len() as u64);
    }
    pb.finish_and_clear();
    for (i, r) in results.iter().enumerate() {
        let neighbors: Vec<serde_json::Value> = r
            .neighbors
            .iter()
            .map(|n| {
                let label = snap.label(n.id).ok().flatten();
                serde_json::json!({"id": n.id, "distance": n.distance, "label": label})
            })
            .collect();
        if args.json {
            let mut stats = serde_json::to_value(r.stats)?;
            stats["series_of_its_length"] = same_length(&queries.series[i]).into();
            crate::output::json_line(&serde_json::json!({
                "query": i,
                "generation": snap.generation(),
                "neighbors": neighbors,
                "stats": stats,
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
            let label = snap.label(n.id).ok().flatten().unwrap_or_default();
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
