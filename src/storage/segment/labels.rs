//! The LABELS section (FORMAT.md §4.4): the distinct labels, as UTF-8 strings behind offsets.

use zerocopy::FromBytes;

use super::layout::LabelsHeader;
use super::SectionResult;

/// The labels, in the order series records refer to them.
pub(super) fn parse(sec: &[u8]) -> SectionResult<Vec<String>> {
    let (lh, rest) =
        LabelsHeader::read_from_prefix(sec).map_err(|_| (0, "shorter than its header".to_string()))?;
    let count = lh.count.get() as usize;
    if lh.reserved.get() != 0 {
        return Err((4, "reserved bytes are not zero".into()));
    }
    let offs_len = count
        .checked_add(1)
        .and_then(|c| c.checked_mul(8))
        .filter(|&l| l <= rest.len())
        .ok_or_else(|| (0, format!("too short for {count} labels")))?;
    let (offs, text) = rest.split_at(offs_len);
    let offs: Vec<u64> = offs
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
        .collect();
    if offs[0] != 0 || offs[count] != text.len() as u64 || offs.windows(2).any(|w| w[0] > w[1]) {
        return Err((8, "label offsets out of order or out of range".into()));
    }
    offs.windows(2)
        .map(|w| {
            std::str::from_utf8(&text[w[0] as usize..w[1] as usize])
                .map(str::to_string)
                .map_err(|_| (0, "label is not UTF-8".to_string()))
        })
        .collect()
}
