//! `verify`: every file of a database read deeply, every problem reported with where it is.

use crate::storage::block_cache::BlockCache;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::dir::{read_manifest, OPEN_RETRIES};
use super::{Database, Options};
use crate::error::Error;
use crate::storage::cache::OpenSegment;
use crate::storage::segment::raw::SERIES_PER_BLOCK;

/// One problem `verify` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The damaged file (the MANIFEST, a segment or a delete file).
    pub path: PathBuf,
    /// The section of the file, as FORMAT.md names it, when known.
    pub section: Option<String>,
    /// Byte offset in the file, when known.
    pub offset: Option<u64>,
    /// What is wrong.
    pub detail: String,
}

impl Problem {
    /// The problem an error stands for; `file` is the file being read when it came up.
    fn of(e: &Error, file: &Path) -> Problem {
        match e {
            Error::Corrupt {
                path,
                section,
                offset,
                detail,
            } => Problem {
                path: path.clone(),
                section: Some(section.to_string()),
                offset: Some(*offset),
                detail: detail.clone(),
            },
            Error::Io { path, source } => Problem {
                path: path.clone(),
                section: None,
                offset: None,
                detail: source.to_string(),
            },
            other => Problem {
                path: file.to_path_buf(),
                section: None,
                offset: None,
                detail: other.to_string(),
            },
        }
    }

    fn plain(path: PathBuf, detail: String) -> Problem {
        Problem {
            path,
            section: None,
            offset: None,
            detail,
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: ", self.path.display())?;
        match (&self.section, self.offset) {
            (Some(s), Some(o)) => write!(f, "corrupt {s} at byte {o}: ")?,
            (Some(s), None) => write!(f, "{s}: ")?,
            _ => {}
        }
        f.write_str(&self.detail)
    }
}

impl Database {
    /// Checks every file deeply (checksums, every block and lossless stream, raw values, index,
    /// deletes) without stopping at the first problem; returns the problems found (empty:
    /// healthy). A commit by another process while it reads is not damage: when problems are
    /// found and a newer MANIFEST is in place, it verifies that one instead.
    pub fn verify(dir: &Path) -> Vec<Problem> {
        let mut problems = Vec::new();
        for _ in 0..OPEN_RETRIES {
            let generation;
            (generation, problems) = verify_once(dir);
            if problems.is_empty() || read_manifest(dir).map(|m| m.generation).ok() == generation {
                break;
            }
        }
        problems
    }
}

fn verify_once(dir: &Path) -> (Option<u64>, Vec<Problem>) {
    let mut problems = Vec::new();
    let manifest_path = dir.join(crate::storage::manifest::FILE);
    let m = match read_manifest(dir) {
        Ok(m) => m,
        Err(e) => return (None, vec![Problem::of(&e, &manifest_path)]),
    };
    if let Err(e) = Options::from_json(&m.options) {
        problems.push(Problem::of(&e, &manifest_path));
    }
    for entry in &m.segments {
        let file = dir.join(&entry.file);
        // Verification reads every block once: nothing worth keeping.
        let cache = std::sync::Arc::new(BlockCache::new(0));
        match OpenSegment::open(dir, entry, &cache) {
            Err(e) => problems.push(Problem::of(&e, &file)),
            Ok(seg) => {
                if let Err(e) = seg.reader.for_each_decoded(|_, _| Ok(())) {
                    problems.push(Problem::of(&e, &file));
                }
                if seg.reader.has_raw() {
                    if let Some(e) = (0..seg.reader.len())
                        .step_by(SERIES_PER_BLOCK)
                        .find_map(|p| seg.reader.raw_values(p).err())
                    {
                        problems.push(Problem::of(&e, &file));
                    }
                }
                match seg.reader.index() {
                    Err(e) => problems.push(Problem::of(&e, &file)),
                    Ok(None) if m.options.get("index").is_some_and(|i| !i.is_null()) => {
                        problems.push(Problem::plain(file, "the search index is missing".into()))
                    }
                    Ok(_) => {}
                }
            }
        }
    }
    (Some(m.generation), problems)
}
