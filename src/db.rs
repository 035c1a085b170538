//! [`Database`]: a directory of immutable segments named by an atomically replaced MANIFEST.
//!
//! ```text
//! DB/
//!   MANIFEST                      the commit point (FORMAT.md §9)
//!   LOCK                          held (flock) by the one writer
//!   000001-<random>.qseg          segments (FORMAT.md §2–§8), never changed once written
//!   000001-<random>.000004.del    deleted ids of a segment as of generation 4 (FORMAT.md §10)
//! ```
//!
//! Every change writes new files first (each synced), then a new MANIFEST (temporary file,
//! fsync, rename, fsync of the directory). A crash at any point leaves the previous MANIFEST and
//! everything it names intact; files no MANIFEST names are removed by the writer after each
//! commit and when it opens the database. Readers work on a [`Snapshot`]: the segments it holds
//! stay mapped and readable whatever later commits do.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use roaring::RoaringTreemap;
use serde::Serialize;

use crate::codec::{self, Codebook, CodecParams, Digitizer, EncodedSeries, Moments, Storage};
use crate::error::{Error, Result};
use crate::index::{BreakpointChoice, Index, IndexParams};
use crate::ingest::Dataset;
use crate::search::knn::{self, IdFilter, Mode, Shared};
use crate::search::{Exactness, Metric, Neighbor, SearchResult, SearchStats, Source};
use crate::storage::manifest::{self, Manifest, SegmentEntry};
use crate::storage::names::{self, DbUid};
use crate::storage::segment::layout::{self, SeriesRecord};
use crate::storage::segment::writer::{write_atomically, WriteReport};
use crate::storage::segment::{write_segment, SegmentContents, SegmentReader};
use crate::storage::{deletes, segment::layout::FORMAT_VERSION};

/// Options of a database, fixed when it is created.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Codec parameters (tolerance, digitization, quantization, assignment, error budget).
    pub codec: CodecParams,
    /// Index parameters; `None` builds no search index.
    pub index: Option<IndexParams>,
    /// Also store every series' original values losslessly (FORMAT.md §4.9).
    pub keep_raw: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            codec: CodecParams::default(),
            index: Some(IndexParams::default()),
            keep_raw: false,
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

    /// Error-bounded mode: every stored value within `delta` (original units) of the original,
    /// by residual levels of step 2δ added to the reconstruction (FORMAT.md §4.10).
    pub fn max_error(mut self, delta: Option<f64>) -> Self {
        self.codec.max_error = delta;
        self
    }

    /// Index parameters (`None`: no search index).
    pub fn index(mut self, index: Option<IndexParams>) -> Self {
        self.index = index;
        self
    }

    /// Keep the original values losslessly as well.
    pub fn keep_raw(mut self, keep: bool) -> Self {
        self.keep_raw = keep;
        self
    }

    /// The options as the JSON object kept in the MANIFEST and shown by `info`.
    pub fn to_json(&self) -> serde_json::Value {
        let p = &self.codec;
        let (digitize, alpha, k, rate, seed) = match p.digitizer {
            Digitizer::Greedy { alpha } => ("ga", alpha, None, None, None),
            Digitizer::KMeans {
                k,
                sample_rate,
                seed,
            } => ("kmeans", None, Some(k), Some(sample_rate), Some(seed)),
        };
        serde_json::json!({
            "tol": p.tol,
            "max_len": p.max_len,
            "digitize": digitize,
            "alpha": alpha,
            "k": k,
            "sample_rate": rate,
            "seed": seed,
            "scl": p.scl,
            "len_bits": p.len_bits,
            "inc_bits": p.inc_bits,
            "assign": match p.assign { codec::Assign::ClosedLoop => "closed-loop", codec::Assign::Nearest => "nearest" },
            "max_rmse": if p.max_rmse.is_finite() { serde_json::json!(p.max_rmse) } else { serde_json::Value::Null },
            "max_error": p.max_error,
            "keep_raw": self.keep_raw,
            "index": self.index.map(|i| serde_json::json!({
                "word_len": i.word_len,
                "breakpoints": match i.breakpoints {
                    BreakpointChoice::Auto => "auto",
                    BreakpointChoice::Kde => "kde",
                    BreakpointChoice::Gaussian => "gaussian",
                },
            })),
        })
    }

    /// Options from [`Options::to_json`].
    pub fn from_json(v: &serde_json::Value) -> Result<Options> {
        let bad =
            |what: &str| Error::InvalidOptions(format!("MANIFEST options: bad or missing {what}"));
        let f = |k: &str| v.get(k).and_then(|x| x.as_f64()).ok_or_else(|| bad(k));
        let u = |k: &str| v.get(k).and_then(|x| x.as_u64()).ok_or_else(|| bad(k));
        let digitizer = match v.get("digitize").and_then(|x| x.as_str()) {
            Some("ga") => Digitizer::Greedy {
                alpha: v.get("alpha").and_then(|x| x.as_f64()),
            },
            Some("kmeans") => Digitizer::KMeans {
                k: u("k")? as usize,
                sample_rate: f("sample_rate")?,
                seed: u("seed")?,
            },
            _ => return Err(bad("digitize")),
        };
        let codec = CodecParams {
            tol: f("tol")?,
            max_len: v.get("max_len").and_then(|x| x.as_u64()).map(|m| m as u32),
            digitizer,
            scl: f("scl")?,
            len_bits: u("len_bits")? as u8,
            inc_bits: u("inc_bits")? as u8,
            assign: match v.get("assign").and_then(|x| x.as_str()) {
                Some("closed-loop") => codec::Assign::ClosedLoop,
                Some("nearest") => codec::Assign::Nearest,
                _ => return Err(bad("assign")),
            },
            max_rmse: v
                .get("max_rmse")
                .and_then(|x| x.as_f64())
                .unwrap_or(f64::INFINITY),
            max_error: match v.get("max_error") {
                None | Some(serde_json::Value::Null) => None,
                Some(x) => Some(x.as_f64().ok_or_else(|| bad("max_error"))?),
            },
        };
        codec.validate()?;
        let index = match v.get("index") {
            None | Some(serde_json::Value::Null) => None,
            Some(i) => Some(IndexParams {
                word_len: i
                    .get("word_len")
                    .and_then(|x| x.as_u64())
                    .filter(|&w| (1..=crate::index::MAX_WORD_LEN as u64).contains(&w))
                    .ok_or_else(|| bad("index.word_len"))? as usize,
                breakpoints: match i.get("breakpoints").and_then(|x| x.as_str()) {
                    Some("auto") => BreakpointChoice::Auto,
                    Some("kde") => BreakpointChoice::Kde,
                    Some("gaussian") => BreakpointChoice::Gaussian,
                    _ => return Err(bad("index.breakpoints")),
                },
            }),
        };
        let keep_raw = v.get("keep_raw").and_then(|x| x.as_bool()).unwrap_or(false);
        Ok(Options {
            codec,
            index,
            keep_raw,
        })
    }
}

/// What a build or an append did, for the tool and benchmarks.
#[derive(Debug, Clone, Default)]
pub struct BuildReport {
    /// Ids given to the new series.
    pub ids: Vec<u64>,
    /// Codec statistics.
    pub fit: codec::FitReport,
    /// Sizes written.
    pub write: WriteReport,
    /// Time to build the search index.
    pub index_time: Duration,
    /// Time to write the segment and commit.
    pub write_time: Duration,
    /// Files of an earlier build of the same directory that never committed, removed first.
    pub cleaned: Vec<String>,
}

/// What a [`Database::delete`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DeleteReport {
    /// Series that were live and are deleted now.
    pub deleted: u64,
    /// Ids listed that were deleted already (ids are never reused).
    pub already_deleted: u64,
}

/// A segment of an open database with its deleted ids.
#[derive(Debug)]
struct Segment {
    reader: SegmentReader,
    deleted: RoaringTreemap,
    /// Decoded symbols and lossless series, made on the first search.
    search: OnceLock<std::result::Result<SearchData, String>>,
}

/// What verification reads: every symbol decoded once, the residual levels of error-bounded
/// segments, and the lossless series normalised.
#[derive(Debug)]
struct SearchData {
    symbols: Symbols,
    /// Error-bounded segments: every residual level, and where each series' levels start.
    levels: Option<Levels>,
    lossless: std::collections::HashMap<usize, Vec<f64>>,
    /// Per length group, the largest error bounds per leaf and node (exactness over originals).
    original_bounds: Vec<knn::OriginalBounds>,
    /// Raw blocks decoded so far (exactness over originals reads them; kept once decoded).
    raw_blocks: Vec<OnceLock<Option<Vec<f64>>>>,
}

/// Every symbol of a segment, decoded once: 2 bytes a symbol for alphabets of up to 65,536
/// symbols, else 4.
#[derive(Debug)]
enum Symbols {
    Narrow(Vec<u16>),
    Wide(Vec<u32>),
}

impl Symbols {
    /// Decodes the symbolic series of record `r` to original units, into `out`.
    fn decode_into(&self, r: &SeriesRecord, centres: &[[f64; 2]], out: &mut Vec<f64>) {
        let (a, b) = (r.start as usize, (r.start + r.count) as usize);
        let m = Moments {
            mean: r.mean,
            std: r.std,
        };
        let n = r.len as usize;
        match self {
            Symbols::Narrow(v) => {
                codec::decode_symbolic_into(n, r.first, m, &v[a..b], centres, out)
            }
            Symbols::Wide(v) => codec::decode_symbolic_into(n, r.first, m, &v[a..b], centres, out),
        }
    }

    /// The symbols of record `r`.
    fn of(&self, r: &SeriesRecord) -> Vec<u32> {
        let (a, b) = (r.start as usize, (r.start + r.count) as usize);
        match self {
            Symbols::Narrow(v) => v[a..b].iter().map(|&s| s as u32).collect(),
            Symbols::Wide(v) => v[a..b].to_vec(),
        }
    }
}

/// The residual levels of a segment in the narrowest integer type that holds them all.
#[derive(Debug)]
enum LevelValues {
    I16(Vec<i16>),
    I32(Vec<i32>),
    I64(Vec<i64>),
}

/// Decoded residual levels of a segment (§4.10).
#[derive(Debug)]
struct Levels {
    values: LevelValues,
    /// Start of each series' levels in `values` (meaningful for symbolic series).
    start: Vec<usize>,
    step: f64,
}

impl Levels {
    fn read(seg: &SegmentReader) -> Result<Option<Levels>> {
        let Some(d) = seg.max_error() else {
            return Ok(None);
        };
        let blocks: Result<Vec<Vec<i64>>> = (0..seg.residual_block_count())
            .into_par_iter()
            .map(|b| seg.residual_block(b))
            .collect();
        let blocks = blocks?;
        let mut offsets = Vec::with_capacity(blocks.len());
        let mut acc = 0usize;
        for b in &blocks {
            offsets.push(acc);
            acc += b.len();
        }
        let start = (0..seg.len())
            .map(|pos| {
                seg.residual_location(pos)
                    .map_or(0, |(b, skip)| offsets.get(b).copied().unwrap_or(0) + skip)
            })
            .collect();
        let flat = blocks.concat();
        let fits = |lo: i64, hi: i64| flat.iter().all(|&q| (lo..=hi).contains(&q));
        let values = if fits(i16::MIN.into(), i16::MAX.into()) {
            LevelValues::I16(flat.iter().map(|&q| q as i16).collect())
        } else if fits(i32::MIN.into(), i32::MAX.into()) {
            LevelValues::I32(flat.iter().map(|&q| q as i32).collect())
        } else {
            LevelValues::I64(flat)
        };
        Ok(Some(Levels {
            values,
            start,
            step: 2.0 * d,
        }))
    }

    /// The levels of the series at `pos`, of length `n`.
    fn of(&self, pos: usize, n: usize) -> Vec<i64> {
        let at = self.start[pos];
        match &self.values {
            LevelValues::I16(v) => v[at..at + n].iter().map(|&q| q as i64).collect(),
            LevelValues::I32(v) => v[at..at + n].iter().map(|&q| q as i64).collect(),
            LevelValues::I64(v) => v[at..at + n].to_vec(),
        }
    }

    /// Adds the corrections of the series at `pos` to its reconstruction `x`.
    fn apply(&self, pos: usize, x: &mut [f64]) {
        fn add<T: Copy + Into<i64>>(x: &mut [f64], levels: &[T], step: f64) {
            for (v, &q) in x.iter_mut().zip(levels) {
                *v = codec::residual::corrected(*v, q.into(), step);
            }
        }
        let (at, n) = (self.start[pos], x.len());
        match &self.values {
            LevelValues::I16(v) => add(x, &v[at..at + n], self.step),
            LevelValues::I32(v) => add(x, &v[at..at + n], self.step),
            LevelValues::I64(v) => add(x, &v[at..at + n], self.step),
        }
    }
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
        if r.kind == layout::storage_kind::LOSSLESS {
            out.clear();
            if let Some(v) = self.data.lossless.get(&pos) {
                out.extend_from_slice(v);
            }
            return;
        }
        self.data
            .symbols
            .decode_into(r, self.segment.centres(), out);
        if let Some(l) = &self.data.levels {
            l.apply(pos, out);
        }
        codec::normalize_in_place(out, m);
    }

    fn error_bounds(&self, pos: usize) -> (f64, f64) {
        let r = &self.segment.records()[pos];
        if r.std > 0.0 {
            (r.eps / r.std, r.max_abs_err / r.std)
        } else {
            (0.0, 0.0)
        }
    }

    fn original_into(&self, pos: usize, out: &mut Vec<f64>) -> bool {
        let r = &self.segment.records()[pos];
        let Ok((b, skip)) = self.segment.raw_location(pos) else {
            return false;
        };
        let Some(slot) = self.data.raw_blocks.get(b) else {
            return false;
        };
        let Some(block) = slot.get_or_init(|| self.segment.raw_block(b).ok()) else {
            return false;
        };
        out.clear();
        out.extend_from_slice(&block[skip..skip + r.len as usize]);
        codec::normalize_in_place(
            out,
            Moments {
                mean: r.mean,
                std: r.std,
            },
        );
        true
    }
}

/// The originals of a segment as a [`Source`] (for brute force over them).
struct OriginalSource<'a>(&'a SegmentSource<'a>);

impl Source for OriginalSource<'_> {
    fn id(&self, pos: usize) -> u64 {
        self.0.id(pos)
    }

    fn normalized_into(&self, pos: usize, out: &mut Vec<f64>) {
        if !self.0.original_into(pos, out) {
            out.clear();
        }
    }
}

impl Segment {
    fn open(dir: &Path, entry: &SegmentEntry) -> Result<Segment> {
        let path = dir.join(&entry.file);
        let reader = SegmentReader::open(&path)?;
        let recs = reader.records();
        let mismatch = |d: String| Error::Corrupt {
            path: path.clone(),
            section: "MANIFEST",
            offset: 0,
            detail: d,
        };
        if recs.len() as u64 != entry.series
            || recs.first().map(|r| r.id) != Some(entry.first_id)
            || recs.last().map(|r| r.id) != Some(entry.last_id)
        {
            return Err(mismatch(format!(
                "segment {} does not hold the ids the MANIFEST names",
                entry.file
            )));
        }
        let deleted = match &entry.deletes {
            Some(d) => {
                let del_path = dir.join(d);
                let ids = deletes::read(&del_path)?;
                if let Some(bad) = ids.iter().find(|&id| reader.position(id).is_none()) {
                    return Err(Error::Corrupt {
                        path: del_path,
                        section: "deletes",
                        offset: 16,
                        detail: format!(
                            "names id {bad}, which segment {} does not hold",
                            entry.file
                        ),
                    });
                }
                ids
            }
            None => RoaringTreemap::new(),
        };
        Ok(Segment {
            reader,
            deleted,
            search: OnceLock::new(),
        })
    }

    fn is_live(&self, id: u64) -> bool {
        !self.deleted.contains(id)
    }

    fn search_data(&self) -> Result<&SearchData> {
        let made = self.search.get_or_init(|| {
            let seg = &self.reader;
            let symbols = if seg.codebook().len() <= 1 << 16 {
                let blocks: Result<Vec<Vec<u16>>> = (0..seg.block_count())
                    .into_par_iter()
                    .map(|b| {
                        seg.block(b)
                            .map(|s| s.into_symbols().into_iter().map(|v| v as u16).collect())
                    })
                    .collect();
                Symbols::Narrow(blocks.map_err(|e| e.to_string())?.concat())
            } else {
                let blocks: Result<Vec<Vec<u32>>> = (0..seg.block_count())
                    .into_par_iter()
                    .map(|b| seg.block(b).map(|s| s.into_symbols()))
                    .collect();
                Symbols::Wide(blocks.map_err(|e| e.to_string())?.concat())
            };
            let mut lossless = std::collections::HashMap::new();
            for (pos, r) in seg.records().iter().enumerate() {
                if r.kind == layout::storage_kind::LOSSLESS {
                    let mut x = seg.decode(pos).map_err(|e| e.to_string())?;
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
            let levels = Levels::read(seg).map_err(|e| e.to_string())?;
            let mut data = SearchData {
                symbols,
                levels,
                lossless,
                original_bounds: Vec::new(),
                raw_blocks: (0..seg.raw_block_count())
                    .map(|_| OnceLock::new())
                    .collect(),
            };
            if let Some(index) = seg.index() {
                let source = SegmentSource {
                    segment: seg,
                    data: &data,
                };
                data.original_bounds = knn::OriginalBounds::of(index, &source);
            }
            Ok(data)
        });
        made.as_ref().map_err(|e| Error::Corrupt {
            path: self.reader.path().to_path_buf(),
            section: "SYMBOLS",
            offset: 0,
            detail: format!("cannot prepare search: {e}"),
        })
    }
}

/// The committed state a snapshot sees.
#[derive(Debug)]
struct State {
    manifest: Manifest,
    segments: Vec<Arc<Segment>>,
}

/// A consistent, read-only view of a database as of one commit.
#[derive(Debug, Clone)]
pub struct Snapshot {
    state: Arc<State>,
}

/// An open database.
#[derive(Debug)]
pub struct Database {
    dir: PathBuf,
    options: Options,
    /// The database's id, carried by the names of the files it writes.
    uid: DbUid,
    /// The database was made before database ids: old-form names are its own too for the life
    /// of this handle (so that the segments a compaction replaces are collected).
    legacy: bool,
    /// The LOCK file, locked, when this handle may write.
    lock: Option<File>,
    state: RwLock<Arc<State>>,
    writing: Mutex<()>,
}

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
    /// Length of the shortest live series.
    pub min_len: u64,
    /// Length of the longest live series.
    pub max_len: u64,
    /// Symbol blocks per codec: packed, zstd, LZW.
    pub blocks: serde_json::Value,
    /// Bytes per section kind over all segments.
    pub sections: serde_json::Value,
    /// One entry per segment: file, series, deleted, bytes.
    pub segments: serde_json::Value,
    /// Build parameters.
    pub params: serde_json::Value,
    /// Format version of the segments.
    pub format_version: u32,
    /// MANIFEST generation.
    pub generation: u64,
}

/// Series per raw block: verifying one series of each block decodes every block.
fn layout_raw_block() -> usize {
    crate::storage::segment::raw::SERIES_PER_BLOCK
}

fn lock_path(dir: &Path) -> PathBuf {
    dir.join(names::LOCK)
}

fn take_lock(dir: &Path) -> Result<File> {
    let path = lock_path(dir);
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::Locked(dir.to_path_buf())),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::io(&path, e)),
    }
}

/// Writes the database id into the (held) LOCK file, so that the files of a build that never
/// committed can be told from anything else in the directory.
fn write_lock_uid(lock: &mut File, dir: &Path, uid: DbUid) -> Result<()> {
    use std::io::{Seek, Write};
    let path = lock_path(dir);
    let io = |e| Error::io(&path, e);
    lock.set_len(0).map_err(io)?;
    lock.seek(std::io::SeekFrom::Start(0)).map_err(io)?;
    lock.write_all(format!("{}\n", uid.hex()).as_bytes())
        .map_err(io)?;
    lock.sync_all().map_err(io)
}

fn entry_names(dir: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let e = e.map_err(|e| Error::io(dir, e))?;
        out.push(e.file_name().to_string_lossy().into_owned());
    }
    out.sort();
    Ok(out)
}

/// What a directory about to receive a new database holds: the files of an earlier build of
/// this directory that never committed (to remove), or an error when it holds a database or
/// anything that is not qabbadb's.
fn leftovers_of_new_dir(dir: &Path) -> Result<Vec<String>> {
    let names_here = entry_names(dir)?;
    if names_here.iter().any(|n| n == manifest::FILE) {
        return Err(Error::Exists(dir.to_path_buf()));
    }
    let lock_uid = names::read_lock_uid(dir);
    let lock_is_ours =
        || std::fs::read(lock_path(dir)).is_ok_and(|b| b.is_empty()) || lock_uid.is_some();
    let mut leftovers = Vec::new();
    let mut strangers = Vec::new();
    for n in names_here {
        if n == names::LOCK && lock_is_ours() {
            continue;
        }
        match lock_uid {
            Some(u) if names::is_own_file(&n, u, false) => leftovers.push(n),
            _ => strangers.push(n),
        }
    }
    if !strangers.is_empty() {
        let shown: Vec<&str> = strangers.iter().take(3).map(String::as_str).collect();
        let more = strangers.len().saturating_sub(3);
        return Err(Error::NotEmpty {
            path: dir.to_path_buf(),
            found: if more > 0 {
                format!("{} and {more} more", shown.join(", "))
            } else {
                shown.join(", ")
            },
        });
    }
    Ok(leftovers)
}

fn check_dir(dir: &Path) -> Result<()> {
    if dir.is_file() {
        return Err(Error::NotADatabase {
            path: dir.to_path_buf(),
            why: "a file; a database is a directory".into(),
        });
    }
    if !dir.is_dir() {
        return Err(Error::NotADatabase {
            path: dir.to_path_buf(),
            why: "no such directory".into(),
        });
    }
    Ok(())
}

fn read_manifest(dir: &Path) -> Result<Manifest> {
    let path = dir.join(manifest::FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let names_here = entry_names(dir).unwrap_or_default();
            let why = if names_here.is_empty() {
                "an empty directory".to_string()
            } else if names::read_lock_uid(dir).is_some() {
                "a build that never finished: run build again to start over".to_string()
            } else {
                "it has no MANIFEST".to_string()
            };
            return Err(Error::NotADatabase {
                path: dir.to_path_buf(),
                why,
            });
        }
        Err(e) => return Err(Error::io(&path, e)),
    };
    Manifest::from_bytes(&path, &bytes)
}

fn load_state(dir: &Path, manifest: Manifest) -> Result<State> {
    let segments = manifest
        .segments
        .iter()
        .map(|e| Segment::open(dir, e).map(Arc::new))
        .collect::<Result<Vec<_>>>()?;
    Ok(State { manifest, segments })
}

/// How often a reader starts over when a commit removed a file between its reading the MANIFEST
/// and opening the files it names.
const OPEN_RETRIES: usize = 1000;

fn is_missing_file(e: &Error) -> bool {
    matches!(e, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
}

/// Reads the current MANIFEST and opens everything it names. A writer removes the files of
/// older commits after each commit; a file that vanished between the two steps means a newer
/// MANIFEST is in place, so the reader reads that one and starts again. A missing file with no
/// newer MANIFEST is damage, reported as it is.
fn load_current(dir: &Path) -> Result<State> {
    let mut m = read_manifest(dir)?;
    for _ in 0..OPEN_RETRIES {
        match load_state(dir, m.clone()) {
            Err(e) if is_missing_file(&e) => {
                let now = read_manifest(dir)?;
                if now.generation == m.generation {
                    return Err(e);
                }
                m = now;
            }
            done => return done,
        }
    }
    load_state(dir, m)
}

impl Database {
    /// Creates an empty database in directory `dir` and opens it for writing. The directory is
    /// created if needed; an existing one must be empty (or hold only the files of a build of
    /// it that never committed, which are removed).
    pub fn create(dir: &Path, options: &Options) -> Result<Database> {
        let (db, _) = Self::prepare(dir, options)?;
        let m = db.snapshot().state.manifest.clone();
        db.commit(m, Vec::new())?;
        Ok(db)
    }

    /// Creates a database in `dir` (as [`Database::create`] requires of it) holding `data`
    /// (fitting the codebook to it). The first MANIFEST already names the data: a build that
    /// fails or is killed leaves no database behind, only files that the next build of the same
    /// directory removes.
    pub fn build(dir: &Path, data: &Dataset, options: &Options) -> Result<(Database, BuildReport)> {
        let existed = dir.exists();
        let (db, cleaned) = Self::prepare(dir, options)?;
        match db.append(data) {
            Ok(mut report) => {
                report.cleaned = cleaned;
                Ok((db, report))
            }
            Err(e) => {
                db.abandon(!existed);
                Err(e)
            }
        }
    }

    /// Takes the lock of a new database directory and gives it an id; nothing is committed.
    /// Returns the handle and the files of an earlier, uncommitted build that were removed.
    fn prepare(dir: &Path, options: &Options) -> Result<(Database, Vec<String>)> {
        options.codec.validate()?;
        if let Some(i) = options.index {
            i.validate()?;
        }
        if dir.is_file() {
            return Err(Error::NotADatabase {
                path: dir.to_path_buf(),
                why: "a file; a database is a directory".into(),
            });
        }
        if dir.is_dir() {
            // Refuse before creating anything in a directory that is not ours.
            leftovers_of_new_dir(dir)?;
        }
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let mut lock = take_lock(dir)?;
        let cleaned = leftovers_of_new_dir(dir)?;
        for n in &cleaned {
            let p = dir.join(n);
            std::fs::remove_file(&p).map_err(|e| Error::io(&p, e))?;
        }
        let uid = DbUid::random();
        write_lock_uid(&mut lock, dir, uid)?;
        let m = Manifest {
            format_version: FORMAT_VERSION,
            generation: 0,
            next_id: 0,
            segments: Vec::new(),
            options: options.to_json(),
            uid: Some(uid.hex()),
        };
        let db = Database {
            dir: dir.to_path_buf(),
            options: options.clone(),
            uid,
            legacy: false,
            lock: Some(lock),
            state: RwLock::new(Arc::new(State {
                manifest: m,
                segments: Vec::new(),
            })),
            writing: Mutex::new(()),
        };
        Ok((db, cleaned))
    }

    /// After a build failed before its first commit: removes what it wrote (its own files and
    /// the LOCK), and the directory too when the build created it and it is empty now.
    fn abandon(self, created_dir: bool) {
        if self.dir.join(manifest::FILE).exists() {
            return;
        }
        if let Ok(names_here) = entry_names(&self.dir) {
            for n in names_here {
                if names::is_own_file(&n, self.uid, false) {
                    let _ = std::fs::remove_file(self.dir.join(n));
                }
            }
        }
        let _ = std::fs::remove_file(lock_path(&self.dir));
        let dir = self.dir.clone();
        drop(self);
        if created_dir {
            let _ = std::fs::remove_dir(&dir);
        }
    }

    /// Opens the database in `dir` for reading and writing (taking its writer lock).
    pub fn open(dir: &Path) -> Result<Database> {
        check_dir(dir)?;
        read_manifest(dir)?;
        let lock = take_lock(dir)?;
        let db = Self::open_with(dir, Some(lock))?;
        db.collect_garbage();
        Ok(db)
    }

    /// Opens the database in `dir` for reading only (no lock; other processes may write).
    pub fn open_read_only(dir: &Path) -> Result<Database> {
        check_dir(dir)?;
        Self::open_with(dir, None)
    }

    fn open_with(dir: &Path, lock: Option<File>) -> Result<Database> {
        let state = load_current(dir)?;
        let options = Options::from_json(&state.manifest.options)?;
        let uid = state.manifest.uid.as_deref().and_then(DbUid::parse);
        let legacy = uid.is_none()
            || state
                .manifest
                .segments
                .iter()
                .any(|s| names::is_legacy_segment(&s.file));
        Ok(Database {
            dir: dir.to_path_buf(),
            options,
            uid: uid.unwrap_or_else(DbUid::random),
            legacy,
            lock,
            state: RwLock::new(Arc::new(state)),
            writing: Mutex::new(()),
        })
    }

    /// The database directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The options the database was created with.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// A consistent view of the current commit.
    pub fn snapshot(&self) -> Snapshot {
        let state = self.state.read().unwrap_or_else(|e| e.into_inner()).clone();
        Snapshot { state }
    }

    /// Re-reads the MANIFEST (for read-only handles following another process's writes).
    pub fn refresh(&self) -> Result<()> {
        let m = read_manifest(&self.dir)?;
        let current = self.snapshot();
        if m.generation == current.state.manifest.generation {
            return Ok(());
        }
        let state = load_current(&self.dir)?;
        *self.state.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(state);
        Ok(())
    }

    fn check_writer(&self) -> Result<()> {
        if self.lock.is_none() {
            return Err(Error::ReadOnly);
        }
        Ok(())
    }

    /// Writes `manifest` as the new commit and makes `state` current.
    fn commit(&self, mut manifest: Manifest, segments: Vec<Arc<Segment>>) -> Result<()> {
        manifest.uid = Some(self.uid.hex());
        if let Err(e) = write_atomically(&self.dir.join(manifest::FILE), &manifest.to_bytes()) {
            // The rename may have happened (a failed directory sync): follow whatever MANIFEST
            // is on disk now, so that this handle never builds on a state that is not there.
            let _ = self.refresh();
            return Err(e);
        }
        *self.state.write().unwrap_or_else(|e| e.into_inner()) =
            Arc::new(State { manifest, segments });
        self.collect_garbage();
        Ok(())
    }

    /// Removes the segment, delete and temporary files of this database that the current
    /// MANIFEST does not name; files whose names are not of this database's form
    /// ([`names::is_own_file`]) are never touched. Failures are left for the next pass.
    fn collect_garbage(&self) {
        if self.lock.is_none() {
            return;
        }
        let snap = self.snapshot();
        let segs = &snap.state.manifest.segments;
        let named: std::collections::HashSet<&str> = segs
            .iter()
            .flat_map(|s| std::iter::once(s.file.as_str()).chain(s.deletes.as_deref()))
            .collect();
        let legacy = self.legacy || segs.iter().any(|s| names::is_legacy_segment(&s.file));
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name();
            let Some(name) = name.to_str() else { continue };
            if names::is_own_file(name, self.uid, legacy) && !named.contains(name) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }

    /// Appends series: encoded with the database's codebook (the first append fits it), indexed
    /// with its breakpoints, written as a new segment and committed. Ids continue from the last
    /// ever given and are never reused.
    pub fn append(&self, data: &Dataset) -> Result<BuildReport> {
        self.append_with(data, false)
    }

    /// As [`Database::append`]; with `refit`, the new segment gets a codebook and breakpoints
    /// fitted to its own series (for data that drifted away from the first segment's shapes).
    pub fn append_with(&self, data: &Dataset, refit: bool) -> Result<BuildReport> {
        self.check_writer()?;
        if data.labels.len() != data.series.len() {
            return Err(Error::InvalidRequest(
                "one label (or None) per series is required".into(),
            ));
        }
        let _w = self.writing.lock().unwrap_or_else(|e| e.into_inner());
        let snap = self.snapshot();
        let base = snap
            .state
            .segments
            .first()
            .map(|s| &s.reader)
            .filter(|_| !refit);
        let opts = &self.options;
        let (codebook, encoded, fit) = match base {
            None => codec::fit_encode(&data.series, &opts.codec)?,
            Some(b) => {
                let t = Instant::now();
                let enc = codec::encode_with(&data.series, b.codebook(), &opts.codec)?;
                let fit = codec::FitReport {
                    pieces: enc.iter().map(|e| e.pieces as u64).sum(),
                    alpha: b.alpha(),
                    lossless: enc
                        .iter()
                        .filter(|e| matches!(e.storage, Storage::Lossless(_)))
                        .count() as u64,
                    assign_time: t.elapsed(),
                    ..Default::default()
                };
                (b.codebook().clone(), enc, fit)
            }
        };
        let breakpoints = base.and_then(|b| b.index()).map(|i| i.breakpoints.clone());
        let m = &snap.state.manifest;
        let ids: Vec<u64> = (m.next_id..m.next_id + encoded.len() as u64).collect();
        let originals = |i: usize| data.series[i].clone();
        let raw = self.options.keep_raw.then_some(data.series.as_slice());
        let (seg, index_time, write, write_time) = self.write_segment(
            m.generation + 1,
            &codebook,
            &encoded,
            &ids,
            &data.labels,
            fit.alpha,
            breakpoints,
            originals,
            raw,
            &fit,
        )?;
        let mut manifest = m.clone();
        manifest.generation += 1;
        manifest.next_id += encoded.len() as u64;
        manifest.segments.push(seg.0);
        let mut segments = snap.state.segments.clone();
        segments.push(seg.1);
        let t = Instant::now();
        self.commit(manifest, segments)?;
        Ok(BuildReport {
            ids,
            fit,
            write,
            index_time,
            write_time: write_time + t.elapsed(),
            cleaned: Vec::new(),
        })
    }

    /// Builds the index of and writes one segment; opens it.
    #[allow(clippy::too_many_arguments, clippy::type_complexity)]
    fn write_segment(
        &self,
        generation: u64,
        codebook: &Codebook,
        encoded: &[EncodedSeries],
        ids: &[u64],
        labels: &[Option<String>],
        alpha: Option<f64>,
        breakpoints: Option<crate::index::Breakpoints>,
        original: impl Fn(usize) -> Vec<f64> + Sync,
        raw: Option<&[Vec<f64>]>,
        fit: &codec::FitReport,
    ) -> Result<(
        (SegmentEntry, Arc<Segment>),
        Duration,
        WriteReport,
        Duration,
    )> {
        let t = Instant::now();
        let centres = codebook.centres();
        let index = self.options.index.map(|params| {
            Index::build(
                encoded.len(),
                |i| encoded[i].len as usize,
                |i| {
                    let e = &encoded[i];
                    let mut x = match &e.storage {
                        Storage::Symbolic(_) => e
                            .decode(&centres, self.options.codec.max_error)
                            .unwrap_or_default(),
                        Storage::Lossless(_) => original(i),
                    };
                    codec::normalize_in_place(&mut x, e.moments);
                    x
                },
                params,
                breakpoints,
            )
        });
        let index_time = t.elapsed();
        let t = Instant::now();
        let file = self.uid.segment_name(generation);
        let report = serde_json::json!({ "pieces": fit.pieces, "alpha": fit.alpha, "lossless": fit.lossless });
        let write = write_segment(
            &self.dir.join(&file),
            &SegmentContents {
                params: &self.options.codec,
                alpha,
                codebook,
                series: encoded,
                ids,
                labels,
                report,
                index: index.as_ref(),
                raw,
            },
        )?;
        let entry = SegmentEntry {
            file,
            first_id: ids.first().copied().unwrap_or(0),
            last_id: ids.last().copied().unwrap_or(0),
            series: ids.len() as u64,
            deletes: None,
        };
        let seg = Segment::open(&self.dir, &entry)?;
        Ok(((entry, Arc::new(seg)), index_time, write, t.elapsed()))
    }

    /// Deletes series by id. Ids are never reused, so every id below the next one to be given
    /// was stored once: an id already deleted (before or after a `compact`) is counted as such
    /// and is not an error; an id never given is [`Error::NotFound`], and then nothing is
    /// deleted. Each id counts once however often it is listed.
    pub fn delete(&self, ids: &[u64]) -> Result<DeleteReport> {
        self.check_writer()?;
        let _w = self.writing.lock().unwrap_or_else(|e| e.into_inner());
        let snap = self.snapshot();
        let state = &snap.state;
        let wanted: RoaringTreemap = ids.iter().copied().collect();
        if let Some(never) = wanted.max().filter(|&m| m >= state.manifest.next_id) {
            return Err(Error::NotFound(never));
        }
        let mut per_segment: Vec<RoaringTreemap> =
            vec![RoaringTreemap::new(); state.segments.len()];
        let mut already = 0u64;
        for id in &wanted {
            match snap.segment_of(id) {
                Some(s)
                    if state.segments[s].reader.position(id).is_some()
                        && state.segments[s].is_live(id) =>
                {
                    per_segment[s].insert(id);
                }
                _ => already += 1,
            }
        }
        let count: u64 = per_segment.iter().map(|b| b.len()).sum();
        let report = DeleteReport {
            deleted: count,
            already_deleted: already,
        };
        if count == 0 {
            return Ok(report);
        }
        let generation = state.manifest.generation + 1;
        let mut manifest = state.manifest.clone();
        manifest.generation = generation;
        let mut segments = state.segments.clone();
        for (s, new) in per_segment.iter().enumerate() {
            if new.is_empty() {
                continue;
            }
            let all = &state.segments[s].deleted | new;
            let file = names::delete_name(&manifest.segments[s].file, generation);
            write_atomically(&self.dir.join(&file), &deletes::to_bytes(&all))?;
            manifest.segments[s].deletes = Some(file);
            let old = &state.segments[s];
            segments[s] = Arc::new(Segment {
                reader: SegmentReader::open(old.reader.path())?,
                deleted: all,
                search: OnceLock::new(),
            });
        }
        self.commit(manifest, segments)?;
        Ok(report)
    }

    /// Merges every segment into one holding only the live series (same ids), with a new index
    /// whose breakpoints are fitted again to the live series; deleted series are gone for good.
    /// Series encoded with the first segment's codebook keep their symbols (no further loss);
    /// series of segments appended with a refitted codebook are encoded again from their
    /// reconstructions, and their stored error bounds grow by the change.
    ///
    /// A database of one segment without deleted series is left as it is (nothing to merge or
    /// drop); returns whether anything was rewritten.
    pub fn compact(&self) -> Result<bool> {
        self.check_writer()?;
        let _w = self.writing.lock().unwrap_or_else(|e| e.into_inner());
        let snap = self.snapshot();
        let state = &snap.state;
        let Some(base) = state.segments.first() else {
            return Ok(false);
        };
        if state.segments.len() == 1 && base.deleted.is_empty() {
            return Ok(false);
        }
        let codebook = base.reader.codebook().clone();
        let mut encoded = Vec::new();
        let mut ids = Vec::new();
        let mut labels = Vec::new();
        let mut originals: Vec<Option<Vec<f64>>> = Vec::new();
        let base_centres = codebook.centres();
        for seg in &state.segments {
            let same = *seg.reader.codebook() == codebook;
            let data = seg.search_data()?;
            for (pos, r) in seg.reader.records().iter().enumerate() {
                if !seg.is_live(r.id) {
                    continue;
                }
                if !same && r.kind != layout::storage_kind::LOSSLESS {
                    let (e, original) = self.reencode(seg, pos, &codebook, &base_centres)?;
                    encoded.push(e);
                    ids.push(r.id);
                    labels.push(seg.reader.label(pos).map(str::to_string));
                    originals.push(Some(original));
                    continue;
                }
                let (storage, original) = if r.kind == layout::storage_kind::LOSSLESS {
                    (
                        Storage::Lossless(seg.reader.lossless_bytes(pos).to_vec()),
                        Some(seg.reader.decode(pos)?),
                    )
                } else {
                    (Storage::Symbolic(data.symbols.of(r)), None)
                };
                let residuals = match (&data.levels, &storage) {
                    (Some(l), Storage::Symbolic(_)) => l.of(pos, r.len as usize),
                    _ => Vec::new(),
                };
                encoded.push(EncodedSeries {
                    len: r.len,
                    first: r.first,
                    moments: Moments {
                        mean: r.mean,
                        std: r.std,
                    },
                    storage,
                    residuals,
                    pieces: r.pieces,
                    eps: r.eps,
                    max_abs_err: r.max_abs_err,
                });
                ids.push(r.id);
                labels.push(seg.reader.label(pos).map(str::to_string));
                originals.push(original);
            }
        }
        // Original values travel with their series when every segment keeps them.
        let raw: Option<Vec<Vec<f64>>> =
            if self.options.keep_raw && state.segments.iter().all(|s| s.reader.has_raw()) {
                let mut v = Vec::with_capacity(ids.len());
                for seg in &state.segments {
                    for (pos, r) in seg.reader.records().iter().enumerate() {
                        if seg.is_live(r.id) {
                            v.push(seg.reader.raw_values(pos)?);
                        }
                    }
                }
                Some(v)
            } else {
                None
            };
        let generation = state.manifest.generation + 1;
        let mut manifest = state.manifest.clone();
        manifest.generation = generation;
        if encoded.is_empty() {
            manifest.segments.clear();
            return self.commit(manifest, Vec::new()).map(|()| true);
        }
        let fit = codec::FitReport {
            pieces: encoded.iter().map(|e| e.pieces as u64).sum(),
            alpha: base.reader.alpha(),
            ..Default::default()
        };
        let (seg, ..) = self.write_segment(
            generation,
            &codebook,
            &encoded,
            &ids,
            &labels,
            base.reader.alpha(),
            None,
            |i| originals[i].clone().unwrap_or_default(),
            raw.as_deref(),
            &fit,
        )?;
        manifest.segments = vec![seg.0];
        self.commit(manifest, vec![seg.1])?;
        Ok(true)
    }

    /// Encodes the series at `pos` of a segment with its own codebook again, with `codebook`.
    /// From the raw values when the segment keeps them (true ε). Otherwise from the
    /// reconstruction, with ε grown by the distance between the two reconstructions (triangle
    /// inequality); in error-bounded mode, where growing the error would break the bound, the
    /// reconstruction is kept losslessly instead. Returns the series and the values it stands
    /// for (for the index).
    fn reencode(
        &self,
        seg: &Segment,
        pos: usize,
        codebook: &Codebook,
        centres: &[[f64; 2]],
    ) -> Result<(EncodedSeries, Vec<f64>)> {
        let r = seg.reader.records()[pos];
        let encode = |x: &[f64]| -> Result<EncodedSeries> {
            codec::encode_with(
                std::slice::from_ref(&x.to_vec()),
                codebook,
                &self.options.codec,
            )?
            .pop()
            .ok_or_else(|| Error::InvalidRequest("empty encoding".into()))
        };
        if seg.reader.has_raw() {
            let x = seg.reader.raw_values(pos)?;
            return Ok((encode(&x)?, x));
        }
        let old = seg.reader.decode(pos)?;
        let moments = Moments {
            mean: r.mean,
            std: r.std,
        };
        if self.options.codec.max_error.is_some() {
            let e = EncodedSeries {
                len: r.len,
                first: r.first,
                moments,
                storage: Storage::Lossless(codec::lossless::compress_values(&old)?),
                residuals: Vec::new(),
                pieces: r.pieces,
                eps: r.eps,
                max_abs_err: r.max_abs_err,
            };
            return Ok((e, old));
        }
        let mut e = encode(&old)?;
        let (d, dmax) = match e.decode(centres, None) {
            Some(new) if matches!(e.storage, Storage::Symbolic(_)) => codec::error_of(&old, &new),
            _ => (0.0, 0.0),
        };
        e.eps = codec::round_up_f32(r.eps + d) as f64;
        e.max_abs_err = codec::round_up_f32(r.max_abs_err + dmax) as f64;
        Ok((e, old))
    }

    /// Checks every file deeply (checksums, every block and lossless stream, index, deletes)
    /// without stopping at the first problem; returns the problems found (empty: healthy).
    /// A commit by another process while it reads is not damage: when problems are found and a
    /// newer MANIFEST is in place, it verifies that one instead.
    pub fn verify(dir: &Path) -> Vec<String> {
        let mut problems = Vec::new();
        for _ in 0..OPEN_RETRIES {
            let generation;
            (generation, problems) = Self::verify_once(dir);
            if problems.is_empty() || read_manifest(dir).map(|m| m.generation).ok() == generation {
                break;
            }
        }
        problems
    }

    fn verify_once(dir: &Path) -> (Option<u64>, Vec<String>) {
        let mut problems = Vec::new();
        let m = match read_manifest(dir) {
            Ok(m) => m,
            Err(e) => return (None, vec![e.to_string()]),
        };
        if let Err(e) = Options::from_json(&m.options) {
            problems.push(e.to_string());
        }
        for entry in &m.segments {
            match Segment::open(dir, entry) {
                Err(e) => problems.push(e.to_string()),
                Ok(seg) => {
                    if let Err(e) = seg.reader.for_each_decoded(|_, _| Ok(())) {
                        problems.push(e.to_string());
                    }
                    if seg.reader.has_raw() {
                        if let Some(e) = (0..seg.reader.len())
                            .step_by(layout_raw_block())
                            .find_map(|p| seg.reader.raw_values(p).err())
                        {
                            problems.push(e.to_string());
                        }
                    }
                    if seg.reader.index().is_none()
                        && m.options.get("index").is_some_and(|i| !i.is_null())
                    {
                        problems.push(format!("{}: the search index is missing", entry.file));
                    }
                    if let Some(bad) = seg
                        .deleted
                        .iter()
                        .find(|&id| seg.reader.position(id).is_none())
                    {
                        problems.push(format!(
                            "{}: deletes name id {bad}, which the segment does not hold",
                            entry.file
                        ));
                    }
                }
            }
        }
        (Some(m.generation), problems)
    }

    /// Number of live series.
    pub fn len(&self) -> usize {
        self.snapshot().len()
    }

    /// True when no series is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// See [`Snapshot::get`].
    pub fn get(&self, id: u64) -> Result<Vec<f64>> {
        self.snapshot().get(id)
    }

    /// See [`Snapshot::get_raw`].
    pub fn get_raw(&self, id: u64) -> Result<Vec<f64>> {
        self.snapshot().get_raw(id)
    }

    /// See [`Snapshot::label`].
    pub fn label(&self, id: u64) -> Result<Option<String>> {
        self.snapshot().label(id)
    }

    /// See [`Snapshot::symbols`].
    pub fn symbols(&self, id: u64) -> Result<Vec<u32>> {
        self.snapshot().symbols(id)
    }

    /// See [`Snapshot::ids`].
    pub fn ids(&self) -> Vec<u64> {
        self.snapshot().ids()
    }

    /// See [`Snapshot::records`].
    pub fn records(&self) -> Vec<SeriesRecord> {
        self.snapshot().records()
    }

    /// See [`Snapshot::export`].
    pub fn export(&self) -> Result<Dataset> {
        self.snapshot().export()
    }

    /// See [`Snapshot::export_normalized`].
    pub fn export_normalized(&self) -> Result<Dataset> {
        self.snapshot().export_normalized()
    }

    /// See [`Snapshot::export_raw`].
    pub fn export_raw(&self) -> Result<Dataset> {
        self.snapshot().export_raw()
    }

    /// See [`Snapshot::info`].
    pub fn info(&self) -> Info {
        self.snapshot().info(&self.dir)
    }

    /// See [`Snapshot::knn`].
    pub fn knn(&self, query: &[f64], k: usize, metric: Metric) -> Result<SearchResult> {
        self.snapshot().knn(query, k, metric)
    }

    /// See [`Snapshot::knn_filtered`].
    pub fn knn_filtered(
        &self,
        query: &[f64],
        k: usize,
        metric: Metric,
        filter: &RoaringTreemap,
    ) -> Result<SearchResult> {
        self.snapshot().knn_filtered(query, k, metric, filter)
    }

    /// See [`Snapshot::range`].
    pub fn range(&self, query: &[f64], radius: f64, metric: Metric) -> Result<SearchResult> {
        self.snapshot().range(query, radius, metric)
    }

    /// See [`Snapshot::knn_batch`].
    pub fn knn_batch(
        &self,
        queries: &[Vec<f64>],
        k: usize,
        metric: Metric,
    ) -> Result<Vec<SearchResult>> {
        self.snapshot().knn_batch(queries, k, metric)
    }

    /// See [`Snapshot::knn_exact`].
    pub fn knn_exact(
        &self,
        query: &[f64],
        k: usize,
        metric: Metric,
        exactness: Exactness,
    ) -> Result<SearchResult> {
        self.snapshot().knn_exact(query, k, metric, exactness)
    }

    /// See [`Snapshot::range_exact`].
    pub fn range_exact(
        &self,
        query: &[f64],
        radius: f64,
        metric: Metric,
        exactness: Exactness,
    ) -> Result<SearchResult> {
        self.snapshot()
            .range_exact(query, radius, metric, exactness)
    }

    /// See [`Snapshot::knn_brute_force_original`].
    pub fn knn_brute_force_original(
        &self,
        query: &[f64],
        k: usize,
        metric: Metric,
    ) -> Result<Vec<Neighbor>> {
        self.snapshot().knn_brute_force_original(query, k, metric)
    }

    /// See [`Snapshot::knn_brute_force`].
    pub fn knn_brute_force(
        &self,
        query: &[f64],
        k: usize,
        metric: Metric,
    ) -> Result<Vec<Neighbor>> {
        self.snapshot().knn_brute_force(query, k, metric)
    }

    /// See [`Snapshot::range_brute_force`].
    pub fn range_brute_force(
        &self,
        query: &[f64],
        radius: f64,
        metric: Metric,
    ) -> Result<Vec<Neighbor>> {
        self.snapshot().range_brute_force(query, radius, metric)
    }
}

impl Snapshot {
    /// The MANIFEST generation this snapshot sees.
    pub fn generation(&self) -> u64 {
        self.state.manifest.generation
    }

    /// Index of the segment whose id range holds `id`.
    fn segment_of(&self, id: u64) -> Option<usize> {
        let segs = &self.state.manifest.segments;
        let i = segs.partition_point(|s| s.last_id < id);
        (i < segs.len() && segs[i].first_id <= id).then_some(i)
    }

    /// The segment and position of a live series.
    fn locate(&self, id: u64) -> Result<(&Segment, usize)> {
        let s = self.segment_of(id).ok_or(Error::NotFound(id))?;
        let seg = &self.state.segments[s];
        let pos = seg.reader.position(id).ok_or(Error::NotFound(id))?;
        if !seg.is_live(id) {
            return Err(Error::NotFound(id));
        }
        Ok((seg, pos))
    }

    /// Number of live series.
    pub fn len(&self) -> usize {
        self.state
            .segments
            .iter()
            .map(|s| s.reader.len().saturating_sub(s.deleted.len() as usize))
            .sum()
    }

    /// True when no series is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Ids of the live series, ascending.
    pub fn ids(&self) -> Vec<u64> {
        self.records().iter().map(|r| r.id).collect()
    }

    /// Records of the live series, in id order.
    pub fn records(&self) -> Vec<SeriesRecord> {
        self.state
            .segments
            .iter()
            .flat_map(|s| {
                s.reader
                    .records()
                    .iter()
                    .filter(|r| s.is_live(r.id))
                    .copied()
            })
            .collect()
    }

    /// The reconstructed series `id`, in original units, with its stored length.
    ///
    /// The first read of a segment decodes all its symbol blocks once (as the first search does)
    /// and keeps them in memory; later reads decode one series (a few microseconds).
    pub fn get(&self, id: u64) -> Result<Vec<f64>> {
        let (seg, pos) = self.locate(id)?;
        let r = &seg.reader.records()[pos];
        if r.kind == layout::storage_kind::LOSSLESS {
            return seg.reader.decode(pos);
        }
        let data = seg.search_data()?;
        let mut x = Vec::with_capacity(r.len as usize);
        data.symbols.decode_into(r, seg.reader.centres(), &mut x);
        if let Some(l) = &data.levels {
            l.apply(pos, &mut x);
        }
        Ok(x)
    }

    /// The original values of series `id`, bit for bit (databases built with `keep_raw`).
    pub fn get_raw(&self, id: u64) -> Result<Vec<f64>> {
        let (seg, pos) = self.locate(id)?;
        seg.reader.raw_values(pos)
    }

    /// The label of series `id`.
    pub fn label(&self, id: u64) -> Result<Option<String>> {
        let (seg, pos) = self.locate(id)?;
        Ok(seg.reader.label(pos).map(str::to_string))
    }

    /// The symbols of series `id` (empty when stored losslessly).
    pub fn symbols(&self, id: u64) -> Result<Vec<u32>> {
        let (seg, pos) = self.locate(id)?;
        seg.reader.symbols(pos)
    }

    /// Every live series reconstructed, in id order, with its label.
    pub fn export(&self) -> Result<Dataset> {
        let mut out = Dataset::default();
        for seg in &self.state.segments {
            let r = seg.reader.records();
            seg.reader.for_each_decoded(|pos, values| {
                if seg.is_live(r[pos].id) {
                    out.series.push(values);
                    out.labels.push(seg.reader.label(pos).map(str::to_string));
                }
                Ok(())
            })?;
        }
        Ok(out)
    }

    /// Every live series' original values, bit for bit, in id order with its label (databases
    /// built with `keep_raw`); each raw block is decoded once.
    pub fn export_raw(&self) -> Result<Dataset> {
        let mut out = Dataset::default();
        for seg in &self.state.segments {
            let mut block: Option<(usize, Vec<f64>)> = None;
            for (pos, r) in seg.reader.records().iter().enumerate() {
                if !seg.is_live(r.id) {
                    continue;
                }
                let (b, skip) = seg.reader.raw_location(pos)?;
                if block.as_ref().map(|x| x.0) != Some(b) {
                    block = Some((b, seg.reader.raw_block(b)?));
                }
                let values = block.as_ref().map_or(&[][..], |x| &x.1[..]);
                out.series
                    .push(values[skip..skip + r.len as usize].to_vec());
                out.labels.push(seg.reader.label(pos).map(str::to_string));
            }
        }
        Ok(out)
    }

    /// Every live series reconstructed and z-normalised with its stored mean and std (all zeros
    /// when σ = 0): the space that similarity search works in.
    pub fn export_normalized(&self) -> Result<Dataset> {
        let mut d = self.export()?;
        for (s, r) in d.series.iter_mut().zip(self.records()) {
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

    fn run(
        &self,
        query: &[f64],
        mode: Mode,
        metric: Metric,
        filter: Option<&RoaringTreemap>,
        workers: usize,
        exactness: Exactness,
    ) -> Result<SearchResult> {
        crate::ingest::validate_one(0, query)?;
        if exactness == Exactness::Original
            && !self.state.segments.iter().all(|s| s.reader.has_raw())
        {
            return Err(Error::NoRawValues);
        }
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
        let start = Instant::now();
        let shared = Shared::new(mode);
        let mut stats = SearchStats::default();
        for seg in &self.state.segments {
            let index = seg.reader.index().ok_or(Error::NoIndex)?;
            let data = seg.search_data()?;
            let source = SegmentSource {
                segment: &seg.reader,
                data,
            };
            let filter = IdFilter {
                include: filter,
                exclude: (!seg.deleted.is_empty()).then_some(&seg.deleted),
            };
            let original =
                (exactness == Exactness::Original).then_some(data.original_bounds.as_slice());
            stats.add(&knn::search_segment(
                &shared, index, &source, query, metric, filter, workers, original,
            ));
        }
        stats.micros = start.elapsed().as_micros() as u64;
        Ok(SearchResult {
            neighbors: shared.finish(),
            stats,
        })
    }

    /// The `k` live series nearest to `query` (exact; sorted by distance, then id). Runs on the
    /// threads of the current rayon pool.
    pub fn knn(&self, query: &[f64], k: usize, metric: Metric) -> Result<SearchResult> {
        self.run(
            query,
            Mode::Knn(k),
            metric,
            None,
            rayon::current_num_threads(),
            Exactness::Reconstructed,
        )
    }

    /// As [`Snapshot::knn`], among the series whose ids are in `filter`.
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
            Exactness::Reconstructed,
        )
    }

    /// Every live series within `radius` of `query` (sorted by distance, then id).
    pub fn range(&self, query: &[f64], radius: f64, metric: Metric) -> Result<SearchResult> {
        self.run(
            query,
            Mode::Range(radius),
            metric,
            None,
            rayon::current_num_threads(),
            Exactness::Reconstructed,
        )
    }

    /// [`Snapshot::knn`] for many queries, in parallel (one query per thread); results in query
    /// order.
    pub fn knn_batch(
        &self,
        queries: &[Vec<f64>],
        k: usize,
        metric: Metric,
    ) -> Result<Vec<SearchResult>> {
        self.batch(queries, Mode::Knn(k), metric, Exactness::Reconstructed)
    }

    /// [`Snapshot::knn_exact`] for many queries, in parallel (one query per thread); results in
    /// query order.
    pub fn knn_batch_exact(
        &self,
        queries: &[Vec<f64>],
        k: usize,
        metric: Metric,
        exactness: Exactness,
    ) -> Result<Vec<SearchResult>> {
        self.batch(queries, Mode::Knn(k), metric, exactness)
    }

    /// [`Snapshot::range_exact`] for many queries, in parallel (one query per thread); results
    /// in query order.
    pub fn range_batch(
        &self,
        queries: &[Vec<f64>],
        radius: f64,
        metric: Metric,
        exactness: Exactness,
    ) -> Result<Vec<SearchResult>> {
        self.batch(queries, Mode::Range(radius), metric, exactness)
    }

    fn batch(
        &self,
        queries: &[Vec<f64>],
        mode: Mode,
        metric: Metric,
        exactness: Exactness,
    ) -> Result<Vec<SearchResult>> {
        for seg in &self.state.segments {
            seg.search_data()?;
        }
        let threads = rayon::current_num_threads();
        if queries.len() < threads {
            // Too few queries to give each thread one: every query uses all threads.
            return queries
                .iter()
                .map(|q| self.run(q, mode, metric, None, threads, exactness))
                .collect();
        }
        queries
            .par_iter()
            .map(|q| self.run(q, mode, metric, None, 1, exactness))
            .collect()
    }

    fn brute(&self, query: &[f64], mode: Mode, metric: Metric) -> Result<Vec<Neighbor>> {
        self.brute_with(query, mode, metric, Exactness::Reconstructed)
    }

    fn brute_with(
        &self,
        query: &[f64],
        mode: Mode,
        metric: Metric,
        exactness: Exactness,
    ) -> Result<Vec<Neighbor>> {
        crate::ingest::validate_one(0, query)?;
        let mut all = Vec::new();
        for seg in &self.state.segments {
            let data = seg.search_data()?;
            let source = SegmentSource {
                segment: &seg.reader,
                data,
            };
            let live = (0..seg.reader.len()).filter(|&p| seg.is_live(seg.reader.records()[p].id));
            match exactness {
                Exactness::Reconstructed => {
                    knn::brute_force_into(&source, live, query, metric, &mut all)
                }
                Exactness::Original => {
                    let originals = OriginalSource(&source);
                    knn::brute_force_into(&originals, live, query, metric, &mut all);
                }
            }
        }
        Ok(knn::brute_force_finish(all, mode))
    }

    /// The `k` live series nearest to `query`, exact over the reconstructions or (databases that
    /// keep raw values) over the original series: then the index bounds shrink by each series'
    /// error bound ε/σ (for DTW: `√(ε² + min((n−1)·M², 2r·ε²))/σ` with M the largest point
    /// error, since a warping path has at most 2n−1 cells and meets each point at most 2r+1
    /// times), the reconstruction's exact distance settles most candidates, and only the rest are
    /// read from the raw values (`stats.raw_reads`). Distances are then to the normalised
    /// originals.
    pub fn knn_exact(
        &self,
        query: &[f64],
        k: usize,
        metric: Metric,
        exactness: Exactness,
    ) -> Result<SearchResult> {
        self.run(
            query,
            Mode::Knn(k),
            metric,
            None,
            rayon::current_num_threads(),
            exactness,
        )
    }

    /// Range query with the given exactness (see [`Snapshot::knn_exact`]).
    pub fn range_exact(
        &self,
        query: &[f64],
        radius: f64,
        metric: Metric,
        exactness: Exactness,
    ) -> Result<SearchResult> {
        self.run(
            query,
            Mode::Range(radius),
            metric,
            None,
            rayon::current_num_threads(),
            exactness,
        )
    }

    /// Brute force over the normalised originals (databases that keep raw values).
    pub fn knn_brute_force_original(
        &self,
        query: &[f64],
        k: usize,
        metric: Metric,
    ) -> Result<Vec<Neighbor>> {
        self.brute_with(query, Mode::Knn(k), metric, Exactness::Original)
    }

    /// Brute-force range query over the normalised originals.
    pub fn range_brute_force_original(
        &self,
        query: &[f64],
        radius: f64,
        metric: Metric,
    ) -> Result<Vec<Neighbor>> {
        self.brute_with(query, Mode::Range(radius), metric, Exactness::Original)
    }

    /// Brute force over the same representations (every live series, no index): the oracle that
    /// indexed search must equal, and a baseline for benchmarks.
    pub fn knn_brute_force(
        &self,
        query: &[f64],
        k: usize,
        metric: Metric,
    ) -> Result<Vec<Neighbor>> {
        self.brute(query, Mode::Knn(k), metric)
    }

    /// Brute-force range query (see [`Snapshot::knn_brute_force`]).
    pub fn range_brute_force(
        &self,
        query: &[f64],
        radius: f64,
        metric: Metric,
    ) -> Result<Vec<Neighbor>> {
        self.brute(query, Mode::Range(radius), metric)
    }

    /// A summary of the snapshot; `dir` is where its files are (for their sizes).
    pub fn info(&self, dir: &Path) -> Info {
        let st = &self.state;
        let recs = self.records();
        let points: u64 = recs.iter().map(|r| r.len as u64).sum();
        let pieces: u64 = recs.iter().map(|r| r.pieces as u64).sum();
        let sq: f64 = recs.iter().map(|r| r.eps.powi(2)).sum();
        let rel: f64 = recs
            .iter()
            .map(|r| {
                if r.std > 0.0 {
                    r.eps / (r.len as f64).sqrt() / r.std
                } else {
                    0.0
                }
            })
            .sum();
        let size = |f: &str| std::fs::metadata(dir.join(f)).map(|m| m.len()).unwrap_or(0);
        let mut bytes = size(manifest::FILE);
        let mut blocks = [0u64; 3];
        let mut sections: std::collections::BTreeMap<String, u64> = Default::default();
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
            segs.push(serde_json::json!({
                "file": entry.file, "series": entry.series, "deleted": seg.deleted.len(), "bytes": b,
                "first_id": entry.first_id, "last_id": entry.last_id,
            }));
        }
        let mut params = st.manifest.options.clone();
        if let (Some(a), Some(obj)) = (
            st.segments.first().and_then(|s| s.reader.alpha()),
            params.as_object_mut(),
        ) {
            obj.insert("alpha".into(), a.into());
        }
        let live = recs.len() as u64;
        Info {
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
            max_abs_err: recs.iter().map(|r| r.max_abs_err).fold(0.0, f64::max),
            lossless_series: recs
                .iter()
                .filter(|r| r.kind == layout::storage_kind::LOSSLESS)
                .count() as u64,
            min_len: recs.iter().map(|r| r.len as u64).min().unwrap_or(0),
            max_len: recs.iter().map(|r| r.len as u64).max().unwrap_or(0),
            blocks: serde_json::json!({"packed": blocks[0], "zstd": blocks[1], "lzw": blocks[2]}),
            sections: serde_json::to_value(sections).unwrap_or_default(),
            segments: serde_json::Value::Array(segs),
            params,
            format_version: st.manifest.format_version,
            generation: st.manifest.generation,
        }
    }
}
