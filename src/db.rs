//! [`Database`]: build, open and read a qabbadb database.
//!
//! A database is currently one segment file (see `format-spec/FORMAT.md`): the codebook, the
//! series table and the symbol blocks of a collection, written atomically.

use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::codec::{self, CodecParams, Digitizer};
use crate::error::{Error, Result};
use crate::ingest::Dataset;
use crate::storage::segment::writer::WriteReport;
use crate::storage::segment::{layout, write_segment, SegmentContents, SegmentReader};

/// Options for building a database.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Options {
    /// Codec parameters (tolerance, digitization, quantization, assignment, error budget).
    pub codec: CodecParams,
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
}

/// What a build did, for the tool and benchmarks.
#[derive(Debug, Clone, Default)]
pub struct BuildReport {
    /// Codec statistics.
    pub fit: codec::FitReport,
    /// Sizes written.
    pub write: WriteReport,
    /// Time to write the file.
    pub write_time: Duration,
}

/// An open database.
#[derive(Debug)]
pub struct Database {
    segment: SegmentReader,
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
            },
        )?;
        let write_time = t.elapsed();
        let db = Database::open(path)?;
        Ok((
            db,
            BuildReport {
                fit,
                write,
                write_time,
            },
        ))
    }

    /// Opens the database at `path`, validating it.
    pub fn open(path: &Path) -> Result<Database> {
        Ok(Database {
            segment: SegmentReader::open(path)?,
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
            let m = codec::Moments {
                mean: r.mean,
                std: r.std,
            };
            *s = m.normalize(s);
        }
        Ok(d)
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
