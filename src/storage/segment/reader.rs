//! Opens a segment file through a memory map, validates it, and reads it in place.
//!
//! Opening checks the magic, the version, the header, TOC and section checksums, every count and
//! offset against the bytes that exist, and the codebook (finite centres, positive lengths). It
//! does not read the two sections that grow with the number of series (FORMAT.md §6): of SERIES
//! it reads the count and the id range, and INDEX not at all. Their checksums and every record
//! are checked on their first use (a `get`, a search, an export), which decodes them once; a
//! fault found then is an [`Error::Corrupt`] of that use and of every later one. So opening costs
//! the same at a thousand series as at a million. After a successful check no read can go out of
//! bounds; the remaining checks (block payloads decode to the symbols they claim) happen on
//! decode and also become [`Error::Corrupt`]. Nothing read from the file can make this module
//! panic.

use std::fs::File;
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use super::layout::*;
use super::symbols::block_of;
use super::toc::{self, Frame};
use super::{codebook, labels, params, series, symbols};
use crate::codec::symbols::{decode_block, BlockCodec};
use crate::codec::{self, Codebook, CodecParams, Moments};
use crate::error::{Error, Result};

/// A validated, memory-mapped segment.
#[derive(Debug)]
pub struct SegmentReader {
    path: PathBuf,
    map: Backing,
    version: u32,
    toc: Vec<TocEntry>,
    params: CodecParams,
    alpha: Option<f64>,
    codebook: Codebook,
    centres: Vec<[f64; 2]>,
    /// The SERIES section's count and id range, read at open.
    summary: series::Summary,
    /// The SERIES section: where it is and its checksum, checked on first use.
    series_at: Deferred,
    /// The records and what follows from them, decoded on first use.
    tables: std::sync::OnceLock<std::result::Result<Tables, Fault>>,
    /// The INDEX section, when there is one: where it is and its checksum.
    index_at: Option<Deferred>,
    /// The index, decoded on first use.
    index: std::sync::OnceLock<std::result::Result<Option<crate::index::Index>, Fault>>,
    raw: Option<(usize, super::block_table::BlockTable)>,
    /// Error-bounded segments: the RESIDUALS table, its offset, δ, and where each series'
    /// levels start in its block (0 for lossless series).
    residuals: Option<Residuals>,
    labels: Vec<String>,
    symbols_at: usize,
    blocks: Vec<BlockRecord>,
    /// The first symbol of each block, in one array: looked up for every candidate a search
    /// verifies, where the records' 48-byte stride would cost a cache miss a step.
    block_firsts: Vec<u64>,
    total_symbols: u64,
    /// The SYMBOL_MODEL (§4.11), when blocks are rANS-coded; its decoding tables are built at
    /// the first such block.
    symbol_model: Option<crate::codec::rans::Model>,
    rans: std::sync::OnceLock<crate::codec::rans::Decoder>,
    lossless: (usize, usize),
    /// The CORRECTIONS section (§4.12), when there is one: checked with the series table.
    corrections_at: Option<Deferred>,
    report: serde_json::Value,
}

/// A validated RESIDUALS section (§4.10).
#[derive(Debug)]
struct Residuals {
    at: usize,
    table: super::block_table::BlockTable,
    max_error: f64,
}

/// A section whose checksum is checked on first use: its offset, length and TOC checksum.
#[derive(Debug, Clone, Copy)]
struct Deferred {
    at: usize,
    len: usize,
    crc: u32,
}

impl Deferred {
    /// The section's bytes in `map`, once they match the checksum.
    fn checked<'m>(&self, map: &'m [u8], section: &'static str) -> std::result::Result<&'m [u8], Fault> {
        let sec = &map[self.at..self.at + self.len];
        if crc32fast::hash(sec) != self.crc {
            return Err(Fault::at(section, self.at, "section checksum mismatch".into()));
        }
        Ok(sec)
    }
}

/// A fault found when a deferred section was first used: the section, the offset in the file
/// and what is wrong (kept, so that every later use reports it too).
#[derive(Debug, Clone)]
struct Fault {
    section: &'static str,
    offset: u64,
    detail: String,
}

impl Fault {
    fn at(section: &'static str, offset: usize, detail: String) -> Fault {
        Fault {
            section,
            offset: offset as u64,
            detail,
        }
    }
}

/// What the SERIES section decodes to.
#[derive(Debug)]
struct Tables {
    records: Vec<SeriesRecord>,
    /// Where the corrected series' levels are, by position (§4.12).
    corrected: Vec<series::Corrected>,
    /// The CORRECTIONS level column: where its stream starts in the file and its number of
    /// levels (`None` without corrected series).
    correction_levels: Option<(usize, u64)>,
    /// Error-bounded segments: the levels in each residual block, and where each series'
    /// levels start inside its block.
    residual_layout: Option<(Vec<usize>, Vec<usize>)>,
}

/// The bytes of a segment: a memory map of its file, or a buffer.
#[derive(Debug)]
enum Backing {
    Map(Mmap),
    Owned(Vec<u8>),
}

impl std::ops::Deref for Backing {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Backing::Map(m) => m,
            Backing::Owned(v) => v,
        }
    }
}

pub use super::block_symbols::{BlockSymbols, SymbolSlice};

impl SegmentReader {
    /// Opens and validates the segment at `path`.
    pub fn open(path: &Path) -> Result<SegmentReader> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        let corrupt = |section: &'static str, offset: u64, detail: String| Error::Corrupt {
            path: path.to_path_buf(),
            section,
            offset,
            detail,
        };
        if len < size_of::<Header>() as u64 {
            return Err(corrupt(
                "header",
                0,
                format!("file of {len} bytes is shorter than the 64-byte header"),
            ));
        }
        // SAFETY: segment files are written once (to a temporary name, then renamed) and never
        // modified in place afterwards; qabbadb only removes them, which keeps existing maps
        // valid (an unlinked file stays readable through its map). A file truncated or
        // rewritten by another program while mapped could fault on access, as with any
        // mmap-based store: the README ("Files in a database directory") and FORMAT.md §9 say
        // that segment files must not be modified in place by anything but qabbadb.
        let map = unsafe { Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
        Self::from_backing(path.to_path_buf(), Backing::Map(map))
    }

    /// Reads a segment held in memory (`path` only names it in errors); the same checks as
    /// [`SegmentReader::open`].
    pub fn from_bytes(path: &Path, bytes: Vec<u8>) -> Result<SegmentReader> {
        if bytes.len() < size_of::<Header>() {
            return Err(Error::Corrupt {
                path: path.to_path_buf(),
                section: "header",
                offset: 0,
                detail: format!("{} bytes is shorter than the 64-byte header", bytes.len()),
            });
        }
        Self::from_backing(path.to_path_buf(), Backing::Owned(bytes))
    }

    /// Checks the frame, then parses each section with its own parser (FORMAT.md §4), then
    /// checks the sections against each other.
    fn from_backing(path: PathBuf, map: Backing) -> Result<SegmentReader> {
        let corrupt = |section: &'static str, offset: u64, detail: String| Error::Corrupt {
            path: path.clone(),
            section,
            offset,
            detail,
        };
        let bytes: &[u8] = &map;
        let Frame {
            version,
            toc,
            found,
            deferred,
        } = toc::read(&path, bytes)?;
        let need = |k: u32| {
            found[k as usize]
                .ok_or_else(|| corrupt(kind::name(k), 0, "required section is missing".into()))
        };
        // A section parser's error: an offset inside the section and what is wrong.
        let at_section = |k: u32, at: usize| {
            let name = kind::name(k);
            let corrupt = &corrupt;
            move |(off, d): (u64, String)| corrupt(name, at as u64 + off, d)
        };
        let section = |k: u32| found[k as usize].map(|(at, n)| (at, &bytes[at..at + n]));

        let (at, n) = need(kind::PARAMS)?;
        let (mut params, alpha) =
            params::parse(&bytes[at..at + n]).map_err(at_section(kind::PARAMS, at))?;
        let (at, n) = need(kind::CODEBOOK)?;
        let (codebook, centres) =
            codebook::parse(&bytes[at..at + n]).map_err(at_section(kind::CODEBOOK, at))?;
        let labels = match section(kind::LABELS) {
            Some((at, sec)) => labels::parse(sec).map_err(at_section(kind::LABELS, at))?,
            None => Vec::new(),
        };
        let (sym_at, n) = need(kind::SYMBOLS)?;
        let (total_symbols, blocks) =
            symbols::parse(&bytes[sym_at..sym_at + n], codebook.len(), version)
            .map_err(at_section(kind::SYMBOLS, sym_at))?;
        let symbol_model = match section(kind::SYMBOL_MODEL) {
            Some((at, sec)) => {
                let incs: Vec<i32> = codebook.symbols.iter().map(|c| c[1]).collect();
                Some(
                    crate::codec::rans::Model::from_bytes(sec, &incs)
                        .map_err(|d| corrupt("SYMBOL_MODEL", at as u64, d))?,
                )
            }
            None => None,
        };
        if symbol_model.is_none() {
            if let Some(b) = blocks.iter().position(|r| r.codec == BlockCodec::Rans as u8) {
                return Err(corrupt(
                    "SYMBOLS",
                    sym_at as u64,
                    format!("block {b} is rANS-coded but the file has no SYMBOL_MODEL"),
                ));
            }
        }
        let lossless = found[kind::LOSSLESS as usize].unwrap_or((0, 0));
        if let (Some((at, _)), 1) = (section(kind::CORRECTIONS), version) {
            return Err(corrupt(
                "CORRECTIONS",
                at as u64,
                "a section of version 2 in a version-1 file".into(),
            ));
        }

        let deferred_at = |k: u32| {
            let (at, len) = found[k as usize]?;
            Some(Deferred {
                at,
                len,
                crc: deferred[k as usize]?,
            })
        };
        let (at, n) = need(kind::SERIES)?;
        let series_at = deferred_at(kind::SERIES)
            .ok_or_else(|| corrupt("SERIES", at as u64, "checksum not deferred".into()))?;
        let summary =
            series::summary(&bytes[at..at + n], version).map_err(|d| corrupt("SERIES", at as u64, d))?;
        let index_at = deferred_at(kind::INDEX);
        let corrections_at = deferred_at(kind::CORRECTIONS);

        let raw = match section(kind::RAW) {
            Some((at, sec)) => Some((
                at,
                super::raw::parse(sec, summary.count, version)
                    .map_err(|d| corrupt("RAW", at as u64, d))?,
            )),
            None => None,
        };
        let residuals = match section(kind::RESIDUALS) {
            Some((at, sec)) => {
                let (table, max_error) = super::residuals::parse(sec, summary.count, version)
                    .map_err(|d| corrupt("RESIDUALS", at as u64, d))?;
                Some(Residuals {
                    at,
                    table,
                    max_error,
                })
            }
            None => None,
        };
        params.max_error = residuals.as_ref().map(|r| r.max_error);
        if let (Some(r), Some((at, _))) = (&residuals, section(kind::CORRECTIONS)) {
            return Err(corrupt(
                "CORRECTIONS",
                at as u64,
                format!("an error-bounded segment (RESIDUALS at {}) has corrected series", r.at),
            ));
        }
        let report = match section(kind::REPORT) {
            Some((at, sec)) => serde_json::from_slice(sec)
                .map_err(|e| corrupt("REPORT", at as u64, format!("not a JSON object: {e}")))?,
            None => serde_json::Value::Null,
        };
        Ok(SegmentReader {
            path,
            version,
            toc,
            params,
            alpha,
            codebook,
            centres,
            summary,
            series_at,
            tables: std::sync::OnceLock::new(),
            index_at,
            index: std::sync::OnceLock::new(),
            raw,
            residuals,
            labels,
            symbols_at: sym_at,
            block_firsts: blocks.iter().map(|r| r.first_symbol.get()).collect(),
            blocks,
            total_symbols,
            symbol_model,
            rans: std::sync::OnceLock::new(),
            lossless,
            corrections_at,
            report,
            map,
        })
    }

    fn corrupt(&self, section: &'static str, offset: u64, detail: String) -> Error {
        Error::Corrupt {
            path: self.path.clone(),
            section,
            offset,
            detail,
        }
    }

    fn fault(&self, f: &Fault) -> Error {
        self.corrupt(f.section, f.offset, f.detail.clone())
    }

    /// The records and their residual layout, decoded and checked on first use: the SERIES
    /// checksum, every record (§4.3), and the records against LABELS, SYMBOLS and LOSSLESS.
    fn tables(&self) -> Result<&Tables> {
        self.tables
            .get_or_init(|| self.decode_tables())
            .as_ref()
            .map_err(|f| self.fault(f))
    }

    fn decode_tables(&self) -> std::result::Result<Tables, Fault> {
        let sec = self.series_at.checked(&self.map, "SERIES")?;
        let fault = |detail: String| Fault::at("SERIES", self.series_at.at, detail);
        let record_fault = |(i, d): (Option<usize>, String)| {
            fault(match i {
                Some(i) => format!("series record {i}: {d}"),
                None => d,
            })
        };
        let corrections = match &self.corrections_at {
            Some(d) => {
                let c = super::corrections::parse(d.checked(&self.map, "CORRECTIONS")?)
                    .map_err(|(off, detail)| Fault::at("CORRECTIONS", d.at + off as usize, detail))?;
                Some(c)
            }
            None => None,
        };
        let (records, corrected) =
            series::parse(sec, self.lossless.1 as u64, self.version, corrections.as_ref())
                .map_err(record_fault)?;
        let correction_levels = corrections
            .zip(self.corrections_at)
            .map(|(c, d)| (d.at + c.levels_at, c.levels));
        series::check_against(&records, self.labels.len(), self.total_symbols, &self.blocks)
            .map_err(record_fault)?;
        // The same bytes gave the summary at open; a difference would be a bug, not damage.
        let ids = records.first().zip(records.last()).map(|(a, b)| (a.id, b.id));
        if records.len() != self.summary.count || ids != self.summary.ids {
            return Err(fault("the table disagrees with its header".into()));
        }
        let residual_layout = self
            .residuals
            .as_ref()
            .map(|r| super::residuals::layout(&r.table, &records));
        Ok(Tables {
            records,
            corrected,
            correction_levels,
            residual_layout,
        })
    }

    /// The record of the series at `pos`.
    fn record(&self, pos: usize) -> Result<SeriesRecord> {
        self.tables()?
            .records
            .get(pos)
            .copied()
            .ok_or_else(|| self.no_such("SERIES", "series position", pos))
    }

    /// A position or block asked for that the segment does not have: the caller read it from a
    /// table of this file, so the file is inconsistent.
    fn no_such(&self, section: &'static str, what: &str, n: usize) -> Error {
        self.corrupt(section, 0, format!("{what} {n} does not exist"))
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The format version of the file.
    pub fn format_version(&self) -> u32 {
        self.version
    }

    /// Number of series.
    pub fn len(&self) -> usize {
        self.summary.count
    }

    /// True when the segment holds no series.
    pub fn is_empty(&self) -> bool {
        self.summary.count == 0
    }

    /// The smallest and the largest id (`None` for an empty segment); read at open.
    pub fn id_range(&self) -> Option<(u64, u64)> {
        self.summary.ids
    }

    /// The id range when it holds every id from the first to the last (as builds and appends
    /// write segments): then each position's id follows from it.
    pub fn contiguous_ids(&self) -> Option<(u64, u64)> {
        self.summary.ids.filter(|_| self.summary.contiguous())
    }

    /// Size of the file.
    pub fn file_bytes(&self) -> u64 {
        self.map.len() as u64
    }

    /// (kind, bytes) of every section.
    pub fn sections(&self) -> Vec<(u32, u64)> {
        self.toc
            .iter()
            .map(|e| (e.kind.get(), e.bytes.get()))
            .collect()
    }

    /// Blocks stored with each codec: packed, zstd, LZW, rANS.
    pub fn blocks_by_codec(&self) -> [u64; 4] {
        let mut out = [0u64; 4];
        for b in &self.blocks {
            out[(b.codec as usize).min(3)] += 1;
        }
        out
    }

    /// The build parameters.
    pub fn params(&self) -> &CodecParams {
        &self.params
    }

    /// The aggregation radius used, when greedy aggregation built the codebook.
    pub fn alpha(&self) -> Option<f64> {
        self.alpha
    }

    /// The codebook.
    pub fn codebook(&self) -> &Codebook {
        &self.codebook
    }

    /// Dequantized centres of the codebook.
    pub fn centres(&self) -> &[[f64; 2]] {
        &self.centres
    }

    /// True when the segment has a search index (§4.8); known at open.
    pub fn has_index(&self) -> bool {
        self.index_at.is_some()
    }

    /// The breakpoints of the search index, when the segment has one: from the decoded index,
    /// or, before anything decoded it, from the head of the INDEX section once its checksum
    /// matches (the members and words are not decoded).
    pub fn breakpoints(&self) -> Result<Option<crate::index::Breakpoints>> {
        let Some(d) = self.index_at else {
            return Ok(None);
        };
        if let Some(done) = self.index.get() {
            return match done {
                Ok(index) => Ok(index.as_ref().map(|i| i.breakpoints.clone())),
                Err(f) => Err(self.fault(f)),
            };
        }
        let sec = d.checked(&self.map, "INDEX").map_err(|f| self.fault(&f))?;
        super::index_section::parse_head(sec)
            .map(|(_, b, _)| Some(b))
            .map_err(|e| self.corrupt("INDEX", d.at as u64, e))
    }

    /// The search index (§4.8), when the segment has one: decoded and checked on first use
    /// (its checksum, and every member against the series table).
    pub fn index(&self) -> Result<Option<&crate::index::Index>> {
        let Some(d) = self.index_at else {
            return Ok(None);
        };
        self.index
            .get_or_init(|| {
                let sec = d.checked(&self.map, "INDEX")?;
                let fault = |detail: String| Fault::at("INDEX", d.at, detail);
                let tables = self.tables.get_or_init(|| self.decode_tables()).as_ref();
                let lens: Vec<u32> = tables.map_err(Fault::clone)?.records.iter().map(|r| r.len).collect();
                super::index_section::parse(sec, &lens).map(Some).map_err(fault)
            })
            .as_ref()
            .map(Option::as_ref)
            .map_err(|f| self.fault(f))
    }

    /// The build report (§4.7), or null.
    pub fn report(&self) -> &serde_json::Value {
        &self.report
    }

    /// All series records, in id order (decoded on first use).
    pub fn records(&self) -> Result<&[SeriesRecord]> {
        Ok(&self.tables()?.records)
    }

    /// Calls `f` with the records: those already decoded, or, when nothing has used them yet,
    /// a decoding of them that is dropped afterwards (a summary over every segment of a large
    /// database then holds one segment's records at a time).
    pub fn with_records<R>(&self, f: impl FnOnce(&[SeriesRecord]) -> R) -> Result<R> {
        match self.tables.get() {
            Some(t) => t.as_ref().map(|t| f(&t.records)).map_err(|e| self.fault(e)),
            None => self
                .decode_tables()
                .map(|t| f(&t.records))
                .map_err(|e| self.fault(&e)),
        }
    }

    /// Position of the series with this id. Where the ids are contiguous (as a build and a bulk
    /// load write them) it follows from the id range read at open; otherwise the records are
    /// searched.
    pub fn position(&self, id: u64) -> Result<Option<usize>> {
        match (self.contiguous_ids(), self.summary.ids) {
            (_, None) => Ok(None),
            (Some((first, last)), _) => {
                Ok((first..=last).contains(&id).then(|| (id - first) as usize))
            }
            (None, Some(_)) => Ok(self.records()?.binary_search_by_key(&id, |r| r.id).ok()),
        }
    }

    /// The id of the series at `pos`.
    pub fn id(&self, pos: usize) -> Result<u64> {
        match self.contiguous_ids() {
            Some((first, _)) if pos < self.summary.count => {
                Ok(first + pos as u64)
            }
            _ => self.record(pos).map(|r| r.id),
        }
    }

    /// The label of the series at `pos`.
    pub fn label(&self, pos: usize) -> Result<Option<&str>> {
        let l = self.record(pos)?.label;
        Ok(self.labels.get(l as usize).map(String::as_str))
    }

    /// Number of symbol blocks.
    pub fn block_count(&self) -> usize {
        self.blocks.len()
    }

    /// Symbols over all blocks (the blocks are consecutive from symbol 0: checked at open).
    pub fn total_symbols(&self) -> u64 {
        self.total_symbols
    }

    /// Decodes block `b`.
    pub fn block(&self, b: usize) -> Result<BlockSymbols> {
        let r = self
            .blocks
            .get(b)
            .ok_or_else(|| self.corrupt("SYMBOLS", 0, format!("no block {b}")))?;
        let at = self.symbols_at + r.offset.get() as usize;
        let payload = &self.map[at..at + r.bytes.get() as usize];
        if self.version >= 2 && crc32fast::hash(payload) != r.crc.get() {
            return Err(self.corrupt(
                "SYMBOLS",
                at as u64,
                format!("block {b} checksum mismatch"),
            ));
        }
        let codec = BlockCodec::from_tag(r.codec).unwrap_or(BlockCodec::Packed);
        let n = usize::try_from(r.symbols.get())
            .map_err(|_| self.corrupt("SYMBOLS", at as u64, "block too large".into()))?;
        let rans = match (codec, &self.symbol_model) {
            (BlockCodec::Rans, Some(m)) => Some(self.rans.get_or_init(|| m.decoder())),
            _ => None,
        };
        let symbols = decode_block(codec, payload, self.codebook.len(), n, r.lzw_codes.get(), rans)
            .ok_or_else(|| {
                self.corrupt(
                    "SYMBOLS",
                    at as u64,
                    format!("block {b} does not decode to {n} valid symbols"),
                )
            })?;
        Ok(BlockSymbols::new(r.first_symbol.get(), symbols, self.codebook.len()))
    }

    /// The symbols of the series at `pos` (empty for lossless or length-1 series).
    pub fn symbols(&self, pos: usize) -> Result<Vec<u32>> {
        let r = self.record(pos)?;
        if r.kind == storage_kind::LOSSLESS || r.count == 0 {
            return Ok(Vec::new());
        }
        let b = block_of(&self.blocks, r.start).unwrap_or(0);
        let block = self.block(b)?;
        Ok(block.slice(r.start, r.count).to_vec())
    }

    /// The symbol block holding the symbols of record `r` (a record of this segment with
    /// symbols: checked against the block table when the records were decoded).
    pub fn symbol_block_of(&self, r: &SeriesRecord) -> Result<usize> {
        // The block is the last one starting at or before the series' first symbol; the
        // records were checked to lie inside one block when the table was decoded.
        self.block_firsts
            .partition_point(|&f| f <= r.start)
            .checked_sub(1)
            .filter(|&b| block_of(&self.blocks[b..=b], r.start).is_some())
            .ok_or_else(|| self.no_such("SYMBOLS", "symbol", r.start as usize))
    }

    /// The symbol block holding the symbols of the series at `pos` (`None` for lossless and
    /// length-1 series).
    pub fn block_of_series(&self, pos: usize) -> Result<Option<usize>> {
        let r = self.record(pos)?;
        if r.kind == storage_kind::LOSSLESS || r.count == 0 {
            return Ok(None);
        }
        Ok(block_of(&self.blocks, r.start))
    }

    /// Decodes the series at `pos` to original units, using `block` when it holds its symbols
    /// and `levels` (a residual block and its number) when it holds its residual levels.
    pub fn decode_with(
        &self,
        pos: usize,
        block: Option<&BlockSymbols>,
        levels: Option<(usize, &[i64])>,
        corrections: Option<&[i64]>,
    ) -> Result<Vec<f64>> {
        let r = self.record(pos)?;
        let n = r.len as usize;
        let moments = Moments {
            mean: r.mean,
            std: r.std,
        };
        match r.kind {
            storage_kind::LOSSLESS => {
                let at = self.lossless.0 + r.start as usize;
                let bytes = &self.map[at..at + r.count as usize];
                codec::lossless::decompress(bytes, n).ok_or_else(|| {
                    self.corrupt(
                        "LOSSLESS",
                        at as u64,
                        format!("series at {pos} does not decode to {n} values"),
                    )
                })
            }
            _ => {
                let owned;
                let syms = if r.count == 0 {
                    SymbolSlice::EMPTY
                } else {
                    match block {
                        Some(b) if b.holds(r.start, r.count) => b.slice(r.start, r.count),
                        _ => {
                            owned = self.block(self.symbol_block_of(&r)?)?;
                            owned.slice(r.start, r.count)
                        }
                    }
                };
                let mut x = Vec::with_capacity(n);
                syms.decode_into(n, r.first, moments, &self.centres, &mut x);
                if let Some(res) = &self.residuals {
                    let (b, skip) = self
                        .residual_location(pos)?
                        .ok_or_else(|| self.no_such("RESIDUALS", "series position", pos))?;
                    let owned;
                    let lv: &[i64] = match levels {
                        Some((lb, l)) if lb == b => l,
                        _ => {
                            owned = self.residual_block(b)?;
                            &owned
                        }
                    };
                    codec::residual::apply(&mut x, lv[skip..skip + n].iter().copied(), 2.0 * res.max_error);
                }
                if r.kind == storage_kind::CORRECTED {
                    self.correct(pos, &mut x, corrections)?;
                }
                Ok(x)
            }
        }
    }

    /// Where the levels of the series at `pos` are, when it is a corrected series (§4.12).
    fn corrected(&self, pos: usize) -> Result<Option<series::Corrected>> {
        let corrected = &self.tables()?.corrected;
        Ok(corrected
            .binary_search_by_key(&pos, |c| c.pos)
            .ok()
            .map(|i| corrected[i]))
    }

    /// The correction of the series at `pos` (`None` unless it is a corrected series), its
    /// levels taken from `levels` ([`Self::correction_levels`]) when given.
    pub fn correction(
        &self,
        pos: usize,
        levels: Option<&[i64]>,
    ) -> Result<Option<codec::correction::Correction>> {
        let Some(c) = self.corrected(pos)? else {
            return Ok(None);
        };
        let owned;
        let all = match levels {
            Some(l) => l,
            None => {
                owned = self.correction_levels()?;
                &owned
            }
        };
        let n = self.record(pos)?.len as usize;
        let first = c.first as usize;
        let q = all
            .get(first..first + n)
            .ok_or_else(|| self.no_such("CORRECTIONS", "level", first + n))?;
        Ok(Some(codec::correction::Correction {
            code: c.code,
            step: c.step,
            levels: q.to_vec().into(),
        }))
    }

    /// Decodes the level column of CORRECTIONS: the levels of every corrected series, in row
    /// order (empty without corrected series).
    pub fn correction_levels(&self) -> Result<Vec<i64>> {
        let Some((at, n)) = self.tables()?.correction_levels else {
            return Ok(Vec::new());
        };
        super::corrections::levels(&self.map[at..self.corrections_end()], n).ok_or_else(|| {
            self.corrupt(
                "CORRECTIONS",
                at as u64,
                format!("the level column does not decode to {n} levels"),
            )
        })
    }

    fn corrections_end(&self) -> usize {
        self.corrections_at.map_or(0, |d| d.at + d.len)
    }

    /// Adds the correction of the corrected series at `pos` to its reconstruction `x` (§4.12),
    /// its levels taken from `levels` when given.
    fn correct(&self, pos: usize, x: &mut [f64], levels: Option<&[i64]>) -> Result<()> {
        let c = self
            .correction(pos, levels)?
            .ok_or_else(|| self.no_such("CORRECTIONS", "corrected series", pos))?;
        if c.levels.len() != x.len() {
            return Err(self.no_such("CORRECTIONS", "level", x.len()));
        }
        c.apply(x);
        Ok(())
    }

    /// Error-bounded segments: the bound δ on every value (§4.10).
    pub fn max_error(&self) -> Option<f64> {
        self.residuals.as_ref().map(|r| r.max_error)
    }

    /// Number of residual blocks (0 unless error-bounded).
    pub fn residual_block_count(&self) -> usize {
        self.residuals.as_ref().map_or(0, |r| r.table.blocks.len())
    }

    /// The residual block holding the levels of the series at `pos` and where they start in it
    /// (`None` unless error-bounded).
    pub fn residual_location(&self, pos: usize) -> Result<Option<(usize, usize)>> {
        let Some(r) = self.residuals.as_ref() else {
            return Ok(None);
        };
        let skip = match &self.tables()?.residual_layout {
            Some((_, skip)) => skip.get(pos).copied(),
            None => None,
        };
        Ok(skip.map(|s| (r.table.block_of(pos).0, s)))
    }

    /// Decodes residual block `b`: the levels of its symbolic series, concatenated.
    pub fn residual_block(&self, b: usize) -> Result<Vec<i64>> {
        let Some(res) = &self.residuals else {
            return Err(Error::InvalidRequest(
                "this segment is not error-bounded".into(),
            ));
        };
        let (off, len) = *res
            .table
            .blocks
            .get(b)
            .ok_or_else(|| self.no_such("RESIDUALS", "residual block", b))?;
        let n = match &self.tables()?.residual_layout {
            Some((levels, _)) => levels.get(b).copied(),
            None => None,
        }
        .ok_or_else(|| self.no_such("RESIDUALS", "residual block", b))?;
        let start = res.at + off;
        self.check_block("RESIDUALS", &res.table, b, start, len)?;
        codec::lossless::decompress(&self.map[start..start + len], n).ok_or_else(|| {
            self.corrupt(
                "RESIDUALS",
                start as u64,
                format!("residual block {b} does not decode to {n} levels"),
            )
        })
    }

    /// True when the segment keeps every series' original values (§4.9).
    pub fn has_raw(&self) -> bool {
        self.raw.is_some()
    }

    /// The original values of the series at `pos`, exactly as given (§4.9).
    pub fn raw_values(&self, pos: usize) -> Result<Vec<f64>> {
        let (b, skip) = self.raw_location(pos)?;
        let flat = self.raw_block(b)?;
        let n = self.record(pos)?.len as usize;
        flat.get(skip..skip + n)
            .map(<[f64]>::to_vec)
            .ok_or_else(|| self.no_such("RAW", "series position", pos))
    }

    /// Number of raw blocks (0 without raw values).
    pub fn raw_block_count(&self) -> usize {
        self.raw.as_ref().map_or(0, |(_, t)| t.blocks.len())
    }

    /// The raw block holding the series at `pos`, and where its values start in the block.
    pub fn raw_location(&self, pos: usize) -> Result<(usize, usize)> {
        let Some((_, table)) = &self.raw else {
            return Err(Error::NoRawValues);
        };
        let records = self.records()?;
        if pos >= records.len() {
            return Err(self.no_such("RAW", "series position", pos));
        }
        let (b, first) = table.block_of(pos);
        let skip: usize = records[first..pos].iter().map(|r| r.len as usize).sum();
        Ok((b, skip))
    }

    /// Decodes raw block `b`: the values of its series, concatenated.
    pub fn raw_block(&self, b: usize) -> Result<Vec<f64>> {
        let Some((at, table)) = &self.raw else {
            return Err(Error::NoRawValues);
        };
        let (off, len) = *table
            .blocks
            .get(b)
            .ok_or_else(|| self.no_such("RAW", "raw block", b))?;
        let records = self.records()?;
        let first = (b * table.per_block).min(records.len());
        let recs = &records[first..(first + table.per_block).min(records.len())];
        let n: usize = recs.iter().map(|r| r.len as usize).sum();
        let start = *at + off;
        self.check_block("RAW", table, b, start, len)?;
        crate::codec::lossless::decompress(&self.map[start..start + len], n).ok_or_else(|| {
            self.corrupt(
                "RAW",
                start as u64,
                format!("raw block {b} does not decode to {n} values"),
            )
        })
    }

    /// Version 2: the payload of block `b` of a RAW or RESIDUALS table against its CRC-32 (the
    /// section's TOC checksum does not cover payloads, §3).
    fn check_block(
        &self,
        section: &'static str,
        table: &super::block_table::BlockTable,
        b: usize,
        start: usize,
        len: usize,
    ) -> Result<()> {
        match table.crcs.as_ref().and_then(|c| c.get(b)) {
            Some(&crc) if crc32fast::hash(&self.map[start..start + len]) != crc => Err(self
                .corrupt(
                    section,
                    start as u64,
                    format!("block {b} checksum mismatch"),
                )),
            _ => Ok(()),
        }
    }

    /// The pco bytes of a lossless series (empty for a symbolic one).
    pub fn lossless_bytes(&self, pos: usize) -> Result<&[u8]> {
        let r = self.record(pos)?;
        Ok(if r.kind == storage_kind::LOSSLESS {
            let at = self.lossless.0 + r.start as usize;
            &self.map[at..at + r.count as usize]
        } else {
            &[]
        })
    }

    /// Decodes the series at `pos` to original units.
    pub fn decode(&self, pos: usize) -> Result<Vec<f64>> {
        self.decode_with(pos, None, None, None)
    }

    /// Decodes every series in order, decoding each symbol block and residual block once;
    /// calls `f(pos, values)`.
    pub fn for_each_decoded(&self, mut f: impl FnMut(usize, Vec<f64>) -> Result<()>) -> Result<()> {
        let mut current: Option<(usize, BlockSymbols)> = None;
        let mut levels: Option<(usize, Vec<i64>)> = None;
        let mut corrections: Option<Vec<i64>> = None;
        for (pos, r) in self.records()?.iter().enumerate() {
            if r.kind == storage_kind::CORRECTED && corrections.is_none() {
                corrections = Some(self.correction_levels()?);
            }
            if r.kind != storage_kind::LOSSLESS && r.count > 0 {
                let b = block_of(&self.blocks, r.start).unwrap_or(0);
                if current.as_ref().map(|c| c.0) != Some(b) {
                    current = Some((b, self.block(b)?));
                }
            }
            if let Some((b, _)) = self.residual_location(pos)? {
                if levels.as_ref().map(|l| l.0) != Some(b) {
                    levels = Some((b, self.residual_block(b)?));
                }
            }
            let values = self.decode_with(
                pos,
                current.as_ref().map(|c| &c.1),
                levels.as_ref().map(|(b, l)| (*b, &l[..])),
                corrections.as_deref(),
            )?;
            f(pos, values)?;
        }
        Ok(())
    }
}


