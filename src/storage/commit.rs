//! Durable replacement of one file: the five steps every write of qabbadb goes through.
//!
//! 1. create `<name>.tmp` in the same directory;
//! 2. write all bytes;
//! 3. fsync the file;
//! 4. rename it over `<name>`;
//! 5. fsync the directory, so that the rename itself is durable.
//!
//! A crash or an error before step 4 leaves `<name>` as it was (the `.tmp` file is removed on an
//! error, and collected as garbage after a crash). Each step has a fail point ([`super::faults`]).

use std::path::{Path, PathBuf};

use super::faults;
use super::io::{Io, RealIo};
use crate::error::{Error, Result};

/// Writes `bytes` to `path` via a synced temporary file and a rename, then syncs the directory.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomically_with(&RealIo, path, bytes)
}

/// [`write_atomically`] through the I/O seam `io`.
pub fn write_atomically_with(io: &dyn Io, path: &Path, bytes: &[u8]) -> Result<()> {
    write_parts_atomically_with(io, path, &[bytes])
}

/// [`write_atomically_with`] of the bytes of `parts` one after the other, written as they are
/// (a large file need not be copied into one buffer first).
pub fn write_parts_atomically_with(io: &dyn Io, path: &Path, parts: &[&[u8]]) -> Result<()> {
    let mut tmp = PathBuf::from(path);
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".tmp");
    tmp.set_file_name(name);
    let result = (|| {
        faults::check("create").map_err(|e| Error::io(&tmp, e))?;
        let mut f = io.create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        if let Err(e) = faults::check("write") {
            // A disk that fills up part-way: half the bytes land, then the error.
            let mut half = parts.iter().map(|p| p.len()).sum::<usize>() / 2;
            for p in parts {
                let n = half.min(p.len());
                let _ = f.write_all(&p[..n]);
                half -= n;
            }
            return Err(Error::io(&tmp, e));
        }
        for p in parts {
            f.write_all(p).map_err(|e| Error::io(&tmp, e))?;
        }
        faults::check("sync").map_err(|e| Error::io(&tmp, e))?;
        f.sync().map_err(|e| Error::io(&tmp, e))?;
        drop(f);
        faults::check("rename").map_err(|e| Error::io(path, e))?;
        io.rename(&tmp, path).map_err(|e| Error::io(path, e))?;
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        faults::check("dirsync").map_err(|e| Error::io(&dir, e))?;
        io.sync_dir(&dir).map_err(|e| Error::io(&dir, e))?;
        Ok(())
    })();
    if result.is_err() {
        let _ = io.remove(&tmp);
    }
    result
}
