//! Opens a segment file through a memory map, validates it, and reads it in place.
//!
//! Opening checks the magic, the version, the header, TOC and section checksums, every count and
//! offset against the bytes that exist, the codebook (finite centres, positive lengths) and every
//! series record. After a successful open no read can go out of bounds; the remaining checks
//! (block payloads decode to the symbols they claim) happen on decode and also become
//! [`Error::Corrupt`]. Nothing read from the file can make this module panic.

use std::fs::File;
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use zerocopy::FromBytes;

use super::columns;
use super::layout::*;
use crate::codec::digitize::Digitizer;
use crate::codec::symbols::{decode_block, BlockCodec};
use crate::codec::{self, Assign, Codebook, CodecParams, Moments, Quantizer};
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
    records: Vec<SeriesRecord>,
    index: Option<crate::index::Index>,
    raw: Option<(usize, super::block_table::BlockTable)>,
    /// Error-bounded segments: the RESIDUALS table, its offset, δ, and where each series'
    /// levels start in its block (0 for lossless series).
    residuals: Option<Residuals>,
    labels: Vec<String>,
    symbols_at: usize,
    blocks: Vec<BlockRecord>,
    lossless: (usize, usize),
    report: serde_json::Value,
}

/// A validated RESIDUALS section (§4.10).
#[derive(Debug)]
struct Residuals {
    at: usize,
    table: super::block_table::BlockTable,
    max_error: f64,
    /// Levels in each block.
    levels: Vec<usize>,
    /// Where each series' levels start inside its block.
    skip: Vec<usize>,
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

/// The decoded symbols of one block, for scans that visit every series.
#[derive(Debug)]
pub struct BlockSymbols {
    first_symbol: u64,
    symbols: Vec<u32>,
}

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

    fn from_backing(path: PathBuf, map: Backing) -> Result<SegmentReader> {
        let corrupt = |section: &'static str, offset: u64, detail: String| Error::Corrupt {
            path: path.clone(),
            section,
            offset,
            detail,
        };
        let bytes: &[u8] = &map;
        let (header, _) = Header::read_from_prefix(bytes)
            .map_err(|_| corrupt("header", 0, "file shorter than the header".into()))?;
        if header.magic != MAGIC {
            return Err(corrupt(
                "header",
                0,
                "not a qabbadb segment (bad magic)".into(),
            ));
        }
        let version = header.format_version.get();
        if !(OLDEST_READABLE_VERSION..=FORMAT_VERSION).contains(&version) {
            return Err(Error::UnsupportedVersion {
                found: version,
                oldest: OLDEST_READABLE_VERSION,
                newest: FORMAT_VERSION,
            });
        }
        if crc32fast::hash(&bytes[..60]) != header.header_crc.get() {
            return Err(corrupt("header", 60, "header checksum mismatch".into()));
        }
        if header.header_bytes.get() as usize != size_of::<Header>() {
            return Err(corrupt("header", 12, "header size is not 64".into()));
        }
        if header.reserved != [0; 20] {
            return Err(corrupt("header", 40, "reserved bytes are not zero".into()));
        }
        let file_bytes = header.file_bytes.get();
        if file_bytes != bytes.len() as u64 {
            return Err(corrupt(
                "header",
                16,
                format!(
                    "file is {} bytes but its header says {file_bytes} (truncated or extended)",
                    bytes.len()
                ),
            ));
        }
        let entries = header.toc_entries.get();
        if entries > MAX_TOC_ENTRIES {
            return Err(corrupt(
                "toc",
                32,
                format!("{entries} TOC entries is more than {MAX_TOC_ENTRIES}"),
            ));
        }
        let toc_at = header.toc_offset.get();
        let toc_len = entries as u64 * size_of::<TocEntry>() as u64;
        let toc_bytes = range(bytes, toc_at, toc_len)
            .ok_or_else(|| corrupt("toc", toc_at, "TOC lies outside the file".into()))?;
        if crc32fast::hash(toc_bytes) != header.toc_crc.get() {
            return Err(corrupt("toc", toc_at, "TOC checksum mismatch".into()));
        }
        let toc: Vec<TocEntry> = <[TocEntry]>::ref_from_bytes(toc_bytes)
            .map_err(|_| corrupt("toc", toc_at, "bad TOC size".into()))?
            .to_vec();
        let mut found: [Option<(usize, usize)>; 11] = [None; 11];
        for (i, e) in toc.iter().enumerate() {
            let (k, at, n) = (e.kind.get(), e.offset.get(), e.bytes.get());
            let name = kind::name(k);
            if e.reserved.get() != 0 || e.flags.get() & !FLAG_REQUIRED != 0 {
                return Err(corrupt(
                    "toc",
                    toc_at + 32 * i as u64,
                    "unknown flags or reserved bits set".into(),
                ));
            }
            let sec = range(bytes, at, n).ok_or_else(|| {
                corrupt(
                    name,
                    at,
                    format!("section of {n} bytes lies outside the file"),
                )
            })?;
            if at < size_of::<Header>() as u64 || at % SECTION_ALIGN != 0 {
                return Err(corrupt(
                    name,
                    at,
                    "section offset is not aligned past the header".into(),
                ));
            }
            if crc32fast::hash(sec) != e.crc.get() {
                return Err(corrupt(name, at, "section checksum mismatch".into()));
            }
            match k {
                kind::PARAMS..=kind::RESIDUALS => {
                    let slot = &mut found[k as usize];
                    if slot.is_some() {
                        return Err(corrupt(name, at, "section appears twice".into()));
                    }
                    *slot = Some((at as usize, n as usize));
                }
                _ if e.flags.get() & FLAG_REQUIRED != 0 => {
                    return Err(Error::Unsupported {
                        path: path.clone(),
                        what: format!("the file needs section kind {k}, which this version of qabbadb does not know; upgrade qabbadb"),
                    });
                }
                _ => {}
            }
        }
        // Padding between sections must be zero, so that no byte of the file goes unchecked.
        let mut spans: Vec<(u64, u64)> = toc
            .iter()
            .map(|e| (e.offset.get(), e.offset.get() + e.bytes.get()))
            .collect();
        spans.push((0, size_of::<Header>() as u64));
        spans.push((toc_at, toc_at + toc_len));
        spans.sort_unstable();
        let mut covered = 0u64;
        for (a, b) in spans {
            if a < covered {
                return Err(corrupt(
                    "toc",
                    toc_at,
                    format!("sections overlap at byte {a}"),
                ));
            }
            if bytes[covered as usize..a as usize].iter().any(|&x| x != 0) {
                return Err(corrupt(
                    "padding",
                    covered,
                    "non-zero padding between sections".into(),
                ));
            }
            covered = b;
        }
        if covered != bytes.len() as u64 {
            return Err(corrupt(
                "padding",
                covered,
                "bytes after the last section".into(),
            ));
        }
        let need = |k: u32| {
            found[k as usize]
                .ok_or_else(|| corrupt(kind::name(k), 0, "required section is missing".into()))
        };

        // §4.1 PARAMS
        let (at, n) = need(kind::PARAMS)?;
        let pr = ParamsRecord::read_from_bytes(&bytes[at..at + n])
            .map_err(|_| corrupt("PARAMS", at as u64, format!("{n} bytes, expected 64")))?;
        let params = CodecParams {
            tol: pr.tol.get(),
            max_len: match pr.max_len.get() {
                0 => None,
                m => Some(m),
            },
            digitizer: match pr.digitizer {
                0 => Digitizer::Greedy {
                    alpha: Some(pr.alpha.get()).filter(|a| !a.is_nan()),
                },
                1 => Digitizer::KMeans {
                    k: pr.k.get() as usize,
                    sample_rate: pr.sample_rate.get(),
                    seed: pr.seed.get(),
                },
                d => {
                    return Err(corrupt(
                        "PARAMS",
                        at as u64 + 12,
                        format!("unknown digitizer {d}"),
                    ))
                }
            },
            scl: pr.scl.get(),
            len_bits: pr.len_bits,
            inc_bits: pr.inc_bits,
            assign: match pr.assign {
                0 => Assign::ClosedLoop,
                1 => Assign::Nearest,
                a => {
                    return Err(corrupt(
                        "PARAMS",
                        at as u64 + 13,
                        format!("unknown assignment {a}"),
                    ))
                }
            },
            max_rmse: pr.max_rmse.get(),
            max_error: None,
        };
        let alpha = Some(pr.alpha.get()).filter(|a| a.is_finite());

        // §4.2 CODEBOOK
        let (at, n) = need(kind::CODEBOOK)?;
        let sec = &bytes[at..at + n];
        let (ch, rest) = CodebookHeader::read_from_prefix(sec)
            .map_err(|_| corrupt("CODEBOOK", at as u64, "shorter than its header".into()))?;
        let k = ch.symbols.get() as usize;
        if ch.reserved0 != [0; 2] || ch.reserved1 != [0; 8] {
            return Err(corrupt(
                "CODEBOOK",
                at as u64,
                "reserved bytes are not zero".into(),
            ));
        }
        for (name, b) in [("length", ch.len_bits), ("increment", ch.inc_bits)] {
            if !(2..=32).contains(&b) {
                return Err(corrupt(
                    "CODEBOOK",
                    at as u64 + 4,
                    format!("{name} bit width {b} outside 2..=32"),
                ));
            }
        }
        let codebook = Codebook {
            len_q: Quantizer {
                bits: ch.len_bits,
                scale: ch.len_scale.get(),
                zero: ch.len_zero.get(),
            },
            inc_q: Quantizer {
                bits: ch.inc_bits,
                scale: ch.inc_scale.get(),
                zero: ch.inc_zero.get(),
            },
            symbols: {
                let per = ch.len_bits as usize + ch.inc_bits as usize;
                let need = (k as u128 * per as u128).div_ceil(8);
                if need != rest.len() as u128 {
                    return Err(corrupt(
                        "CODEBOOK",
                        at as u64,
                        format!(
                            "{} bytes of centres for {k} symbols of {per} bits",
                            rest.len()
                        ),
                    ));
                }
                let mut r = crate::codec::bitpack::BitReader::new(rest);
                let mut v = Vec::with_capacity(k);
                for _ in 0..k {
                    let l = r.read(ch.len_bits as u32).unwrap_or(0);
                    let i = r.read(ch.inc_bits as u32).unwrap_or(0);
                    v.push([
                        unsigned_to_level(l, ch.len_bits),
                        unsigned_to_level(i, ch.inc_bits),
                    ]);
                }
                v
            },
            weights: [ch.weight_len.get(), ch.weight_inc.get()],
        };
        let centres = codebook.centres();
        for (s, c) in centres.iter().enumerate() {
            let bad_range = |q: &Quantizer, v: i32| {
                let lo = -(1i64 << (q.bits - 1));
                (v as i64) < lo || (v as i64) > -lo - 1
            };
            if !(c[0].is_finite() && c[0] > 0.0 && c[1].is_finite())
                || bad_range(&codebook.len_q, codebook.symbols[s][0])
                || bad_range(&codebook.inc_q, codebook.symbols[s][1])
            {
                return Err(corrupt(
                    "CODEBOOK",
                    (at + size_of::<CodebookHeader>() + 8 * s) as u64,
                    format!(
                        "symbol {s} has an invalid centre (len {}, inc {})",
                        c[0], c[1]
                    ),
                ));
            }
        }
        if !codebook.weights.iter().all(|w| w.is_finite()) {
            return Err(corrupt(
                "CODEBOOK",
                at as u64 + 40,
                "non-finite weights".into(),
            ));
        }

        // §4.4 LABELS
        let mut labels = Vec::new();
        if let Some((at, n)) = found[kind::LABELS as usize] {
            let sec = &bytes[at..at + n];
            let (lh, rest) = LabelsHeader::read_from_prefix(sec)
                .map_err(|_| corrupt("LABELS", at as u64, "shorter than its header".into()))?;
            let count = lh.count.get() as usize;
            if lh.reserved.get() != 0 {
                return Err(corrupt(
                    "LABELS",
                    at as u64 + 4,
                    "reserved bytes are not zero".into(),
                ));
            }
            let offs_len = (count + 1) * 8;
            if rest.len() < offs_len {
                return Err(corrupt(
                    "LABELS",
                    at as u64,
                    format!("too short for {count} labels"),
                ));
            }
            let (offs, text) = rest.split_at(offs_len);
            let offs: Vec<u64> = offs
                .chunks_exact(8)
                .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
                .collect();
            if offs[0] != 0
                || offs[count] != text.len() as u64
                || offs.windows(2).any(|w| w[0] > w[1])
            {
                return Err(corrupt(
                    "LABELS",
                    at as u64 + 8,
                    "label offsets out of order or out of range".into(),
                ));
            }
            for w in offs.windows(2) {
                let s = std::str::from_utf8(&text[w[0] as usize..w[1] as usize])
                    .map_err(|_| corrupt("LABELS", at as u64, "label is not UTF-8".into()))?;
                labels.push(s.to_string());
            }
        }

        // §4.5 SYMBOLS
        let (sym_at, n) = need(kind::SYMBOLS)?;
        let sec = &bytes[sym_at..sym_at + n];
        let (sh, rest) = SymbolsHeader::read_from_prefix(sec)
            .map_err(|_| corrupt("SYMBOLS", sym_at as u64, "shorter than its header".into()))?;
        let total_symbols = sh.total_symbols.get();
        let nblocks = sh.blocks.get() as usize;
        if sh.bits.get() != codec::bitpack::width_for(k) {
            return Err(corrupt(
                "SYMBOLS",
                sym_at as u64 + 12,
                "bit width does not match the codebook".into(),
            ));
        }
        let table_len = nblocks
            .checked_mul(size_of::<BlockRecord>())
            .filter(|&t| t <= rest.len())
            .ok_or_else(|| {
                corrupt(
                    "SYMBOLS",
                    sym_at as u64,
                    format!("too short for {nblocks} blocks"),
                )
            })?;
        let blocks: Vec<BlockRecord> = <[BlockRecord]>::ref_from_bytes(&rest[..table_len])
            .map_err(|_| corrupt("SYMBOLS", sym_at as u64, "bad block table".into()))?
            .to_vec();
        let mut expect_first = 0u64;
        for (b, r) in blocks.iter().enumerate() {
            let off = (sym_at + size_of::<SymbolsHeader>() + b * size_of::<BlockRecord>()) as u64;
            let ok = r.first_symbol.get() == expect_first
                && r.reserved == [0; 7]
                && (r.codec == BlockCodec::Lzw as u8 || r.lzw_codes.get() == 0)
                && r.symbols.get() > 0
                && BlockCodec::from_tag(r.codec).is_some()
                && range(sec, r.offset.get(), r.bytes.get()).is_some()
                && r.offset.get() >= (size_of::<SymbolsHeader>() + table_len) as u64;
            if !ok {
                return Err(corrupt(
                    "SYMBOLS",
                    off,
                    format!("block {b} is inconsistent"),
                ));
            }
            expect_first = expect_first
                .checked_add(r.symbols.get())
                .ok_or_else(|| corrupt("SYMBOLS", off, "symbol count overflows".into()))?;
        }
        if expect_first != total_symbols {
            return Err(corrupt(
                "SYMBOLS",
                sym_at as u64,
                "blocks do not add up to the symbol total".into(),
            ));
        }
        if total_symbols > 0 && k == 0 {
            return Err(corrupt(
                "SYMBOLS",
                sym_at as u64,
                "symbols stored without a codebook".into(),
            ));
        }

        let lossless = found[kind::LOSSLESS as usize].unwrap_or((0, 0));

        // §4.3 SERIES
        let (series_sec, n) = need(kind::SERIES)?;
        let records = read_series(&bytes[series_sec..series_sec + n], lossless.1 as u64).map_err(
            |(i, d)| {
                corrupt(
                    "SERIES",
                    series_sec as u64,
                    match i {
                        Some(i) => format!("series record {i}: {d}"),
                        None => d,
                    },
                )
            },
        )?;
        for (i, r) in records.iter().enumerate() {
            let fail = |d: &str| {
                corrupt(
                    "SERIES",
                    series_sec as u64,
                    format!("series record {i}: {d}"),
                )
            };
            if r.label != NO_LABEL && r.label as usize >= labels.len() {
                return Err(fail("label index out of range"));
            }
            if r.kind == storage_kind::SYMBOLIC {
                let end = r.start + r.count;
                if end > total_symbols {
                    return Err(fail("symbols out of range"));
                }
                if r.count > 0 {
                    let b =
                        block_of(&blocks, r.start).ok_or_else(|| fail("symbols in no block"))?;
                    let blk = &blocks[b];
                    if end > blk.first_symbol.get() + blk.symbols.get() {
                        return Err(fail("symbols span two blocks"));
                    }
                }
            }
        }

        let raw = match found[kind::RAW as usize] {
            Some((at, n)) => {
                let table = super::raw::parse(&bytes[at..at + n], records.len())
                    .map_err(|d| corrupt("RAW", at as u64, d))?;
                Some((at, table))
            }
            None => None,
        };
        let residuals = match found[kind::RESIDUALS as usize] {
            Some((at, n)) => {
                let (table, max_error) = super::residuals::parse(&bytes[at..at + n], records.len())
                    .map_err(|d| corrupt("RESIDUALS", at as u64, d))?;
                let mut levels = vec![0usize; table.blocks.len()];
                let mut skip = Vec::with_capacity(records.len());
                for (pos, r) in records.iter().enumerate() {
                    let (b, _) = table.block_of(pos);
                    skip.push(levels[b]);
                    if r.kind == storage_kind::SYMBOLIC {
                        levels[b] += r.len as usize;
                    }
                }
                Some(Residuals {
                    at,
                    table,
                    max_error,
                    levels,
                    skip,
                })
            }
            None => None,
        };
        let mut params = params;
        params.max_error = residuals.as_ref().map(|r| r.max_error);
        let index = match found[kind::INDEX as usize] {
            Some((at, n)) => {
                let lens: Vec<u32> = records.iter().map(|r| r.len).collect();
                Some(
                    super::index_section::parse(&bytes[at..at + n], &lens)
                        .map_err(|d| corrupt("INDEX", at as u64, d))?,
                )
            }
            None => None,
        };
        let report = match found[kind::REPORT as usize] {
            Some((at, n)) => {
                serde_json::from_slice(&bytes[at..at + n]).unwrap_or(serde_json::Value::Null)
            }
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
            records,
            index,
            raw,
            residuals,
            labels,
            symbols_at: sym_at,
            blocks,
            lossless,
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
        self.records.len()
    }

    /// True when the segment holds no series.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
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

    /// Blocks stored with each codec: packed, zstd, LZW.
    pub fn blocks_by_codec(&self) -> [u64; 3] {
        let mut out = [0u64; 3];
        for b in &self.blocks {
            out[(b.codec as usize).min(2)] += 1;
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

    /// The search index (§4.8), when the segment has one.
    pub fn index(&self) -> Option<&crate::index::Index> {
        self.index.as_ref()
    }

    /// The build report (§4.7), or null.
    pub fn report(&self) -> &serde_json::Value {
        &self.report
    }

    /// All series records, in id order.
    pub fn records(&self) -> &[SeriesRecord] {
        &self.records
    }

    /// Position of the series with this id.
    pub fn position(&self, id: u64) -> Option<usize> {
        self.records().binary_search_by_key(&id, |r| r.id).ok()
    }

    /// The label of the series at `pos`.
    pub fn label(&self, pos: usize) -> Option<&str> {
        let l = self.records.get(pos)?.label;
        self.labels.get(l as usize).map(String::as_str)
    }

    /// Number of symbol blocks.
    pub fn block_count(&self) -> usize {
        self.blocks.len()
    }

    /// Decodes block `b`.
    pub fn block(&self, b: usize) -> Result<BlockSymbols> {
        let r = self
            .blocks
            .get(b)
            .ok_or_else(|| self.corrupt("SYMBOLS", 0, format!("no block {b}")))?;
        let at = self.symbols_at + r.offset.get() as usize;
        let payload = &self.map[at..at + r.bytes.get() as usize];
        let codec = BlockCodec::from_tag(r.codec).unwrap_or(BlockCodec::Packed);
        let n = usize::try_from(r.symbols.get())
            .map_err(|_| self.corrupt("SYMBOLS", at as u64, "block too large".into()))?;
        let symbols = decode_block(codec, payload, self.codebook.len(), n, r.lzw_codes.get())
            .ok_or_else(|| {
                self.corrupt(
                    "SYMBOLS",
                    at as u64,
                    format!("block {b} does not decode to {n} valid symbols"),
                )
            })?;
        Ok(BlockSymbols {
            first_symbol: r.first_symbol.get(),
            symbols,
        })
    }

    /// The symbols of the series at `pos` (empty for lossless or length-1 series).
    pub fn symbols(&self, pos: usize) -> Result<Vec<u32>> {
        let r = *self
            .records
            .get(pos)
            .ok_or_else(|| self.no_such("SERIES", "series position", pos))?;
        if r.kind != storage_kind::SYMBOLIC || r.count == 0 {
            return Ok(Vec::new());
        }
        let b = block_of(&self.blocks, r.start).unwrap_or(0);
        let block = self.block(b)?;
        Ok(block.slice(r.start, r.count).to_vec())
    }

    /// Decodes the series at `pos` to original units, using `block` when it holds its symbols
    /// and `levels` (a residual block and its number) when it holds its residual levels.
    fn decode_with(
        &self,
        pos: usize,
        block: Option<&BlockSymbols>,
        levels: Option<(usize, &[i64])>,
    ) -> Result<Vec<f64>> {
        let r = *self
            .records
            .get(pos)
            .ok_or_else(|| self.no_such("SERIES", "series position", pos))?;
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
                let syms: &[u32] = if r.count == 0 {
                    &[]
                } else {
                    match block {
                        Some(b) if b.contains(r.start, r.count) => b.slice(r.start, r.count),
                        _ => {
                            owned = self.symbols(pos)?;
                            &owned
                        }
                    }
                };
                let mut x = codec::decode_symbolic(n, r.first, moments, syms, &self.centres);
                if let Some(res) = &self.residuals {
                    let (b, skip) = (res.table.block_of(pos).0, res.skip[pos]);
                    let owned;
                    let lv: &[i64] = match levels {
                        Some((lb, l)) if lb == b => l,
                        _ => {
                            owned = self.residual_block(b)?;
                            &owned
                        }
                    };
                    codec::residual::apply(&mut x, &lv[skip..skip + n], 2.0 * res.max_error);
                }
                Ok(x)
            }
        }
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
    pub fn residual_location(&self, pos: usize) -> Option<(usize, usize)> {
        let r = self.residuals.as_ref()?;
        Some((r.table.block_of(pos).0, *r.skip.get(pos)?))
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
        let n = res.levels[b];
        let start = res.at + off;
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
        Ok(flat[skip..skip + self.records[pos].len as usize].to_vec())
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
        if pos >= self.records.len() {
            return Err(self.no_such("RAW", "series position", pos));
        }
        let (b, first) = table.block_of(pos);
        let skip: usize = self.records[first..pos]
            .iter()
            .map(|r| r.len as usize)
            .sum();
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
        let first = b * table.per_block;
        let recs = &self.records[first..(first + table.per_block).min(self.records.len())];
        let n: usize = recs.iter().map(|r| r.len as usize).sum();
        let start = *at + off;
        crate::codec::lossless::decompress(&self.map[start..start + len], n).ok_or_else(|| {
            self.corrupt(
                "RAW",
                start as u64,
                format!("raw block {b} does not decode to {n} values"),
            )
        })
    }

    /// The pco bytes of a lossless series (empty for a symbolic one).
    pub fn lossless_bytes(&self, pos: usize) -> &[u8] {
        match self.records.get(pos) {
            Some(r) if r.kind == storage_kind::LOSSLESS => {
                let at = self.lossless.0 + r.start as usize;
                &self.map[at..at + r.count as usize]
            }
            _ => &[],
        }
    }

    /// Decodes the series at `pos` to original units.
    pub fn decode(&self, pos: usize) -> Result<Vec<f64>> {
        self.decode_with(pos, None, None)
    }

    /// Decodes every series in order, decoding each symbol block and residual block once;
    /// calls `f(pos, values)`.
    pub fn for_each_decoded(&self, mut f: impl FnMut(usize, Vec<f64>) -> Result<()>) -> Result<()> {
        let mut current: Option<(usize, BlockSymbols)> = None;
        let mut levels: Option<(usize, Vec<i64>)> = None;
        for (pos, r) in self.records.iter().enumerate() {
            if r.kind == storage_kind::SYMBOLIC && r.count > 0 {
                let b = block_of(&self.blocks, r.start).unwrap_or(0);
                if current.as_ref().map(|c| c.0) != Some(b) {
                    current = Some((b, self.block(b)?));
                }
            }
            if let Some((b, _)) = self.residual_location(pos) {
                if levels.as_ref().map(|l| l.0) != Some(b) {
                    levels = Some((b, self.residual_block(b)?));
                }
            }
            let values = self.decode_with(
                pos,
                current.as_ref().map(|c| &c.1),
                levels.as_ref().map(|(b, l)| (*b, &l[..])),
            )?;
            f(pos, values)?;
        }
        Ok(())
    }
}

impl BlockSymbols {
    /// The decoded symbols.
    pub fn into_symbols(self) -> Vec<u32> {
        self.symbols
    }

    fn contains(&self, start: u64, count: u64) -> bool {
        start >= self.first_symbol && start + count <= self.first_symbol + self.symbols.len() as u64
    }

    fn slice(&self, start: u64, count: u64) -> &[u32] {
        if !self.contains(start, count) {
            return &[];
        }
        let a = (start - self.first_symbol) as usize;
        &self.symbols[a..a + count as usize]
    }
}

/// The block holding symbol `s`.
fn block_of(blocks: &[BlockRecord], s: u64) -> Option<usize> {
    let b = blocks
        .partition_point(|r| r.first_symbol.get() <= s)
        .checked_sub(1)?;
    let r = &blocks[b];
    (s < r.first_symbol.get() + r.symbols.get()).then_some(b)
}

/// `bytes[at..at+len]` when it exists.
fn range(bytes: &[u8], at: u64, len: u64) -> Option<&[u8]> {
    let end = at.checked_add(len)?;
    if end > bytes.len() as u64 {
        return None;
    }
    Some(&bytes[at as usize..end as usize])
}

/// Decodes the column streams of the SERIES section (§4.3) and checks each record on its own.
/// Errors carry the record index when one record is at fault.
fn read_series(
    sec: &[u8],
    lossless_bytes: u64,
) -> std::result::Result<Vec<SeriesRecord>, (Option<usize>, String)> {
    let whole = |d: &str| (None, d.to_string());
    let (sh, mut rest) =
        SeriesHeader::read_from_prefix(sec).map_err(|_| whole("shorter than its header"))?;
    let count = sh.count.get();
    if count > MAX_SERIES {
        return Err(whole(&format!(
            "{count} series is more than the limit of {MAX_SERIES}"
        )));
    }
    if sh.reserved.get() != 0 {
        return Err(whole("reserved bytes are not zero"));
    }
    if sh.columns.get() as usize != SERIES_COLUMNS {
        return Err(whole(&format!(
            "{} columns, expected {SERIES_COLUMNS}",
            sh.columns.get()
        )));
    }
    let n = count as usize;
    let col_err = |c: usize| {
        (
            None,
            format!("column {} does not decode to {n} values", column::NAMES[c]),
        )
    };
    let ids: Vec<u64> = columns::read(&mut rest, n).ok_or_else(|| col_err(column::ID))?;
    let lens: Vec<u32> = columns::read(&mut rest, n).ok_or_else(|| col_err(column::LEN))?;
    let pieces: Vec<u32> = columns::read(&mut rest, n).ok_or_else(|| col_err(column::PIECES))?;
    let kinds: Vec<u32> = columns::read(&mut rest, n).ok_or_else(|| col_err(column::KIND))?;
    let counts: Vec<u64> = columns::read(&mut rest, n).ok_or_else(|| col_err(column::COUNT))?;
    let labels: Vec<u32> = columns::read(&mut rest, n).ok_or_else(|| col_err(column::LABEL))?;
    let mut f: Vec<Vec<f64>> = Vec::with_capacity(5);
    for c in column::FIRST..=column::STD {
        f.push(columns::read(&mut rest, n).ok_or_else(|| col_err(c))?);
    }
    for c in column::EPS..=column::MAX_ABS_ERR {
        let v: Vec<f32> = columns::read(&mut rest, n).ok_or_else(|| col_err(c))?;
        f.push(v.into_iter().map(f64::from).collect());
    }
    if !rest.is_empty() {
        return Err(whole("bytes after the last column"));
    }
    let mut out = Vec::with_capacity(n);
    let (mut next_symbol, mut next_lossless) = (0u64, 0u64);
    for i in 0..n {
        let fail = |d: &str| (Some(i), d.to_string());
        if i > 0 && ids[i - 1] >= ids[i] {
            return Err(fail("ids not strictly increasing"));
        }
        let (len, count) = (lens[i], counts[i]);
        if len == 0 || len as usize > crate::ingest::MAX_SERIES_LEN {
            return Err(fail("length 0 or above the maximum of 2^28"));
        }
        let (first, mean, std, eps, max_abs_err) = (f[0][i], f[1][i], f[2][i], f[3][i], f[4][i]);
        if !(first.is_finite() && mean.is_finite() && std.is_finite() && std >= 0.0) {
            return Err(fail("non-finite first value, mean or std"));
        }
        if eps.is_nan() || eps < 0.0 || max_abs_err.is_nan() || max_abs_err < 0.0 {
            return Err(fail("negative or NaN error"));
        }
        let kind = match kinds[i] {
            k if k == storage_kind::SYMBOLIC as u32 => {
                if (len == 1) != (count == 0) {
                    return Err(fail("symbol count does not fit the length"));
                }
                storage_kind::SYMBOLIC
            }
            k if k == storage_kind::LOSSLESS as u32 => {
                if count == 0 {
                    return Err(fail("empty lossless stream"));
                }
                storage_kind::LOSSLESS
            }
            k => return Err(fail(&format!("unknown storage kind {k}"))),
        };
        let cursor = if kind == storage_kind::SYMBOLIC {
            &mut next_symbol
        } else {
            &mut next_lossless
        };
        let start = *cursor;
        *cursor = start
            .checked_add(count)
            .ok_or_else(|| fail("count overflows"))?;
        if kind == storage_kind::LOSSLESS && *cursor > lossless_bytes {
            return Err(fail("lossless bytes out of range"));
        }
        out.push(SeriesRecord {
            id: ids[i],
            start,
            count,
            len,
            pieces: pieces[i],
            first,
            mean,
            std,
            eps,
            max_abs_err,
            label: labels[i],
            kind,
        });
    }
    Ok(out)
}

/// Inverse of the writer's `level_to_unsigned` (§4.2).
fn unsigned_to_level(u: u32, bits: u8) -> i32 {
    (u as i64 - (1i64 << (bits.clamp(1, 32) - 1))) as i32
}
