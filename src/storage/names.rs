//! The names of the files qabbadb writes in a database directory (FORMAT.md §9), and the one
//! test that decides whether a file is the database's own: garbage collection and the clean-up
//! after an interrupted build remove only files that pass it.
//!
//! Every database gets a random 64-bit id when it is created (`uid` in the MANIFEST, also the
//! content of its LOCK file). Segment names carry it, delete-file names extend segment names, and
//! temporary files add `.tmp` to a final name:
//!
//! ```text
//! <uid: 16 hex>-<generation: 6+ digits>-<8 hex>.qseg
//! <segment stem>.<generation: 6+ digits>.del
//! <either of them>.tmp, MANIFEST.tmp
//! ```
//!
//! Databases made before the id existed name segments `<generation>-<16 hex>.qseg`; those names
//! count as the database's own while its MANIFEST still names such a segment, and for the life
//! of a writer that opened it so (which collects the old segments a compaction replaces).

use std::path::Path;

/// A database's random id, written as 16 lowercase hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DbUid(pub u64);

impl DbUid {
    /// A fresh random id.
    pub fn random() -> DbUid {
        DbUid(rand::random::<u64>())
    }

    /// Parses the 16 hex digits of [`DbUid::hex`] (surrounding whitespace ignored).
    pub fn parse(s: &str) -> Option<DbUid> {
        let s = s.trim();
        if s.len() != 16 || !is_hex(s) {
            return None;
        }
        u64::from_str_radix(s, 16).ok().map(DbUid)
    }

    /// The id as 16 lowercase hex digits.
    pub fn hex(self) -> String {
        format!("{:016x}", self.0)
    }

    /// A new segment file name for the commit of `generation`.
    pub fn segment_name(self, generation: u64) -> String {
        format!(
            "{}-{generation:06}-{:08x}.qseg",
            self.hex(),
            rand::random::<u32>()
        )
    }
}

/// The delete file of segment `segment` as of `generation`.
pub fn delete_name(segment: &str, generation: u64) -> String {
    let stem = segment.strip_suffix(".qseg").unwrap_or(segment);
    format!("{stem}.{generation:06}.del")
}

/// The temporary file that `write_atomically` writes before renaming it over `name`.
pub const TMP_SUFFIX: &str = ".tmp";

/// The LOCK file's name.
pub const LOCK: &str = "LOCK";

fn is_hex(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn is_generation(s: &str) -> bool {
    s.len() >= 6 && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit())
}

/// The stem of a segment name of database `uid`: `<uid>-<generation>-<8 hex>`.
fn is_segment_stem(stem: &str, uid: DbUid) -> bool {
    let mut parts = stem.split('-');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(u), Some(g), Some(r), None) => {
            DbUid::parse(u) == Some(uid)
                && u.len() == 16
                && is_generation(g)
                && r.len() == 8
                && is_hex(r)
        }
        _ => false,
    }
}

/// The stem of a segment name written before database ids: `<generation>-<16 hex>`.
fn is_legacy_segment_stem(stem: &str) -> bool {
    match stem.split_once('-') {
        Some((g, r)) => is_generation(g) && r.len() == 16 && is_hex(r),
        None => false,
    }
}

/// Whether `name` is a segment file name (of `uid`, or of the older form when `legacy`).
pub fn is_segment(name: &str, uid: DbUid, legacy: bool) -> bool {
    name.strip_suffix(".qseg")
        .is_some_and(|stem| is_segment_stem(stem, uid) || (legacy && is_legacy_segment_stem(stem)))
}

/// Whether `name` is an old-form segment name (databases made before database ids).
pub fn is_legacy_segment(name: &str) -> bool {
    name.strip_suffix(".qseg")
        .is_some_and(is_legacy_segment_stem)
}

/// Whether `name` is a delete-file name of a segment of `uid` (or of the older form).
pub fn is_delete_file(name: &str, uid: DbUid, legacy: bool) -> bool {
    let Some(rest) = name.strip_suffix(".del") else {
        return false;
    };
    match rest.rsplit_once('.') {
        Some((stem, g)) => {
            is_generation(g)
                && (is_segment_stem(stem, uid) || (legacy && is_legacy_segment_stem(stem)))
        }
        None => false,
    }
}

/// Whether `name` is a file this database wrote and may remove when no MANIFEST names it:
/// a segment, a delete file, or the temporary file of one of them or of the MANIFEST.
pub fn is_own_file(name: &str, uid: DbUid, legacy: bool) -> bool {
    let base = name.strip_suffix(TMP_SUFFIX).unwrap_or(name);
    if name.ends_with(TMP_SUFFIX) && base == crate::storage::manifest::FILE {
        return true;
    }
    is_segment(base, uid, legacy) || is_delete_file(base, uid, legacy)
}

/// Reads the database id kept in a LOCK file (`None` when it holds none, as in older databases).
pub fn read_lock_uid(dir: &Path) -> Option<DbUid> {
    std::fs::read_to_string(dir.join(LOCK))
        .ok()
        .and_then(|s| DbUid::parse(&s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_names_and_others() {
        let uid = DbUid(0x0123_4567_89ab_cdef);
        let other = DbUid(7);
        let seg = uid.segment_name(3);
        assert!(is_segment(&seg, uid, false), "{seg}");
        assert!(!is_segment(&seg, other, true));
        let del = delete_name(&seg, 12);
        assert!(is_delete_file(&del, uid, false), "{del}");
        for n in [&seg, &del] {
            assert!(is_own_file(n, uid, false));
            assert!(is_own_file(&format!("{n}.tmp"), uid, false));
            assert!(!is_own_file(n, other, true));
        }
        assert!(is_own_file("MANIFEST.tmp", uid, false));
        for n in [
            "MANIFEST",
            "LOCK",
            "notes.tmp",
            "backup.del",
            "x.qseg",
            "good.npy",
            "000001-0123456789abcdef.qseg.bak",
            "0123456789abcdef-000001-0000000g.qseg",
            "0123456789abcdef-00001-00000000.qseg",
        ] {
            assert!(!is_own_file(n, uid, true), "{n}");
        }
        let legacy = "000004-00000000deadbeef.qseg";
        assert!(!is_own_file(legacy, uid, false));
        assert!(is_own_file(legacy, uid, true));
        assert!(is_own_file(
            "000004-00000000deadbeef.000009.del.tmp",
            uid,
            true
        ));
        assert!(is_legacy_segment(legacy));
        assert_eq!(DbUid::parse(&uid.hex()), Some(uid));
        assert_eq!(DbUid::parse("xyz"), None);
    }
}
