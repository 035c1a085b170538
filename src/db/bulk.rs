//! Streaming bulk load: series pushed one by one or in batches into a new database, in memory
//! bounded by the segment size, not by the number of series.
//!
//! The codebook (and, with the first segment, the index breakpoints) is fitted to a sample: the
//! first series pushed, until they hold [`BulkOptions::sample_values`] values. Every later series
//! is encoded with that codebook in chunks of [`BulkOptions::chunk_series`] (in parallel, the
//! output independent of the thread count), and a segment is written and committed each time
//! [`BulkOptions::segment_series`] series are encoded: a bulk load that fails or is killed keeps
//! every segment committed before (the database opens and verifies), and one that fails before
//! its first commit leaves no database, as a failed `build` does.
//!
//! What is held: the pending chunk of series, and the encoded series of the segment being filled
//! (their symbols, about 100 bytes a series); with `keep_raw`, the segment's original values too.

use std::path::Path;

use crate::codec::{self, Codebook, EncodedSeries};
use crate::error::{Error, Result};
use crate::ingest::Dataset;
use crate::storage::io;
use crate::storage::segment::RawBuilder;

use super::write::RawInput;
use super::{BuildReport, Database, Options};

/// Sizes of a bulk load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkOptions {
    /// Values the codebook is fitted to: the first series pushed until they hold this many
    /// (default 5,000,000, a few hundred thousand pieces on typical data).
    pub sample_values: usize,
    /// Series encoded together (default 16,384).
    pub chunk_series: usize,
    /// Series a segment holds before it is written and committed (default 1,000,000).
    pub segment_series: usize,
}

impl Default for BulkOptions {
    fn default() -> Self {
        BulkOptions {
            sample_values: 5_000_000,
            chunk_series: 16_384,
            segment_series: 1_000_000,
        }
    }
}

impl BulkOptions {
    /// Checks that the chunk and segment sizes are at least 1.
    pub fn validate(&self) -> Result<()> {
        if self.chunk_series == 0 || self.segment_series == 0 {
            return Err(Error::InvalidOptions(
                "bulk load chunk and segment sizes must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

/// How far a bulk load has come, for progress callbacks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BulkProgress {
    /// Series pushed.
    pub series: u64,
    /// Values pushed.
    pub values: u64,
    /// Series in committed segments.
    pub committed: u64,
    /// Segments committed.
    pub segments: u64,
}

/// A bulk load into a new database ([`Database::bulk_loader`]) or an existing one
/// ([`Database::append_loader`]).
pub struct BulkLoader {
    db: Option<Database>,
    created_dir: bool,
    sizes: BulkOptions,
    codebook: Option<Codebook>,
    alpha: Option<f64>,
    pending: Dataset,
    pending_values: usize,
    encoded: Vec<EncodedSeries>,
    labels: Vec<Option<String>>,
    /// `keep_raw`: the originals of the pending segment, compressed block by block.
    raw: RawBuilder,
    fit: codec::FitReport,
    progress: BulkProgress,
    report: BuildReport,
    /// An error ended the load: the series after the last commit are not stored.
    failed: bool,
    on_progress: Option<Box<dyn FnMut(BulkProgress) + Send>>,
}

impl std::fmt::Debug for BulkLoader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BulkLoader")
            .field("sizes", &self.sizes)
            .field("progress", &self.progress)
            .finish_non_exhaustive()
    }
}

impl Database {
    /// Starts a bulk load into a new database in `dir` (a new or empty directory, as for
    /// [`Database::build`]). Nothing is committed until the first segment fills or
    /// [`BulkLoader::finish`].
    pub fn bulk_loader(dir: &Path, options: &Options, sizes: BulkOptions) -> Result<BulkLoader> {
        if options.codec.target_rmse.is_some() {
            return Err(Error::InvalidOptions(
                "target_rmse is not supported by bulk loads: choose tol with a build of a sample"
                    .into(),
            ));
        }
        // Before anything is created in `dir`.
        sizes.validate()?;
        let existed = dir.exists();
        let (db, cleaned) = Database::prepare(dir, options, io::real())?;
        let mut loader = BulkLoader::start(db, sizes, None, None)?;
        loader.created_dir = !existed;
        loader.report.cleaned = cleaned;
        Ok(loader)
    }
}

impl Database {
    /// Starts a bulk append to this database (opened for writing): as [`Database::append`],
    /// the series get new ids and the codebook and breakpoints of the first segment (fitted to
    /// the first series pushed when the database has none yet), but they are encoded chunk by
    /// chunk and committed a segment at a time, so memory is bounded by the segment size, not
    /// by the input. A failed append keeps the database as its last commit left it.
    pub fn append_loader(self, sizes: BulkOptions) -> Result<BulkLoader> {
        self.check_writer()?;
        let first = self
            .snapshot()
            .state
            .segments
            .first()
            .map(|s| (s.reader.codebook().clone(), s.reader.alpha()));
        match first {
            Some((codebook, alpha)) => BulkLoader::start(self, sizes, Some(codebook), alpha),
            None => BulkLoader::start(self, sizes, None, None),
        }
    }
}

impl BulkLoader {
    /// A load into `db` with `sizes`, encoding with `codebook` (fitted to the first series
    /// pushed when `None`).
    fn start(
        db: Database,
        sizes: BulkOptions,
        codebook: Option<Codebook>,
        alpha: Option<f64>,
    ) -> Result<BulkLoader> {
        sizes.validate()?;
        Ok(BulkLoader {
            db: Some(db),
            created_dir: false,
            sizes,
            codebook,
            alpha,
            pending: Dataset::default(),
            pending_values: 0,
            encoded: Vec::new(),
            labels: Vec::new(),
            raw: RawBuilder::default(),
            fit: codec::FitReport::default(),
            progress: BulkProgress::default(),
            report: BuildReport::default(),
            on_progress: None,
            failed: false,
        })
    }

    /// Calls `f` after every chunk encoded and every segment committed.
    pub fn on_progress(mut self, f: impl FnMut(BulkProgress) + Send + 'static) -> Self {
        self.on_progress = Some(Box::new(f));
        self
    }

    /// How far the load has come.
    pub fn progress(&self) -> BulkProgress {
        self.progress
    }

    fn db(&self) -> Result<&Database> {
        self.db
            .as_ref()
            .ok_or_else(|| Error::InvalidRequest("the bulk load has ended".into()))
    }

    fn check(&self) -> Result<()> {
        if self.failed {
            return Err(Error::InvalidRequest(
                "an earlier error ended this bulk load; the segments it committed stay".into(),
            ));
        }
        Ok(())
    }

    /// Adds one series with its label; the series get ids in the order they are pushed. An
    /// error (a series that is not valid input, a failed write) ends the load: what was
    /// committed stays, later calls are errors.
    pub fn push(&mut self, series: Vec<f64>, label: Option<String>) -> Result<()> {
        self.check()?;
        self.pending_values += series.len();
        self.progress.series += 1;
        self.progress.values += series.len() as u64;
        self.pending.series.push(series);
        self.pending.labels.push(label);
        let ready = match self.codebook {
            None => self.pending_values >= self.sizes.sample_values,
            Some(_) => self.pending.series.len() >= self.sizes.chunk_series,
        };
        if ready {
            if let Err(e) = self.encode_pending() {
                self.failed = true;
                return Err(e);
            }
        }
        Ok(())
    }

    /// Adds every series of `data` with its label.
    pub fn push_batch(&mut self, data: &Dataset) -> Result<()> {
        if data.labels.len() != data.series.len() {
            return Err(Error::InvalidRequest(
                "one label (or None) per series is required".into(),
            ));
        }
        for (s, l) in data.series.iter().zip(&data.labels) {
            self.push(s.clone(), l.clone())?;
        }
        Ok(())
    }

    /// Encodes the pending series (fitting the codebook to them first when there is none yet),
    /// and writes a segment when it is full.
    fn encode_pending(&mut self) -> Result<()> {
        if self.pending.series.is_empty() {
            return Ok(());
        }
        let (p, keep_raw) = {
            let db = self.db()?;
            (db.options.encoding(), db.options.keep_raw)
        };
        let pending = std::mem::take(&mut self.pending);
        self.pending_values = 0;
        let encoded = match &self.codebook {
            None => {
                // A new database that chooses its tolerance: on the series of the codebook's
                // sample, before anything is committed.
                let p = if p.tunes_tol() {
                    let tuning = super::tune::tol_for_fewest_bytes(&pending.series, &p)?;
                    let db = self
                        .db
                        .as_mut()
                        .ok_or_else(|| Error::InvalidRequest("the bulk load has ended".into()))?;
                    let mut options = db.options.clone();
                    options.codec.tol = tuning.tol;
                    options.codec.tol_auto = Some(true);
                    db.choose_options_before_first_commit(options.clone());
                    self.report.tuning = Some(tuning);
                    options.encoding()
                } else {
                    p
                };
                let (codebook, enc, fit) = codec::fit_encode(&pending.series, &p)?;
                self.alpha = fit.alpha;
                self.fit = fit;
                self.codebook = Some(codebook);
                enc
            }
            Some(cb) => {
                let t = std::time::Instant::now();
                let enc = codec::encode_with(&pending.series, cb, &p)?;
                self.fit.tally(&enc);
                self.fit.assign_time += t.elapsed();
                enc
            }
        };
        for (e, (s, l)) in encoded
            .into_iter()
            .zip(pending.series.into_iter().zip(pending.labels))
        {
            self.encoded.push(e);
            self.labels.push(l);
            if keep_raw {
                self.raw.push(s)?;
            }
            if self.encoded.len() >= self.sizes.segment_series {
                self.write_segment()?;
            }
        }
        self.raw.flush()?;
        self.notify();
        Ok(())
    }

    fn notify(&mut self) {
        let p = self.progress;
        if let Some(f) = self.on_progress.as_mut() {
            f(p);
        }
    }

    /// Writes and commits the encoded series as one segment.
    fn write_segment(&mut self) -> Result<()> {
        if self.encoded.is_empty() {
            return Ok(());
        }
        let Some(codebook) = self.codebook.clone() else {
            return Ok(());
        };
        let raw = match self.db()?.options.keep_raw {
            true => Some(RawInput::Compressed(
                std::mem::take(&mut self.raw).finish()?,
            )),
            false => None,
        };
        let db = self.db()?;
        let _w = db.writing.lock().unwrap_or_else(|e| e.into_inner());
        let snap = db.snapshot();
        let fit = codec::FitReport {
            alpha: self.alpha,
            pieces: self.encoded.iter().map(|e| e.pieces as u64).sum(),
            ..Default::default()
        };
        let r = db.commit_encoded(&snap, &codebook, &self.encoded, &self.labels, fit, raw)?;
        drop(_w);
        // The loader holds the database: its segments take consecutive ids.
        self.report.ids = self.report.ids.followed_by(r.ids).ok_or_else(|| {
            Error::InvalidRequest("a bulk load's segments took ids that do not follow".into())
        })?;
        self.report.index_time += r.index_time;
        self.report.write_time += r.write_time;
        self.report.write.file_bytes += r.write.file_bytes;
        self.progress.committed += self.encoded.len() as u64;
        self.progress.segments += 1;
        self.encoded.clear();
        self.labels.clear();
        self.notify();
        Ok(())
    }

    /// Encodes and commits what is left, and returns the database (empty when nothing was
    /// pushed) with what the load did.
    pub fn finish(mut self) -> Result<(Database, BuildReport)> {
        let done = self
            .check()
            .and_then(|()| self.encode_pending())
            .and_then(|()| self.write_segment());
        let db = self
            .db
            .take()
            .ok_or_else(|| Error::InvalidRequest("the bulk load has ended".into()))?;
        if let Err(e) = done {
            return Err(self.fail(db, e));
        }
        if db.snapshot().state.segments.is_empty() {
            let m = db.snapshot().state.manifest.clone();
            if let Err(e) = db.commit(m, Vec::new()) {
                return Err(self.fail(db, e));
            }
        }
        let mut report = std::mem::take(&mut self.report);
        report.fit = std::mem::take(&mut self.fit);
        report.fit.alpha = self.alpha;
        Ok((db, report))
    }

    /// A bulk load that failed: before its first commit it leaves no database (as a failed
    /// build); after, the committed segments stay.
    fn fail(&mut self, db: Database, e: Error) -> Error {
        if db.snapshot().state.segments.is_empty() {
            db.abandon(self.created_dir);
        }
        e
    }
}

impl Drop for BulkLoader {
    fn drop(&mut self) {
        if let Some(db) = self.db.take() {
            // Not finished: what was committed stays; a load that committed nothing leaves no
            // database.
            if db.snapshot().state.segments.is_empty() {
                db.abandon(self.created_dir);
            }
        }
    }
}
