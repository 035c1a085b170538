//! The INDEX section (FORMAT.md §4.8): breakpoints and, per length group, the members and words
//! in index order. Leaves and nodes are rebuilt from the words when loaded.

use crate::index::{BreakpointKind, Breakpoints, Index, LengthGroup};

/// Bytes before the group records: word_len, kind, reserved, groups, reserved, 255 cuts.
const HEAD: usize = 16 + 255 * 8;
/// Bytes per group record.
const GROUP: usize = 24;

/// Serializes an index.
pub fn serialize(index: &Index) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&(index.word_len as u32).to_le_bytes());
    out.push(match index.breakpoints.kind {
        BreakpointKind::Gaussian => 0,
        BreakpointKind::Kde => 1,
    });
    out.extend_from_slice(&[0; 3]);
    out.extend_from_slice(&(index.groups.len() as u32).to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    for c in &index.breakpoints.cuts {
        out.extend_from_slice(&c.to_le_bytes());
    }
    for g in &index.groups {
        out.extend_from_slice(&(g.len as u64).to_le_bytes());
        out.extend_from_slice(&(g.members.len() as u64).to_le_bytes());
        out.extend_from_slice(&(g.w as u32).to_le_bytes());
        out.extend_from_slice(&[0; 4]);
    }
    for g in &index.groups {
        for m in &g.members {
            out.extend_from_slice(&m.to_le_bytes());
        }
        out.extend_from_slice(&g.words);
    }
    out
}

/// The little-endian u32 at `at` (the caller checked the length).
fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// The little-endian u64 at `at` (the caller checked the length).
fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(b)
}

/// The head of an INDEX section (§4.8): the configured word length, the breakpoints and the
/// number of groups, checked.
pub fn parse_head(bytes: &[u8]) -> Result<(usize, Breakpoints, usize), String> {
    if bytes.len() < HEAD {
        return Err("shorter than its header".into());
    }
    let u32_at = |at: usize| u32_at(bytes, at);
    let u64_at = |at: usize| u64_at(bytes, at);
    let word_len = u32_at(0) as usize;
    if word_len == 0 || word_len > crate::index::MAX_WORD_LEN {
        return Err(format!(
            "word length {word_len} outside 1..={}",
            crate::index::MAX_WORD_LEN
        ));
    }
    let kind = match bytes[4] {
        0 => BreakpointKind::Gaussian,
        1 => BreakpointKind::Kde,
        k => return Err(format!("unknown breakpoint kind {k}")),
    };
    if bytes[5..8] != [0; 3] || u32_at(12) != 0 {
        return Err("reserved bytes are not zero".into());
    }
    let groups = u32_at(8) as usize;
    let cuts: Vec<f64> = (0..255)
        .map(|i| f64::from_bits(u64_at(16 + 8 * i)))
        .collect();
    if !cuts.iter().all(|c| c.is_finite()) || cuts.windows(2).any(|w| w[0] > w[1]) {
        return Err("breakpoints are not finite and ascending".into());
    }
    Ok((word_len, Breakpoints { kind, cuts }, groups))
}

/// Parses and checks an INDEX section against the series lengths of the segment. Errors say
/// what is wrong, for [`crate::Error::Corrupt`].
pub fn parse(bytes: &[u8], series_lens: &[u32]) -> Result<Index, String> {
    let (word_len, breakpoints, groups) = parse_head(bytes)?;
    let u32_at = |at: usize| u32_at(bytes, at);
    let u64_at = |at: usize| u64_at(bytes, at);
    let recs_end = groups
        .checked_mul(GROUP)
        .and_then(|g| g.checked_add(HEAD))
        .filter(|&e| e <= bytes.len())
        .ok_or("too short for its group records")?;
    let mut at = recs_end;
    let mut seen = vec![false; series_lens.len()];
    let mut out = Vec::with_capacity(groups);
    let mut prev_len = 0usize;
    for g in 0..groups {
        let r = HEAD + GROUP * g;
        let (len, count, w) = (
            u64_at(r) as usize,
            u64_at(r + 8) as usize,
            u32_at(r + 16) as usize,
        );
        if u32_at(r + 20) != 0 {
            return Err(format!("group {g}: reserved bytes are not zero"));
        }
        if count == 0 || len > u32::MAX as usize {
            return Err(format!("group {g}: {count} series of length {len}"));
        }
        if len <= prev_len || w != crate::index::paa::word_len_for(len, word_len) {
            return Err(format!(
                "group {g}: length {len} or word length {w} out of place"
            ));
        }
        prev_len = len;
        let need = count
            .checked_mul(4 + w)
            .filter(|&n| at.checked_add(n).is_some_and(|e| e <= bytes.len()))
            .ok_or_else(|| format!("group {g}: {count} series do not fit"))?;
        let members: Vec<u32> = bytes[at..at + 4 * count]
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        for &m in &members {
            let m = m as usize;
            if m >= series_lens.len() || seen[m] || series_lens[m] as usize != len {
                return Err(format!(
                    "group {g}: member {m} is out of range, repeated or of another length"
                ));
            }
            seen[m] = true;
        }
        let words = bytes[at + 4 * count..at + need].to_vec();
        at += need;
        out.push(LengthGroup::from_sorted(len, w, members, words));
    }
    if at != bytes.len() {
        return Err("bytes after the last group".into());
    }
    if let Some(m) = seen.iter().position(|s| !s) {
        return Err(format!("series {m} is in no group"));
    }
    Ok(Index {
        word_len,
        breakpoints,
        groups: out,
    })
}
