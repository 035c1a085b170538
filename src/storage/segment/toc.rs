//! The frame of a segment file (FORMAT.md §2, §3): the header, the table of contents, every
//! section's bounds and checksum, and the zero padding between them. What it finds is the byte
//! range of each known section; the sections themselves are parsed by their own modules.

use std::path::Path;

use zerocopy::FromBytes;

use super::layout::*;
use crate::error::{Error, Result};

/// Where the known sections of a file are, after the frame has been checked.
#[derive(Debug)]
pub(super) struct Frame {
    /// The file's format version.
    pub version: u32,
    /// The table of contents as stored.
    pub toc: Vec<TocEntry>,
    /// (offset, length) of each known section kind present.
    pub found: [Option<(usize, usize)>; SLOTS],
    /// The TOC checksum of each section found whose check [`read`] deferred to its first use.
    pub deferred: [Option<u32>; SLOTS],
}

/// One slot per kind this reader knows (`kind::PARAMS..=kind::CORRECTIONS`), indexed by kind.
pub(super) const SLOTS: usize = kind::CORRECTIONS as usize + 1;

/// `bytes[at..at+len]` when it exists.
pub(super) fn range(bytes: &[u8], at: u64, len: u64) -> Option<&[u8]> {
    let end = at.checked_add(len)?;
    if end > bytes.len() as u64 {
        return None;
    }
    Some(&bytes[at as usize..end as usize])
}

/// The sections whose size grows with the number of series and whose checksum is checked when
/// they are first used rather than at open (FORMAT.md §6), so that opening a segment does not read
/// them: SERIES and INDEX.
pub(super) const DEFERRED: [u32; 3] = [kind::SERIES, kind::INDEX, kind::CORRECTIONS];

/// Checks the header, the TOC, every section's bounds, alignment and checksum (but those of the
/// [`DEFERRED`] sections, returned in [`Frame::deferred`]), and that the bytes between sections
/// are zero.
pub(super) fn read(path: &Path, bytes: &[u8]) -> Result<Frame> {
    let corrupt = |section: &'static str, offset: u64, detail: String| Error::Corrupt {
        path: path.to_path_buf(),
        section,
        offset,
        detail,
    };
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
    let mut found: [Option<(usize, usize)>; SLOTS] = [None; SLOTS];
    let mut deferred: [Option<u32>; SLOTS] = [None; SLOTS];
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
        // Version 2: the checksum of RAW and RESIDUALS covers their head and block records;
        // each payload is checked against its record when it is decoded.
        let checked = match k {
            kind::SYMBOLS if version >= 2 => {
                let n = super::symbols::table_len(sec).ok_or_else(|| {
                    corrupt(name, at, "block table outside the section".into())
                })?;
                &sec[..n]
            }
            kind::RAW | kind::RESIDUALS if version >= 2 => {
                let n = super::block_table::table_len(sec, version).ok_or_else(|| {
                    corrupt(name, at, "block table outside the section".into())
                })?;
                &sec[..n]
            }
            _ => sec,
        };
        let defer = DEFERRED.contains(&k);
        if !defer && crc32fast::hash(checked) != e.crc.get() {
            return Err(corrupt(name, at, "section checksum mismatch".into()));
        }
        match k {
            kind::PARAMS..=kind::CORRECTIONS => {
                let slot = &mut found[k as usize];
                if slot.is_some() {
                    return Err(corrupt(name, at, "section appears twice".into()));
                }
                *slot = Some((at as usize, n as usize));
                if defer {
                    deferred[k as usize] = Some(e.crc.get());
                }
            }
            _ if e.flags.get() & FLAG_REQUIRED != 0 => {
                return Err(Error::Unsupported {
                    path: path.to_path_buf(),
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
    Ok(Frame {
        version,
        toc,
        found,
        deferred,
    })
}
