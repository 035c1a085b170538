//! The I/O seam of the write path: every file operation that makes a change durable (create,
//! write, sync, rename, directory sync, remove) goes through [`Io`]. The real file system
//! ([`RealIo`]) is the only implementation the library uses; tests substitute a simulated disk
//! that records each operation and can cut the power after any of them. Reads (memory maps of
//! segments, the MANIFEST, delete files) do not go through it.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

/// A file being written.
pub trait IoFile: Send {
    /// Appends `bytes`.
    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()>;
    /// Makes the file's data durable (fsync).
    fn sync(&mut self) -> std::io::Result<()>;
}

/// The file operations of the write path.
pub trait Io: Send + Sync + std::fmt::Debug {
    /// Creates (or truncates) the file at `path` for writing.
    fn create(&self, path: &Path) -> std::io::Result<Box<dyn IoFile>>;
    /// Renames `from` over `to` (atomically, in one directory).
    fn rename(&self, from: &Path, to: &Path) -> std::io::Result<()>;
    /// Makes the directory's entries durable (fsync of the directory).
    fn sync_dir(&self, dir: &Path) -> std::io::Result<()>;
    /// Removes the file at `path`.
    fn remove(&self, path: &Path) -> std::io::Result<()>;
}

/// The operating system's file system.
#[derive(Debug, Default, Clone, Copy)]
pub struct RealIo;

struct RealFile(std::fs::File);

impl IoFile for RealFile {
    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.0.write_all(bytes)
    }

    fn sync(&mut self) -> std::io::Result<()> {
        self.0.sync_all()
    }
}

impl Io for RealIo {
    fn create(&self, path: &Path) -> std::io::Result<Box<dyn IoFile>> {
        Ok(Box::new(RealFile(std::fs::File::create(path)?)))
    }

    fn rename(&self, from: &Path, to: &Path) -> std::io::Result<()> {
        std::fs::rename(from, to)
    }

    fn sync_dir(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::File::open(dir)?.sync_all()
    }

    fn remove(&self, path: &Path) -> std::io::Result<()> {
        std::fs::remove_file(path)
    }
}

/// The real file system, shared.
pub fn real() -> Arc<dyn Io> {
    Arc::new(RealIo)
}
