//! [`Database`]: build, open and read a qabbadb database.
//!
//! A database is currently one segment file (see `format-spec/FORMAT.md`): the codebook, the
//! series table and the symbol blocks of a collection, written atomically.

use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use roaring::RoaringTreemap;

use serde::Serialize;

use crate::codec::{self, CodecParams, Digitizer, Moments, Storage};
use crate::error::{Error, Result};
use crate::index::{Index, IndexParams};
use crate::ingest::Dataset;
use crate::search::knn::{self, Mode};
use crate::search::{Metric, SearchResult, Source};
use crate::storage::segment::writer::WriteReport;
use crate::storage::segment::{layout, write_segment, SegmentContents, SegmentReader};

/// Options for building a database.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Codec parameters (tolerance, digitization, quantization, assignment, error budget).
    pub codec: CodecParams,
    /// Index parameters; `None` builds no search index.
    pub index: Option<IndexParams>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            codec: CodecParams::default(),
            index: Some(IndexParams::default()),
        }
    }
}

impl Options {
    /// Compression tolerance (papers' convention).
    pub fn tol(mut self, tol: f64) -> Self {
        self.codec.tol = tol;
        self
    }

    /// How pieces are clustered into symbols.
    pub fn digitizer(mut self, d: Digitizer) -> Self {
        self.codec.digitizer = d;
        self
    }

    /// Symbol assignment rule.
    pub fn assign(mut self, a: codec::Assign) -> Self {
        self.codec.assign = a;
        self
    }

    /// Error budget (RMSE relative to each series' σ); `f64::INFINITY` disables it.
    pub fn max_rmse(mut self, m: f64) -> Self {
        self.codec.max_rmse = m;
        self
    }

    /// Index parameters (`None`: no search index).
    pub fn index(mut self, index: Option<IndexParams>) -> Self {
        self.index = index;
        self
    }
}

/// What a build did, for the tool and benchmarks.
#[derive(Debug, Clone, Default)]
pub struct BuildReport {
    /// Codec statistics.
    pub fit: codec::FitReport,
    /// Sizes written.
    pub write: WriteReport,
    /// Time to build the search index.
    pub index_time: Duration,
    /// Time to write the file.
    pub write_time: Duration,
}

/// An open database.
#[derive(Debug)]
pub struct Database {
    segment: SegmentReader,
    /// Decoded symbols and lossless series, made on the first search.
    search: OnceLock<Result<SearchData>>,
}

/// What verification reads: every symbol decoded once, and the lossless series normalised.
#[derive(Debug)]
struct SearchData {
    symbols: Vec<u32>,
    lossless: std::collections::HashMap<usize, Vec<f64>>,
}

/// A [`Source`] over a segment and its decoded symbols.
struct SegmentSource<'a> {
    segment: &'a SegmentReader,
    data: &'a SearchData,
}

impl Source for SegmentSource<'_> {
    fn id(&self, pos: usize) -> u64 {
        self.segment.records()[pos].id
    }

    fn normalized_into(&self, pos: usize, out: &mut Vec<f64>) {
        let r = &self.segment.records()[pos];
        let m = Moments {
            mean: r.mean,
            std: r.std,
        };
        if let Some(v) = self.data.lossless.get(&pos) {
            out.clear();
            out.extend_from_slice(v);
            return;
        }
        let syms = &self.data.symbols[r.start as usize..(r.start + r.count) as usize];
        codec::decode_symbolic_into(
            r.len as usize,
            r.first,
            m,
            syms,
            self.segment.centres(),
            out,
        );
        codec::normalize_in_place(out, m);
    }
}

/// A summary of what a database stores (the `info` command).
#[derive(Debug, Clone, Serialize)]
pub struct Info {
    /// Series stored.
    pub series: u64,
    /// Values over all series.
    pub points: u64,
    /// ABBA pieces over all series.
    pub pieces: u64,
    /// Symbols in the codebook.
    pub symbols: u64,
    /// Bytes on disk.
    pub bytes: u64,
    /// Bits on disk per stored value.
    pub bits_per_point: f64,
    /// Raw float32 size ÷ bytes on disk.
    pub ratio_vs_f32: f64,
    /// Raw float64 size ÷ bytes on disk.
    pub ratio_vs_f64: f64,
    /// Root mean square reconstruction error over all values, in original units.
    pub rmse: f64,
    /// Mean over series of RMSE/σ (series with σ = 0 count as 0).
    pub mean_relative_rmse: f64,
    /// Largest absolute error of any value.
    pub max_abs_err: f64,
    /// Series stored losslessly.
    pub lossless_series: u64,
    /// Length of the shortest and the longest series.
    pub min_len: u64,
    /// Length of the longest series.
    pub max_len: u64,
    /// Symbol blocks per codec: packed, zstd, LZW.
    pub blocks: serde_json::Value,
    /// Bytes per section.
    pub sections: serde_json::Value,
    /// Build parameters.
    pub params: serde_json::Value,
    /// Format version of the file.
    pub format_version: u32,
}

impl Database {
    /// Builds a database at `path` from `data` (replacing any file there atomically).
    pub fn create(
        path: &Path,
        data: &Dataset,
        options: &Options,
    ) -> Result<(Database, BuildReport)> {
        if data.labels.len() != data.series.len() {
            return Err(Error::InvalidOptions(
                "one label (or None) per series is required".into(),
            ));
        }
        let (codebook, encoded, fit) = codec::fit_encode(&data.series, &options.codec)?;
        let ids: Vec<u64> = (0..encoded.len() as u64).collect();
        let t = Instant::now();
        let index = options.index.map(|params| {
            let centres = codebook.centres();
            Index::build(
                encoded.len(),
                |i| encoded[i].len as usize,
                |i| {
                    let e = &encoded[i];
                    let mut x = match &e.storage {
                        Storage::Symbolic(s) => {
                            codec::decode_symbolic(e.len as usize, e.first, e.moments, s, &centres)
                        }
                        Storage::Lossless(_) => data.series[i].clone(),
                    };
                    codec::normalize_in_place(&mut x, e.moments);
                    x
                },
                params,
            )
        });
        let index_time = t.elapsed();
        let report = serde_json::json!({
            "pieces": fit.pieces,
            "alpha": fit.alpha,
            "lossless": fit.lossless,
        });
        let t = Instant::now();
        let write = write_segment(
            path,
            &SegmentContents {
                params: &options.codec,
                alpha: fit.alpha,
                codebook: &codebook,
                series: &encoded,
                ids: &ids,
                labels: &data.labels,
                report,
                index: index.as_ref(),
            },
        )?;
        let write_time = t.elapsed();
        let db = Database::open(path)?;
        Ok((
            db,
            BuildReport {
                fit,
                write,
                index_time,
                write_time,
            },
        ))
    }

    /// Opens the database at `path`, validating it.
    pub fn open(path: &Path) -> Result<Database> {
        Ok(Database {
            segment: SegmentReader::open(path)?,
            search: OnceLock::new(),
        })
    }

    /// The segment behind the database.
    pub fn segment(&self) -> &SegmentReader {
        &self.segment
    }

    /// Number of series.
    pub fn len(&self) -> usize {
        self.segment.len()
    }

    /// True when no series is stored.
    pub fn is_empty(&self) -> bool {
        self.segment.is_empty()
    }

    /// Ids of the stored series, ascending.
    pub fn ids(&self) -> Vec<u64> {
        self.segment.records().iter().map(|r| r.id).collect()
    }

    /// The reconstructed series `id`, in original units, with its stored length.
    pub fn get(&self, id: u64) -> Result<Vec<f64>> {
        let pos = self.segment.position(id).ok_or(Error::NotFound(id))?;
        self.segment.decode(pos)
    }

    /// The label of series `id`.
    pub fn label(&self, id: u64) -> Result<Option<String>> {
        let pos = self.segment.position(id).ok_or(Error::NotFound(id))?;
        Ok(self.segment.label(pos).map(str::to_string))
    }

    /// The symbols of series `id` (empty when stored losslessly).
    pub fn symbols(&self, id: u64) -> Result<Vec<u32>> {
        let pos = self.segment.position(id).ok_or(Error::NotFound(id))?;
        self.segment.symbols(pos)
    }

    /// Every series reconstructed, in id order, with its label.
    pub fn export(&self) -> Result<Dataset> {
        let mut out = Dataset::default();
        self.segment.for_each_decoded(|pos, values| {
            out.series.push(values);
            out.labels.push(self.segment.label(pos).map(str::to_string));
            Ok(())
        })?;
        Ok(out)
    }

    /// Every series reconstructed and z-normalised with its stored mean and std (all zeros when
    /// σ = 0): the space similarity search works in.
    pub fn export_normalized(&self) -> Result<Dataset> {
        let mut d = self.export()?;
        for (s, r) in d.series.iter_mut().zip(self.segment.records()) {
            codec::normalize_in_place(
                s,
                Moments {
                    mean: r.mean,
                    std: r.std,
                },
            );
        }
        Ok(d)
    }

    fn search_data(&self) -> Result<&SearchData> {
        let made = self.search.get_or_init(|| {
            let seg = &self.segment;
            let blocks: Result<Vec<Vec<u32>>> = (0..seg.block_count())
                .into_par_iter()
                .map(|b| seg.block(b).map(|s| s.into_symbols()))
                .collect();
            let symbols: Vec<u32> = blocks?.concat();
            let mut lossless = std::collections::HashMap::new();
            for (pos, r) in seg.records().iter().enumerate() {
                if r.kind == layout::storage_kind::LOSSLESS {
                    let mut x = seg.decode(pos)?;
                    codec::normalize_in_place(
                        &mut x,
                        Moments {
                            mean: r.mean,
                            std: r.std,
                        },
                    );
                    lossless.insert(pos, x);
                }
            }
            Ok(SearchData { symbols, lossless })
        });
        match made {
            Ok(d) => Ok(d),
            Err(e) => Err(Error::Corrupt {
                path: self.segment.path().to_path_buf(),
                section: "SYMBOLS",
                offset: 0,
                detail: format!("cannot prepare search: {e}"),
            }),
        }
    }

    fn run(
        &self,
        query: &[f64],
        mode: Mode,
        metric: Metric,
        filter: Option<&RoaringTreemap>,
        workers: usize,
    ) -> Result<SearchResult> {
        crate::ingest::validate_one(0, query)?;
        if let Mode::Knn(0) = mode {
            return Err(Error::InvalidOptions("k must be at least 1".into()));
        }
        if let Mode::Range(r) = mode {
            if r.is_nan() || r < 0.0 {
                return Err(Error::InvalidOptions(format!(
                    "radius must be ≥ 0, got {r}"
                )));
            }
        }
        if let Metric::Dtw {
            window: crate::search::Window::Fraction(f),
        } = metric
        {
            if !(0.0..=1.0).contains(&f) {
                return Err(Error::InvalidOptions(format!(
                    "window fraction must be in [0, 1], got {f}"
                )));
            }
        }
        let index = self.segment.index().ok_or_else(|| {
            Error::InvalidOptions("this database was built without a search index".into())
        })?;
        let data = self.search_data()?;
        let source = SegmentSource {
            segment: &self.segment,
            data,
        };
        Ok(knn::search(
            index, &source, query, mode, metric, filter, workers,
        ))
    }

    /// The `k` stored series nearest to `query` (exact; sorted by distance, then id). Runs on
    /// the threads of the current rayon pool.
    pub fn knn(&self, query: &[f64], k: usize, metric: Metric) -> Result<SearchResult> {
        self.run(
            query,
            Mode::Knn(k),
            metric,
            None,
            rayon::current_num_threads(),
        )
    }

    /// As [`Database::knn`], among the series whose ids are in `filter`.
    pub fn knn_filtered(
        &self,
        query: &[f64],
        k: usize,
        metric: Metric,
        filter: &RoaringTreemap,
    ) -> Result<SearchResult> {
        self.run(
            query,
            Mode::Knn(k),
            metric,
            Some(filter),
            rayon::current_num_threads(),
        )
    }

    /// Every stored series within `radius` of `query` (sorted by distance, then id).
    pub fn range(&self, query: &[f64], radius: f64, metric: Metric) -> Result<SearchResult> {
        self.run(
            query,
            Mode::Range(radius),
            metric,
            None,
            rayon::current_num_threads(),
        )
    }

    /// [`Database::knn`] for many queries, in parallel; results in query order.
    pub fn knn_batch(
        &self,
        queries: &[Vec<f64>],
        k: usize,
        metric: Metric,
    ) -> Result<Vec<SearchResult>> {
        self.search_data()?;
        // Parallel over queries; each query on one thread.
        queries
            .par_iter()
            .map(|q| self.run(q, Mode::Knn(k), metric, None, 1))
            .collect()
    }

    /// Brute force over the same representations (every series, no index): the oracle that
    /// indexed search must equal, and a baseline for benchmarks.
    pub fn knn_brute_force(
        &self,
        query: &[f64],
        k: usize,
        metric: Metric,
    ) -> Result<Vec<crate::search::Neighbor>> {
        crate::ingest::validate_one(0, query)?;
        let data = self.search_data()?;
        let source = SegmentSource {
            segment: &self.segment,
            data,
        };
        Ok(knn::brute_force(
            &source,
            0..self.len(),
            query,
            Mode::Knn(k),
            metric,
        ))
    }

    /// Brute-force range query (see [`Database::knn_brute_force`]).
    pub fn range_brute_force(
        &self,
        query: &[f64],
        radius: f64,
        metric: Metric,
    ) -> Result<Vec<crate::search::Neighbor>> {
        crate::ingest::validate_one(0, query)?;
        let data = self.search_data()?;
        let source = SegmentSource {
            segment: &self.segment,
            data,
        };
        Ok(knn::brute_force(
            &source,
            0..self.len(),
            query,
            Mode::Range(radius),
            metric,
        ))
    }

    /// A summary of the database.
    pub fn info(&self) -> Info {
        let seg = &self.segment;
        let recs = seg.records();
        let points: u64 = recs.iter().map(|r| r.len as u64).sum();
        let pieces: u64 = recs.iter().map(|r| r.pieces as u64).sum();
        let sq: f64 = recs.iter().map(|r| r.eps.powi(2)).sum();
        let rel: f64 = recs
            .iter()
            .map(|r| {
                let s = r.std;
                if s > 0.0 {
                    r.eps / (r.len as f64).sqrt() / s
                } else {
                    0.0
                }
            })
            .sum();
        let bytes = seg.file_bytes();
        let p = seg.params();
        let blocks = seg.blocks_by_codec();
        let sections: serde_json::Map<String, serde_json::Value> = seg
            .sections()
            .into_iter()
            .map(|(k, b)| (layout::kind::name(k).to_ascii_lowercase(), b.into()))
            .collect();
        let (digitize, alpha, k) = match p.digitizer {
            Digitizer::Greedy { .. } => ("ga", seg.alpha(), None),
            Digitizer::KMeans { k, .. } => ("kmeans", None, Some(k)),
        };
        Info {
            series: recs.len() as u64,
            points,
            pieces,
            symbols: seg.codebook().len() as u64,
            bytes,
            bits_per_point: if points > 0 {
                bytes as f64 * 8.0 / points as f64
            } else {
                0.0
            },
            ratio_vs_f32: points as f64 * 4.0 / bytes as f64,
            ratio_vs_f64: points as f64 * 8.0 / bytes as f64,
            rmse: if points > 0 {
                (sq / points as f64).sqrt()
            } else {
                0.0
            },
            mean_relative_rmse: if recs.is_empty() {
                0.0
            } else {
                rel / recs.len() as f64
            },
            max_abs_err: recs.iter().map(|r| r.max_abs_err).fold(0.0, f64::max),
            lossless_series: recs
                .iter()
                .filter(|r| r.kind == layout::storage_kind::LOSSLESS)
                .count() as u64,
            min_len: recs.iter().map(|r| r.len as u64).min().unwrap_or(0),
            max_len: recs.iter().map(|r| r.len as u64).max().unwrap_or(0),
            blocks: serde_json::json!({"packed": blocks[0], "zstd": blocks[1], "lzw": blocks[2]}),
            sections: sections.into(),
            params: serde_json::json!({
                "tol": p.tol,
                "max_len": p.max_len,
                "digitize": digitize,
                "alpha": alpha,
                "k": k,
                "scl": p.scl,
                "len_bits": p.len_bits,
                "inc_bits": p.inc_bits,
                "assign": match p.assign { codec::Assign::ClosedLoop => "closed-loop", codec::Assign::Nearest => "nearest" },
                "max_rmse": if p.max_rmse.is_finite() { serde_json::json!(p.max_rmse) } else { serde_json::Value::Null },
            }),
            format_version: seg.format_version(),
        }
    }
}
