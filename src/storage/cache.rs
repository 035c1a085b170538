//! An open segment of a database: its reader, its deleted ids, what search decodes from it once
//! (the residual levels, the lossless and corrected series, per-leaf error bounds, envelopes),
//! and the database's bounded cache of decoded blocks ([`super::block_cache`]) that `get`,
//! `get_raw` and search read symbols and originals through. The layout knowledge of FORMAT.md stays
//! here; the database (`crate::db`) only asks for series by position.

use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use rayon::prelude::*;
use roaring::RoaringTreemap;

use crate::codec::{self, Moments};
use crate::error::{Error, Result};
use crate::distance::Window;
use crate::index::Index;
use crate::search::knn;
use crate::search::dtw_summaries::DtwSummaries;
use crate::search::flat::Flat;
use crate::search::Source;
use crate::storage::block_cache::{self, Block, BlockCache, BlockKind};
use crate::storage::deletes;
use crate::storage::manifest::SegmentEntry;
use crate::storage::segment::layout::{self, SeriesRecord};
use crate::storage::segment::reader::{BlockSymbols, SymbolSlice};
use crate::storage::segment::SegmentReader;

/// A segment of an open database with its deleted ids. The reader and what search decoded
/// from it are shared with the other states that hold the same segment file (a delete, or a
/// `refresh` that found the segment unchanged, keeps them: segment files never change).
#[derive(Debug)]
pub(crate) struct OpenSegment {
    pub(crate) reader: Arc<SegmentReader>,
    pub(crate) deleted: RoaringTreemap,
    /// What the first search decodes (lossless series, error bounds), kept for the others.
    pub(crate) search: Arc<OnceLock<Result<SearchData>>>,
    /// The database's cache of decoded blocks, and this segment file's key in it.
    pub(crate) cache: Arc<BlockCache>,
    pub(crate) key: u64,
}

/// What verification reads: the symbol blocks, each decoded when a search first touches it, the
/// residual levels of error-bounded segments, and the lossless and corrected series decoded and
/// normalised.
#[derive(Debug)]
pub(crate) struct SearchData {
    /// The first fault a search met decoding a block of this segment: reported by that search
    /// and every later one (FORMAT.md §6), since what was built from the segment since may
    /// hold its placeholder values.
    fault: OnceLock<Error>,
    /// The symbol blocks, each decoded when a search first touches it and kept with the
    /// segment: candidates of one leaf lie in many blocks (series are stored in id order), so a
    /// block evicted under a small budget would be decoded again for nearly every candidate.
    blocks: Vec<OnceLock<BlockSymbols>>,
    /// Error-bounded segments: every residual level, and where each series' levels start.
    pub(crate) levels: Option<Levels>,
    /// The lossless and corrected series, decoded and normalised, by position.
    pub(crate) held: std::collections::HashMap<usize, Vec<f64>>,
    /// Per length group, the largest error bounds per leaf and node (exactness over originals).
    pub(crate) original_bounds: Vec<knn::OriginalBounds>,
    /// The series' DTW envelopes (PAA) per window used so far, by the radius of each length
    /// group; the last few windows are kept.
    pub(crate) envelopes: Mutex<Vec<KeptEnvelopes>>,
    /// The segment as matrices for the scan plan: the reconstructions, then the originals; each
    /// made on first use (`None` when the segment is not scanned).
    flat: [OnceLock<Option<Arc<Flat>>>; 2],
}

/// What the states holding one segment file share.
struct Shared {
    reader: Arc<SegmentReader>,
    search: Arc<OnceLock<Result<SearchData>>>,
    cache: Arc<BlockCache>,
    key: u64,
}

/// The envelopes of one window: the radius of each length group, and the envelopes.
pub(crate) type KeptEnvelopes = (Vec<usize>, Arc<Vec<DtwSummaries>>);

/// How many windows' envelopes a segment keeps.
const KEPT_WINDOWS: usize = 4;

/// The residual levels of a segment in the narrowest integer type that holds them all.
#[derive(Debug)]
pub(crate) enum LevelValues {
    I16(Vec<i16>),
    I32(Vec<i32>),
    I64(Vec<i64>),
}

impl LevelValues {
    /// The levels in the narrowest type that holds them all.
    fn narrowest(v: Vec<i64>) -> LevelValues {
        let fits = |lo: i64, hi: i64| v.iter().all(|&q| (lo..=hi).contains(&q));
        if fits(i16::MIN.into(), i16::MAX.into()) {
            LevelValues::I16(v.iter().map(|&q| q as i16).collect())
        } else if fits(i32::MIN.into(), i32::MAX.into()) {
            LevelValues::I32(v.iter().map(|&q| q as i32).collect())
        } else {
            LevelValues::I64(v)
        }
    }

    fn len(&self) -> usize {
        match self {
            LevelValues::I16(v) => v.len(),
            LevelValues::I32(v) => v.len(),
            LevelValues::I64(v) => v.len(),
        }
    }

    fn width(&self) -> u8 {
        match self {
            LevelValues::I16(_) => 2,
            LevelValues::I32(_) => 4,
            LevelValues::I64(_) => 8,
        }
    }

    /// The blocks' levels one after the other, in the widest type any block needs; each block
    /// is dropped once copied.
    fn concat(blocks: Vec<LevelValues>, total: usize) -> LevelValues {
        let width = blocks.iter().map(LevelValues::width).max().unwrap_or(2);
        macro_rules! join {
            ($variant:ident, $t:ty) => {{
                let mut out: Vec<$t> = Vec::with_capacity(total);
                for b in blocks {
                    match b {
                        LevelValues::I16(v) => out.extend(v.into_iter().map(<$t>::from)),
                        LevelValues::I32(v) => out.extend(v.into_iter().map(|q| q as $t)),
                        LevelValues::I64(v) => out.extend(v.into_iter().map(|q| q as $t)),
                    }
                }
                LevelValues::$variant(out)
            }};
        }
        match width {
            2 => join!(I16, i16),
            4 => join!(I32, i32),
            _ => join!(I64, i64),
        }
    }
}

/// Decoded residual levels of a segment (§4.10).
#[derive(Debug)]
pub(crate) struct Levels {
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
        // Each block narrowed as it is decoded, so that the 8-byte levels of the whole segment
        // are never held at once.
        let blocks: Result<Vec<LevelValues>> = (0..seg.residual_block_count())
            .into_par_iter()
            .map(|b| seg.residual_block(b).map(LevelValues::narrowest))
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
                Ok(seg
                    .residual_location(pos)?
                    .map_or(0, |(b, skip)| offsets.get(b).copied().unwrap_or(0) + skip))
            })
            .collect::<Result<_>>()?;
        let values = LevelValues::concat(blocks, acc);
        Ok(Some(Levels {
            values,
            start,
            step: 2.0 * d,
        }))
    }

    /// The levels of the series at `pos`, of length `n`.
    pub(crate) fn of(&self, pos: usize, n: usize) -> Vec<i64> {
        let at = self.start[pos];
        match &self.values {
            LevelValues::I16(v) => v[at..at + n].iter().map(|&q| q as i64).collect(),
            LevelValues::I32(v) => v[at..at + n].iter().map(|&q| q as i64).collect(),
            LevelValues::I64(v) => v[at..at + n].to_vec(),
        }
    }

    /// Adds the corrections of the series at `pos` to its reconstruction `x`.
    pub(crate) fn apply(&self, pos: usize, x: &mut [f64]) {
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

/// A [`Source`] over a segment and its decoded symbols; the original values (exactness over
/// originals) come through the database's block cache.
pub(crate) struct SegmentSource<'a> {
    pub(crate) segment: &'a SegmentReader,
    /// The segment's records (decoded before search data is made).
    pub(crate) records: &'a [SeriesRecord],
    pub(crate) data: &'a SearchData,
    pub(crate) cache: &'a BlockCache,
    pub(crate) key: u64,
}

impl Source for SegmentSource<'_> {
    fn id(&self, pos: usize) -> u64 {
        self.records[pos].id
    }

    fn normalized_into(&self, pos: usize, out: &mut Vec<f64>) {
        let r = &self.records[pos];
        let m = Moments {
            mean: r.mean,
            std: r.std,
        };
        if r.kind != layout::storage_kind::SYMBOLIC {
            out.clear();
            if let Some(v) = self.data.held.get(&pos) {
                out.extend_from_slice(v);
            }
            return;
        }
        let n = r.len as usize;
        let block = match self.data.symbol_block(self.segment, r) {
            Ok(b) => b,
            Err(e) => {
                // A damaged block: the search reports it (`SearchData::check`); meanwhile the
                // series is infinitely far from every query, so it is never an answer.
                let _ = self.data.fault.set(e);
                out.clear();
                out.resize(n, f64::INFINITY);
                return;
            }
        };
        let symbols = block.map_or(SymbolSlice::EMPTY, |b| b.slice(r.start, r.count));
        symbols.decode_into(n, r.first, m, self.segment.centres(), out);
        if let Some(l) = &self.data.levels {
            l.apply(pos, out);
        }
        codec::normalize_in_place(out, m);
    }

    fn error_bounds(&self, pos: usize) -> (f64, f64) {
        let r = &self.records[pos];
        if r.std > 0.0 {
            (r.eps / r.std, r.max_abs_err / r.std)
        } else {
            (0.0, 0.0)
        }
    }

    fn original_into(&self, pos: usize, out: &mut Vec<f64>) -> bool {
        let r = &self.records[pos];
        let Ok((b, skip)) = self.segment.raw_location(pos) else {
            return false;
        };
        let Ok(block) = raw_block(self.cache, self.key, self.segment, b) else {
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
pub(crate) struct OriginalSource<'a>(pub(crate) &'a SegmentSource<'a>);

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

/// The symbol block holding the symbols of record `r` of `segment` (key `key`), through the
/// cache; `None` for a series without symbols (length 1).
fn symbol_block(
    cache: &BlockCache,
    key: u64,
    segment: &SegmentReader,
    r: &SeriesRecord,
) -> Result<Option<Arc<BlockSymbols>>> {
    if r.count == 0 {
        return Ok(None);
    }
    let b = segment.symbol_block_of(r)?;
    match cache.get_or((key, BlockKind::Symbols, b), || {
        segment.block(b).map(|s| Block::Symbols(Arc::new(s)))
    })? {
        Block::Symbols(s) if s.holds(r.start, r.count) => Ok(Some(s)),
        _ => Err(Error::InvalidRequest("a cached block of another kind".into())),
    }
}

/// Raw block `b` of `segment` (key `key`), through the cache.
fn raw_block(
    cache: &BlockCache,
    key: u64,
    segment: &SegmentReader,
    b: usize,
) -> Result<Arc<Vec<f64>>> {
    match cache.get_or((key, BlockKind::Raw, b), || {
        segment.raw_block(b).map(|v| Block::Values(Arc::new(v)))
    })? {
        Block::Values(v) => Ok(v),
        _ => Err(Error::InvalidRequest("a cached block of another kind".into())),
    }
}

impl OpenSegment {
    pub(crate) fn open(
        dir: &Path,
        entry: &SegmentEntry,
        cache: &Arc<BlockCache>,
    ) -> Result<OpenSegment> {
        let reader = SegmentReader::open(&dir.join(&entry.file))?;
        let shared = Shared {
            reader: Arc::new(reader),
            search: Arc::new(OnceLock::new()),
            cache: cache.clone(),
            key: block_cache::segment_key(),
        };
        Self::with_entry(dir, entry, shared)
    }

    fn shared(&self) -> Shared {
        Shared {
            reader: self.reader.clone(),
            search: self.search.clone(),
            cache: self.cache.clone(),
            key: self.key,
        }
    }

    /// The segment of `entry` from this one's reader and decoded data (the same file), with the
    /// deleted ids `entry` names.
    pub(crate) fn reopen(&self, dir: &Path, entry: &SegmentEntry) -> Result<OpenSegment> {
        Self::with_entry(dir, entry, self.shared())
    }

    /// The same segment with `deleted` as its deleted ids.
    pub(crate) fn with_deleted(&self, deleted: RoaringTreemap) -> OpenSegment {
        let s = self.shared();
        OpenSegment {
            reader: s.reader,
            deleted,
            search: s.search,
            cache: s.cache,
            key: s.key,
        }
    }

    /// A [`Source`] over this segment and what search decoded of it.
    pub(crate) fn source<'a>(&'a self, data: &'a SearchData) -> Result<SegmentSource<'a>> {
        Ok(SegmentSource {
            segment: &self.reader,
            records: self.reader.records()?,
            data,
            cache: &self.cache,
            key: self.key,
        })
    }

    /// The original values of the series at `pos` (§4.9), their raw block through the cache.
    pub(crate) fn raw_values(&self, pos: usize) -> Result<Vec<f64>> {
        let (b, skip) = self.reader.raw_location(pos)?;
        let n = self
            .reader
            .records()?
            .get(pos)
            .ok_or_else(|| Error::InvalidRequest(format!("no series at position {pos}")))?
            .len as usize;
        let block = raw_block(&self.cache, self.key, &self.reader, b)?;
        block
            .get(skip..skip + n)
            .map(<[f64]>::to_vec)
            .ok_or_else(|| Error::InvalidRequest("raw values outside their block".into()))
    }

    fn with_entry(dir: &Path, entry: &SegmentEntry, shared: Shared) -> Result<OpenSegment> {
        let Shared {
            reader,
            search,
            cache,
            key,
        } = shared;
        let path = dir.join(&entry.file);
        let mismatch = |d: String| Error::Corrupt {
            path: path.clone(),
            section: "MANIFEST",
            offset: 0,
            detail: d,
        };
        if reader.len() as u64 != entry.series
            || reader.id_range() != Some((entry.first_id, entry.last_id))
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
                let mut unknown = None;
                for id in &ids {
                    if reader.position(id)?.is_none() {
                        unknown = Some(id);
                        break;
                    }
                }
                if let Some(bad) = unknown {
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
        Ok(OpenSegment {
            reader,
            deleted,
            search,
            cache,
            key,
        })
    }

    pub(crate) fn is_live(&self, id: u64) -> bool {
        !self.deleted.contains(id)
    }

    /// Whether a search already decoded this segment (or failed to).
    pub(crate) fn has_search_data(&self) -> bool {
        self.search.get().is_some()
    }

    pub(crate) fn search_data(&self) -> Result<&SearchData> {
        let made = self.search.get_or_init(|| -> Result<SearchData> {
            let seg = &self.reader;
            let records = seg.records()?;
            seg.index()?;
            let mut held = std::collections::HashMap::new();
            // Lossless and corrected series are held decoded (corrected ones are the series
            // the codebook could not bring within the error budget: few, in a fitting codebook).
            let corrections = seg.correction_levels()?;
            for (pos, r) in records.iter().enumerate() {
                if r.kind != layout::storage_kind::SYMBOLIC {
                    let mut x = match seg.correction(pos, Some(&corrections))? {
                        Some(fix) => {
                            let mut x = Vec::with_capacity(r.len as usize);
                            let block = symbol_block(&self.cache, self.key, seg, r)?;
                            let symbols = block
                                .as_deref()
                                .map_or(SymbolSlice::EMPTY, |b| b.slice(r.start, r.count));
                            symbols.decode_into(
                                r.len as usize,
                                r.first,
                                r.moments(),
                                seg.centres(),
                                &mut x,
                            );
                            fix.apply(&mut x);
                            x
                        }
                        None => seg.decode(pos)?,
                    };
                    codec::normalize_in_place(
                        &mut x,
                        Moments {
                            mean: r.mean,
                            std: r.std,
                        },
                    );
                    held.insert(pos, x);
                }
            }
            let levels = Levels::read(seg)?;
            let mut data = SearchData {
                fault: OnceLock::new(),
                blocks: (0..seg.block_count()).map(|_| OnceLock::new()).collect(),
                levels,
                held,
                original_bounds: Vec::new(),
                envelopes: Mutex::new(Vec::new()),
                flat: [OnceLock::new(), OnceLock::new()],
            };
            if let Some(index) = seg.index()? {
                let source = SegmentSource {
                    segment: seg,
                    records,
                    data: &data,
                    cache: &self.cache,
                    key: self.key,
                };
                data.original_bounds = knn::OriginalBounds::of(index, &source);
            }
            Ok(data)
        });
        // The error of the first attempt, as it was (it names the section and offset at fault).
        made.as_ref().map_err(Error::duplicate)
    }
}

impl OpenSegment {
    /// The reconstruction of the series at `pos` in original units, from the one symbol block
    /// (and residual block) that holds it, through the cache.
    pub(crate) fn reconstruct(&self, pos: usize) -> Result<Vec<f64>> {
        self.decode_through_cache(pos)
    }

    /// The symbols of the series at `pos` (empty for lossless and length-1 series), from its
    /// block through the cache.
    pub(crate) fn symbols_of(&self, pos: usize) -> Result<Vec<u32>> {
        let r = self.record(pos)?;
        if r.kind == layout::storage_kind::LOSSLESS {
            return Ok(Vec::new());
        }
        let block = symbol_block(&self.cache, self.key, &self.reader, &r)?;
        Ok(block.map_or_else(Vec::new, |b| b.slice(r.start, r.count).to_vec()))
    }
}

impl OpenSegment {
    /// The record of the series at `pos`.
    pub(crate) fn record(&self, pos: usize) -> Result<SeriesRecord> {
        self.reader
            .records()?
            .get(pos)
            .copied()
            .ok_or_else(|| Error::InvalidRequest(format!("no series at position {pos}")))
    }

    /// Decodes the series at `pos` with its symbol and residual blocks from the cache.
    fn decode_through_cache(&self, pos: usize) -> Result<Vec<f64>> {
        let r = self.record(pos)?;
        if r.kind == layout::storage_kind::LOSSLESS {
            return self.reader.decode(pos);
        }
        let symbols = symbol_block(&self.cache, self.key, &self.reader, &r)?;
        let levels = match self.reader.residual_location(pos)? {
            Some((b, _)) => match self.cache.get_or((self.key, BlockKind::Residuals, b), || {
                self.reader
                    .residual_block(b)
                    .map(|l| Block::Levels(Arc::new(l)))
            })? {
                Block::Levels(l) => Some((b, l)),
                _ => None,
            },
            None => None,
        };
        let corrections = if r.kind == layout::storage_kind::CORRECTED {
            match self.cache.get_or((self.key, BlockKind::Corrections, 0), || {
                self.reader
                    .correction_levels()
                    .map(|l| Block::Levels(Arc::new(l)))
            })? {
                Block::Levels(l) => Some(l),
                _ => None,
            }
        } else {
            None
        };
        self.reader.decode_with(
            pos,
            symbols.as_deref(),
            levels.as_ref().map(|(b, l)| (*b, &l[..])),
            corrections.as_deref().map(|l| &l[..]),
        )
    }
}

impl SearchData {
    /// The symbol block holding the symbols of record `r` of `segment`, decoded on first use;
    /// `None` for a series without symbols (length 1).
    fn symbol_block(&self, segment: &SegmentReader, r: &SeriesRecord) -> Result<Option<&BlockSymbols>> {
        if r.count == 0 {
            return Ok(None);
        }
        let b = segment.symbol_block_of(r)?;
        let cell = self
            .blocks
            .get(b)
            .ok_or_else(|| Error::InvalidRequest(format!("no symbol block {b}")))?;
        if cell.get().is_none() {
            // Two threads may decode the same block at once; one copy is kept.
            let _ = cell.set(segment.block(b)?);
        }
        match cell.get() {
            Some(block) if block.holds(r.start, r.count) => Ok(Some(block)),
            _ => Err(Error::InvalidRequest("a symbol block that does not hold its series".into())),
        }
    }

    /// The fault a search met in this segment's blocks, if any (then every search of it fails
    /// with it).
    pub(crate) fn check(&self) -> Result<()> {
        match self.fault.get() {
            Some(e) => Err(Error::duplicate(e)),
            None => Ok(()),
        }
    }

    /// The segment as matrices for the scan plan ([`Flat`]): the originals when `original`,
    /// else the reconstructions; `None` when its groups are too large to be worth scanning
    /// (unless `any_size`) or an original cannot be read. Made once and kept; a segment made
    /// under `any_size` stays scannable.
    pub(crate) fn flat(
        &self,
        source: &SegmentSource,
        index: &Index,
        original: bool,
        any_size: bool,
    ) -> Option<Arc<Flat>> {
        let cell = &self.flat[usize::from(original)];
        if let Some(f) = cell.get() {
            if f.is_some() || !any_size {
                return f.clone();
            }
            // Made under the size limits and refused: an explicit scan builds it uncached.
            return Flat::of(index, source, original, true).map(Arc::new);
        }
        cell.get_or_init(|| Flat::of(index, source, original, any_size).map(Arc::new))
            .clone()
    }

    /// The series' envelopes at `window` for every length group of `index` (built on first use
    /// from the reconstructions, then kept).
    pub(crate) fn envelopes(
        &self,
        source: &SegmentSource,
        index: &Index,
        window: Window,
    ) -> Arc<Vec<DtwSummaries>> {
        let radii: Vec<usize> = index.groups.iter().map(|g| window.radius(g.len)).collect();
        let mut kept = self.envelopes.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, e)) = kept.iter().find(|(r, _)| *r == radii) {
            return e.clone();
        }
        let built = Arc::new(
            index
                .groups
                .iter()
                .zip(&radii)
                .map(|(g, &r)| DtwSummaries::build(g, source, r, &index.breakpoints))
                .collect::<Vec<_>>(),
        );
        if kept.len() == KEPT_WINDOWS {
            kept.remove(0);
        }
        kept.push((radii, built.clone()));
        built
    }
}
