//! Serializes encoded series into a segment file (FORMAT.md §2–§4).
//!
//! The file is assembled in memory, written to `<path>.tmp`, synced, renamed over `path`, and
//! the directory is synced: a reader sees either the old file or the whole new one.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;


use rayon::prelude::*;
use zerocopy::IntoBytes;

use super::columns;
use super::layout::*;
use crate::codec::digitize::Digitizer;
use crate::codec::symbols::{encode_block, EncodedBlock};
use crate::codec::{meta, Assign, Codebook, CodecParams, EncodedSeries, Start, Storage};
use crate::error::{Error, Result};

/// Target number of symbols per block; a block never splits a series.
pub const BLOCK_SYMBOLS: usize = 16 * 1024;

/// What goes into a segment.
#[derive(Debug)]
pub struct SegmentContents<'a> {
    /// Parameters of the build.
    pub params: &'a CodecParams,
    /// The aggregation radius actually used (greedy aggregation).
    pub alpha: Option<f64>,
    /// The shared codebook.
    pub codebook: &'a Codebook,
    /// The series, in id order.
    pub series: &'a [EncodedSeries],
    /// Their ids, strictly increasing.
    pub ids: &'a [u64],
    /// Their labels.
    pub labels: &'a [Option<String>],
    /// Free-form build report, stored as JSON (§4.7).
    pub report: serde_json::Value,
    /// The search index (§4.8), when built.
    pub index: Option<&'a crate::index::Index>,
    /// The original values of every series (§4.9), when kept, serialized by [`RawSection::of`].
    pub raw: Option<&'a RawSection>,
}

/// A RAW section (§4.9) serialized ahead of the rest of the file, so that its compression, the
/// costliest part of a write that keeps originals, can run beside the index build.
///
/// Its block payloads are kept apart and written one after the other, never copied into one
/// buffer: of a segment that keeps its originals they are most of the file.
#[derive(Debug)]
pub struct RawSection {
    /// Head and block records (§4.9).
    table: Vec<u8>,
    /// The payloads, in order.
    blocks: Vec<Vec<u8>>,
    lens: Vec<u32>,
}

impl RawSection {
    /// Compresses the original values of every series (in series order).
    pub fn of(raw: &[Vec<f64>]) -> Result<RawSection> {
        if raw.iter().any(|x| u32::try_from(x.len()).is_err()) {
            return Err(Error::InvalidRequest("a raw series is too long".into()));
        }
        let blocks = raw
            .par_chunks(super::raw::SERIES_PER_BLOCK)
            .map(super::raw::compress_block)
            .collect::<Result<_>>()?;
        Ok(RawSection::from_blocks(
            blocks,
            raw.iter().map(|x| x.len() as u32).collect(),
        ))
    }

    fn from_blocks(blocks: Vec<Vec<u8>>, lens: Vec<u32>) -> RawSection {
        RawSection {
            table: super::raw::table(&blocks),
            blocks,
            lens,
        }
    }

}

/// The bytes of one section: one buffer, or a RAW section's table and payloads.
enum Body<'a> {
    One(Cow<'a, [u8]>),
    /// A block table's head and records, then its payloads (§4.9, §4.10).
    Blocks(Cow<'a, [u8]>, Vec<Cow<'a, [u8]>>),
}

impl From<Vec<u8>> for Body<'_> {
    fn from(v: Vec<u8>) -> Self {
        Body::One(Cow::Owned(v))
    }
}

/// A RAW section made while its series arrive (a bulk load): each block of
/// [`SERIES_PER_BLOCK`](super::raw::SERIES_PER_BLOCK) series is compressed once it is full (the
/// full blocks of a [`RawBuilder::flush`] in parallel) and its values dropped, so only the
/// compressed section and one partial block are held. The bytes equal [`RawSection::of`]'s over
/// the same series.
#[derive(Debug, Default)]
pub struct RawBuilder {
    blocks: Vec<Vec<u8>>,
    lens: Vec<u32>,
    /// Full blocks not compressed yet.
    full: Vec<Vec<Vec<f64>>>,
    /// The block being filled.
    tail: Vec<Vec<f64>>,
}

impl RawBuilder {
    /// Adds the original values of the next series.
    pub fn push(&mut self, x: Vec<f64>) -> Result<()> {
        let n = u32::try_from(x.len())
            .map_err(|_| Error::InvalidRequest("a raw series is too long".into()))?;
        self.lens.push(n);
        self.tail.push(x);
        if self.tail.len() == super::raw::SERIES_PER_BLOCK {
            self.full.push(std::mem::take(&mut self.tail));
        }
        Ok(())
    }

    /// Compresses the full blocks, in parallel.
    pub fn flush(&mut self) -> Result<()> {
        let full = std::mem::take(&mut self.full);
        let done: Vec<Vec<u8>> = full
            .par_iter()
            .map(|b| super::raw::compress_block(b))
            .collect::<Result<_>>()?;
        self.blocks.extend(done);
        Ok(())
    }

    /// Series added.
    pub fn len(&self) -> usize {
        self.lens.len()
    }

    /// True when no series was added.
    pub fn is_empty(&self) -> bool {
        self.lens.is_empty()
    }

    /// The section of every series added.
    pub fn finish(mut self) -> Result<RawSection> {
        self.flush()?;
        if !self.tail.is_empty() {
            self.blocks.push(super::raw::compress_block(&self.tail)?);
        }
        Ok(RawSection::from_blocks(self.blocks, self.lens))
    }
}

/// Sizes of what was written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteReport {
    /// Bytes of the whole file.
    pub file_bytes: u64,
    /// Bytes per section kind.
    pub section_bytes: Vec<(u32, u64)>,
    /// Number of blocks stored with each codec: packed, zstd, LZW, rANS.
    pub blocks_by_codec: [u64; 4],
    /// Total symbol bytes had every block used packed, zstd, LZW, rANS (rANS: the blocks it can
    /// code, 0 when the segment has no model).
    pub symbol_bytes_by_codec: [u64; 4],
    /// Bytes of the SYMBOL_MODEL section (0 when no block is rANS-coded).
    pub symbol_model_bytes: u64,
}


/// A signed level in `[−2^(b−1), 2^(b−1))` as the unsigned `level + 2^(b−1)` (§4.2).
pub fn level_to_unsigned(level: i32, bits: u8) -> u32 {
    (level as i64 + (1i64 << (bits - 1))) as u32
}

/// Serializes `c` to bytes (the whole file).
pub fn serialize(c: &SegmentContents) -> Result<(Vec<u8>, WriteReport)> {
    let (parts, report) = serialize_parts(c)?;
    Ok((parts.concat(), report))
}

/// The file [`serialize`] makes, as the consecutive pieces it is written from (the header,
/// each section and its padding, the TOC): the sections are not copied into one buffer, so
/// writing a segment holds its largest section (RAW) once, not twice.
pub fn serialize_parts<'a>(c: &'a SegmentContents) -> Result<(Vec<Cow<'a, [u8]>>, WriteReport)> {
    if c.ids.len() != c.series.len() || c.labels.len() != c.series.len() {
        return Err(Error::InvalidRequest(
            "ids, labels and series differ in number".into(),
        ));
    }
    if c.ids.windows(2).any(|w| w[0] >= w[1]) {
        return Err(Error::InvalidRequest(
            "series ids must be strictly increasing".into(),
        ));
    }
    if c.params.max_error.is_some() && c.series.iter().any(|e| matches!(e.storage, Storage::Corrected(..))) {
        return Err(Error::InvalidRequest(
            "an error-bounded segment cannot hold corrected series: its residuals bound every value".into(),
        ));
    }
    let k = c.codebook.len();
    // The RAW section is borrowed, not copied: it is the largest.
    let mut sections: Vec<(u32, u32, Body<'a>)> = Vec::new();

    // §4.1 PARAMS
    let p = c.params;
    let (digitizer, kk, rate, seed) = match p.digitizer {
        Digitizer::Greedy { .. } => (0u8, 0u64, 0.0, 0u64),
        Digitizer::KMeans {
            k,
            sample_rate,
            seed,
        } => (1, k as u64, sample_rate, seed),
    };
    let params = ParamsRecord {
        tol: p.tol.into(),
        max_len: p.max_len.unwrap_or(0).into(),
        digitizer,
        assign: match p.assign {
            Assign::ClosedLoop => 0,
            Assign::Nearest => 1,
        },
        len_bits: p.len_bits,
        inc_bits: p.inc_bits,
        alpha: c.alpha.unwrap_or(f64::NAN).into(),
        k: kk.into(),
        sample_rate: rate.into(),
        seed: seed.into(),
        scl: p.scl.into(),
        max_rmse: p.max_rmse.into(),
    };
    sections.push((kind::PARAMS, FLAG_REQUIRED, params.as_bytes().to_vec().into()));

    // §4.2 CODEBOOK
    let cb = c.codebook;
    let mut buf = CodebookHeader {
        symbols: (k as u32).into(),
        len_bits: cb.len_q.bits,
        inc_bits: cb.inc_q.bits,
        reserved0: [0; 2],
        len_scale: cb.len_q.scale.into(),
        len_zero: cb.len_q.zero.into(),
        inc_scale: cb.inc_q.scale.into(),
        inc_zero: cb.inc_q.zero.into(),
        weight_len: cb.weights[0].into(),
        weight_inc: cb.weights[1].into(),
        reserved1: [0; 8],
    }
    .as_bytes()
    .to_vec();
    // Levels bit-packed, each stored as level + 2^(bits−1) (unsigned), length then increment.
    let mut bw = crate::codec::bitpack::BitWriter::new();
    for s in &cb.symbols {
        bw.write(level_to_unsigned(s[0], cb.len_q.bits), cb.len_q.bits as u32);
        bw.write(level_to_unsigned(s[1], cb.inc_q.bits), cb.inc_q.bits as u32);
    }
    buf.extend_from_slice(&bw.finish());
    sections.push((kind::CODEBOOK, FLAG_REQUIRED, buf.into()));

    // Labels, deduplicated in order of first use.
    let mut label_index: HashMap<&str, u32> = HashMap::new();
    let mut label_list: Vec<&str> = Vec::new();
    let label_of: Vec<u32> = c
        .labels
        .iter()
        .map(|l| match l {
            None => NO_LABEL,
            Some(s) => *label_index.entry(s.as_str()).or_insert_with(|| {
                label_list.push(s.as_str());
                (label_list.len() - 1) as u32
            }),
        })
        .collect();

    // Symbol blocks: consecutive series, about BLOCK_SYMBOLS symbols each.
    let mut groups: Vec<(usize, usize)> = Vec::new();
    let mut start = 0usize;
    let mut in_block = 0usize;
    for (i, e) in c.series.iter().enumerate() {
        if let Some(s) = e.storage.symbols() {
            if in_block > 0 && in_block + s.len() > BLOCK_SYMBOLS {
                groups.push((start, i));
                start = i;
                in_block = 0;
            }
            in_block += s.len();
        }
    }
    groups.push((start, c.series.len()));
    let symbols_of = |&(a, b): &(usize, usize)| {
        c.series[a..b]
            .iter()
            .flat_map(|e| e.storage.symbols().unwrap_or_default())
            .copied()
    };
    let groups: Vec<(usize, usize)> = groups
        .into_iter()
        .filter(|g| symbols_of(g).next().is_some())
        .collect();
    let (blocks, model) = encode_blocks(&groups, symbols_of, &cb.symbols, k)?;

    // §4.3 SERIES (columns, version 2) and §4.6 LOSSLESS
    let n = c.series.len();
    let steps = meta::Steps::for_tol(p.tol);
    let mut lossless: Vec<u8> = Vec::new();
    let mut step_codes: Vec<u64> = Vec::new();
    let mut correction_levels: Vec<i64> = Vec::new();
    let mut next_symbol = 0u64;
    let mut len_col = Vec::with_capacity(n);
    let mut kind_col = Vec::with_capacity(n);
    let mut count_col = Vec::with_capacity(n);
    let mut level_cols: [Vec<i64>; 2] = Default::default();
    let mut scale_col: Vec<u64> = Vec::with_capacity(n);
    let mut bound_cols: [Vec<u64>; 2] = Default::default();
    let mut exact_cols: [Vec<f64>; 3] = Default::default();
    for e in c.series {
        let (kind_tag, count) = match &e.storage {
            Storage::Symbolic(s) => {
                next_symbol += s.len() as u64;
                (storage_kind::SYMBOLIC, s.len() as u64)
            }
            Storage::Lossless(b) => {
                lossless.extend_from_slice(b);
                (storage_kind::LOSSLESS, b.len() as u64)
            }
            Storage::Corrected(s, fix) => {
                if fix.levels.len() != e.len as usize {
                    return Err(Error::InvalidRequest(format!(
                        "a correction of {} levels for a series of {} values",
                        fix.levels.len(),
                        e.len
                    )));
                }
                next_symbol += s.len() as u64;
                step_codes.push(fix.code);
                correction_levels.extend(fix.levels.iter());
                (storage_kind::CORRECTED, s.len() as u64)
            }
        };
        len_col.push(e.len);
        kind_col.push(kind_tag as u32);
        count_col.push(count);
        // Rounded rows hold levels: symbolic series with a normalised start, and lossless series
        // whose moments the levels hold (their start is informational). The others are exact.
        let levels = match (&e.storage, e.start) {
            (Storage::Symbolic(_) | Storage::Corrected(..), Start::Normalized(_)) => Some(
                meta::Levels::of(e.moments, e.start, steps).ok_or_else(|| {
                    Error::InvalidRequest(
                        "a series' rounded moments are not representable at this segment's steps"
                            .into(),
                    )
                })?,
            ),
            (Storage::Lossless(_), _) => {
                meta::Levels::of(e.moments, Start::Normalized(0.0), steps)
            }
            _ => None,
        };
        let unit = match levels {
            Some(l) => {
                level_cols[0].push(l.start);
                level_cols[1].push(l.mean);
                scale_col.push(l.scale);
                e.moments.std
            }
            None => {
                level_cols[0].push(0);
                level_cols[1].push(0);
                scale_col.push(0);
                exact_cols[0].push(e.start.value(e.moments));
                exact_cols[1].push(e.moments.mean);
                exact_cols[2].push(e.moments.std);
                1.0
            }
        };
        if let Storage::Corrected(_, fix) = &e.storage {
            if crate::codec::correction::step_of(fix.code, unit) != Some(fix.step) {
                return Err(Error::InvalidRequest(format!(
                    "a correction's step {} is not the one its code stands for",
                    fix.step
                )));
            }
        }
        for (col, v) in bound_cols.iter_mut().zip([e.eps, e.max_abs_err]) {
            col.push(meta::bound_bits(v, unit).ok_or_else(|| {
                Error::InvalidRequest(format!("error bound {v} is not a finite number ≥ 0"))
            })?);
        }
    }
    let mut series_buf = SeriesHeader {
        count: (n as u64).into(),
        columns: (SERIES_COLUMNS_V2 as u32).into(),
        mean_step: steps.mean as i8,
        start_step: steps.start as i8,
        reserved: [0; 2],
    }
    .as_bytes()
    .to_vec();
    columns::write_v2(&mut series_buf, c.ids)?;
    columns::write_v2(&mut series_buf, &len_col)?;
    columns::write_v2(&mut series_buf, &kind_col)?;
    columns::write_v2(&mut series_buf, &count_col)?;
    columns::write_v2(&mut series_buf, &label_of)?;
    for col in &level_cols {
        columns::write_v2(&mut series_buf, col)?;
    }
    columns::write_v2(&mut series_buf, &scale_col)?;
    for col in &bound_cols {
        columns::write_v2(&mut series_buf, col)?;
    }
    for col in &exact_cols {
        columns::write_v2(&mut series_buf, col)?;
    }
    sections.push((kind::SERIES, FLAG_REQUIRED, series_buf.into()));

    // §4.4 LABELS
    if !label_list.is_empty() {
        let mut buf = LabelsHeader {
            count: (label_list.len() as u32).into(),
            reserved: 0.into(),
        }
        .as_bytes()
        .to_vec();
        let mut at = 0u64;
        buf.extend_from_slice(&at.to_le_bytes());
        for l in &label_list {
            at += l.len() as u64;
            buf.extend_from_slice(&at.to_le_bytes());
        }
        for l in &label_list {
            buf.extend_from_slice(l.as_bytes());
        }
        sections.push((kind::LABELS, FLAG_REQUIRED, buf.into()));
    }

    // §4.5 SYMBOLS
    let mut report = WriteReport::default();
    let table_bytes = size_of::<SymbolsHeader>() + blocks.len() * size_of::<BlockRecord>();
    let mut buf = SymbolsHeader {
        total_symbols: next_symbol.into(),
        blocks: (blocks.len() as u32).into(),
        bits: crate::codec::bitpack::width_for(k).into(),
    }
    .as_bytes()
    .to_vec();
    let mut payload_at = table_bytes as u64;
    let mut first = 0u64;
    for (n, b) in &blocks {
        buf.extend_from_slice(
            BlockRecord {
                first_symbol: first.into(),
                symbols: (*n).into(),
                offset: payload_at.into(),
                bytes: (b.payload.len() as u64).into(),
                lzw_codes: b.lzw_codes.into(),
                codec: b.codec as u8,
                reserved: [0; 3],
                crc: crc32fast::hash(&b.payload).into(),
            }
            .as_bytes(),
        );
        first += n;
        payload_at += b.payload.len() as u64;
        report.blocks_by_codec[b.codec as usize] += 1;
        for j in 0..4 {
            report.symbol_bytes_by_codec[j] += b.sizes[j];
        }
    }
    for (_, b) in &blocks {
        buf.extend_from_slice(&b.payload);
    }
    sections.push((kind::SYMBOLS, FLAG_REQUIRED, buf.into()));
    // §4.11 SYMBOL_MODEL: required, the rANS blocks cannot be decoded without it.
    if let Some(model) = model {
        report.symbol_model_bytes = model.len() as u64;
        sections.push((kind::SYMBOL_MODEL, FLAG_REQUIRED, model.into()));
    }

    if !lossless.is_empty() {
        sections.push((kind::LOSSLESS, FLAG_REQUIRED, lossless.into()));
    }
    // §4.12 CORRECTIONS: required, a reader without it would return values beyond the budget.
    if !step_codes.is_empty() {
        let buf = super::corrections::serialize(&step_codes, &correction_levels)?;
        sections.push((kind::CORRECTIONS, FLAG_REQUIRED, buf.into()));
    }
    // §4.8 INDEX: not required, a reader without it can still decode every series.
    if let Some(index) = c.index {
        sections.push((kind::INDEX, 0, super::index_section::serialize(index).into()));
    }
    // §4.10 RESIDUALS: required, a reader without it would return values beyond the bound.
    let symbolic = |e: &&EncodedSeries| matches!(e.storage, Storage::Symbolic(_));
    match c.params.max_error {
        Some(d) => {
            if c.series
                .iter()
                .filter(symbolic)
                .any(|e| e.residuals.len() != e.len as usize)
            {
                return Err(Error::InvalidRequest(
                    "error-bounded mode needs one residual level per value of every symbolic series"
                        .into(),
                ));
            }
            sections.push((
                kind::RESIDUALS,
                FLAG_REQUIRED,
                {
                    let (table, blocks) = super::residuals::table_and_blocks(c.series, d)?;
                    Body::Blocks(table.into(), blocks.into_iter().map(Cow::Owned).collect())
                },
            ));
        }
        None => {
            if c.series.iter().any(|e| !e.residuals.is_empty()) {
                return Err(Error::InvalidRequest(
                    "residual levels given without an error bound".into(),
                ));
            }
        }
    }
    // §4.9 RAW: not required either.
    if let Some(raw) = c.raw {
        if raw.lens.len() != c.series.len()
            || raw.lens.iter().zip(c.series).any(|(&n, e)| n != e.len)
        {
            return Err(Error::InvalidRequest(
                "raw values do not match the series".into(),
            ));
        }
        let blocks = raw.blocks.iter().map(|b| Cow::Borrowed(&b[..])).collect();
        sections.push((kind::RAW, 0, Body::Blocks(Cow::Borrowed(&raw.table), blocks)));
    }
    // §4.7 REPORT
    let json = serde_json::to_vec(&c.report).unwrap_or_default();
    sections.push((kind::REPORT, 0, json.into()));

    // Assemble: header, sections, TOC.
    const ZEROS: [u8; SECTION_ALIGN as usize] = [0; SECTION_ALIGN as usize];
    let padding = |at: u64| -> Cow<'a, [u8]> {
        let pad = (SECTION_ALIGN - at % SECTION_ALIGN) % SECTION_ALIGN;
        Cow::Borrowed(&ZEROS[..pad as usize])
    };
    let mut parts: Vec<Cow<'a, [u8]>> = vec![Cow::Owned(Vec::new())];
    let mut at = size_of::<Header>() as u64;
    let mut toc: Vec<TocEntry> = Vec::with_capacity(sections.len());
    for (kind_id, flags, body) in sections {
        let pad = padding(at);
        at += pad.len() as u64;
        parts.push(pad);
        let (len, crc) = match &body {
            Body::One(bytes) => (
                bytes.len(),
                crc32fast::hash(checksummed(kind_id, bytes, FORMAT_VERSION)),
            ),
            // §3: the TOC checksum of a version-2 RAW or RESIDUALS section covers its head and
            // records.
            Body::Blocks(table, blocks) => (
                table.len() + blocks.iter().map(|b| b.len()).sum::<usize>(),
                crc32fast::hash(table),
            ),
        };
        toc.push(TocEntry {
            kind: kind_id.into(),
            flags: flags.into(),
            offset: at.into(),
            bytes: (len as u64).into(),
            crc: crc.into(),
            reserved: 0.into(),
        });
        report.section_bytes.push((kind_id, len as u64));
        at += len as u64;
        match body {
            Body::One(bytes) => parts.push(bytes),
            Body::Blocks(table, blocks) => {
                parts.push(table);
                parts.extend(blocks);
            }
        }
    }
    let pad = padding(at);
    at += pad.len() as u64;
    parts.push(pad);
    let toc_offset = at;
    let toc_bytes = toc.as_bytes().to_vec();
    at += toc_bytes.len() as u64;
    let mut header = Header {
        magic: MAGIC,
        format_version: FORMAT_VERSION.into(),
        header_bytes: (size_of::<Header>() as u32).into(),
        file_bytes: at.into(),
        toc_offset: toc_offset.into(),
        toc_entries: (toc.len() as u32).into(),
        toc_crc: crc32fast::hash(&toc_bytes).into(),
        reserved: [0; 20],
        header_crc: 0.into(),
    };
    header.header_crc = crc32fast::hash(&header.as_bytes()[..60]).into();
    parts[0] = Cow::Owned(header.as_bytes().to_vec());
    parts.push(Cow::Owned(toc_bytes));
    report.file_bytes = at;
    Ok((parts, report))
}

/// Encodes the symbol blocks (the symbols `symbols_of` gives for each group of series): each
/// in the smallest of packed, zstd, LZW and rANS under a model fitted to all of them (§4.11).
/// The model is kept only when the blocks it wins save more than its own bytes; otherwise the
/// blocks are encoded again without it. A block's symbols are gathered only while it is
/// encoded. Returns (symbol count, block) pairs and the SYMBOL_MODEL bytes when kept.
#[allow(clippy::type_complexity)]
fn encode_blocks<'a, S>(
    groups: &[(usize, usize)],
    symbols_of: impl Fn(&(usize, usize)) -> S + Sync,
    centres: &[[i32; 2]],
    k: usize,
) -> Result<(Vec<(u64, EncodedBlock)>, Option<Vec<u8>>)>
where
    S: Iterator<Item = u32> + 'a,
{
    let incs: Vec<i32> = centres.iter().map(|c| c[1]).collect();
    let model =
        crate::codec::rans::Model::fit_blocks(|| groups.iter().map(&symbols_of), &incs);
    let encode = |model: Option<&crate::codec::rans::Model>| -> Vec<(u64, EncodedBlock)> {
        groups
            .par_iter()
            .map(|g| {
                let syms: Vec<u32> = symbols_of(g).collect();
                (syms.len() as u64, encode_block(&syms, k, model))
            })
            .collect()
    };
    if let Some(m) = &model {
        let bytes = m.to_bytes()?;
        let blocks = encode(Some(m));
        // What the rANS blocks save against the best other encoding tried for them.
        let saved: u64 = blocks
            .iter()
            .filter(|(_, b)| b.codec == crate::codec::symbols::BlockCodec::Rans)
            .map(|(_, b)| {
                let other = b.sizes[..3].iter().filter(|&&s| s > 0).min().copied();
                other.unwrap_or(b.sizes[0]).saturating_sub(b.sizes[3])
            })
            .sum();
        if saved > bytes.len() as u64 {
            return Ok((blocks, Some(bytes)));
        }
    }
    Ok((encode(None), None))
}

/// Writes a segment atomically to `path`.
pub fn write_segment(path: &Path, c: &SegmentContents) -> Result<WriteReport> {
    write_segment_with(&crate::storage::io::RealIo, path, c)
}

/// [`write_segment`] through the I/O seam `io`.
pub fn write_segment_with(
    io: &dyn crate::storage::io::Io,
    path: &Path,
    c: &SegmentContents,
) -> Result<WriteReport> {
    let (parts, report) = serialize_parts(c)?;
    let parts: Vec<&[u8]> = parts.iter().map(|p| &p[..]).collect();
    crate::storage::commit::write_parts_atomically_with(io, path, &parts)?;
    Ok(report)
}

/// The bytes of a section its TOC checksum covers (§3): all of them, but for RAW and RESIDUALS
/// in version 2 files their head and block records.
fn checksummed(kind_id: u32, sec: &[u8], version: u32) -> &[u8] {
    match kind_id {
        kind::SYMBOLS if version >= 2 => &sec[..super::symbols::table_len(sec).unwrap_or(sec.len())],
        kind::RAW | kind::RESIDUALS if version >= 2 => {
            &sec[..super::block_table::table_len(sec, version).unwrap_or(sec.len())]
        }
        _ => sec,
    }
}

/// Version 2 RAW and RESIDUALS: recomputes each block record's CRC-32 of its payload, where
/// the record and payload lie inside the section.
fn reseal_blocks(sec: &mut [u8]) {
    let Some(n) = super::block_table::table_len(sec, 2) else {
        return;
    };
    for at in (16..n).step_by(24) {
        let off = u64::from_le_bytes(sec[at..at + 8].try_into().unwrap_or([0; 8])) as usize;
        let len = u64::from_le_bytes(sec[at + 8..at + 16].try_into().unwrap_or([0; 8])) as usize;
        if off.checked_add(len).is_some_and(|end| end <= sec.len()) {
            let crc = crc32fast::hash(&sec[off..off + len]);
            sec[at + 16..at + 20].copy_from_slice(&crc.to_le_bytes());
        }
    }
}

/// Version 2 SYMBOLS: recomputes each block record's CRC-32 of its payload (offset and length at
/// record bytes 16 and 24, the CRC at 44), where they lie inside the section.
fn reseal_symbol_blocks(sec: &mut [u8]) {
    let Some(n) = super::symbols::table_len(sec) else {
        return;
    };
    for at in (16..n).step_by(48) {
        let off = u64::from_le_bytes(sec[at + 16..at + 24].try_into().unwrap_or([0; 8])) as usize;
        let len = u64::from_le_bytes(sec[at + 24..at + 32].try_into().unwrap_or([0; 8])) as usize;
        if off.checked_add(len).is_some_and(|end| end <= sec.len()) {
            let crc = crc32fast::hash(&sec[off..off + len]);
            sec[at + 44..at + 48].copy_from_slice(&crc.to_le_bytes());
        }
    }
}

/// Recomputes the section, TOC and header checksums of segment bytes (in version 2 also the
/// block checksums of RAW and RESIDUALS), wherever the header and TOC point inside them: for
/// fuzzing (so that damage reaches the parsers behind the checksums) and for tools that repair
/// files by hand.
pub fn reseal(b: &mut [u8]) {
    if b.len() < size_of::<Header>() {
        return;
    }
    let u64_at =
        |b: &[u8], at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap_or([0; 8]));
    let toc_at = u64_at(b, 24) as usize;
    let entries = u32::from_le_bytes(b[32..36].try_into().unwrap_or([0; 4])) as usize;
    if entries <= MAX_TOC_ENTRIES as usize
        && toc_at
            .checked_add(32 * entries)
            .is_some_and(|e| e <= b.len())
    {
        let version = u32::from_le_bytes(b[8..12].try_into().unwrap_or([0; 4]));
        for e in 0..entries {
            let at = toc_at + 32 * e;
            let kind_id = u32::from_le_bytes(b[at..at + 4].try_into().unwrap_or([0; 4]));
            let (off, len) = (u64_at(b, at + 8) as usize, u64_at(b, at + 16) as usize);
            if off.checked_add(len).is_some_and(|end| end <= b.len()) {
                if version >= 2 && matches!(kind_id, kind::RAW | kind::RESIDUALS) {
                    reseal_blocks(&mut b[off..off + len]);
                }
                if version >= 2 && kind_id == kind::SYMBOLS {
                    reseal_symbol_blocks(&mut b[off..off + len]);
                }
                let crc = crc32fast::hash(checksummed(kind_id, &b[off..off + len], version));
                b[at + 24..at + 28].copy_from_slice(&crc.to_le_bytes());
            }
        }
        let crc = crc32fast::hash(&b[toc_at..toc_at + 32 * entries]);
        b[36..40].copy_from_slice(&crc.to_le_bytes());
    }
    let crc = crc32fast::hash(&b[..60]);
    b[60..64].copy_from_slice(&crc.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Blocks compressed as series arrive, with flushes anywhere, give the bytes of the whole
    /// section compressed at once.
    #[test]
    fn a_raw_section_built_piece_by_piece_equals_the_whole() {
        for (count, every) in [(0usize, 1usize), (1, 1), (63, 10), (64, 64), (65, 7), (300, 130)] {
            let series: Vec<Vec<f64>> = (0..count)
                .map(|i| (0..(i % 5 + 1)).map(|t| (i * 7 + t) as f64 * 0.25).collect())
                .collect();
            let mut b = RawBuilder::default();
            for (i, x) in series.iter().enumerate() {
                b.push(x.clone()).unwrap();
                if i % every == every - 1 {
                    b.flush().unwrap();
                }
            }
            assert_eq!(b.len(), count);
            let built = b.finish().unwrap();
            let whole = RawSection::of(&series).unwrap();
            assert_eq!(
                (built.table, built.blocks.concat(), built.lens),
                (whole.table.clone(), whole.blocks.concat(), whole.lens),
                "{count} series"
            );
            assert_eq!(
                [whole.table, whole.blocks.concat()].concat(),
                super::super::raw::serialize(&series).unwrap()
            );
        }
    }

    /// The pieces of a file are the bytes of the file.
    #[test]
    fn parts_make_the_file() {
        let codebook = Codebook::from_centres(&[[1.0, 0.5], [2.0, -1.0]], [1.0, 1.0], 8, 12);
        let series: Vec<EncodedSeries> = (0..3)
            .map(|i| EncodedSeries {
                len: 4,
                start: Start::Value(i as f64),
                moments: crate::codec::Moments { mean: 1.0, std: 2.0 },
                storage: Storage::Symbolic(vec![0, 1, 0]),
                residuals: Default::default(),
                pieces: 3,
                eps: 0.5,
                max_abs_err: 0.25,
            })
            .collect();
        let raw = RawSection::of(&[vec![1.0; 4], vec![2.0; 4], vec![3.0; 4]]).unwrap();
        let c = SegmentContents {
            params: &CodecParams::default(),
            alpha: None,
            codebook: &codebook,
            series: &series,
            ids: &[4, 5, 6],
            labels: &[None, Some("a".into()), None],
            report: serde_json::Value::Null,
            index: None,
            raw: Some(&raw),
        };
        let (parts, report) = serialize_parts(&c).unwrap();
        let file: Vec<u8> = parts.concat();
        assert_eq!(file.len() as u64, report.file_bytes);
        let reader = super::super::SegmentReader::from_bytes("parts.qseg".as_ref(), file).unwrap();
        assert_eq!(reader.raw_values(1).unwrap(), vec![2.0; 4]);
    }
}
