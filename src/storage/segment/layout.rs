//! Byte layout of a segment file, named as in `format-spec/FORMAT.md`.
//!
//! All integers and floats are little-endian; the `zerocopy` little-endian types make every
//! table readable in place from the memory map at any alignment and on any host. Section
//! numbers (§) refer to FORMAT.md.

use zerocopy::little_endian::{F64, U32, U64};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// The 8 bytes every segment starts with (§2): `\x89QSEG\r\n\x1a`.
pub const MAGIC: [u8; 8] = [0x89, b'Q', b'S', b'E', b'G', b'\r', b'\n', 0x1a];
/// The format version this build writes.
pub const FORMAT_VERSION: u32 = 2;
/// The oldest format version this build reads.
pub const OLDEST_READABLE_VERSION: u32 = 1;
/// Sections start at multiples of this many bytes (§2).
pub const SECTION_ALIGN: u64 = 8;
/// Largest number of table-of-contents entries a reader accepts.
pub const MAX_TOC_ENTRIES: u32 = 1024;

/// Section kinds (§3, `kind` column).
pub mod kind {
    /// §4.1 build parameters.
    pub const PARAMS: u32 = 1;
    /// §4.2 codebook.
    pub const CODEBOOK: u32 = 2;
    /// §4.3 series table.
    pub const SERIES: u32 = 3;
    /// §4.4 labels.
    pub const LABELS: u32 = 4;
    /// §4.5 symbol blocks.
    pub const SYMBOLS: u32 = 5;
    /// §4.6 lossless series.
    pub const LOSSLESS: u32 = 6;
    /// §4.7 build report (JSON).
    pub const REPORT: u32 = 7;
    /// §4.8 search index.
    pub const INDEX: u32 = 8;
    /// §4.9 original values, losslessly.
    pub const RAW: u32 = 9;
    /// §4.10 residual levels of error-bounded segments.
    pub const RESIDUALS: u32 = 10;
    /// §4.11 entropy model of rANS-coded symbol blocks.
    pub const SYMBOL_MODEL: u32 = 11;
    /// §4.12 steps of the corrected series' levels.
    pub const CORRECTIONS: u32 = 12;

    /// The name FORMAT.md gives a kind.
    pub fn name(kind: u32) -> &'static str {
        match kind {
            PARAMS => "PARAMS",
            CODEBOOK => "CODEBOOK",
            SERIES => "SERIES",
            LABELS => "LABELS",
            SYMBOLS => "SYMBOLS",
            LOSSLESS => "LOSSLESS",
            REPORT => "REPORT",
            INDEX => "INDEX",
            RAW => "RAW",
            RESIDUALS => "RESIDUALS",
            SYMBOL_MODEL => "SYMBOL_MODEL",
            CORRECTIONS => "CORRECTIONS",
            _ => "unknown section",
        }
    }
}

/// TOC entry flag: a reader that does not know the section's kind must refuse the file.
pub const FLAG_REQUIRED: u32 = 1;

/// §2 Header, 64 bytes at offset 0.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct Header {
    /// [`MAGIC`].
    pub magic: [u8; 8],
    /// Format version.
    pub format_version: U32,
    /// Size of this header: 64.
    pub header_bytes: U32,
    /// Length of the whole file.
    pub file_bytes: U64,
    /// Offset of the table of contents.
    pub toc_offset: U64,
    /// Number of TOC entries.
    pub toc_entries: U32,
    /// CRC-32 of the TOC bytes.
    pub toc_crc: U32,
    /// Zero.
    pub reserved: [u8; 20],
    /// CRC-32 of bytes 0..60.
    pub header_crc: U32,
}

/// §3 Table-of-contents entry, 32 bytes.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct TocEntry {
    /// Section kind ([`kind`]).
    pub kind: U32,
    /// [`FLAG_REQUIRED`] or 0.
    pub flags: U32,
    /// Offset of the section from the start of the file.
    pub offset: U64,
    /// Length of the section.
    pub bytes: U64,
    /// CRC-32 of the section bytes.
    pub crc: U32,
    /// Zero.
    pub reserved: U32,
}

/// §4.1 PARAMS, 64 bytes.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct ParamsRecord {
    /// Compression tolerance (papers' convention).
    pub tol: F64,
    /// Longest piece in intervals; 0 = unlimited.
    pub max_len: U32,
    /// 0 = greedy aggregation, 1 = sampling k-means.
    pub digitizer: u8,
    /// 0 = closed-loop, 1 = nearest.
    pub assign: u8,
    /// Bits per centre length.
    pub len_bits: u8,
    /// Bits per centre increment.
    pub inc_bits: u8,
    /// Aggregation radius used (greedy) or NaN.
    pub alpha: F64,
    /// Symbols requested (k-means) or 0.
    pub k: U64,
    /// Sample rate (k-means) or 0.
    pub sample_rate: F64,
    /// Seed (k-means) or 0.
    pub seed: U64,
    /// Length weight in digitization.
    pub scl: F64,
    /// Error budget (RMSE relative to σ); +inf = none.
    pub max_rmse: F64,
}

/// §4.2 CODEBOOK header, 64 bytes, followed by the bit-packed levels of the centres.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct CodebookHeader {
    /// Number of symbols K.
    pub symbols: U32,
    /// Bits per centre length.
    pub len_bits: u8,
    /// Bits per centre increment.
    pub inc_bits: u8,
    /// Zero.
    pub reserved0: [u8; 2],
    /// Length quantizer step.
    pub len_scale: F64,
    /// Length quantizer zero (real value of the lowest level).
    pub len_zero: F64,
    /// Increment quantizer step.
    pub inc_scale: F64,
    /// Increment quantizer zero.
    pub inc_zero: F64,
    /// Digitization weight of lengths (scl/σ_len).
    pub weight_len: F64,
    /// Digitization weight of increments (1/σ_inc).
    pub weight_inc: F64,
    /// Zero.
    pub reserved1: [u8; 8],
}

/// §4.3 SERIES header, 16 bytes, followed by [`SERIES_COLUMNS`] (version 1) or
/// [`SERIES_COLUMNS_V2`] (version 2) column streams.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct SeriesHeader {
    /// Number of series.
    pub count: U64,
    /// Number of columns: [`SERIES_COLUMNS`] or [`SERIES_COLUMNS_V2`].
    pub columns: U32,
    /// Version 2: the exponent of the mean's step in rounded metadata
    /// ([`crate::codec::meta::Steps`]), in `-60..=0`. Version 1: zero.
    pub mean_step: i8,
    /// Version 2: the exponent of the start's step, in `-60..=0`. Version 1: zero.
    pub start_step: i8,
    /// Zero.
    pub reserved: [u8; 2],
}

/// §4.3 (version 2) The columns of the series table, in stored order.
pub mod column_v2 {
    /// Series id (u64), strictly increasing.
    pub const ID: usize = 0;
    /// Number of values n (u32), ≥ 1.
    pub const LEN: usize = 1;
    /// Storage kind (u32): [`super::storage_kind`].
    pub const KIND: usize = 2;
    /// Symbolic: number of symbols; lossless: bytes of the pco stream (u64).
    pub const COUNT: usize = 3;
    /// Index into LABELS or [`super::NO_LABEL`] (u32).
    pub const LABEL: usize = 4;
    /// Rounded rows: the start level, z₀ = start·2^b (i64); 0 for exact and lossless rows.
    pub const START: usize = 5;
    /// Rounded rows: the mean level, μ = mean·(σ·2^a) (i64); exact rows 0.
    pub const MEAN: usize = 6;
    /// Rounded rows: σ's f64 bits shifted right by 41 (u64, > 0); exact rows 0.
    pub const SCALE: usize = 7;
    /// A bound on ε = ‖x − x̂‖₂: f64 bits shifted right by 45 (u64), relative to σ on rounded
    /// rows, absolute on exact rows.
    pub const EPS: usize = 8;
    /// A bound on max |x − x̂|, stored as `eps` is.
    pub const MAX_ABS_ERR: usize = 9;
    /// One entry per exact row, in row order: the first value x₀ (f64).
    pub const EXACT_FIRST: usize = 10;
    /// One entry per exact row: the mean (f64).
    pub const EXACT_MEAN: usize = 11;
    /// One entry per exact row: the standard deviation, 0 for a constant series (f64).
    pub const EXACT_STD: usize = 12;
    /// Names, as in FORMAT.md.
    pub const NAMES: [&str; super::SERIES_COLUMNS_V2] = [
        "id",
        "len",
        "kind",
        "count",
        "label",
        "start",
        "mean",
        "scale",
        "eps",
        "max_abs_err",
        "exact_first",
        "exact_mean",
        "exact_std",
    ];
}

/// Number of columns of the version-2 series table.
pub const SERIES_COLUMNS_V2: usize = 13;

/// Largest number of series one segment may hold (bounds what a reader allocates).
pub const MAX_SERIES: u64 = 1 << 28;

/// §4.3 The columns of the series table, in stored order, with their element types.
pub mod column {
    /// Series id (u64), strictly increasing.
    pub const ID: usize = 0;
    /// Number of values n (u32), ≥ 1.
    pub const LEN: usize = 1;
    /// ABBA pieces (u32).
    pub const PIECES: usize = 2;
    /// Storage kind (u32): [`super::storage_kind`].
    pub const KIND: usize = 3;
    /// Symbolic: number of symbols; lossless: bytes of the pco stream (u64).
    pub const COUNT: usize = 4;
    /// Index into LABELS or [`super::NO_LABEL`] (u32).
    pub const LABEL: usize = 5;
    /// First value, original units (f64).
    pub const FIRST: usize = 6;
    /// Mean (f64).
    pub const MEAN: usize = 7;
    /// Standard deviation, 0 for a constant series (f64).
    pub const STD: usize = 8;
    /// ε = ‖x − x̂‖₂, rounded up to f32 (f32).
    pub const EPS: usize = 9;
    /// max |x − x̂|, rounded up to f32 (f32).
    pub const MAX_ABS_ERR: usize = 10;
    /// Names, as in FORMAT.md.
    pub const NAMES: [&str; super::SERIES_COLUMNS] = [
        "id",
        "len",
        "pieces",
        "kind",
        "count",
        "label",
        "first",
        "mean",
        "std",
        "eps",
        "max_abs_err",
    ];
}

/// Number of columns of the series table.
pub const SERIES_COLUMNS: usize = 11;

/// Series storage kinds (§4.3 `kind`).
pub mod storage_kind {
    /// Symbols in the SYMBOLS section.
    pub const SYMBOLIC: u8 = 0;
    /// A pco stream in the LOSSLESS section.
    pub const LOSSLESS: u8 = 1;
    /// Symbols in SYMBOLS, and levels in LOSSLESS at the step of a CORRECTIONS record.
    pub const CORRECTED: u8 = 2;
}

/// §4.12 CORRECTIONS head, 16 bytes, followed by the step column (`rows` values) and the level
/// column (`levels` values), column streams of §4.3.2.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct CorrectionsHeader {
    /// Number of corrected series (rows of kind 2 in SERIES).
    pub rows: U32,
    /// Zero.
    pub reserved: U32,
    /// Number of levels: the sum of the corrected series' lengths.
    pub levels: U64,
}

/// No label (§4.3 `label`).
pub const NO_LABEL: u32 = u32::MAX;

/// One series as held in memory after the series table is decoded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeriesRecord {
    /// Series id.
    pub id: u64,
    /// Symbolic: index of the first symbol in SYMBOLS; lossless: byte offset in LOSSLESS
    /// (both derived: running sums of `count` per kind).
    pub start: u64,
    /// Symbolic: number of symbols; lossless: bytes of the pco stream.
    pub count: u64,
    /// Number of values n.
    pub len: u32,
    /// ABBA pieces (version 2 files: the symbols of a symbolic series, 0 for a lossless one).
    pub pieces: u32,
    /// Where the reconstruction starts: the first value, or the normalised first value.
    pub first: crate::codec::Start,
    /// Mean, as stored.
    pub mean: f64,
    /// Standard deviation, as stored (0: constant).
    pub std: f64,
    /// ε = ‖x − x̂‖₂.
    pub eps: f64,
    /// max |x − x̂|.
    pub max_abs_err: f64,
    /// Index into LABELS, or [`NO_LABEL`].
    pub label: u32,
    /// [`storage_kind`].
    pub kind: u8,
}

impl SeriesRecord {
    /// The stored moments.
    pub fn moments(&self) -> crate::codec::Moments {
        crate::codec::Moments {
            mean: self.mean,
            std: self.std,
        }
    }
}

/// §4.4 LABELS header, 8 bytes, followed by `count + 1` u64 offsets and the UTF-8 bytes.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct LabelsHeader {
    /// Number of distinct labels.
    pub count: U32,
    /// Zero.
    pub reserved: U32,
}

/// §4.5 SYMBOLS header, 16 bytes, followed by `blocks` [`BlockRecord`]s and the payloads.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct SymbolsHeader {
    /// Symbols over all blocks.
    pub total_symbols: U64,
    /// Number of blocks.
    pub blocks: U32,
    /// Bits per symbol when packed: ceil(log2 K).
    pub bits: U32,
}

/// §4.5 One symbol block, 48 bytes.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct BlockRecord {
    /// Index of the block's first symbol.
    pub first_symbol: U64,
    /// Symbols in the block.
    pub symbols: U64,
    /// Offset of the payload from the start of the SYMBOLS section.
    pub offset: U64,
    /// Payload bytes.
    pub bytes: U64,
    /// LZW codes (codec 2), else 0.
    pub lzw_codes: U64,
    /// 0 packed, 1 zstd, 2 LZW.
    pub codec: u8,
    /// Zero.
    pub reserved: [u8; 3],
    /// Version 2: CRC-32 of the payload (checked when the block is decoded). Version 1: zero.
    pub crc: U32,
}

const _: () = {
    assert!(size_of::<Header>() == 64);
    assert!(size_of::<TocEntry>() == 32);
    assert!(size_of::<ParamsRecord>() == 64);
    assert!(size_of::<CodebookHeader>() == 64);
    assert!(size_of::<SeriesHeader>() == 16);
    assert!(size_of::<LabelsHeader>() == 8);
    assert!(size_of::<SymbolsHeader>() == 16);
    assert!(size_of::<BlockRecord>() == 48);
};
