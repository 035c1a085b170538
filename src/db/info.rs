//! [`Info`]: what a database stores, in numbers (the `info` command).

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Options, Snapshot};
use crate::ids::{Generation, SeriesId};
use crate::storage::manifest;
use crate::storage::segment::layout;

/// A summary of what a database stores (the `info` command).
#[derive(Debug, Clone, Serialize)]
pub struct Info {
    /// Live series.
    pub series: u64,
    /// Deleted series still stored (until `compact`).
    pub deleted: u64,
    /// Values over the live series.
    pub points: u64,
    /// ABBA pieces over the live series.
    pub pieces: u64,
    /// Symbols in the codebook.
    pub symbols: u64,
    /// Bytes on disk (MANIFEST, segments, delete files).
    pub bytes: u64,
    /// Bits on disk per live value.
    pub bits_per_point: f64,
    /// Raw float32 size ÷ bytes on disk.
    pub ratio_vs_f32: f64,
    /// Raw float64 size ÷ bytes on disk.
    pub ratio_vs_f64: f64,
    /// Root mean square reconstruction error over all live values, in original units.
    pub rmse: f64,
    /// Mean over live series of RMSE/σ (series with σ = 0 count as 0).
    pub mean_relative_rmse: f64,
    /// Largest absolute error of any live value.
    pub max_abs_err: f64,
    /// Live series stored losslessly.
    pub lossless_series: u64,
    /// Live series stored with a correction: symbols and the levels that bring them within the
    /// error budget (FORMAT.md §4.12).
    pub corrected_series: u64,
    /// Length of the shortest live series.
    pub min_len: u64,
    /// Length of the longest live series.
    pub max_len: u64,
    /// Symbol blocks per codec.
    pub blocks: BlockCounts,
    /// Bytes per section kind over all segments (lowercase FORMAT.md names).
    pub sections: BTreeMap<String, u64>,
    /// One entry per segment.
    pub segments: Vec<SegmentInfo>,
    /// Build options.
    pub params: Options,
    /// The aggregation radius fitted by the first segment (greedy aggregation).
    pub fitted_alpha: Option<f64>,
    /// Format version of the segments.
    pub format_version: u32,
    /// MANIFEST generation.
    pub generation: Generation,
}

/// Symbol blocks by how they are coded (FORMAT.md §4.5).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct BlockCounts {
    /// Plain bit-packing.
    pub packed: u64,
    /// zstd.
    pub zstd: u64,
    /// LZW.
    pub lzw: u64,
    /// rANS under the segment's symbol model.
    pub rans: u64,
}

/// One segment of a database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SegmentInfo {
    /// File name in the database directory.
    pub file: String,
    /// Series stored (live or deleted).
    pub series: u64,
    /// Of those, deleted.
    pub deleted: u64,
    /// Bytes of the segment and its delete file.
    pub bytes: u64,
    /// Smallest id.
    pub first_id: SeriesId,
    /// Largest id.
    pub last_id: SeriesId,
}

impl Snapshot {
    /// A summary of the snapshot: sizes, ratio, error, parameters, segments. Reads every
    /// segment's series table (one segment's at a time when no search or `get` has decoded
    /// them).
    pub fn info(&self) -> crate::Result<Info> {
        let st = &self.state;
        let dir = &st.dir;
        let mut sums = RecordSums::default();
        for seg in &st.segments {
            seg.reader.with_records(|recs| {
                for r in recs.iter().filter(|r| seg.is_live(r.id)) {
                    sums.add(r);
                }
            })?;
        }
        let RecordSums {
            live,
            points,
            pieces,
            sq,
            rel,
            max_abs_err,
            lossless,
            corrected,
            min_len,
            max_len,
        } = sums;
        let size = |f: &str| std::fs::metadata(dir.join(f)).map(|m| m.len()).unwrap_or(0);
        let mut bytes = size(manifest::FILE);
        let mut blocks = [0u64; 4];
        let mut sections: BTreeMap<String, u64> = BTreeMap::new();
        let mut segs = Vec::new();
        for (entry, seg) in st.manifest.segments.iter().zip(&st.segments) {
            let b = seg.reader.file_bytes() + entry.deletes.as_deref().map_or(0, size);
            bytes += b;
            for (i, n) in seg.reader.blocks_by_codec().iter().enumerate() {
                blocks[i] += n;
            }
            for (k, n) in seg.reader.sections() {
                *sections
                    .entry(layout::kind::name(k).to_ascii_lowercase())
                    .or_default() += n;
            }
            segs.push(SegmentInfo {
                file: entry.file.clone(),
                series: entry.series,
                deleted: seg.deleted.len(),
                bytes: b,
                first_id: SeriesId(entry.first_id),
                last_id: SeriesId(entry.last_id),
            });
        }
        Ok(Info {
            series: live,
            deleted: st.segments.iter().map(|s| s.deleted.len()).sum(),
            points,
            pieces,
            symbols: st
                .segments
                .first()
                .map_or(0, |s| s.reader.codebook().len() as u64),
            bytes,
            bits_per_point: if points > 0 {
                bytes as f64 * 8.0 / points as f64
            } else {
                0.0
            },
            ratio_vs_f32: if bytes > 0 {
                points as f64 * 4.0 / bytes as f64
            } else {
                0.0
            },
            ratio_vs_f64: if bytes > 0 {
                points as f64 * 8.0 / bytes as f64
            } else {
                0.0
            },
            rmse: if points > 0 {
                (sq / points as f64).sqrt()
            } else {
                0.0
            },
            mean_relative_rmse: if live > 0 { rel / live as f64 } else { 0.0 },
            max_abs_err,
            lossless_series: lossless,
            corrected_series: corrected,
            min_len: if live > 0 { min_len } else { 0 },
            max_len,
            blocks: BlockCounts {
                packed: blocks[0],
                zstd: blocks[1],
                lzw: blocks[2],
                rans: blocks[3],
            },
            sections,
            segments: segs,
            params: st.options.clone(),
            fitted_alpha: st.segments.first().and_then(|s| s.reader.alpha()),
            format_version: st.manifest.format_version,
            generation: Generation(st.manifest.generation),
        })
    }
}

/// Sums over the records of the live series, for [`Info`].
#[derive(Debug)]
struct RecordSums {
    live: u64,
    points: u64,
    pieces: u64,
    /// Σ ε².
    sq: f64,
    /// Σ RMSE/σ.
    rel: f64,
    max_abs_err: f64,
    lossless: u64,
    corrected: u64,
    min_len: u64,
    max_len: u64,
}

impl Default for RecordSums {
    fn default() -> Self {
        RecordSums {
            live: 0,
            points: 0,
            pieces: 0,
            sq: 0.0,
            rel: 0.0,
            max_abs_err: 0.0,
            lossless: 0,
            corrected: 0,
            min_len: u64::MAX,
            max_len: 0,
        }
    }
}

impl RecordSums {
    fn add(&mut self, r: &layout::SeriesRecord) {
        self.live += 1;
        self.points += r.len as u64;
        self.pieces += r.pieces as u64;
        self.sq += r.eps.powi(2);
        if r.std > 0.0 {
            self.rel += r.eps / (r.len as f64).sqrt() / r.std;
        }
        self.max_abs_err = self.max_abs_err.max(r.max_abs_err);
        self.lossless += u64::from(r.kind == layout::storage_kind::LOSSLESS);
        self.corrected += u64::from(r.kind == layout::storage_kind::CORRECTED);
        self.min_len = self.min_len.min(r.len as u64);
        self.max_len = self.max_len.max(r.len as u64);
    }
}
