//! The SYMBOLS section's block table (FORMAT.md §4.5): where each block of symbols is, how it
//! is coded and which symbols it holds. Block payloads are decoded when read.

use zerocopy::FromBytes;

use super::layout::{BlockRecord, SymbolsHeader};
use super::toc::range;
use super::SectionResult;
use crate::codec::symbols::BlockCodec;

/// The block holding symbol `s`.
pub(super) fn block_of(blocks: &[BlockRecord], s: u64) -> Option<usize> {
    let b = blocks
        .partition_point(|r| r.first_symbol.get() <= s)
        .checked_sub(1)?;
    let r = &blocks[b];
    (s < r.first_symbol.get() + r.symbols.get()).then_some(b)
}

/// Bytes of the SYMBOLS section's head and block records (what its TOC checksum covers in
/// version 2); `None` when they do not fit.
pub(super) fn table_len(sec: &[u8]) -> Option<usize> {
    let blocks = u32::from_le_bytes(sec.get(8..12)?.try_into().ok()?) as usize;
    blocks
        .checked_mul(size_of::<BlockRecord>())?
        .checked_add(size_of::<SymbolsHeader>())
        .filter(|&e| e <= sec.len())
}

/// The total number of symbols and the block table, for a codebook of `k` symbols: blocks
/// follow each other without gaps, each payload lies inside the section after the table.
/// Version 1 records have a zero `crc`.
pub(super) fn parse(sec: &[u8], k: usize, version: u32) -> SectionResult<(u64, Vec<BlockRecord>)> {
    let (sh, rest) =
        SymbolsHeader::read_from_prefix(sec).map_err(|_| (0, "shorter than its header".to_string()))?;
    let total_symbols = sh.total_symbols.get();
    let nblocks = sh.blocks.get() as usize;
    if sh.bits.get() != crate::codec::bitpack::width_for(k) {
        return Err((12, "bit width does not match the codebook".into()));
    }
    let table_len = nblocks
        .checked_mul(size_of::<BlockRecord>())
        .filter(|&t| t <= rest.len())
        .ok_or_else(|| (0, format!("too short for {nblocks} blocks")))?;
    let blocks: Vec<BlockRecord> = <[BlockRecord]>::ref_from_bytes(&rest[..table_len])
        .map_err(|_| (0, "bad block table".to_string()))?
        .to_vec();
    let mut expect_first = 0u64;
    for (b, r) in blocks.iter().enumerate() {
        let off = (size_of::<SymbolsHeader>() + b * size_of::<BlockRecord>()) as u64;
        let ok = r.first_symbol.get() == expect_first
            && r.reserved == [0; 3]
            && (version >= 2 || r.crc.get() == 0)
            && (r.codec == BlockCodec::Lzw as u8 || r.lzw_codes.get() == 0)
            && r.symbols.get() > 0
            && BlockCodec::from_tag(r.codec).is_some()
            && range(sec, r.offset.get(), r.bytes.get()).is_some()
            && r.offset.get() >= (size_of::<SymbolsHeader>() + table_len) as u64;
        if !ok {
            return Err((off, format!("block {b} is inconsistent")));
        }
        expect_first = expect_first
            .checked_add(r.symbols.get())
            .ok_or_else(|| (off, "symbol count overflows".to_string()))?;
    }
    if expect_first != total_symbols {
        return Err((0, "blocks do not add up to the symbol total".into()));
    }
    if total_symbols > 0 && k == 0 {
        return Err((0, "symbols stored without a codebook".into()));
    }
    Ok((total_symbols, blocks))
}
