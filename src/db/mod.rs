//! [`Database`]: a directory of immutable segments named by an atomically replaced MANIFEST.
//!
//! ```text
//! DB/
//!   MANIFEST                                  the commit point (FORMAT.md §9)
//!   LOCK                                      held (flock) by the one writer; the database id
//!   <id>-000001-<random>.qseg                 segments (FORMAT.md §2–§8), never changed once written
//!   <id>-000001-<random>.000004.del           deleted ids of a segment as of generation 4 (§10)
//! ```
//!
//! Every change writes new files first (each synced), then a new MANIFEST (temporary file,
//! fsync, rename, fsync of the directory). A crash at any point leaves the previous MANIFEST and
//! everything it names intact; the database's own files that no MANIFEST names are removed by
//! the writer after each commit and when it opens the database. Readers work on a [`Snapshot`]:
//! the segments it holds stay mapped and readable whatever later commits do.
//!
//! The parts: [`options`] (what a database is built with), `dir` (lock, directory rules,
//! reading the committed state), `write` (append, delete, commit, garbage collection),
//! `compact`, `snapshot` (reading series), `query` (search), `info` and `verify`.

mod bulk;
mod compact;
mod dir;
mod info;
pub mod options;
mod parallel;
mod query;
mod snapshot;
pub mod tune;

pub use bulk::{BulkLoader, BulkOptions, BulkProgress};
mod verify;
mod write;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

pub use info::{BlockCounts, Info, SegmentInfo};
pub use options::Options;
pub use query::{Query, Target};
pub use snapshot::{SeriesInfo, Snapshot};
pub use verify::Problem;
pub use write::{BuildReport, DeleteReport};

use crate::error::{Error, Result};
use crate::ingest::Dataset;
use crate::storage::block_cache::{self, BlockCache};
use crate::storage::cache::OpenSegment;
use crate::storage::io::{self, Io};
use crate::storage::manifest::{self, Manifest};
use crate::storage::names::{self, DbUid};
use crate::storage::segment::layout::FORMAT_VERSION;
use dir::{
    check_dir, entry_names, leftovers_of_new_dir, load_current, lock_path, read_manifest,
    take_lock, write_lock_uid,
};

/// The committed state a snapshot sees.
#[derive(Debug)]
struct State {
    /// The database directory (for file sizes).
    dir: PathBuf,
    /// The options the MANIFEST holds.
    options: Options,
    manifest: Manifest,
    segments: Vec<Arc<OpenSegment>>,
    /// The cache of decoded blocks the segments share.
    cache: Arc<BlockCache>,
}

/// An open database: a writer (holding the LOCK) or a reader. Reads and searches go through a
/// [`Snapshot`] of one commit ([`Database::snapshot`]).
#[derive(Debug)]
pub struct Database {
    dir: PathBuf,
    options: Options,
    /// The database's id, carried by the names of the files it writes.
    uid: DbUid,
    /// The database was made before database ids: old-form names are its own too for the life
    /// of this handle (so that the segments a compaction replaces are collected).
    legacy: bool,
    /// The LOCK file, locked, when this handle may write.
    lock: Option<File>,
    /// Where the write path's file operations go (the real file system but in tests).
    io: Arc<dyn Io>,
    state: RwLock<Arc<State>>,
    writing: Mutex<()>,
}

impl Database {
    /// Creates an empty database in directory `dir` and opens it for writing. The directory is
    /// created if needed; an existing one must be empty (or hold only the files of a build of
    /// it that never committed, which are removed).
    pub fn create(dir: &Path, options: &Options) -> Result<Database> {
        if options.codec.target_rmse.is_some() {
            return Err(Error::InvalidOptions(
                "target_rmse chooses the tolerance from the series: build the database with them"
                    .into(),
            ));
        }
        if options.codec.tol_auto == Some(true) {
            return Err(Error::InvalidOptions(
                "tol_auto chooses the tolerance from the series: build the database with them"
                    .into(),
            ));
        }
        let (db, _) = Self::prepare(dir, options, io::real())?;
        let m = db.snapshot().state.manifest.clone();
        db.commit(m, Vec::new())?;
        Ok(db)
    }

    /// Creates a database in `dir` (as [`Database::create`] requires of it) holding `data`
    /// (fitting the codebook to it). The first MANIFEST already names the data: a build that
    /// fails or is killed leaves no database behind, only files that the next build of the same
    /// directory removes.
    pub fn build(dir: &Path, data: &Dataset, options: &Options) -> Result<(Database, BuildReport)> {
        Self::build_with_io(dir, data, options, io::real())
    }

    /// [`Database::build`] with the write path's file operations going to `io` (tests: a
    /// simulated disk).
    #[cfg(feature = "testing")]
    pub fn build_through(
        dir: &Path,
        data: &Dataset,
        options: &Options,
        io: Arc<dyn Io>,
    ) -> Result<(Database, BuildReport)> {
        Self::build_with_io(dir, data, options, io)
    }

    fn build_with_io(
        dir: &Path,
        data: &Dataset,
        options: &Options,
        io: Arc<dyn Io>,
    ) -> Result<(Database, BuildReport)> {
        let existed = dir.exists();
        options.validate()?;
        let (options, tuning) = match options.codec.target_rmse {
            Some(t) if !data.series.is_empty() => {
                crate::ingest::validate(&data.series)?;
                let tuning = tune::tol_for_target(&data.series, &options.encoding(), t)?;
                (options.clone().tol(tuning.tol), Some(tuning))
            }
            None if options.codec.tunes_tol() && !data.series.is_empty() => {
                crate::ingest::validate(&data.series)?;
                let tuning = tune::tol_for_fewest_bytes(&data.series, &options.encoding())?;
                let mut chosen = options.clone();
                chosen.codec.tol = tuning.tol;
                chosen.codec.tol_auto = Some(true);
                (chosen, Some(tuning))
            }
            _ => (options.clone(), None),
        };
        let (db, cleaned) = Self::prepare(dir, &options, io)?;
        match db.append(data) {
            Ok(mut report) => {
                report.cleaned = cleaned;
                report.tuning = tuning;
                Ok((db, report))
            }
            Err(e) => {
                db.abandon(!existed);
                Err(e)
            }
        }
    }

    /// Takes the lock of a new database directory and gives it an id; nothing is committed.
    /// Returns the handle and the files of an earlier, uncommitted build that were removed.
    fn prepare(dir: &Path, options: &Options, io: Arc<dyn Io>) -> Result<(Database, Vec<String>)> {
        options.validate()?;
        if dir.is_file() {
            return Err(Error::NotADatabase {
                path: dir.to_path_buf(),
                why: "a file; a database is a directory".into(),
            });
        }
        if dir.is_dir() {
            // Refuse before creating anything in a directory that is not ours.
            leftovers_of_new_dir(dir)?;
        }
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let mut lock = take_lock(dir)?;
        let cleaned = leftovers_of_new_dir(dir)?;
        for n in &cleaned {
            let p = dir.join(n);
            io.remove(&p).map_err(|e| Error::io(&p, e))?;
        }
        let uid = DbUid::random();
        write_lock_uid(&mut lock, dir, uid)?;
        // The LOCK's name made durable before any file of the build: after a power cut the id
        // it holds still tells this build's leftovers from anything else.
        io.sync_dir(dir).map_err(|e| Error::io(dir, e))?;
        let m = Manifest {
            format_version: FORMAT_VERSION,
            generation: 0,
            next_id: 0,
            segments: Vec::new(),
            options: options.to_json(),
            uid: Some(uid.hex()),
        };
        let db = Database {
            dir: dir.to_path_buf(),
            options: options.clone(),
            uid,
            legacy: false,
            lock: Some(lock),
            io,
            state: RwLock::new(Arc::new(State {
                dir: dir.to_path_buf(),
                options: options.clone(),
                manifest: m,
                segments: Vec::new(),
                cache: Arc::new(BlockCache::new(block_cache::DEFAULT_CACHE_BYTES)),
            })),
            writing: Mutex::new(()),
        };
        Ok((db, cleaned))
    }

    /// After a build failed before its first commit: removes what it wrote (its own files and
    /// the LOCK), and the directory too when the build created it and it is empty now.
    fn abandon(self, created_dir: bool) {
        if self.dir.join(manifest::FILE).exists() {
            return;
        }
        if let Ok(names_here) = entry_names(&self.dir) {
            for n in names_here {
                if names::is_own_file(&n, self.uid, false) {
                    let _ = self.io.remove(&self.dir.join(n));
                }
            }
        }
        let _ = std::fs::remove_file(lock_path(&self.dir));
        let dir = self.dir.clone();
        drop(self);
        if created_dir {
            let _ = std::fs::remove_dir(&dir);
        }
    }

    /// Opens the database in `dir` for reading and writing (taking its writer lock).
    pub fn open(dir: &Path) -> Result<Database> {
        Self::open_writer(dir, io::real())
    }

    /// [`Database::open`] with the write path's file operations going to `io` (tests: a
    /// simulated disk).
    #[cfg(feature = "testing")]
    pub fn open_through(dir: &Path, io: Arc<dyn Io>) -> Result<Database> {
        Self::open_writer(dir, io)
    }

    fn open_writer(dir: &Path, io: Arc<dyn Io>) -> Result<Database> {
        check_dir(dir)?;
        read_manifest(dir)?;
        let lock = take_lock(dir)?;
        let db = Self::open_with(dir, Some(lock), io)?;
        db.collect_garbage();
        Ok(db)
    }

    /// Opens the database in `dir` for reading only (no lock; other processes may write).
    pub fn open_read_only(dir: &Path) -> Result<Database> {
        check_dir(dir)?;
        Self::open_with(dir, None, io::real())
    }

    fn open_with(dir: &Path, lock: Option<File>, io: Arc<dyn Io>) -> Result<Database> {
        let cache = Arc::new(BlockCache::new(block_cache::DEFAULT_CACHE_BYTES));
        let state = load_current(dir, None, &cache)?;
        let options = Options::from_json(&state.manifest.options)?;
        let uid = state.manifest.uid.as_deref().and_then(DbUid::parse);
        let legacy = uid.is_none()
            || state
                .manifest
                .segments
                .iter()
                .any(|s| names::is_legacy_segment(&s.file));
        Ok(Database {
            dir: dir.to_path_buf(),
            options,
            uid: uid.unwrap_or_else(DbUid::random),
            legacy,
            lock,
            io,
            state: RwLock::new(Arc::new(state)),
            writing: Mutex::new(()),
        })
    }

    /// The database directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The options the database was created with.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// A consistent view of the current commit.
    pub fn snapshot(&self) -> Snapshot {
        let state = self.state.read().unwrap_or_else(|e| e.into_inner()).clone();
        Snapshot::new(state)
    }

    /// Bytes of decoded blocks (symbol, residual and raw blocks) that `get`, `get_raw` and
    /// search over the original values keep for later reads, for the whole database
    /// (default 256 MiB). Lowering it evicts at once.
    pub fn set_cache_bytes(&self, bytes: usize) {
        self.snapshot().state.cache.set_budget(bytes);
    }

    /// The cache's budget, the bytes it holds, and its (hits, misses) so far.
    pub fn cache_usage(&self) -> (usize, usize, (u64, u64)) {
        let c = &self.snapshot().state.cache;
        (c.budget(), c.bytes(), c.counts())
    }

    /// Re-reads the MANIFEST (for read-only handles following another process's writes).
    pub fn refresh(&self) -> Result<()> {
        let m = read_manifest(&self.dir)?;
        let current = self.snapshot();
        if current.generation() == m.generation {
            return Ok(());
        }
        let state = load_current(&self.dir, Some(&current.state), &current.state.cache)?;
        *self.state.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(state);
        Ok(())
    }

    fn check_writer(&self) -> Result<()> {
        if self.lock.is_none() {
            return Err(Error::ReadOnly);
        }
        Ok(())
    }
}
