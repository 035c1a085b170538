//! The database directory: its writer lock, what a new database may be made in, and reading
//! the committed state (FORMAT.md §7, §9).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{Options, State};
use crate::error::{Error, Result};
use crate::storage::block_cache::BlockCache;
use crate::storage::cache::OpenSegment;
use crate::storage::manifest::{self, Manifest};
use crate::storage::names::{self, DbUid};

pub(super) fn lock_path(dir: &Path) -> PathBuf {
    dir.join(names::LOCK)
}

pub(super) fn take_lock(dir: &Path) -> Result<File> {
    let path = lock_path(dir);
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::Locked(dir.to_path_buf())),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::io(&path, e)),
    }
}

/// Writes the database id into the (held) LOCK file, so that the files of a build that never
/// committed can be told from anything else in the directory.
pub(super) fn write_lock_uid(lock: &mut File, dir: &Path, uid: DbUid) -> Result<()> {
    use std::io::{Seek, Write};
    let path = lock_path(dir);
    let io = |e| Error::io(&path, e);
    lock.set_len(0).map_err(io)?;
    lock.seek(std::io::SeekFrom::Start(0)).map_err(io)?;
    lock.write_all(format!("{}\n", uid.hex()).as_bytes())
        .map_err(io)?;
    lock.sync_all().map_err(io)
}

pub(super) fn entry_names(dir: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let e = e.map_err(|e| Error::io(dir, e))?;
        out.push(e.file_name().to_string_lossy().into_owned());
    }
    out.sort();
    Ok(out)
}

/// What a directory about to receive a new database holds: the files of an earlier build of
/// this directory that never committed (to remove), or an error when it holds a database or
/// anything that is not qabbadb's.
pub(super) fn leftovers_of_new_dir(dir: &Path) -> Result<Vec<String>> {
    let names_here = entry_names(dir)?;
    if names_here.iter().any(|n| n == manifest::FILE) {
        return Err(Error::Exists(dir.to_path_buf()));
    }
    let lock_uid = names::read_lock_uid(dir);
    let lock_is_ours =
        || std::fs::read(lock_path(dir)).is_ok_and(|b| b.is_empty()) || lock_uid.is_some();
    let mut leftovers = Vec::new();
    let mut strangers = Vec::new();
    for n in names_here {
        if n == names::LOCK && lock_is_ours() {
            continue;
        }
        match lock_uid {
            Some(u) if names::is_own_file(&n, u, false) => leftovers.push(n),
            _ => strangers.push(n),
        }
    }
    if !strangers.is_empty() {
        let shown: Vec<&str> = strangers.iter().take(3).map(String::as_str).collect();
        let more = strangers.len().saturating_sub(3);
        return Err(Error::NotEmpty {
            path: dir.to_path_buf(),
            found: if more > 0 {
                format!("{} and {more} more", shown.join(", "))
            } else {
                shown.join(", ")
            },
        });
    }
    Ok(leftovers)
}

pub(super) fn check_dir(dir: &Path) -> Result<()> {
    if dir.is_file() {
        return Err(Error::NotADatabase {
            path: dir.to_path_buf(),
            why: "a file; a database is a directory".into(),
        });
    }
    if !dir.is_dir() {
        return Err(Error::NotADatabase {
            path: dir.to_path_buf(),
            why: "no such directory".into(),
        });
    }
    Ok(())
}

pub(super) fn read_manifest(dir: &Path) -> Result<Manifest> {
    let path = dir.join(manifest::FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let names_here = entry_names(dir).unwrap_or_default();
            let why = if names_here.is_empty() {
                "an empty directory".to_string()
            } else if names::read_lock_uid(dir).is_some() {
                "a build that never finished: run build again to start over".to_string()
            } else {
                "it has no MANIFEST".to_string()
            };
            return Err(Error::NotADatabase {
                path: dir.to_path_buf(),
                why,
            });
        }
        Err(e) => return Err(Error::io(&path, e)),
    };
    Manifest::from_bytes(&path, &bytes)
}

pub(super) fn load_state(
    dir: &Path,
    manifest: Manifest,
    previous: Option<&State>,
    cache: &Arc<BlockCache>,
) -> Result<State> {
    // Segment files are written once under unique names: a file the previous state has open is
    // the same file, so its reader and decoded data serve again (only the deletes may differ).
    let known = |e: &crate::storage::manifest::SegmentEntry| {
        previous.and_then(|p| {
            p.manifest
                .segments
                .iter()
                .position(|o| o.file == e.file)
                .map(|i| (&p.manifest.segments[i], &p.segments[i]))
        })
    };
    // Segments open in parallel: each parses its own tables.
    let segments = super::parallel::map(&manifest.segments, |e| match known(e) {
        Some((old, seg)) if old == e => Ok(seg.clone()),
        Some((_, seg)) => seg.reopen(dir, e).map(Arc::new),
        None => OpenSegment::open(dir, e, cache).map(Arc::new),
    })?;
    Ok(State {
        dir: dir.to_path_buf(),
        options: Options::from_json(&manifest.options)?,
        manifest,
        segments,
        cache: cache.clone(),
    })
}

/// How often a reader starts over when a commit removed a file between its reading the MANIFEST
/// and opening the files it names.
pub(super) const OPEN_RETRIES: usize = 1000;

pub(super) fn is_missing_file(e: &Error) -> bool {
    matches!(e, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
}

/// Reads the current MANIFEST and opens everything it names. A writer removes the files of
/// older commits after each commit; a file that vanished between the two steps means a newer
/// MANIFEST is in place, so the reader reads that one and starts again. A missing file with no
/// newer MANIFEST is damage, reported as it is.
pub(super) fn load_current(
    dir: &Path,
    previous: Option<&State>,
    cache: &Arc<BlockCache>,
) -> Result<State> {
    let mut m = read_manifest(dir)?;
    for _ in 0..OPEN_RETRIES {
        match load_state(dir, m.clone(), previous, cache) {
            Err(e) if is_missing_file(&e) => {
                let now = read_manifest(dir)?;
                if now.generation == m.generation {
                    return Err(e);
                }
                m = now;
            }
            done => return done,
        }
    }
    load_state(dir, m, previous, cache)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::ingest::Dataset;
    use crate::{Database, Options, Query};

    fn walks(count: usize, seed: u64) -> Dataset {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        Dataset::from_series(
            (0..count)
                .map(|_| {
                    let mut acc = 0.0;
                    (0..64)
                        .map(|_| {
                            acc += rng.gen_range(-1.0..1.0);
                            acc
                        })
                        .collect()
                })
                .collect(),
        )
    }

    /// A delete, and a `refresh` of another handle after an append and a delete, keep the
    /// readers and decoded data of the segments whose files did not change.
    #[test]
    fn unchanged_segments_are_not_opened_again() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("db");
        let (db, _) = Database::build(&path, &walks(50, 1), &Options::default()).unwrap();
        let q = walks(1, 9).series.remove(0);
        db.snapshot().search(&Query::knn(&q, 3)).unwrap();
        let before = db.snapshot().state.segments[0].clone();
        assert!(before.search.get().is_some(), "search decoded the segment");
        db.delete(&[3u64]).unwrap();
        let after = db.snapshot().state.segments[0].clone();
        assert!(Arc::ptr_eq(&before.reader, &after.reader));
        assert!(Arc::ptr_eq(&before.search, &after.search));
        assert!(!after.is_live(3) && before.is_live(3));

        let reader = Database::open_read_only(&path).unwrap();
        reader.snapshot().search(&Query::knn(&q, 3)).unwrap();
        let seen = reader.snapshot().state.segments[0].clone();
        db.append(&walks(10, 2)).unwrap();
        db.delete(&[4u64]).unwrap();
        reader.refresh().unwrap();
        let state = reader.snapshot().state.clone();
        assert_eq!(state.segments.len(), 2);
        assert!(Arc::ptr_eq(&seen.reader, &state.segments[0].reader));
        assert!(Arc::ptr_eq(&seen.search, &state.segments[0].search));
        assert!(!state.segments[0].is_live(4) && seen.is_live(4));
        // The answers are those of a fresh open.
        let fresh = Database::open_read_only(&path).unwrap();
        assert_eq!(
            reader
                .snapshot()
                .search(&Query::knn(&q, 5))
                .unwrap()
                .neighbors,
            fresh
                .snapshot()
                .search(&Query::knn(&q, 5))
                .unwrap()
                .neighbors
        );
    }
}
